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
 * The rate limit is a sliding window: the sender's sorted set holds the
 * random part of the id of each message they sent within the window, scored
 * by send time (ms).
 *
 * A send touches several slots: the room's bucket (participants, cache,
 * the room's indexes), the sender's (rate window), and each participant's
 * (their index of rooms, their offline queue). It goes in this order, each
 * step one round trip:
 *
 *   1. the participants, and the sender's rate window: check and add in one
 *      script, so the limit is exact however many sends run at once. Not a
 *      participant: 404, and the slot is given back; over the limit: 429,
 *      nothing written;
 *   2. every participant's index of rooms gets the room's new end (before
 *      the room's end moves: see rooms.c);
 *   3. the message, in one script in the room's bucket: the participant
 *      check again (one who left meanwhile gets 404, the slot given back),
 *      the cache, the room's new end. From here on the message is sent and
 *      the answer is 201 whatever fails;
 *   4. who is online, and the copies onto the offline queues of the others.
 *
 * A crash after 1 leaves the sender one slot short until the window moves
 * on; after 2, index entries that no reader shows and that their own end
 * removes; after 3, a sent message that the offline participants do not
 * find in their queue (it is in the room's history). Nothing shows a
 * message that was not stored. A user who joins between 1 and 3 gets the
 * index refresh after 3, and no queued copy of this message.
 */
#include "messages.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "events.h"
#include "keys.h"
#include "page.h"
#include "presence.h"
#include "reply.h"
#include "rooms.h"
#include "rooms_lua.h"
#include "script.h"

/* KEYS: the sender's rate window. ARGV: now (ms), window (ms), limit, the
 * send's token. Drops what left the window; then, over the limit, returns
 * {0, ms until the oldest leaves}, else adds the token and returns {1}: the
 * check and the add in one step, so two sends at once never both take the
 * last slot. */
static store_script_t rate_script = STORE_SCRIPT(
    "local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
    "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then\n"
    "  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "  return {0, tonumber(oldest[2]) + window - now}\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[4])\n"
    "redis.call('PEXPIRE', KEYS[1], window)\n"
    "return {1}\n");

/* KEYS: participants, messages, rooms:active:{b}, rooms:expiry:{b},
 * events:{b}. ARGV: sender, the id's random part, now (ms), now (ISO 8601),
 * content, room, cache max, cache TTL (ms), the room's new end (ms),
 * retention. The message is announced (message.posted, its JSON) in the
 * same step.
 * Returns {-1} for a sender who is no participant (nothing written), else
 * {1, id, the message JSON, participants}. The message keeps its room alive
 * (touch_room, rooms_lua.h). Positions go to Redis as strings made by %.0f:
 * a Lua number would be written with 14 digits and lose the last ones. */
static store_script_t send_script =
    STORE_SCRIPT(STORE_ROOMS_LUA STORE_EVENTS_LUA
                 "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-1} end\n"
                 "local now = tonumber(ARGV[3])\n"
                 "local pos = now * 1000\n"
                 "local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
                 "if top[2] and tonumber(top[2]) >= pos then pos = tonumber(top[2]) + 1 end\n"
                 "pos = string.format('%.0f', pos)\n"
                 "local id = 'msg-' .. pos .. '-' .. ARGV[2]\n"
                 "local msg = cjson.encode({id = id, room_id = ARGV[6], sender_id = ARGV[1],\n"
                 "                          content = ARGV[5], timestamp = ARGV[4]})\n"
                 "redis.call('ZADD', KEYS[2], pos, msg)\n"
                 "redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[7]) + 1))\n"
                 "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf',\n"
                 "           string.format('%.0f', (now - tonumber(ARGV[8])) * 1000))\n"
                 "redis.call('PEXPIRE', KEYS[2], ARGV[8])\n"
                 "touch_room(KEYS[1], KEYS[3], KEYS[4], ARGV[6], ARGV[9])\n"
                 "emit_json('message.posted', msg)\n"
                 "return {1, id, msg, redis.call('SMEMBERS', KEYS[1])}\n");

/* KEYS: an offline queue (its head the newest). ARGV: how many to take.
 * Takes the oldest ones (its tail) in one step; returns {length before,
 * the messages taken, newest first}. */
static store_script_t consume_script = STORE_SCRIPT(
    "local k = tonumber(ARGV[1])\n"
    "local n = redis.call('LLEN', KEYS[1])\n"
    "local m = redis.call('LRANGE', KEYS[1], -k, -1)\n"
    "redis.call('LTRIM', KEYS[1], 0, -k - 1)\n"
    "return {n, m}\n");

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
 * reversed; skips entries that are not messages. total is how many. */
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
    out->total = out->n;
    return STORE_OK;
}

