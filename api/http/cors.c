/* CORS; see cors.h. */
#include "cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router.h"

static char *origins; /* ",a,b," for whole-word matching, or "*" */
static bool any;      /* "*" */

void api_cors_init(const char *list) {
    free(origins);
    origins = NULL;
    any = false;
    if (!list || !*list)
        return;
    if (strcmp(list, "*") == 0) {
        any = true;
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

bool api_cors_enabled(void) { return any || origins; }

/* The value for Access-Control-Allow-Origin, or NULL when not allowed. */
static const char *allowed(const char *origin) {
    if (any)
        return "*";
    if (!origins || !origin || !*origin || strchr(origin, ','))
        return NULL;
    char needle[512];
    snprintf(needle, sizeof needle, ",%s,", origin);
    return strstr(origins, needle) ? origin : NULL;
}

/* True when the comma list value names token (case-insensitive). */
static bool has_token(const char *value, const char *token) {
    size_t n = strlen(token);
    for (const char *p = value; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && strncasecmp(p, token, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

/* Makes the reply's Vary one header naming Origin: a Vary set by the handler
 * ("Accept" on frames) becomes "Accept, Origin", never a second Vary. */
static void vary_origin(struct MHD_Response *resp) {
    char merged[256] = "";
    const char *v;
    while ((v = MHD_get_response_header(resp, MHD_HTTP_HEADER_VARY)) != NULL) {
        size_t used = strlen(merged);
        if (!has_token(merged, v))
            snprintf(merged + used, sizeof merged - used, "%s%s", used ? ", " : "", v);
        char gone[256];
        snprintf(gone, sizeof gone, "%s", v); /* v dies with its header */
        if (MHD_del_response_header(resp, MHD_HTTP_HEADER_VARY, gone) != MHD_YES)
            break;
    }
    if (!has_token(merged, "Origin")) {
        size_t used = strlen(merged);
        snprintf(merged + used, sizeof merged - used, "%sOrigin", used ? ", " : "");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, merged);
}

void api_cors_decorate(api_req_t *r) {
    if (!api_cors_enabled() || !r->resp || r->resp_shared)
        return;
    const char *origin = api_header(r, "Origin");
    if (!any)
        vary_origin(r->resp); /* the answer depends on Origin, even without one */
    const char *allow = allowed(origin);
    if (!allow)
        return;
    api_reply_header(r, "Access-Control-Allow-Origin", allow);
    bool preflight = r->method == API_OPTIONS && origin &&
                     api_header(r, "Access-Control-Request-Method") != NULL;
    if (!preflight) {
        api_reply_header(r, "Access-Control-Expose-Headers",
                         "ETag, Idempotent-Replayed, Location, Retry-After, X-Frame-Number, "
                         "X-Request-Id");
        return;
    }
    char methods[96];
    api_methods_format(r->allowed, methods, sizeof methods);
    api_reply_header(r, "Access-Control-Allow-Methods", methods);
    api_reply_header(r, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Request-Id");
    api_reply_header(r, "Access-Control-Max-Age", "600");
}
