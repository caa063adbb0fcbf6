/* Unit tests for api/http/router.c: matching, params, 404 vs 405, Allow masks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/http/router.h"

/* Handlers are never called: the router only hands back the route. */
static void h_root(api_req_t *r) { (void)r; }
static void h_health(api_req_t *r) { (void)r; }
static void h_list(api_req_t *r) { (void)r; }
static void h_create(api_req_t *r) { (void)r; }
static void h_get(api_req_t *r) { (void)r; }
static void h_delete(api_req_t *r) { (void)r; }
static void h_heartbeat(api_req_t *r) { (void)r; }
static void h_image_put(api_req_t *r) { (void)r; }
static void h_image_get(api_req_t *r) { (void)r; }
static void h_stats(api_req_t *r) { (void)r; }
static void h_pair(api_req_t *r) { (void)r; }
static void h_deep(api_req_t *r) { (void)r; }
static void h_options(api_req_t *r) { (void)r; }

static const api_route_t routes[] = {
    {API_GET, "/", h_root, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/health", h_health, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/clients", h_list, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/clients", h_create, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/clients/stats", h_stats, API_BODY_NONE,
     API_RUN_LOOP}, /* literal: wins for "stats" */
    {API_GET, "/clients/{id}", h_get, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/clients/{id}", h_delete, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/clients/{id}/heartbeat", h_heartbeat, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/clients/{id}/image", h_image_put, API_BODY_IMAGE, API_RUN_LOOP},
    {API_GET, "/clients/{id}/image", h_image_get, API_BODY_NONE, API_RUN_LOOP},
    {API_PATCH, "/rooms/{room}/members/{user}", h_pair, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/a/{p1}/{p2}/{p3}/{p4}/b/c/d", h_deep, API_BODY_NONE, API_RUN_LOOP},
    {API_OPTIONS, "/cors", h_options, API_BODY_NONE, API_RUN_LOOP},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Matches a copy of path (the router cuts it), keeping the copy for params. */
static char pathbuf[512];
static api_match_status_t match(api_method_t m, const char *path, api_match_t *out) {
    snprintf(pathbuf, sizeof pathbuf, "%s", path);
    return api_router_match(routes, NROUTES, m, pathbuf, out);
}

static void assert_found(api_method_t m, const char *path, api_handler_fn want, api_match_t *out) {
    api_match_status_t st = match(m, path, out);
    if (st != API_MATCH_FOUND)
        fail_msg("%d %s: expected FOUND, got %d", (int)m, path, (int)st);
    assert_non_null(out->route);
    assert_ptr_equal(out->route->handler, want);
}

static void assert_not_found(api_method_t m, const char *path) {
    api_match_t out;
    api_match_status_t st = match(m, path, &out);
    if (st != API_MATCH_NOT_FOUND)
        fail_msg("%d '%s': expected NOT_FOUND, got %d", (int)m, path, (int)st);
    assert_null(out.route);
    assert_int_equal(out.allowed, 0);
    assert_int_equal(out.nparams, 0);
}

static void method_parse(void **state) {
    (void)state;
    assert_int_equal(api_method_parse("GET"), API_GET);
    assert_int_equal(api_method_parse("HEAD"), API_HEAD);
    assert_int_equal(api_method_parse("POST"), API_POST);
    assert_int_equal(api_method_parse("PUT"), API_PUT);
    assert_int_equal(api_method_parse("DELETE"), API_DELETE);
    assert_int_equal(api_method_parse("PATCH"), API_PATCH);
    assert_int_equal(api_method_parse("OPTIONS"), API_OPTIONS);
    /* methods are case-sensitive (RFC 9110 section 9.1) */
    assert_int_equal(api_method_parse("get"), 0);
    assert_int_equal(api_method_parse("Get"), 0);
    assert_int_equal(api_method_parse(""), 0);
    assert_int_equal(api_method_parse("TRACE"), 0);
    assert_int_equal(api_method_parse("CONNECT"), 0);
    assert_int_equal(api_method_parse("GETS"), 0);
    assert_int_equal(api_method_parse("GET "), 0);
}

static void methods_format(void **state) {
    (void)state;
    char out[128];
    api_methods_format(0, out, sizeof out);
    assert_string_equal(out, "");
    api_methods_format(API_GET, out, sizeof out);
    assert_string_equal(out, "GET");
    api_methods_format(API_GET | API_HEAD | API_OPTIONS, out, sizeof out);
    assert_string_equal(out, "GET, HEAD, OPTIONS");
    /* the order is fixed, whatever order the bits are or-ed in */
    api_methods_format(API_OPTIONS | API_DELETE | API_GET | API_HEAD, out, sizeof out);
    assert_string_equal(out, "GET, HEAD, DELETE, OPTIONS");
    api_methods_format(API_GET | API_HEAD | API_POST | API_PUT | API_DELETE | API_PATCH |
                           API_OPTIONS,
                       out, sizeof out);
    assert_string_equal(out, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    api_methods_format(API_PUT, out, sizeof out);
    assert_string_equal(out, "PUT");
}

static void methods_format_small_buffer(void **state) {
    (void)state;
    char out[16];
    memset(out, '#', sizeof out);
    api_methods_format(API_GET | API_HEAD, out, 10); /* "GET, HEAD" + NUL is exactly 10 */
    assert_string_equal(out, "GET, HEAD");
    memset(out, '#', sizeof out);
    /* too small for POST: the names that fit, never a dangling ", " or half a name */
    api_methods_format(API_GET | API_HEAD | API_POST, out, 12);
    assert_string_equal(out, "GET, HEAD");
    assert_int_equal(out[12], '#'); /* nothing past cap */
    memset(out, '#', sizeof out);
    api_methods_format(API_DELETE, out, 4);
    assert_string_equal(out, "");
    assert_int_equal(out[4], '#');
}

static void static_routes(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_GET, "/", h_root, &m);
    assert_int_equal(m.nparams, 0);
    assert_found(API_GET, "/health", h_health, &m);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_OPTIONS);
    assert_found(API_GET, "/clients", h_list, &m);
    assert_found(API_POST, "/clients", h_create, &m);
    assert_int_equal(m.route->body, API_BODY_JSON);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_POST | API_OPTIONS);
}

static void params_point_into_the_path(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_GET, "/clients/cam-1", h_get, &m);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "cam-1");
    assert_true(m.params[0] >= pathbuf && m.params[0] < pathbuf + sizeof pathbuf);

    assert_found(API_PUT, "/clients/cam-1/image", h_image_put, &m);
    assert_int_equal(m.route->body, API_BODY_IMAGE);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "cam-1"); /* cut at the '/' */

    assert_found(API_PATCH, "/rooms/lobby/members/u42", h_pair, &m);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0], "lobby");
    assert_string_equal(m.params[1], "u42");
}

