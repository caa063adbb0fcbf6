/*
 * Reading documents and running finds: the typed accessors every collection
 * module uses, and one find loop for every collection.
 *
 * Documents may have been written by other tools. A document that breaks its
 * collection's schema (a required field missing or of the wrong type) is never
 * filled in with invented values: its reader names the field, and the find
 * loop skips the document, counts it (mongo_schema_errors) and logs it (at most
 * one line a second). A read of one document by id reports STORE_BAD_DATA.
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

/* A UTF-8 field as a borrowed string; NULL when absent or not a string. */
const char *mongo_doc_str(const bson_t *doc, const char *key);

/* True when the field is present and a date; *ms is its value. */
bool mongo_doc_has_date(const bson_t *doc, const char *key, int64_t *ms);

/* True when the field is absent or null. */
bool mongo_doc_absent(const bson_t *doc, const char *key);

/* Reads one found document into an item. Returns NULL when the document has
 * the collection's shape, else what breaks it (a static text naming the
 * field: "'created_at' is missing or not a date"). */
typedef const char *(*mongo_read_fn)(const bson_t *doc, void *item);

/* Runs find(filter, opts) on op's collection and reads up to max documents
 * that have the collection's shape into items (an array of item_size
 * elements); *n is how many were read. Documents that break the schema are
 * skipped, counted and logged (see above), and do not count towards max. */
store_status_t mongo_find(mongo_op_t *op, const bson_t *filter, const bson_t *opts,
                          mongo_read_fn read, void *items, size_t item_size, int max, int *n);

/* Reads the one document that matches filter (by _id) into item:
 * STORE_NOT_FOUND when there is none, STORE_BAD_DATA when it breaks the
 * schema (counted and logged; *why, when not NULL, says what breaks it). */
store_status_t mongo_find_one(mongo_op_t *op, const bson_t *filter, mongo_read_fn read, void *item,
                              const char **why);

/* Counts and logs a document of collection coll that breaks its schema. */
void mongo_schema_error(const char *coll, const bson_t *doc, const char *why);

/* Documents that broke their collection's schema since start-up: users,
 * observations, road_segments (an index into MONGO_SCHEMA_COLLECTIONS). */
#define MONGO_SCHEMA_COLLECTIONS                                                                   \
    { "users", "observations", "road_segments" }
unsigned long mongo_schema_errors(int collection);

/* One page of find(filter) in sort order: up to limit items, read into a new
 * array *items of item_size elements (the caller frees it after STORE_OK; on
 * failure it is NULL); *more tells whether another page follows (documents
 * are read until one more than the page, or the end, is found). */
store_status_t mongo_find_page(mongo_op_t *op, const bson_t *filter, const bson_t *sort, int limit,
                               mongo_read_fn read, size_t item_size, void **items, int *n,
                               bool *more);

#endif
