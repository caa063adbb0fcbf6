/*
 * /observations: road quality measured by phones, kept in MongoDB
 * (mongo/observations.c), each one also counted into its road segment.
 * One observation per POST, or a phone's offline backlog of up to
 * BATCH_MAX in one POST /observations/batch, where good rows are stored
 * with one bulk write and bad rows are reported by index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "../mongo/observations.h"
#include "handlers.h"
#include "input.h"
#include "problem.h"

#define BATCH_MAX 1000
#define FUTURE_SLACK_MS (5 * 60 * 1000)
#define SPEED_MAX_KMH 1000

/* Reads one observation; on a bad field writes a message naming it into err. */
static bool parse_observation(const cJSON *obj, int64_t now_ms, mongo_observation_t *o, char *err) {
    memset(o, 0, sizeof *o);
    bool present;
    const char *user_id, *recorded;
    if (!cJSON_IsObject(obj)) {
        snprintf(err, API_ERR_MAX, "an observation must be a JSON object");
        return false;
    }
    if (!api_check_string(obj, "user_id", true, 1, 64, &user_id, err))
        return false;
    if (strlen(user_id) != 24 || strspn(user_id, "0123456789abcdefABCDEF") != 24) {
        snprintf(err, API_ERR_MAX, "field 'user_id' must be a 24-hex-digit ObjectId");
        return false;
    }
    snprintf(o->user_id, sizeof o->user_id, "%s", user_id);
    api_oid_lower(o->user_id);
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(obj, "location");
    if (!cJSON_IsObject(loc)) {
        snprintf(err, API_ERR_MAX, "field 'location' must be an object {latitude, longitude}");
        return false;
    }
    char inner[API_ERR_MAX];
    if (!api_check_number(loc, "latitude", true, -90, 90, &o->latitude, &present, inner) ||
        !api_check_number(loc, "longitude", true, -180, 180, &o->longitude, &present, inner)) {
        snprintf(err, API_ERR_MAX, "%s (in 'location')", inner);
        return false;
    }
    if (!api_check_number(obj, "quality", true, 0, 1, &o->quality, &present, err) ||
        !api_check_number(obj, "speed_kmh", false, 0, SPEED_MAX_KMH, &o->speed_kmh, &o->has_speed,
                          err) ||
        !api_check_string(obj, "recorded_at", false, 1, 64, &recorded, err))
        return false;
    o->recorded_at_ms = now_ms;
    if (recorded && !core_iso8601_parse(recorded, &o->recorded_at_ms)) {
        snprintf(err, API_ERR_MAX, "field 'recorded_at' must be an ISO 8601 date-time");
        return false;
    }
    if (o->recorded_at_ms > now_ms + FUTURE_SLACK_MS) {
        snprintf(err, API_ERR_MAX, "field 'recorded_at' is more than 5 minutes in the future");
        return false;
    }
    if (o->recorded_at_ms < 0) {
        snprintf(err, API_ERR_MAX, "field 'recorded_at' is before 1970");
        return false;
    }
    return true;
}

static cJSON *observation_json(const mongo_observation_t *o) {
    char ts[CORE_ISO8601_LEN];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", o->id);
    cJSON_AddStringToObject(j, "user_id", o->user_id);
    cJSON *loc = cJSON_AddObjectToObject(j, "location");
    cJSON_AddNumberToObject(loc, "latitude", o->latitude);
    cJSON_AddNumberToObject(loc, "longitude", o->longitude);
    cJSON_AddNumberToObject(j, "quality", o->quality);
    if (o->has_speed)
        cJSON_AddNumberToObject(j, "speed_kmh", o->speed_kmh);
    else
        cJSON_AddNullToObject(j, "speed_kmh");
    core_iso8601(o->recorded_at_ms, ts);
    cJSON_AddStringToObject(j, "recorded_at", ts);
    core_iso8601(o->created_at_ms, ts);
    cJSON_AddStringToObject(j, "created_at", ts);
    cJSON_AddStringToObject(j, "geohash", o->geohash);
    return j;
}

