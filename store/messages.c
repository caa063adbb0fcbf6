/*
 * Messages. A message never changes once sent. The send script makes its JSON
 * {"id","room_id","sender_id","content","timestamp"} (with cjson) because it
 * also makes the id, and decode() below reads it back: this file is the one
 * owner of the format. The scripts put those bytes into the room's cache (a
 * sorted set) and onto offline queues (lists, newest at the head).
 *
 * Order. Each message gets a position in its room: its send time in ms times
 * 1000, or one more than the room's newest position when that is not lower,
 * so two messages sent in the same millisecond still have a strict order and
 * no clock step backwards can reorder a room. The position is the message's
 * score in the cache and the middle of its id ("msg-<position>-<random>"), so
 * "newest first", the trim to the newest MESSAGE_CACHE_MAX and "before this
 * message" all agree, and paging by id never skips a message.
 *
 * The rate limit is a sliding window: the sender's sorted set holds the ids
 * of the messages they sent within the window, scored by send time (ms).
 */
#include "messages.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "rooms_lua.h"
#include "script.h"

/* KEYS: participants, messages, the sender's rate window, online_users,
 *       rooms:active, rooms:expiry.
 * ARGV: sender, random id suffix, now (ms), now (ISO 8601), content, room,
 *       rate limit, window (ms), cache max, cache TTL (ms), offline head,
 *       tail, offline max, offline TTL (ms), room alive until (ms),
 *       user-rooms head, tail.
 * Returns {-1} for a sender who is no participant, {0, ms until a slot in
 * the window frees} over the limit (nothing written), else {1, queued, id}.
 * A message keeps its room alive (touch_room), and is queued for every other
 * participant who is not online() (both in rooms_lua.h).
 * Positions go to Redis as strings made by %.0f: a Lua number would be
 * written with 14 digits and lose the last ones. */
static store_script_t send_script = STORE_SCRIPT(
    STORE_ROOMS_LUA
    "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-1, 0} end\n"
    "local now, window = tonumber(ARGV[3]), tonumber(ARGV[8])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)\n"
    "if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then\n"
    "  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "  return {0, tonumber(oldest[2]) + window - now}\n"
    "end\n"
    "local pos = now * 1000\n"
    "local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "if top[2] and tonumber(top[2]) >= pos then pos = tonumber(top[2]) + 1 end\n"
    "pos = string.format('%.0f', pos)\n"
    "local id = 'msg-' .. pos .. '-' .. ARGV[2]\n"
    "local msg = cjson.encode({id = id, room_id = ARGV[6], sender_id = ARGV[1],\n"
    "                          content = ARGV[5], timestamp = ARGV[4]})\n"
    "redis.call('ZADD', KEYS[3], now, id)\n"
    "redis.call('PEXPIRE', KEYS[3], window)\n"
    "redis.call('ZADD', KEYS[2], pos, msg)\n"
    "redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[9]) + 1))\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf',\n"
    "           string.format('%.0f', (now - tonumber(ARGV[10])) * 1000))\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[10])\n"
    "local ps = touch_room(KEYS[1], KEYS[5], KEYS[6], ARGV[6], ARGV[15], ARGV[16], ARGV[17])\n"
    "local queued = 0\n"
    "for _, p in ipairs(ps) do\n"
    "  if p ~= ARGV[1] and not online(KEYS[4], p, now) then\n"
    "    local q = ARGV[11] .. p .. ARGV[12]\n"
    "    redis.call('LPUSH', q, msg)\n"
    "    redis.call('LTRIM', q, 0, tonumber(ARGV[13]) - 1)\n"
    "    redis.call('PEXPIRE', q, ARGV[14])\n"
    "    queued = queued + 1\n"
    "  end\n"
    "end\n"
    "return {1, queued, id}\n");

/* KEYS: an offline queue. Reads and empties it in one step. */
static store_script_t consume_script = STORE_SCRIPT(
    "local m = redis.call('LRANGE', KEYS[1], 0, -1)\n"
    "redis.call('DEL', KEYS[1])\n"
    "return m\n");

static void copy_field(const cJSON *o, const char *name, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* Decodes a stored message into *m (content allocated). False when it is
 * not a message (someone else's data under our key) or memory ran out. */
static bool decode(const redisReply *r, store_message_t *m) {
    if (!store_reply_is_str(r))
        return false;
    cJSON *o = cJSON_ParseWithLength(r->str, r->len);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(o, "content");
    bool ok = cJSON_IsObject(o) && cJSON_IsString(content);
    if (ok) {
        copy_field(o, "id", m->id, sizeof m->id);
        copy_field(o, "room_id", m->room_id, sizeof m->room_id);
        copy_field(o, "sender_id", m->sender_id, sizeof m->sender_id);
        copy_field(o, "timestamp", m->timestamp, sizeof m->timestamp);
        m->content = strdup(content->valuestring);
        ok = m->content != NULL;
    }
    cJSON_Delete(o);
    return ok;
}

/* Decodes the messages of array reply r into out, in reply order or
 * reversed; skips entries that are not messages. */
static store_status_t read_list(const redisReply *r, bool reverse, store_message_list_t *out) {
    memset(out, 0, sizeof *out);
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    out->items = n ? calloc(n, sizeof *out->items) : NULL;
    if (n && !out->items)
        return STORE_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (decode(store_reply_at(r, reverse ? n - 1 - i : i), &out->items[out->n]))
            out->n++;
    }
    return STORE_OK;
}

bool store_message_position(const char *id, int64_t *position) {
    /* "msg-" <1 to 18 digits, no leading zero> "-" <1 to 32 letters or digits> */
    if (!id || strncmp(id, "msg-", 4) != 0 || id[4] < '1' || id[4] > '9')
        return false;
    size_t digits = strspn(id + 4, "0123456789");
    const char *suffix = id + 4 + digits + 1;
    size_t n = strlen(suffix);
    if (digits > 18 || id[4 + digits] != '-' || n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)suffix[i]))
            return false;
    *position = strtoll(id + 4, NULL, 10);
    return true;
}

