/*
 * The router: matches a method and a decoded path against a table of route
 * templates ("/clients/{id}/image"). Pure: no HTTP library, no allocation;
 * params point into the caller's path buffer, which matching cuts at '/'.
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <stddef.h>

#define API_MAX_PARAMS 4
#define API_MAX_SEGMENTS 8

typedef enum {
    API_GET = 1,
    API_HEAD = 2,
    API_POST = 4,
    API_PUT = 8,
    API_DELETE = 16,
    API_PATCH = 32,
    API_OPTIONS = 64,
} api_method_t;

/* What a route reads from the request body, which decides its size limit. */
typedef enum { API_BODY_NONE, API_BODY_JSON, API_BODY_IMAGE, API_BODY_BATCH } api_body_t;

/* Where a route's handler runs: on the event loop that read the request (it
 * may wait for Redis, which parks it without holding the thread), or on the
 * blocking pool (it calls MongoDB, or something else that blocks). */
typedef enum { API_RUN_LOOP = 0, API_RUN_BLOCKING } api_run_t;

typedef struct api_req api_req_t;
typedef void (*api_handler_fn)(api_req_t *req);

typedef struct {
    api_method_t method;
    const char *pattern; /* "/clients/{id}": a {name} segment matches any non-empty segment */
    api_handler_fn handler;
    api_body_t body;
    api_run_t run; /* API_RUN_LOOP unless given */
} api_route_t;

typedef enum { API_MATCH_FOUND, API_MATCH_NOT_FOUND, API_MATCH_BAD_METHOD } api_match_status_t;

typedef struct {
    const api_route_t *route;      /* the route, when FOUND */
    const api_route_t *path_route; /* the first route of this path, any method (for labels) */
    const char *params[API_MAX_PARAMS];
    int nparams;
    unsigned allowed; /* methods the path has, when BAD_METHOD (or FOUND) */
} api_match_t;

/* Parses "GET", "POST", ... into an api_method_t; 0 for anything else. */
api_method_t api_method_parse(const char *s);

/* Writes "GET, HEAD, POST" for a mask of methods into out. */
void api_methods_format(unsigned mask, char *out, size_t cap);

/* Matches method and path (modified: '/' become NULs) against n routes.
 * HEAD matches GET routes. */
api_match_status_t api_router_match(const api_route_t *routes, size_t n, api_method_t method,
                                    char *path, api_match_t *out);

#endif
