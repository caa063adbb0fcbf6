/*
 * Road-quality observations uploaded by phones: the "observations" collection,
 *   {_id: ObjectId, user_id: ObjectId, location: {latitude, longitude},
 *    quality, speed_kmh?, recorded_at: date, created_at: date,
 *    geohash: "<7 chars>"}
 * Each new observation is announced in the segment queue before it is
 * inserted (segments.h); the background aggregator counts it into its road
 * segment from there, and storing never waits for that. Bounding boxes are plain range queries on
 * location.latitude/longitude, so the same queries work on MongoDB and on MongoDB-compatible
 * servers.
 */
#ifndef MONGO_OBSERVATIONS_H
#define MONGO_OBSERVATIONS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/geohash.h"
#include "../core/status.h"
#include "idempotency.h"

#define MONGO_OBS_CURSOR_MAX 48

typedef struct mongo_observation {
    int row; /* its index in the request: names it in results, and in derived ids */
    char id[25];
    char user_id[25];
    double latitude, longitude, quality;
    bool has_speed;
    double speed_kmh;
    int64_t recorded_at_ms, created_at_ms;
    char geohash[CORE_GEOHASH_MAX + 1];
} mongo_observation_t;

typedef struct {
    bool has_bbox;
    double min_lon, min_lat, max_lon, max_lat; /* min_lon > max_lon crosses the antimeridian */
    const char *user_id;                       /* or NULL */
    bool has_since, has_until;
    int64_t since_ms, until_ms; /* recorded_at >= since, < until */
    int limit;
    const char *cursor; /* next_cursor of the previous page, or NULL */
} mongo_obs_query_t;

typedef struct {
    int n;
    mongo_observation_t *items;             /* owned: mongo_obs_page_free */
    char next_cursor[MONGO_OBS_CURSOR_MAX]; /* "" on the last page */
} mongo_obs_page_t;

/* What became of one row of a write. */
typedef enum {
    MONGO_ROW_STORED,      /* stored (by this attempt, or an earlier one of the same key) */
    MONGO_ROW_FAILED,      /* not stored */
    MONGO_ROW_UNCONFIRMED, /* sent, but MongoDB did not answer: it may be stored */
} mongo_row_t;

/* Stores n (>= 1) validated observations, created at w->now_ms, with bulk
 * inserts of MONGO_OBS_CHUNK rows (each well within MONGODB_TIMEOUT_MS, and
 * each after the queue entries of its rows: mongo_segments_enqueue), and
 * fills in each one's id, geohash and created_at. rows[i] says what became of
 * obs[i]: after an error, the rows of earlier chunks are stored, the rows of
 * the failed chunk are FAILED or (when the answer was lost) UNCONFIRMED, and
 * later chunks are not sent. Returns STORE_OK when every row is stored, else
 * the status of the failure. Wakes the segment aggregator. */
#define MONGO_OBS_CHUNK 100
store_status_t mongo_observations_add(const mongo_write_t *w, mongo_observation_t *obs, size_t n,
                                      mongo_row_t *rows);

/* id is 24 hex digits. STORE_NOT_FOUND when absent; STORE_BAD_DATA (with
 * *why, when why is not NULL) when the document breaks the schema. */
store_status_t mongo_observations_get(const char *id, mongo_observation_t *out, const char **why);

/* The filter and find options (sort, limit) of mongo_observations_find, into
 * filter and opts (initialized here; the caller destroys both): for explain. */
void mongo_observations_query(const mongo_obs_query_t *q, bson_t *filter, bson_t *opts);

/* Newest first (recorded_at, then _id, descending), a page at a time. */
store_status_t mongo_observations_find(const mongo_obs_query_t *q, mongo_obs_page_t *out);

void mongo_obs_page_free(mongo_obs_page_t *p);

/* True when s is a cursor this module wrote ("<ms>-<24 hex>"). */
bool mongo_obs_cursor_valid(const char *s);

/* Writes obs as a document (without _id when obs->id is "") into doc. */
void mongo_observation_to_bson(const mongo_observation_t *obs, bson_t *doc);

/* Reads a document into *out. Returns NULL, or what breaks the schema (a
 * static text naming the field). A user_id stored as a 24-hex-digit string
 * (before ids were ObjectIds) is read too. */
const char *mongo_observation_from_bson(const bson_t *doc, mongo_observation_t *out);

#endif