store_status_t store_messages_send(store_message_t *m, int64_t now_ms,
                                   const store_message_limits_t *lim, int *queued,
                                   int *retry_after_s) {
    char suffix[8], head[STORE_KEY_MAX], tail[STORE_KEY_MAX], rooms[2][STORE_KEY_MAX];
    *queued = 0;
    *retry_after_s = 0;
    if (!core_random_id(suffix, sizeof suffix, "", 6))
        return STORE_ERROR;
    core_iso8601(now_ms, m->timestamp);
    store_key_parts(KEY_USER_OFFLINE, NULL, head, tail);
    store_key_parts(KEY_USER_ROOMS, NULL, rooms[0], rooms[1]);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, m->room_id);
    store_args_key(&a, KEY_ROOM_MESSAGES, m->room_id);
    store_args_key(&a, KEY_RATE_MESSAGES, m->sender_id);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_key(&a, KEY_ROOMS_ACTIVE, NULL);
    store_args_key(&a, KEY_ROOMS_EXPIRY, NULL);
    store_args_str(&a, m->sender_id);
    store_args_str(&a, suffix);
    store_args_int(&a, now_ms);
    store_args_str(&a, m->timestamp);
    store_args_str(&a, m->content);
    store_args_str(&a, m->room_id);
    store_args_int(&a, lim->rate_limit);
    store_args_int(&a, (long long)lim->rate_window_s * 1000);
    store_args_int(&a, lim->cache_max);
    store_args_int(&a, (long long)lim->cache_ttl_s * 1000);
    store_args_str(&a, head);
    store_args_str(&a, tail);
    store_args_int(&a, lim->offline_max);
    store_args_int(&a, (long long)lim->offline_ttl_s * 1000);
    store_args_int(&a, now_ms + (int64_t)lim->room_ttl_s * 1000);
    store_args_str(&a, rooms[0]);
    store_args_str(&a, rooms[1]);
    redisReply *r;
    store_status_t st = store_eval(&send_script, 6, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    long long outcome = store_reply_int(store_reply_at(r, 0), -1);
    long long n = store_reply_int(store_reply_at(r, 1), 0);
    store_reply_copy(store_reply_at(r, 2), m->id, sizeof m->id);
    freeReplyObject(r);
    if (outcome < 0)
        return STORE_NOT_FOUND;
    if (outcome == 0) {
        *retry_after_s = n > 0 ? (int)((n + 999) / 1000) : 1;
        return STORE_RATE_LIMITED;
    }
    *queued = (int)n;
    return STORE_OK;
}

store_status_t store_messages_recent(const char *room_id, int64_t before, int64_t now_ms, int ttl_s,
                                     int limit, store_message_list_t *out) {
    char max[32], min[32];
    if (before == INT64_MAX)
        snprintf(max, sizeof max, "+inf");
    else
        snprintf(max, sizeof max, "(%lld", (long long)before);
    snprintf(min, sizeof min, "(%lld", (long long)(now_ms - (int64_t)ttl_s * 1000) * 1000);
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZREVRANGEBYSCORE");
    store_args_key(&a, KEY_ROOM_MESSAGES, room_id);
    store_args_str(&a, max);
    store_args_str(&a, min);
    store_args_str(&a, "LIMIT");
    store_args_int(&a, 0);
    store_args_int(&a, limit);
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    st = read_list(r, false, out);
    freeReplyObject(r);
    return st;
}

/* Runs the LRANGE of the user's offline queue, or the consume script when
 * take, and decodes the answer oldest first. */
static store_status_t offline(const char *user_id, bool take, store_message_list_t *out) {
    store_args_t a;
    store_args_init(&a);
    redisReply *r;
    store_status_t st;
    if (take) {
        store_args_key(&a, KEY_USER_OFFLINE, user_id);
        st = store_eval(&consume_script, 1, &a, &r);
    } else {
        store_args_str(&a, "LRANGE");
        store_args_key(&a, KEY_USER_OFFLINE, user_id);
        store_args_int(&a, 0);
        store_args_int(&a, -1);
        st = store_cmd(&a, &r);
    }
    store_args_free(&a);
    if (st != STORE_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    st = read_list(r, true, out); /* the head is the newest: reversed, oldest first */
    freeReplyObject(r);
    return st;
}

store_status_t store_messages_offline(const char *user_id, store_message_list_t *out) {
    return offline(user_id, false, out);
}

store_status_t store_messages_offline_take(const char *user_id, store_message_list_t *out) {
    return offline(user_id, true, out);
}

store_status_t store_messages_offline_clear(const char *user_id) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "DEL");
    store_args_key(&a, KEY_USER_OFFLINE, user_id);
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st == STORE_OK)
        freeReplyObject(r);
    return st;
}

void store_message_list_free(store_message_list_t *l) {
    for (int i = 0; i < l->n; i++)
        free(l->items[i].content);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
