/* Road segments; see segments.h. */
#include "segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"

#define COLLECTION "road_segments"

bool mongo_segment_from_bson(const bson_t *doc, mongo_segment_t *out) {
    memset(out, 0, sizeof *out);
    double count = 0;
    if (!mongo_doc_utf8(doc, "_id", out->cell, sizeof out->cell) ||
        !mongo_doc_number(doc, "count", &count) || count <= 0)
        return false;
    out->count = (long long)count;
    mongo_doc_number(doc, "quality_sum", &out->quality_sum);
    out->avg_quality = out->quality_sum / (double)out->count;
    mongo_doc_number(doc, "center.latitude", &out->latitude);
    mongo_doc_number(doc, "center.longitude", &out->longitude);
    out->updated_at_ms = mongo_doc_date(doc, "updated_at");
    return true;
}

static bool read_segment(const bson_t *doc, void *item) {
    return mongo_segment_from_bson(doc, item);
}

/* Sums per distinct cell, so each cell gets one $inc however many deltas it has. */
typedef struct {
    const char *cell;
    long long count;
    double sum;
} cell_sum_t;

static size_t group(const mongo_segment_delta_t *d, size_t n, cell_sum_t *cells) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && strcmp(cells[j].cell, d[i].cell) != 0)
            j++;
        if (j == k)
            cells[k++] = (cell_sum_t){d[i].cell, 0, 0};
        cells[j].count++;
        cells[j].sum += d[i].quality;
    }
    return k;
}

static void append_inc(mongoc_bulk_operation_t *bulk, const cell_sum_t *c, int64_t now_ms) {
    double lat0, lon0, lat1, lon1;
    core_geohash_decode(c->cell, &lat0, &lon0, &lat1, &lon1);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(c->cell));
    bson_t *update =
        BCON_NEW("$inc", "{", "count", BCON_INT64(c->count), "quality_sum", BCON_DOUBLE(c->sum),
                 "}", "$set", "{", "updated_at", BCON_DATE_TIME(now_ms), "}", "$setOnInsert", "{",
                 "center", "{", "latitude", BCON_DOUBLE((lat0 + lat1) / 2), "longitude",
                 BCON_DOUBLE((lon0 + lon1) / 2), "}", "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, opts, NULL);
    bson_destroy(filter);
    bson_destroy(update);
    bson_destroy(opts);
}

static store_status_t run_bulk(mongoc_bulk_operation_t *bulk) {
    bson_t reply;
    bson_error_t e;
    store_status_t st =
        mongoc_bulk_operation_execute(bulk, &reply, &e) ? STORE_OK : mongo_error_status(&e);
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    return st;
}

/* Sets avg_quality on each cell whose count is still the one read back. */
static store_status_t refresh_averages(mongoc_collection_t *coll, const cell_sum_t *cells,
                                       size_t k) {
    bson_t filter = BSON_INITIALIZER, id, in;
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &id);
    BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
    for (size_t i = 0; i < k; i++) {
        char key[16];
        snprintf(key, sizeof key, "%zu", i);
        BSON_APPEND_UTF8(&in, key, cells[i].cell);
    }
    bson_append_array_end(&id, &in);
    bson_append_document_end(&filter, &id);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
    bson_destroy(opts);
    const bson_t *doc;
    mongo_segment_t s;
    while (mongoc_cursor_next(cur, &doc)) {
        if (!mongo_segment_from_bson(doc, &s))
            continue;
        bson_t *f = BCON_NEW("_id", BCON_UTF8(s.cell), "count", BCON_INT64(s.count));
        bson_t *u = BCON_NEW("$set", "{", "avg_quality", BCON_DOUBLE(s.avg_quality), "}");
        mongoc_bulk_operation_update_one_with_opts(bulk, f, u, NULL, NULL);
        bson_destroy(f);
        bson_destroy(u);
    }
    bson_error_t e;
    store_status_t st = mongoc_cursor_error(cur, &e) ? mongo_error_status(&e) : STORE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    if (st != STORE_OK) {
        mongoc_bulk_operation_destroy(bulk);
        return st;
    }
    return run_bulk(bulk);
}

store_status_t mongo_segments_record(const mongo_op_t *op, const mongo_segment_delta_t *d, size_t n,
                                     int64_t now_ms) {
    cell_sum_t *cells = calloc(n ? n : 1, sizeof *cells);
    if (!cells)
        return STORE_ERROR;
    size_t k = group(d, n, cells);
    mongoc_collection_t *coll = mongo_op_collection(op, COLLECTION);
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
    bson_destroy(opts);
    for (size_t i = 0; i < k; i++)
        append_inc(bulk, &cells[i], now_ms);
    store_status_t st = run_bulk(bulk);
    if (st == STORE_OK)
        st = refresh_averages(coll, cells, k);
    mongoc_collection_destroy(coll);
    free(cells);
    return st;
}

store_status_t mongo_segments_get(const char *cell, mongo_segment_t *out) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(cell));
    int n;
    st = mongo_find(&op, filter, NULL, read_segment, out, sizeof *out, 1, &n);
    bson_destroy(filter);
    mongo_op_end(&op);
    return st == STORE_OK && n == 0 ? STORE_NOT_FOUND : st;
}

store_status_t mongo_segments_find(const mongo_segment_query_t *q, mongo_segment_page_t *out) {
    memset(out, 0, sizeof *out);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    mongo_filter_t f;
    mongo_filter_init(&f);
    if (q->has_bbox)
        mongo_filter_bbox(&f, "center.latitude", "center.longitude", q->min_lon, q->min_lat,
                          q->max_lon, q->max_lat);
    mongo_filter_int64(&f, "count", "$gte", q->min_count);
    if (q->cursor)
        mongo_filter_utf8(&f, "_id", "$gt", q->cursor);
    mongo_filter_done(&f);
    bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
    bool more;
    st = mongo_find_page(&op, &f.doc, sort, q->limit, read_segment, sizeof *out->items,
                         (void **)&out->items, &out->n, &more);
    if (st == STORE_OK && more)
        snprintf(out->next_cursor, sizeof out->next_cursor, "%s", out->items[q->limit - 1].cell);
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
