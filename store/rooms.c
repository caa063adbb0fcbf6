/*
 * Rooms. A room's participants set, typing index, message cache and its
 * entries in rooms:active:{b} and rooms:expiry:{b} are all in the room's
 * bucket: the join and the leave are one script each there, and the check
 * "was that the last participant?" happens in the same script as the leave,
 * so two last participants leaving at once can never leave an empty room
 * behind in rooms:active.
 *
 * Each user's index of their rooms, user:{b}:<user>:rooms (room id -> the
 * room's end, ms), is in the user's bucket: another slot. The order of
 * writes keeps it true through any crash:
 *
 *   - entries are written before the room changes: a join writes the
 *     joining user's entry, and every other participant's (their rooms
 *     must not end in their index before the room does), with the room's
 *     new end, then runs the join script; a message does the same for the
 *     participants before its script (store/messages.c);
 *   - the leaving user's entry is removed after the leave script;
 *   - readers (store_rooms_of_user) take the entries whose end is after now
 *     and check each against the room's participants, so an entry left by a
 *     crash, by a room that ended, or by a refused message is never shown;
 *   - each write drops the index's ended entries, and its TTL is the newest
 *     end, so a left-over entry goes at the latest with its room's end.
 *
 * A user who joins while the join script of another runs may miss the
 * other's refresh of their entry; the script answers the participants, and
 * the newcomers' entries are written right after it.
 *
 * Who of the participants is "joined" (online now) is read from presence
 * (store_presence_online, in each user's bucket) at the caller's clock, the
 * rule a send uses to queue offline messages. Reads only read.
 */
#include "rooms.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timefmt.h"

#include "batch.h"
#include "events.h"
#include "keys.h"
#include "page.h"
#include "presence.h"
#include "reply.h"
#include "rooms_lua.h"
#include "script.h"

/* KEYS: participants, rooms:active:{b}, rooms:expiry:{b}, events:{b}. ARGV:
 * room, user, until (ms), retention. Returns {1 when new, participants}; a
 * new participant is announced (room.joined). */
static store_script_t join_script = STORE_SCRIPT(
    STORE_ROOMS_LUA STORE_EVENTS_LUA
    "local new = redis.call('SADD', KEYS[1], ARGV[2])\n"
    "touch_room(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3])\n"
    "if new == 1 then emit('room.joined', {room_id = ARGV[1], user_id = ARGV[2]}) end\n"
    "return {new, redis.call('SMEMBERS', KEYS[1])}\n");

/* KEYS: participants, rooms:active:{b}, rooms:expiry:{b}, typing index,
 * typing:{b}:<room>:<user>, messages, typing:expiry:{b}, events:{b}. ARGV:
 * room, user, now (ms), retention. Returns -1 when the user was no
 * participant, else the participants left. Announces the end of the
 * user's typing indicator (reason "left") and room.left, with room_ended
 * when it was the last participant. */
static store_script_t leave_script = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "if redis.call('SREM', KEYS[1], ARGV[2]) == 0 then return -1 end\n"
    "local was = tonumber(redis.call('ZSCORE', KEYS[7], ARGV[1] .. ' ' .. ARGV[2]) or '0')\n"
    "redis.call('ZREM', KEYS[4], ARGV[2])\n"
    "redis.call('DEL', KEYS[5])\n"
    "redis.call('ZREM', KEYS[7], ARGV[1] .. ' ' .. ARGV[2])\n"
    "if was > 0 then\n"
    "  emit('typing.stopped', {room_id = ARGV[1], user_id = ARGV[2],\n"
    "       reason = was > tonumber(ARGV[3]) and 'left' or 'expired'})\n"
    "end\n"
    "local left = redis.call('SCARD', KEYS[1])\n"
    "if left == 0 then\n"
    "  redis.call('DEL', KEYS[4], KEYS[6])\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "end\n"
    "emit('room.left', {room_id = ARGV[1], user_id = ARGV[2], room_ended = left == 0})\n"
    "return left\n");

/* The participants set and the two indexes, the first keys of join and leave. */
static void add_room_keys(store_args_t *a, const char *room) {
    store_args_key(a, KEY_ROOM_PARTICIPANTS, room);
    store_args_key(a, KEY_ROOMS_ACTIVE, room);
    store_args_key(a, KEY_ROOMS_EXPIRY, room);
}

/* A list of ids, in id order. */
typedef struct {
    int n;
    char (*ids)[CORE_ID_MAX + 1]; /* owned: id_list_free */
} id_list_t;

