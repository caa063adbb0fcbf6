/* problem+json, and the one mapping from store status to HTTP status. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/jsonout.h"
#include "../../core/log.h"

const char *api_status_title(unsigned status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

char *api_problem_text(unsigned status, const char *detail, size_t *len) {
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "type");
    core_jsonw_string(&w, "about:blank");
    core_jsonw_key(&w, "title");
    core_jsonw_string(&w, api_status_title(status));
    core_jsonw_key(&w, "status");
    core_jsonw_int(&w, status);
    core_jsonw_key(&w, "detail");
    core_jsonw_string(&w, detail); /* may quote a header or a field name: escaped there */
    core_jsonw_end(&w);
    return core_jsonw_finish(&w, len);
}

void api_problem(api_req_t *r, unsigned status, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);

    size_t len = 0;
    char *text = api_problem_text(status, detail, &len);
    /* If even this allocation fails, fall back to a fixed body: never an empty error. */
    static const char oom[] =
        "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
        "\"status\":500,\"detail\":\"out of memory\"}";
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text); /* not taken by a response that was never made */
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    if (!text)
        len = sizeof oom - 1;
    api_reply(r, text ? status : 500, resp);
    r->resp_bytes = len;
}

/* The one mapping from a store status to an HTTP status; backend names the
 * store in the 503 text, retry_after_s is the Retry-After of a 429. */
static void store_problem(api_req_t *r, store_status_t st, const char *what, const char *backend,
                          int retry_after_s, const char *detail) {
    char after[16];
    switch (st) {
    case STORE_OK: api_problem(r, 500, "internal error: success reported as failure"); return;
    case STORE_NOT_FOUND: api_problem(r, 404, "%s not found", what); return;
    case STORE_CONFLICT: api_problem(r, 409, "%s already exists", what); return;
    case STORE_UNAVAILABLE:
        api_problem(r, 503, "%s is unavailable or did not answer in time; try again", backend);
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    case STORE_DISABLED:
        api_problem(r, 503, "%s persistence is disabled: the service runs without MONGODB_URI",
                    backend);
        return;
    case STORE_RATE_LIMITED:
        snprintf(after, sizeof after, "%d", retry_after_s > 0 ? retry_after_s : 1);
        api_problem(r, 429, "%s is over the rate limit; try again in %s s", what, after);
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
        return;
    case STORE_UNCONFIRMED:
        api_problem(r, 503,
                    "%s did not confirm the write of %s in time: it may or may not be stored. "
                    "Retry with the same Idempotency-Key to store it exactly once",
                    backend, what);
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    case STORE_BAD_DATA:
        api_problem(r, 500, "%s is stored in %s in a shape this service does not accept: %s", what,
                    backend, detail ? detail : "see the log");
        return;
    case STORE_ERROR:
        log_event(LOG_ERROR, "%s error on %s", backend, what);
        api_problem(r, 500, "%s failed to handle the request for %s", backend, what);
        return;
    }
}

void api_problem_store(api_req_t *r, store_status_t st, const char *what) {
    store_problem(r, st, what, "Redis", 1, NULL);
}

void api_problem_store_after(api_req_t *r, store_status_t st, const char *what, int retry_after_s) {
    store_problem(r, st, what, "Redis", retry_after_s, NULL);
}

void api_problem_mongo(api_req_t *r, store_status_t st, const char *what) {
    store_problem(r, st, what, "MongoDB", 1, NULL);
}

void api_problem_mongo_why(api_req_t *r, store_status_t st, const char *what, const char *why) {
    store_problem(r, st, what, "MongoDB", 1, why);
}
