/*
 * /users/{userId}/friends: the cache of a user's friends list that the
 * mobile chat app keeps (store/friends.c). PUT replaces the whole list and
 * keeps it FRIENDS_TTL_S; GET reads it with who of them is online. The
 * event stream's friends:<userId> topic carries their presence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "../store/friends.h"
#include "../store/presence.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

static int by_id(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ids of body's "friends" array, sorted and without duplicates, into
 * ids (STORE_FRIENDS_MAX); false after replying 400. */
static bool read_list(api_req_t *r, const cJSON *body, const char *user, const char **ids, int *n) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "friends");
    *n = 0;
    if (!cJSON_IsArray(list)) {
        api_problem(r, 400, "field 'friends' must be an array of user ids");
        return false;
    }
    if (cJSON_GetArraySize(list) > STORE_FRIENDS_MAX) {
        api_problem(r, 400, "field 'friends' may hold %d ids at most", STORE_FRIENDS_MAX);
        return false;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        if (!cJSON_IsString(v) || !core_id_valid(v->valuestring)) {
            api_problem(r, 400, "field 'friends[%d]' must be a user id (^[A-Za-z0-9._-]{1,128}$)",
                        *n);
            return false;
        }
        if (strcmp(v->valuestring, user) == 0) {
            api_problem(r, 422, "field 'friends' may not name the user themselves");
            return false;
        }
        ids[(*n)++] = v->valuestring;
    }
    qsort(ids, (size_t)*n, sizeof *ids, by_id);
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (m == 0 || strcmp(ids[m - 1], ids[i]) != 0)
            ids[m++] = ids[i];
    *n = m;
    return true;
}

/* {"user_id","friends":[...],"expires_at"} */
static void reply_list(api_req_t *r, const char *user, int n, const char *const *ids,
                       int64_t expires_at_ms) {
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "user_id");
    core_jsonw_string(&w, user);
    core_jsonw_key(&w, "friends");
    core_jsonw_array(&w);
    for (int i = 0; i < n; i++)
        core_jsonw_string(&w, ids[i]);
    core_jsonw_end(&w);
    core_jsonw_key(&w, "expires_at");
    if (expires_at_ms > 0) {
        char ts[CORE_ISO8601_LEN];
        core_iso8601(expires_at_ms, ts);
        core_jsonw_string(&w, ts);
    } else {
        core_jsonw_null(&w);
    }
    core_jsonw_end(&w);
    api_reply_jsonw(r, 200, &w);
}

void api_friends_put(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    cJSON *body;
    if (!user || !api_body_json(r, true, &body))
        return;
    const char **ids = calloc(STORE_FRIENDS_MAX + 1, sizeof *ids);
    int n = 0;
    if (!ids) {
        api_problem(r, 503, "out of memory: try again");
    } else if (read_list(r, body, user, ids, &n)) {
        int64_t now = core_now_ms();
        int ttl = api_config()->friends_ttl_s;
        store_status_t st = store_friends_set(user, n, ids, now, ttl);
        if (st != STORE_OK)
            api_problem_store(r, st, "the friends list");
        else
            reply_list(r, user, n, ids, n ? now + (int64_t)ttl * 1000 : 0);
    }
    free(ids);
    cJSON_Delete(body);
}

void api_friends_get(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    if (!user)
        return;
    store_friends_t f;
    store_status_t st = store_friends_get(user, &f);
    const char **ids = st == STORE_OK ? calloc((size_t)f.n + 1, sizeof *ids) : NULL;
    bool *online = ids ? calloc((size_t)f.n + 1, sizeof *online) : NULL;
    if (st == STORE_OK && !online)
        st = STORE_ERROR;
    for (int i = 0; st == STORE_OK && i < f.n; i++)
        ids[i] = f.ids[i];
    if (st == STORE_OK)
        st = store_presence_online(f.n, ids, core_now_ms(), online);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the friends list");
    } else {
        core_jsonw_t w;
        core_jsonw_init(&w);
        core_jsonw_object(&w);
        core_jsonw_key(&w, "items");
        core_jsonw_array(&w);
        for (int i = 0; i < f.n; i++) {
            core_jsonw_object(&w);
            core_jsonw_key(&w, "user_id");
            core_jsonw_string(&w, ids[i]);
            core_jsonw_key(&w, "online");
            core_jsonw_bool(&w, online[i]);
            core_jsonw_end(&w);
        }
        core_jsonw_end(&w);
        core_jsonw_key(&w, "count");
        core_jsonw_int(&w, f.n);
        core_jsonw_key(&w, "total");
        core_jsonw_int(&w, f.n);
        core_jsonw_key(&w, "next_cursor");
        core_jsonw_null(&w);
        core_jsonw_end(&w);
        api_reply_jsonw(r, 200, &w);
    }
    free(ids);
    free(online);
    if (st == STORE_OK || f.ids)
        store_friends_free(&f);
}