static void id_list_free(id_list_t *l) {
    free(l->ids);
    l->ids = NULL;
    l->n = 0;
}

/* Copies the valid ids of array reply r into a new list, in id order. */
static int by_id(const void *a, const void *b) { return strcmp(a, b); }
static store_status_t read_ids(const redisReply *r, id_list_t *out) {
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    out->n = 0;
    out->ids = calloc(n ? n : 1, sizeof *out->ids);
    if (!out->ids)
        return STORE_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (store_reply_copy(store_reply_at(r, i), out->ids[out->n], sizeof out->ids[0]) &&
            core_id_valid(out->ids[out->n]))
            out->n++;
    }
    qsort(out->ids, (size_t)out->n, sizeof out->ids[0], by_id);
    return STORE_OK;
}

/* Runs one plain command (a, freed) and reads its array answer as ids. */
static store_status_t cmd_ids(store_args_t *a, id_list_t *out) {
    redisReply *r;
    store_status_t st = store_cmd(a, &r);
    store_args_free(a);
    memset(out, 0, sizeof *out);
    if (st != STORE_OK)
        return st;
    st = read_ids(r, out);
    freeReplyObject(r);
    return st;
}

static store_status_t participants_of(const char *room, id_list_t *out) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "SMEMBERS");
    store_args_key(&a, KEY_ROOM_PARTICIPANTS, room);
    return cmd_ids(&a, out);
}

store_status_t store_rooms_index_users(const char *room, int n, const char *const *users,
                                       int64_t now_ms, int64_t ends_ms) {
    store_batch_t b;
    store_batch_init(&b, n * 3);
    for (int i = 0; i < n; i++) {
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "ZADD"); /* GT: never moves an end back */
        store_args_key(q, KEY_USER_ROOMS, users[i]);
        store_args_str(q, "GT");
        store_args_int(q, ends_ms);
        store_args_str(q, room);
        q = store_batch_add(&b);
        store_args_str(q, "ZREMRANGEBYSCORE");
        store_args_key(q, KEY_USER_ROOMS, users[i]);
        store_args_str(q, "-inf");
        store_args_int(q, now_ms);
        q = store_batch_add(&b);
        store_args_str(q, "PEXPIREAT");
        store_args_key(q, KEY_USER_ROOMS, users[i]);
        store_args_int(q, ends_ms);
    }
    store_status_t st = store_batch_run(&b);
    store_batch_free(&b);
    return st;
}

/* The ids of after that are not in before (both in id order) into out. */
static int newcomers(const id_list_t *before, const id_list_t *after, const char **out) {
    int m = 0;
    for (int i = 0, j = 0; i < after->n; i++) {
        while (j < before->n && strcmp(before->ids[j], after->ids[i]) < 0)
            j++;
        if (j == before->n || strcmp(before->ids[j], after->ids[i]) != 0)
            out[m++] = after->ids[i];
    }
    return m;
}

/* How many of the n users are online at now_ms; or -1 when that could not
 * be read. */
static long long count_online(int n, const char *const *users, int64_t now_ms) {
    bool *on = calloc((size_t)(n > 0 ? n : 1), sizeof *on);
    if (!on || store_presence_online(n, users, now_ms, on) != STORE_OK) {
        free(on);
        return -1;
    }
    long long k = 0;
    for (int i = 0; i < n; i++)
        k += on[i];
    free(on);
    return k;
}

/* The ids of a list as an array of pointers into it (caller frees). */
static const char **pointers(const id_list_t *l) {
    const char **p = calloc((size_t)(l->n > 0 ? l->n : 1), sizeof *p);
    for (int i = 0; p && i < l->n; i++)
        p[i] = l->ids[i];
    return p;
}

