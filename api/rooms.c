/*
 * /rooms, /rooms/{roomId}/participants[/{userId}] and /users/{userId}/rooms:
 * joining and leaving chat rooms, and reading who is in them. A room exists
 * while it has participants, and ends ROOM_TTL_S after its last join or
 * message; "joined" are the participants online now (presence). Parsing and
 * validation here; the state is store/rooms.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/rooms.h"
#include "handlers.h"
#include "problem.h"

static cJSON *id_array(const store_id_list_t *l) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < l->n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(l->ids[i]));
    return arr;
}

static cJSON *room_json(const store_room_t *room) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", room->id);
    cJSON_AddNumberToObject(o, "participant_count", (double)room->participants);
    cJSON_AddNumberToObject(o, "joined_count", (double)room->joined);
    return o;
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
    const char *room = api_param_id(r, 0, "room id");
    if (!room)
        return;
    store_id_list_t participants, joined;
    store_status_t st = store_rooms_participants(room, core_now_ms(), &participants, &joined);
    if (st != STORE_OK) {
        char w[160];
        snprintf(w, sizeof w, "room '%s'", room);
        api_problem_store(r, st, w);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", participants.n);
    cJSON_AddItemToObject(o, "participants", id_array(&participants));
    cJSON_AddItemToObject(o, "joined", id_array(&joined));
    store_id_list_free(&participants);
    store_id_list_free(&joined);
    api_reply_json(r, 200, o);
}

void api_rooms_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_int(r, "limit", 100, 1, 1000, &limit) || !api_query_id(r, "cursor", &cursor))
        return;
    store_page_t page;
    store_status_t st = store_rooms_list(cursor, limit, core_now_ms(), &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the room list");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)page.total);
    cJSON *arr = cJSON_AddArrayToObject(o, "rooms");
    for (int i = 0; i < page.n; i++)
        cJSON_AddItemToArray(arr, room_json((const store_room_t *)page.items + i));
    if (page.next_cursor[0])
        cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    else
        cJSON_AddNullToObject(o, "next_cursor");
    store_page_free(&page);
    api_reply_json(r, 200, o);
}

void api_rooms_of_user(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    if (!user)
        return;
    store_id_list_t rooms;
    store_status_t st = store_rooms_of_user(user, core_now_ms(), &rooms);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the user's rooms");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", rooms.n);
    cJSON_AddItemToObject(o, "rooms", id_array(&rooms));
    store_id_list_free(&rooms);
    api_reply_json(r, 200, o);
}
