/*
 * /rooms/{roomId}/typing[/{userId}]: typing indicators. PUT marks a
 * participant typing for TYPING_TTL_S (each PUT refreshes it), DELETE stops
 * it, GET lists who is typing now (a page, in user id order). The state is store/typing.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/typing.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

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

/* One indicator of a page. */
static void put_typing(core_jsonw_t *w, const void *item) {
    const store_typing_t *t = item;
    core_jsonw_take_tree(w, typing_json(NULL, t->user_id, t->expires_at_ms));
}

void api_typing_list(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id"), *cursor;
    int limit;
    if (!room || !api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_typing_list(room, core_now_ms(), cursor, limit, &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the typing indicators");
        return;
    }
    api_reply_page(r, page.items, page.n, sizeof(store_typing_t), put_typing, page.total,
                   page.next_cursor);
    store_page_free(&page);
}
