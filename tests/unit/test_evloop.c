/* core/coro.c and core/evloop.c: coroutines that yield and finish, parked
 * coroutines woken or timed out, work handed to the blocking pool, messages
 * from other threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/coro.h"
#include "../../core/evloop.h"
#include "../../core/timefmt.h"

static void count_to_three(void *arg) {
    int *n = arg;
    for (int i = 0; i < 3; i++) {
        (*n)++;
        core_coro_yield();
    }
    char deep[64 * 1024]; /* the stack takes a real frame */
    memset(deep, 1, sizeof deep);
    *n += deep[100];
}

static void coroutines_yield_and_finish(void **state) {
    (void)state;
    int n = 0;
    core_coro_t *c = core_coro_new(count_to_three, &n);
    assert_non_null(c);
    assert_null(core_coro_self());
    assert_false(core_coro_resume(c));
    assert_int_equal(n, 1);
    assert_false(core_coro_resume(c));
    assert_false(core_coro_resume(c));
    assert_int_equal(n, 3);
    assert_true(core_coro_resume(c)); /* finished: freed */
    assert_int_equal(n, 4);
    /* a stack from the pool serves the next one */
    for (int i = 0; i < 1000; i++) {
        int m = 0;
        c = core_coro_new(count_to_three, &m);
        while (!core_coro_resume(c)) {
        }
        assert_int_equal(m, 4);
    }
}

/* ---- parking, on a loop ---- */

typedef struct {
    core_evloop_t *loop;
    core_coro_t *sleeper;
    bool timed_out, woken;
    int64_t parked_ms;
    pthread_t pool_thread, loop_thread;
    int finished;
} park_t;

static void sleeper(void *arg) {
    park_t *p = arg;
    int64_t t0 = core_mono_ms();
    p->timed_out = !core_evloop_park(t0 + 50);
    p->parked_ms = core_mono_ms() - t0;
    p->woken = core_evloop_park(0); /* until the waker below */
    if (++p->finished == 2)
        core_evloop_stop(p->loop);
}

static void record_thread(void *arg) { ((park_t *)arg)->pool_thread = pthread_self(); }

static void waker(void *arg) {
    park_t *p = arg;
    core_evloop_sleep_ms(80); /* past the sleeper's deadline */
    core_evloop_blocking(record_thread, p);
    core_evloop_wake(p->sleeper);
    if (++p->finished == 2)
        core_evloop_stop(p->loop);
}

static void start_both(void *arg) {
    park_t *p = arg;
    p->loop_thread = pthread_self();
    p->sleeper = core_coro_new(sleeper, p);
    core_coro_resume(p->sleeper);
    core_coro_resume(core_coro_new(waker, p));
}

static void *post_later(void *arg) {
    park_t *p = arg;
    core_evloop_post(p->loop, start_both, p);
    return NULL;
}

static void parked_coroutines_time_out_or_are_woken(void **state) {
    (void)state;
    assert_true(core_evloop_pool_start(2));
    park_t p = {0};
    p.loop = core_evloop_new();
    assert_non_null(p.loop);
    assert_ptr_equal(core_evloop_current(), p.loop);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, post_later, &p), 0); /* from another thread */
    core_evloop_run(p.loop);
    pthread_join(t, NULL);
    assert_int_equal(p.finished, 2);
    assert_true(p.timed_out);
    assert_true(p.parked_ms >= 50);
    assert_true(p.woken);
    assert_true(pthread_equal(p.loop_thread, pthread_self()));
    assert_false(pthread_equal(p.pool_thread, pthread_self())); /* ran on the pool */
    core_evloop_free(p.loop);
    assert_null(core_evloop_current());
    core_evloop_pool_stop();
    core_coro_thread_release();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coroutines_yield_and_finish),
        cmocka_unit_test(parked_coroutines_time_out_or_are_woken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
