/*
 * libFuzzer: the router (api/http/router.c) on any method and any path.
 *
 * Proves that for every input api_router_match neither crashes nor reads out
 * of bounds, and that what it answers is coherent: a FOUND route has the
 * requested method (GET for HEAD) and a template that matches the path
 * segment by segment, every parameter is a non-empty segment without a '/',
 * and the Allow mask always names the methods a 405 will list. The table has
 * the shapes the service uses: literals, one and two parameters, deep paths.
 *
 * Input: the first byte picks the method, the rest is the path.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/http/router.h"

static void none(api_req_t *r) { (void)r; }

static const api_route_t routes[] = {
    {API_GET, "/livez", none, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/redis/health", none, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/clients", none, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/clients", none, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/clients/{id}", none, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/clients/{id}", none, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/clients/{id}/heartbeat", none, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/clients/{id}/image", none, API_BODY_IMAGE, API_RUN_LOOP},
    {API_GET, "/clients/{id}/image", none, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/online-users/{userId}", none, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/rooms/{room}/members/{user}", none, API_BODY_NONE, API_RUN_LOOP},
    {API_PATCH, "/a/b/c/d/e/f/g/{h}", none, API_BODY_NONE, API_RUN_LOOP},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static const char *const methods[] = {"GET",   "HEAD",    "POST",  "PUT", "DELETE",
                                      "PATCH", "OPTIONS", "TRACE", "get", ""};

/* Segment i of path ("/a/b": 0 is "a"), copied into out; false past the end. */
static int segment(const char *path, int i, char *out, size_t cap) {
    const char *p = path;
    for (int k = 0; k <= i; k++) {
        if (*p != '/')
            return 0;
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (k == i) {
            if (len >= cap)
                return 0;
            memcpy(out, p, len);
            out[len] = '\0';
            return 1;
        }
        p += len;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const char *mname = methods[data[0] % (sizeof methods / sizeof methods[0])];
    api_method_t m = api_method_parse(mname);
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    char *orig = strdup(path);

    api_match_t out;
    api_match_status_t st = api_router_match(routes, NROUTES, m, path, &out);
    assert(out.nparams >= 0 && out.nparams <= API_MAX_PARAMS);
    if (st == API_MATCH_FOUND) {
        assert(out.route);
        api_method_t want = m == API_HEAD ? API_GET : m;
        assert(out.route->method == want);
        assert(out.allowed & (unsigned)want);
        /* every template segment is the path's segment, or a parameter that is */
        char tseg[4096], pseg[4096];
        int p = 0;
        for (int i = 0; segment(out.route->pattern, i, tseg, sizeof tseg); i++) {
            assert(segment(orig, i, pseg, sizeof pseg));
            const char *want = tseg[0] == '{' ? out.params[p++] : tseg;
            assert(strcmp(want, pseg) == 0);
        }
        assert(p == out.nparams);
        for (int i = 0; i < out.nparams; i++)
            assert(out.params[i][0] != '\0' && !strchr(out.params[i], '/'));
    } else if (st == API_MATCH_BAD_METHOD) {
        assert(!out.route && out.allowed != 0 && (out.allowed & API_OPTIONS));
    } else {
        assert(st == API_MATCH_NOT_FOUND && !out.route && out.allowed == 0);
    }
    char allow[96];
    api_methods_format(out.allowed, allow, sizeof allow);
    assert(strlen(allow) < sizeof allow);
    if (out.allowed & API_GET)
        assert(strstr(allow, "GET") && strstr(allow, "HEAD"));
    /* a tiny buffer keeps whole names or nothing */
    char small[8];
    api_methods_format((unsigned)data[0] | ((unsigned)data[0] << 3), small, sizeof small);
    assert(strlen(small) < sizeof small);
    free(orig);
    free(path);
    return 0;
}
