/*
 * libmicrohttpd glue. The access handler is called several times per
 * request: first with the headers (framing, route, size checks), then with
 * each piece of the body, then once more with nothing left, when the handler
 * runs. Early rejections (400 for ambiguous framing, 414, 404, 405, 401, 413
 * by Content-Length) are answered on the first call, before any body is
 * read, and libmicrohttpd then closes the connection.
 *
 * Strict HTTP/1.1 framing (RFC 9112 section 6): a request whose body length
 * is in doubt (Content-Length twice, even with equal values; Content-Length
 * with Transfer-Encoding; a Transfer-Encoding other than one "chunked") is
 * refused 400 and its connection closed, so that nothing a lax proxy in front
 * reads differently can be taken for a second request.
 *
 * Paths are decoded by our own unescape callback: %00 and %2F are never
 * decoded, so no NUL can cut a path or query value short behind the router's
 * back, and an encoded slash cannot split a path segment in two.
 *
 * Every reply goes out through send_reply, the one place that adds the
 * headers every reply carries: X-Request-Id, Allow, and CORS (cors.c).
 *
 * Threads: THREADS event loops (api/http/loop.h), each with a daemon of its own
 * on the one listening socket this file opens; a handler runs on a
 * coroutine of the loop that read its request, and one that waits for Redis
 * leaves its connection suspended until it is done. Connection limits:
 * MAX_CONNECTIONS is divided among the loops (as libmicrohttpd divides it
 * among its own pool's threads); MAX_CONNECTIONS_PER_IP counts over all of
 * them (api/http/conn.c).
 */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <time.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/base64.h"
#include "../../core/ids.h"
#include "../../core/imagetype.h"
#include "../../core/log.h"
#include "../../core/timefmt.h"
#include "../../store/conn.h"
#include "auth.h"
#include "conn.h"
#include "cors.h"
#include "loop.h"
#include "traffic.h"
#include "problem.h"
#include "request.h"

#include "../../core/evloop.h"
#include "service.h"

struct api_server {
    api_loop_t **loops;
    int nloops;
    int listen_fd; /* shared by every loop's daemon; -1 once closed */
    bool ipv6;
    const api_route_t *routes;
    size_t nroutes;
    size_t max_target; /* bytes of request target (path and query) */
    size_t max_args;   /* query arguments */
    /* body limits in bytes (see body_limits) */
    size_t max_body;       /* a JSON body */
    size_t max_batch;      /* a batch */
    size_t max_image;      /* a raw image */
    size_t max_image_json; /* an image in base64 inside JSON */
};

/* Query arguments a request may carry (fewer with a small MAX_HEADER_BYTES:
 * see target_limits). */
#define MAX_QUERY_ARGS 64

int api_server_threads(const config_t *cfg) {
    if (cfg->threads > 0)
        return cfg->threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* A loop never waits for Redis: one per core keeps the cores busy. */
    return cores > 0 ? (int)cores : 1;
}

int api_server_blocking_threads(const config_t *cfg) {
    /* MongoDB calls and health checks wait on these: as many as the worker
     * threads there were (two per core), and never fewer than four */
    int n = 2 * api_server_threads(cfg);
    return n < 4 ? 4 : n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p;) {
        if (p[0] == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            int v = hexval(p[1]) * 16 + hexval(p[2]);
            /* %00 would cut the string; %2F would become a path separator. */
            if (v != 0 && v != '/') {
                *w++ = (char)v;
                p += 3;
                continue;
            }
        }
        *w++ = *p++;
    }
    *w = '\0';
    return (size_t)(w - s);
}

