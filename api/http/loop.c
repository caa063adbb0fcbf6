/*
 * HTTP event loop threads; see loop.h.
 *
 * A turn of a loop, as this file drives it (core/evloop.c runs the turns):
 * libmicrohttpd's epoll descriptor is watched, and when it is ready MHD_run
 * reads and answers what it can, starting a coroutine per complete request;
 * coroutines woken by their Redis replies run and, when their handler is
 * done, resume their connection; the turn hook then calls MHD_run again if
 * anything was resumed (or a libmicrohttpd timeout is due), so the replies
 * go out in the same turn; then the Redis links write what was queued.
 *
 * Stopping: the loop quiesces its daemon, waits for its handlers in flight
 * (each bounded by REDIS_TIMEOUT_MS or MONGODB_TIMEOUT_MS), and only then
 * stops the daemon, so no suspended connection is left behind.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "../../core/coro.h"
#include "../../core/evloop.h"
#include "../../core/log.h"
#include "../../core/timefmt.h"
#include "../../store/conn.h"
#include "problem.h"

#define SUSPEND_AFTER_MS 2 /* a request waiting longer is suspended (loop.h) */

struct api_loop {
    pthread_t thread;
    core_evloop_t *ev;
    struct MHD_Daemon *daemon;
    struct MHD_Daemon *(*make_daemon)(void *);
    void *arg;
    sem_t started;
    bool ok;
    long in_flight;    /* handlers started and not done */
    long waiting;      /* of those, waiting with their connection not suspended */
    bool resumed, due; /* MHD_run wanted this turn */
    bool progress;     /* the last MHD_run did more than call waiting handlers */
    bool quiesced, stopping;
};

static _Thread_local api_loop_t *self;

static void run_mhd(api_loop_t *lp) {
    lp->resumed = lp->due = false;
    lp->progress = false;
    MHD_run(lp->daemon);
}

void api_loop_progress(void) {
    if (self)
        self->progress = true;
}

void api_loop_resumed(void) {
    if (self)
        self->resumed = true;
}

static void on_daemon(void *arg, uint32_t events) {
    (void)events;
    run_mhd(arg);
}

static int on_turn(void *arg) {
    api_loop_t *lp = arg;
    if (lp->resumed || lp->due)
        run_mhd(lp);
    if (lp->stopping && lp->in_flight == 0) {
        core_evloop_stop(lp->ev);
        return 0;
    }
    MHD_UNSIGNED_LONG_LONG t;
    if (MHD_get_timeout(lp->daemon, &t) != MHD_YES)
        return -1;
    lp->due = t == 0;
    /* "at once" only because of the handlers waiting in its ready list: no
     * spinning; their replies (or 1 ms) wake the loop */
    if (t == 0 && lp->waiting > 0 && !lp->progress)
        return 1;
    return t > INT_MAX ? INT_MAX : (int)t;
}

static void quiesce_here(api_loop_t *lp) {
    if (lp->quiesced)
        return;
    lp->quiesced = true;
    /* the socket is the server's, shared by every loop: not closed here */
    MHD_quiesce_daemon(lp->daemon);
}

static void *loop_main(void *arg) {
    api_loop_t *lp = arg;
    self = lp;
    lp->ev = core_evloop_new();
    lp->daemon = lp->ev ? lp->make_daemon(lp->arg) : NULL;
    const union MHD_DaemonInfo *info =
        lp->daemon ? MHD_get_daemon_info(lp->daemon, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    /* the turn hook first: the Redis links' hook, added at their first use,
     * then writes what the handlers MHD_run started have queued */
    lp->ok = info && core_evloop_on_turn(lp->ev, on_turn, lp) &&
             core_evloop_watch(lp->ev, info->epoll_fd, EPOLLIN, on_daemon, lp);
    sem_post(&lp->started);
    if (lp->ok)
        core_evloop_run(lp->ev);
    if (lp->daemon) {
        quiesce_here(lp);
        MHD_stop_daemon(lp->daemon);
    }
    store_conn_close_thread();
    core_evloop_free(lp->ev);
    core_coro_thread_release();
    return NULL;
}

api_loop_t *api_loop_start(struct MHD_Daemon *(*make_daemon)(void *), void *arg) {
    api_loop_t *lp = calloc(1, sizeof *lp);
    if (!lp)
        return NULL;
    lp->make_daemon = make_daemon;
    lp->arg = arg;
    sem_init(&lp->started, 0, 0);
    if (pthread_create(&lp->thread, NULL, loop_main, lp) != 0) {
        log_event(LOG_ERROR, "cannot start an HTTP event loop thread");
        sem_destroy(&lp->started);
        free(lp);
        return NULL;
    }
    while (sem_wait(&lp->started) != 0) {
    }
    if (!lp->ok) {
        pthread_join(lp->thread, NULL);
        sem_destroy(&lp->started);
        free(lp);
        return NULL;
    }
    return lp;
}

typedef struct {
    api_loop_t *lp;
    sem_t done;
} quiesce_t;

static void quiesce_msg(void *arg) {
    quiesce_t *q = arg;
    quiesce_here(q->lp);
    sem_post(&q->done);
}

void api_loop_quiesce(api_loop_t *lp) {
    quiesce_t q = {.lp = lp};
    sem_init(&q.done, 0, 0);
    if (core_evloop_post(lp->ev, quiesce_msg, &q))
        while (sem_wait(&q.done) != 0) {
        }
    sem_destroy(&q.done);
}

static void stop_msg(void *arg) {
    api_loop_t *lp = arg;
    quiesce_here(lp);
    lp->stopping = true; /* on_turn stops the loop once nothing is in flight */
}

void api_loop_stop(api_loop_t *lp) {
    if (!lp)
        return;
    if (!core_evloop_post(lp->ev, stop_msg, lp))
        core_evloop_stop(lp->ev); /* out of memory: stop as it is */
    pthread_join(lp->thread, NULL);
    sem_destroy(&lp->started);
    free(lp);
}

static void run_handler(void *arg) {
    api_req_t *r = arg;
    r->route->handler(r);
}

/* A request's coroutine: the handler, here or on the blocking pool. */
static void task(void *arg) {
    api_req_t *r = arg;
    if (r->route->run == API_RUN_BLOCKING)
        core_evloop_blocking(run_handler, r);
    else
        r->route->handler(r);
    api_loop_t *lp = self;
    lp->in_flight--;
    bool waited = r->wait_ms != 0; /* else api_loop_handle sees it done */
    if (waited && !r->suspended)
        lp->waiting--;
    if (r->orphaned) {
        api_request_free(r);
        return;
    }
    r->handled = true;
    if (r->suspended)
        MHD_resume_connection(r->conn);
    if (waited)
        lp->resumed = true; /* MHD_run: the access handler sends the reply */
}

bool api_loop_handle(api_req_t *r) {
    api_loop_t *lp = self;
    if (!lp) {
        r->route->handler(r);
        r->handled = true;
        return true;
    }
    core_coro_t *c = core_coro_new(task, r);
    if (!c) {
        api_problem(r, 503, "out of memory: try again");
        r->handled = true;
        return true;
    }
    lp->in_flight++;
    if (core_coro_resume(c))
        return true;
    r->wait_ms = core_mono_ms();
    lp->waiting++;
    return false;
}

bool api_loop_poll(api_req_t *r) {
    if (r->handled)
        return true;
    if (!r->suspended && core_mono_ms() - r->wait_ms >= SUSPEND_AFTER_MS) {
        r->suspended = true;
        self->waiting--;
        MHD_suspend_connection(r->conn);
    }
    return false;
}
