/*
 * Observations; see observations.h. The page cursor is the sort key of the
 * last item, "<recorded_at ms>-<_id hex>", so paging stays exact while new
 * observations arrive.
 */
#include "observations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "aggregator.h"
#include "doc.h"
#include "pool.h"
#include "segments.h"

#define COLLECTION "observations"

void mongo_observation_to_bson(const mongo_observation_t *o, bson_t *doc) {
    bson_t loc;
    if (o->id[0]) {
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, o->id);
        BSON_APPEND_OID(doc, "_id", &oid);
    }
    bson_oid_t user;
    bson_oid_init_from_string(&user, o->user_id);
    BSON_APPEND_OID(doc, "user_id", &user); /* joinable with users._id ($lookup) */
    BSON_APPEND_DOCUMENT_BEGIN(doc, "location", &loc);
    BSON_APPEND_DOUBLE(&loc, "latitude", o->latitude);
    BSON_APPEND_DOUBLE(&loc, "longitude", o->longitude);
    bson_append_document_end(doc, &loc);
    BSON_APPEND_DOUBLE(doc, "quality", o->quality);
    if (o->has_speed)
        BSON_APPEND_DOUBLE(doc, "speed_kmh", o->speed_kmh);
    BSON_APPEND_DATE_TIME(doc, "recorded_at", o->recorded_at_ms);
    BSON_APPEND_DATE_TIME(doc, "created_at", o->created_at_ms);
    BSON_APPEND_UTF8(doc, "geohash", o->geohash);
}

/* user_id: an ObjectId, or the 24-hex-digit string it was stored as before. */
static bool read_user_id(const bson_t *doc, char out[25]) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "user_id"))
        return false;
    if (BSON_ITER_HOLDS_OID(&it)) {
        bson_oid_to_string(bson_iter_oid(&it), out);
        return true;
    }
    const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
    if (strlen(s) != 24 || strspn(s, "0123456789abcdef") != 24)
        return false;
    memcpy(out, s, 25);
    return true;
}

/* A number field within [lo, hi]. */
static bool number_in(const bson_t *doc, const char *key, double lo, double hi, double *out) {
    return mongo_doc_number(doc, key, out) && *out >= lo && *out <= hi;
}

const char *mongo_observation_from_bson(const bson_t *doc, mongo_observation_t *out) {
    memset(out, 0, sizeof *out);
    if (!mongo_doc_oid(doc, out->id))
        return "'_id' is not an ObjectId";
    if (!read_user_id(doc, out->user_id))
        return "'user_id' is missing or not an ObjectId";
    if (!number_in(doc, "location.latitude", -90, 90, &out->latitude) ||
        !number_in(doc, "location.longitude", -180, 180, &out->longitude))
        return "'location' is missing or not {latitude: -90..90, longitude: -180..180}";
    if (!number_in(doc, "quality", 0, 1, &out->quality))
        return "'quality' is missing or not a number from 0 to 1";
    out->has_speed = !mongo_doc_absent(doc, "speed_kmh");
    if (out->has_speed && !number_in(doc, "speed_kmh", 0, 1000, &out->speed_kmh))
        return "'speed_kmh' is neither absent, null nor a number from 0 to 1000";
    if (!mongo_doc_has_date(doc, "recorded_at", &out->recorded_at_ms))
        return "'recorded_at' is missing or not a date";
    if (!mongo_doc_has_date(doc, "created_at", &out->created_at_ms))
        return "'created_at' is missing or not a date";
    const char *cell = mongo_doc_str(doc, "geohash");
    if (!cell || !core_geohash_valid(cell, MONGO_SEGMENT_PRECISION))
        return "'geohash' is missing or not a geohash of 7 characters";
    memcpy(out->geohash, cell, MONGO_SEGMENT_PRECISION + 1);
    return NULL;
}

static const char *read_obs(const bson_t *doc, void *item) {
    return mongo_observation_from_bson(doc, item);
}

/* Marks rows [0, n) with one outcome. */
static void mark_rows(mongo_row_t *rows, size_t n, mongo_row_t what) {
    for (size_t i = 0; i < n; i++)
        rows[i] = what;
}