static void drop_message(void *m) { free(((store_message_t *)m)->content); }

/* Cuts l down to a page of up to limit messages from index start on. */
static void cut_page(store_message_list_t *l, int start, int limit) {
    store_page_cut(l->items, &l->n, sizeof *l->items, start, limit, drop_message, l->next_cursor,
                   sizeof l->next_cursor);
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

/* The valid ids of array reply r (pointers into it) into ids[]; their count. */
static int reply_ids(const redisReply *r, const char **ids) {
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (store_reply_is_str(r->element[i]) && core_id_valid(r->element[i]->str))
            ids[n++] = r->element[i]->str;
    return n;
}

static bool has(const char *const *ids, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static size_t elements(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

/* Step 1: the room's participants, and the sender's slot in the rate
 * window, in one round. *token_added says whether the window took the
 * token (which a sender who is no participant gives back). */
static store_status_t check(const store_message_t *m, const char *token, int64_t now_ms,
                            const store_message_limits_t *lim, redisReply **participants,
                            bool *token_added, int *retry_after_s) {
    store_batch_t b;
    store_batch_init(&b, 2);
    store_args_t *q = store_batch_add(&b);
    store_args_str(q, "SMEMBERS");
    store_args_key(q, KEY_ROOM_PARTICIPANTS, m->room_id);
    q = store_batch_call(&b, &rate_script, 1);
    store_args_key(q, KEY_RATE_MESSAGES, m->sender_id);
    store_args_int(q, now_ms);
    store_args_int(q, (long long)lim->rate_window_s * 1000);
    store_args_int(q, lim->rate_limit);
    store_args_str(q, token);
    store_status_t st = store_batch_run(&b);
    if (st == STORE_OK) {
        const redisReply *rate = store_batch_reply(&b, 1);
        *participants = store_batch_take(&b, 0);
        *token_added = store_reply_int(store_reply_at(rate, 0), 0) == 1;
        long long wait = store_reply_int(store_reply_at(rate, 1), 0);
        *retry_after_s = wait > 0 ? (int)((wait + 999) / 1000) : 1;
    }
    store_batch_free(&b);
    return st;
}

/* Takes the token back out of the sender's window (best effort). */
static void give_back(const store_message_t *m, const char *token) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZREM");
    store_args_key(&a, KEY_RATE_MESSAGES, m->sender_id);
    store_args_str(&a, token);
    redisReply *r;
    if (store_cmd(&a, &r) == STORE_OK)
        freeReplyObject(r);
    store_args_free(&a);
}

/* Step 3: the message itself, in the room's bucket. *r is the script's
 * answer. */
static store_status_t write_message(store_message_t *m, const char *token, int64_t now_ms,
                                    const store_message_limits_t *lim, int64_t ends,
                                    redisReply **r) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &send_script, 5);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, m->room_id);
    store_args_key(&a, KEY_ROOM_MESSAGES, m->room_id);
    store_args_key(&a, KEY_ROOMS_ACTIVE, m->room_id);
    store_args_key(&a, KEY_ROOMS_EXPIRY, m->room_id);
    store_events_key(&a, m->room_id);
    store_args_str(&a, m->sender_id);
    store_args_str(&a, token);
    store_args_int(&a, now_ms);
    store_args_str(&a, m->timestamp);
    store_args_str(&a, m->content);
    store_args_str(&a, m->room_id);
    store_args_int(&a, lim->cache_max);
    store_args_int(&a, (long long)lim->cache_ttl_s * 1000);
    store_args_int(&a, ends);
    store_events_arg(&a);
    store_status_t st = store_eval(&send_script, &a, r);
    store_args_free(&a);
    return st;
}

