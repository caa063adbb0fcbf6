/*
 * Presence. A user's presence hash and their entries in online_users:{b}
 * (expiry) and online_users:by_id:{b} (paging) are in the user's bucket:
 * setting and clearing them is one script each, atomic.
 *
 * The hash holds everything an answer shows, its expiry (ms) too, written
 * with the index's score in the same script: reading a user, alone or on a
 * page, is one HMGET (read_entries).
 * store_presence_online asks many users' buckets at once (ZMSCORE per
 * bucket): the one rule of "online" for rooms and messages.
 *
 * Going offline also clears the user's typing indicators, which live in
 * each room's bucket, not the user's: the rooms are read first (the user's
 * rooms index), then the indicators are removed and presence is cleared in
 * one pipelined round. A crash between the two leaves at worst an indicator
 * that its own TTL (TYPING_TTL_S) ends; a room joined in that moment keeps
 * an indicator the same way.
 */
#include "presence.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "keys.h"
#include "page.h"
#include "reply.h"
#include "script.h"

/* KEYS: presence, online_users:{b}, online_users:by_id:{b}. ARGV: status,
 * device id ('' keeps the one before), now (ISO 8601), expiry (ms), user.
 * Returns {status, device_id, last_seen, expiry}. */
static store_script_t set_script = STORE_SCRIPT(
    "redis.call('HSET', KEYS[1], 'status', ARGV[1], 'last_seen', ARGV[3], 'expires_at', ARGV[4])\n"
    "if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'device_id', ARGV[2]) end\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[4])\n"
    "redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])\n"
    "redis.call('ZADD', KEYS[3], 0, ARGV[5])\n"
    "return {ARGV[1], redis.call('HGET', KEYS[1], 'device_id') or '', ARGV[3], ARGV[4]}\n");

/* KEYS: as set. ARGV: user. */
static store_script_t clear_script = STORE_SCRIPT(
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "return 1\n");

static void read_entry(const redisReply *r, size_t off, store_presence_t *p) {
    store_reply_copy(store_reply_at(r, off), p->status, sizeof p->status);
    store_reply_copy(store_reply_at(r, off + 1), p->device_id, sizeof p->device_id);
    store_reply_copy(store_reply_at(r, off + 2), p->last_seen, sizeof p->last_seen);
    p->expires_at_ms = store_reply_int(store_reply_at(r, off + 3), 0);
}

static void add_keys(store_args_t *a, const char *id) {
    store_args_key(a, KEY_PRESENCE, id);
    store_args_key(a, KEY_ONLINE_USERS, id);
    store_args_key(a, KEY_ONLINE_USERS_BY_ID, id);
}

/* Reads n users' entries, one HMGET each, in one round trip: p[i] filled,
 * and online[i] true for each whose hash is there with an expiry after now. */
static store_status_t read_entries(int n, const char *const *ids, int64_t now_ms,
                                   store_presence_t *p, bool *online) {
    store_batch_t b;
    store_batch_init(&b, n);
    for (int i = 0; i < n; i++) {
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "HMGET");
        store_args_key(q, KEY_PRESENCE, ids[i]);
        store_args_str(q, "status");
        store_args_str(q, "device_id");
        store_args_str(q, "last_seen");
        store_args_str(q, "expires_at");
    }
    store_status_t st = store_batch_run(&b);
    for (int i = 0; st == STORE_OK && i < n; i++) {
        store_reply_id(ids[i], p[i].id);
        read_entry(store_batch_reply(&b, i), 0, &p[i]);
        online[i] = p[i].status[0] && p[i].expires_at_ms > now_ms;
    }
    store_batch_free(&b);
    return st;
}

