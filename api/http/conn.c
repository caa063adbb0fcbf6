/*
 * Connection records and the request-head watchdog; see conn.h.
 *
 * The record's waiting_ms is when the connection began waiting for a request
 * head (its accept, or the end of the previous answer), and 0 while a request
 * is handled. Workers only store to it (relaxed atomics: no lock, no system
 * call per request); the list is locked when a connection opens or closes,
 * and by the watchdog while it walks it. libmicrohttpd reports a connection
 * closed before it closes its socket, so under the lock a socket in the list
 * is always the connection's own: shutdown(2) never reaches a reused one.
 *
 * For a kept-alive connection the watchdog asks the kernel when data last
 * arrived (TCP_INFO); the first tick that sees data after the previous answer
 * starts the head's clock, so a head is cut between HEADER_TIMEOUT_S and
 * HEADER_TIMEOUT_S plus one tick after its first byte.
 *
 * Connections per address (MAX_CONNECTIONS_PER_IP) are counted here, over
 * every event loop's daemon (each daemon would count only its own): a
 * connection over the limit is shut down as soon as it is opened, which the
 * client sees as libmicrohttpd's own refusal, a connection closed unanswered.
 * A connection counts from its accept until the service closes it, or sees
 * the client's close: a refused one never counts, and one the watchdog cuts
 * stops counting at the cut, before its client can see it end (else a
 * client that reconnects at once would be refused for a connection it
 * knows is gone).
 */
#define _GNU_SOURCE
#include "conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../../core/log.h"

typedef struct peer {
    struct peer *next;
    int count; /* connections open from this address */
    char addr[INET6_ADDRSTRLEN];
} peer_t;

#define PEER_BUCKETS 1024

