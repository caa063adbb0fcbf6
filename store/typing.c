/*
 * Typing indicators: one key with a TTL per (room, user), and the room's index
 * scored by expiry; see typing.h. Both are in the room's bucket. Start is one
 * script (it checks the participant and prunes the index in the same step);
 * stop is two plain commands, pipelined.
 */
#include "typing.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"
#include "batch.h"
#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* An indicator is announced stopped exactly once: by whoever takes its
 * entry out of typing:expiry:{b} (a stop, a leave, the start of another
 * that finds it expired, or the reaper), since the room's own index expires
 * with its newest indicator and cannot say what was announced. */

/* KEYS: participants, typing index, typing:{room}:{user}, typing:expiry:{b},
 * events:{b}. ARGV: user, now (ISO 8601), expiry (ms), now (ms), room,
 * retention. The entries that expired go (here, so that listing never
 * writes), each announced stopped (reason "expired") unless that was done;
 * the index lives as long as the indicator in it that expires last.
 * typing.started when the user was not typing. */
static store_script_t start_script = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "local now = tonumber(ARGV[4])\n"
    "local function expired(u)\n"
    "  if redis.call('ZREM', KEYS[4], ARGV[5] .. ' ' .. u) == 1 then\n"
    "    emit('typing.stopped', {room_id = ARGV[5], user_id = u, reason = 'expired'})\n"
    "  end\n"
    "end\n"
    "for _, u in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do expired(u) end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "local was = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[5] .. ' ' .. ARGV[1]) or '0')\n"
    "if was > 0 and was <= now then expired(ARGV[1]) end\n"
    "redis.call('SET', KEYS[3], ARGV[2])\n"
    "redis.call('PEXPIREAT', KEYS[3], ARGV[3])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], ARGV[3], ARGV[5] .. ' ' .. ARGV[1])\n"
    "local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')\n"
    "redis.call('PEXPIREAT', KEYS[2], last[2])\n"
    "if was <= now then\n"
    "  emit('typing.started', {room_id = ARGV[5], user_id = ARGV[1],\n"
    "                          expires_at = tonumber(ARGV[3])})\n"
    "end\n"
    "return 1\n");

/* KEYS: typing index, typing:{room}:{user}, typing:expiry:{b}, events:{b}.
 * ARGV: user, room, now (ms), reason, retention. typing.stopped when the
 * indicator was there (reason "expired" when it had run out unannounced). */
static store_script_t stop_script = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "local was = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[2] .. ' ' .. ARGV[1]) or '0')\n"
    "redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "redis.call('DEL', KEYS[2])\n"
    "redis.call('ZREM', KEYS[3], ARGV[2] .. ' ' .. ARGV[1])\n"
    "if was > 0 then\n"
    "  emit('typing.stopped', {room_id = ARGV[2], user_id = ARGV[1],\n"
    "       reason = was > tonumber(ARGV[3]) and ARGV[4] or 'expired'})\n"
    "end\n"
    "return 1\n");

store_status_t store_typing_start(const char *room_id, const char *user_id, int64_t now_ms,
                                  int ttl_s, int64_t *expires_at_ms) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    *expires_at_ms = now_ms + (int64_t)ttl_s * 1000;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &start_script, 5);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, room_id);
    store_args_key(&a, KEY_ROOM_TYPING, room_id);
    store_args_key2(&a, KEY_TYPING, room_id, user_id);
    store_args_key(&a, KEY_TYPING_EXPIRY, room_id);
    store_events_key(&a, room_id);
    store_args_str(&a, user_id);
    store_args_str(&a, now);
    store_args_int(&a, *expires_at_ms);
    store_args_int(&a, now_ms);
    store_args_str(&a, room_id);
    store_events_arg(&a);
    store_status_t st = store_eval_count(&start_script, &a, 1, STORE_NOT_FOUND);
    store_args_free(&a);
    return st;
}

void store_typing_stop_call(store_batch_t *b, const char *room_id, const char *user_id,
                            const char *reason) {
    store_args_t *q = store_batch_call(b, &stop_script, 4);
    store_args_key(q, KEY_ROOM_TYPING, room_id);
    store_args_key2(q, KEY_TYPING, room_id, user_id);
    store_args_key(q, KEY_TYPING_EXPIRY, room_id);
    store_events_key(q, room_id);
    store_args_str(q, user_id);
    store_args_str(q, room_id);
    store_args_int(q, core_now_ms());
    store_args_str(q, reason);
    store_events_arg(q);
}

store_status_t store_typing_stop(const char *room_id, const char *user_id) {
    store_batch_t b;
    store_batch_init(&b, 1);
    store_typing_stop_call(&b, room_id, user_id, "request");
    store_status_t st = store_batch_run(&b);
    store_batch_free(&b);
    return st;
}

/* The indicators read, sorted by user id: what the page reader looks in. */
typedef struct {
    int n;
    store_typing_t *items;
} typing_all_t;

static int by_user(const void *a, const void *b) {
    return strcmp(((const store_typing_t *)a)->user_id, ((const store_typing_t *)b)->user_id);
}

/* The page reader: each id's indicator, from what was read (ctx). */
static store_status_t read_typing(int n, const char *const *ids, void *items, bool *keep,
                                  const void *ctx) {
    const typing_all_t *all = ctx;
    store_typing_t *out = items, key = {.expires_at_ms = 0};
    for (int i = 0; i < n; i++) {
        snprintf(key.user_id, sizeof key.user_id, "%s", ids[i]);
        const store_typing_t *t = bsearch(&key, all->items, (size_t)all->n, sizeof key, by_user);
        keep[i] = t != NULL;
        if (t)
            out[i] = *t;
    }
    return STORE_OK;
}

store_status_t store_typing_list(const char *room_id, int64_t now_ms, const char *cursor, int limit,
                                 store_page_t *out) {
    char min[32];
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZRANGEBYSCORE");
    store_args_key(&a, KEY_ROOM_TYPING, room_id);
    /* what has not expired */
    int minlen = snprintf(min, sizeof min, "(%lld", (long long)now_ms);
    store_args_copy(&a, min, (size_t)minlen);
    store_args_str(&a, "+inf");
    store_args_str(&a, "WITHSCORES");
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
    typing_all_t all = {0, calloc(n ? n : 1, sizeof *all.items)};
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    for (size_t i = 0; all.items && ids && i < n; i++) {
        store_typing_t *t = &all.items[all.n];
        if (!store_reply_copy(store_reply_at(r, 2 * i), t->user_id, sizeof t->user_id) ||
            !core_id_valid(t->user_id))
            continue;
        t->expires_at_ms = store_reply_int(store_reply_at(r, 2 * i + 1), 0);
        all.n++;
    }
    freeReplyObject(r);
    if (all.items && ids) {
        qsort(all.items, (size_t)all.n, sizeof *all.items, by_user);
        for (int i = 0; i < all.n; i++)
            ids[i] = all.items[i].user_id;
        const store_page_spec_t spec = {
            .item_size = sizeof(store_typing_t), .read = read_typing, .ctx = &all};
        st = store_page_ids(&spec, all.n, ids, cursor, limit, all.n, out);
    } else {
        st = STORE_ERROR;
    }
    free(ids);
    free(all.items);
    return st;
}