/* The rows of one failed insert_many: the ones its writeErrors name failed
 * (unless a duplicate _id under an idempotency key: an earlier attempt stored
 * it), the others are stored. Returns the status of a real failure, if any. */
static store_status_t write_errors(const bson_t *reply, bool idempotent, mongo_row_t *rows,
                                   size_t n) {
    bson_iter_t it, errs;
    store_status_t st = STORE_OK;
    mark_rows(rows, n, MONGO_ROW_STORED);
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &errs))
        return STORE_ERROR;
    while (bson_iter_next(&errs)) {
        bson_t err;
        const uint8_t *data;
        uint32_t len;
        double index = -1, code = 0;
        if (!BSON_ITER_HOLDS_DOCUMENT(&errs))
            continue;
        bson_iter_document(&errs, &len, &data);
        if (!bson_init_static(&err, data, len) || !mongo_doc_number(&err, "index", &index) ||
            index < 0 || index >= (double)n)
            continue;
        mongo_doc_number(&err, "code", &code);
        if (idempotent && mongo_error_duplicate((uint32_t)code))
            continue;
        rows[(size_t)index] = MONGO_ROW_FAILED;
        st = STORE_ERROR;
    }
    return st;
}

/* Inserts one chunk (unordered: a bad row does not stop the others) and
 * records each row's outcome. */
static store_status_t insert_chunk(mongo_op_t *op, const bson_t **docs, size_t n, bool idempotent,
                                   mongo_row_t *rows) {
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t reply;
    bson_error_t e;
    store_status_t st = STORE_OK;
    if (mongoc_collection_insert_many(op->coll, docs, n, opts, &reply, &e)) {
        mark_rows(rows, n, MONGO_ROW_STORED);
    } else if (bson_has_field(&reply, "writeErrors")) {
        st = write_errors(&reply, idempotent, rows, n);
    } else {
        bool unsure = mongo_error_unconfirmed(&e);
        st = mongo_error_status(&e);
        mark_rows(rows, n, unsure ? MONGO_ROW_UNCONFIRMED : MONGO_ROW_FAILED);
        if (unsure)
            st = STORE_UNCONFIRMED;
        else if (st == STORE_CONFLICT)
            st = STORE_ERROR;
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    return st;
}

/* Prepares obs[i] (id, geohash, created_at) and its document. */
static void prepare(const mongo_write_t *w, mongo_observation_t *o, bson_t *doc) {
    bson_oid_t oid;
    mongo_write_oid(w, "observation", o->row, &oid);
    bson_oid_to_string(&oid, o->id);
    core_geohash_encode(o->latitude, o->longitude, MONGO_SEGMENT_PRECISION, o->geohash);
    o->created_at_ms = w->now_ms;
    bson_init(doc);
    mongo_observation_to_bson(o, doc);
}

store_status_t mongo_observations_add(const mongo_write_t *w, mongo_observation_t *obs, size_t n,
                                      mongo_row_t *rows) {
    mark_rows(rows, n, MONGO_ROW_FAILED);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t *docs = calloc(n, sizeof *docs);
    const bson_t **ptrs = calloc(n, sizeof *ptrs);
    if (!docs || !ptrs) {
        st = STORE_ERROR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        prepare(w, &obs[i], &docs[i]);
        ptrs[i] = &docs[i];
    }
    int64_t renewed = core_now_ms();
    bool any = false;
    for (size_t at = 0; at < n && st == STORE_OK; at += MONGO_OBS_CHUNK) {
        size_t k = n - at < MONGO_OBS_CHUNK ? n - at : MONGO_OBS_CHUNK;
        if (w->idem_key && core_now_ms() - renewed >= 1000) { /* keep the key's lease */
            renewed = core_now_ms();
            mongo_idem_extend(w->idem_key, renewed);
        }
        /* the queue entries first: an observation is never stored unannounced */
        st = mongo_segments_enqueue(&op, obs + at, k, w->now_ms);
        if (st == STORE_OK)
            st = insert_chunk(&op, ptrs + at, k, w->idem_key != NULL, rows + at);
        for (size_t i = at; i < at + k; i++)
            any = any || rows[i] != MONGO_ROW_FAILED;
    }
    for (size_t i = 0; i < n; i++)
        bson_destroy(&docs[i]);
    if (any)
        mongo_aggregator_wake();
out:
    free(docs);
    free(ptrs);
    mongo_op_end(&op);
    return st;
}

store_status_t mongo_observations_get(const char *id, mongo_observation_t *out, const char **why) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    st = mongo_find_one(&op, filter, read_obs, out, why);
    bson_destroy(filter);
    mongo_op_end(&op);
    return st;
}

