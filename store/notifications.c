/*
 * Notifications. Like messages, a notification never changes once made, so
 * its JSON {"id","user_id","title","body","priority","created_at"} is made
 * and read here (this file owns the format) and the scripts only move bytes.
 * Queues have the newest at the head, so popping takes from the tail: the
 * oldest first.
 */
#include "notifications.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonout.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* KEYS: the user's list, the priority's queue. ARGV: JSON, then for the
 * list and for the queue each: keep max, TTL (ms). Both have the newest at
 * the head, so the trim drops the oldest. */
static store_script_t create_script = STORE_SCRIPT(
    "for i, key in ipairs(KEYS) do\n"
    "  redis.call('LPUSH', key, ARGV[1])\n"
    "  redis.call('LTRIM', key, 0, tonumber(ARGV[2 * i]) - 1)\n"
    "  redis.call('PEXPIRE', key, ARGV[2 * i + 1])\n"
    "end\n"
    "return 1\n");

/* KEYS: the user's list. ARGV: limit. Returns {length, the newest limit}, so
 * the count and the items always agree. */
static store_script_t list_script = STORE_SCRIPT(
    "return {redis.call('LLEN', KEYS[1]), redis.call('LRANGE', KEYS[1], 0, ARGV[1] - 1)}\n");

/* KEYS: the queues to drain, in order. ARGV: how many to take in all.
 * Returns them oldest first. */
static store_script_t pop_script = STORE_SCRIPT(
    "local want, out = tonumber(ARGV[1]), {}\n"
    "for _, q in ipairs(KEYS) do\n"
    "  if #out >= want then break end\n"
    "  local items = redis.call('LRANGE', q, -(want - #out), -1)\n"
    "  if #items > 0 then\n"
    "    redis.call('LTRIM', q, 0, -(#items + 1))\n"
    "    for i = #items, 1, -1 do out[#out + 1] = items[i] end\n"
    "  end\n"
    "end\n"
    "return out\n");

static char *encode(const store_notification_t *n) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", n->id);
    cJSON_AddStringToObject(o, "user_id", n->user_id);
    cJSON_AddStringToObject(o, "title", n->title);
    cJSON_AddStringToObject(o, "body", n->body);
    cJSON_AddStringToObject(o, "priority", n->priority);
    cJSON_AddStringToObject(o, "created_at", n->created_at);
    char *s = core_json_print(o, NULL);
    cJSON_Delete(o);
    return s;
}

static void copy_field(const cJSON *o, const char *name, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* False when r is not a notification, or memory ran out. */
static bool decode(const redisReply *r, store_notification_t *n) {
    if (!store_reply_is_str(r))
        return false;
    cJSON *o = cJSON_ParseWithLength(r->str, r->len);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
    bool ok = cJSON_IsObject(o) && cJSON_IsString(body);
    if (ok) {
        copy_field(o, "id", n->id, sizeof n->id);
        copy_field(o, "user_id", n->user_id, sizeof n->user_id);
        copy_field(o, "title", n->title, sizeof n->title);
        copy_field(o, "priority", n->priority, sizeof n->priority);
        copy_field(o, "created_at", n->created_at, sizeof n->created_at);
        n->body = strdup(body->valuestring);
        ok = n->body != NULL;
    }
    cJSON_Delete(o);
    return ok;
}

static store_status_t read_list(const redisReply *r, store_notification_list_t *out) {
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    out->n = 0;
    out->items = n ? calloc(n, sizeof *out->items) : NULL;
    if (n && !out->items)
        return STORE_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (decode(store_reply_at(r, i), &out->items[out->n]))
            out->n++;
    }
    return STORE_OK;
}

store_status_t store_notifications_create(const store_notification_t *n,
                                          const store_notification_limits_t *lim) {
    char *json = encode(n);
    if (!json)
        return STORE_ERROR;
    bool high = strcmp(n->priority, "high") == 0;
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_USER_NOTIFICATIONS, n->user_id);
    store_args_key(&a, high ? KEY_NOTIFY_QUEUE_HIGH : KEY_NOTIFY_QUEUE_NORMAL, NULL);
    store_args_str(&a, json);
    store_args_int(&a, lim->list_max);
    store_args_int(&a, (long long)lim->list_ttl_s * 1000);
    store_args_int(&a, lim->queue_max);
    store_args_int(&a, (long long)lim->queue_ttl_s * 1000);
    redisReply *r;
    store_status_t st = store_eval(&create_script, 2, &a, &r);
    store_args_free(&a);
    free(json);
    if (st == STORE_OK)
        freeReplyObject(r);
    return st;
}

store_status_t store_notifications_of_user(const char *user_id, int limit,
                                           store_notification_list_t *out) {
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_USER_NOTIFICATIONS, user_id);
    store_args_int(&a, limit);
    redisReply *r;
    store_status_t st = store_eval(&list_script, 1, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    out->total = store_reply_int(store_reply_at(r, 0), 0);
    st = read_list(store_reply_at(r, 1), out);
    freeReplyObject(r);
    return st;
}

store_status_t store_notifications_pop(const char *priority, int count,
                                       store_notification_list_t *out) {
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    int nkeys = 0;
    if (!priority || strcmp(priority, "high") == 0) {
        store_args_key(&a, KEY_NOTIFY_QUEUE_HIGH, NULL);
        nkeys++;
    }
    if (!priority || strcmp(priority, "normal") == 0) {
        store_args_key(&a, KEY_NOTIFY_QUEUE_NORMAL, NULL);
        nkeys++;
    }
    store_args_int(&a, count);
    redisReply *r;
    store_status_t st = store_eval(&pop_script, nkeys, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = read_list(r, out);
    out->total = out->n;
    freeReplyObject(r);
    return st;
}

void store_notification_list_free(store_notification_list_t *l) {
    for (int i = 0; i < l->n; i++)
        free(l->items[i].body);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
