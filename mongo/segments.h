/*
 * Road segments: the quality of each geohash-7 cell, computed from the
 * observations that fall in it. The "road_segments" collection:
 *   {_id: "<geohash7>", count, quality_sum, avg_quality, updated_at: date,
 *    center: {latitude, longitude}}
 *
 * A segment is a cache of its observations, never a running total: each
 * update sets count and quality_sum to what a read of the cell's observations
 * found, so nothing can be counted twice, whatever crashed or was retried
 * (observations themselves are stored once: idempotency.h). Which cells need
 * it is the "segment_queue" collection,
 *   {_id: <the observation's _id>, geohash, created_at: date}
 * whose entries are written before their observations (mongo/observations.c).
 * The background aggregator (mongo/aggregator.c) runs passes of
 * mongo_segments_pass; FerretDB has no transactions, so the order of a pass
 * is what makes it safe at any crash:
 *   1. read queue entries (the oldest, up to a page);
 *   2. read every observation of their cells: the counts, and which of the
 *      entries' observations exist;
 *   3. write each cell's segment (absolute values);
 *   4. delete the entries whose observation step 2 saw (and entries older
 *      than MONGO_QUEUE_ORPHAN_MS whose observation never came: a request
 *      that died between its two inserts and was not retried).
 * A crash before 4 leaves the entries: the next pass recomputes the same
 * cells. An entry is deleted only after a segment write whose read saw its
 * observation. Only one instance runs passes at a time (a lease), so writes
 * land in the order of their reads.
 */
#ifndef MONGO_SEGMENTS_H
#define MONGO_SEGMENTS_H

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/geohash.h"
#include "pool.h"

#define MONGO_SEGMENT_PRECISION 7
#define MONGO_QUEUE_ORPHAN_MS (10 * 60 * 1000)

typedef struct {
    char cell[CORE_GEOHASH_MAX + 1];
    long long count;
    double quality_sum;
    double avg_quality;         /* quality_sum / count */
    double latitude, longitude; /* the cell's center */
    int64_t updated_at_ms;
} mongo_segment_t;

typedef struct {
    bool has_bbox;
    double min_lon, min_lat, max_lon, max_lat;
    long long min_count;
    int limit;
    const char *cursor; /* the last cell of the previous page, or NULL */
} mongo_segment_query_t;

typedef struct {
    int n;
    mongo_segment_t *items;                 /* owned: mongo_segment_page_free */
    char next_cursor[CORE_GEOHASH_MAX + 1]; /* "" on the last page */
} mongo_segment_page_t;

struct mongo_observation;

/* Writes the queue entries of n observations (ids and geohashes set) on the
 * client of the caller's operation. An entry that exists already (a retry)
 * is fine. */
store_status_t mongo_segments_enqueue(const mongo_op_t *op, const struct mongo_observation *obs,
                                      size_t n, int64_t now_ms);

/* One pass on client c over up to max queue entries (see above). Before
 * each write it calls hold(c), which renews the caller's lease and returns
 * false when the lease is lost: the pass then stops (STORE_UNAVAILABLE) and
 * the next holder does the work again. *done is how many entries it deleted,
 * *more whether the page was full. */
store_status_t mongo_segments_pass(mongoc_client_t *c, int max, bool (*hold)(mongoc_client_t *c),
                                   int *done, bool *more);

/* STORE_NOT_FOUND when no observation has reached the cell; STORE_BAD_DATA
 * (with *why, when why is not NULL) when the document breaks the schema. */
store_status_t mongo_segments_get(const char *cell, mongo_segment_t *out, const char **why);

/* Cells whose center is in the bbox, with at least min_count observations,
 * in cell order after the cursor. */
store_status_t mongo_segments_find(const mongo_segment_query_t *q, mongo_segment_page_t *out);

/* The filter and find options of mongo_segments_find (initialized here; the
 * caller destroys both): for explain. */
void mongo_segments_query(const mongo_segment_query_t *q, bson_t *filter, bson_t *opts);

void mongo_segment_page_free(mongo_segment_page_t *p);

/* Reads a road_segments document into *out. Returns NULL, or what breaks the
 * schema (a static text naming the field). */
const char *mongo_segment_from_bson(const bson_t *doc, mongo_segment_t *out);

#endif