bool mongo_obs_cursor_valid(const char *s) {
    size_t digits = s ? strspn(s, "0123456789") : 0;
    if (digits == 0 || digits > 15 || s[digits] != '-')
        return false;
    const char *hex = s + digits + 1;
    return strlen(hex) == 24 && strspn(hex, "0123456789abcdef") == 24;
}

/* Clause: (recorded_at, _id) < the cursor's, in the descending sort order. */
static void after_cursor(mongo_filter_t *f, const char *cursor) {
    char *dash;
    int64_t ms = strtoll(cursor, &dash, 10);
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, dash + 1);
    bson_t *older = BCON_NEW("recorded_at", "{", "$lt", BCON_DATE_TIME(ms), "}");
    bson_t *tie =
        BCON_NEW("recorded_at", BCON_DATE_TIME(ms), "_id", "{", "$lt", BCON_OID(&oid), "}");
    mongo_filter_or(f, older, tie);
    bson_destroy(older);
    bson_destroy(tie);
}

/* Clause: user_id is the ObjectId, or the same hex as a string (stored so
 * before user ids were ObjectIds). */
static void user_clause(mongo_filter_t *f, const char *user_id) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, user_id);
    bson_t clause;
    bson_t *in = BCON_NEW("$in", "[", BCON_OID(&oid), BCON_UTF8(user_id), "]");
    mongo_filter_clause(f, &clause);
    BSON_APPEND_DOCUMENT(&clause, "user_id", in);
    mongo_filter_clause_end(f, &clause);
    bson_destroy(in);
}

/* The filter of a query, closed. */
static void query_filter(const mongo_obs_query_t *q, mongo_filter_t *f) {
    mongo_filter_init(f);
    if (q->has_bbox)
        mongo_filter_bbox(f, "location.latitude", "location.longitude", q->min_lon, q->min_lat,
                          q->max_lon, q->max_lat);
    if (q->user_id)
        user_clause(f, q->user_id);
    if (q->has_since)
        mongo_filter_date(f, "recorded_at", "$gte", q->since_ms);
    if (q->has_until)
        mongo_filter_date(f, "recorded_at", "$lt", q->until_ms);
    if (q->cursor)
        after_cursor(f, q->cursor);
    mongo_filter_done(f);
}

static bson_t *query_sort(void) {
    return BCON_NEW("recorded_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
}

void mongo_observations_query(const mongo_obs_query_t *q, bson_t *filter, bson_t *opts) {
    mongo_filter_t f;
    query_filter(q, &f);
    bson_copy_to(&f.doc, filter);
    bson_destroy(&f.doc);
    bson_t *sort = query_sort();
    bson_init(opts);
    BSON_APPEND_DOCUMENT(opts, "sort", sort);
    BSON_APPEND_INT64(opts, "limit", q->limit + 1);
    bson_destroy(sort);
}

store_status_t mongo_observations_find(const mongo_obs_query_t *q, mongo_obs_page_t *out) {
    memset(out, 0, sizeof *out);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    mongo_filter_t f;
    query_filter(q, &f);
    bson_t *sort = query_sort();
    bool more;
    st = mongo_find_page(&op, &f.doc, sort, q->limit, read_obs, sizeof *out->items,
                         (void **)&out->items, &out->n, &more);
    if (st == STORE_OK && more) {
        const mongo_observation_t *last = &out->items[out->n - 1];
        snprintf(out->next_cursor, sizeof out->next_cursor, "%lld-%s",
                 (long long)last->recorded_at_ms, last->id);
    }
    bson_destroy(sort);
    bson_destroy(&f.doc);
    mongo_op_end(&op);
    return st;
}

void mongo_obs_page_free(mongo_obs_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}