/* Step 4: the message onto the offline queue of each of the n users who
 * is not online (the sender excepted). Returns how many queues took it. */
static int fan_out(const store_message_t *m, const redisReply *json, const char *const *users,
                   int n, int64_t now_ms, const store_message_limits_t *lim) {
    bool *on = calloc((size_t)(n > 0 ? n : 1), sizeof *on);
    if (!on || store_presence_online(n, users, now_ms, on) != STORE_OK) {
        free(on);
        return 0;
    }
    store_batch_t b;
    store_batch_init(&b, 3 * n);
    for (int i = 0; i < n; i++) {
        if (on[i] || strcmp(users[i], m->sender_id) == 0)
            continue;
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "LPUSH");
        store_args_key(q, KEY_USER_OFFLINE, users[i]);
        store_args_add(q, json->str, json->len);
        q = store_batch_add(&b);
        store_args_str(q, "LTRIM");
        store_args_key(q, KEY_USER_OFFLINE, users[i]);
        store_args_str(q, "0");
        store_args_int(q, lim->offline_max - 1);
        q = store_batch_add(&b);
        store_args_str(q, "PEXPIRE");
        store_args_key(q, KEY_USER_OFFLINE, users[i]);
        store_args_int(q, (long long)lim->offline_ttl_s * 1000);
    }
    int queued = store_batch_run(&b) == STORE_OK ? b.n / 3 : 0;
    store_batch_free(&b);
    free(on);
    return queued;
}

store_status_t store_messages_send(store_message_t *m, int64_t now_ms,
                                   const store_message_limits_t *lim, int *queued,
                                   int *retry_after_s) {
    char token[8];
    *queued = 0;
    *retry_after_s = 0;
    if (!core_random_id(token, sizeof token, "", 6))
        return STORE_ERROR;
    core_iso8601(now_ms, m->timestamp);
    int64_t ends = now_ms + (int64_t)lim->room_ttl_s * 1000;
    redisReply *before = NULL, *r = NULL;
    bool added = false;
    int retry = 0;
    store_status_t st = check(m, token, now_ms, lim, &before, &added, &retry);
    if (st != STORE_OK)
        return st;
    const char **ids = calloc(elements(before) + 1, sizeof *ids);
    int n = ids ? reply_ids(before, ids) : 0;
    if (!ids)
        st = STORE_ERROR;
    else if (!has(ids, n, m->sender_id))
        st = STORE_NOT_FOUND;
    else if (!added)
        st = STORE_RATE_LIMITED;
    /* step 2: the participants' indexes of rooms, before the room's end moves */
    if (st == STORE_OK)
        st = store_rooms_index_users(m->room_id, n, ids, now_ms, ends);
    if (st == STORE_OK)
        st = write_message(m, token, now_ms, lim, ends, &r);
    if (st == STORE_OK && store_reply_int(store_reply_at(r, 0), -1) < 0)
        st = STORE_NOT_FOUND; /* left the room since step 1 */
    if (st != STORE_OK) {
        if (added && st != STORE_RATE_LIMITED)
            give_back(m, token);
        *retry_after_s = st == STORE_RATE_LIMITED ? retry : 0;
    } else {
        /* the message is sent: from here on nothing fails the send */
        store_reply_copy(store_reply_at(r, 1), m->id, sizeof m->id);
        const redisReply *now_in = store_reply_at(r, 3);
        const char **cur = calloc(elements(now_in) + 1, sizeof *cur);
        const char **late = calloc(elements(now_in) + 1, sizeof *late);
        int c = cur ? reply_ids(now_in, cur) : 0, l = 0;
        for (int i = 0; late && i < c; i++)
            if (!has(ids, n, cur[i]))
                late[l++] = cur[i]; /* joined since step 1 */
        if (l > 0)
            store_rooms_index_users(m->room_id, l, late, now_ms, ends);
        const redisReply *json = store_reply_at(r, 2);
        if (cur && store_reply_is_str(json))
            *queued = fan_out(m, json, cur, c, now_ms, lim);
        free(cur);
        free(late);
    }
    free(ids);
    if (before)
        freeReplyObject(before);
    if (r)
        freeReplyObject(r);
    return st;
}

