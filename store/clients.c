/*
 * Webcam clients. A client is four entries that change together: its hash,
 * its membership of `clients` (the documented set), of `clients:by_id` (for
 * paging in id order with a stable cursor) and of `clients:last_seen` (so the
 * reaper finds expired clients without scanning everyone). Scripts keep the
 * four in step; no reader ever sees a half-registered client.
 *
 * A reconnect (POST of an existing id) writes all four, so a client that
 * another program registered with only the documented set and hash is
 * adopted into the indexes the first time it reconnects.
 *
 * Scripts that return a client use one shape, read by read_client():
 *   status, connected_at, last_seen, frame_number ('' when no frame)
 */
#include "clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "script.h"

static store_script_t connect_script = STORE_SCRIPT(
    "local exists = redis.call('EXISTS', KEYS[1]) == 1\n"
    "if exists and ARGV[4] == '1' then return false end\n"
    "if exists then\n"
    "  redis.call('HSET', KEYS[1], 'last_seen', ARGV[2])\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], 'connected_at', ARGV[2], 'last_seen', ARGV[2],\n"
    "             'status', 'connected')\n"
    "end\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], 0, ARGV[1])\n"
    "redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])\n"
    "local c = redis.call('HMGET', KEYS[1], 'status', 'connected_at', 'last_seen')\n"
    "return {exists and 0 or 1, c[1] or '', c[2] or '', c[3] or '',\n"
    "        redis.call('HGET', KEYS[2], 'frame_number') or ''}\n");

static store_script_t get_script = STORE_SCRIPT(
    "local c = redis.call('HMGET', KEYS[1], 'status', 'connected_at', 'last_seen')\n"
    "if not c[2] then return false end\n"
    "return {c[1] or '', c[2], c[3] or '', redis.call('HGET', KEYS[2], 'frame_number') or ''}\n");

static store_script_t heartbeat_script = STORE_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])\n"
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])\n"
    "return 1\n");

static store_script_t delete_script = STORE_SCRIPT(
    "local n = redis.call('DEL', KEYS[1]) + redis.call('SREM', KEYS[3], ARGV[1])\n"
    "redis.call('UNLINK', KEYS[2])\n"
    "redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "redis.call('ZREM', KEYS[5], ARGV[1])\n"
    "return n\n");

/* Pages in id order; entries whose hash is gone are skipped. Returns
 * {total, next_cursor, id, status, connected_at, last_seen, frame_number, id, ...}. */
static store_script_t list_script = STORE_SCRIPT(
    "local limit = tonumber(ARGV[2])\n"
    "local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]\n"
    "local out = {redis.call('SCARD', KEYS[1]), ''}\n"
    "local n, last = 0, ''\n"
    "while true do\n"
    "  local ids = redis.call('ZRANGEBYLEX', KEYS[2], start, '+', 'LIMIT', 0, limit + 1)\n"
    "  if #ids == 0 then return out end\n"
    "  for _, id in ipairs(ids) do\n"
    "    start = '(' .. id\n"
    "    local c = redis.call('HMGET', ARGV[3] .. id, 'status', 'connected_at', 'last_seen')\n"
    "    if c[2] then\n"
    "      if n == limit then out[2] = last; return out end\n"
    "      n = n + 1; last = id\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = c[1] or ''\n"
    "      out[#out + 1] = c[2]\n"
    "      out[#out + 1] = c[3] or ''\n"
    "      out[#out + 1] = redis.call('HGET', ARGV[4] .. id, 'frame_number') or ''\n"
    "    end\n"
    "  end\n"
    "end\n");

/* Reads the four-field client shape starting at element off of r. */
static void read_client(const redisReply *r, size_t off, store_client_t *c) {
    store_reply_copy(store_reply_at(r, off), c->status, sizeof c->status);
    store_reply_copy(store_reply_at(r, off + 1), c->connected_at, sizeof c->connected_at);
    store_reply_copy(store_reply_at(r, off + 2), c->last_seen, sizeof c->last_seen);
    c->frame_number = store_reply_int(store_reply_at(r, off + 3), 0);
    c->has_image = c->frame_number > 0;
}

/* One listed client: its id, then the four-field shape. */
static void read_listed(const redisReply *r, size_t off, void *item) {
    store_client_t *c = item;
    store_reply_copy(store_reply_at(r, off), c->id, sizeof c->id);
    read_client(r, off + 1, c);
}

/* Adds the five keys of one client, in the order the scripts expect. */
static void add_client_keys(store_args_t *a, const char *id) {
    store_args_key(a, KEY_CLIENT, id);
    store_args_key(a, KEY_IMAGE, id);
    store_args_key(a, KEY_CLIENTS, NULL);
    store_args_key(a, KEY_CLIENTS_BY_ID, NULL);
    store_args_key(a, KEY_CLIENTS_LAST_SEEN, NULL);
}

store_status_t store_clients_connect(const char *id, bool create_only, int64_t now_ms,
                                     store_client_t *out, bool *created) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    store_args_t a;
    store_args_init(&a);
    add_client_keys(&a, id);
    store_args_str(&a, id);
    store_args_str(&a, now);
    store_args_int(&a, now_ms);
    store_args_str(&a, create_only ? "1" : "0");
    redisReply *r;
    store_status_t st = store_eval_found(&connect_script, 5, &a, STORE_CONFLICT, &r);
    if (st != STORE_OK)
        return st;
    snprintf(out->id, sizeof out->id, "%s", id);
    *created = store_reply_int(store_reply_at(r, 0), 0) == 1;
    read_client(r, 1, out);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_clients_get(const char *id, store_client_t *out) {
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_CLIENT, id);
    store_args_key(&a, KEY_IMAGE, id);
    redisReply *r;
    store_status_t st = store_eval_found(&get_script, 2, &a, STORE_NOT_FOUND, &r);
    if (st != STORE_OK)
        return st;
    snprintf(out->id, sizeof out->id, "%s", id);
    read_client(r, 0, out);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_clients_heartbeat(const char *id, int64_t now_ms) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_CLIENT, id);
    store_args_key(&a, KEY_CLIENTS_LAST_SEEN, NULL);
    store_args_str(&a, now);
    store_args_int(&a, now_ms);
    store_args_str(&a, id);
    return store_eval_count(&heartbeat_script, 2, &a, 1, STORE_NOT_FOUND);
}

store_status_t store_clients_delete(const char *id) {
    store_args_t a;
    store_args_init(&a);
    add_client_keys(&a, id);
    store_args_str(&a, id);
    return store_eval_count(&delete_script, 5, &a, 1, STORE_NOT_FOUND);
}

store_status_t store_clients_list(const char *cursor, int limit, store_client_page_t *out) {
    char client_stem[STORE_KEY_MAX], image_stem[STORE_KEY_MAX];
    store_key(client_stem, KEY_CLIENT, "");
    store_key(image_stem, KEY_IMAGE, "");
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_CLIENTS, NULL);
    store_args_key(&a, KEY_CLIENTS_BY_ID, NULL);
    store_args_str(&a, cursor ? cursor : "");
    store_args_int(&a, limit);
    store_args_str(&a, client_stem);
    store_args_str(&a, image_stem);
    redisReply *r;
    store_status_t st = store_eval(&list_script, 2, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = store_reply_page(r, 5, sizeof *out->items, read_listed, (void **)&out->items, &out->count,
                          &out->total, out->next_cursor, sizeof out->next_cursor);
    freeReplyObject(r);
    return st;
}

void store_client_page_free(store_client_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->count = 0;
}
