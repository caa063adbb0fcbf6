/*
 * Security properties a user (or an attacker) can observe.
 *
 * - Ids crafted to break key names or glob patterns (`*`, `?`, `[a]`, `a:b`,
 *   `{x}`, `.`, `..`, NUL, CR LF, a slash, 1 MB) are refused with a 4xx on
 *   every route that takes an id (path, JSON body, cursor), and Redis never
 *   sees a single command for them: MONITOR records nothing from the service
 *   while they are sent, then records the one valid request sent after them.
 *   (test_http.c checks the same for GET and heartbeat by commandstats.)
 * - The password in REDIS_URL (plain or an ACL user's, percent-encoded or
 *   not, right or wrong) appears in no response header or body of any
 *   endpoint, in no error, and in no line of the service's log.
 * - Every kind of response (2xx, 204, 304, 4xx, 503, HEAD, OPTIONS, shared
 *   static responses, raw frames) carries X-Content-Type-Options: nosniff and
 *   no Server header; even libmicrohttpd's own error pages carry no banner.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* No reaper traffic to blur what MONITOR sees; bodies big enough that a
 * 1 MB id in JSON reaches the validators instead of the size limit. */
static const char *const env[] = {"CLEANUP_INTERVAL_MS=3600000", "MAX_BODY_BYTES=4194304",
                                  "REDIS_TIMEOUT_MS=300", NULL};

/* ---- MONITOR ---- */

#define SENTINEL "rtstate-security-monitor-end"

typedef struct {
    redisContext *c; /* MONITOR on one master (a cluster: one each) */
    char *log;       /* every monitored line, '\n'-separated */
    size_t len;
} monitor_t;
#define MONITORS 16

static void *monitor_run(void *arg) {
    monitor_t *m = arg;
    for (;;) {
        void *p = NULL;
        if (redisGetReply(m->c, &p) != REDIS_OK || !p)
            return NULL;
        redisReply *r = p;
        bool end = r->type == REDIS_REPLY_STATUS && strstr(r->str, SENTINEL);
        if (r->type == REDIS_REPLY_STATUS && !end && strcmp(r->str, "OK") != 0) {
            char *grown = realloc(m->log, m->len + r->len + 2);
            if (grown) {
                m->log = grown;
                memcpy(m->log + m->len, r->str, r->len);
                m->len += r->len;
                m->log[m->len++] = '\n';
                m->log[m->len] = '\0';
            }
        }
        freeReplyObject(r);
        if (end)
            return NULL;
    }
}

/* MONITOR on every master; returns how many. */
static int monitor_start(monitor_t *m, pthread_t *t) {
    int n = it_redis_masters(&it_fx.redis);
    assert_true(n >= 1 && n <= MONITORS);
    for (int i = 0; i < n; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].c = it_redis_connect_master(&it_fx.redis, i);
        assert_non_null(m[i].c);
        struct timeval patient = {60, 0}; /* silence while 4xx are answered is the point */
        redisSetTimeout(m[i].c, patient);
        redisAppendCommand(m[i].c, "MONITOR");
        pthread_create(&t[i], NULL, monitor_run, &m[i]);
    }
    it_sleep_ms(50);
    return n;
}

/* Ends every monitor (the sentinel goes to every master) and joins what
 * they saw into m[0].log. */
static void monitor_stop(monitor_t *m, pthread_t *t, int n) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "ECHO %s", SENTINEL);
    freeReplyObject(r);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        redisFree(m[i].c);
        if (i == 0 || !m[i].log)
            continue;
        char *grown = realloc(m[0].log, m[0].len + m[i].len + 1);
        if (grown) {
            memcpy(grown + m[0].len, m[i].log, m[i].len + 1);
            m[0].log = grown;
            m[0].len += m[i].len;
        }
        free(m[i].log);
    }
}

/* ---- crafted ids ---- */

typedef struct {
    const char *path_form; /* as it goes into a URL */
    const char *json_form; /* as it goes into a JSON string */
} crafted_t;

static const crafted_t crafted[] = {
    {"*", "*"},
    {"a*", "a*"},
    {"%3F", "?"},
    {"%5Ba%5D", "[a]"},
    {"a:b", "a:b"},
    {"%7Bx%7D", "{x}"},
    {"..", ".."},
    {".", "."},
    {"a%00b", "a\\u0000b"},
    {"a%0D%0Ab", "a\\r\\nb"},
    {"a%2Fb", "a/b"},
    {"a%20b", "a b"},
    {"%C3%A9", "\\u00e9"},
    {"", ""},
};

