/*
 * /rooms/{roomId}/typing[/{userId}]: typing indicators. PUT marks a
 * participant typing for TYPING_TTL_S (each PUT refreshes it), DELETE stops
 * it, GET lists who is typing now. The state is store/typing.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/typing.h"
#include "handlers.h"
#include "problem.h"

static cJSON *typing_json(const char *room, const char *user, int64_t expires_at_ms) {
    char ts[CORE_ISO8601_LEN];
    core_iso8601(expires_at_ms, ts);
    cJSON *o = cJSON_CreateObject();
    if (room)
        cJSON_AddStringToObject(o, "room_id", room);
    cJSON_AddStringToObject(o, "user_id", user);
    cJSON_AddStringToObject(o, "expires_at", ts);
    return o;
}

void api_typing_start(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id");
    const char *user = room ? api_param_id(r, 1, "user id") : NULL;
    if (!user)
        return;
    int64_t expires;
    store_status_t st =
        store_typing_start(room, user, core_now_ms(), api_config()->typing_ttl_s, &expires);
    if (st != STORE_OK) {
        char w[300];
        snprintf(w, sizeof w, "participant '%s' of room '%s'", user, room);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, 200, typing_json(room, user, expires));
}

void api_typing_stop(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id");
    const char *user = room ? api_param_id(r, 1, "user id") : NULL;
    if (!user)
        return;
    store_status_t st = store_typing_stop(room, user);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the typing indicator");
        return;
    }
    api_reply_empty(r, 204);
}

void api_typing_list(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id");
    if (!room)
        return;
    store_typing_list_t l;
    store_status_t st = store_typing_list(room, core_now_ms(), &l);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the typing indicators");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", l.n);
    cJSON *arr = cJSON_AddArrayToObject(o, "users");
    for (int i = 0; i < l.n; i++)
        cJSON_AddItemToArray(arr, typing_json(NULL, l.items[i].user_id, l.items[i].expires_at_ms));
    store_typing_list_free(&l);
    api_reply_json(r, 200, o);
}
