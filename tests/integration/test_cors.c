/* CORS as a browser reads it: every CORS header counted on every kind of
 * reply (preflight, success, problem, 204, 304, the early 401/404/405/413/414
 * and the responses built once and reused), for CORS_ORIGINS set to a list,
 * to "*", and unset; each from an allowed origin, another origin, and none.
 * A browser refuses a reply whose Access-Control-Allow-Origin comes twice
 * ("contains multiple values"), and a reply without one cannot be read at
 * all: reading only the first header, or only some replies, misses both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "harness.h"

#define DASH "https://dash.example"
#define TOKEN "cors-test-token"

static const char *const list_env[] = {"CORS_ORIGINS=https://ops.example, " DASH,
                                       "API_TOKEN=" TOKEN, "MAX_BODY_BYTES=1024", NULL};

typedef enum { CORS_LIST, CORS_ANY, CORS_OFF } cors_mode_t;
typedef enum { FROM_DASH, FROM_ELSEWHERE, FROM_NOWHERE } origin_t;

/* One kind of reply: the request that gets it, and what it is. */
typedef struct {
    const char *what;
    const char *method;
    const char *path;
    const char *headers[4]; /* besides Origin and Authorization */
    const char *body;       /* "%d" is a fresh number */
    long status;
    bool preflight;
    bool no_token;
    const char *vary; /* the reply's own Vary, or NULL */
} kind_t;

static char etag[128]; /* of client cam's frame */
static char big[2048]; /* over MAX_BODY_BYTES */
static char many_args[1024];

