/* Road segments and their queue; see segments.h. */
#include "segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "doc.h"
#include "observations.h"

#define COLLECTION "road_segments"
#define QUEUE "segment_queue"
/* Statements per update command. FerretDB v1.24 (SQLite) keeps every matched
 * statement's read open until the command ends, on a pool of 100 connections:
 * a command of 100 updates of existing documents waits for itself forever and
 * wedges the server. Small commands never come near that. */
#define WRITE_CHUNK 16

static bool number_in(const bson_t *doc, const char *key, double lo, double hi, double *out) {
    return mongo_doc_number(doc, key, out) && *out >= lo && *out <= hi;
}

const char *mongo_segment_from_bson(const bson_t *doc, mongo_segment_t *out) {
    memset(out, 0, sizeof *out);
    const char *cell = mongo_doc_str(doc, "_id");
    double count = 0;
    if (!cell || !core_geohash_valid(cell, MONGO_SEGMENT_PRECISION))
        return "'_id' is not a geohash of 7 characters";
    memcpy(out->cell, cell, MONGO_SEGMENT_PRECISION + 1);
    if (!number_in(doc, "count", 1, 9e15, &count) || count != floor(count))
        return "'count' is missing or not a whole number of at least 1";
    out->count = (long long)count;
    if (!number_in(doc, "quality_sum", 0, count, &out->quality_sum))
        return "'quality_sum' is missing or not a number from 0 to count";
    out->avg_quality = out->quality_sum / (double)out->count;
    if (!number_in(doc, "center.latitude", -90, 90, &out->latitude) ||
        !number_in(doc, "center.longitude", -180, 180, &out->longitude))
        return "'center' is missing or not {latitude, longitude}";
    if (!mongo_doc_has_date(doc, "updated_at", &out->updated_at_ms))
        return "'updated_at' is missing or not a date";
    return NULL;
}

static const char *read_segment(const bson_t *doc, void *item) {
    return mongo_segment_from_bson(doc, item);
}

store_status_t mongo_segments_enqueue(const mongo_op_t *op, const mongo_observation_t *obs,
                                      size_t n, int64_t now_ms) {
    bson_t *docs = calloc(n, sizeof *docs);
    const bson_t **ptrs = calloc(n, sizeof *ptrs);
    if (!docs || !ptrs) {
        free(docs);
        free(ptrs);
        return STORE_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, obs[i].id);
        bson_init(&docs[i]);
        BSON_APPEND_OID(&docs[i], "_id", &oid);
        BSON_APPEND_UTF8(&docs[i], "geohash", obs[i].geohash);
        BSON_APPEND_DATE_TIME(&docs[i], "created_at", now_ms);
        ptrs[i] = &docs[i];
    }
    mongoc_collection_t *queue = mongo_op_collection(op, QUEUE);
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t reply;
    bson_error_t e;
    store_status_t st = STORE_OK;
    if (!mongoc_collection_insert_many(queue, ptrs, n, opts, &reply, &e)) {
        /* duplicates are entries of an earlier attempt; any other error counts */
        bson_iter_t it, errs;
        bool only_dups = bson_iter_init_find(&it, &reply, "writeErrors") &&
                         BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errs);
        while (only_dups && bson_iter_next(&errs)) {
            bson_iter_t code;
            only_dups = bson_iter_recurse(&errs, &code) && bson_iter_find(&code, "code") &&
                        mongo_error_duplicate((uint32_t)bson_iter_as_int64(&code));
        }
        if (!only_dups)
            st = mongo_error_status(&e) == STORE_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_ERROR;
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    mongoc_collection_destroy(queue);
    for (size_t i = 0; i < n; i++)
        bson_destroy(&docs[i]);
    free(docs);
    free(ptrs);
    return st;
}

/* ---- the aggregator's pass ---- */

typedef struct {
    bson_oid_t id;
    char cell[CORE_GEOHASH_MAX + 1]; /* "" when the entry has no valid geohash */
    int64_t created_ms;
    bool seen; /* its observation was read in step 2 */
} entry_t;

