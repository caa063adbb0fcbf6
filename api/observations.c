/*
 * /observations: road quality measured by phones, kept in MongoDB
 * (mongo/observations.c); the background aggregator counts each one into its
 * road segment. One observation per POST, or a phone's offline backlog of up
 * to BATCH_MAX in one POST /observations/batch, where good rows are stored
 * with bulk writes and every row's fate is reported by index. Both POSTs
 * take an Idempotency-Key (idempotency.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "../mongo/observations.h"
#include "handlers.h"
#include "http/idempotency.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"

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
    api_idem_t idem;
    if (!api_body_json(r, true, &body))
        return;
    if (!api_idem_begin(r, &idem)) {
        cJSON_Delete(body);
        return;
    }
    mongo_observation_t o;
    mongo_row_t row;
    char err[API_ERR_MAX];
    bool ok = parse_observation(body, idem.write.now_ms, &o, err);
    cJSON_Delete(body);
    store_status_t st = ok ? mongo_observations_add(&idem.write, &o, 1, &row) : STORE_OK;
    if (!ok) {
        api_problem(r, 400, "%s", err);
    } else if (st != STORE_OK) {
        api_problem_mongo(r, st, "the observation");
    } else {
        char location[64];
        snprintf(location, sizeof location, "/observations/%s", o.id);
        api_idem_reply_json(r, &idem, 201, observation_json(&o), location);
    }
    api_idem_end(&idem);
}

/* Adds {index, detail} to list. */
static void add_row(cJSON *list, int index, const char *detail) {
    cJSON *row = cJSON_CreateObject();
    cJSON_AddNumberToObject(row, "index", index);
    cJSON_AddStringToObject(row, "detail", detail);
    cJSON_AddItemToArray(list, row);
}

/* Parses the rows of a batch: the valid ones into good (*n of them, each with
 * its row index), the others into rejected. */
static void parse_rows(const cJSON *body, int64_t now, mongo_observation_t *good, size_t *n,
                       cJSON *rejected) {
    int i = 0;
    const cJSON *item;
    *n = 0;
    cJSON_ArrayForEach(item, body) {
        char err[API_ERR_MAX];
        if (parse_observation(item, now, &good[*n], err))
            good[(*n)++].row = i;
        else
            add_row(rejected, i, err);
        i++;
    }
}

/* The batch's answer: {stored, ids, rejected, failed, unconfirmed}, where
 * failed rows were not stored and unconfirmed ones may have been. */
static cJSON *batch_json(const mongo_observation_t *good, const mongo_row_t *rows, size_t n,
                         cJSON *rejected, store_status_t st, size_t *stored, size_t *unsure) {
    cJSON *o = cJSON_CreateObject(), *ids = cJSON_CreateArray(), *failed = cJSON_CreateArray(),
          *unconfirmed = cJSON_CreateArray();
    *stored = *unsure = 0;
    const char *why = st == STORE_UNAVAILABLE || st == STORE_UNCONFIRMED
                          ? "not stored: MongoDB is unavailable or did not answer in time; "
                            "retry this row"
                          : "not stored: MongoDB refused to store this row";
    for (size_t k = 0; k < n; k++) {
        if (rows[k] == MONGO_ROW_STORED) {
            cJSON_AddItemToArray(ids, cJSON_CreateString(good[k].id));
            (*stored)++;
        } else if (rows[k] == MONGO_ROW_UNCONFIRMED) {
            add_row(unconfirmed, good[k].row,
                    "MongoDB did not confirm this row in time: it may or may not be stored; "
                    "retry it with the same Idempotency-Key");
            (*unsure)++;
        } else {
            add_row(failed, good[k].row, why);
        }
    }
    cJSON_AddNumberToObject(o, "stored", (double)*stored);
    cJSON_AddItemToObject(o, "ids", ids);
    cJSON_AddItemToObject(o, "rejected", rejected);
    cJSON_AddItemToObject(o, "failed", failed);
    cJSON_AddItemToObject(o, "unconfirmed", unconfirmed);
    return o;
}

/* Stores the valid rows and answers for the whole batch. */
static void store_batch(api_req_t *r, api_idem_t *idem, mongo_observation_t *good, size_t n,
                        cJSON *rejected) {
    mongo_row_t *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        cJSON_Delete(rejected);
        api_problem(r, 500, "out of memory");
        return;
    }
    store_status_t st = n ? mongo_observations_add(&idem->write, good, n, rows) : STORE_OK;
    size_t stored, unsure;
    cJSON *o = batch_json(good, rows, n, rejected, st, &stored, &unsure);
    free(rows);
    if (stored == n) { /* complete (or nothing valid): the final answer */
        api_idem_reply_json(r, idem, stored ? 201 : 200, o, NULL);
        return;
    }
    if (stored > 0) { /* partial: the truth row by row, and the key stays open for a retry */
        api_reply_json(r, 201, o);
        return;
    }
    cJSON_Delete(o);
    /* nothing stored, and the 5xx says so; or nothing known to be, but maybe */
    api_problem_mongo(r, unsure ? STORE_UNCONFIRMED : st, "the observations");
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
    api_idem_t idem;
    if (!api_idem_begin(r, &idem)) {
        cJSON_Delete(body);
        return;
    }
    mongo_observation_t *good = calloc((size_t)n, sizeof *good);
    cJSON *rejected = cJSON_CreateArray();
    if (!good || !rejected) {
        cJSON_Delete(rejected);
        api_problem(r, 500, "out of memory");
    } else {
        size_t valid;
        parse_rows(body, idem.write.now_ms, good, &valid, rejected);
        store_batch(r, &idem, good, valid, rejected);
    }
    free(good);
    cJSON_Delete(body);
    api_idem_end(&idem);
}

void api_observations_get(api_req_t *r) {
    const char *id = api_param_oid(r, 0, "observation id");
    if (!id)
        return;
    mongo_observation_t o;
    const char *why = NULL;
    store_status_t st = mongo_observations_get(id, &o, &why);
    if (st != STORE_OK) {
        char what[64];
        snprintf(what, sizeof what, "observation %s", id);
        api_problem_mongo_why(r, st, what, why);
        return;
    }
    api_reply_json(r, 200, observation_json(&o));
}

/* One observation of a page. */
static void put_observation(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, observation_json(item));
}

void api_observations_list(api_req_t *r) {
    mongo_obs_query_t q = {0};
    const char *user_id;
    char user[25];
    if (!api_query_bbox(r, &q.has_bbox, &q.min_lon, &q.min_lat, &q.max_lon, &q.max_lat) ||
        !api_query_oid(r, "user_id", &user_id) ||
        !api_query_time(r, "since", &q.has_since, &q.since_ms) ||
        !api_query_time(r, "until", &q.has_until, &q.until_ms) ||
        !api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &q.limit))
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
    /* no total: counting the matches is a pass over all of them */
    api_reply_page(r, page.items, page.n, sizeof(mongo_observation_t), put_observation, -1,
                   page.next_cursor);
    mongo_obs_page_free(&page);
}