store_status_t store_rooms_join(const char *room_id, const char *user_id, int64_t now_ms, int ttl_s,
                                bool *created, store_room_t *out) {
    int64_t ends = now_ms + (int64_t)ttl_s * 1000;
    id_list_t before, after = {0};
    store_status_t st = participants_of(room_id, &before);
    if (st != STORE_OK)
        return st;
    /* the index entries first: the joining user's, and every participant's */
    const char **users = calloc((size_t)before.n + 1, sizeof *users);
    int n = 0;
    for (int i = 0; users && i < before.n; i++)
        if (strcmp(before.ids[i], user_id) != 0)
            users[n++] = before.ids[i];
    if (users)
        users[n++] = user_id;
    st = users ? store_rooms_index_users(room_id, n, users, now_ms, ends) : STORE_ERROR;
    redisReply *r = NULL;
    if (st == STORE_OK) {
        store_args_t a;
        store_args_init(&a);
        store_script_call(&a, &join_script, 4);
        add_room_keys(&a, room_id);
        store_events_key(&a, room_id);
        store_args_str(&a, room_id);
        store_args_str(&a, user_id);
        store_args_int(&a, ends);
        store_events_arg(&a);
        st = store_eval(&join_script, &a, &r);
        store_args_free(&a);
    }
    if (st == STORE_OK)
        st = read_ids(store_reply_at(r, 1), &after);
    if (st == STORE_OK) {
        *created = store_reply_int(store_reply_at(r, 0), 0) == 1;
        snprintf(out->id, sizeof out->id, "%s", room_id);
        out->participants = after.n;
        const char **all = pointers(&after), **late = pointers(&after);
        int m = all && late ? newcomers(&before, &after, late) : 0;
        if (m > 1 || (m == 1 && strcmp(late[0], user_id) != 0)) /* joined meanwhile */
            store_rooms_index_users(room_id, m, late, now_ms, ends);
        out->joined = all ? count_online(after.n, all, now_ms) : -1;
        st = out->joined < 0 ? STORE_ERROR : STORE_OK;
        free(all);
        free(late);
    }
    if (r)
        freeReplyObject(r);
    free(users);
    id_list_free(&before);
    id_list_free(&after);
    return st;
}

store_status_t store_rooms_leave(const char *room_id, const char *user_id) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &leave_script, 8);
    add_room_keys(&a, room_id);
    store_args_key(&a, KEY_ROOM_TYPING, room_id);
    store_args_key2(&a, KEY_TYPING, room_id, user_id);
    store_args_key(&a, KEY_ROOM_MESSAGES, room_id);
    store_args_key(&a, KEY_TYPING_EXPIRY, room_id);
    store_events_key(&a, room_id);
    store_args_str(&a, room_id);
    store_args_str(&a, user_id);
    store_args_int(&a, core_now_ms());
    store_events_arg(&a);
    store_status_t st = store_eval_count(&leave_script, &a, 0, STORE_NOT_FOUND);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    /* after the room: an entry left by a failure here is one no reader shows */
    store_args_init(&a);
    store_args_str(&a, "ZREM");
    store_args_key(&a, KEY_USER_ROOMS, user_id);
    store_args_str(&a, room_id);
    redisReply *r;
    if (store_cmd(&a, &r) == STORE_OK)
        freeReplyObject(r);
    store_args_free(&a);
    return STORE_OK;
}

/* The page reader of a room's participants: each one with whether they
 * are online at the caller's clock (ctx: now, ms). Keeps every one. */
static store_status_t read_participants(int n, const char *const *ids, void *items, bool *keep,
                                        const void *ctx) {
    store_participant_t *p = items;
    bool *on = calloc((size_t)(n > 0 ? n : 1), sizeof *on);
    store_status_t st = on ? store_presence_online(n, ids, *(const int64_t *)ctx, on) : STORE_ERROR;
    for (int i = 0; st == STORE_OK && i < n; i++) {
        snprintf(p[i].user_id, sizeof p[i].user_id, "%s", ids[i]);
        p[i].joined = on[i];
        keep[i] = true;
    }
    free(on);
    return st;
}

store_status_t store_rooms_participants(const char *room_id, int64_t now_ms, const char *cursor,
                                        int limit, store_page_t *out) {
    memset(out, 0, sizeof *out);
    id_list_t all;
    store_status_t st = participants_of(room_id, &all);
    if (st == STORE_OK && all.n == 0)
        st = STORE_NOT_FOUND;
    const char **ids = st == STORE_OK ? pointers(&all) : NULL;
    if (st == STORE_OK && !ids)
        st = STORE_ERROR;
    const store_page_spec_t spec = {
        .item_size = sizeof(store_participant_t), .read = read_participants, .ctx = &now_ms};
    if (st == STORE_OK)
        st = store_page_ids(&spec, all.n, ids, cursor, limit, all.n, out);
    free(ids);
    id_list_free(&all);
    return st;
}

/* ---- the list of rooms ---- */

/* What reading a page of rooms needs. */
typedef struct {
    int64_t now_ms;
    const char *member; /* for a user's rooms: the user, who must be a participant; else NULL */
} room_read_t;

