/*
 * Nodes and per-thread connections; see link.h.
 *
 * Shared state is the node table only. An entry's address and last error
 * change under table_lock, which is taken to add a node, to copy an address
 * before connecting, and to record a failure: never on the path of a command
 * to a connected node. What that path reads (generation, fail-fast window,
 * state) are atomics.
 *
 * On an event loop's thread (core/evloop.h) a link is shared by every
 * coroutine of that loop, and auto-pipelined: store_link_write appends the
 * command to the connection's output buffer and records who awaits its
 * reply (a slot, in order); the loop writes each connection's buffer once
 * per turn, whoever queued into it; a readable socket is read at once and
 * each reply given to the next slot, whose coroutine is woken; a coroutine
 * in store_link_read parks until its own next reply is there or its
 * deadline (the timeout of its store_link_open) passes. A timeout, an I/O
 * error or a closed connection fails the connection for every slot on it:
 * the connection is closed (what the blocking path does too) and the node
 * marked down, and each waiter's read returns false. The socket is
 * non-blocking and watched by the loop, so a connection Redis closed is
 * seen when it happens: no stale-connection poll() per command there.
 * Connecting, which blocks, runs on the blocking pool while the coroutine
 * parks; others wanting the same link meanwhile wait for it.
 */
#include "link.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/epoll.h>

#include "../core/decimal.h"
#include "../core/evloop.h"
#include "../core/log.h"
#include "../core/timefmt.h"

#define RETRY_MS 100
#define READER_KEEP (1u << 20) /* bytes of read buffer a connection keeps between replies */

typedef struct {
    char host[256]; /* or a socket path when port is 0; under table_lock */
    int port;
    char last_error[128];       /* under table_lock */
    int64_t failed_at_ms;       /* wall clock; under table_lock */
    atomic_uint gen;            /* changes when the entry is given to another address */
    atomic_llong stalled_until; /* monotonic ms: failed to answer; 0 once it answers */
    atomic_int state;           /* store_node_state_t */
} node_t;

/* A command written on a shared link, and its reply once read. */
typedef struct {
    core_coro_t *owner;
    redisReply *reply;
    int64_t deadline; /* monotonic ms */
    bool arrived, taken;
} slot_t;

typedef struct wait_node {
    core_coro_t *coro;
    struct wait_node *next;
} wait_node_t;

struct store_link {
    redisContext *ctx;
    int node;
    unsigned gen;        /* the node's generation when ctx was made */
    int timeout_ms;      /* the socket timeout ctx has now */
    int64_t retry_at_ms; /* monotonic: no connect before this after a failed one */
    bool connected_before;
    /* shared by an event loop's coroutines (loop set) */
    core_evloop_t *loop;
    slot_t *slots;                  /* a ring of cap (a power of 2) slots */
    unsigned cap, head, fill, tail; /* [head, fill): replies read; [fill, tail): awaited */
    int64_t deadline;               /* of the commands written after the last open */
    bool dirty;                     /* output buffered, not written yet */
    bool want_out;                  /* watching for writability */
    bool connecting;                /* a coroutine is connecting it on the pool */
    bool fail_handled;              /* the last failure was dealt with (see store_link_fail) */
    wait_node_t *connect_waiters;
    struct store_link *next_dirty;
};

typedef struct {
    store_link_t links[STORE_MAX_NODES];
    store_link_t *dirty; /* loop links with output to write this turn */
    bool hooked;         /* the flush hook is on the loop */
} thread_links_t;

static core_redis_url_t url;
static int timeout_ms_full;
static node_t nodes[STORE_MAX_NODES];
static atomic_int nnodes;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t links_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static atomic_ulong reconnects;

static void links_destroy(void *p) {
    thread_links_t *t = p;
    for (int i = 0; i < STORE_MAX_NODES; i++) {
        if (t->links[i].ctx)
            redisFree(t->links[i].ctx);
        for (unsigned k = t->links[i].head; k != t->links[i].tail; k++)
            if (t->links[i].slots[k & (t->links[i].cap - 1)].reply)
                freeReplyObject(t->links[i].slots[k & (t->links[i].cap - 1)].reply);
        free(t->links[i].slots);
    }
    free(t);
}