#define JSON "Content-Type: application/json"
static const kind_t kinds[] = {
    {.what = "preflight",
     .method = "OPTIONS",
     .path = "/clients",
     .status = 204,
     .headers = {"Access-Control-Request-Method: POST",
                 "Access-Control-Request-Headers: authorization, content-type"},
     .preflight = true},
    {.what = "preflight of a frame upload",
     .method = "OPTIONS",
     .path = "/clients/cam/image",
     .headers = {"Access-Control-Request-Method: PUT"},
     .status = 204,
     .preflight = true},
    {.what = "plain OPTIONS", .method = "OPTIONS", .path = "/clients", .status = 204},
    {.what = "201",
     .method = "POST",
     .path = "/clients",
     .headers = {JSON},
     .body = "{\"id\":\"c%d\"}",
     .status = 201},
    {.what = "200", .method = "GET", .path = "/clients/cam", .status = 200},
    {.what = "204", .method = "POST", .path = "/clients/cam/heartbeat", .status = 204},
    {.what = "400 problem",
     .method = "POST",
     .path = "/clients",
     .headers = {JSON},
     .body = "{",
     .status = 400},
    {.what = "early 401",
     .method = "POST",
     .path = "/clients",
     .headers = {JSON},
     .body = "{}",
     .status = 401,
     .no_token = true},
    {.what = "early 404", .method = "GET", .path = "/nope", .status = 404},
    {.what = "early 405", .method = "PATCH", .path = "/clients/cam", .status = 405},
    {.what = "early 413",
     .method = "POST",
     .path = "/clients",
     .headers = {JSON},
     .body = big,
     .status = 413},
    {.what = "early 414", .method = "GET", .path = many_args, .status = 414},
    {.what = "frame",
     .method = "GET",
     .path = "/clients/cam/image",
     .headers = {"Accept: image/png"},
     .status = 200,
     .vary = "Accept"},
    {.what = "frame 304",
     .method = "GET",
     .path = "/clients/cam/image",
     .headers = {"Accept: image/png", etag},
     .status = 304,
     .vary = "Accept"},
    {.what = "shared /livez", .method = "GET", .path = "/livez", .status = 200},
    {.what = "shared /livez, HEAD", .method = "HEAD", .path = "/livez", .status = 200},
    {.what = "shared /openapi.yaml", .method = "GET", .path = "/openapi.yaml", .status = 200},
    {.what = "shared dashboard", .method = "GET", .path = "/", .status = 200},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* How many items of the comma list value are token. */
static int count_token(const char *value, const char *token) {
    int count = 0;
    size_t n = strlen(token);
    for (const char *p = value; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        count += len == n && strncasecmp(p, token, n) == 0;
        p += strcspn(p, ",");
    }
    return count;
}

static it_resp_t request(const it_service_t *s, const kind_t *k, origin_t from) {
    static int fresh;
    const char *h[8];
    int n = 0;
    for (int i = 0; i < 4 && k->headers[i]; i++)
        h[n++] = k->headers[i];
    if (from == FROM_DASH)
        h[n++] = "Origin: " DASH;
    else if (from == FROM_ELSEWHERE)
        h[n++] = "Origin: https://evil.example";
    if (!k->no_token && !k->preflight)
        h[n++] = "Authorization: Bearer " TOKEN;
    h[n] = NULL;
    char body[2100];
    snprintf(body, sizeof body, k->body ? k->body : "", ++fresh);
    return it_http(s, k->method, k->path, h, k->body ? body : NULL, k->body ? strlen(body) : 0);
}

/* Asserts that each CORS header appears exactly as often as it must. */
static void check(const it_service_t *s, cors_mode_t mode, const kind_t *k, origin_t from) {
    static const char *const names[] = {"origin https://dash.example", "another origin",
                                        "no Origin"};
    static const char *const modes[] = {"a list", "*", "unset"};
    it_resp_t r = request(s, k, from);
    char v[512];
    if (r.status != k->status)
        fail_msg("%s from %s, CORS_ORIGINS %s: status %ld, not %ld", k->what, names[from],
                 modes[mode], r.status, k->status);
    bool allowed = mode == CORS_ANY || (mode == CORS_LIST && from == FROM_DASH);
    bool preflight = k->preflight && from != FROM_NOWHERE;
    struct {
        const char *name;
        int want;
    } expect[] = {
        {"Access-Control-Allow-Origin", allowed},
        {"Access-Control-Allow-Methods", allowed && preflight},
        {"Access-Control-Allow-Headers", allowed && preflight},
        {"Access-Control-Max-Age", allowed && preflight},
        {"Access-Control-Expose-Headers", allowed && !preflight},
        {"Vary", mode == CORS_LIST || k->vary},
        {"Allow", strcmp(k->method, "OPTIONS") == 0 || k->status == 405},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        int got = it_header_count(&r, expect[i].name);
        if (got != expect[i].want)
            fail_msg("%s from %s, CORS_ORIGINS %s: %d %s headers, not %d:\n%s", k->what,
                     names[from], modes[mode], got, expect[i].name, expect[i].want, r.headers);
    }
    if (allowed) {
        it_header(&r, "Access-Control-Allow-Origin", v, sizeof v);
        assert_string_equal(v, mode == CORS_ANY ? "*" : DASH);
    }
    if (it_header(&r, "Vary", v, sizeof v)) {
        /* one Vary, naming Origin once when the answer depends on it */
        assert_int_equal(count_token(v, "Origin"), mode == CORS_LIST);
        if (k->vary)
            assert_int_equal(count_token(v, k->vary), 1);
    }
    if (allowed && preflight) {
        it_header(&r, "Access-Control-Allow-Methods", v, sizeof v);
        assert_int_equal(count_token(v, k->headers[0] + strlen("Access-Control-Request-Method: ")),
                         1);
        it_header(&r, "Access-Control-Allow-Headers", v, sizeof v);
        assert_int_equal(count_token(v, "Authorization"), 1);
        assert_int_equal(count_token(v, "Content-Type"), 1);
        assert_int_equal(count_token(v, "Idempotency-Key"), 1); /* the retry-safe POSTs */
    }
    it_resp_free(&r);
}

static void check_all(const it_service_t *s, cors_mode_t mode) {
    for (int from = FROM_DASH; from <= FROM_NOWHERE; from++)
        for (size_t i = 0; i < NKINDS; i++)
            check(s, mode, &kinds[i], (origin_t)from);
}

/* Client cam with a frame, whose ETag makes the 304. */
static void prepare(const it_service_t *s) {
    const char *h[] = {"Authorization: Bearer " TOKEN, "Content-Type: application/json", NULL};
    it_resp_t r = it_http(s, "POST", "/clients", h, "{\"id\":\"cam\"}", 12);
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    const char *png[] = {"Authorization: Bearer " TOKEN, "Content-Type: image/png", NULL};
    r = it_http(s, "PUT", "/clients/cam/image", png, "\x89PNG\r\n\x1a\n1234", 12);
    assert_int_equal(r.status, 200);
    char tag[96];
    assert_true(it_header(&r, "ETag", tag, sizeof tag));
    snprintf(etag, sizeof etag, "If-None-Match: %s", tag);
    it_resp_free(&r);
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "{\"id\":\"x\"}", 10);
    /* 100 query arguments: over the 64 a request may carry */
    int n = snprintf(many_args, sizeof many_args, "/clients?a=1");
    for (int i = 0; i < 99; i++)
        n += snprintf(many_args + n, sizeof many_args - (size_t)n, "&a=1");
}

static void with_a_list_of_origins(void **state) {
    (void)state;
    prepare(&it_fx.svc);
    check_all(&it_fx.svc, CORS_LIST);
}

static void with_any_origin(void **state) {
    (void)state;
    const char *env[] = {"CORS_ORIGINS=*", "API_TOKEN=" TOKEN, "MAX_BODY_BYTES=1024", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    prepare(&s);
    check_all(&s, CORS_ANY);
    assert_int_equal(it_service_stop(&s), 0);
}

static void without_cors(void **state) {
    (void)state;
    const char *env[] = {"API_TOKEN=" TOKEN, "MAX_BODY_BYTES=1024", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    prepare(&s);
    check_all(&s, CORS_OFF);
    assert_int_equal(it_service_stop(&s), 0);
}

int main(void) {
    it_fixture_env = list_env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(with_a_list_of_origins, it_flush),
        cmocka_unit_test_setup(with_any_origin, it_flush),
        cmocka_unit_test_setup(without_cors, it_flush),
    };
    return cmocka_run_group_tests_name("integration: cors", tests, it_group_setup,
                                       it_group_teardown);
}
