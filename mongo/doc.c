/* Document accessors and the shared find loop; see doc.h. */
#include "doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mongo_doc_utf8(const bson_t *doc, const char *key, char *out, size_t cap) {
    bson_iter_t it;
    out[0] = '\0';
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    snprintf(out, cap, "%s", bson_iter_utf8(&it, NULL));
    return true;
}

int64_t mongo_doc_date(const bson_t *doc, const char *key) {
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DATE_TIME(&it)
               ? bson_iter_date_time(&it)
               : 0;
}

bool mongo_doc_number(const bson_t *doc, const char *key, double *out) {
    bson_iter_t it, found;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, key, &found) ||
        !BSON_ITER_HOLDS_NUMBER(&found))
        return false;
    *out = bson_iter_as_double(&found);
    return true;
}

bool mongo_doc_oid(const bson_t *doc, char out[25]) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_OID(&it))
        return false;
    bson_oid_to_string(bson_iter_oid(&it), out);
    return true;
}

bool mongo_doc_value(const bson_t *reply, bson_t *value) {
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, reply, "value") || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    bson_iter_document(&it, &len, &data);
    return bson_init_static(value, data, len);
}

store_status_t mongo_find(mongo_op_t *op, const bson_t *filter, const bson_t *opts,
                          mongo_read_fn read, void *items, size_t item_size, int max, int *n) {
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op->coll, filter, opts, NULL);
    const bson_t *doc;
    *n = 0;
    while (*n < max && mongoc_cursor_next(cur, &doc)) {
        if (read(doc, (char *)items + (size_t)*n * item_size))
            (*n)++;
    }
    bson_error_t e;
    store_status_t st = mongoc_cursor_error(cur, &e) ? mongo_error_status(&e) : STORE_OK;
    mongoc_cursor_destroy(cur);
    return st;
}

void mongo_filter_init(mongo_filter_t *f) {
    bson_init(&f->doc);
    BSON_APPEND_ARRAY_BEGIN(&f->doc, "$and", &f->and);
    f->n = 0;
}

bson_t *mongo_filter_clause(mongo_filter_t *f, bson_t *clause) {
    char key[16];
    snprintf(key, sizeof key, "%d", f->n++);
    BSON_APPEND_DOCUMENT_BEGIN(&f->and, key, clause);
    return clause;
}

void mongo_filter_clause_end(mongo_filter_t *f, bson_t *clause) {
    bson_append_document_end(&f->and, clause);
}

/* Appends {path: {op: <value appended by the caller>}} around one value. */
#define COMPARE(f, path, append)                                                                   \
    do {                                                                                           \
        bson_t clause_, cmp_;                                                                      \
        mongo_filter_clause(f, &clause_);                                                          \
        BSON_APPEND_DOCUMENT_BEGIN(&clause_, path, &cmp_);                                         \
        append;                                                                                    \
        bson_append_document_end(&clause_, &cmp_);                                                 \
        mongo_filter_clause_end(f, &clause_);                                                      \
    } while (0)

void mongo_filter_range(mongo_filter_t *f, const char *path, double lo, double hi) {
    COMPARE(f, path,
            (BSON_APPEND_DOUBLE(&cmp_, "$gte", lo), BSON_APPEND_DOUBLE(&cmp_, "$lte", hi)));
}

void mongo_filter_utf8(mongo_filter_t *f, const char *path, const char *op, const char *value) {
    COMPARE(f, path, BSON_APPEND_UTF8(&cmp_, op, value));
}

void mongo_filter_int64(mongo_filter_t *f, const char *path, const char *op, int64_t value) {
    COMPARE(f, path, BSON_APPEND_INT64(&cmp_, op, value));
}

void mongo_filter_date(mongo_filter_t *f, const char *path, const char *op, int64_t ms) {
    COMPARE(f, path, BSON_APPEND_DATE_TIME(&cmp_, op, ms));
}

void mongo_filter_or(mongo_filter_t *f, const bson_t *a, const bson_t *b) {
    bson_t clause, or ;
    mongo_filter_clause(f, &clause);
    BSON_APPEND_ARRAY_BEGIN(&clause, "$or", & or);
    BSON_APPEND_DOCUMENT(& or, "0", a);
    BSON_APPEND_DOCUMENT(& or, "1", b);
    bson_append_array_end(&clause, & or);
    mongo_filter_clause_end(f, &clause);
}

void mongo_filter_lon_range(mongo_filter_t *f, const char *path, double min_lon, double max_lon) {
    if (min_lon <= max_lon) {
        mongo_filter_range(f, path, min_lon, max_lon);
        return;
    }
    bson_t *east = BCON_NEW(path, "{", "$gte", BCON_DOUBLE(min_lon), "}");
    bson_t *west = BCON_NEW(path, "{", "$lte", BCON_DOUBLE(max_lon), "}");
    mongo_filter_or(f, east, west);
    bson_destroy(east);
    bson_destroy(west);
}

void mongo_filter_bbox(mongo_filter_t *f, const char *lat_path, const char *lon_path,
                       double min_lon, double min_lat, double max_lon, double max_lat) {
    mongo_filter_range(f, lat_path, min_lat, max_lat);
    mongo_filter_lon_range(f, lon_path, min_lon, max_lon);
}

void mongo_filter_done(mongo_filter_t *f) {
    if (f->n == 0) {
        bson_t empty;
        mongo_filter_clause(f, &empty);
        mongo_filter_clause_end(f, &empty);
    }
    bson_append_array_end(&f->doc, &f->and);
}

store_status_t mongo_find_page(mongo_op_t *op, const bson_t *filter, const bson_t *sort, int limit,
                               mongo_read_fn read, size_t item_size, void **items, int *n,
                               bool *more) {
    *n = 0;
    *more = false;
    *items = calloc((size_t)limit + 1, item_size);
    if (!*items)
        return STORE_ERROR;
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&opts, "sort", sort);
    BSON_APPEND_INT64(&opts, "limit", limit + 1);
    store_status_t st = mongo_find(op, filter, &opts, read, *items, item_size, limit + 1, n);
    bson_destroy(&opts);
    if (st != STORE_OK) { /* nothing to hand back: the caller frees nothing on failure */
        free(*items);
        *items = NULL;
        *n = 0;
    } else if (*n > limit) {
        *n = limit;
        *more = true;
    }
    return st;
}
