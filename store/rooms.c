/*
 * Rooms. Join and leave each touch several keys, so each is one script; in
 * particular the check "was that the last participant?" and the removal of
 * the room happen in the same script as the leave, so two last participants
 * leaving at once can never leave an empty room behind in rooms:active.
 *
 * Reads (participants, the list, a user's rooms) only read: a room that
 * ended by its TTL is skipped by the clock and the participants set, and
 * the entries it left in the indexes and in users' sets are pruned by the
 * cleanup pass and by the users' next joins. Who is joined is computed from
 * online_users by online() in rooms_lua.h.
 */
#include "rooms.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "rooms_lua.h"
#include "script.h"

/* KEYS: participants, user's rooms, rooms:active, rooms:expiry, online_users.
 * ARGV: room, user, until (ms), now (ms), user-rooms head, tail,
 * participants head, tail. The user's rooms that ended (they are no
 * participant of any more) are dropped first. Returns {1 when new,
 * participants, joined}. */
static store_script_t join_script = STORE_SCRIPT(
    STORE_ROOMS_LUA
    "for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('SISMEMBER', ARGV[7] .. r .. ARGV[8], ARGV[2]) == 0 then\n"
    "    redis.call('SREM', KEYS[2], r)\n"
    "  end\n"
    "end\n"
    "local new = redis.call('SADD', KEYS[1], ARGV[2])\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "local ps = touch_room(KEYS[1], KEYS[3], KEYS[4], ARGV[1], ARGV[3], ARGV[5], ARGV[6])\n"
    "return {new, #ps, count_online(KEYS[5], ps, ARGV[4])}\n");

/* KEYS: participants, user's rooms, rooms:active, rooms:expiry, typing
 * index, typing:{room}:{user}, messages. ARGV: room, user.
 * Returns -1 when the user was no participant, else the participants left. */
static store_script_t leave_script = STORE_SCRIPT(
    "if redis.call('SREM', KEYS[1], ARGV[2]) == 0 then return -1 end\n"
    "redis.call('SREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[5], ARGV[2])\n"
    "redis.call('DEL', KEYS[6])\n"
    "local left = redis.call('SCARD', KEYS[1])\n"
    "if left == 0 then\n"
    "  redis.call('DEL', KEYS[5], KEYS[7])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "end\n"
    "return left\n");

/* KEYS: participants, online_users. ARGV: now (ms). Returns false for an
 * empty room, else {participants, joined}, each sorted. */
static store_script_t participants_script =
    STORE_SCRIPT(STORE_ROOMS_LUA
                 "local p = redis.call('SMEMBERS', KEYS[1])\n"
                 "if #p == 0 then return false end\n"
                 "table.sort(p)\n"
                 "local j = {}\n"
                 "for _, u in ipairs(p) do\n"
                 "  if online(KEYS[2], u, ARGV[1]) then j[#j + 1] = u end\n"
                 "end\n"
                 "return {p, j}\n");

/* KEYS: rooms:active, rooms:expiry, online_users. ARGV: cursor, limit, now
 * (ms), participants head, tail. Returns {total, next_cursor, id,
 * participants, joined, id, ...}: the rooms whose expiry is after now and
 * that have participants; total counts the rooms whose expiry is after now. */
static store_script_t list_script = STORE_SCRIPT(
    STORE_ROOMS_LUA
    "local limit, now = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]\n"
    "local out = {redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[3], '+inf'), ''}\n"
    "local n, last = 0, ''\n"
    "while true do\n"
    "  local ids = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, limit + 1)\n"
    "  if #ids == 0 then return out end\n"
    "  for _, id in ipairs(ids) do\n"
    "    start = '(' .. id\n"
    "    local e = redis.call('ZSCORE', KEYS[2], id)\n"
    "    local ps = e and tonumber(e) > now and redis.call('SMEMBERS', ARGV[4] .. id .. ARGV[5])\n"
    "    if ps and #ps > 0 then\n"
    "      if n == limit then out[2] = last; return out end\n"
    "      n = n + 1; last = id\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = #ps\n"
    "      out[#out + 1] = count_online(KEYS[3], ps, now)\n"
    "    end\n"
    "  end\n"
    "end\n");

/* KEYS: user's rooms. ARGV: user, participants head, tail. Returns the
 * rooms the user is a participant of, sorted: entries for rooms that ended
 * are skipped (and left to the user's next join). */
static store_script_t user_rooms_script = STORE_SCRIPT(
    "local out = {}\n"
    "for _, r in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  if redis.call('SISMEMBER', ARGV[2] .. r .. ARGV[3], ARGV[1]) == 1 then\n"
    "    out[#out + 1] = r\n"
    "  end\n"
    "end\n"
    "table.sort(out)\n"
    "return out\n");

/* The first four keys of join and leave. */
static void add_member_keys(store_args_t *a, const char *room, const char *user) {
    store_args_key(a, KEY_ROOM_PARTICIPANTS, room);
    store_args_key(a, KEY_USER_ROOMS, user);
    store_args_key(a, KEY_ROOMS_ACTIVE, NULL);
    store_args_key(a, KEY_ROOMS_EXPIRY, NULL);
}