/*
 * libmicrohttpd 0.9.75 splits the query into arguments in the connection's
 * memory pool (MAX_HEADER_BYTES) before the handler runs, and when the pool
 * runs out it drops the 431 it meant to send: the client hears nothing until
 * IDLE_TIMEOUT_S. So a request target with a query is measured first, here:
 * one longer than max_target, or with more than max_args arguments, is cut
 * at its '?' and answered 414 by the handler. libmicrohttpd passes us the
 * target in its own buffer, after finding the '?' and before parsing what
 * follows, so the cut leaves it no argument to parse. The limits keep what
 * it parses within the half of the pool that is free when it does.
 */
static char target_refused; /* the context left for such a request */

static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c) {
    (void)c;
    const api_server_t *s = cls;
    if (!uri)
        return NULL;
    size_t len = strlen(uri), args = 0;
    char *query = memchr(uri, '?', len); /* libmicrohttpd's buffer: see above */
    if (!query)
        return NULL; /* a long path costs no arguments; the router refuses it */
    for (const char *p = query; p && args <= s->max_args; p = strchr(p + 1, '&'))
        args++;
    if (len <= s->max_target && args <= s->max_args)
        return NULL;
    query[1] = '\0';
    return &target_refused;
}

/* Request target limits for a connection memory pool of pool bytes: a target
 * of at most a quarter of the pool leaves the request line within the half
 * libmicrohttpd first reads into, so the other half is free when arguments
 * are parsed, and each argument takes 64 bytes of it at most. */
static void target_limits(api_server_t *s, size_t pool) {
    s->max_target = pool / 4;
    s->max_args = pool / 2 / 64 < MAX_QUERY_ARGS ? pool / 2 / 64 : MAX_QUERY_ARGS;
}

/* How the request says its body is framed: each header counted. */
typedef struct {
    int content_length, transfer_encoding;
    const char *length, *encoding; /* the last value of each */
} framing_t;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    framing_t *f = cls;
    if ((key[0] | 0x20) == 'c' && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
        f->length = value;
    } else if ((key[0] | 0x20) == 't' && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->encoding = value;
    }
    return MHD_YES;
}

/* RFC 9112 section 6.3: refuses (400) a request whose body length is in
 * doubt. Returns the Content-Length value (NULL when none) through *length. */
static bool framing_ok(api_req_t *r, const char **length) {
    framing_t f = {0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
    *length = f.length;
    const char *why = NULL;
    if (f.content_length && f.transfer_encoding)
        why = "Content-Length and Transfer-Encoding together";
    else if (f.content_length > 1)
        why = "more than one Content-Length";
    else if (f.transfer_encoding > 1 || (f.encoding && strcasecmp(f.encoding, "chunked") != 0))
        why = "a Transfer-Encoding other than one 'chunked'";
    if (!why)
        return true;
    api_problem(r, 400, "the length of the body is ambiguous: %s (RFC 9112, section 6.3)", why);
    return false;
}

/* The body limits of cfg (MAX_BODY_BYTES, MAX_BATCH_BYTES, MAX_IMAGE_BYTES),
 * taken once, at start: every request reads them. */
static void body_limits(api_server_t *s, const config_t *cfg) {
    s->max_body = (size_t)cfg->max_body_bytes;
    s->max_batch = (size_t)cfg->max_batch_bytes;
    s->max_image = (size_t)cfg->max_image_bytes;
    /* a JSON upload carries the frame in base64, plus a little JSON around it */
    s->max_image_json = core_b64_encoded_len(s->max_image) + 1024;
}

/* The largest body the route accepts for this request's Content-Type. */
static size_t body_limit(const api_req_t *r, const api_server_t *s) {
    if (r->route && r->route->body == API_BODY_BATCH)
        return s->max_batch;
    if (!r->route || r->route->body != API_BODY_IMAGE)
        return s->max_body;
    if (core_img_from_mime(api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)) != CORE_IMG_NONE)
        return s->max_image;
    return s->max_image_json;
}

static void too_large(api_req_t *r) {
    api_problem(r, 413, "the request body is larger than the %zu bytes this endpoint accepts",
                r->body_limit);
}