typedef struct {
    char cell[CORE_GEOHASH_MAX + 1];
    long long count;
    double sum;
    bool exists;    /* it has a road_segments document */
    bool unchanged; /* ... with these very figures (a retry, a recount): no write */
} cell_t;

static int cmp_entry(const void *a, const void *b) {
    return bson_oid_compare(&((const entry_t *)a)->id, &((const entry_t *)b)->id);
}

static int cmp_cell(const void *a, const void *b) {
    return strcmp(((const cell_t *)a)->cell, ((const cell_t *)b)->cell);
}

/* Step 1: up to max entries, oldest first (natural order). */
static store_status_t read_queue(mongoc_collection_t *queue, int max, entry_t *entries, int *n) {
    bson_t *filter = bson_new(), *opts = BCON_NEW("limit", BCON_INT64(max));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(queue, filter, opts, NULL);
    const bson_t *doc;
    *n = 0;
    while (*n < max && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        entry_t *e = &entries[*n];
        memset(e, 0, sizeof *e);
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_OID(&it))
            continue; /* not one of ours: nothing to delete it by either */
        bson_oid_copy(bson_iter_oid(&it), &e->id);
        const char *cell = mongo_doc_str(doc, "geohash");
        if (cell && core_geohash_valid(cell, MONGO_SEGMENT_PRECISION))
            memcpy(e->cell, cell, MONGO_SEGMENT_PRECISION + 1);
        mongo_doc_has_date(doc, "created_at", &e->created_ms);
        (*n)++;
    }
    bson_error_t err;
    store_status_t st = mongoc_cursor_error(cur, &err) ? mongo_error_status(&err) : STORE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return st;
}

/* The distinct cells of the entries, sorted, into cells; returns how many. */
static int distinct_cells(const entry_t *entries, int n, cell_t *cells) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (entries[i].cell[0])
            memcpy(cells[k++].cell, entries[i].cell, sizeof cells->cell);
    qsort(cells, (size_t)k, sizeof *cells, cmp_cell);
    int u = 0;
    for (int i = 0; i < k; i++)
        if (u == 0 || strcmp(cells[u - 1].cell, cells[i].cell) != 0)
            cells[u++] = cells[i];
    return u;
}

/* Adds one observation of the read to its cell, and marks its entry seen. */
static void tally(const bson_t *doc, cell_t *cells, int k, entry_t *entries, int n) {
    cell_t key = {.count = 0};
    bson_iter_t it;
    const char *cell = mongo_doc_str(doc, "geohash");
    if (!cell || strlen(cell) >= sizeof key.cell)
        return;
    strcpy(key.cell, cell);
    cell_t *c = bsearch(&key, cells, (size_t)k, sizeof *cells, cmp_cell);
    if (!c)
        return;
    entry_t probe = {.seen = false};
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_OID(&it)) {
        bson_oid_copy(bson_iter_oid(&it), &probe.id);
        entry_t *e = bsearch(&probe, entries, (size_t)n, sizeof *entries, cmp_entry);
        if (e)
            e->seen = true;
    }
    double q;
    if (!number_in(doc, "quality", 0, 1, &q)) {
        mongo_schema_error("observations", doc, "'quality' is missing or not a number from 0 to 1");
        return;
    }
    c->count++;
    c->sum += q;
}

