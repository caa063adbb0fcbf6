/*
 * Notifications. Like messages, a notification never changes once made, so
 * its JSON {"id","user_id","title","body","priority","created_at"} is made
 * and read here (this file owns the format) and the scripts only move bytes.
 *
 * Each priority's queue is one list per bucket (notification_queue:high:{b}),
 * and a notification goes on the shard of its user's bucket: the user's list
 * and that shard share one slot, so the create script writes both in one
 * atomic step. Queues have the newest at the head, so popping takes from the
 * tail: the oldest first. A pop reads the length of every shard (one round),
 * then pops what it needs from the shards in order, high before normal,
 * starting each time at the next shard so that every user's shard is served
 * in turn (one RPOP with a count per shard, another round). A shard that
 * another pop emptied meanwhile gives fewer: the pop reads the lengths again
 * and goes on, a bounded number of times. The notifications popped are
 * answered high first, then normal, each oldest first by created_at.
 */
#include "notifications.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonout.h"
#include "batch.h"
#include "events.h"
#include "keys.h"
#include "page.h"
#include "reply.h"
#include "script.h"

/* KEYS: the user's list, the priority's queue, events:{b}. ARGV: JSON,
 * then for the list and for the queue each: keep max, TTL (ms); the
 * retention. Both have the newest at the head, so the trim drops the
 * oldest. The notification is announced (notification.created) in the
 * same step. */
static store_script_t create_script =
    STORE_SCRIPT(STORE_EVENTS_LUA
                 "for i = 1, 2 do\n"
                 "  redis.call('LPUSH', KEYS[i], ARGV[1])\n"
                 "  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[2 * i]) - 1)\n"
                 "  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])\n"
                 "end\n"
                 "emit_json('notification.created', ARGV[1])\n"
                 "return 1\n");

/* Pop rounds (lengths, then pops) before a pop settles for what it has. */
#define POP_ROUNDS 4
#define NQUEUES (2 * STORE_BUCKETS)

/* The next shard a pop starts at. */
static atomic_uint next_start;

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

/* Appends the notifications of array reply r to out (items has room). */
static void append(const redisReply *r, store_notification_list_t *out) {
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (decode(r->element[i], &out->items[out->n]))
            out->n++;
    }
}

store_status_t store_notifications_create(const store_notification_t *n,
                                          const store_notification_limits_t *lim) {
    char *json = encode(n);
    if (!json)
        return STORE_ERROR;
    bool high = strcmp(n->priority, "high") == 0;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &create_script, 3);
    store_args_key(&a, KEY_USER_NOTIFICATIONS, n->user_id);
    store_args_key(&a, high ? KEY_NOTIFY_QUEUE_HIGH : KEY_NOTIFY_QUEUE_NORMAL, n->user_id);
    store_events_key(&a, n->user_id);
    store_args_str(&a, json);
    store_args_int(&a, lim->list_max);
    store_args_int(&a, (long long)lim->list_ttl_s * 1000);
    store_args_int(&a, lim->queue_max);
    store_args_int(&a, (long long)lim->queue_ttl_s * 1000);
    store_events_arg(&a);
    redisReply *r;
    store_status_t st = store_eval(&create_script, &a, &r);
    store_args_free(&a);
    free(json);
    if (st == STORE_OK)
        freeReplyObject(r);
    return st;
}

static void drop_notification(void *n) { free(((store_notification_t *)n)->body); }

store_status_t store_notifications_of_user(const char *user_id, const char *cursor, int limit,
                                           store_notification_list_t *out) {
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "LRANGE");
    store_args_key(&a, KEY_USER_NOTIFICATIONS, user_id);
    store_args_str(&a, "0");
    store_args_str(&a, "-1");
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (out->items)
        append(r, out);
    else
        st = STORE_ERROR;
    freeReplyObject(r);
    if (st != STORE_OK)
        return st;
    /* newest first: a cursor no longer listed was trimmed with all older */
    out->total = out->n;
    store_page_cut(out->items, &out->n, sizeof *out->items,
                   store_page_start(out->items, out->n, sizeof *out->items, cursor, false), limit,
                   drop_notification, out->next_cursor, sizeof out->next_cursor);
    return STORE_OK;
}

/* The queues a pop drains, in order: kinds[i] and buckets[i]; their count. */
static int pop_order(const char *priority, store_key_t *kinds, int *buckets) {
    unsigned start = atomic_fetch_add_explicit(&next_start, 1, memory_order_relaxed);
    int n = 0;
    for (int p = 0; p < 2; p++) {
        store_key_t k = p == 0 ? KEY_NOTIFY_QUEUE_HIGH : KEY_NOTIFY_QUEUE_NORMAL;
        if (priority && strcmp(priority, p == 0 ? "high" : "normal") != 0)
            continue;
        for (int i = 0; i < STORE_BUCKETS; i++) {
            kinds[n] = k;
            buckets[n++] = (int)((start + (unsigned)i) % STORE_BUCKETS);
        }
    }
    return n;
}

