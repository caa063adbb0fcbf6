/*
 * The async question, prototyped (bench/README.md, "The async question,
 * measured"): a libmicrohttpd server that answers every request (204) after
 * ONE real Redis command, ZADD <key> XX CH <ms> <member>, built three ways:
 *
 *   A  today's shape: MHD's internal thread pool (epoll, THREADS workers),
 *      each worker with its own blocking hiredis connection;
 *   B  the same pool, but the workers queue their command and sleep on a
 *      condition variable while ONE Redis I/O thread owns the connection,
 *      writes everything queued in one write, reads the replies in batches
 *      and wakes the waiters;
 *   C  shared-nothing event loops: LOOPS threads, each with its own MHD
 *      daemon in external epoll mode (all on one listening socket), its own
 *      non-blocking Redis connection, and each request's handler on a
 *      coroutine (core/coro.c) that queues its command and yields; the
 *      connection is suspended, the loop flushes every queued command in one
 *      write after MHD_run, reads the replies, resumes the coroutines and
 *      their connections, and MHD calls the handler again to send.
 *
 *   D  as C, but a waiting connection is not suspended: the handler returns
 *      without a response, libmicrohttpd keeps the connection in its ready
 *      list and calls the handler again at every MHD_run, and the loop, which
 *      knows how many handlers wait, does not take libmicrohttpd's "run again
 *      at once" for a reason to spin while they do.
 *
 *   async_proto A|B|C|D PORT REDIS_PORT [THREADS]   serves until killed
 *   async_proto switch N                           times N resume/yield pairs
 *
 * Built twice by mk/bench.mk: async_proto (the x86_64 switch) and
 * async_proto_uc (glibc's swapcontext), to price the switch itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/coro.h"

static int redis_port;
static struct MHD_Response *empty;
static _Atomic unsigned long counter;

static redisContext *dial(void) {
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    if (!c || c->err) {
        fprintf(stderr, "async_proto: cannot reach redis on %d\n", redis_port);
        exit(1);
    }
    return c;
}

/* The one command: ZADD proto:z XX CH <n> m<n % 1000> (the members exist). */
static void append_zadd(redisContext *c) {
    unsigned long n = counter++;
    char score[24], member[24];
    snprintf(score, sizeof score, "%lu", n);
    snprintf(member, sizeof member, "m%lu", n % 1000);
    redisAppendCommand(c, "ZADD proto:z XX CH %s %s", score, member);
}

/* ---- A: blocking, a connection per worker ---- */

static _Thread_local redisContext *own;

static enum MHD_Result handler_a(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    *con_cls = NULL;
    if (!own)
        own = dial();
    void *r = NULL;
    append_zadd(own);
    if (redisGetReply(own, &r) != REDIS_OK)
        return MHD_NO;
    freeReplyObject(r);
    return MHD_queue_response(c, 204, empty);
}

/* ---- B: one Redis I/O thread, workers wait ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct waiter *next;
} waiter_t;

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static waiter_t *q_head, **q_tail = &q_head;

static void *io_thread(void *arg) {
    (void)arg;
    redisContext *rc = dial();
    waiter_t *inflight = NULL, **in_tail = &inflight;
    for (;;) {
        pthread_mutex_lock(&q_mu);
        while (!q_head && !inflight)
            pthread_cond_wait(&q_cv, &q_mu);
        waiter_t *batch = q_head;
        q_head = NULL;
        q_tail = &q_head;
        pthread_mutex_unlock(&q_mu);
        for (waiter_t *w = batch; w; w = w->next)
            append_zadd(rc);
        *in_tail = batch;
        while (*in_tail)
            in_tail = &(*in_tail)->next;
        int done = 0;
        while (!done)
            if (redisBufferWrite(rc, &done) != REDIS_OK)
                exit(1);
        /* read what has come: at least the first reply (blocking), then what
         * the buffer already holds */
        void *r = NULL;
        if (redisGetReply(rc, &r) != REDIS_OK)
            exit(1);
        for (;;) {
            freeReplyObject(r);
            waiter_t *w = inflight;
            inflight = w->next;
            if (!inflight)
                in_tail = &inflight;
            pthread_mutex_lock(&w->mu);
            w->done = true;
            pthread_cond_signal(&w->cv);
            pthread_mutex_unlock(&w->mu);
            r = NULL;
            if (redisGetReplyFromReader(rc, &r) != REDIS_OK)
                exit(1);
            if (!r)
                break;
        }
    }
    return NULL;
}

static enum MHD_Result handler_b(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    *con_cls = NULL;
    static _Thread_local waiter_t w;
    static _Thread_local bool init;
    if (!init) {
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        init = true;
    }
    w.done = false;
    w.next = NULL;
    pthread_mutex_lock(&q_mu);
    bool was_empty = !q_head;
    *q_tail = &w;
    q_tail = &w.next;
    if (was_empty)
        pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    return MHD_queue_response(c, 204, empty);
}

/* ---- C: event loops, coroutines, suspend/resume ---- */

typedef struct task {
    struct MHD_Connection *conn;
    core_coro_t *coro;
    bool done, suspended;
    struct task *next; /* in the loop's reply queue, or runnable list */
} task_t;

typedef struct {
    struct MHD_Daemon *d;
    redisContext *rc;
    int ep;
    task_t *wait_head, **wait_tail; /* commands written, replies awaited, in order */
    task_t *runnable;
    bool dirty, resumed;
} loop_t;

