/* Request accessors and replies; see request.h. */
#include "request.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ids.h"
#include "problem.h"

const char *api_param(const api_req_t *r, int i) { return i < r->nparams ? r->params[i] : NULL; }

const char *api_param_id(api_req_t *r, int i, const char *what) {
    const char *id = api_param(r, i);
    if (core_id_valid(id))
        return id;
    api_problem(r, 400, "%s must match ^[A-Za-z0-9._-]{1,128}$ and not be '.' or '..'", what);
    return NULL;
}

const char *api_header(const api_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_query(const api_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_query_has(const api_req_t *r, const char *name) {
    const char *v;
    size_t len;
    return MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                         &len) == MHD_YES;
}

bool api_query_int(api_req_t *r, const char *name, int def, int min, int max, int *out) {
    const char *v = api_query(r, name);
    if (!v && !api_query_has(r, name)) {
        *out = def;
        return true;
    }
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !isdigit((unsigned char)v[0]) || *end || n < min || n > max) {
        api_problem(r, 400, "query parameter '%s' must be a whole number from %d to %d", name, min,
                    max);
        return false;
    }
    *out = (int)n;
    return true;
}

bool api_query_id(api_req_t *r, const char *name, const char **out) {
    const char *v = api_query(r, name);
    if (!v && !api_query_has(r, name)) {
        *out = NULL;
        return true;
    }
    if (!core_id_valid(v)) {
        api_problem(r, 400, "query parameter '%s' is not a valid cursor", name);
        return false;
    }
    *out = v;
    return true;
}

void api_reply(api_req_t *r, unsigned status, struct MHD_Response *resp) {
    if (r->resp && !r->resp_shared) /* a second reply replaces the first */
        MHD_destroy_response(r->resp);
    r->resp = resp;
    r->resp_shared = false;
    r->status = status;
}

void api_reply_shared(api_req_t *r, unsigned status, struct MHD_Response *resp) {
    api_reply(r, status, resp);
    r->resp_shared = true;
}

void api_common_headers(struct MHD_Response *resp) {
    if (!MHD_get_response_header(resp, "X-Content-Type-Options"))
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

struct MHD_Response *api_shared_response(const char *content_type, const void *body, size_t len) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        api_common_headers(resp);
    }
    return resp;
}

void api_reply_data(api_req_t *r, unsigned status, const char *content_type, const void *data,
                    size_t len) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    api_reply(r, status, resp);
}

void api_reply_json(api_req_t *r, unsigned status, cJSON *body) {
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        api_problem(r, 500, "out of memory while encoding the response");
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    api_reply(r, status, resp);
}

void api_reply_empty(api_req_t *r, unsigned status) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp)
        api_reply(r, status, resp);
}

void api_reply_header(api_req_t *r, const char *name, const char *value) {
    if (r->resp && !r->resp_shared)
        MHD_add_response_header(r->resp, name, value);
}