/* A body announced larger than the route accepts is answered 413 at once
 * only when the client waits for that answer before sending it (Expect:
 * 100-continue) or when it is larger than this: the answer then closes the
 * connection with the body unread, and the client's kernel, reset, may drop
 * the 413 before the client reads it. Up to this size the body is read and
 * dropped, and the client reliably gets its 413 at the end. */
#define DRAIN_MAX (16ULL << 20)

/* First call: route the request and make the checks that need no body. */
static void begin(api_req_t *r, const api_server_t *s, const char *url, const char *method,
                  bool target_ok) {
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    api_traffic_begin();
    r->method = api_method_parse(method);
    if (!api_request_capture(r)) {
        api_problem(r, 500, "out of memory");
        return;
    }
    snprintf(r->method_name, sizeof r->method_name, "%s", method);
    const char *given = api_header(r, "X-Request-Id");
    if (core_id_valid(given) && strlen(given) <= 64)
        snprintf(r->request_id, sizeof r->request_id, "%s", given);
    else if (!core_random_id(r->request_id, sizeof r->request_id, "", 16))
        snprintf(r->request_id, sizeof r->request_id, "-");
    r->path = strdup(url);
    if (!r->path) {
        api_problem(r, 500, "out of memory");
        return;
    }
    const char *cl;
    if (!framing_ok(r, &cl))
        return;
    if (!target_ok) {
        api_problem(r, 414,
                    "a request target with a query may be %zu bytes long and have %zu "
                    "arguments at most",
                    s->max_target, s->max_args);
        return;
    }
    api_match_t m;
    api_match_status_t ms = api_router_match(s->routes, s->nroutes, r->method, r->path, &m);
    r->allowed = m.allowed;
    r->path_route = m.path_route;
    if (ms == API_MATCH_NOT_FOUND) {
        api_problem(r, 404, "no resource at this path");
        return;
    }
    if (r->method == API_OPTIONS) { /* CORS preflights too: send_reply adds their headers */
        api_reply_empty(r, 204);
        return;
    }
    if (ms == API_MATCH_BAD_METHOD) {
        api_problem(r, 405, "method %.20s is not allowed here", method);
        return;
    }
    r->route = m.route;
    r->nparams = m.nparams;
    memcpy(r->params, m.params, sizeof m.params);
    if (!api_auth_check(r))
        return;
    r->body_limit = body_limit(r, s);
    unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
    if (announced <= r->body_limit)
        r->body_expected = (size_t)announced;
    else if (announced <= DRAIN_MAX && !api_header(r, MHD_HTTP_HEADER_EXPECT))
        r->body_too_large = true; /* read and dropped; the 413 comes at its end */
    else
        too_large(r);
}

#define BODY_PREALLOC (64 * 1024)

/* Appends a piece of the body, growing the buffer as data really arrives
 * (never by what a header claims), and never past the limit. */