void api_observations_create(api_req_t *r) {
    cJSON *body;
    if (!api_body_json(r, true, &body))
        return;
    int64_t now = core_now_ms();
    mongo_observation_t o;
    char err[API_ERR_MAX];
    bool ok = parse_observation(body, now, &o, err);
    cJSON_Delete(body);
    if (!ok) {
        api_problem(r, 400, "%s", err);
        return;
    }
    store_status_t st = mongo_observations_add(&o, 1, now);
    if (st != STORE_OK) {
        api_problem_mongo(r, st, "the observation");
        return;
    }
    api_reply_json(r, 201, observation_json(&o));
    char location[64];
    snprintf(location, sizeof location, "/observations/%s", o.id);
    api_reply_header(r, MHD_HTTP_HEADER_LOCATION, location);
}

void api_observations_batch(api_req_t *r) {
    cJSON *body;
    if (!api_body_parse(r, true, &body))
        return;
    int n = cJSON_GetArraySize(body);
    if (!cJSON_IsArray(body) || n < 1 || n > BATCH_MAX) {
        cJSON_Delete(body);
        api_problem(r, 400, "the body must be a JSON array of 1 to %d observations", BATCH_MAX);
        return;
    }
    mongo_observation_t *good = calloc((size_t)n, sizeof *good);
    cJSON *rejected = cJSON_CreateArray();
    if (!good || !rejected) {
        free(good);
        cJSON_Delete(rejected);
        cJSON_Delete(body);
        api_problem(r, 500, "out of memory");
        return;
    }
    int64_t now = core_now_ms();
    size_t stored = 0;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, body) {
        char err[API_ERR_MAX];
        if (parse_observation(item, now, &good[stored], err)) {
            stored++;
        } else {
            cJSON *rej = cJSON_CreateObject();
            cJSON_AddNumberToObject(rej, "index", i);
            cJSON_AddStringToObject(rej, "detail", err);
            cJSON_AddItemToArray(rejected, rej);
        }
        i++;
    }
    cJSON_Delete(body);
    store_status_t st = stored ? mongo_observations_add(good, stored, now) : STORE_OK;
    if (st != STORE_OK) {
        free(good);
        cJSON_Delete(rejected);
        api_problem_mongo(r, st, "the observations");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "stored", (double)stored);
    cJSON *ids = cJSON_AddArrayToObject(o, "ids");
    for (size_t k = 0; k < stored; k++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(good[k].id));
    cJSON_AddItemToObject(o, "rejected", rejected);
    free(good);
    api_reply_json(r, stored ? 201 : 200, o);
}

void api_observations_get(api_req_t *r) {
    const char *id = api_param_oid(r, 0, "observation id");
    if (!id)
        return;
    mongo_observation_t o;
    store_status_t st = mongo_observations_get(id, &o);
    if (st != STORE_OK) {
        char what[64];
        snprintf(what, sizeof what, "observation %s", id);
        api_problem_mongo(r, st, what);
        return;
    }
    api_reply_json(r, 200, observation_json(&o));
}

void api_observations_list(api_req_t *r) {
    mongo_obs_query_t q = {0};
    const char *user_id;
    char user[25];
    if (!api_query_bbox(r, &q.has_bbox, &q.min_lon, &q.min_lat, &q.max_lon, &q.max_lat) ||
        !api_query_oid(r, "user_id", &user_id) ||
        !api_query_time(r, "since", &q.has_since, &q.since_ms) ||
        !api_query_time(r, "until", &q.has_until, &q.until_ms) ||
        !api_query_int(r, "limit", 100, 1, 1000, &q.limit))
        return;
    if (user_id) {
        snprintf(user, sizeof user, "%s", user_id);
        api_oid_lower(user);
        q.user_id = user;
    }
    q.cursor = api_query(r, "cursor");
    if ((q.cursor || api_query_has(r, "cursor")) && !mongo_obs_cursor_valid(q.cursor)) {
        api_problem(r, 400, "query parameter 'cursor' is not a valid cursor");
        return;
    }
    mongo_obs_page_t page;
    store_status_t st = mongo_observations_find(&q, &page);
    if (st != STORE_OK) {
        api_problem_mongo(r, st, "the observation list");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "observations");
    for (int i = 0; i < page.n; i++)
        cJSON_AddItemToArray(arr, observation_json(&page.items[i]));
    if (page.next_cursor[0])
        cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    else
        cJSON_AddNullToObject(o, "next_cursor");
    mongo_obs_page_free(&page);
    api_reply_json(r, 200, o);
}
