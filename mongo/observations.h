/*
 * Road-quality observations uploaded by phones: the "observations" collection,
 *   {_id: ObjectId, user_id, location: {latitude, longitude}, quality,
 *    speed_kmh?, recorded_at: date, created_at: date, geohash: "<7 chars>"}
 * Storing observations also adds them to their road segments (segments.h).
 * Bounding boxes are plain range queries on location.latitude/longitude, so
 * the same queries work on MongoDB and on MongoDB-compatible servers.
 */
#ifndef MONGO_OBSERVATIONS_H
#define MONGO_OBSERVATIONS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/geohash.h"
#include "../core/status.h"

#define MONGO_OBS_CURSOR_MAX 48

typedef struct {
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

/* Stores n (>= 1) validated observations with one bulk insert, then adds them
 * to their segments; fills in each one's id, geohash and created_at. */
store_status_t mongo_observations_add(mongo_observation_t *obs, size_t n, int64_t now_ms);

/* id is 24 hex digits. STORE_NOT_FOUND when absent. */
store_status_t mongo_observations_get(const char *id, mongo_observation_t *out);

/* Newest first (recorded_at, then _id, descending), a page at a time. */
store_status_t mongo_observations_find(const mongo_obs_query_t *q, mongo_obs_page_t *out);

void mongo_obs_page_free(mongo_obs_page_t *p);

/* True when s is a cursor this module wrote ("<ms>-<24 hex>"). */
bool mongo_obs_cursor_valid(const char *s);

/* Writes obs as a document (without _id when obs->id is "") into doc. */
void mongo_observation_to_bson(const mongo_observation_t *obs, bson_t *doc);

/* Reads a document into *out; false when it is not an observation. */
bool mongo_observation_from_bson(const bson_t *doc, mongo_observation_t *out);

#endif
