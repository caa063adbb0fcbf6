/*
 * /rooms, /rooms/{roomId}/participants[/{userId}] and /users/{userId}/rooms:
 * joining and leaving chat rooms, and reading who is in them (three lists,
 * each a page: api_reply_page). A room exists
 * while it has participants, and ends ROOM_TTL_S after its last join or
 * message; "joined" are the participants online now (presence). Parsing and
 * validation here; the state is store/rooms.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/rooms.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

static cJSON *room_json(const store_room_t *room) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", room->id);
    cJSON_AddNumberToObject(o, "participant_count", (double)room->participants);
    cJSON_AddNumberToObject(o, "joined_count", (double)room->joined);
    return o;
}

/* One room of a page: its counts. */
static void put_room(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, room_json(item));
}

/* One participant of a page. */
static void put_participant(core_jsonw_t *w, const void *item) {
    const store_participant_t *p = item;
    core_jsonw_object(w);
    core_jsonw_key(w, "user_id");
    core_jsonw_string(w, p->user_id);
    core_jsonw_key(w, "joined");
    core_jsonw_bool(w, p->joined);
    core_jsonw_end(w);
}

/* Replies a page of rooms (or the failure) and frees it. */
static void reply_rooms(api_req_t *r, store_status_t st, store_page_t *page, const char *w) {
    if (st != STORE_OK) {
        api_problem_store(r, st, w);
        return;
    }
    api_reply_page(r, page->items, page->n, sizeof(store_room_t), put_room, page->total,
                   page->next_cursor);
    store_page_free(page);
}

/* The room and user of /rooms/{roomId}/.../{userId}; on failure has replied. */
static bool room_and_user(api_req_t *r, const char **room, const char **user) {
    *room = api_param_id(r, 0, "room id");
    *user = *room ? api_param_id(r, 1, "user id") : NULL;
    return *user != NULL;
}

void api_rooms_join(api_req_t *r) {
    const char *room, *user;
    if (!room_and_user(r, &room, &user))
        return;
    bool created;
    store_room_t out;
    store_status_t st =
        store_rooms_join(room, user, core_now_ms(), api_config()->room_ttl_s, &created, &out);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the room");
        return;
    }
    cJSON *o = room_json(&out);
    cJSON_AddStringToObject(o, "user_id", user);
    api_reply_json(r, created ? 201 : 200, o);
}

void api_rooms_leave(api_req_t *r) {
    const char *room, *user;
    if (!room_and_user(r, &room, &user))
        return;
    store_status_t st = store_rooms_leave(room, user);
    if (st != STORE_OK) {
        char w[300];
        snprintf(w, sizeof w, "participant '%s' of room '%s'", user, room);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_empty(r, 204);
}

void api_rooms_participants(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id"), *cursor;
    int limit;
    if (!room || !api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_rooms_participants(room, core_now_ms(), cursor, limit, &page);
    if (st != STORE_OK) {
        char w[160];
        snprintf(w, sizeof w, "room '%s'", room);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_page(r, page.items, page.n, sizeof(store_participant_t), put_participant, page.total,
                   page.next_cursor);
    store_page_free(&page);
}

void api_rooms_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_rooms_list(cursor, limit, core_now_ms(), &page);
    reply_rooms(r, st, &page, "the room list");
}

void api_rooms_of_user(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id"), *cursor;
    int limit;
    if (!user || !api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_rooms_of_user(user, core_now_ms(), cursor, limit, &page);
    reply_rooms(r, st, &page, "the user's rooms");
}
