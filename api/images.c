/*
 * /clients/{id}/image: the latest frame. Uploads come as raw bytes
 * (image/jpeg, image/png, image/webp, checked against the bytes' magic
 * numbers) or as JSON {"data": base64, "format"}. Downloads are the raw bytes,
 * served straight from the Redis reply without a copy, or JSON with base64
 * when the client asks for application/json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base64.h"
#include "../core/imagetype.h"
#include "../core/timefmt.h"
#include "../store/images.h"
#include "handlers.h"
#include "http/input.h"
#include "http/negotiate.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

typedef struct {
    const unsigned char *bytes;
    size_t len;
    core_img_t format;
    unsigned char *owned; /* decoded base64, freed by the caller */
} upload_t;

/* Reads a JSON upload {"data", "format"?}; replies and returns false when bad. */
static bool read_json_upload(api_req_t *r, upload_t *u) {
    cJSON *body;
    const char *data, *format;
    if (!api_body_json(r, true, &body))
        return false;
    bool ok = api_field_string(r, body, "data", true, 1, (size_t)-1, &data) &&
              api_field_string(r, body, "format", false, 1, 16, &format);
    if (ok && format && core_img_from_name(format) == CORE_IMG_NONE) {
        api_problem(r, 400, "field 'format' must be 'jpeg', 'png' or 'webp'");
        ok = false;
    }
    if (ok) {
        u->owned = core_b64_decode(data, strlen(data), &u->len);
        if (!u->owned) {
            api_problem(r, 400, "field 'data' is not valid base64");
            ok = false;
        }
    }
    if (ok) {
        u->bytes = u->owned;
        u->format = core_img_sniff(u->bytes, u->len);
        if (u->format == CORE_IMG_NONE) {
            api_problem(r, 400, "field 'data' is not a JPEG, PNG or WebP image");
            ok = false;
        } else if (format && core_img_from_name(format) != u->format) {
            api_problem(r, 400, "field 'data' holds a %s image, but 'format' says %s",
                        core_img_name(u->format), format);
            ok = false;
        }
    }
    cJSON_Delete(body);
    return ok;
}

/* Reads the upload in whichever form it came; replies and returns false when bad. */
static bool read_upload(api_req_t *r, upload_t *u) {
    const char *ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    memset(u, 0, sizeof *u);
    if (api_content_type_is(ct, "application/json")) {
        if (!read_json_upload(r, u))
            return false;
    } else {
        core_img_t declared = core_img_from_mime(ct);
        if (declared == CORE_IMG_NONE) {
            api_problem(r, 415,
                        "Content-Type must be image/jpeg, image/png, image/webp or "
                        "application/json, not '%.100s'",
                        ct ? ct : "(none)");
            return false;
        }
        u->bytes = (const unsigned char *)r->body;
        u->len = r->body_len;
        u->format = declared;
        if (u->len == 0) {
            api_problem(r, 400, "the image is empty");
            return false;
        }
        if (core_img_sniff(u->bytes, u->len) != declared) {
            api_problem(r, 415, "the body is not a %s image, as Content-Type %.60s says",
                        core_img_name(declared), ct);
            return false;
        }
    }
    if (u->len > (size_t)api_config()->max_image_bytes) {
        api_problem(r, 413, "the image is %zu bytes; the limit is %ld", u->len,
                    api_config()->max_image_bytes);
        return false;
    }
    return true;
}

void api_images_put(api_req_t *r) {
    const char *id = api_param_id(r, 0, "client id");
    upload_t u = {0};
    if (!id || !read_upload(r, &u)) {
        free(u.owned);
        return;
    }
    store_image_t img;
    store_status_t st = store_images_put(id, u.bytes, u.len, u.format, core_now_ms(), &img);
    free(u.owned);
    if (st != STORE_OK) {
        char w[160];
        snprintf(w, sizeof w, "client '%s'", id);
        api_problem_store(r, st, w);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "size", (double)img.size);
    cJSON_AddStringToObject(o, "format", core_img_name(img.format));
    cJSON_AddStringToObject(o, "timestamp", img.timestamp);
    cJSON_AddNumberToObject(o, "frame_number", (double)img.frame_number);
    api_reply_json(r, 200, o);
    api_reply_header(r, MHD_HTTP_HEADER_ETAG, img.etag);
}

/* JSON when Accept prefers application/json to the frame's own type. */
static bool wants_json(const api_req_t *r, const char *mime) {
    const char *accept = api_header(r, MHD_HTTP_HEADER_ACCEPT);
    return api_accept_quality(accept, "application/json") > api_accept_quality(accept, mime);
}

static bool accepts_either(const api_req_t *r, const char *mime) {
    const char *accept = api_header(r, MHD_HTTP_HEADER_ACCEPT);
    return api_accept_quality(accept, "application/json") > 0 ||
           api_accept_quality(accept, mime) > 0;
}

static void add_frame_headers(api_req_t *r, const store_image_t *img) {
    char num[24], date[CORE_HTTP_DATE_LEN];
    int64_t ms;
    snprintf(num, sizeof num, "%lld", img->frame_number);
    api_reply_header(r, MHD_HTTP_HEADER_ETAG, img->etag);
    api_reply_header(r, "X-Frame-Number", num);
    if (core_iso8601_parse(img->timestamp, &ms)) {
        core_http_date(ms, date);
        api_reply_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
    }
    api_reply_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    api_reply_header(r, MHD_HTTP_HEADER_VARY, "Accept");
}

static void reply_json_frame(api_req_t *r, store_image_t *img) {
    char *b64 = malloc(core_b64_encoded_len(img->size) + 1);
    if (!b64) {
        api_problem(r, 500, "out of memory while encoding the frame");
        return;
    }
    core_b64_encode((const unsigned char *)img->data, img->size, b64);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "data", b64);
    free(b64);
    cJSON_AddNumberToObject(o, "size", (double)img->size);
    cJSON_AddStringToObject(o, "format",
                            core_img_name(img->format) ? core_img_name(img->format) : "unknown");
    cJSON_AddStringToObject(o, "timestamp", img->timestamp);
    cJSON_AddNumberToObject(o, "frame_number", (double)img->frame_number);
    api_reply_json(r, 200, o);
}

void api_images_get(api_req_t *r) {
    const char *id = api_param_id(r, 0, "client id");
    if (!id)
        return;
    store_image_t img;
    bool not_modified;
    store_status_t st =
        store_images_get(id, api_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), &img, &not_modified);
    if (st != STORE_OK) {
        char w[160];
        snprintf(w, sizeof w, "a frame of client '%s'", id);
        api_problem_store(r, st, w);
        return;
    }
    const char *mime =
        core_img_mime(img.format) ? core_img_mime(img.format) : "application/octet-stream";
    if (!accepts_either(r, mime)) {
        store_image_release(&img);
        api_problem(r, 406, "the frame is available as %s or application/json only", mime);
        return;
    }
    if (not_modified) {
        api_reply_empty(r, 304);
    } else if (wants_json(r, mime)) {
        reply_json_frame(r, &img);
        store_image_release(&img);
    } else {
        /* Zero copy: the response points into the Redis reply and frees it when sent. */
        struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
            img.size, (void *)img.data, store_image_owner_free, img.owner);
        if (!resp) {
            store_image_release(&img);
            api_problem(r, 500, "out of memory while sending the frame");
            return;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
        api_reply(r, 200, resp);
        r->resp_bytes = img.size;
    }
    if (r->status == 200 || r->status == 304)
        add_frame_headers(r, &img);
}
