/*
 * /rooms/{roomId}/messages and /users/{userId}/offline-messages: sending
 * chat messages (rate-limited per sender), reading a room's recent messages,
 * and reading, consuming or clearing a user's offline queue. Reading (GET,
 * HEAD) never changes the queue: consuming is POST .../consume, which needs
 * the API token like every other write. The state is store/messages.c.
 */
#include <stdint.h>
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/messages.h"
#include "handlers.h"
#include "input.h"
#include "problem.h"

static cJSON *message_json(const store_message_t *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "room_id", m->room_id);
    cJSON_AddStringToObject(o, "sender_id", m->sender_id);
    cJSON_AddStringToObject(o, "content", m->content);
    cJSON_AddStringToObject(o, "timestamp", m->timestamp);
    return o;
}

/* Replies {"count","messages"} and frees the list. With a page size (not
 * 0), adds "next_before": the id of the last message of a full page, to pass
 * as ?before= for the next one, or null when there is no more. */
static void reply_list(api_req_t *r, store_message_list_t *l, int page) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", l->n);
    cJSON *arr = cJSON_AddArrayToObject(o, "messages");
    for (int i = 0; i < l->n; i++)
        cJSON_AddItemToArray(arr, message_json(&l->items[i]));
    if (page && l->n == page)
        cJSON_AddStringToObject(o, "next_before", l->items[l->n - 1].id);
    else if (page)
        cJSON_AddNullToObject(o, "next_before");
    store_message_list_free(l);
    api_reply_json(r, 200, o);
}

/* ?before=: an ISO 8601 time (messages sent before it) or a message id
 * (messages older than that one); *position INT64_MAX when absent. */
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
    if (store_message_position(v, position))
        return true;
    api_problem(r, 400, "query parameter 'before' must be an ISO 8601 date-time or a message id");
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
    const char *room = api_param_id(r, 0, "room id");
    int limit;
    int64_t before;
    if (!room || !api_query_int(r, "limit", 100, 1, 1000, &limit) || !query_before(r, &before))
        return;
    store_message_list_t l;
    store_status_t st =
        store_messages_recent(room, before, core_now_ms(), api_config()->message_ttl_s, limit, &l);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the room's messages");
        return;
    }
    reply_list(r, &l, limit);
}

/* Replies the user's offline queue, oldest first; take empties it in the
 * same step. */
static void reply_offline(api_req_t *r, const char *user, bool take) {
    store_message_list_t l;
    store_status_t st =
        take ? store_messages_offline_take(user, &l) : store_messages_offline(user, &l);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the offline messages");
        return;
    }
    reply_list(r, &l, 0);
}

void api_messages_offline_get(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
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
    reply_offline(r, user, false);
}

void api_messages_offline_consume(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    if (user)
        reply_offline(r, user, true);
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
