/* Idempotency records; see idempotency.h. */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/digest.h"
#include "doc.h"
#include "pool.h"

#define COLLECTION "idempotency"

/* How long an attempt holds its key before a retry may take it over: three
 * MongoDB timeouts (a batch renews it between its chunks), and never under 2 s. */
static int64_t lease_ms(void) {
    int64_t ms = 3LL * mongo_timeout_ms();
    return ms < 2000 ? 2000 : ms;
}

void mongo_idem_oid(const char *key, int64_t created_ms, const char *kind, long index,
                    bson_oid_t *out) {
    char idx[24];
    snprintf(idx, sizeof idx, "%ld", index);
    const char *parts[] = {kind, key, idx, NULL};
    unsigned char md[CORE_SHA256_LEN];
    core_sha256(parts, NULL, 0, md);
    uint32_t secs = (uint32_t)(created_ms / 1000);
    uint8_t bytes[12] = {(uint8_t)(secs >> 24), (uint8_t)(secs >> 16), (uint8_t)(secs >> 8),
                         (uint8_t)secs};
    memcpy(bytes + 4, md, 8);
    bson_oid_init_from_data(out, bytes);
}

void mongo_write_oid(const mongo_write_t *w, const char *kind, long index, bson_oid_t *out) {
    if (w->idem_key)
        mongo_idem_oid(w->idem_key, w->now_ms, kind, index, out);
    else
        bson_oid_init(out, NULL);
}

/* Reads what an existing record says about this attempt into out. */
static void judge(const bson_t *rec, const char *fingerprint, int64_t now_ms, mongo_idem_t *out) {
    const char *fp = mongo_doc_str(rec, "fingerprint");
    int64_t lease_until = 0;
    double status = 0;
    if (!fp || strcmp(fp, fingerprint) != 0) {
        out->state = MONGO_IDEM_MISMATCH;
        return;
    }
    if (!mongo_doc_has_date(rec, "created_at", &out->created_ms))
        out->created_ms = now_ms;
    if (mongo_doc_number(rec, "status", &status)) {
        bson_iter_t it;
        uint32_t len = 0;
        const char *body = bson_iter_init_find(&it, rec, "body") && BSON_ITER_HOLDS_UTF8(&it)
                               ? bson_iter_utf8(&it, &len)
                               : "";
        out->state = MONGO_IDEM_DONE;
        out->status = (int)status;
        out->body = malloc((size_t)len + 1);
        if (out->body) {
            memcpy(out->body, body, len);
            out->body[len] = '\0';
            out->body_len = len;
        }
        mongo_doc_utf8(rec, "location", out->location, sizeof out->location);
        return;
    }
    mongo_doc_has_date(rec, "lease_until", &lease_until);
    if (lease_until > now_ms) {
        out->state = MONGO_IDEM_IN_PROGRESS;
        out->lease_left_ms = lease_until - now_ms;
        return;
    }
    out->state = MONGO_IDEM_TAKEN_OVER;
}

/* update_one({_id: key}, update): the filter FerretDB looks up by key. */
static store_status_t update_record(mongo_op_t *op, const char *key, const bson_t *update) {
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    bson_error_t e;
    store_status_t st = mongoc_collection_update_one(op->coll, filter, update, NULL, NULL, &e)
                            ? STORE_OK
                            : mongo_error_status(&e);
    bson_destroy(filter);
    return st;
}

