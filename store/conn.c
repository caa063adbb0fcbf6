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

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../core/decimal.h"
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
            /* EAGAIN: the socket's send timeout (REDIS_TIMEOUT_MS) passed */
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
        size_t size = command_size(&cmds[i]);
        int rc = size >= DIRECT_WRITE_MIN && cmds[i].argc <= MAX_ARGS
                     ? write_command(ctx, &cmds[i])
                     : append_command(ctx, &cmds[i], size);
        if (rc != REDIS_OK) {
            drop_ctx(ctx->errstr[0] ? ctx->errstr : "cannot send command");
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
    case STORE_BAD_DATA: return "stored data breaks the schema";
    case STORE_UNCONFIRMED: return "no answer to a write";
    }
    return "unknown";
}
