/*
 * The Idempotency-Key request header (IETF httpapi idempotency-key draft) on
 * the POSTs that create lasting data (users, observations). The key is kept
 * in MongoDB with a fingerprint of the request and, once there is one, the
 * final answer (mongo/idempotency.h):
 *   - a retry of a finished request (same key, method, path and body) gets the
 *     first answer again, with Idempotent-Replayed: true, and stores nothing;
 *   - the same key with another request is 422;
 *   - while an attempt is in progress, a duplicate is 409 with Retry-After;
 *   - an attempt that ended without a final answer (an error, a partial
 *     batch, a crash) leaves the key to the next retry, which does the work
 *     again: what the first attempt stored counts as stored, nothing twice.
 * Only 2xx answers are final. Keys are 1 to 255 visible ASCII characters
 * (a UUID is a good key), compared as sent, and kept at least 24 h.
 *
 * A handler that takes a key: api_idem_begin; on true, do the work with
 * idem.write (its clock is the first attempt's), answer with
 * api_idem_reply_json or any api_problem*, and always finish with
 * api_idem_end.
 */
#ifndef API_IDEMPOTENCY_H
#define API_IDEMPOTENCY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "../../mongo/idempotency.h"
#include "request.h"

typedef struct {
    bool active;   /* the request carries a key and owns it now */
    bool answered; /* its final answer is stored */
    char key[MONGO_IDEM_KEY_MAX + 1];
    mongo_write_t write; /* for the mongo call: the key (or NULL) and the clock */
} api_idem_t;

/* Reads the Idempotency-Key header and claims it. Returns false when it has
 * replied: 400 (a malformed key), the stored answer of a finished request,
 * 409 (in progress), 422 (another request's key), or the MongoDB problem
 * (nothing stored). On true, idem->write is set (without a key: no key, now). */
bool api_idem_begin(api_req_t *r, api_idem_t *idem);

/* Replies status with body (owned from here) as JSON, plus Location when
 * location is not NULL; a 2xx answer under a key is stored for replays. */
void api_idem_reply_json(api_req_t *r, api_idem_t *idem, unsigned status, cJSON *body,
                         const char *location);

/* Ends the request's hold on its key: a key with no stored answer is given
 * up at once, for the next retry. */
void api_idem_end(api_idem_t *idem);

#endif
