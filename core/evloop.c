/*
 * Event loops and the blocking pool; see evloop.h.
 *
 * A parked coroutine is a waiter_t on its own stack, found from the
 * coroutine (core_coro_data) by whoever wakes it. With a deadline it is also
 * in the loop's timer list, kept sorted by deadline; most deadlines are "now
 * plus the same timeout", so an insertion walks from the tail and stops at
 * once. Woken waiters wait in a FIFO run queue for the next turn.
 *
 * Watched descriptors are looked up by number at dispatch (an array indexed
 * by fd), never through a pointer kept in the epoll event: a callback may
 * unwatch (and free) another descriptor of the same batch.
 *
 * Messages from other threads (core_evloop_post, a pool job done) are
 * intrusive nodes on a mutex-guarded list; the eventfd is written only when
 * the list was empty, so a burst costs one write and one read.
 */
#define _GNU_SOURCE
#include "evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

#define MAX_HOOKS 4
#define MAX_EVENTS 64

typedef struct waiter {
    core_coro_t *coro;
    int64_t deadline;
    struct waiter *prev, *next; /* the timer list, while timed */
    struct waiter *run_next;    /* the run queue, while queued */
    bool woken, queued, timed;
} waiter_t;

typedef struct {
    core_evloop_io_fn fn;
    void *arg;
    uint32_t events;
} watcher_t;

typedef struct msg {
    void (*fn)(void *arg);
    void *arg;
    struct msg *next;
    bool owned; /* allocated by core_evloop_post: freed after running */
} msg_t;

struct core_evloop {
    int ep, efd;
    watcher_t **watchers; /* by fd */
    int nwatchers;
    struct {
        core_evloop_turn_fn fn;
        void *arg;
    } hooks[MAX_HOOKS];
    int nhooks;
    waiter_t *timers, *timers_tail;
    waiter_t *runq, *runq_tail;
    pthread_mutex_t mu; /* guards msgs */
    msg_t *msgs;
    volatile bool stopping;
};

static _Thread_local core_evloop_t *self;

core_evloop_t *core_evloop_current(void) { return self; }

core_evloop_t *core_evloop_new(void) {
    core_evloop_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&l->mu, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->efd};
    if (l->ep < 0 || l->efd < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->efd, &ev) != 0) {
        core_evloop_free(l);
        return NULL;
    }
    self = l;
    return l;
}

