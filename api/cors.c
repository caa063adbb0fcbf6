/* CORS; see cors.h. */
#include "cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static char *origins; /* ",a,b," for whole-word matching, or "*" */

void api_cors_init(const char *list) {
    free(origins);
    origins = NULL;
    if (!list || !*list)
        return;
    if (strcmp(list, "*") == 0) {
        origins = strdup("*");
        return;
    }
    size_t n = strlen(list);
    origins = malloc(n + 3);
    if (!origins)
        return;
    size_t o = 0;
    origins[o++] = ',';
    for (size_t i = 0; i < n; i++)
        if (list[i] != ' ')
            origins[o++] = list[i];
    origins[o++] = ',';
    origins[o] = '\0';
}

/* The value for Access-Control-Allow-Origin, or NULL when not allowed. */
static const char *allowed(const char *origin) {
    if (!origins || !origin || !*origin || strchr(origin, ','))
        return NULL;
    if (strcmp(origins, "*") == 0)
        return "*";
    char needle[512];
    snprintf(needle, sizeof needle, ",%s,", origin);
    return strstr(origins, needle) ? origin : NULL;
}

bool api_cors_preflight(api_req_t *r) {
    if (r->method != API_OPTIONS || !api_header(r, "Access-Control-Request-Method"))
        return false;
    api_reply_empty(r, 204);
    const char *allow = allowed(api_header(r, "Origin"));
    api_reply_header(r, MHD_HTTP_HEADER_VARY, "Origin");
    if (!allow)
        return true;
    char methods[96];
    api_methods_format(r->allowed, methods, sizeof methods);
    api_reply_header(r, "Access-Control-Allow-Origin", allow);
    api_reply_header(r, "Access-Control-Allow-Methods", methods);
    api_reply_header(r, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, If-None-Match, X-Request-Id");
    api_reply_header(r, "Access-Control-Max-Age", "600");
    return true;
}

void api_cors_decorate(api_req_t *r) {
    const char *allow = allowed(api_header(r, "Origin"));
    if (!allow || !r->resp || r->resp_shared)
        return;
    api_reply_header(r, "Access-Control-Allow-Origin", allow);
    api_reply_header(r, "Access-Control-Expose-Headers",
                     "ETag, Location, Retry-After, X-Frame-Number, X-Request-Id");
    api_reply_header(r, MHD_HTTP_HEADER_VARY, "Origin");
}
