/*
 * Coroutines; see coro.h.
 *
 * One mmap per coroutine holds, from low to high: a guard page, the stack,
 * and the core_coro_t itself. A finished coroutine's mapping goes on its
 * thread's free list (up to POOL_KEEP of them) and is reused as it is.
 *
 * The x86_64 switch saves what the System V ABI says a call preserves (rbx,
 * rbp, r12-r15, the SSE control word MXCSR and the x87 control word) on the
 * stack being left, stores its stack pointer, loads the other one and pops
 * the same. A new stack is laid out as if it had been left by a switch whose
 * return address is boot, which calls coro_main(c) with c from rbx.
 */
#define _GNU_SOURCE
#include "coro.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && !defined(CORE_CORO_UCONTEXT)
#define FAST_SWITCH 1
#else
#define FAST_SWITCH 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif
#if ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include) && !defined(__CPPCHECK__)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define VG 1
#endif
#endif
#ifndef VG
#define VG 0
#endif

#define POOL_KEEP 256 /* finished coroutines' stacks a thread keeps for reuse */

struct core_coro {
    void *sp; /* saved stack pointer while not running (fast switch) */
#if !FAST_SWITCH
    ucontext_t uc;
#endif
    void (*fn)(void *);
    void *arg, *data;
    bool done;
    char *map; /* the mapping: guard page, stack, this struct */
    size_t map_size, stack_size;
    char *stack; /* lowest usable byte */
    core_coro_t *next_free;
#if ASAN
    void *fake_stack;
#endif
#if VG
    unsigned vg_id;
#endif
};

typedef struct {
    core_coro_t *current;
    core_coro_t *free_list;
    int nfree;
#if FAST_SWITCH
    void *main_sp;
#else
    ucontext_t main_uc;
#endif
#if ASAN
    void *main_fake;
    const void *main_bottom;
    size_t main_size;
#endif
} thread_state_t;

static _Thread_local thread_state_t th;
static pthread_key_t release_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

#if FAST_SWITCH
void rtstate_coro_switch(void **save_sp, void *load_sp);
void rtstate_coro_boot(void);
__asm__(
    ".text\n"
    ".globl rtstate_coro_switch\n"
    ".hidden rtstate_coro_switch\n"
    ".type rtstate_coro_switch, @function\n"
    "rtstate_coro_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  subq $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n"
    "  fldcw 4(%rsp)\n"
    "  addq $8, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size rtstate_coro_switch, .-rtstate_coro_switch\n"
    ".globl rtstate_coro_boot\n"
    ".hidden rtstate_coro_boot\n"
    ".type rtstate_coro_boot, @function\n"
    "rtstate_coro_boot:\n"
    "  movq %rbx, %rdi\n"
    "  callq *%r12\n"
    "  ud2\n"
    ".size rtstate_coro_boot, .-rtstate_coro_boot\n");
#endif

static void release_pool(void *unused) {
    (void)unused;
    core_coro_thread_release();
}

static void make_key(void) { pthread_key_create(&release_key, release_pool); }

/* Switches from the running side (a coroutine, or the thread's own stack
 * when from is NULL) to the other. finishing: from will never run again. */
static void switch_to(core_coro_t *from, core_coro_t *to, bool finishing) {
#if ASAN
    if (to)
        __sanitizer_start_switch_fiber(&th.main_fake, to->stack, to->stack_size);
    else
        __sanitizer_start_switch_fiber(finishing ? NULL : &from->fake_stack, th.main_bottom,
                                       th.main_size);
#else
    (void)finishing;
#endif
#if FAST_SWITCH
    if (to)
        rtstate_coro_switch(&th.main_sp, to->sp);
    else
        rtstate_coro_switch(&from->sp, th.main_sp);
#else
    if (to)
        swapcontext(&th.main_uc, &to->uc);
    else
        swapcontext(&from->uc, &th.main_uc);
#endif
#if ASAN
    /* back here: on the thread's stack when to was set, else in from */
    if (to)
        __sanitizer_finish_switch_fiber(th.main_fake, NULL, NULL);
    else
        __sanitizer_finish_switch_fiber(from->fake_stack, &th.main_bottom, &th.main_size);
#endif
}

