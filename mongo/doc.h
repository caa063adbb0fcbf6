/*
 * Reading documents and running finds: the typed accessors every collection
 * module uses, so a field of an unexpected type (someone else's data) reads
 * as absent instead of crashing, and one find loop for every collection.
 */
#ifndef MONGO_DOC_H
#define MONGO_DOC_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

/* Copies a UTF-8 field into out (cap bytes); "" and false when absent. */
bool mongo_doc_utf8(const bson_t *doc, const char *key, char *out, size_t cap);

/* A date field in ms since the epoch; 0 when absent. */
int64_t mongo_doc_date(const bson_t *doc, const char *key);

/* A numeric field (double, int32 or int64) as a double; false when absent.
 * key may be dotted ("location.latitude"). */
bool mongo_doc_number(const bson_t *doc, const char *key, double *out);

/* The ObjectId _id as 24 hex digits; false when _id is not an ObjectId. */
bool mongo_doc_oid(const bson_t *doc, char out[25]);

/* The "value" document of a findAndModify reply, borrowed from reply. */
bool mongo_doc_value(const bson_t *reply, bson_t *value);

/* A query filter built as {$and: [clause, ...]}: each helper appends one
 * clause; mongo_filter_done closes it (an empty $and becomes [{}]). */
typedef struct {
    bson_t doc, and;
    int n;
} mongo_filter_t;

void mongo_filter_init(mongo_filter_t *f);
/* {path: {$gte: lo, $lte: hi}} */
void mongo_filter_range(mongo_filter_t *f, const char *path, double lo, double hi);
/* {path: {op: value}} with a string, an int64, a date or an ObjectId (hex) value */
void mongo_filter_utf8(mongo_filter_t *f, const char *path, const char *op, const char *value);
void mongo_filter_int64(mongo_filter_t *f, const char *path, const char *op, int64_t value);
void mongo_filter_date(mongo_filter_t *f, const char *path, const char *op, int64_t ms);
/* A longitude range; min_lon > max_lon crosses the antimeridian and becomes
 * {$or: [{path >= min_lon}, {path <= max_lon}]}. */
void mongo_filter_lon_range(mongo_filter_t *f, const char *path, double min_lon, double max_lon);
/* A bounding box on two numeric fields: a latitude range, and a longitude
 * range that may cross the antimeridian (mongo_filter_lon_range). */
void mongo_filter_bbox(mongo_filter_t *f, const char *lat_path, const char *lon_path,
                       double min_lon, double min_lat, double max_lon, double max_lat);
/* {$or: [a, b]} */
void mongo_filter_or(mongo_filter_t *f, const bson_t *a, const bson_t *b);
/* Begins a clause document the caller fills (e.g. an $or); end it with
 * mongo_filter_clause_end. */
bson_t *mongo_filter_clause(mongo_filter_t *f, bson_t *clause);
void mongo_filter_clause_end(mongo_filter_t *f, bson_t *clause);
/* Closes the $and; the filter is then f->doc (free with bson_destroy(&f->doc)). */
void mongo_filter_done(mongo_filter_t *f);

/* Reads one found document into an item; false skips the document. */
typedef bool (*mongo_read_fn)(const bson_t *doc, void *item);

/* Runs find(filter, opts) on op's collection and reads up to max documents
 * into items (an array of item_size elements); *n is how many were read. */
store_status_t mongo_find(mongo_op_t *op, const bson_t *filter, const bson_t *opts,
                          mongo_read_fn read, void *items, size_t item_size, int max, int *n);

/* One page of find(filter) in sort order: up to limit items, read into a new
 * array *items of item_size elements (the caller frees it after STORE_OK; on
 * failure it is NULL); *more tells whether another page follows (one extra
 * document is asked for to know). */
store_status_t mongo_find_page(mongo_op_t *op, const bson_t *filter, const bson_t *sort, int limit,
                               mongo_read_fn read, size_t item_size, void **items, int *n,
                               bool *more);

#endif
