/*
 * One HTTP request as a handler sees it, and the calls a handler makes to
 * answer it. A handler reads params, query, headers and body, calls one store
 * function, and replies exactly once with one of the api_reply_* calls (or
 * api_problem*). The server sends what was replied; a handler that replies
 * nothing yields a 500 problem, never an empty response.
 */
#ifndef API_REQUEST_H
#define API_REQUEST_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <stdint.h>

#include "../../core/config.h"
#include "../../core/jsonout.h"
#include "router.h"

/* A response made once, with a static body, and reused by every request that
 * answers with it (libmicrohttpd reference-counts it). */
typedef struct api_shared api_shared_t;

struct api_req {
    struct MHD_Connection *conn;
    struct timespec started;
    char request_id[72]; /* X-Request-Id: the client's if valid, else generated */
    char method_name[16];
    api_method_t method;
    const api_route_t *route;
    const api_route_t *path_route; /* names the path in logs and metrics, even for a 405 */
    char *path;                    /* owned copy, cut into params by the router */
    const char *params[API_MAX_PARAMS];
    int nparams;
    unsigned allowed;

    char *body; /* owned, NUL-terminated; NULL when none arrived */
    size_t body_len, body_cap, body_limit;
    size_t body_expected; /* Content-Length, once checked against body_limit */
    bool body_too_large;

    struct MHD_Response *resp;       /* owned until queued, unless resp_shared */
    const api_shared_t *resp_shared; /* the response made once that resp is: never modified */
    unsigned status;
    size_t resp_bytes; /* body size, for the request log */

    /* the request's headers and query arguments, copied at its start
     * (api_request_capture): a handler never reads libmicrohttpd's memory,
     * which is freed if the connection closes while the handler waits */
    struct api_kv *kv;
    int nkv;

    /* the server's own (api/http/loop.c): the handler was started, is done, waited
     * with its connection suspended, since when it waits (monotonic ms), and
     * the connection closed under it (the handler's coroutine frees r) */
    bool handler_started, handled, suspended, orphaned;
    int64_t wait_ms;
};

/* Copies the request's headers and query arguments into r (for api_header,
 * api_query). False when out of memory. */
bool api_request_capture(api_req_t *r);

/* Frees what r's handler read (headers and query copies, body, path and
 * its params), once its reply is queued. */
void api_request_release(api_req_t *r);

/* Frees r and all it owns (its reply, body, path and copies). */
void api_request_free(api_req_t *r);

/* Path parameter i, as matched ("{id}"). */
const char *api_param(const api_req_t *r, int i);

/* A request header (case-insensitive name) or NULL. */
const char *api_header(const api_req_t *r, const char *name);

/* A query argument's value, or NULL when absent (or present with no value). */
const char *api_query(const api_req_t *r, const char *name);

/* True when the query has the argument at all ("?verbose"). */
bool api_query_has(const api_req_t *r, const char *name);

/* Replies with resp (ownership passes to the request). */
void api_reply(api_req_t *r, unsigned status, struct MHD_Response *resp);

/* Replies with body serialized as application/json; takes ownership of body. */
void api_reply_json(api_req_t *r, unsigned status, cJSON *body);

/* Replies with what w holds as application/json, and spends w. For answers
 * written front to back instead of built as a tree (core/jsonout.h): the
 * pages of long lists. */
void api_reply_jsonw(api_req_t *r, unsigned status, core_jsonw_t *w);

/* Writes one item of a list (api_reply_page). */
typedef void (*api_put_item_fn)(core_jsonw_t *w, const void *item);

/* Replies 200 with one page of a list, in the one shape every list of the
 * service has, written front to back:
 *   {"items": [each of the n items, written by put],
 *    "count": n,
 *    "total": total (every item the list holds, not just this page), or null
 *             when total < 0: a list that cannot count itself cheaply,
 *    "next_cursor": next_cursor, or null when it is NULL or empty (the last
 *                   page)}
 * items is an array of n elements of item_size bytes, the caller's. */
void api_reply_page(api_req_t *r, const void *items, int n, size_t item_size, api_put_item_fn put,
                    long long total, const char *next_cursor);

/* Replies with a copy of len bytes of data and the given Content-Type. */
void api_reply_data(api_req_t *r, unsigned status, const char *content_type, const void *data,
                    size_t len);

/* Replies with no body (204, 304). */
void api_reply_empty(api_req_t *r, unsigned status);

/* Replies with a response built once by api_shared_response and reused by
 * every request. */
void api_reply_shared(api_req_t *r, unsigned status, const api_shared_t *shared);

/* Builds a reusable response with a static body (which must outlive it),
 * carrying the headers every reply carries; the server adds nothing to it.
 * NULL when out of memory. Lives as long as the process. */
api_shared_t *api_shared_response(const char *content_type, const void *body, size_t len);

/* Adds a header to a shared response; only before its first use. */
void api_shared_header(api_shared_t *shared, const char *name, const char *value);

/* Replaces r's shared reply with a response of r's own, with the same status,
 * the same static body (not copied) and the same headers, so that headers of
 * this request can be added to it. False, changing nothing, when out of
 * memory. */
bool api_reply_unshare(api_req_t *r);

/* Adds the headers every reply carries, unless already there. */
void api_common_headers(struct MHD_Response *resp);

/* Adds a header to the reply already set. */
void api_reply_header(api_req_t *r, const char *name, const char *value);

#endif