static void params_are_taken_as_they_are(void **state) {
    (void)state;
    /* validation is the handler's: the router takes any non-empty segment */
    api_match_t m;
    assert_found(API_GET, "/clients/a:b", h_get, &m);
    assert_string_equal(m.params[0], "a:b");
    assert_found(API_GET, "/clients/..", h_get, &m);
    assert_string_equal(m.params[0], "..");
    assert_found(API_GET, "/clients/{id}", h_get, &m);
    assert_string_equal(m.params[0], "{id}");
}

static void four_params_and_eight_segments(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_GET, "/a/1/2/3/4/b/c/d", h_deep, &m);
    assert_int_equal(m.nparams, API_MAX_PARAMS);
    assert_string_equal(m.params[0], "1");
    assert_string_equal(m.params[1], "2");
    assert_string_equal(m.params[2], "3");
    assert_string_equal(m.params[3], "4");
    /* a ninth segment is more than any route has */
    assert_not_found(API_GET, "/a/1/2/3/4/b/c/d/e");
}

static void literal_beats_later_param(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_GET, "/clients/stats", h_stats, &m);
    assert_int_equal(m.nparams, 0);
    /* the literal template is what the path names: no DELETE there, so 405,
     * not a delete of a client called "stats" */
    assert_int_equal(match(API_DELETE, "/clients/stats", &m), API_MATCH_BAD_METHOD);
    assert_null(m.route);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_OPTIONS);
    /* another id still reaches the {id} routes */
    assert_found(API_DELETE, "/clients/statz", h_delete, &m);
    assert_string_equal(m.params[0], "statz");
}

static void head_matches_get(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_HEAD, "/health", h_health, &m);
    assert_found(API_HEAD, "/clients/x/image", h_image_get, &m);
    assert_string_equal(m.params[0], "x");
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_PUT | API_OPTIONS);
    /* no GET, no HEAD */
    assert_int_equal(match(API_HEAD, "/clients/x/heartbeat", &m), API_MATCH_BAD_METHOD);
    assert_int_equal(m.allowed, API_POST | API_OPTIONS);
}

static void wrong_method_is_405_with_allowed(void **state) {
    (void)state;
    api_match_t m;
    assert_int_equal(match(API_DELETE, "/health", &m), API_MATCH_BAD_METHOD);
    assert_null(m.route);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_OPTIONS);

    assert_int_equal(match(API_PUT, "/clients/7", &m), API_MATCH_BAD_METHOD);
    assert_null(m.route);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_DELETE | API_OPTIONS);
    char allow[128];
    api_methods_format(m.allowed, allow, sizeof allow);
    assert_string_equal(allow, "GET, HEAD, DELETE, OPTIONS");

    assert_int_equal(match(API_GET, "/clients/7/heartbeat", &m), API_MATCH_BAD_METHOD);
    assert_int_equal(m.allowed, API_POST | API_OPTIONS);
    api_methods_format(m.allowed, allow, sizeof allow);
    assert_string_equal(allow, "POST, OPTIONS");
}

