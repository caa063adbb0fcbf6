/*
 * Per-thread Redis connections. Each thread owns its redisContext through a
 * pthread key whose destructor closes it when the thread ends; nothing here is
 * shared between threads except read-only settings and a few atomic counters.
 *
 * Failure policy: any I/O error or timeout drops the connection, and the next
 * command on that thread reconnects. After a failed connect the thread waits
 * RETRY_MS before trying again, so a dead Redis costs a request nothing more
 * than an immediate 503 instead of a connect timeout each time.
 *
 * The same holds across threads: once Redis failed to answer (a timeout, a
 * refused or broken connection), every thread fails fast for RETRY_MS, and
 * then one thread at a time tries again. A stalled Redis thus holds one
 * worker for at most the timeout, instead of every worker in turn, and a
 * request never waits for other requests' timeouts (nor /livez behind them).
 */
#include "conn.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/timefmt.h"

#define RETRY_MS 100
#define READER_KEEP (1u << 20) /* bytes of read buffer a connection keeps between replies */

typedef struct {
    redisContext *ctx;
    int64_t retry_at_ms;
    bool connected_before;
} conn_t;

static core_redis_url_t url;
static struct timeval timeout;
static int timeout_ms_total;
static atomic_llong stalled_until; /* ms: Redis failed to answer; 0 once it answers */
static pthread_key_t conn_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static atomic_int state = -1;   /* -1 unknown, 0 down, 1 up: for logging transitions */
static atomic_ulong reconnects; /* connections made by a thread that had one before */
static atomic_ulong errors;     /* commands that failed: no connection, I/O, or an error reply */

static void conn_destroy(void *p) {
    conn_t *c = p;
    if (c->ctx)
        redisFree(c->ctx);
    free(c);
}

static void make_key(void) { pthread_key_create(&conn_key, conn_destroy); }

void store_conn_configure(const core_redis_url_t *u, int timeout_ms) {
    pthread_once(&key_once, make_key);
    url = *u;
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_usec = (timeout_ms % 1000) * 1000;
    timeout_ms_total = timeout_ms;
}

/* Whether this thread may use Redis now: not within RETRY_MS of a failure,
 * nor while another thread's try may still be waiting for its timeout. */
static bool may_try(void) {
    long long until = atomic_load(&stalled_until);
    if (until == 0)
        return true;
    long long now = core_now_ms();
    if (now < until)
        return false;
    /* the window is over: the one thread that moves it on tries */
    return atomic_compare_exchange_strong(&stalled_until, &until,
                                          now + timeout_ms_total + RETRY_MS);
}

static void mark(int up, const char *why) {
    atomic_store(&stalled_until, up ? 0 : core_now_ms() + RETRY_MS);
    int old = atomic_exchange(&state, up);
    if (old == up)
        return;
    if (up)
        log_event(LOG_INFO, "redis up");
    else
        log_event(LOG_WARN, "redis down: %s", why);
}