/* Where every coroutine starts, on its own stack. */
static void coro_main(core_coro_t *c) {
#if ASAN
    __sanitizer_finish_switch_fiber(NULL, &th.main_bottom, &th.main_size);
#endif
    c->fn(c->arg);
    c->done = true;
    switch_to(c, NULL, true);
    abort(); /* a finished coroutine is never resumed */
}

#if !FAST_SWITCH
static void uc_main(void) { coro_main(th.current); }

/* Apart, so that getcontext's second return cannot clobber the caller. */
static __attribute__((noinline)) void uc_prepare(core_coro_t *c) {
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = c->stack;
    c->uc.uc_stack.ss_size = c->stack_size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, uc_main, 0);
}
#endif

static core_coro_t *map_new(void) {
    long page = sysconf(_SC_PAGESIZE);
    size_t psz = page > 0 ? (size_t)page : 4096;
    size_t size = CORE_CORO_STACK + psz;
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, psz, PROT_NONE) != 0) { /* the guard page */
        munmap(map, size);
        return NULL;
    }
    uintptr_t top = ((uintptr_t)(map + size) - sizeof(core_coro_t)) & ~(uintptr_t)63;
    core_coro_t *c = (core_coro_t *)top;
    *c = (core_coro_t){.map = map, .map_size = size, .stack = map + psz};
    c->stack_size = (size_t)((char *)c - c->stack) & ~(size_t)15;
#if VG
    c->vg_id = VALGRIND_STACK_REGISTER(c->stack, c->stack + c->stack_size);
#endif
    return c;
}

static void map_free(core_coro_t *c) {
#if VG
    VALGRIND_STACK_DEREGISTER(c->vg_id);
#endif
    munmap(c->map, c->map_size);
}

core_coro_t *core_coro_new(void (*fn)(void *), void *arg) {
    pthread_once(&key_once, make_key);
    core_coro_t *c = th.free_list;
    if (c) {
        th.free_list = c->next_free;
        th.nfree--;
    } else {
        c = map_new();
        if (!c)
            return NULL;
        pthread_setspecific(release_key, &th); /* any non-NULL value: run at thread end */
    }
    c->fn = fn;
    c->arg = arg;
    c->data = NULL;
    c->done = false;
    c->next_free = NULL;
#if FAST_SWITCH
    uint64_t *top = (uint64_t *)(void *)(c->stack + c->stack_size);
    uint64_t *sp = top - 10;
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    sp[0] = (uint64_t)mxcsr | (uint64_t)fpucw << 32;
    sp[1] = sp[2] = sp[3] = 0;                      /* r15 r14 r13 */
    sp[4] = (uint64_t)(uintptr_t)coro_main;         /* r12: what boot calls */
    sp[5] = (uint64_t)(uintptr_t)c;                 /* rbx: its argument */
    sp[6] = 0;                                      /* rbp */
    sp[7] = (uint64_t)(uintptr_t)rtstate_coro_boot; /* the return address */
    sp[8] = sp[9] = 0; /* after the ret, rsp is 16-aligned for boot's call */
    c->sp = sp;
#else
    uc_prepare(c);
#endif
    return c;
}

bool core_coro_resume(core_coro_t *c) {
    core_coro_t *outer = th.current;
    if (outer)
        abort(); /* only from the thread's own stack */
    th.current = c;
    switch_to(NULL, c, false);
    th.current = NULL;
    if (!c->done)
        return false;
    if (th.nfree < POOL_KEEP) {
        c->next_free = th.free_list;
        th.free_list = c;
        th.nfree++;
    } else {
        map_free(c);
    }
    return true;
}

void core_coro_yield(void) {
    core_coro_t *c = th.current;
    if (!c)
        abort(); /* not in a coroutine */
    switch_to(c, NULL, false);
}

core_coro_t *core_coro_self(void) { return th.current; }

void core_coro_set_data(core_coro_t *c, void *data) { c->data = data; }

void *core_coro_data(const core_coro_t *c) { return c->data; }

void core_coro_thread_release(void) {
    while (th.free_list) {
        core_coro_t *c = th.free_list;
        th.free_list = c->next_free;
        map_free(c);
    }
    th.nfree = 0;
}
