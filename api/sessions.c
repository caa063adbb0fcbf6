/*
 * /sessions, /users/{userId}/sessions and /regions/{regionId}/members: the
 * sessions of a location-aware mobile backend. A session's region is the
 * geohash of its location at REGION_PRECISION (6 characters, a cell of about
 * 1.2 km x 0.6 km). Parsing and validation here; the state is
 * store/sessions.c.
 */
#include <stdio.h>
#include <string.h>

#include "../core/geohash.h"
#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../store/sessions.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

#define REGION_PRECISION 6
#define GENERATED_ID_TRIES 5

static store_session_ttls_t ttls(void) {
    return (store_session_ttls_t){api_config()->session_ttl_s, api_config()->heartbeat_ttl_s};
}

static void add_opt_string(cJSON *o, const char *name, const char *v) {
    if (v[0])
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *session_json(const store_session_t *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "socket_id", s->socket_id);
    cJSON_AddStringToObject(o, "user_id", s->user_id);
    add_opt_string(o, "current_region_id", s->region_id);
    if (s->has_location) {
        cJSON *loc = cJSON_AddObjectToObject(o, "last_location");
        cJSON_AddNumberToObject(loc, "latitude", s->latitude);
        cJSON_AddNumberToObject(loc, "longitude", s->longitude);
    } else {
        cJSON_AddNullToObject(o, "last_location");
    }
    cJSON_AddStringToObject(o, "connected_at", s->connected_at);
    cJSON_AddStringToObject(o, "last_activity_at", s->last_activity_at);
    add_opt_string(o, "user_agent", s->user_agent);
    return o;
}

static void what(char *out, size_t cap, const char *socket_id) {
    snprintf(out, cap, "session '%s'", socket_id);
}

/* Reads body's "location" {"latitude","longitude"} into s, with its region.
 * Absent (or null) and not required: true with s->has_location false. */
static bool field_location(api_req_t *r, const cJSON *body, bool required, store_session_t *s) {
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(body, "location");
    s->has_location = false;
    if (!loc || cJSON_IsNull(loc)) {
        if (required)
            api_problem(r, 400, "field 'location' is required");
        return !required;
    }
    if (!cJSON_IsObject(loc)) {
        api_problem(r, 400, "field 'location' must be an object with latitude and longitude");
        return false;
    }
    char err[API_ERR_MAX];
    bool present;
    if (!api_check_number(loc, "latitude", true, -90, 90, &s->latitude, &present, err) ||
        !api_check_number(loc, "longitude", true, -180, 180, &s->longitude, &present, err)) {
        api_problem(r, 400, "location: %s", err);
        return false;
    }
    s->has_location = true;
    if (!core_geohash_encode(s->latitude, s->longitude, REGION_PRECISION, s->region_id)) {
        api_problem(r, 500, "cannot compute the region of a valid location");
        return false;
    }
    return true;
}

/* Reads the body of POST /sessions into *in; on failure has replied. */
static bool parse_create(api_req_t *r, const cJSON *body, store_session_t *in) {
    const char *socket = NULL, *user = NULL, *agent = NULL;
    memset(in, 0, sizeof *in);
    if (!api_field_id(r, body, "socket_id", false, &socket) ||
        !api_field_id(r, body, "user_id", true, &user) || !field_location(r, body, false, in) ||
        !api_field_string(r, body, "user_agent", false, 1, STORE_USER_AGENT_MAX, &agent))
        return false;
    snprintf(in->socket_id, sizeof in->socket_id, "%s", socket ? socket : "");
    snprintf(in->user_id, sizeof in->user_id, "%s", user);
    snprintf(in->user_agent, sizeof in->user_agent, "%s", agent ? agent : "");
    return true;
}

void api_sessions_create(api_req_t *r) {
    cJSON *body;
    if (!api_body_json(r, true, &body))
        return;
    store_session_t in, s;
    bool ok = parse_create(r, body, &in);
    cJSON_Delete(body);
    if (!ok)
        return;
    store_session_ttls_t ttl = ttls();
    store_status_t st;
    if (in.socket_id[0]) {
        st = store_sessions_create(&in, core_now_ms(), &ttl, &s);
    } else {
        /* A generated id must be new: retry on the (astronomically rare) collision. */
        st = STORE_CONFLICT;
        for (int i = 0; i < GENERATED_ID_TRIES && st == STORE_CONFLICT; i++) {
            if (!core_random_id(in.socket_id, sizeof in.socket_id, "sock-", 16)) {
                st = STORE_ERROR;
                break;
            }
            st = store_sessions_create(&in, core_now_ms(), &ttl, &s);
        }
    }
    if (st != STORE_OK) {
        char w[160];
        what(w, sizeof w, in.socket_id);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, 201, session_json(&s));
    char location[160];
    snprintf(location, sizeof location, "/sessions/%s", s.socket_id);
    api_reply_header(r, MHD_HTTP_HEADER_LOCATION, location);
}

void api_sessions_get(api_req_t *r) {
    const char *id = api_param_id(r, 0, "socket id");
    if (!id)
        return;
    store_session_t s;
    store_status_t st = store_sessions_get(id, &s);
    if (st != STORE_OK) {
        char w[160];
        what(w, sizeof w, id);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, 200, session_json(&s));
}

void api_sessions_move(api_req_t *r) {
    const char *id = api_param_id(r, 0, "socket id");
    cJSON *body;
    if (!id || !api_body_json(r, true, &body))
        return;
    store_session_t loc;
    bool ok = field_location(r, body, true, &loc);
    cJSON_Delete(body);
    if (!ok)
        return;
    store_session_ttls_t ttl = ttls();
    store_session_t s;
    store_status_t st = store_sessions_move(id, loc.latitude, loc.longitude, loc.region_id,
                                            core_now_ms(), &ttl, &s);
    if (st != STORE_OK) {
        char w[160];
        what(w, sizeof w, id);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, 200, session_json(&s));
}

static store_status_t heartbeat_now(const char *id) {
    store_session_ttls_t ttl = ttls();
    return store_sessions_heartbeat(id, core_now_ms(), &ttl);
}

void api_sessions_heartbeat(api_req_t *r) {
    api_id_then_204(r, "socket id", "session", heartbeat_now);
}

void api_sessions_delete(api_req_t *r) {
    api_id_then_204(r, "socket id", "session", store_sessions_delete);
}

/* One session of a page. */
static void put_session(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, session_json(item));
}

/* Replies a listing's page (or its failure) and frees the page. */
static void reply_page(api_req_t *r, store_status_t st, store_page_t *page, const char *w) {
    if (st != STORE_OK) {
        api_problem_store(r, st, w);
        return;
    }
    api_reply_page(r, page->items, page->n, sizeof(store_session_t), put_session, page->total,
                   page->next_cursor);
    store_page_free(page);
}

void api_sessions_of_user(api_req_t *r) {
    const char *id = api_param_id(r, 0, "user id"), *cursor;
    int limit;
    if (!id || !api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_sessions_of_user(id, core_now_ms(), cursor, limit, &page);
    reply_page(r, st, &page, "the user's sessions");
}

void api_sessions_in_region(api_req_t *r) {
    const char *id = api_param(r, 0), *cursor;
    if (!core_geohash_valid(id, REGION_PRECISION)) {
        api_problem(r, 400,
                    "region id must be a geohash of %d characters from "
                    "0123456789bcdefghjkmnpqrstuvwxyz",
                    REGION_PRECISION);
        return;
    }
    int limit;
    if (!api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_sessions_in_region(id, core_now_ms(), cursor, limit, &page);
    reply_page(r, st, &page, "the region's members");
}
