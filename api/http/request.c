/* Request accessors and replies; see request.h. */
#include "request.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/ids.h"
#include "../../core/jsonout.h"
#include "../../core/timefmt.h"

const char *api_param(const api_req_t *r, int i) { return i < r->nparams ? r->params[i] : NULL; }

/* One header or query argument, copied: kind is MHD_HEADER_KIND or
 * MHD_GET_ARGUMENT_KIND; value NULL for an argument without one ("?verbose"). */
struct api_kv {
    unsigned kind;
    const char *key, *value;
};

typedef struct {
    api_req_t *r;
    char *text; /* where the next copy goes; NULL while sizing */
    size_t bytes;
    int n;
} capture_t;

static enum MHD_Result capture_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    capture_t *c = cls;
    if (!key)
        return MHD_YES;
    size_t kn = strlen(key) + 1, vn = value ? strlen(value) + 1 : 0;
    if (c->text) {
        struct api_kv *kv = &c->r->kv[c->n];
        kv->kind = (unsigned)kind;
        kv->key = memcpy(c->text, key, kn);
        c->text += kn;
        kv->value = value ? memcpy(c->text, value, vn) : NULL;
        c->text += vn;
    }
    c->bytes += kn + vn;
    c->n++;
    return MHD_YES;
}

bool api_request_capture(api_req_t *r) {
    unsigned kinds = MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND;
    capture_t c = {.r = r};
    MHD_get_connection_values(r->conn, (enum MHD_ValueKind)kinds, capture_one, &c);
    /* one block: the entries, then their text */
    r->kv = malloc(sizeof *r->kv * (size_t)c.n + c.bytes + 1);
    if (!r->kv)
        return false;
    c = (capture_t){.r = r, .text = (char *)(r->kv + c.n)};
    MHD_get_connection_values(r->conn, (enum MHD_ValueKind)kinds, capture_one, &c);
    r->nkv = c.n;
    return true;
}

/* The first entry of kind named name (case-insensitive, as libmicrohttpd
 * looks values up), or NULL. */
static const struct api_kv *find(const api_req_t *r, unsigned kind, const char *name) {
    for (int i = 0; i < r->nkv; i++)
        if (r->kv[i].kind == kind && strcasecmp(r->kv[i].key, name) == 0)
            return &r->kv[i];
    return NULL;
}

const char *api_header(const api_req_t *r, const char *name) {
    const struct api_kv *kv = find(r, MHD_HEADER_KIND, name);
    return kv ? kv->value : NULL;
}

const char *api_query(const api_req_t *r, const char *name) {
    const struct api_kv *kv = find(r, MHD_GET_ARGUMENT_KIND, name);
    return kv ? kv->value : NULL;
}

bool api_query_has(const api_req_t *r, const char *name) {
    return find(r, MHD_GET_ARGUMENT_KIND, name) != NULL;
}

struct api_shared {
    struct MHD_Response *resp;
    const void *body;
    size_t len;
};

void api_reply(api_req_t *r, unsigned status, struct MHD_Response *resp) {
    if (r->resp && !r->resp_shared) /* a second reply replaces the first */
        MHD_destroy_response(r->resp);
    r->resp = resp;
    r->resp_shared = NULL;
    r->status = status;
    r->resp_bytes = 0;
}

void api_reply_shared(api_req_t *r, unsigned status, const api_shared_t *shared) {
    api_reply(r, status, shared->resp);
    r->resp_shared = shared;
    r->resp_bytes = shared->len;
}

void api_common_headers(struct MHD_Response *resp) {
    if (!MHD_get_response_header(resp, "X-Content-Type-Options"))
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

api_shared_t *api_shared_response(const char *content_type, const void *body, size_t len) {
    api_shared_t *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    *s = (api_shared_t){
        .resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT),
        .body = body,
        .len = len};
    if (!s->resp) {
        free(s);
        return NULL;
    }
    MHD_add_response_header(s->resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    api_common_headers(s->resp);
    return s;
}

void api_shared_header(api_shared_t *shared, const char *name, const char *value) {
    MHD_add_response_header(shared->resp, name, value);
}

typedef struct {
    struct MHD_Response *to;
    bool failed;
} copy_t;

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *name,
                                   const char *value) {
    (void)kind;
    copy_t *c = cls;
    c->failed = MHD_add_response_header(c->to, name, value) != MHD_YES;
    return c->failed ? MHD_NO : MHD_YES;
}

bool api_reply_unshare(api_req_t *r) {
    const api_shared_t *s = r->resp_shared;
    if (!s)
        return true;
    struct MHD_Response *own =
        MHD_create_response_from_buffer(s->len, (void *)s->body, MHD_RESPMEM_PERSISTENT);
    if (!own)
        return false;
    copy_t c = {own, false};
    MHD_get_response_headers(s->resp, copy_header, &c);
    if (c.failed) {
        MHD_destroy_response(own);
        return false;
    }
    api_reply(r, r->status, own);
    r->resp_bytes = s->len;
    return true;
}

void api_reply_data(api_req_t *r, unsigned status, const char *content_type, const void *data,
                    size_t len) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    api_reply(r, status, resp);
    r->resp_bytes = len;
}

/* Replies with text (malloc()ed, len bytes, owned from here on) as JSON. */
static void reply_json_text(api_req_t *r, unsigned status, char *text, size_t len) {
    if (!text) { /* a fixed answer: nothing is left to build another with */
        static const char oom[] =
            "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
            "\"status\":500,\"detail\":\"out of memory while encoding the "
            "response\"}";
        api_reply_data(r, 500, "application/problem+json", oom, sizeof oom - 1);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    api_reply(r, status, resp);
    r->resp_bytes = len;
}

void api_reply_json(api_req_t *r, unsigned status, cJSON *body) {
    size_t len = 0;
    char *text = core_json_print(body, &len);
    cJSON_Delete(body);
    reply_json_text(r, status, text, len);
}

void api_reply_jsonw(api_req_t *r, unsigned status, core_jsonw_t *w) {
    size_t len = 0;
    char *text = core_jsonw_finish(w, &len);
    reply_json_text(r, status, text, len);
}

void api_reply_page(api_req_t *r, const void *items, int n, size_t item_size, api_put_item_fn put,
                    long long total, const char *next_cursor) {
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "items");
    core_jsonw_array(&w);
    for (int i = 0; i < n; i++)
        put(&w, (const char *)items + (size_t)i * item_size);
    core_jsonw_end(&w);
    core_jsonw_key(&w, "count");
    core_jsonw_int(&w, n);
    core_jsonw_key(&w, "total");
    if (total >= 0)
        core_jsonw_int(&w, total);
    else
        core_jsonw_null(&w);
    core_jsonw_key(&w, "next_cursor");
    core_jsonw_string_or_null(&w, next_cursor);
    core_jsonw_end(&w);
    api_reply_jsonw(r, 200, &w);
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

void api_request_release(api_req_t *r) {
    free(r->kv);
    free(r->body);
    free(r->path);
    r->kv = NULL;
    r->nkv = 0;
    r->body = r->path = NULL;
    r->body_len = r->body_cap = 0;
    r->nparams = 0;
}

void api_request_free(api_req_t *r) {
    if (r->resp && !r->resp_shared)
        MHD_destroy_response(r->resp);
    free(r->kv);
    free(r->body);
    free(r->path);
    free(r);
}