/* Inserts a fresh record, or reads the existing one into out. */
static store_status_t claim(mongo_op_t *op, const char *key, const char *fingerprint,
                            int64_t now_ms, mongo_idem_t *out) {
    bson_t *rec = BCON_NEW("_id", BCON_UTF8(key), "fingerprint", BCON_UTF8(fingerprint),
                           "created_at", BCON_DATE_TIME(now_ms), "lease_until",
                           BCON_DATE_TIME(now_ms + lease_ms()), "owner", BCON_UTF8(out->owner));
    bson_error_t e;
    bool inserted = mongoc_collection_insert_one(op->coll, rec, NULL, NULL, &e);
    bson_destroy(rec);
    if (inserted) {
        out->state = MONGO_IDEM_NEW;
        out->created_ms = now_ms;
        return STORE_OK;
    }
    if (!mongo_error_duplicate(e.code))
        return mongo_error_status(&e);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op->coll, filter, NULL, NULL);
    const bson_t *doc;
    store_status_t st = STORE_NOT_FOUND; /* reaped in between: try again */
    if (mongoc_cursor_next(cur, &doc)) {
        judge(doc, fingerprint, now_ms, out);
        st = STORE_OK;
    }
    if (mongoc_cursor_error(cur, &e))
        st = mongo_error_status(&e);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return st;
}

store_status_t mongo_idem_begin(const char *key, const char *fingerprint, int64_t now_ms,
                                mongo_idem_t *out) {
    memset(out, 0, sizeof *out);
    bson_oid_t token;
    bson_oid_init(&token, NULL);
    bson_oid_to_string(&token, out->owner);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    st = claim(&op, key, fingerprint, now_ms, out);
    if (st == STORE_NOT_FOUND)
        st = claim(&op, key, fingerprint, now_ms, out);
    if (st == STORE_OK && out->state == MONGO_IDEM_TAKEN_OVER) {
        /* Not atomic on FerretDB (its updates read, then write): two retries
         * may both go on, which the derived ids make harmless. */
        bson_t *update = BCON_NEW("$set", "{", "lease_until", BCON_DATE_TIME(now_ms + lease_ms()),
                                  "owner", BCON_UTF8(out->owner), "}");
        st = update_record(&op, key, update);
        bson_destroy(update);
    }
    mongo_op_end(&op);
    return st == STORE_NOT_FOUND ? STORE_ERROR : st;
}

/* Runs one update of the key's record on a client of its own. */
static store_status_t update_key(const char *key, bson_t *update) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st == STORE_OK) {
        st = update_record(&op, key, update);
        mongo_op_end(&op);
    }
    bson_destroy(update);
    return st;
}

store_status_t mongo_idem_extend(const char *key, int64_t now_ms) {
    return update_key(
        key, BCON_NEW("$set", "{", "lease_until", BCON_DATE_TIME(now_ms + lease_ms()), "}"));
}

store_status_t mongo_idem_finish(const char *key, int status, const char *body, size_t len,
                                 const char *location) {
    bson_t *update = bson_new(), set, unset;
    BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
    BSON_APPEND_INT32(&set, "status", status);
    bson_append_utf8(&set, "body", 4, body, (int)len);
    if (location)
        BSON_APPEND_UTF8(&set, "location", location);
    bson_append_document_end(update, &set);
    BSON_APPEND_DOCUMENT_BEGIN(update, "$unset", &unset);
    BSON_APPEND_UTF8(&unset, "lease_until", "");
    BSON_APPEND_UTF8(&unset, "owner", "");
    bson_append_document_end(update, &unset);
    return update_key(key, update);
}

store_status_t mongo_idem_release(const char *key) {
    return update_key(key, BCON_NEW("$set", "{", "lease_until", BCON_DATE_TIME(0), "}"));
}

void mongo_idem_free(mongo_idem_t *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

long mongo_idem_reap(mongoc_client_t *c, int64_t older_than_ms) {
    mongoc_collection_t *coll = mongoc_client_get_collection(c, mongo_db_name(), COLLECTION);
    bson_t *filter = BCON_NEW("created_at", "{", "$lt", BCON_DATE_TIME(older_than_ms), "}");
    bson_t reply;
    bson_error_t e;
    long n = -1;
    if (mongoc_collection_delete_many(coll, filter, NULL, &reply, &e)) {
        bson_iter_t it;
        n = bson_iter_init_find(&it, &reply, "deletedCount") ? (long)bson_iter_as_int64(&it) : 0;
    } else {
        mongo_error_status(&e);
    }
    bson_destroy(&reply);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return n;
}