static char *big_id(void) {
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    return s;
}

/* A refusal: a 4xx, and problem+json whenever our code (not libmicrohttpd)
 * answered. A 1 MB path is refused by libmicrohttpd (414) before it is read
 * whole, so the client may see the connection closed instead (status 0). */
static void assert_refused(const it_resp_t *r, const char *what, bool huge) {
    if (huge && r->status == 0)
        return;
    if (r->status < 400 || r->status > 499)
        fail_msg("%.80s: HTTP %ld, want a 4xx", what, r->status);
    char ct[64];
    if (r->status != 414 && r->status != 431 &&
        (!it_header(r, "Content-Type", ct, sizeof ct) ||
         strcmp(ct, "application/problem+json") != 0))
        fail_msg("%.80s: HTTP %ld without problem+json", what, r->status);
}

static void send_crafted(const char *pid, const char *jid) {
    bool huge = strlen(pid) > 65536;
    static const char *const jpeg[] = {"Content-Type: image/jpeg", NULL};
    static const struct {
        const char *method, *fmt;
        bool frame;
    } routes[] = {
        {"GET", "/clients/%s", false},
        {"DELETE", "/clients/%s", false},
        {"POST", "/clients/%s/heartbeat", false},
        {"PUT", "/clients/%s/image", true},
        {"GET", "/clients/%s/image", false},
        {"GET", "/online-users/%s", false},
        {"PUT", "/online-users/%s", false},
        {"DELETE", "/online-users/%s", false},
        {"GET", "/clients?cursor=%s", false},
        {"GET", "/online-users?cursor=%s", false},
    };
    size_t cap = strlen(pid) + 64;
    char *path = malloc(cap);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        snprintf(path, cap, routes[i].fmt, pid);
        if (!*pid && strchr(routes[i].fmt, '?'))
            continue; /* "?cursor=" is the first page: a valid request */
        it_resp_t r = routes[i].frame
                          ? it_http(&it_fx.svc, routes[i].method, path, jpeg, "\xff\xd8\xff\xe0", 4)
                          : it_http(&it_fx.svc, routes[i].method, path, NULL, NULL, 0);
        assert_refused(&r, path, huge);
        it_resp_free(&r);
    }
    free(path);
    cap = strlen(jid) + 64;
    char *body = malloc(cap);
    snprintf(body, cap, "{\"id\":\"%s\"}", jid);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", body);
    assert_refused(&r, "POST /clients with a crafted id", false);
    it_resp_free(&r);
    snprintf(body, cap, "{\"device_id\":\"%s\"}", jid);
    r = it_json_req(&it_fx.svc, "PUT", "/online-users/valid-user", body);
    assert_refused(&r, "PUT /online-users with a crafted device_id", false);
    it_resp_free(&r);
    free(body);
}

static void crafted_ids_never_reach_redis(void **state) {
    (void)state;
    static monitor_t all[MONITORS]; /* static: a thread may outlive a failed assertion */
    monitor_t *m = all;
    pthread_t t[MONITORS];
    int n = monitor_start(all, t);
    for (size_t i = 0; i < sizeof crafted / sizeof crafted[0]; i++)
        send_crafted(crafted[i].path_form, crafted[i].json_form);
    char *big = big_id();
    send_crafted(big, big);
    free(big);
    /* the control: one valid request, which MONITOR must see */
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/control-id", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    monitor_stop(all, t, n);

    assert_non_null(m->log);
    assert_non_null(strstr(m->log, "control-id"));
    for (char *line = m->log, *eol; line && *line; line = eol ? eol + 1 : NULL) {
        eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        /* no request's doing: a cluster's map is read again now and then,
         * and the event pump reads the event streams (fixed names) all the
         * time, one XREAD BLOCK after another */
        bool background = strstr(line, "\"CLUSTER\" \"SLOTS\"") != NULL ||
                          ((strstr(line, "\"XREAD\" ") || strstr(line, "\"XREVRANGE\" ")) &&
                           strstr(line, "events:{"));
        if (!background && !strstr(line, "control-id"))
            fail_msg("Redis saw a command for a refused request: %.300s", line);
    }
    free(m->log);
}

/* ---- the Redis password ---- */

static bool file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Requests every endpoint in every way that answers, and checks that no
 * response shows the secret. */