struct api_conn {
    struct api_conn *prev, *next; /* under lock */
    peer_t *peer;                 /* under lock; NULL when not counted */
    MHD_socket fd;
    _Atomic int64_t waiting_ms; /* see above; 0: a request is being handled */
    atomic_bool kept_alive;     /* an answer was sent on it */
    /* the watchdog's own */
    int64_t cycle;   /* the waiting_ms that head_ms belongs to */
    int64_t head_ms; /* when the awaited head began; 0: no byte of it yet */
    char remote[INET6_ADDRSTRLEN];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static api_conn_t *conns;           /* under lock */
static peer_t *peers[PEER_BUCKETS]; /* under lock */
static int per_ip_limit;            /* 0: none */

static pthread_t watchdog;
static pthread_cond_t wake;
static bool running, stopping; /* under lock */
static int64_t timeout_ms, tick_ms;

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void format_remote(struct MHD_Connection *c, char *out) {
    snprintf(out, INET6_ADDRSTRLEN, "-");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  INET6_ADDRSTRLEN);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

static unsigned peer_hash(const char *addr) {
    unsigned h = 2166136261u;
    for (; *addr; addr++)
        h = (h ^ (unsigned char)*addr) * 16777619u;
    return h % PEER_BUCKETS;
}

/* Counts conn against its address (under lock); false when over the limit. */
static bool peer_take(api_conn_t *conn) {
    if (per_ip_limit <= 0 || conn->remote[0] == '-')
        return true;
    peer_t **b = &peers[peer_hash(conn->remote)], *p = *b;
    while (p && strcmp(p->addr, conn->remote) != 0)
        p = p->next;
    if (!p) {
        if (!(p = calloc(1, sizeof *p)))
            return true; /* uncounted rather than refused */
        snprintf(p->addr, sizeof p->addr, "%s", conn->remote);
        p->next = *b;
        *b = p;
    }
    if (p->count >= per_ip_limit)
        return false; /* not counted: p has others, so it stays */
    p->count++;
    conn->peer = p;
    return true;
}

/* Gives conn's count back (under lock); it counts no more. */
static void peer_give(api_conn_t *conn) {
    peer_t *p = conn->peer;
    conn->peer = NULL;
    if (!p || --p->count > 0)
        return;
    for (peer_t **b = &peers[peer_hash(p->addr)]; *b; b = &(*b)->next)
        if (*b == p) {
            *b = p->next;
            break;
        }
    free(p);
}

api_conn_t *api_conn_open(struct MHD_Connection *c) {
    api_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    /* formatted once per connection: inet_ntop per request was 7 % of a heartbeat */
    format_remote(c, conn->remote);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn->fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
    atomic_init(&conn->waiting_ms, now_ms());
    atomic_init(&conn->kept_alive, false);
    pthread_mutex_lock(&lock);
    conn->next = conns;
    if (conns)
        conns->prev = conn;
    conns = conn;
    bool allowed = peer_take(conn);
    pthread_mutex_unlock(&lock);
    if (!allowed && conn->fd != MHD_INVALID_SOCKET) {
        shutdown(conn->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
        log_event(LOG_DEBUG, "http: refused a connection from %s: %d open from it already",
                  conn->remote, per_ip_limit);
    }
    return conn;
}

void api_conn_close(api_conn_t *conn) {
    if (!conn)
        return;
    pthread_mutex_lock(&lock);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    peer_give(conn);
    pthread_mutex_unlock(&lock);
    free(conn);
}

const char *api_conn_remote(const api_conn_t *conn) { return conn ? conn->remote : "-"; }

void api_conn_head_done(api_conn_t *conn) {
    if (conn)
        atomic_store_explicit(&conn->waiting_ms, 0, memory_order_relaxed);
}

void api_conn_answered(api_conn_t *conn, int64_t now) {
    if (!conn)
        return;
    atomic_store_explicit(&conn->kept_alive, true, memory_order_relaxed);
    /* release: the watchdog that sees this time sees kept_alive too */
    atomic_store_explicit(&conn->waiting_ms, now, memory_order_release);
}

/* The kernel keeps when data last arrived in jiffies (up to 10 ms each), so
 * the answered request's own bytes can seem a little younger than the
 * answer: data counts as new only this long after it. */
#define JIFFY_SLACK_MS 50

/* When data last arrived on fd, if clearly after since; else 0. */
static int64_t data_after(MHD_socket fd, int64_t since, int64_t now) {
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    int64_t last = now - (int64_t)ti.tcpi_last_data_recv;
    return last > since + JIFFY_SLACK_MS ? last : 0;
}

/* One connection at one tick (under lock): cut its head if it is late. */
static void watch(api_conn_t *c, int64_t now) {
    int64_t waiting = atomic_load_explicit(&c->waiting_ms, memory_order_acquire);
    if (!waiting || c->fd == MHD_INVALID_SOCKET)
        return; /* a request is being handled */
    if (c->cycle != waiting) {
        c->cycle = waiting;
        c->head_ms = atomic_load_explicit(&c->kept_alive, memory_order_relaxed) ? 0 : waiting;
    }
    if (!c->head_ms)
        c->head_ms = data_after(c->fd, waiting, now);
    if (!c->head_ms || now - c->head_ms < timeout_ms)
        return;
    /* unless the head completed meanwhile: then the request goes on */
    if (!atomic_compare_exchange_strong(&c->waiting_ms, &waiting, 0))
        return;
    peer_give(c);
    shutdown(c->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
    log_event(LOG_DEBUG, "http: closed a connection from %s: no complete request head in %lld ms",
              c->remote, (long long)(now - c->head_ms));
}

static void *watch_loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(tick_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(tick_ms / 1000) + until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&wake, &lock, &until);
        int64_t now = now_ms();
        for (api_conn_t *c = conns; c && !stopping; c = c->next)
            watch(c, now);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

bool api_conn_watch_start(int timeout_s, int max_per_ip) {
    timeout_ms = (int64_t)timeout_s * 1000;
    per_ip_limit = max_per_ip;
    /* a quarter of the deadline, at most a second: late by at most that */
    tick_ms = timeout_ms / 4 < 1000 ? timeout_ms / 4 : 1000;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    stopping = false;
    running = pthread_create(&watchdog, NULL, watch_loop, NULL) == 0;
    if (!running)
        log_event(LOG_ERROR, "cannot start the request-head watchdog thread");
    return running;
}

void api_conn_watch_stop(void) {
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(watchdog, NULL);
    pthread_cond_destroy(&wake);
    running = false;
}
