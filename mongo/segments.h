/*
 * Road segments: the quality of each geohash-7 cell, aggregated from the
 * observations that fall in it. The "road_segments" collection:
 *   {_id: "<geohash7>", count, quality_sum, avg_quality, updated_at: date,
 *    center: {latitude, longitude}}
 * count and quality_sum only ever change by one atomic $inc upsert per cell
 * and request, so concurrent uploads never lose an update; avg_quality is
 * then set only if count is still what that request saw, so the stored
 * average is never older than the counts beside it for long. Reads compute
 * the average from the sums, exactly.
 */
#ifndef MONGO_SEGMENTS_H
#define MONGO_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/geohash.h"
#include "pool.h"

#define MONGO_SEGMENT_PRECISION 7

typedef struct {
    char cell[CORE_GEOHASH_MAX + 1];
    long long count;
    double quality_sum;
    double avg_quality;         /* quality_sum / count */
    double latitude, longitude; /* the cell's center */
    int64_t updated_at_ms;
} mongo_segment_t;

/* One observation's contribution to its cell. */
typedef struct {
    const char *cell;
    double quality;
} mongo_segment_delta_t;

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

/* Adds n deltas to their cells, on the client of the caller's operation. */
store_status_t mongo_segments_record(const mongo_op_t *op, const mongo_segment_delta_t *d, size_t n,
                                     int64_t now_ms);

/* STORE_NOT_FOUND when no observation has reached the cell. */
store_status_t mongo_segments_get(const char *cell, mongo_segment_t *out);

/* Cells whose center is in the bbox, with at least min_count observations,
 * in cell order after the cursor. */
store_status_t mongo_segments_find(const mongo_segment_query_t *q, mongo_segment_page_t *out);

void mongo_segment_page_free(mongo_segment_page_t *p);

/* Reads a road_segments document into *out; false when it is not one. */
bool mongo_segment_from_bson(const bson_t *doc, mongo_segment_t *out);

#endif
