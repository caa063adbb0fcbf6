/*
 * Friends; see friends.h. The set and its event are written by one script
 * in the user's bucket: a reader of the stream who sees friends.changed
 * sees the list that is stored.
 */
#include "friends.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonout.h"
#include "batch.h"
#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* KEYS: friends, events:{b}. ARGV: user, TTL (ms), expiry (ms), the list
 * as a JSON array, the ids, the retention. */
static store_script_t set_script = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "redis.call('DEL', KEYS[1])\n"
    "if #ARGV > 5 then\n"
    "  redis.call('SADD', KEYS[1], unpack(ARGV, 5, #ARGV - 1))\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "emit_json('friends.changed', '{\"user_id\":' .. cjson.encode(ARGV[1]) .. ',\"friends\":' ..\n"
    "          ARGV[4] .. ',\"expires_at\":' .. (#ARGV > 5 and ARGV[3] or 'null') .. '}')\n"
    "return 1\n");

static int by_id(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

store_status_t store_friends_set(const char *user_id, int n, const char *const *ids, int64_t now_ms,
                                 int ttl_s) {
    const char **sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    if (!sorted)
        return STORE_ERROR;
    memcpy(sorted, ids, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, by_id);
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_array(&w);
    for (int i = 0; i < n; i++)
        core_jsonw_string(&w, sorted[i]);
    core_jsonw_end(&w);
    size_t len = 0;
    char *json = core_jsonw_finish(&w, &len);
    if (!json) {
        free(sorted);
        return STORE_ERROR;
    }
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &set_script, 2);
    store_args_key(&a, KEY_FRIENDS, user_id);
    store_events_key(&a, user_id);
    store_args_str(&a, user_id);
    store_args_int(&a, (long long)ttl_s * 1000);
    store_args_int(&a, now_ms + (long long)ttl_s * 1000);
    store_args_add(&a, json, len);
    for (int i = 0; i < n; i++)
        store_args_str(&a, sorted[i]);
    store_events_arg(&a);
    redisReply *r;
    store_status_t st = store_eval(&set_script, &a, &r);
    store_args_free(&a);
    if (st == STORE_OK)
        freeReplyObject(r);
    free(json);
    free(sorted);
    return st;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

store_status_t store_friends_get(const char *user_id, store_friends_t *out) {
    memset(out, 0, sizeof *out);
    store_batch_t b;
    store_batch_init(&b, 2);
    store_args_t *q = store_batch_add(&b);
    store_args_str(q, "SMEMBERS");
    store_args_key(q, KEY_FRIENDS, user_id);
    q = store_batch_add(&b);
    store_args_str(q, "PEXPIRETIME");
    store_args_key(q, KEY_FRIENDS, user_id);
    store_status_t st = store_batch_run(&b);
    const redisReply *m = st == STORE_OK ? store_batch_reply(&b, 0) : NULL;
    size_t n = m && m->type == REDIS_REPLY_ARRAY ? m->elements : 0;
    if (st == STORE_OK && !(out->ids = calloc(n ? n : 1, sizeof *out->ids)))
        st = STORE_ERROR;
    for (size_t i = 0; st == STORE_OK && i < n; i++)
        if (store_reply_copy(m->element[i], out->ids[out->n], sizeof out->ids[0]) &&
            core_id_valid(out->ids[out->n]))
            out->n++;
    if (st == STORE_OK) {
        long long t = store_reply_int(store_batch_reply(&b, 1), 0);
        out->expires_at_ms = out->n > 0 && t > 0 ? t : 0;
        qsort(out->ids, (size_t)out->n, sizeof out->ids[0], by_name);
    }
    store_batch_free(&b);
    if (st != STORE_OK)
        store_friends_free(out);
    return st;
}

void store_friends_free(store_friends_t *f) {
    free(f->ids);
    f->ids = NULL;
    f->n = 0;
}