/* Runs one command per queue: LLEN (take NULL) or RPOP with take[i] (only
 * where take[i] > 0); r[i] is queue i's reply (NULL: none), which the caller
 * frees. */
static store_status_t each_queue(int nq, const store_key_t *kinds, const int *buckets,
                                 const long long *take, redisReply **r) {
    store_batch_t b;
    store_batch_init(&b, nq);
    for (int i = 0; i < nq; i++) {
        if (take && take[i] <= 0)
            continue;
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, take ? "RPOP" : "LLEN");
        store_args_index(q, kinds[i], buckets[i]);
        if (take)
            store_args_int(q, take[i]);
    }
    store_status_t st = store_batch_run(&b);
    for (int i = 0, j = 0; i < nq; i++)
        r[i] = (take && take[i] <= 0) || st != STORE_OK ? NULL : store_batch_take(&b, j++);
    store_batch_free(&b);
    return st;
}

/* Sorts l high before normal, each oldest first by created_at; those made
 * in the same millisecond keep the order they were popped in. */
static int by_created(const void *a, const void *b) {
    const store_notification_t *const *x = a, *const *y = b;
    int hx = strcmp((*x)->priority, "high") == 0, hy = strcmp((*y)->priority, "high") == 0;
    if (hx != hy)
        return hy - hx;
    int c = strcmp((*x)->created_at, (*y)->created_at);
    return c ? c : (*x < *y ? -1 : *x > *y);
}

static store_status_t sort_oldest_first(store_notification_list_t *l) {
    store_notification_t **order = malloc(sizeof *order * (size_t)(l->n > 0 ? l->n : 1));
    store_notification_t *sorted = malloc(sizeof *sorted * (size_t)(l->n > 0 ? l->n : 1));
    if (!order || !sorted) {
        free(order);
        free(sorted);
        return STORE_ERROR;
    }
    for (int i = 0; i < l->n; i++)
        order[i] = &l->items[i]; /* the pointers compare as the popped order */
    qsort(order, (size_t)l->n, sizeof *order, by_created);
    for (int i = 0; i < l->n; i++)
        sorted[i] = *order[i];
    free(order);
    free(l->items);
    l->items = sorted;
    return STORE_OK;
}

store_status_t store_notifications_pop(const char *priority, int count,
                                       store_notification_list_t *out) {
    long long queued = 0; /* waiting when the pop began: the first round's count */
    memset(out, 0, sizeof *out);
    store_key_t kinds[NQUEUES];
    int buckets[NQUEUES];
    int nq = pop_order(priority, kinds, buckets);
    out->items = calloc((size_t)count, sizeof *out->items);
    if (!out->items)
        return STORE_ERROR;
    int want = count;
    store_status_t st = STORE_OK;
    for (int round = 0; st == STORE_OK && want > 0 && round < POP_ROUNDS; round++) {
        redisReply *r[NQUEUES];
        long long take[NQUEUES], planned = 0;
        st = each_queue(nq, kinds, buckets, NULL, r);
        for (int i = 0; st == STORE_OK && i < nq; i++) {
            long long len = store_reply_int(r[i], 0);
            if (round == 0)
                queued += len;
            take[i] = len < want - planned ? len : want - planned;
            planned += take[i];
            freeReplyObject(r[i]);
        }
        if (st != STORE_OK || planned == 0)
            break; /* every queue is empty */
        st = each_queue(nq, kinds, buckets, take, r);
        long long popped = 0;
        for (int i = 0; st == STORE_OK && i < nq; i++) {
            popped += r[i] && r[i]->type == REDIS_REPLY_ARRAY ? (long long)r[i]->elements : 0;
            append(r[i], out);
            if (r[i])
                freeReplyObject(r[i]);
        }
        want -= (int)popped;
        if (popped >= planned)
            break; /* no other pop took any of it */
    }
    if (st != STORE_OK && out->n > 0)
        st = STORE_OK; /* what was popped is gone from the queues: answer it */
    if (st == STORE_OK)
        st = sort_oldest_first(out);
    out->total = queued > out->n ? queued : out->n;
    if (st != STORE_OK)
        store_notification_list_free(out);
    return st;
}

void store_notification_list_free(store_notification_list_t *l) {
    for (int i = 0; i < l->n; i++)
        free(l->items[i].body);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
