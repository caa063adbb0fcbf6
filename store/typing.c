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
#include "keys.h"
#include "reply.h"
#include "script.h"

/* KEYS: participants, typing index, typing:{room}:{user}.
 * ARGV: user, now (ISO 8601), expiry (ms), now (ms). The entries that expired
 * go (here, so that listing never writes); the index lives as long as the
 * indicator in it that expires last. */
static store_script_t start_script = STORE_SCRIPT(
    "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])\n"
    "redis.call('SET', KEYS[3], ARGV[2])\n"
    "redis.call('PEXPIREAT', KEYS[3], ARGV[3])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')\n"
    "redis.call('PEXPIREAT', KEYS[2], last[2])\n"
    "return 1\n");

store_status_t store_typing_start(const char *room_id, const char *user_id, int64_t now_ms,
                                  int ttl_s, int64_t *expires_at_ms) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    *expires_at_ms = now_ms + (int64_t)ttl_s * 1000;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &start_script, 3);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, room_id);
    store_args_key(&a, KEY_ROOM_TYPING, room_id);
    store_args_key2(&a, KEY_TYPING, room_id, user_id);
    store_args_str(&a, user_id);
    store_args_str(&a, now);
    store_args_int(&a, *expires_at_ms);
    store_args_int(&a, now_ms);
    store_status_t st = store_eval_count(&start_script, &a, 1, STORE_NOT_FOUND);
    store_args_free(&a);
    return st;
}

store_status_t store_typing_stop(const char *room_id, const char *user_id) {
    store_args_t cmds[2];
    store_args_init(&cmds[0]);
    store_args_init(&cmds[1]);
    store_args_str(&cmds[0], "ZREM");
    store_args_key(&cmds[0], KEY_ROOM_TYPING, room_id);
    store_args_str(&cmds[0], user_id);
    store_args_str(&cmds[1], "DEL");
    store_args_key2(&cmds[1], KEY_TYPING, room_id, user_id);
    redisReply *r[2];
    store_status_t st = store_run(2, cmds, r);
    store_args_free(&cmds[0]);
    store_args_free(&cmds[1]);
    if (st == STORE_OK)
        store_replies_free(2, r);
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
