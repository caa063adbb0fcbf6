/*
 * Rooms. Join and leave each touch four to seven keys, so each is one script;
 * in particular the check "was that the last participant?" and the removal of
 * the room happen in the same script as the leave, so two last participants
 * leaving at once can never leave an empty room behind in rooms:active.
 */
#include "rooms.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "script.h"

/* KEYS: participants, joined, user's rooms, rooms:active. ARGV: room, user.
 * Returns {1 when new, participants, joined}. */
static store_script_t join_script = STORE_SCRIPT(
    "local new = redis.call('SADD', KEYS[1], ARGV[2])\n"
    "redis.call('SADD', KEYS[2], ARGV[2])\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], 0, ARGV[1])\n"
    "return {new, redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2])}\n");

/* KEYS: participants, joined, user's rooms, rooms:active, typing index,
 * typing:{room}:{user}, messages. ARGV: room, user.
 * Returns -1 when the user was no participant, else the participants left. */
static store_script_t leave_script = STORE_SCRIPT(
    "if redis.call('SREM', KEYS[1], ARGV[2]) == 0 then return -1 end\n"
    "redis.call('SREM', KEYS[2], ARGV[2])\n"
    "redis.call('SREM', KEYS[3], ARGV[1])\n"
    "redis.call('ZREM', KEYS[5], ARGV[2])\n"
    "redis.call('DEL', KEYS[6])\n"
    "local left = redis.call('SCARD', KEYS[1])\n"
    "if left == 0 then\n"
    "  redis.call('DEL', KEYS[1], KEYS[2], KEYS[5], KEYS[7])\n"
    "  redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "end\n"
    "return left\n");

/* KEYS: participants, joined. Returns false for an empty room, else
 * {participants, joined}, each sorted. */
static store_script_t participants_script = STORE_SCRIPT(
    "local p = redis.call('SMEMBERS', KEYS[1])\n"
    "if #p == 0 then return false end\n"
    "local j = redis.call('SMEMBERS', KEYS[2])\n"
    "table.sort(p)\n"
    "table.sort(j)\n"
    "return {p, j}\n");

/* KEYS: rooms:active. ARGV: cursor, limit, participants head, tail, joined
 * head, tail. Returns {total, next_cursor, id, participants, joined, id, ...};
 * an entry whose room has no participants (left behind by someone else) is
 * pruned and skipped. */
static store_script_t list_script = STORE_SCRIPT(
    "local limit = tonumber(ARGV[2])\n"
    "local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]\n"
    "local out = {0, ''}\n"
    "local n, last = 0, ''\n"
    "while true do\n"
    "  local ids = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, limit + 1)\n"
    "  if #ids == 0 then break end\n"
    "  for _, id in ipairs(ids) do\n"
    "    start = '(' .. id\n"
    "    local p = redis.call('SCARD', ARGV[3] .. id .. ARGV[4])\n"
    "    if p == 0 then\n"
    "      redis.call('ZREM', KEYS[1], id)\n"
    "    else\n"
    "      if n == limit then out[2] = last; out[1] = redis.call('ZCARD', KEYS[1]); return out "
    "end\n"
    "      n = n + 1; last = id\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = p\n"
    "      out[#out + 1] = redis.call('SCARD', ARGV[5] .. id .. ARGV[6])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "out[1] = redis.call('ZCARD', KEYS[1])\n"
    "return out\n");

static store_script_t user_rooms_script = STORE_SCRIPT(
    "local r = redis.call('SMEMBERS', KEYS[1])\n"
    "table.sort(r)\n"
    "return r\n");

static void add_member_keys(store_args_t *a, const char *room, const char *user) {
    store_args_key(a, KEY_ROOM_PARTICIPANTS, room);
    store_args_key(a, KEY_ROOM_JOINED, room);
    store_args_key(a, KEY_USER_ROOMS, user);
    store_args_key(a, KEY_ROOMS_ACTIVE, NULL);
}

store_status_t store_rooms_join(const char *room_id, const char *user_id, bool *created,
                                store_room_t *out) {
    store_args_t a;
    store_args_init(&a);
    add_member_keys(&a, room_id, user_id);
    store_args_str(&a, room_id);
    store_args_str(&a, user_id);
    redisReply *r;
    store_status_t st = store_eval(&join_script, 4, &a, &r);
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

store_status_t store_rooms_participants(const char *room_id, store_id_list_t *participants,
                                        store_id_list_t *joined) {
    memset(participants, 0, sizeof *participants);
    memset(joined, 0, sizeof *joined);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, room_id);
    store_args_key(&a, KEY_ROOM_JOINED, room_id);
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

store_status_t store_rooms_list(const char *cursor, int limit, store_room_page_t *out) {
    char parts[4][STORE_KEY_MAX];
    store_key_parts(KEY_ROOM_PARTICIPANTS, NULL, parts[0], parts[1]);
    store_key_parts(KEY_ROOM_JOINED, NULL, parts[2], parts[3]);
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_ROOMS_ACTIVE, NULL);
    store_args_str(&a, cursor ? cursor : "");
    store_args_int(&a, limit);
    for (int i = 0; i < 4; i++)
        store_args_str(&a, parts[i]);
    redisReply *r;
    store_status_t st = store_eval(&list_script, 1, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    st = store_reply_page(r, 3, sizeof *out->items, read_listed, (void **)&out->items, &out->n,
                          &out->total, out->next_cursor, sizeof out->next_cursor);
    freeReplyObject(r);
    return st;
}

store_status_t store_rooms_of_user(const char *user_id, store_id_list_t *out) {
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_USER_ROOMS, user_id);
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