/* Whether participants reply ps names user. */
static bool has_member(const redisReply *ps, const char *user) {
    for (size_t j = 0; j < ps->elements; j++)
        if (store_reply_is_str(ps->element[j]) && strcmp(ps->element[j]->str, user) == 0)
            return true;
    return false;
}

/* The rooms of a page: each one's end and participants in one round, then
 * who of all their participants is online in another. A room is listed
 * while its end is after now and it has participants (for a user's rooms:
 * among them the user). */
static store_status_t read_page(int n, const char *const *ids, void *items, bool *keep,
                                const void *ctx) {
    const room_read_t *how = ctx;
    int64_t now_ms = how->now_ms;
    store_room_t *rooms = items;
    store_batch_t b;
    store_batch_init(&b, n * 2);
    for (int i = 0; i < n; i++) {
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "ZSCORE");
        store_args_key(q, KEY_ROOMS_EXPIRY, ids[i]);
        store_args_str(q, ids[i]);
        q = store_batch_add(&b);
        store_args_str(q, "SMEMBERS");
        store_args_key(q, KEY_ROOM_PARTICIPANTS, ids[i]);
    }
    store_status_t st = store_batch_run(&b);
    /* every participant of every kept room, for one presence round */
    size_t total = 0;
    for (int i = 0; st == STORE_OK && i < n; i++) {
        const redisReply *ps = store_batch_reply(&b, 2 * i + 1);
        keep[i] = store_reply_int(store_batch_reply(&b, 2 * i), 0) > now_ms &&
                  ps->type == REDIS_REPLY_ARRAY && ps->elements > 0 &&
                  (!how->member || has_member(ps, how->member));
        snprintf(rooms[i].id, sizeof rooms[i].id, "%s", ids[i]);
        rooms[i].participants = keep[i] ? (long long)ps->elements : 0;
        total += (size_t)rooms[i].participants;
    }
    const char **users = calloc(total ? total : 1, sizeof *users);
    bool *on = calloc(total ? total : 1, sizeof *on);
    if (st == STORE_OK && (!users || !on))
        st = STORE_ERROR;
    size_t k = 0;
    for (int i = 0; st == STORE_OK && i < n; i++) {
        const redisReply *ps = store_batch_reply(&b, 2 * i + 1);
        for (long long j = 0; j < rooms[i].participants; j++)
            users[k++] = store_reply_is_str(ps->element[j]) ? ps->element[j]->str : "";
    }
    if (st == STORE_OK)
        st = store_presence_online((int)k, users, now_ms, on);
    k = 0;
    for (int i = 0; st == STORE_OK && i < n; i++)
        for (long long j = 0; j < rooms[i].participants; j++)
            rooms[i].joined += on[k++];
    store_batch_free(&b);
    free(users);
    free(on);
    return st;
}

store_status_t store_rooms_list(const char *cursor, int limit, int64_t now_ms, store_page_t *out) {
    const store_page_spec_t spec = {.index = KEY_ROOMS_ACTIVE,
                                    .item_size = sizeof(store_room_t),
                                    .count_index = KEY_ROOMS_EXPIRY,
                                    .count_after_ms = now_ms,
                                    .read = read_page,
                                    .ctx = &(room_read_t){now_ms, NULL}};
    return store_page_read(&spec, cursor, limit, out);
}

store_status_t store_rooms_of_user(const char *user_id, int64_t now_ms, const char *cursor,
                                   int limit, store_page_t *out) {
    memset(out, 0, sizeof *out);
    char min[32];
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZRANGEBYSCORE");
    store_args_key(&a, KEY_USER_ROOMS, user_id);
    int minlen = snprintf(min, sizeof min, "(%lld", (long long)now_ms);
    store_args_copy(&a, min, (size_t)minlen);
    store_args_str(&a, "+inf");
    id_list_t entries;
    store_status_t st = cmd_ids(&a, &entries);
    const char **ids = st == STORE_OK ? pointers(&entries) : NULL;
    if (st == STORE_OK && !ids)
        st = STORE_ERROR;
    /* each entry checked against its room (read_page), so the total is not counted */
    const room_read_t how = {now_ms, user_id};
    const store_page_spec_t spec = {
        .item_size = sizeof(store_room_t), .read = read_page, .ctx = &how};
    if (st == STORE_OK)
        st = store_page_ids(&spec, entries.n, ids, cursor, limit, -1, out);
    free(ids);
    id_list_free(&entries);
    return st;
}