void core_evloop_free(core_evloop_t *l) {
    if (!l)
        return;
    if (self == l)
        self = NULL;
    for (int i = 0; i < l->nwatchers; i++)
        free(l->watchers[i]);
    free(l->watchers);
    for (msg_t *m = l->msgs, *next; m; m = next) {
        next = m->next;
        if (m->owned)
            free(m);
    }
    if (l->ep >= 0)
        close(l->ep);
    if (l->efd >= 0)
        close(l->efd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- descriptors ---- */

bool core_evloop_watch(core_evloop_t *l, int fd, uint32_t events, core_evloop_io_fn fn, void *arg) {
    if (fd < 0)
        return false;
    if (fd >= l->nwatchers) {
        int n = l->nwatchers ? l->nwatchers : 64;
        while (n <= fd)
            n *= 2;
        watcher_t **w = realloc(l->watchers, sizeof *w * (size_t)n);
        if (!w)
            return false;
        memset(w + l->nwatchers, 0, sizeof *w * (size_t)(n - l->nwatchers));
        l->watchers = w;
        l->nwatchers = n;
    }
    watcher_t *w = l->watchers[fd];
    bool add = !w;
    if (add && !(w = calloc(1, sizeof *w)))
        return false;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
        if (add)
            free(w);
        return false;
    }
    *w = (watcher_t){.fn = fn, .arg = arg, .events = events};
    l->watchers[fd] = w;
    return true;
}

void core_evloop_unwatch(core_evloop_t *l, int fd) {
    if (fd < 0 || fd >= l->nwatchers || !l->watchers[fd])
        return;
    epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
    free(l->watchers[fd]);
    l->watchers[fd] = NULL;
}

bool core_evloop_on_turn(core_evloop_t *l, core_evloop_turn_fn fn, void *arg) {
    if (l->nhooks == MAX_HOOKS)
        return false;
    l->hooks[l->nhooks].fn = fn;
    l->hooks[l->nhooks].arg = arg;
    l->nhooks++;
    return true;
}

/* ---- parking ---- */

static void timer_remove(core_evloop_t *l, waiter_t *w) {
    if (!w->timed)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->timers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->timers_tail = w->prev;
    w->timed = false;
}

static void timer_insert(core_evloop_t *l, waiter_t *w) {
    waiter_t *after = l->timers_tail;
    while (after && after->deadline > w->deadline)
        after = after->prev;
    w->prev = after;
    w->next = after ? after->next : l->timers;
    if (w->next)
        w->next->prev = w;
    else
        l->timers_tail = w;
    if (after)
        after->next = w;
    else
        l->timers = w;
    w->timed = true;
}

static void enqueue(core_evloop_t *l, waiter_t *w, bool woken) {
    if (w->queued)
        return;
    timer_remove(l, w);
    w->woken = woken;
    w->queued = true;
    w->run_next = NULL;
    if (l->runq_tail)
        l->runq_tail->run_next = w;
    else
        l->runq = w;
    l->runq_tail = w;
}

bool core_evloop_park(int64_t deadline_ms) {
    core_evloop_t *l = self;
    core_coro_t *c = core_coro_self();
    if (!l || !c)
        abort(); /* parking needs a coroutine on a loop */
    waiter_t w = {.coro = c, .deadline = deadline_ms};
    if (deadline_ms)
        timer_insert(l, &w);
    core_coro_set_data(c, &w);
    core_coro_yield();
    core_coro_set_data(c, NULL);
    timer_remove(l, &w);
    return w.woken;
}

void core_evloop_wake(core_coro_t *c) {
    waiter_t *w = c && self ? core_coro_data(c) : NULL;
    if (w)
        enqueue(self, w, true);
}

bool core_evloop_in_coroutine(void) { return self && core_coro_self(); }

void core_evloop_sleep_ms(int ms) {
    if (ms <= 0)
        return;
    if (core_evloop_in_coroutine()) {
        int64_t until = core_mono_ms() + ms;
        while (core_mono_ms() < until && core_evloop_park(until)) {
        }
        return;
    }
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- messages from other threads ---- */

static void post_msg(core_evloop_t *l, msg_t *m) {
    pthread_mutex_lock(&l->mu);
    bool was_empty = !l->msgs;
    m->next = l->msgs;
    l->msgs = m;
    pthread_mutex_unlock(&l->mu);
    if (was_empty) {
        uint64_t one = 1;
        while (write(l->efd, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
}

bool core_evloop_post(core_evloop_t *l, void (*fn)(void *), void *arg) {
    msg_t *m = malloc(sizeof *m);
    if (!m)
        return false;
    *m = (msg_t){.fn = fn, .arg = arg, .owned = true};
    post_msg(l, m);
    return true;
}

static void take_msgs(core_evloop_t *l) {
    uint64_t v;
    while (read(l->efd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&l->mu);
    msg_t *m = l->msgs;
    l->msgs = NULL;
    pthread_mutex_unlock(&l->mu);
    msg_t *rev = NULL; /* posted last first: run them in order */
    while (m) {
        msg_t *next = m->next;
        m->next = rev;
        rev = m;
        m = next;
    }
    while (rev) {
        msg_t *next = rev->next;
        bool owned = rev->owned;
        rev->fn(rev->arg);
        if (owned)
            free(rev);
        rev = next;
    }
}

static void set_stopping(void *arg) { ((core_evloop_t *)arg)->stopping = true; }

void core_evloop_stop(core_evloop_t *l) {
    if (self == l)
        l->stopping = true;
    else
        core_evloop_post(l, set_stopping, l);
}

/* ---- the turn ---- */

static void run_queue(core_evloop_t *l) {
    while (l->runq) {
        waiter_t *w = l->runq;
        l->runq = w->run_next;
        if (!l->runq)
            l->runq_tail = NULL;
        w->queued = false;
        core_coro_resume(w->coro); /* w lives on that stack: not touched after */
    }
}

static void expire(core_evloop_t *l) {
    int64_t now = core_mono_ms();
    while (l->timers && l->timers->deadline <= now)
        enqueue(l, l->timers, false);
}

void core_evloop_run(core_evloop_t *l) {
    struct epoll_event evs[MAX_EVENTS];
    while (!l->stopping) {
        run_queue(l);
        int timeout = -1;
        for (int i = 0; i < l->nhooks; i++) {
            int t = l->hooks[i].fn(l->hooks[i].arg);
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        if (l->runq || l->stopping)
            timeout = 0;
        if (l->timers) {
            int64_t left = l->timers->deadline - core_mono_ms();
            int t = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        int n = epoll_wait(l->ep, evs, MAX_EVENTS, timeout);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l->efd) {
                take_msgs(l);
                continue;
            }
            watcher_t *w = fd < l->nwatchers ? l->watchers[fd] : NULL;
            if (w)
                w->fn(w->arg, evs[i].events);
        }
        expire(l);
    }
}

/* ---- the blocking pool ---- */

typedef struct job {
    void (*fn)(void *);
    void *arg;
    core_evloop_t *loop;
    core_coro_t *coro;
    bool done;
    msg_t msg; /* how the pool tells the loop it is done */
    struct job *next;
} job_t;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static job_t *pool_head, *pool_tail;
static pthread_t *pool_threads;
static int pool_n;
static bool pool_stopping;

static void job_done(void *arg) {
    job_t *j = arg;
    j->done = true;
    core_evloop_wake(j->coro);
}

static void *pool_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!pool_head && !pool_stopping)
            pthread_cond_wait(&pool_cv, &pool_mu);
        if (!pool_head)
            break;
        job_t *j = pool_head;
        pool_head = j->next;
        if (!pool_head)
            pool_tail = NULL;
        pthread_mutex_unlock(&pool_mu);
        j->fn(j->arg);
        j->msg = (msg_t){.fn = job_done, .arg = j};
        post_msg(j->loop, &j->msg); /* j is not touched after this */
        pthread_mutex_lock(&pool_mu);
    }
    pthread_mutex_unlock(&pool_mu);
    return NULL;
}

bool core_evloop_pool_start(int n) {
    pool_threads = calloc((size_t)n, sizeof *pool_threads);
    if (!pool_threads)
        return false;
    pool_stopping = false;
    for (pool_n = 0; pool_n < n; pool_n++)
        if (pthread_create(&pool_threads[pool_n], NULL, pool_main, NULL) != 0)
            break;
    return pool_n > 0;
}

void core_evloop_pool_stop(void) {
    pthread_mutex_lock(&pool_mu);
    pool_stopping = true;
    pthread_cond_broadcast(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    for (int i = 0; i < pool_n; i++)
        pthread_join(pool_threads[i], NULL);
    free(pool_threads);
    pool_threads = NULL;
    pool_n = 0;
}

void core_evloop_blocking(void (*fn)(void *), void *arg) {
    if (!core_evloop_in_coroutine() || pool_n == 0) {
        fn(arg);
        return;
    }
    job_t j = {.fn = fn, .arg = arg, .loop = self, .coro = core_coro_self()};
    pthread_mutex_lock(&pool_mu);
    if (pool_tail)
        pool_tail->next = &j;
    else
        pool_head = &j;
    pool_tail = &j;
    pthread_cond_signal(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    while (!j.done)
        core_evloop_park(0);
}
