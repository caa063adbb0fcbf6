/*
 * Presence. Entries returned by the scripts share one shape, read by
 * read_entry(): status, device_id, last_seen, expiry (ms).
 */
#include "presence.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "script.h"

static store_script_t set_script = STORE_SCRIPT(
    "redis.call('HSET', KEYS[1], 'status', ARGV[1], 'last_seen', ARGV[3])\n"
    "if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'device_id', ARGV[2]) end\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[4])\n"
    "redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])\n"
    "redis.call('ZADD', KEYS[3], 0, ARGV[5])\n"
    "return {ARGV[1], redis.call('HGET', KEYS[1], 'device_id') or '', ARGV[3], ARGV[4]}\n");

/* Going offline also clears the typing indicator of every room the user is
 * in (KEYS[4], their rooms); they stay a participant, so messages keep
 * queueing for them. Who of a room is joined is read from online_users, so
 * it needs no change here. ARGV 2..5: the heads and tails of room:{r}:typing
 * and typing:{r}:{user}. */
static store_script_t clear_script = STORE_SCRIPT(
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "for _, room in ipairs(redis.call('SMEMBERS', KEYS[4])) do\n"
    "  redis.call('ZREM', ARGV[2] .. room .. ARGV[3], ARGV[1])\n"
    "  redis.call('DEL', ARGV[4] .. room .. ARGV[5])\n"
    "end\n"
    "return 1\n");

static store_script_t get_script = STORE_SCRIPT(
    "local s = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
    "if not s or tonumber(s) <= tonumber(ARGV[2]) then return false end\n"
    "local h = redis.call('HMGET', KEYS[1], 'status', 'device_id', 'last_seen')\n"
    "if not h[1] then return false end\n"
    "return {h[1], h[2] or '', h[3] or '', s}\n");

/* Returns {count, next_cursor, id, status, device_id, last_seen, expiry, id, ...}. */
static store_script_t list_script = STORE_SCRIPT(
    "local limit, now = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]\n"
    "local out = {redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[3], '+inf'), ''}\n"
    "local n, last = 0, ''\n"
    "while true do\n"
    "  local ids = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, limit + 1)\n"
    "  if #ids == 0 then return out end\n"
    "  for _, id in ipairs(ids) do\n"
    "    start = '(' .. id\n"
    "    local s = redis.call('ZSCORE', KEYS[2], id)\n"
    "    if s and tonumber(s) > now then\n"
    "      local h = redis.call('HMGET', ARGV[4] .. id, 'status', 'device_id', 'last_seen')\n"
    "      if h[1] then\n"
    "        if n == limit then out[2] = last; return out end\n"
    "        n = n + 1; last = id\n"
    "        out[#out + 1] = id\n"
    "        out[#out + 1] = h[1]\n"
    "        out[#out + 1] = h[2] or ''\n"
    "        out[#out + 1] = h[3] or ''\n"
    "        out[#out + 1] = s\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n");

static void read_entry(const redisReply *r, size_t off, store_presence_t *p) {
    store_reply_copy(store_reply_at(r, off), p->status, sizeof p->status);
    store_reply_copy(store_reply_at(r, off + 1), p->device_id, sizeof p->device_id);
    store_reply_copy(store_reply_at(r, off + 2), p->last_seen, sizeof p->last_seen);
    p->expires_at_ms = store_reply_int(store_reply_at(r, off + 3), 0);
}

/* One listed user: the id, then the entry shape. */
static void read_listed(const redisReply *r, size_t off, void *item) {
    store_presence_t *p = item;
    store_reply_copy(store_reply_at(r, off), p->id, sizeof p->id);
    read_entry(r, off + 1, p);
}

static void add_keys(store_args_t *a, const char *id) {
    store_args_key(a, KEY_PRESENCE, id);
    store_args_key(a, KEY_ONLINE_USERS, NULL);
    store_args_key(a, KEY_ONLINE_USERS_BY_ID, NULL);
}

/* Runs a script that answers one entry (or nil) and reads it into *out. */
static store_status_t eval_entry(store_script_t *s, store_args_t *a, const char *id,
                                 store_presence_t *out) {
    redisReply *r;
    store_status_t st = store_eval_found(s, 3, a, STORE_NOT_FOUND, &r);
    if (st != STORE_OK)
        return st;
    snprintf(out->id, sizeof out->id, "%s", id);
    read_entry(r, 0, out);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_presence_set(const char *id, const char *status, const char *device_id,
                                  int64_t now_ms, int ttl_s, store_presence_t *out) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    store_args_t a;
    store_args_init(&a);
    add_keys(&a, id);
    store_args_str(&a, status);
    store_args_str(&a, device_id ? device_id : "");
    store_args_str(&a, now);
    store_args_int(&a, now_ms + (int64_t)ttl_s * 1000);
    store_args_str(&a, id);
    return eval_entry(&set_script, &a, id, out);
}

store_status_t store_presence_get(const char *id, int64_t now_ms, store_presence_t *out) {
    store_args_t a;
    store_args_init(&a);
    add_keys(&a, id);
    store_args_str(&a, id);
    store_args_int(&a, now_ms);
    return eval_entry(&get_script, &a, id, out);
}

store_status_t store_presence_clear(const char *id) {
    char parts[4][STORE_KEY_MAX];
    store_key_parts(KEY_ROOM_TYPING, NULL, parts[0], parts[1]);
    store_key_parts(KEY_TYPING, id, parts[2], parts[3]);
    store_args_t a;
    store_args_init(&a);
    add_keys(&a, id);
    store_args_key(&a, KEY_USER_ROOMS, id);
    store_args_str(&a, id);
    for (int i = 0; i < 4; i++)
        store_args_str(&a, parts[i]);
    redisReply *r;
    store_status_t st = store_eval(&clear_script, 4, &a, &r);
    store_args_free(&a);
    if (st == STORE_OK)
        freeReplyObject(r);
    return st;
}

store_status_t store_presence_list(const char *cursor, int limit, int64_t now_ms,
                                   store_presence_page_t *out) {
    char stem[STORE_KEY_MAX];
    store_key(stem, KEY_PRESENCE, "");
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ONLINE_USERS_BY_ID, NULL);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_str(&a, cursor ? cursor : "");
    store_args_int(&a, limit);
    store_args_int(&a, now_ms);
    store_args_str(&a, stem);
    redisReply *r;
    store_status_t st = store_eval(&list_script, 2, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = store_reply_page(r, 5, sizeof *out->items, read_listed, (void **)&out->items, &out->n,
                          &out->count, out->next_cursor, sizeof out->next_cursor);
    freeReplyObject(r);
    return st;
}

void store_presence_page_free(store_presence_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}