static _Thread_local loop_t *self_loop;
static bool no_suspend;           /* design D */
static _Thread_local int waiting; /* D: handlers that wait for Redis */

static void task_body(void *arg) {
    task_t *t = arg;
    loop_t *l = self_loop;
    append_zadd(l->rc);
    l->dirty = true;
    t->next = NULL;
    *l->wait_tail = t;
    l->wait_tail = &t->next;
    waiting++;
    core_coro_yield(); /* until the reply is read */
    waiting--;
    t->done = true;
    if (t->suspended)
        MHD_resume_connection(t->conn);
    l->resumed = true; /* MHD_run, to send it */
}

static enum MHD_Result handler_c(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    task_t *t = *con_cls;
    if (!t) {
        t = calloc(1, sizeof *t);
        t->conn = c;
        *con_cls = t;
        return MHD_YES;
    }
    if (!t->coro && !t->done) {
        t->coro = core_coro_new(task_body, t);
        if (core_coro_resume(t->coro))
            t->coro = NULL;
    }
    if (!t->done) {
        if (no_suspend)
            return MHD_YES; /* called again at the next MHD_run */
        t->suspended = true;
        MHD_suspend_connection(c);
        return MHD_YES;
    }
    *con_cls = NULL;
    free(t);
    return MHD_queue_response(c, 204, empty);
}

static void read_replies(loop_t *l) {
    if (redisBufferRead(l->rc) != REDIS_OK)
        exit(1);
    for (;;) {
        void *r = NULL;
        if (redisGetReplyFromReader(l->rc, &r) != REDIS_OK)
            exit(1);
        if (!r)
            return;
        freeReplyObject(r);
        task_t *t = l->wait_head;
        l->wait_head = t->next;
        if (!l->wait_head)
            l->wait_tail = &l->wait_head;
        if (core_coro_resume(t->coro))
            t->coro = NULL;
    }
}

static void flush(loop_t *l) {
    if (!l->dirty)
        return;
    int done = 0;
    if (redisBufferWrite(l->rc, &done) != REDIS_OK)
        exit(1);
    l->dirty = !done; /* a partial write: try again next turn (good enough here) */
}

static int listen_fd;

static void *loop_main(void *arg) {
    (void)arg;
    loop_t *l = calloc(1, sizeof *l);
    self_loop = l;
    l->wait_tail = &l->wait_head;
    l->rc = dial();
    l->rc->flags &= ~REDIS_BLOCK;
    fcntl(l->rc->fd, F_SETFL, fcntl(l->rc->fd, F_GETFL) | O_NONBLOCK);
    l->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handler_c,
                            NULL, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_END);
    if (!l->d)
        exit(1);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    int mfd = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = mfd};
    epoll_ctl(l->ep, EPOLL_CTL_ADD, mfd, &ev);
    ev.data.fd = l->rc->fd;
    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->rc->fd, &ev);
    for (;;) {
        flush(l);
        MHD_UNSIGNED_LONG_LONG to = 0;
        int timeout = MHD_get_timeout(l->d, &to) == MHD_YES ? (int)to : -1;
        if (no_suspend && waiting > 0 && timeout == 0)
            timeout = 1; /* the waiting handlers keep MHD's list non-empty */
        struct epoll_event evs[8];
        int n = epoll_wait(l->ep, evs, 8, timeout);
        bool run = n == 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == l->rc->fd)
                read_replies(l);
            else
                run = true;
        }
        if (run || l->resumed) {
            l->resumed = false;
            MHD_run(l->d);
        }
    }
    return NULL;
}

/* ---- the switch itself ---- */

static void spin(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        core_coro_yield();
}

static void time_switch(long n) {
    core_coro_t *c = core_coro_new(spin, &n);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (!core_coro_resume(c)) {
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("%.1f ns per resume + yield (two switches)\n", ns);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "switch") == 0) {
        time_switch(atol(argv[2]));
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: async_proto A|B|C PORT REDIS_PORT [THREADS]\n");
        return 2;
    }
    char mode = argv[1][0];
    int port = atoi(argv[2]), threads = argc > 4 ? atoi(argv[4]) : 0;
    redis_port = atoi(argv[3]);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads <= 0)
        threads = mode == 'C' || mode == 'D' ? (int)cores : (int)(2 * cores);
    empty = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    redisContext *setup = dial();
    for (int i = 0; i < 1000; i++)
        freeReplyObject(redisCommand(setup, "ZADD proto:z 0 m%d", i));
    redisFree(setup);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    no_suspend = mode == 'D';
    if (mode == 'C' || mode == 'D') {
        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
            listen(listen_fd, 1024) != 0) {
            perror("async_proto: listen");
            return 1;
        }
        pthread_t t;
        for (int i = 0; i < threads; i++)
            pthread_create(&t, NULL, loop_main, NULL);
        pause();
        return 0;
    }
    if (mode == 'B') {
        pthread_t t;
        pthread_create(&t, NULL, io_thread, NULL);
    }
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL,
                         NULL, mode == 'A' ? handler_a : handler_b, NULL, MHD_OPTION_SOCK_ADDR,
                         &addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "async_proto: cannot listen on %d\n", port);
        return 1;
    }
    pause();
    return 0;
}