/* Adds the head and tail of key k's name (see store_key_parts) as two
 * arguments; parts must outlive the call. */
static void add_parts(store_args_t *a, store_key_t k, char parts[2][STORE_KEY_MAX]) {
    store_key_parts(k, NULL, parts[0], parts[1]);
    store_args_str(a, parts[0]);
    store_args_str(a, parts[1]);
}

store_status_t store_rooms_join(const char *room_id, const char *user_id, int64_t now_ms, int ttl_s,
                                bool *created, store_room_t *out) {
    char user_rooms[2][STORE_KEY_MAX], participants[2][STORE_KEY_MAX];
    store_args_t a;
    store_args_init(&a);
    add_member_keys(&a, room_id, user_id);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_str(&a, room_id);
    store_args_str(&a, user_id);
    store_args_int(&a, now_ms + (int64_t)ttl_s * 1000);
    store_args_int(&a, now_ms);
    add_parts(&a, KEY_USER_ROOMS, user_rooms);
    add_parts(&a, KEY_ROOM_PARTICIPANTS, participants);
    redisReply *r;
    store_status_t st = store_eval(&join_script, 5, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    *created = store_reply_int(store_reply_at(r, 0), 0) == 1;
    snprintf(out->id, sizeof out->id, "%s", room_id);
    out->participants = store_reply_int(store_reply_at(r, 1), 0);
    out->joined = store_reply_int(store_reply_at(r, 2), 0);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_rooms_leave(const char *room_id, const char *user_id) {
    char typing[STORE_KEY_MAX];
    store_key2(typing, KEY_TYPING, room_id, user_id);
    store_args_t a;
    store_args_init(&a);
    add_member_keys(&a, room_id, user_id);
    store_args_key(&a, KEY_ROOM_TYPING, room_id);
    store_args_str(&a, typing);
    store_args_key(&a, KEY_ROOM_MESSAGES, room_id);
    store_args_str(&a, room_id);
    store_args_str(&a, user_id);
    return store_eval_count(&leave_script, 7, &a, 0, STORE_NOT_FOUND);
}

/* Copies the strings of array reply r into a new list. */
static store_status_t read_ids(const redisReply *r, store_id_list_t *out) {
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    out->n = 0;
    out->ids = n ? calloc(n, sizeof *out->ids) : NULL;
    if (n && !out->ids)
        return STORE_ERROR;
    for (size_t i = 0; i < n; i++)
        store_reply_copy(store_reply_at(r, i), out->ids[i], sizeof out->ids[i]);
    out->n = (int)n;
    return STORE_OK;
}

store_status_t store_rooms_participants(const char *room_id, int64_t now_ms,
                                        store_id_list_t *participants, store_id_list_t *joined) {
    memset(participants, 0, sizeof *participants);
    memset(joined, 0, sizeof *joined);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, room_id);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_int(&a, now_ms);
    redisReply *r;
    store_status_t st = store_eval_found(&participants_script, 2, &a, STORE_NOT_FOUND, &r);
    if (st != STORE_OK)
        return st;
    st = read_ids(store_reply_at(r, 0), participants);
    if (st == STORE_OK)
        st = read_ids(store_reply_at(r, 1), joined);
    freeReplyObject(r);
    if (st != STORE_OK) {
        store_id_list_free(participants);
        store_id_list_free(joined);
    }
    return st;
}

/* One listed room: id, participant count, joined count. */
static void read_listed(const redisReply *r, size_t off, void *item) {
    store_room_t *room = item;
    store_reply_copy(store_reply_at(r, off), room->id, sizeof room->id);
    room->participants = store_reply_int(store_reply_at(r, off + 1), 0);
    room->joined = store_reply_int(store_reply_at(r, off + 2), 0);
}

store_status_t store_rooms_list(const char *cursor, int limit, int64_t now_ms,
                                store_room_page_t *out) {
    char participants[2][STORE_KEY_MAX];
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ROOMS_ACTIVE, NULL);
    store_args_key(&a, KEY_ROOMS_EXPIRY, NULL);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_str(&a, cursor ? cursor : "");
    store_args_int(&a, limit);
    store_args_int(&a, now_ms);
    add_parts(&a, KEY_ROOM_PARTICIPANTS, participants);
    redisReply *r;
    store_status_t st = store_eval(&list_script, 3, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = store_reply_page(r, 3, sizeof *out->items, read_listed, (void **)&out->items, &out->n,
                          &out->total, out->next_cursor, sizeof out->next_cursor);
    freeReplyObject(r);
    return st;
}

store_status_t store_rooms_of_user(const char *user_id, store_id_list_t *out) {
    char participants[2][STORE_KEY_MAX];
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_USER_ROOMS, user_id);
    store_args_str(&a, user_id);
    add_parts(&a, KEY_ROOM_PARTICIPANTS, participants);
    redisReply *r;
    store_status_t st = store_eval(&user_rooms_script, 1, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = read_ids(r, out);
    freeReplyObject(r);
    return st;
}

void store_room_page_free(store_room_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

void store_id_list_free(store_id_list_t *l) {
    free(l->ids);
    l->ids = NULL;
    l->n = 0;
}
