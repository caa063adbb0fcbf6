/*
 * Observations; see observations.h. The page cursor is the sort key of the
 * last item, "<recorded_at ms>-<_id hex>", so paging stays exact while new
 * observations arrive.
 */
#include "observations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    BSON_APPEND_UTF8(doc, "user_id", o->user_id);
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

bool mongo_observation_from_bson(const bson_t *doc, mongo_observation_t *out) {
    memset(out, 0, sizeof *out);
    bool ok = mongo_doc_oid(doc, out->id) &&
              mongo_doc_number(doc, "location.latitude", &out->latitude) &&
              mongo_doc_number(doc, "location.longitude", &out->longitude) &&
              mongo_doc_number(doc, "quality", &out->quality);
    mongo_doc_utf8(doc, "user_id", out->user_id, sizeof out->user_id);
    mongo_doc_utf8(doc, "geohash", out->geohash, sizeof out->geohash);
    out->has_speed = mongo_doc_number(doc, "speed_kmh", &out->speed_kmh);
    out->recorded_at_ms = mongo_doc_date(doc, "recorded_at");
    out->created_at_ms = mongo_doc_date(doc, "created_at");
    return ok;
}

static bool read_obs(const bson_t *doc, void *item) {
    return mongo_observation_from_bson(doc, item);
}

store_status_t mongo_observations_add(mongo_observation_t *obs, size_t n, int64_t now_ms) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t *docs = calloc(n, sizeof *docs);
    const bson_t **ptrs = calloc(n, sizeof *ptrs);
    mongo_segment_delta_t *deltas = calloc(n, sizeof *deltas);
    if (!docs || !ptrs || !deltas) {
        st = STORE_ERROR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        bson_oid_to_string(&oid, obs[i].id);
        core_geohash_encode(obs[i].latitude, obs[i].longitude, MONGO_SEGMENT_PRECISION,
                            obs[i].geohash);
        obs[i].created_at_ms = now_ms;
        bson_init(&docs[i]);
        mongo_observation_to_bson(&obs[i], &docs[i]);
        ptrs[i] = &docs[i];
        deltas[i] = (mongo_segment_delta_t){obs[i].geohash, obs[i].quality};
    }
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(true));
    bson_error_t e;
    if (!mongoc_collection_insert_many(op.coll, ptrs, n, opts, NULL, &e))
        st = mongo_error_status(&e);
    bson_destroy(opts);
    if (st == STORE_OK)
        st = mongo_segments_record(&op, deltas, n, now_ms);
    for (size_t i = 0; i < n; i++)
        bson_destroy(&docs[i]);
out:
    free(docs);
    free(ptrs);
    free(deltas);
    mongo_op_end(&op);
    return st;
}

store_status_t mongo_observations_get(const char *id, mongo_observation_t *out) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    int n;
    st = mongo_find(&op, filter, NULL, read_obs, out, sizeof *out, 1, &n);
    bson_destroy(filter);
    mongo_op_end(&op);
    return st == STORE_OK && n == 0 ? STORE_NOT_FOUND : st;
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

store_status_t mongo_observations_find(const mongo_obs_query_t *q, mongo_obs_page_t *out) {
    memset(out, 0, sizeof *out);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    mongo_filter_t f;
    mongo_filter_init(&f);
    if (q->has_bbox)
        mongo_filter_bbox(&f, "location.latitude", "location.longitude", q->min_lon, q->min_lat,
                          q->max_lon, q->max_lat);
    if (q->user_id)
        mongo_filter_utf8(&f, "user_id", "$eq", q->user_id);
    if (q->has_since)
        mongo_filter_date(&f, "recorded_at", "$gte", q->since_ms);
    if (q->has_until)
        mongo_filter_date(&f, "recorded_at", "$lt", q->until_ms);
    if (q->cursor)
        after_cursor(&f, q->cursor);
    mongo_filter_done(&f);
    bson_t *sort = BCON_NEW("recorded_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    bool more;
    st = mongo_find_page(&op, &f.doc, sort, q->limit, read_obs, sizeof *out->items,
                         (void **)&out->items, &out->n, &more);
    if (st == STORE_OK && more) {
        const mongo_observation_t *last = &out->items[q->limit - 1];
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