static void make_key(void) { pthread_key_create(&links_key, links_destroy); }

void store_link_configure(const core_redis_url_t *u, int timeout_ms) {
    pthread_once(&key_once, make_key);
    url = *u;
    timeout_ms_full = timeout_ms;
    atomic_store(&nnodes, 0); /* again after a shutdown: entries get new generations */
}

/* ---- the node table ---- */

static void node_set(node_t *n, const char *host, int port) {
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    n->last_error[0] = '\0';
    n->failed_at_ms = 0;
    atomic_store(&n->stalled_until, 0);
    atomic_store(&n->state, STORE_NODE_UNUSED);
    atomic_fetch_add(&n->gen, 1);
}

int store_link_node(const char *host, int port) {
    pthread_mutex_lock(&table_lock);
    int n = atomic_load(&nnodes), found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (nodes[i].port == port && strcmp(nodes[i].host, host) == 0)
            found = i;
    if (found < 0 && n < STORE_MAX_NODES) {
        node_set(&nodes[n], host, port);
        atomic_store(&nnodes, n + 1); /* published after the entry is whole */
        found = n;
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

void store_link_node_reuse(int i, const char *host, int port) {
    pthread_mutex_lock(&table_lock);
    char old[STORE_ADDR_MAX];
    snprintf(old, sizeof old, "%s:%d", nodes[i].host, nodes[i].port);
    node_set(&nodes[i], host, port);
    pthread_mutex_unlock(&table_lock);
    log_event(LOG_WARN, "redis node table full: entry %d, once %s, is now %s:%d", i, old, host,
              port);
}

int store_link_nodes(void) { return atomic_load(&nnodes); }

void store_link_node_addr(int i, char *host, size_t cap, int *port) {
    pthread_mutex_lock(&table_lock);
    snprintf(host, cap, "%s", nodes[i].host);
    *port = nodes[i].port;
    pthread_mutex_unlock(&table_lock);
}

void store_link_node_name(int i, char out[STORE_ADDR_MAX]) {
    char host[256];
    int port;
    store_link_node_addr(i, host, sizeof host, &port);
    bool v6 = strchr(host, ':') != NULL;
    if (port == 0)
        snprintf(out, STORE_ADDR_MAX, "%s", host);
    else
        snprintf(out, STORE_ADDR_MAX, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

store_node_state_t store_link_node_state(int i, char *why, size_t cap, int64_t *failed_at_ms) {
    pthread_mutex_lock(&table_lock);
    snprintf(why, cap, "%s", nodes[i].last_error);
    *failed_at_ms = nodes[i].failed_at_ms;
    pthread_mutex_unlock(&table_lock);
    return (store_node_state_t)atomic_load(&nodes[i].state);
}

/* Whether this thread may use node n now: not within RETRY_MS of a failure,
 * nor while another thread's try may still be waiting for its timeout. */
static bool may_try(node_t *n) {
    long long until = atomic_load(&n->stalled_until);
    if (until == 0)
        return true;
    long long now = core_mono_ms();
    if (now < until)
        return false;
    /* the window is over: the one thread that moves it on tries */
    return atomic_compare_exchange_strong(&n->stalled_until, &until,
                                          now + timeout_ms_full + RETRY_MS);
}

static void mark(int i, bool up, const char *why) {
    node_t *n = &nodes[i];
    /* the usual case, a node that answers again: two loads, no locked write */
    if (up && atomic_load_explicit(&n->state, memory_order_relaxed) == STORE_NODE_UP &&
        atomic_load_explicit(&n->stalled_until, memory_order_relaxed) == 0)
        return;
    atomic_store(&n->stalled_until, up ? 0 : core_mono_ms() + RETRY_MS);
    int old = atomic_exchange(&n->state, up ? STORE_NODE_UP : STORE_NODE_DOWN);
    if (!up) {
        pthread_mutex_lock(&table_lock);
        snprintf(n->last_error, sizeof n->last_error, "%s", why);
        n->failed_at_ms = core_now_ms();
        pthread_mutex_unlock(&table_lock);
    }
    if (old == (up ? STORE_NODE_UP : STORE_NODE_DOWN))
        return;
    char name[STORE_ADDR_MAX];
    store_link_node_name(i, name);
    if (up)
        log_event(LOG_INFO, "redis %s up", name);
    else
        log_event(LOG_WARN, "redis %s down: %s", name, why);
}

/* ---- connecting ---- */

static bool handshake(redisContext *ctx, bool select_db, const char **why) {
    redisReply *r;
    if (url.password[0]) {
        r = url.user[0] ? redisCommand(ctx, "AUTH %s %s", url.user, url.password)
                        : redisCommand(ctx, "AUTH %s", url.password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            *why = r ? "authentication failed" : "no answer to AUTH";
            return false;
        }
    }
    if (select_db && url.db != 0) {
        r = redisCommand(ctx, "SELECT %d", url.db);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            *why = "SELECT failed";
            return false;
        }
    }
    return true;
}

static struct timeval tv_of(int ms) {
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

redisContext *store_link_dial(const char *host, int port, int timeout_ms, bool select_db,
                              const char **why) {
    struct timeval tv = tv_of(timeout_ms);
    *why = NULL;
    redisContext *ctx =
        port == 0 ? redisConnectUnixWithTimeout(host, tv) : redisConnectWithTimeout(host, port, tv);
    if (!ctx) {
        *why = "out of memory";
        return NULL;
    }
    if (ctx->err) {
        /* errstr lives in ctx: copy the reason into a thread-local before freeing. */
        static _Thread_local char reason[128];
        snprintf(reason, sizeof reason, "%s", ctx->errstr[0] ? ctx->errstr : "connect failed");
        *why = reason;
        redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK || !handshake(ctx, select_db, why)) {
        if (!*why)
            *why = "cannot set timeout";
        redisFree(ctx);
        return NULL;
    }
    if (port != 0)
        redisEnableKeepAlive(ctx);
    /* hiredis frees its read buffer whenever more than 16 KiB of it is
     * unused, so every frame read (40 kB and up) grew a new one by doubling,
     * copying what it had each time. Kept up to READER_KEEP, it is grown once
     * per connection. */
    ctx->reader->maxbuf = READER_KEEP;
    return ctx;
}

static int flush_dirty(void *arg);

static thread_links_t *thread_links(void) {
    thread_links_t *t = pthread_getspecific(links_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(links_key, t) != 0) {
            free(t);
            return NULL;
        }
        core_evloop_t *loop = core_evloop_current();
        for (int i = 0; i < STORE_MAX_NODES; i++) {
            t->links[i].node = i;
            t->links[i].loop = loop;
        }
        /* the loop writes what its coroutines queued, once per turn */
        t->hooked = loop && core_evloop_on_turn(loop, flush_dirty, t);
        if (loop && !t->hooked)
            log_event(LOG_ERROR, "redis: cannot hook into the event loop: no command is sent");
    }
    return t;
}

/* Between commands a connection has nothing to read: if its socket is
 * readable, the peer closed it (a Redis restart, an idle timeout). Checking
 * costs one poll() and saves the request that would otherwise fail on it. */
static bool stale(const redisContext *ctx) {
    struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

static void close_link(store_link_t *l) {
    redisFree(l->ctx);
    l->ctx = NULL;
}

/* Dials node; the generation it had when its address was read goes to *gen,
 * and why it failed (copied) to why. */
static redisContext *dial_node(int node, int timeout_ms, unsigned *gen, char *why, size_t cap) {
    node_t *n = &nodes[node];
    char host[256];
    int port;
    pthread_mutex_lock(&table_lock);
    snprintf(host, sizeof host, "%s", n->host);
    port = n->port;
    *gen = atomic_load(&n->gen);
    pthread_mutex_unlock(&table_lock);
    const char *reason = NULL;
    redisContext *ctx = store_link_dial(host, port, timeout_ms, true, &reason);
    snprintf(why, cap, "%s", reason ? reason : "connect failed");
    return ctx;
}

/* Takes a dialled connection (or its failure) into l. */
static bool adopt(store_link_t *l, redisContext *ctx, unsigned gen, int timeout_ms,
                  const char *why) {
    if (!ctx) {
        l->retry_at_ms = core_mono_ms() + RETRY_MS;
        mark(l->node, false, why);
        return false;
    }
    l->ctx = ctx;
    l->gen = gen;
    l->timeout_ms = timeout_ms;
    if (l->connected_before)
        atomic_fetch_add(&reconnects, 1);
    l->connected_before = true;
    return true;
}

static bool connect_link(store_link_t *l, int timeout_ms) {
    unsigned gen;
    char why[128];
    redisContext *ctx = dial_node(l->node, timeout_ms, &gen, why, sizeof why);
    return adopt(l, ctx, gen, timeout_ms, why);
}

static store_link_t *loop_open(store_link_t *l, int timeout_ms);

store_link_t *store_link_open(int node, int timeout_ms) {
    thread_links_t *t = thread_links();
    if (!t || node < 0 || node >= atomic_load(&nnodes))
        return NULL;
    store_link_t *l = &t->links[node];
    if (l->loop)
        return loop_open(l, timeout_ms);
    node_t *n = &nodes[node];
    if (l->ctx && (l->gen != atomic_load_explicit(&n->gen, memory_order_relaxed) || stale(l->ctx)))
        close_link(l);
    if (l->ctx) {
        if (!may_try(n))
            return NULL;
    } else if (core_mono_ms() < l->retry_at_ms || !may_try(n) || !connect_link(l, timeout_ms)) {
        return NULL;
    }
    /* a retry with less time left than a full timeout waits only that long;
     * the next full-time use sets the full timeout back */
    if (!store_link_timeout(l, timeout_ms)) {
        store_link_fail(l, "cannot set timeout");
        return NULL;
    }
    return l;
}

bool store_link_timeout(store_link_t *l, int timeout_ms) {
    /* a loop's shared link has no socket timeout: every command waits until
     * the absolute deadline of the open that wrote it */
    if (l->loop || l->timeout_ms == timeout_ms)
        return true;
    if (redisSetTimeout(l->ctx, tv_of(timeout_ms)) != REDIS_OK)
        return false;
    l->timeout_ms = timeout_ms;
    return true;
}

void store_link_answered(store_link_t *l) { mark(l->node, true, NULL); }

static void loop_fail(store_link_t *l, const char *why, bool down);

void store_link_fail(store_link_t *l, const char *why) {
    if (l->loop) {
        /* a failed read on a shared link has already failed it for everyone;
         * it may be connected again since, by another coroutine */
        if (l->fail_handled)
            l->fail_handled = false;
        else
            loop_fail(l, why, true);
        return;
    }
    if (l->ctx) {
        mark(l->node, false, why);
        close_link(l);
    }
}

int store_link_node_of(const store_link_t *l) { return l->node; }

const char *store_link_error(const store_link_t *l, const char *dflt) {
    return l->ctx && l->ctx->errstr[0] ? l->ctx->errstr : dflt;
}

void store_link_close_thread(void) {
    thread_links_t *t = pthread_getspecific(links_key);
    for (int i = 0; t && i < STORE_MAX_NODES; i++) {
        if (t->links[i].loop)
            loop_fail(&t->links[i], "closed", false);
        else if (t->links[i].ctx)
            close_link(&t->links[i]);
    }
}

unsigned long store_link_reconnects(void) { return atomic_load(&reconnects); }

/* ---- links shared by an event loop's coroutines ---- */

static void on_io(void *arg, uint32_t events);

static slot_t *slot_at(const store_link_t *l, unsigned k) { return &l->slots[k & (l->cap - 1)]; }

/* Fails everything on l's connection and closes it; down: the node is
 * marked down too (a failure, not a shutdown). Every waiter is woken, and
 * its read then finds no slot of its own and returns false. */
static void loop_fail(store_link_t *l, const char *why, bool down) {
    if (!l->ctx)
        return;
    if (down)
        mark(l->node, false, why);
    core_evloop_unwatch(l->loop, l->ctx->fd);
    close_link(l);
    l->want_out = false;
    for (unsigned k = l->head; k != l->tail; k++) {
        slot_t *s = slot_at(l, k);
        if (s->reply)
            freeReplyObject(s->reply);
        core_evloop_wake(s->owner);
    }
    l->head = l->fill = l->tail = 0;
}

static bool ring_push(store_link_t *l, core_coro_t *owner) {
    if (l->tail - l->head == l->cap) {
        unsigned cap = l->cap ? l->cap * 2 : 64;
        slot_t *s = malloc(sizeof *s * cap);
        if (!s)
            return false;
        for (unsigned k = l->head; k != l->tail; k++)
            s[k & (cap - 1)] = *slot_at(l, k);
        free(l->slots);
        l->slots = s;
        l->cap = cap;
    }
    *slot_at(l, l->tail++) = (slot_t){.owner = owner, .deadline = l->deadline};
    return true;
}

/* Writes what l has buffered, as far as the socket takes it; the rest goes
 * when it is writable (EPOLLOUT). */
static void write_some(store_link_t *l) {
    int done = 0;
    if (redisBufferWrite(l->ctx, &done) != REDIS_OK) {
        loop_fail(l, l->ctx->errstr[0] ? l->ctx->errstr : "cannot send command", true);
        return;
    }
    bool want = !done;
    if (want != l->want_out &&
        core_evloop_watch(l->loop, l->ctx->fd, EPOLLIN | (want ? EPOLLOUT : 0), on_io, l))
        l->want_out = want;
}

static int flush_dirty(void *arg) {
    thread_links_t *t = arg;
    while (t->dirty) {
        store_link_t *l = t->dirty;
        t->dirty = l->next_dirty;
        l->next_dirty = NULL;
        l->dirty = false;
        if (l->ctx && !l->want_out)
            write_some(l);
    }
    return -1;
}

/* Gives each reply read to the next slot, and wakes its coroutine. */
static void take_replies(store_link_t *l) {
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(l->ctx->reader, &r) != REDIS_OK) {
            loop_fail(l, "protocol error", true);
            return;
        }
        if (!r)
            return;
        if (l->fill == l->tail) {
            freeReplyObject(r);
            loop_fail(l, "a reply no command awaited", true);
            return;
        }
        slot_t *s = slot_at(l, l->fill++);
        s->reply = r;
        s->arrived = true;
        core_evloop_wake(s->owner);
    }
}

static void on_io(void *arg, uint32_t events) {
    store_link_t *l = arg;
    if (l->ctx && (events & EPOLLOUT))
        write_some(l);
    if (!l->ctx || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    char buf[64 * 1024];
    for (int i = 0; i < 8; i++) { /* up to 512 kB per turn, then others get a go */
        ssize_t n = read(l->ctx->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            /* closed with nothing in flight (an idle timeout, CLIENT KILL, a
             * restart): the next command reconnects, and the node is not
             * marked down for it, as the blocking path's stale check does */
            loop_fail(l, n == 0 ? "connection closed by the server" : strerror(errno),
                      l->head != l->tail);
            return;
        }
        if (redisReaderFeed(l->ctx->reader, buf, (size_t)n) != REDIS_OK) {
            loop_fail(l, "out of memory", true);
            return;
        }
        take_replies(l);
        if (!l->ctx || (size_t)n < sizeof buf)
            return;
    }
}

static void mark_dirty(store_link_t *l) {
    if (l->dirty || l->want_out)
        return;
    thread_links_t *t = pthread_getspecific(links_key);
    l->dirty = true;
    l->next_dirty = t->dirty;
    t->dirty = l;
}

typedef struct {
    int node, timeout_ms;
    unsigned gen;
    redisContext *ctx;
    char why[128];
} dial_job_t;

static void dial_job(void *arg) {
    dial_job_t *j = arg;
    j->ctx = dial_node(j->node, j->timeout_ms, &j->gen, j->why, sizeof j->why);
}

/* Connects l on the blocking pool while this coroutine parks. */
static bool loop_connect(store_link_t *l, int timeout_ms) {
    dial_job_t j = {.node = l->node, .timeout_ms = timeout_ms};
    l->connecting = true;
    core_evloop_blocking(dial_job, &j);
    l->connecting = false;
    for (wait_node_t *w = l->connect_waiters; w; w = w->next)
        core_evloop_wake(w->coro);
    l->connect_waiters = NULL;
    if (j.ctx) {
        int fd = j.ctx->fd, fl = fcntl(fd, F_GETFL);
        j.ctx->flags &= ~REDIS_BLOCK; /* hiredis: EAGAIN means later, not an error */
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
            !core_evloop_watch(l->loop, fd, EPOLLIN, on_io, l)) {
            redisFree(j.ctx);
            j.ctx = NULL;
            snprintf(j.why, sizeof j.why, "cannot watch the connection");
        }
    }
    return adopt(l, j.ctx, j.gen, timeout_ms, j.why);
}

/* Waits (parked) for another coroutine's connect of l, up to deadline. */
static void await_connect(store_link_t *l, int64_t deadline) {
    wait_node_t me = {.coro = core_coro_self(), .next = l->connect_waiters};
    /* taken off the list below, before this frame ends */
    // cppcheck-suppress autoVariables
    l->connect_waiters = &me;
    core_evloop_park(deadline);
    for (wait_node_t **p = &l->connect_waiters; *p; p = &(*p)->next)
        if (*p == &me) {
            *p = me.next;
            break;
        }
}

static store_link_t *loop_open(store_link_t *l, int timeout_ms) {
    if (!core_coro_self())
        return NULL; /* a loop's thread waits for nothing outside a coroutine */
    node_t *n = &nodes[l->node];
    int64_t deadline = core_mono_ms() + timeout_ms;
    l->fail_handled = false;
    if (l->ctx && l->gen != atomic_load_explicit(&n->gen, memory_order_relaxed))
        loop_fail(l, "the node's address changed", false);
    bool tried = false; /* may_try said yes to this call (it says so once per window) */
    while (!l->ctx) {
        if (l->connecting) {
            if (core_mono_ms() >= deadline)
                return NULL;
            await_connect(l, deadline);
        } else if (core_mono_ms() < l->retry_at_ms || !(tried = may_try(n)) ||
                   !loop_connect(l, timeout_ms)) {
            return NULL;
        }
    }
    if (!tried && !may_try(n))
        return NULL;
    l->deadline = deadline;
    return l;
}

static bool loop_read(store_link_t *l, redisReply **reply) {
    core_coro_t *me = core_coro_self();
    *reply = NULL;
    for (;;) {
        slot_t *s = NULL;
        for (unsigned k = l->head; k != l->tail && !s; k++)
            if (slot_at(l, k)->owner == me && !slot_at(l, k)->taken)
                s = slot_at(l, k);
        if (!s) { /* the connection failed meanwhile (loop_fail) */
            l->fail_handled = true;
            return false;
        }
        if (s->arrived) {
            *reply = s->reply;
            s->reply = NULL;
            s->taken = true;
            while (l->head != l->fill && slot_at(l, l->head)->taken)
                l->head++;
            if (l->head == l->tail)
                l->head = l->fill = l->tail = 0;
            return true;
        }
        int64_t deadline = s->deadline; /* s may move while parked (the ring grows) */
        if (!core_evloop_park(deadline) && core_mono_ms() >= deadline) {
            /* a timeout: what a blocking read does, for every command on it */
            loop_fail(l, "timeout", true);
            l->fail_handled = true;
            return false;
        }
    }
}

/* ---- commands on the wire ---- */

/* Writes "*N\r\n" (lead '*') or "$N\r\n" (lead '$') at p; returns the end. */
static char *put_header(char *p, char lead, size_t v) {
    *p++ = lead;
    p += core_decimal_u(v, p);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Appends one command, in the Redis protocol, to the context's output
 * buffer. redisAppendCommandArgv formats every argument's header with
 * sdscatfmt into an allocation of its own; here a command is formatted in
 * one buffer (on the stack for nearly all) and costs one copy into
 * hiredis's buffer. */
static int append_command(redisContext *ctx, const store_args_t *cmd, size_t size) {
    char stack[4096];
    char *buf = size <= sizeof stack ? stack : malloc(size);
    if (!buf)
        return REDIS_ERR;
    char *p = put_header(buf, '*', (size_t)cmd->argc);
    for (int i = 0; i < cmd->argc; i++) {
        p = put_header(p, '$', cmd->lens[i]);
        memcpy(p, cmd->argv[i], cmd->lens[i]);
        p += cmd->lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    int rc = redisAppendFormattedCommand(ctx, buf, (size_t)(p - buf));
    if (buf != stack)
        free(buf);
    return rc;
}

/* The protocol's bytes for cmd, were it formatted. */
static size_t command_size(const store_args_t *cmd) {
    size_t total = 1 + 20 + 2;
    for (int i = 0; i < cmd->argc; i++)
        total += 1 + 20 + 2 + cmd->lens[i] + 2;
    return total;
}

/* Large commands with at most this many arguments are written with
 * write_command. */
enum { MAX_ARGS = 64, DIRECT_WRITE_MIN = 16 * 1024 };

/* Sends a large command without copying its arguments: whatever hiredis
 * has buffered first (commands keep their order), then the command with
 * writev, the headers from a stack buffer and each argument from where it
 * lies. A 40 kB frame was copied twice on its way out (into a formatting
 * buffer, then into hiredis's). Failure leaves the connection unusable (a
 * partial command may be on the wire): the caller drops it. */
static int write_command(redisContext *ctx, const store_args_t *cmd) {
    int done = 0;
    while (!done)
        if (redisBufferWrite(ctx, &done) != REDIS_OK)
            return REDIS_ERR;
    char heads[24 * (MAX_ARGS + 1)];
    struct iovec iov[3 * MAX_ARGS + 1];
    int n = 0;
    char *h = heads, *end = put_header(h, '*', (size_t)cmd->argc);
    iov[n++] = (struct iovec){h, (size_t)(end - h)};
    for (int i = 0; i < cmd->argc; i++) {
        h = end;
        end = put_header(h, '$', cmd->lens[i]);
        iov[n++] = (struct iovec){h, (size_t)(end - h)};
        iov[n++] = (struct iovec){(void *)cmd->argv[i], cmd->lens[i]};
        iov[n++] = (struct iovec){"\r\n", 2};
    }
    /* n <= 3 * MAX_ARGS + 1, far below IOV_MAX: one writev takes them all */
    for (struct iovec *v = iov; n > 0;) {
        ssize_t w = writev(ctx->fd, v, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* EAGAIN: the socket's send timeout passed */
            snprintf(ctx->errstr, sizeof ctx->errstr, "write: %s",
                     w < 0 ? strerror(errno) : "nothing written");
            return REDIS_ERR;
        }
        for (size_t left = (size_t)w; left > 0;) {
            size_t take = left < v->iov_len ? left : v->iov_len;
            v->iov_base = (char *)v->iov_base + take;
            v->iov_len -= take;
            left -= take;
            if (v->iov_len == 0) {
                v++;
                n--;
            }
        }
        while (n > 0 && v->iov_len == 0) {
            v++;
            n--;
        }
    }
    return REDIS_OK;
}

bool store_link_write(store_link_t *l, const store_args_t *cmd) {
    size_t size = command_size(cmd);
    if (l->loop) {
        /* the slot first: a command on the wire always has one */
        if (!l->ctx || !ring_push(l, core_coro_self()))
            return false;
        if (append_command(l->ctx, cmd, size) != REDIS_OK) {
            l->tail--;
            return false;
        }
        mark_dirty(l);
        return true;
    }
    int rc = size >= DIRECT_WRITE_MIN && cmd->argc <= MAX_ARGS ? write_command(l->ctx, cmd)
                                                               : append_command(l->ctx, cmd, size);
    return rc == REDIS_OK;
}

bool store_link_flush(store_link_t *l) {
    if (l->loop)
        return l->ctx != NULL; /* the loop writes at the end of its turn */
    int done = 0;
    while (!done)
        if (redisBufferWrite(l->ctx, &done) != REDIS_OK)
            return false;
    return true;
}

bool store_link_read(store_link_t *l, redisReply **reply) {
    if (l->loop)
        return loop_read(l, reply);
    void *r = NULL;
    if (redisGetReply(l->ctx, &r) != REDIS_OK || !r) {
        if (r)
            freeReplyObject(r);
        *reply = NULL;
        return false;
    }
    *reply = r;
    return true;
}