/* {field: {$in: [the cells]}} into filter (initialized here). */
static void cells_in(bson_t *filter, const char *field, const cell_t *cells, int k) {
    bson_t in, list;
    bson_init(filter);
    BSON_APPEND_DOCUMENT_BEGIN(filter, field, &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (int i = 0; i < k; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        BSON_APPEND_UTF8(&list, key, cells[i].cell);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(filter, &in);
}

/* Step 2: every observation of the cells (entries sorted by id). */
static store_status_t count_cells(mongoc_collection_t *obs, cell_t *cells, int k, entry_t *entries,
                                  int n) {
    bson_t filter;
    cells_in(&filter, "geohash", cells, k);
    /* covered by the index geohash_1_quality_1__id_1 on MongoDB */
    bson_t *opts = BCON_NEW("projection", "{", "geohash", BCON_INT32(1), "quality", BCON_INT32(1),
                            "_id", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(obs, &filter, opts, NULL);
    const bson_t *doc;
    while (mongoc_cursor_next(cur, &doc))
        tally(doc, cells, k, entries, n);
    bson_error_t e;
    store_status_t st = mongoc_cursor_error(cur, &e) ? mongo_error_status(&e) : STORE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    return st;
}

/* The figures of a cell's segment into doc (initialized by the caller). */
static void segment_fields(const cell_t *c, int64_t now_ms, bson_t *doc) {
    double lat0, lon0, lat1, lon1;
    bson_t center;
    core_geohash_decode(c->cell, &lat0, &lon0, &lat1, &lon1);
    BSON_APPEND_INT64(doc, "count", c->count);
    BSON_APPEND_DOUBLE(doc, "quality_sum", c->sum);
    BSON_APPEND_DOUBLE(doc, "avg_quality", c->sum / (double)c->count);
    BSON_APPEND_DOCUMENT_BEGIN(doc, "center", &center);
    BSON_APPEND_DOUBLE(&center, "latitude", (lat0 + lat1) / 2);
    BSON_APPEND_DOUBLE(&center, "longitude", (lon0 + lon1) / 2);
    bson_append_document_end(doc, &center);
    BSON_APPEND_DATE_TIME(doc, "updated_at", now_ms);
}

/* Which cells have a segment already, and which of those hold the figures
 * just counted (one read). */
static store_status_t mark_existing(mongoc_collection_t *segs, cell_t *cells, int k) {
    bson_t filter;
    cells_in(&filter, "_id", cells, k);
    bson_t *opts = BCON_NEW("projection", "{", "count", BCON_INT32(1), "quality_sum", BCON_INT32(1),
                            "center", BCON_INT32(1), "updated_at", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(segs, &filter, opts, NULL);
    const bson_t *doc;
    while (mongoc_cursor_next(cur, &doc)) {
        cell_t key = {.count = 0};
        const char *id = mongo_doc_str(doc, "_id");
        if (!id || strlen(id) >= sizeof key.cell)
            continue;
        strcpy(key.cell, id);
        cell_t *c = bsearch(&key, cells, (size_t)k, sizeof *cells, cmp_cell);
        mongo_segment_t old;
        if (!c)
            continue;
        c->exists = true;
        c->unchanged = !mongo_segment_from_bson(doc, &old) && old.count == c->count &&
                       old.quality_sum == c->sum;
    }
    bson_error_t e;
    store_status_t st = mongoc_cursor_error(cur, &e) ? mongo_error_status(&e) : STORE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    return st;
}

/* New segments in one bulk insert: inserts cost FerretDB a transaction per
 * hundred documents, updates one per document. A cell created meanwhile
 * (a duplicate) is marked existing, for write_cells. */
static store_status_t insert_new(mongoc_collection_t *segs, cell_t *cells, int k, int64_t now_ms) {
    bson_t *docs = calloc((size_t)k, sizeof *docs);
    const bson_t **ptrs = calloc((size_t)k, sizeof *ptrs);
    int *which = calloc((size_t)k, sizeof *which), n = 0;
    store_status_t st = docs && ptrs && which ? STORE_OK : STORE_ERROR;
    for (int i = 0; st == STORE_OK && i < k; i++) {
        if (cells[i].exists || cells[i].count == 0)
            continue;
        bson_init(&docs[n]);
        BSON_APPEND_UTF8(&docs[n], "_id", cells[i].cell);
        segment_fields(&cells[i], now_ms, &docs[n]);
        ptrs[n] = &docs[n];
        which[n++] = i;
    }
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false)), reply = BSON_INITIALIZER;
    bson_error_t e;
    if (st == STORE_OK && n > 0 &&
        !mongoc_collection_insert_many(segs, ptrs, (size_t)n, opts, &reply, &e)) {
        bson_iter_t it, errs;
        if (!bson_iter_init_find(&it, &reply, "writeErrors") || !bson_iter_recurse(&it, &errs))
            st = mongo_error_status(&e) == STORE_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_ERROR;
        while (st == STORE_OK && bson_iter_next(&errs)) {
            bson_iter_t field;
            int64_t index = -1, code = 0;
            if (bson_iter_recurse(&errs, &field) && bson_iter_find(&field, "index"))
                index = bson_iter_as_int64(&field);
            if (bson_iter_recurse(&errs, &field) && bson_iter_find(&field, "code"))
                code = bson_iter_as_int64(&field);
            if (index < 0 || index >= n || !mongo_error_duplicate((uint32_t)code))
                st = STORE_ERROR;
            else
                cells[which[index]].exists = true;
        }
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    for (int i = 0; i < n; i++)
        bson_destroy(&docs[i]);
    free(docs);
    free(ptrs);
    free(which);
    return st;
}

/* One existing cell's write: its absolute figures, or its removal when no
 * valid observation is left in it. */
static void append_write(mongoc_bulk_operation_t *bulk, const cell_t *c, int64_t now_ms) {
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(c->cell));
    if (c->count == 0) {
        mongoc_bulk_operation_remove_one_with_opts(bulk, filter, NULL, NULL);
        bson_destroy(filter);
        return;
    }
    bson_t update = BSON_INITIALIZER, set;
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    segment_fields(c, now_ms, &set);
    bson_append_document_end(&update, &set);
    mongoc_bulk_operation_update_one_with_opts(bulk, filter, &update, NULL, NULL);
    bson_destroy(filter);
    bson_destroy(&update);
}

/* Step 3: new cells in one insert, existing ones in update commands of
 * WRITE_CHUNK cells, each under the lease. */
static store_status_t write_cells(mongoc_client_t *c, mongoc_collection_t *segs, cell_t *cells,
                                  int k, bool (*hold)(mongoc_client_t *c)) {
    store_status_t st = mark_existing(segs, cells, k);
    if (st != STORE_OK)
        return st;
    if (!hold(c)) /* the lease is lost: its next holder does the work */
        return STORE_UNAVAILABLE;
    st = insert_new(segs, cells, k, core_now_ms());
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    for (int at = 0; at < k && st == STORE_OK; at += WRITE_CHUNK) {
        mongoc_bulk_operation_t *bulk = NULL;
        for (int i = at; i < k && i < at + WRITE_CHUNK; i++) {
            if (!cells[i].exists || cells[i].unchanged)
                continue;
            if (!bulk)
                bulk = mongoc_collection_create_bulk_operation_with_opts(segs, opts);
            append_write(bulk, &cells[i], core_now_ms());
        }
        if (!bulk)
            continue;
        if (!hold(c)) {
            mongoc_bulk_operation_destroy(bulk);
            st = STORE_UNAVAILABLE;
            break;
        }
        bson_t reply;
        bson_error_t e;
        if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
            st = mongo_error_status(&e);
        bson_destroy(&reply);
        mongoc_bulk_operation_destroy(bulk);
    }
    bson_destroy(opts);
    return st == STORE_CONFLICT ? STORE_ERROR : st;
}

/* Step 4: the entries seen in step 2, and orphans. *done counts them. */
static store_status_t delete_entries(mongoc_collection_t *queue, const entry_t *entries, int n,
                                     int64_t now_ms, int *done) {
    bson_t filter = BSON_INITIALIZER, in, list;
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    *done = 0;
    for (int i = 0; i < n; i++) {
        /* an entry without a valid cell has nothing to wait for */
        if (!entries[i].seen && entries[i].cell[0] &&
            entries[i].created_ms > now_ms - MONGO_QUEUE_ORPHAN_MS)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", (*done)++);
        BSON_APPEND_OID(&list, key, &entries[i].id);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(&filter, &in);
    bson_error_t e;
    store_status_t st = STORE_OK;
    if (*done > 0 && !mongoc_collection_delete_many(queue, &filter, NULL, NULL, &e))
        st = mongo_error_status(&e);
    bson_destroy(&filter);
    return st;
}

store_status_t mongo_segments_pass(mongoc_client_t *c, int max, bool (*hold)(mongoc_client_t *c),
                                   int *done, bool *more) {
    *done = 0;
    *more = false;
    const char *db = mongo_db_name();
    mongoc_collection_t *queue = mongoc_client_get_collection(c, db, QUEUE),
                        *obs = mongoc_client_get_collection(c, db, "observations"),
                        *segs = mongoc_client_get_collection(c, db, COLLECTION);
    entry_t *entries = calloc((size_t)max, sizeof *entries);
    cell_t *cells = calloc((size_t)max, sizeof *cells);
    int n = 0, k = 0;
    store_status_t st = entries && cells ? read_queue(queue, max, entries, &n) : STORE_ERROR;
    if (st == STORE_OK && n > 0) {
        *more = n == max;
        qsort(entries, (size_t)n, sizeof *entries, cmp_entry);
        k = distinct_cells(entries, n, cells);
        st = k > 0 ? count_cells(obs, cells, k, entries, n) : STORE_OK;
        if (st == STORE_OK)
            st = write_cells(c, segs, cells, k, hold);
        if (st == STORE_OK)
            st = delete_entries(queue, entries, n, core_now_ms(), done);
    }
    free(entries);
    free(cells);
    mongoc_collection_destroy(queue);
    mongoc_collection_destroy(obs);
    mongoc_collection_destroy(segs);
    return st;
}

/* ---- reads ---- */

store_status_t mongo_segments_get(const char *cell, mongo_segment_t *out, const char **why) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(cell));
    st = mongo_find_one(&op, filter, read_segment, out, why);
    bson_destroy(filter);
    mongo_op_end(&op);
    return st;
}

static void query_filter(const mongo_segment_query_t *q, mongo_filter_t *f) {
    mongo_filter_init(f);
    if (q->has_bbox)
        mongo_filter_bbox(f, "center.latitude", "center.longitude", q->min_lon, q->min_lat,
                          q->max_lon, q->max_lat);
    mongo_filter_int64(f, "count", "$gte", q->min_count);
    if (q->cursor)
        mongo_filter_utf8(f, "_id", "$gt", q->cursor);
    mongo_filter_done(f);
}

void mongo_segments_query(const mongo_segment_query_t *q, bson_t *filter, bson_t *opts) {
    mongo_filter_t f;
    query_filter(q, &f);
    bson_copy_to(&f.doc, filter);
    bson_destroy(&f.doc);
    bson_init(opts);
    bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
    BSON_APPEND_DOCUMENT(opts, "sort", sort);
    BSON_APPEND_INT64(opts, "limit", q->limit + 1);
    bson_destroy(sort);
}

store_status_t mongo_segments_find(const mongo_segment_query_t *q, mongo_segment_page_t *out) {
    memset(out, 0, sizeof *out);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    mongo_filter_t f;
    query_filter(q, &f);
    bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
    bool more;
    st = mongo_find_page(&op, &f.doc, sort, q->limit, read_segment, sizeof *out->items,
                         (void **)&out->items, &out->n, &more);
    if (st == STORE_OK && more)
        snprintf(out->next_cursor, sizeof out->next_cursor, "%s", out->items[out->n - 1].cell);
    bson_destroy(sort);
    bson_destroy(&f.doc);
    mongo_op_end(&op);
    return st;
}

void mongo_segment_page_free(mongo_segment_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}
