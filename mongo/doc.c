/* Document accessors and the shared find loop; see doc.h. */
#include "doc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/timefmt.h"

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

const char *mongo_doc_str(const bson_t *doc, const char *key) {
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

bool mongo_doc_has_date(const bson_t *doc, const char *key, int64_t *ms) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DATE_TIME(&it))
        return false;
    *ms = bson_iter_date_time(&it);
    return true;
}

bool mongo_doc_absent(const bson_t *doc, const char *key) {
    bson_iter_t it;
    return !bson_iter_init_find(&it, doc, key) || BSON_ITER_HOLDS_NULL(&it);
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

/* Documents a page reads beyond its size, for those that break the schema. */
#define PAGE_SLACK 100

static const char *const schema_colls[] = MONGO_SCHEMA_COLLECTIONS;
#define NCOLLS (sizeof schema_colls / sizeof schema_colls[0])
static atomic_ulong schema_errors[NCOLLS + 1]; /* the last: any other collection */
static atomic_llong schema_logged_ms;

unsigned long mongo_schema_errors(int collection) {
    return collection >= 0 && (size_t)collection <= NCOLLS ? atomic_load(&schema_errors[collection])
                                                           : 0;
}

/* The _id of a document, for a log line: hex, a (cut) string, or its type. */
static void describe_id(const bson_t *doc, char *out, size_t cap) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        snprintf(out, cap, "(none)");
    else if (BSON_ITER_HOLDS_OID(&it))
        bson_oid_to_string(bson_iter_oid(&it), out);
    else if (BSON_ITER_HOLDS_UTF8(&it))
        snprintf(out, cap, "\"%.64s\" (a string)", bson_iter_utf8(&it, NULL));
    else
        snprintf(out, cap, "(a value of BSON type %d)", (int)bson_iter_type(&it));
}

void mongo_schema_error(const char *coll, const bson_t *doc, const char *why) {
    size_t i = 0;
    while (i < NCOLLS && strcmp(schema_colls[i], coll) != 0)
        i++;
    unsigned long n = atomic_fetch_add(&schema_errors[i], 1) + 1;
    /* at most one line a second, so a list that keeps meeting the same bad
     * document cannot flood the log; the counter has every one */
    long long now = (long long)core_now_ms(), last = atomic_load(&schema_logged_ms);
    if (now - last < 1000 || !atomic_compare_exchange_strong(&schema_logged_ms, &last, now))
        return;
    char id[96];
    describe_id(doc, id, sizeof id);
    log_event(LOG_WARN,
              "mongodb: skipped a %s document that breaks the schema: _id %s: %s (%lu so far)",
              coll, id, why, n);
}

/* mongo_find that also counts every document seen, skipped or not. */
static store_status_t find_counted(mongo_op_t *op, const bson_t *filter, const bson_t *opts,
                                   mongo_read_fn read, void *items, size_t item_size, int max,
                                   int *n, int *seen) {
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op->coll, filter, opts, NULL);
    const bson_t *doc;
    *n = 0;
    while (*n < max && mongoc_cursor_next(cur, &doc)) {
        (*seen)++;
        const char *why = read(doc, (char *)items + (size_t)*n * item_size);
        if (!why)
            (*n)++;
        else
            mongo_schema_error(mongoc_collection_get_name(op->coll), doc, why);
    }
    bson_error_t e;
    store_status_t st = mongoc_cursor_error(cur, &e) ? mongo_error_status(&e) : STORE_OK;
    mongoc_cursor_destroy(cur);
    return st;
}

store_status_t mongo_find(mongo_op_t *op, const bson_t *filter, const bson_t *opts,
                          mongo_read_fn read, void *items, size_t item_size, int max, int *n) {
    int seen = 0;
    return find_counted(op, filter, opts, read, items, item_size, max, n, &seen);
}

store_status_t mongo_find_one(mongo_op_t *op, const bson_t *filter, mongo_read_fn read, void *item,
                              const char **why) {
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op->coll, filter, opts, NULL);
    bson_destroy(opts);
    const bson_t *doc;
    store_status_t st = STORE_NOT_FOUND;
    if (mongoc_cursor_next(cur, &doc)) {
        const char *bad = read(doc, item);
        st = bad ? STORE_BAD_DATA : STORE_OK;
        if (bad)
            mongo_schema_error(mongoc_collection_get_name(op->coll), doc, bad);
        if (why)
            *why = bad;
    }
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e))
        st = mongo_error_status(&e);
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
    /* documents that break the schema are skipped, so ask for some more than
     * the page and one to know whether another follows */
    int ask = limit + 1 + PAGE_SLACK;
    BSON_APPEND_INT64(&opts, "limit", ask);
    int seen = 0;
    store_status_t st =
        find_counted(op, filter, &opts, read, *items, item_size, limit + 1, n, &seen);
    bson_destroy(&opts);
    if (st != STORE_OK) { /* nothing to hand back: the caller frees nothing on failure */
        free(*items);
        *items = NULL;
        *n = 0;
    } else if (*n > limit) {
        *n = limit;
        *more = true;
    } else if (seen == ask && *n > 0) {
        *more = true; /* more skipped documents than the slack: the next page goes on */
    }
    return st;
}