static void take_body(api_req_t *r, const char *data, size_t n) {
    if (r->body_too_large)
        return;
    if (r->body_len + n > r->body_limit) {
        r->body_too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        return;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        /* The first allocation takes what Content-Length announces, up to
         * BODY_PREALLOC: a 40 kB frame is then read with no realloc (each
         * of which copied what had come so far), while a client announcing
         * more than it sends holds at most that much. */
        size_t cap = r->body_cap ? r->body_cap : 4096;
        if (!r->body_cap && r->body_expected + 1 > cap)
            cap = r->body_expected + 1 < BODY_PREALLOC ? r->body_expected + 1 : BODY_PREALLOC;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        if (cap > r->body_limit + 1)
            cap = r->body_limit + 1;
        char *b = realloc(r->body, cap);
        if (!b) {
            r->body_too_large = true;
            return;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
}

/* The headers every reply carries, added once, here and nowhere else. A
 * shared reply is left as it was built, unless CORS headers (which depend on
 * the request) are due: it is then replaced by a copy of its own. */
static void decorate(api_req_t *r) {
    if (r->resp_shared && (!api_cors_enabled() || !api_reply_unshare(r)))
        return;
    api_common_headers(r->resp);
    MHD_add_response_header(r->resp, "X-Request-Id", r->request_id);
    if (r->status == 405 || r->method == API_OPTIONS) {
        char allow[96];
        api_methods_format(r->allowed, allow, sizeof allow);
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    api_cors_decorate(r);
}

static enum MHD_Result send_reply(api_req_t *r) {
    if (!r->resp)
        api_problem(r, 500, "the handler produced no response");
    if (!r->resp)
        return MHD_NO; /* not even a problem could be built: drop the connection */
    decorate(r);
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->resp);
    if (!r->resp_shared)
        MHD_destroy_response(r->resp);
    r->resp = NULL;
    /* what the handler read is not needed any more: a reply that goes on
     * (an event stream) holds only the request's own fields from here on */
    api_request_release(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    api_req_t *r = *con_cls;
    if (!r || r == (void *)&target_refused || !r->handler_started)
        api_loop_progress(); /* not a waiting handler's call again */
    if (!r || r == (void *)&target_refused) {
        bool target_ok = !r;
        api_conn_head_done(
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT)->socket_context);
        r = calloc(1, sizeof *r);
        *con_cls = r;
        if (!r)
            return MHD_NO;
        r->conn = c;
        begin(r, cls, url, method, target_ok);
        return r->resp ? send_reply(r) : MHD_YES;
    }
    if (*upload_size) {
        /* Past the limit the rest is read and dropped: libmicrohttpd cannot
         * answer in the middle of a body, and the 413 comes at its end. */
        take_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->handler_started) {
        r->handler_started = true;
        if (r->body_too_large)
            too_large(r);
        else if (!api_loop_handle(r))
            return MHD_YES; /* it waits: called again until it is done */
    } else if (!api_loop_poll(r)) {
        return MHD_YES;
    }
    return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    api_req_t *r = *con_cls;
    *con_cls = NULL;
    api_loop_progress();
    if (!r || r == (void *)&target_refused)
        return; /* libmicrohttpd answered it before the handler saw it */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    api_conn_t *conn =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT)->socket_context;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        api_conn_answered(conn, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    double secs =
        (double)(now.tv_sec - r->started.tv_sec) + (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
    /* status 0: the client went away before an answer was sent */
    unsigned status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->status : 0;
    const api_route_t *label = r->route ? r->route : r->path_route;
    api_traffic_end(label, r->method, status, secs);
    if (log_enabled(LOG_INFO)) {
        const char *remote = api_conn_remote(conn);
        log_request(&(log_request_t){.request_id = r->request_id,
                                     .method = r->method_name,
                                     .route = label ? label->pattern : "unmatched",
                                     .status = status,
                                     .duration_ms = secs * 1e3,
                                     .bytes = r->method == API_HEAD ? 0 : r->resp_bytes,
                                     .remote = remote});
    }
    if (r->wait_ms && !r->handled) {
        /* the connection closed while its handler waits: the handler's
         * coroutine frees r when it ends (api/http/loop.c) */
        r->orphaned = true;
        r->conn = NULL;
        return;
    }
    api_request_free(r);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    (void)cls;
    api_loop_progress();
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = api_conn_open(c);
    } else {
        api_conn_close(*socket_context);
        *socket_context = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_DEBUG, "http: %s", msg);
}

/* The listening socket every loop's daemon shares (non-blocking: the loops
 * race to accept, and the losers must not wait). -1 after logging why. */
static int open_listener(const config_t *cfg, const struct addrinfo *ai) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        (ai->ai_family != AF_INET6 ||
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
        bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
        return fd;
    log_event(LOG_ERROR, "cannot listen on %s:%d (in use, or not permitted)", cfg->bind, cfg->port);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* One loop's daemon, on its thread (api_loop_start calls it there). */
static struct MHD_Daemon *make_daemon(void *arg) {
    api_server_t *s = arg;
    /* external epoll: the loop drives it; suspend/resume for the handlers that wait */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (s->ipv6)
        flags |= MHD_USE_IPv6;
    int per_loop = api_config()->max_connections / s->nloops;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)api_config()->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)api_config()->max_header_bytes,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(per_loop > 0 ? per_loop : 1), MHD_OPTION_END);
}