store_status_t store_messages_recent(const char *room_id, int64_t before, int64_t cursor,
                                     int64_t now_ms, int ttl_s, int limit,
                                     store_message_list_t *out) {
    char max[32], min[32], page_max[32];
    int nmax = before == INT64_MAX ? snprintf(max, sizeof max, "+inf")
                                   : snprintf(max, sizeof max, "(%lld", (long long)before);
    int64_t from = cursor < before ? cursor : before;
    int npage = from == INT64_MAX ? snprintf(page_max, sizeof page_max, "+inf")
                                  : snprintf(page_max, sizeof page_max, "(%lld", (long long)from);
    int nmin =
        snprintf(min, sizeof min, "(%lld", (long long)(now_ms - (int64_t)ttl_s * 1000) * 1000);
    store_batch_t b;
    store_batch_init(&b, 2);
    store_args_t *q = store_batch_add(&b);
    store_args_str(q, "ZCOUNT"); /* the total: every message the filters let through */
    store_args_key(q, KEY_ROOM_MESSAGES, room_id);
    store_args_copy(q, min, (size_t)nmin);
    store_args_copy(q, max, (size_t)nmax);
    q = store_batch_add(&b);
    store_args_str(q, "ZREVRANGEBYSCORE"); /* the page, and one more if there is one */
    store_args_key(q, KEY_ROOM_MESSAGES, room_id);
    store_args_copy(q, page_max, (size_t)npage);
    store_args_copy(q, min, (size_t)nmin);
    store_args_str(q, "LIMIT");
    store_args_int(q, 0);
    store_args_int(q, limit + 1);
    store_status_t st = store_batch_run(&b);
    if (st == STORE_OK)
        st = read_list(store_batch_reply(&b, 1), false, out);
    else
        memset(out, 0, sizeof *out);
    if (st == STORE_OK) {
        cut_page(out, 0, limit);
        long long total = store_reply_int(store_batch_reply(&b, 0), 0);
        out->total = total > out->n ? total : out->n; /* a send between the two commands */
    }
    store_batch_free(&b);
    return st;
}

store_status_t store_messages_offline(const char *user_id, const char *cursor, int limit,
                                      store_message_list_t *out) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "LRANGE");
    store_args_key(&a, KEY_USER_OFFLINE, user_id);
    store_args_int(&a, 0);
    store_args_int(&a, -1);
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    /* the head is the newest: reversed, oldest first; a cursor no longer in
     * the queue was trimmed (older than all that is left) or taken, so the
     * page starts at the oldest */
    st = read_list(r, true, out);
    if (st == STORE_OK)
        cut_page(out, store_page_start(out->items, out->n, sizeof *out->items, cursor, true),
                 limit);
    freeReplyObject(r);
    return st;
}

store_status_t store_messages_offline_take(const char *user_id, int limit,
                                           store_message_list_t *out) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &consume_script, 1);
    store_args_key(&a, KEY_USER_OFFLINE, user_id);
    store_args_int(&a, limit);
    redisReply *r;
    store_status_t st = store_eval(&consume_script, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    st = read_list(store_reply_at(r, 1), true, out); /* oldest first */
    if (st == STORE_OK)
        out->total = store_reply_int(store_reply_at(r, 0), out->n);
    freeReplyObject(r);
    return st;
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