static void options_on_a_known_path(void **state) {
    (void)state;
    api_match_t m;
    /* no route handles OPTIONS here: the caller answers it from the allowed mask */
    assert_int_equal(match(API_OPTIONS, "/clients", &m), API_MATCH_BAD_METHOD);
    assert_null(m.route);
    assert_int_equal(m.allowed, API_GET | API_HEAD | API_POST | API_OPTIONS);
    /* a route that does handle OPTIONS is found; OPTIONS alone adds no GET or HEAD */
    assert_found(API_OPTIONS, "/cors", h_options, &m);
    assert_int_equal(m.allowed, API_OPTIONS);
    assert_int_equal(match(API_GET, "/cors", &m), API_MATCH_BAD_METHOD);
    assert_int_equal(m.allowed, API_OPTIONS);
}

static void unknown_paths_are_404(void **state) {
    (void)state;
    assert_not_found(API_GET, "/nope");
    assert_not_found(API_GET, "/healthz");
    assert_not_found(API_GET, "/heal");
    assert_not_found(API_GET, "/Health");
    assert_not_found(API_GET, "/clients/x/y");
    assert_not_found(API_GET, "/clients/x/image/extra");
    assert_not_found(API_GET, "/rooms/lobby/members");
    /* an unknown path is 404 whatever the method */
    assert_not_found(API_DELETE, "/nope");
    assert_not_found(API_OPTIONS, "/nope");
    assert_not_found(API_HEAD, "/nope");
    assert_not_found((api_method_t)0, "/nope");
}

static void trailing_slash_and_empty_segments_are_404(void **state) {
    (void)state;
    assert_not_found(API_GET, "/health/");
    assert_not_found(API_GET, "/clients/");
    assert_not_found(API_POST, "/clients/");
    assert_not_found(API_GET, "/clients/x/");
    assert_not_found(API_GET, "//");
    assert_not_found(API_GET, "//health");
    assert_not_found(API_GET, "/clients//image");
    assert_not_found(API_GET, "/clients//");
    assert_not_found(API_GET, "/clients/x//image");
}

static void relative_and_empty_paths_are_404(void **state) {
    (void)state;
    assert_not_found(API_GET, "");
    assert_not_found(API_GET, "health");
    assert_not_found(API_GET, "*");
    assert_not_found(API_GET, "http://host/health");
}

static void too_many_segments_are_404(void **state) {
    (void)state;
    assert_not_found(API_GET, "/a/b/c/d/e/f/g/h/i");
    assert_not_found(API_GET, "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20");
}

static void empty_table(void **state) {
    (void)state;
    char path[] = "/health";
    api_match_t m;
    assert_int_equal(api_router_match(routes, 0, API_GET, path, &m), API_MATCH_NOT_FOUND);
    assert_null(m.route);
    assert_int_equal(m.allowed, 0);
}

static void match_resets_out(void **state) {
    (void)state;
    api_match_t m;
    assert_found(API_PATCH, "/rooms/r/members/u", h_pair, &m);
    assert_int_equal(m.nparams, 2);
    assert_int_equal(match(API_GET, "/health", &m), API_MATCH_FOUND);
    assert_int_equal(m.nparams, 0);
    assert_null(m.params[0]);
    assert_null(m.params[1]);
    assert_int_equal(match(API_GET, "/nope", &m), API_MATCH_NOT_FOUND);
    assert_null(m.route);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(method_parse),
        cmocka_unit_test(methods_format),
        cmocka_unit_test(methods_format_small_buffer),
        cmocka_unit_test(static_routes),
        cmocka_unit_test(params_point_into_the_path),
        cmocka_unit_test(params_are_taken_as_they_are),
        cmocka_unit_test(four_params_and_eight_segments),
        cmocka_unit_test(literal_beats_later_param),
        cmocka_unit_test(head_matches_get),
        cmocka_unit_test(wrong_method_is_405_with_allowed),
        cmocka_unit_test(options_on_a_known_path),
        cmocka_unit_test(unknown_paths_are_404),
        cmocka_unit_test(trailing_slash_and_empty_segments_are_404),
        cmocka_unit_test(relative_and_empty_paths_are_404),
        cmocka_unit_test(too_many_segments_are_404),
        cmocka_unit_test(empty_table),
        cmocka_unit_test(match_resets_out),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