static void hit_everything(const it_service_t *s, const char *secret) {
    static const char *const jpeg[] = {"Content-Type: image/jpeg", NULL};
    static const struct {
        const char *method, *path, *json;
    } reqs[] = {
        {"GET", "/livez", NULL},
        {"GET", "/readyz", NULL},
        {"GET", "/readyz?verbose", NULL},
        {"GET", "/health", NULL},
        {"GET", "/redis/health", NULL},
        {"GET", "/redis/stats", NULL},
        {"GET", "/openapi.yaml", NULL},
        {"POST", "/clients", "{\"id\":\"cam\"}"},
        {"POST", "/clients", "{bad"},
        {"GET", "/clients", NULL},
        {"GET", "/clients/cam", NULL},
        {"GET", "/clients/nobody", NULL},
        {"GET", "/clients/cam/image", NULL},
        {"PUT", "/online-users/u", "{}"},
        {"GET", "/online-users", NULL},
        {"GET", "/online-users/u", NULL},
        {"GET", "/nope", NULL},
        {"PATCH", "/clients/cam", NULL},
        {"DELETE", "/clients/cam", NULL},
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        it_resp_t r = reqs[i].json ? it_json_req(s, reqs[i].method, reqs[i].path, reqs[i].json)
                                   : it_http(s, reqs[i].method, reqs[i].path, NULL, NULL, 0);
        assert_true(r.status > 0);
        if (strstr(r.headers, secret) ||
            (r.body && memmem(r.body, r.body_len, secret, strlen(secret))))
            fail_msg("%s %s shows the Redis password", reqs[i].method, reqs[i].path);
        it_resp_free(&r);
    }
    it_resp_t r = it_http(s, "PUT", "/clients/cam/image", jpeg, "\xff\xd8\xff\xe0", 4);
    assert_null(strstr(r.headers, secret));
    assert_null(strstr(r.body, secret));
    it_resp_free(&r);
}

static void redis_password_never_shows(void **state) {
    (void)state;
    /* a password with characters a URL must escape: '%' and '@' */
    static const char *const args[] = {"--requirepass", "Pw@s3cr3t%x", NULL};
    it_redis_t redis;
    assert_true(it_redis_start_with(&redis, args));
    /* the harness authenticates with the password of args */
    redisReply *rep = it_redis_cmd(&redis, "ACL SETUSER rtuser on >UsrS3cr3tPw ~* &* +@all");
    assert_int_equal(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);

    char urls[3][160];
    snprintf(urls[0], sizeof urls[0], "redis://:Pw%%40s3cr3t%%25x@127.0.0.1:%d/0", redis.port);
    snprintf(urls[1], sizeof urls[1], "redis://rtuser:UsrS3cr3tPw@127.0.0.1:%d/%d", redis.port,
             it_redis_select(&redis, 1));
    snprintf(urls[2], sizeof urls[2], "redis://:Wrong-s3cr3t@127.0.0.1:%d/0", redis.port);
    for (int i = 0; i < 3; i++) {
        it_service_t svc;
        assert_true(it_service_start(&svc, urls[i], env));
        it_resp_t r = it_http(&svc, "GET", "/readyz", NULL, NULL, 0);
        assert_int_equal(r.status, i < 2 ? 200 : 503); /* the right password works */
        it_resp_free(&r);
        hit_everything(&svc, "s3cr3t");
        hit_everything(&svc, "S3cr3t");
        char log[sizeof svc.log];
        memcpy(log, svc.log, sizeof log);
        assert_int_equal(it_service_stop(&svc), 0);
        assert_true(file_contains(log, "***@")); /* the URL is logged, redacted */
        assert_false(file_contains(log, "s3cr3t"));
        assert_false(file_contains(log, "S3cr3t"));
        assert_false(file_contains(log, "%25x"));
        unlink(log);
    }
    it_redis_stop(&redis);
}

/* ---- headers on every kind of response ---- */

/* Sends the NUL-terminated request on a new connection and reads the answer
 * (up to cap - 1 bytes) until the server closes it or 2 s pass. */
static void raw_exchange(int port, const char *request, char *out, size_t cap) {
    it_raw_exchange(port, request, strlen(request), out, cap, 2000);
}

static void assert_safe_headers(const it_resp_t *r, const char *what) {
    char v[128];
    if (!it_header(r, "X-Content-Type-Options", v, sizeof v) || strcmp(v, "nosniff") != 0)
        fail_msg("%s (HTTP %ld): no X-Content-Type-Options: nosniff", what, r->status);
    if (it_header(r, "Server", v, sizeof v))
        fail_msg("%s (HTTP %ld): Server: %s", what, r->status, v);
    if (strcasestr(r->headers, "microhttpd"))
        fail_msg("%s (HTTP %ld) names the HTTP library", what, r->status);
}