static void close_listener(api_server_t *s) {
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
}

/* Stops every loop, the pool and the watchdog, and frees s. */
static void stop_all(api_server_t *s) {
    api_conn_watch_stop();
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i])
            api_loop_quiesce(s->loops[i]);
    close_listener(s);
    for (int i = 0; i < s->nloops; i++)
        api_loop_stop(s->loops[i]);
    core_evloop_pool_stop();
    free(s->loops);
    free(s);
}

api_server_t *api_server_start(const config_t *cfg, const api_route_t *routes, size_t nroutes) {
    api_service_begin(cfg);
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", cfg->port);
    if (getaddrinfo(cfg->bind, port, &hints, &ai) != 0 || !ai) {
        log_event(LOG_ERROR, "BIND '%s' is not a numeric IPv4 or IPv6 address", cfg->bind);
        return NULL;
    }
    api_server_t *s = calloc(1, sizeof *s);
    int n = api_server_threads(cfg);
    if (s)
        s->loops = calloc((size_t)n, sizeof *s->loops);
    if (!s || !s->loops) {
        freeaddrinfo(ai);
        free(s);
        return NULL;
    }
    s->routes = routes;
    s->nroutes = nroutes;
    s->nloops = n;
    s->ipv6 = ai->ai_family == AF_INET6;
    target_limits(s, (size_t)cfg->max_header_bytes);
    body_limits(s, cfg);
    s->listen_fd = open_listener(cfg, ai);
    freeaddrinfo(ai);
    if (s->listen_fd < 0 ||
        !api_conn_watch_start(cfg->header_timeout_s, cfg->max_connections_per_ip)) {
        close_listener(s);
        free(s->loops);
        free(s);
        return NULL;
    }
    bool ok = core_evloop_pool_start(api_server_blocking_threads(cfg));
    if (!ok)
        log_event(LOG_ERROR, "cannot start the blocking pool's threads");
    for (int i = 0; i < n && ok; i++)
        ok = (s->loops[i] = api_loop_start(make_daemon, s)) != NULL;
    if (!ok) {
        log_event(LOG_ERROR, "cannot start the HTTP server on %s:%d", cfg->bind, cfg->port);
        stop_all(s);
        return NULL;
    }
    return s;
}

void api_server_drain(api_server_t *s, int delay_s, int grace_s, void (*closed)(void)) {
    api_service_drain(); /* /readyz answers 503 from now on */
    if (!s)
        return;
    log_event(LOG_INFO,
              "draining: still accepting for %d s, then up to %d s for requests in flight", delay_s,
              grace_s);
    struct timespec pause = {delay_s, 0};
    while (nanosleep(&pause, &pause) != 0) {
    }
    for (int i = 0; i < s->nloops; i++)
        api_loop_quiesce(s->loops[i]);
    close_listener(s);
    /* now that new connections go elsewhere: every event stream gets its
     * final event (shutdown) and ends, so its client reconnects elsewhere */
    if (closed)
        closed();
    int64_t deadline = core_now_ms() + (int64_t)grace_s * 1000;
    while (api_traffic_in_flight() > 0 && core_now_ms() < deadline) {
        struct timespec tick = {0, 20 * 1000000};
        nanosleep(&tick, NULL);
    }
    long left = api_traffic_in_flight();
    if (left > 0)
        log_event(LOG_WARN, "grace period over with %ld requests still in flight", left);
}

void api_server_stop(api_server_t *s) {
    if (s)
        stop_all(s);
}
