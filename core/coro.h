/*
 * Coroutines: a function run on a stack of its own that can stop half way
 * (core_coro_yield) and be continued later (core_coro_resume) by the thread
 * that started it. The event loops (core/evloop.h) run each request's handler
 * on one, so that code written in a blocking style (a store call that waits
 * for Redis) gives its thread back while it waits.
 *
 * Rules. A coroutine belongs to the thread that made it: it is resumed only
 * there, and only from that thread's own stack (no coroutine resumes
 * another). Code inside one must not hold a lock across a yield (another
 * coroutine of the same thread could then wait for it for ever), nor keep a
 * pointer to another coroutine's stack.
 *
 * Stacks are mmap'ed (CORE_CORO_STACK bytes, pages committed only when
 * touched, a guard page below) and kept by the thread for reuse, so starting
 * a coroutine costs no system call once the thread has made as many as it
 * runs at once. The switch is a few instructions written for x86_64 (glibc's
 * swapcontext makes a sigprocmask system call per switch); elsewhere it is
 * ucontext. Under AddressSanitizer every switch is announced to it
 * (__sanitizer_start/finish_switch_fiber), under valgrind every stack is
 * registered (VALGRIND_STACK_REGISTER), so both follow the switches.
 */
#ifndef CORE_CORO_H
#define CORE_CORO_H

#include <stdbool.h>
#include <stddef.h>

/* Stack bytes of each coroutine (address space; only touched pages cost). */
#define CORE_CORO_STACK (256 * 1024)

typedef struct core_coro core_coro_t;

/* A coroutine that will run fn(arg) when first resumed, on a stack from
 * this thread's pool. NULL when out of memory. It is freed (its stack back
 * to the pool) when fn returns. */
core_coro_t *core_coro_new(void (*fn)(void *arg), void *arg);

/* Runs c until it yields or fn returns; call from the thread's own stack.
 * Returns true when fn returned: c is then freed and must not be used. */
bool core_coro_resume(core_coro_t *c);

/* Inside a coroutine: stops here and returns from the core_coro_resume that
 * ran it; the next core_coro_resume continues from here. */
void core_coro_yield(void);

/* The coroutine running now on this thread, or NULL on the thread's own
 * stack. */
core_coro_t *core_coro_self(void);

/* A pointer the owner keeps with the coroutine (NULL until set). */
void core_coro_set_data(core_coro_t *c, void *data);
void *core_coro_data(const core_coro_t *c);

/* Frees the stacks this thread keeps for reuse (at thread end; also done
 * by a thread-exit destructor). No coroutine of the thread may be alive. */
void core_coro_thread_release(void);

#endif