static it_resp_t req(const char *method, const char *path, const char *header, const void *body,
                     size_t len) {
    const char *h[] = {header, NULL};
    return it_http(&it_fx.svc, method, path, header ? h : NULL, body, len);
}

static void every_response_is_nosniff_without_banner(void **state) {
    (void)state;
    static const char jpeg[] = "\xff\xd8\xff\xe0 frame";
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam\"}");
    assert_int_equal(r.status, 201);
    assert_safe_headers(&r, "201 created");
    it_resp_free(&r);
    r = req("PUT", "/clients/cam/image", "Content-Type: image/jpeg", jpeg, sizeof jpeg - 1);
    assert_int_equal(r.status, 200);
    assert_safe_headers(&r, "frame stored");
    char etag[64], inm[96];
    assert_true(it_header(&r, "ETag", etag, sizeof etag));
    it_resp_free(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);

    static const struct {
        const char *method, *path, *header, *what;
        long status;
    } cases[] = {
        {"GET", "/livez", NULL, "shared static response", 200},
        {"GET", "/openapi.yaml", NULL, "the spec", 200},
        {"GET", "/readyz", NULL, "text probe", 200},
        {"GET", "/health", NULL, "health+json", 200},
        {"GET", "/clients", NULL, "JSON list", 200},
        {"HEAD", "/clients/cam", NULL, "HEAD", 200},
        {"GET", "/clients/cam/image", NULL, "raw frame", 200},
        {"GET", "/clients/cam/image", "Accept: application/json", "JSON frame", 200},
        {"GET", "/clients/cam/image", "Accept: text/html", "406", 406},
        {"POST", "/clients/cam/heartbeat", NULL, "204", 204},
        {"OPTIONS", "/clients/cam", NULL, "OPTIONS", 204},
        {"GET", "/clients/*", NULL, "400", 400},
        {"GET", "/clients/nobody", NULL, "404", 404},
        {"GET", "/nowhere", NULL, "unknown path", 404},
        {"PATCH", "/clients/cam", NULL, "405", 405},
        {"PUT", "/clients/cam/image", "Content-Type: text/plain", "415", 415},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = req(cases[i].method, cases[i].path, cases[i].header, NULL, 0);
        assert_int_equal(r.status, cases[i].status);
        assert_safe_headers(&r, cases[i].what);
        it_resp_free(&r);
    }
    r = req("GET", "/clients/cam/image", inm, NULL, 0);
    assert_int_equal(r.status, 304);
    assert_safe_headers(&r, "304");
    it_resp_free(&r);
    char *big = calloc(1, 5 << 20);
    memcpy(big, "{\"id\":\"", 7);
    r = req("POST", "/clients", "Content-Type: application/json", big, 5 << 20);
    assert_int_equal(r.status, 413);
    assert_safe_headers(&r, "413");
    it_resp_free(&r);
    free(big);
    r = req("DELETE", "/clients/cam", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    assert_safe_headers(&r, "204 deleted");
    it_resp_free(&r);

    /* 503: the same service's view of a Redis that is gone */
    it_redis_kill(&it_fx.redis);
    r = req("GET", "/clients/cam", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_safe_headers(&r, "503");
    it_resp_free(&r);
    r = req("GET", "/readyz", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_safe_headers(&r, "503 probe");
    it_resp_free(&r);
    assert_true(it_redis_restart(&it_fx.redis));

    /* libmicrohttpd's own answer to a request it cannot parse: no banner either */
    char *head = malloc(70000);
    int n = snprintf(head, 70000, "GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(head + n, 'a', 65536);
    memcpy(head + n + 65536, "\r\n\r\n", 5);
    char answer[4096];
    raw_exchange(it_fx.svc.port, head, answer, sizeof answer);
    free(head);
    assert_memory_equal(answer, "HTTP/1.1 431 ", 13);
    assert_null(strcasestr(answer, "\r\nServer:"));
    assert_null(strcasestr(answer, "microhttpd"));
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(crafted_ids_never_reach_redis, it_flush),
        cmocka_unit_test(redis_password_never_shows),
        cmocka_unit_test_setup(every_response_is_nosniff_without_banner, it_flush),
    };
    return cmocka_run_group_tests_name("integration: security", tests, it_group_setup,
                                       it_group_teardown);
}
