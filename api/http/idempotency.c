/* Idempotency-Key; see idempotency.h. */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/digest.h"
#include "../../core/jsonout.h"
#include "../../core/timefmt.h"
#include "problem.h"

#define HEADER "Idempotency-Key"

static bool key_valid(const char *k) {
    size_t n = strlen(k);
    if (n < 1 || n > MONGO_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

/* SHA-256 of what makes two requests the same: method, route and body. */
static void fingerprint(const api_req_t *r, char out[65]) {
    const char *parts[] = {r->method_name, r->route ? r->route->pattern : "", NULL};
    core_sha256_hex(parts, r->body, r->body ? r->body_len : 0, out);
}

static void replay(api_req_t *r, const mongo_idem_t *rec) {
    api_reply_data(r, (unsigned)rec->status, "application/json", rec->body ? rec->body : "",
                   rec->body_len);
    if (rec->location[0])
        api_reply_header(r, MHD_HTTP_HEADER_LOCATION, rec->location);
    api_reply_header(r, "Idempotent-Replayed", "true");
}

bool api_idem_begin(api_req_t *r, api_idem_t *idem) {
    memset(idem, 0, sizeof *idem);
    idem->write.now_ms = core_now_ms();
    const char *key = api_header(r, HEADER);
    if (!key)
        return true;
    if (!key_valid(key)) {
        api_problem(r, 400, "header '" HEADER "' must be 1 to %d visible ASCII characters",
                    MONGO_IDEM_KEY_MAX);
        return false;
    }
    snprintf(idem->key, sizeof idem->key, "%s", key);
    char fp[65];
    fingerprint(r, fp);
    mongo_idem_t rec;
    store_status_t st = mongo_idem_begin(idem->key, fp, idem->write.now_ms, &rec);
    if (st != STORE_OK) {
        api_problem_mongo(r, st, "the idempotency key");
        return false;
    }
    char after[24];
    switch (rec.state) {
    case MONGO_IDEM_DONE: replay(r, &rec); break;
    case MONGO_IDEM_MISMATCH:
        api_problem(r, 422,
                    "this " HEADER
                    " was used for a different request (method, path or body); "
                    "a new request needs a new key");
        break;
    case MONGO_IDEM_IN_PROGRESS:
        snprintf(after, sizeof after, "%lld", (long long)(rec.lease_left_ms + 999) / 1000);
        api_problem(r, 409,
                    "a request with this " HEADER " is in progress; retry in %s s for its answer",
                    after);
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
        break;
    case MONGO_IDEM_NEW:
    case MONGO_IDEM_TAKEN_OVER:
        idem->active = true;
        idem->write.idem_key = idem->key;
        idem->write.now_ms = rec.created_ms; /* a retry writes the very same documents */
        break;
    }
    mongo_idem_free(&rec);
    return idem->active;
}

void api_idem_reply_json(api_req_t *r, api_idem_t *idem, unsigned status, cJSON *body,
                         const char *location) {
    size_t len = 0;
    char *text = core_json_print(body, &len);
    cJSON_Delete(body);
    if (!text) {
        api_problem(r, 500, "out of memory while encoding the response");
        return;
    }
    if (idem->active && status >= 200 && status < 300)
        idem->answered = mongo_idem_finish(idem->key, (int)status, text, len, location) == STORE_OK;
    api_reply_data(r, status, "application/json", text, len);
    free(text);
    if (location)
        api_reply_header(r, MHD_HTTP_HEADER_LOCATION, location);
}

void api_idem_end(api_idem_t *idem) {
    if (idem->active && !idem->answered)
        mongo_idem_release(idem->key);
    idem->active = false;
}
