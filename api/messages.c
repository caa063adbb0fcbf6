/*
 * /rooms/{roomId}/messages and /users/{userId}/offline-messages: sending
 * chat messages (rate-limited per sender), reading a room's recent messages,
 * and reading, consuming or clearing a user's offline queue. Reading (GET,
 * HEAD) never changes the queue: consuming is POST .../consume, which needs
 * the API token like every other write, and takes the oldest ?limit= of it.
 * Every list is a page (api_reply_page) whose cursor is a message id. The
 * state is store/messages.c.
 */
#include <stdint.h>
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/messages.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

static cJSON *message_json(const store_message_t *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "room_id", m->room_id);
    cJSON_AddStringToObject(o, "sender_id", m->sender_id);
    cJSON_AddStringToObject(o, "content", m->content);
    cJSON_AddStringToObject(o, "timestamp", m->timestamp);
    return o;
}

/* One message of a page. */
static void put_message(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, message_json(item));
}

/* Replies a page of messages (or the failure) and frees it. */
static void reply_list(api_req_t *r, store_status_t st, store_message_list_t *l, const char *w) {
    if (st != STORE_OK) {
        api_problem_store(r, st, w);
        return;
    }
    api_reply_page(r, l->items, l->n, sizeof(store_message_t), put_message, l->total,
                   l->next_cursor);
    store_message_list_free(l);
}

/* ?before=: an ISO 8601 time, messages sent before it; *position INT64_MAX
 * when absent. */
static bool query_before(api_req_t *r, int64_t *position) {
    const char *v = api_query(r, "before");
    int64_t ms;
    *position = INT64_MAX;
    if (!v && !api_query_has(r, "before"))
        return true;
    if (v && core_iso8601_parse(v, &ms) && ms > INT64_MIN / 1000 && ms < INT64_MAX / 1000) {
        *position = ms * 1000;
        return true;
    }
    api_problem(r, 400,
                "query parameter 'before' must be an ISO 8601 date-time (to page, pass a "
                "page's next_cursor as 'cursor')");
    return false;
}

/* ?limit= and ?cursor=, a message id (a page's next_cursor), for the lists of
 * messages; *cursor NULL when absent. */
static bool query_message_page(api_req_t *r, int *limit, const char **cursor) {
    int64_t position;
    if (!api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, limit))
        return false;
    *cursor = api_query(r, "cursor");
    if ((!*cursor && !api_query_has(r, "cursor")) || store_message_position(*cursor, &position))
        return true;
    api_problem(r, 400, "query parameter 'cursor' must be a message id (a page's next_cursor)");
    return false;
}

void api_messages_send(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id");
    cJSON *body;
    if (!room || !api_body_json(r, true, &body))
        return;
    const char *sender, *content;
    if (!api_field_id(r, body, "sender_id", true, &sender) ||
        !api_field_string(r, body, "content", true, 1, STORE_MESSAGE_MAX, &content)) {
        cJSON_Delete(body);
        return;
    }
    const config_t *cfg = api_config();
    store_message_limits_t lim = {cfg->rate_limit_messages, cfg->rate_limit_window_s,
                                  cfg->message_cache_max,   cfg->message_ttl_s,
                                  cfg->offline_queue_max,   cfg->offline_queue_ttl_s,
                                  cfg->room_ttl_s};
    store_message_t m = {.content = (char *)content};
    snprintf(m.room_id, sizeof m.room_id, "%s", room);
    snprintf(m.sender_id, sizeof m.sender_id, "%s", sender);
    int queued, retry_after;
    store_status_t st = store_messages_send(&m, core_now_ms(), &lim, &queued, &retry_after);
    if (st != STORE_OK) {
        char w[300];
        if (st == STORE_RATE_LIMITED)
            snprintf(w, sizeof w, "sender '%s'", m.sender_id);
        else
            snprintf(w, sizeof w, "participant '%s' of room '%s'", m.sender_id, m.room_id);
        api_problem_store_after(r, st, w, retry_after);
        cJSON_Delete(body);
        return;
    }
    cJSON *o = message_json(&m);
    cJSON_Delete(body); /* m.content pointed into it */
    api_reply_json(r, 201, o);
}

void api_messages_list(api_req_t *r) {
    const char *room = api_param_id(r, 0, "room id"), *cursor;
    int limit;
    int64_t before, from = INT64_MAX;
    if (!room || !query_message_page(r, &limit, &cursor) || !query_before(r, &before))
        return;
    if (cursor)
        store_message_position(cursor, &from);
    store_message_list_t l;
    store_status_t st = store_messages_recent(room, before, from, core_now_ms(),
                                              api_config()->message_ttl_s, limit, &l);
    reply_list(r, st, &l, "the room's messages");
}

void api_messages_offline_get(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id"), *cursor;
    int limit;
    if (!user)
        return;
    if (api_query_has(r, "consume")) { /* a GET never consumes: say where that went */
        char detail[300];
        snprintf(detail, sizeof detail,
                 "query parameter 'consume' is gone: a GET never changes the queue; "
                 "POST /users/%s/offline-messages/consume reads and empties it",
                 user);
        api_problem(r, 400, detail);
        return;
    }
    if (!query_message_page(r, &limit, &cursor))
        return;
    store_message_list_t l;
    store_status_t st = store_messages_offline(user, cursor, limit, &l);
    reply_list(r, st, &l, "the offline messages");
}

void api_messages_offline_consume(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    int limit;
    if (!user || !api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &limit))
        return;
    store_message_list_t l;
    store_status_t st = store_messages_offline_take(user, limit, &l);
    reply_list(r, st, &l, "the offline messages");
}

void api_messages_offline_clear(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    if (!user)
        return;
    store_status_t st = store_messages_offline_clear(user);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the offline messages");
        return;
    }
    api_reply_empty(r, 204);
}