static bool handshake(redisContext *ctx, const char **why) {
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
    if (url.db != 0) {
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

static redisContext *connect_now(const char **why) {
    redisContext *ctx = url.is_unix ? redisConnectUnixWithTimeout(url.path, timeout)
                                    : redisConnectWithTimeout(url.host, url.port, timeout);
    if (!ctx) {
        *why = "out of memory";
        return NULL;
    }
    if (ctx->err) {
        *why = ctx->errstr[0] ? ctx->errstr : "connect failed";
        /* errstr lives in ctx: copy the reason into a thread-local before freeing. */
        static _Thread_local char reason[128];
        snprintf(reason, sizeof reason, "%s", *why);
        *why = reason;
        redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, timeout) != REDIS_OK || !handshake(ctx, why)) {
        if (!*why)
            *why = "cannot set timeout";
        redisFree(ctx);
        return NULL;
    }
    if (!url.is_unix)
        redisEnableKeepAlive(ctx);
    /* hiredis frees its read buffer whenever more than 16 KiB of it is
     * unused, so every frame read (40 kB and up) grew a new one by doubling,
     * copying what it had each time. Kept up to READER_KEEP, it is grown once
     * per connection. */
    ctx->reader->maxbuf = READER_KEEP;
    return ctx;
}

static conn_t *thread_conn(void) {
    conn_t *c = pthread_getspecific(conn_key);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || pthread_setspecific(conn_key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* Between commands a connection has nothing to read: if its socket is
 * readable, the peer closed it (a Redis restart, an idle timeout). Checking
 * costs one poll() and saves the request that would otherwise fail on it. */
static bool stale(const redisContext *ctx) {
    struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

static redisContext *get_ctx(void) {
    conn_t *c = thread_conn();
    if (!c)
        return NULL;
    if (c->ctx && stale(c->ctx)) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    if (c->ctx)
        return may_try() ? c->ctx : NULL;
    int64_t now = core_now_ms();
    if (now < c->retry_at_ms || !may_try())
        return NULL;
    const char *why = NULL;
    c->ctx = connect_now(&why);
    if (!c->ctx) {
        c->retry_at_ms = now + RETRY_MS;
        mark(0, why ? why : "connect failed");
        return NULL;
    }
    if (c->connected_before)
        atomic_fetch_add(&reconnects, 1);
    c->connected_before = true;
    return c->ctx;
}

static void drop_ctx(const char *why) {
    conn_t *c = pthread_getspecific(conn_key);
    if (c && c->ctx) {
        mark(0, why);
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

void store_conn_close_thread(void) {
    conn_t *c = pthread_getspecific(conn_key);
    if (c && c->ctx) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

bool store_conn_up(void) { return atomic_load(&state) == 1; }

unsigned long store_conn_errors(void) { return atomic_load(&errors); }

unsigned long store_conn_reconnects(void) { return atomic_load(&reconnects); }

void store_replies_free(int n, redisReply **replies) {
    for (int i = 0; i < n; i++) {
        if (replies[i])
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

/* Writes v in decimal at p; returns the end. */
static char *put_uint(char *p, size_t v) {
    char d[20];
    int nd = 0;
    do {
        d[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (nd > 0)
        *p++ = d[--nd];
    return p;
}

/* Appends one command, in the Redis protocol, to the context's output
 * buffer. redisAppendCommandArgv formats every argument's header with
 * sdscatfmt into an allocation of its own; here a command (nearly all are
 * small) is formatted on the stack and costs one copy into hiredis's buffer. */
static int append_command(redisContext *ctx, const store_args_t *cmd) {
    size_t total = 1 + 20 + 2;
    for (int i = 0; i < cmd->argc; i++)
        total += 1 + 20 + 2 + cmd->lens[i] + 2;
    char stack[4096];
    char *buf = total <= sizeof stack ? stack : malloc(total);
    if (!buf)
        return REDIS_ERR;
    char *p = buf;
    *p++ = '*';
    p = put_uint(p, (size_t)cmd->argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < cmd->argc; i++) {
        *p++ = '$';
        p = put_uint(p, cmd->lens[i]);
        *p++ = '\r';
        *p++ = '\n';
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

store_status_t store_run_raw(int n, store_args_t *cmds, redisReply **replies) {
    for (int i = 0; i < n; i++) {
        replies[i] = NULL;
        if (cmds[i].oom)
            return STORE_ERROR;
    }
    redisContext *ctx = get_ctx();
    if (!ctx) {
        atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
        return STORE_UNAVAILABLE;
    }
    for (int i = 0; i < n; i++) {
        if (append_command(ctx, &cmds[i]) != REDIS_OK) {
            drop_ctx("cannot buffer command");
            atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
            return STORE_UNAVAILABLE;
        }
    }
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(ctx, &r) != REDIS_OK || !r) {
            drop_ctx(ctx->errstr[0] ? ctx->errstr : "no reply");
            store_replies_free(i, replies);
            atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
            return STORE_UNAVAILABLE;
        }
        replies[i] = r;
    }
    mark(1, NULL); /* up means answering, not merely accepting connections */
    return STORE_OK;
}

store_status_t store_error_status(const redisReply *r) {
    atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
    static const char *unavailable[] = {"LOADING",  "BUSY",       "MASTERDOWN", "READONLY",
                                        "OOM",      "NOAUTH",     "WRONGPASS",  "NOPERM",
                                        "TRYAGAIN", "CLUSTERDOWN"};
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++) {
        size_t n = strlen(unavailable[i]);
        if (r->len >= n && strncmp(r->str, unavailable[i], n) == 0)
            return STORE_UNAVAILABLE;
    }
    return STORE_ERROR;
}

store_status_t store_run(int n, store_args_t *cmds, redisReply **replies) {
    store_status_t st = store_run_raw(n, cmds, replies);
    if (st != STORE_OK)
        return st;
    for (int i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            st = store_error_status(replies[i]);
            log_event(LOG_WARN, "redis error reply: %.200s", replies[i]->str);
            store_replies_free(n, replies);
            return st;
        }
    }
    return STORE_OK;
}

store_status_t store_cmd(store_args_t *cmd, redisReply **reply) { return store_run(1, cmd, reply); }

const char *store_status_name(store_status_t st) {
    switch (st) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_CONFLICT: return "conflict";
    case STORE_UNAVAILABLE: return "unavailable";
    case STORE_ERROR: return "error";
    case STORE_DISABLED: return "disabled";
    case STORE_RATE_LIMITED: return "rate limited";
    }
    return "unknown";
}
