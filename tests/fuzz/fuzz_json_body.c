/*
 * libFuzzer: JSON request bodies (api/http/input.c), as the handlers read them.
 *
 * Proves that api_json_object_parse takes any bytes without crashing, leaking
 * or reading past them, and returns an object only when the body is exactly
 * one JSON object with no NUL in it, raw or escaped (so no string can be cut
 * short behind the validators' back), and valid UTF-8 (RFC 8259); a refusal
 * of bytes that are not UTF-8 names the field, in a message that is itself
 * escaped into valid UTF-8 by the problem writer. Then runs the field validators the
 * handlers run (client id, presence device_id and status, frame data and
 * format, the base64 decoding and sniffing of a JSON frame) and checks that
 * whatever they accept is what the API promises: ids match the id rule,
 * enums are one of their values, and strings are within their lengths.
 *
 * Input: the request body.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/http/input.h"
#include "../../api/http/problem.h"
#include "../../core/base64.h"
#include "../../core/ids.h"
#include "../../core/imagetype.h"
#include "../../core/utf8.h"

/* A request with no connection: validators only reply (build a response). */
static void reset(api_req_t *r) {
    if (r->resp && !r->resp_shared)
        MHD_destroy_response(r->resp);
    memset(r, 0, sizeof *r);
}

static void check_fields(const cJSON *obj) {
    static const char *const statuses[] = {"online", "away", "busy", NULL};
    api_req_t r = {0};
    const char *v;
    if (api_field_id(&r, obj, "id", false, &v) && v)
        assert(core_id_valid(v));
    assert(r.resp == NULL || r.status == 400);
    reset(&r);
    if (api_field_id(&r, obj, "device_id", false, &v) && v)
        assert(core_id_valid(v));
    reset(&r);
    if (api_field_enum(&r, obj, "status", statuses, &v) && v) {
        bool known = false;
        for (int i = 0; statuses[i]; i++)
            known = known || strcmp(v, statuses[i]) == 0;
        assert(known);
    }
    reset(&r);
    if (api_field_string(&r, obj, "format", false, 1, 16, &v) && v)
        assert(strlen(v) >= 1 && strlen(v) <= 16);
    reset(&r);
    if (api_field_string(&r, obj, "data", true, 1, (size_t)-1, &v)) {
        assert(v && *v);
        size_t n;
        unsigned char *bytes = core_b64_decode(v, strlen(v), &n);
        if (bytes) {
            core_img_sniff(bytes, n);
            free(bytes);
        }
    } else {
        assert(r.status == 400);
    }
    reset(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1); /* exact size: no terminator to lean on */
    memcpy(body, data, size);
    char why[API_ERR_MAX] = "";
    cJSON *obj = api_json_object_parse(body, size, why);
    if (obj) {
        assert(cJSON_IsObject(obj));
        assert(!memchr(body, '\0', size));
        assert(core_utf8_valid(body, size));
        check_fields(obj);
        cJSON_Delete(obj);
    } else {
        assert(*why);
        /* the 400 as a client reads it: valid UTF-8 and JSON, whatever the field's name */
        size_t len;
        char *text = api_problem_text(400, why, &len);
        assert(text && core_utf8_valid(text, len));
        cJSON *problem = cJSON_Parse(text);
        assert(cJSON_IsString(cJSON_GetObjectItem(problem, "detail")));
        cJSON_Delete(problem);
        free(text);
    }
    free(body);
    return 0;
}