store_status_t store_presence_set(const char *id, const char *status, const char *device_id,
                                  int64_t now_ms, int ttl_s, store_presence_t *out) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &set_script, 3);
    add_keys(&a, id);
    store_args_str(&a, status);
    store_args_str(&a, device_id ? device_id : "");
    store_args_str(&a, now);
    store_args_int(&a, now_ms + (int64_t)ttl_s * 1000);
    store_args_str(&a, id);
    redisReply *r;
    store_status_t st = store_eval_found(&set_script, &a, STORE_ERROR, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    snprintf(out->id, sizeof out->id, "%s", id);
    read_entry(r, 0, out);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_presence_get(const char *id, int64_t now_ms, store_presence_t *out) {
    memset(out, 0, sizeof *out);
    bool online = false;
    store_status_t st = read_entries(1, &id, now_ms, out, &online);
    return st == STORE_OK && !online ? STORE_NOT_FOUND : st;
}

store_status_t store_presence_clear(const char *id) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZRANGE"); /* every room of theirs, ended or not */
    store_args_key(&a, KEY_USER_ROOMS, id);
    store_args_str(&a, "0");
    store_args_str(&a, "-1");
    redisReply *rooms;
    store_status_t st = store_cmd(&a, &rooms);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    size_t nrooms = rooms->type == REDIS_REPLY_ARRAY ? rooms->elements : 0;
    store_batch_t b;
    store_batch_init(&b, 2 * (int)nrooms + 1);
    for (size_t i = 0; i < nrooms; i++) {
        char room[CORE_ID_MAX + 1];
        if (!store_reply_copy(rooms->element[i], room, sizeof room) || !core_id_valid(room))
            continue; /* someone else's entry */
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "ZREM");
        store_args_key(q, KEY_ROOM_TYPING, room);
        store_args_str(q, id);
        q = store_batch_add(&b);
        store_args_str(q, "DEL");
        store_args_key2(q, KEY_TYPING, room, id);
    }
    store_args_t *q = store_batch_call(&b, &clear_script, 3);
    add_keys(q, id);
    store_args_str(q, id);
    st = store_batch_run(&b);
    store_batch_free(&b);
    freeReplyObject(rooms);
    return st;
}

static store_status_t read_page(int n, const char *const *ids, void *items, bool *keep,
                                const void *ctx) {
    return read_entries(n, ids, *(const int64_t *)ctx, items, keep);
}

store_status_t store_presence_list(const char *cursor, int limit, int64_t now_ms,
                                   store_page_t *out) {
    const store_page_spec_t spec = {.index = KEY_ONLINE_USERS_BY_ID,
                                    .item_size = sizeof(store_presence_t),
                                    .count_index = KEY_ONLINE_USERS,
                                    .count_after_ms = now_ms,
                                    .read = read_page,
                                    .ctx = &now_ms};
    return store_page_read(&spec, cursor, limit, out);
}

store_status_t store_presence_online(int n, const char *const *ids, int64_t now_ms, bool *online) {
    int of[STORE_BUCKETS]; /* bucket -> its ZMSCORE in the batch */
    int *bucket = malloc(sizeof *bucket * (size_t)(n > 0 ? n : 1));
    if (!bucket)
        return STORE_ERROR;
    store_batch_t b;
    store_batch_init(&b, STORE_BUCKETS);
    store_args_t *cmds[STORE_BUCKETS];
    for (int k = 0; k < STORE_BUCKETS; k++)
        of[k] = -1;
    for (int i = 0; i < n; i++) {
        int k = bucket[i] = store_key_bucket(ids[i]);
        if (of[k] < 0) {
            of[k] = b.n;
            cmds[b.n] = store_batch_add(&b);
            store_args_str(cmds[of[k]], "ZMSCORE");
            store_args_index(cmds[of[k]], KEY_ONLINE_USERS, k);
        }
        store_args_str(cmds[of[k]], ids[i]);
    }
    store_status_t st = store_batch_run(&b);
    int next[STORE_BUCKETS] = {0};
    for (int i = 0; i < n; i++) {
        int j = of[bucket[i]];
        const redisReply *r = store_batch_reply(&b, j);
        online[i] =
            st == STORE_OK && store_reply_int(store_reply_at(r, (size_t)next[j]++), 0) > now_ms;
    }
    store_batch_free(&b);
    free(bucket);
    return st;
}
