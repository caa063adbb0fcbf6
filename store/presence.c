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

#include "../core/timefmt.h"

#include "batch.h"
#include "events.h"
#include "keys.h"
#include "page.h"
#include "reply.h"
#include "script.h"
#include "typing.h"

/* Devices. A user is online on each device they PUT with (none named: the
 * device of their last PUT that named one, else "default"), each for
 * PRESENCE_TTL_S after its own last PUT: field "dev:<deviceId>" of the
 * presence hash holds "<expiry ms>|<status>|<last_seen>". The user is
 * online while any device is: the hash's summary fields (status,
 * device_id, last_seen of the last PUT; expires_at, the newest device's
 * expiry), its key TTL and the index scores are the newest device's. A
 * device past its expiry is filtered by the clock and dropped by the
 * user's next write; the hash keeps at most STORE_PRESENCE_MAX_DEVICES
 * (a new device beyond that replaces the one that expires first).
 *
 * Events (store/events.h): presence.online when a user who was not online
 * comes online, presence.offline when the last device goes (a DELETE, or
 * the reaper finding the index entry expired: reason "expired"), and
 * presence.device_online / presence.device_offline for a device that comes
 * or goes while another keeps the user online. A PUT or DELETE that finds
 * the user expired but not yet reaped announces that expiry first, so each
 * online is followed by exactly one offline. */
#define DEVICES_LUA                                                                                \
    "local function devices(key, now)\n"                                                           \
    "  local h, out = redis.call('HGETALL', key), {}\n"                                            \
    "  for i = 1, #h, 2 do\n"                                                                      \
    "    if string.sub(h[i], 1, 4) == 'dev:' then\n"                                               \
    "      local exp, st, seen = string.match(h[i + 1], '^(%d+)|([^|]*)|(.*)$')\n"                 \
    "      exp = tonumber(exp)\n"                                                                  \
    "      if exp and exp > now then\n"                                                            \
    "        out[#out + 1] = {id = string.sub(h[i], 5), exp = exp, status = st, seen = seen}\n"    \
    "      else redis.call('HDEL', key, h[i]) end\n"                                               \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  return out\n"                                                                               \
    "end\n"                                                                                        \
    "local function newest(devs)\n"                                                                \
    "  local best = nil\n"                                                                         \
    "  for _, d in ipairs(devs) do if not best or d.exp > best.exp then best = d end end\n"        \
    "  return best\n"                                                                              \
    "end\n"                                                                                        \
    "local function announce_expired(user, now)\n"                                                 \
    "  local was = tonumber(redis.call('ZSCORE', KEYS[2], user) or '0')\n"                         \
    "  if was > 0 and was <= now then\n"                                                           \
    "    emit('presence.offline', {user_id = user, reason = 'expired'})\n"                         \
    "  end\n"                                                                                      \
    "  return was > now\n"                                                                         \
    "end\n"

/* KEYS: presence, online_users:{b}, online_users:by_id:{b}, events:{b}.
 * ARGV: status, device id ('' : the last named, else 'default'), now (ISO
 * 8601), the device's expiry (ms), user, now (ms), max devices, retention.
 * Returns {status, device_id ('' when none was named), last_seen, the
 * user's expiry}. */
static store_script_t set_script = STORE_SCRIPT(
    STORE_EVENTS_LUA DEVICES_LUA
    "local now, user = tonumber(ARGV[6]), ARGV[5]\n"
    "local online = announce_expired(user, now)\n"
    "local dev = ARGV[2]\n"
    "if dev == '' then dev = redis.call('HGET', KEYS[1], 'device_id') or 'default' end\n"
    "local devs, known = devices(KEYS[1], now), false\n"
    "for _, d in ipairs(devs) do if d.id == dev then known = true end end\n"
    "if not known and #devs >= tonumber(ARGV[7]) then\n"
    "  table.sort(devs, function(a, b) return a.exp < b.exp end)\n"
    "  redis.call('HDEL', KEYS[1], 'dev:' .. devs[1].id)\n"
    "  table.remove(devs, 1)\n"
    "end\n"
    "local exp = tonumber(ARGV[4])\n"
    "for _, d in ipairs(devs) do if d.id ~= dev and d.exp > exp then exp = d.exp end end\n"
    "redis.call('HSET', KEYS[1], 'dev:' .. dev, ARGV[4] .. '|' .. ARGV[1] .. '|' .. ARGV[3],\n"
    "           'status', ARGV[1], 'last_seen', ARGV[3], 'expires_at', exp)\n"
    "if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'device_id', ARGV[2]) end\n"
    "redis.call('PEXPIREAT', KEYS[1], exp)\n"
    "redis.call('ZADD', KEYS[2], exp, user)\n"
    "redis.call('ZADD', KEYS[3], 0, user)\n"
    "local ev = {user_id = user, device_id = dev, status = ARGV[1]}\n"
    "if not online then emit('presence.online', ev)\n"
    "elseif not known then emit('presence.device_online', ev) end\n"
    "return {ARGV[1], redis.call('HGET', KEYS[1], 'device_id') or '', ARGV[3], exp}\n");

/* KEYS: as set. ARGV: user, now (ms), retention. Every device goes. */
static store_script_t clear_script = STORE_SCRIPT(
    STORE_EVENTS_LUA DEVICES_LUA
    "local online = announce_expired(ARGV[1], tonumber(ARGV[2]))\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "if online then emit('presence.offline', {user_id = ARGV[1], reason = 'request'}) end\n"
    "return online and 1 or 0\n");

/* KEYS: as set. ARGV: user, device, now (ms), retention. Returns 0 when the
 * user is not online on that device, 1 when others keep them online, 2
 * when it was their last. */
static store_script_t device_clear_script = STORE_SCRIPT(
    STORE_EVENTS_LUA DEVICES_LUA
    "local user, dev, now = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "announce_expired(user, now)\n"
    "local devs, found = devices(KEYS[1], now), false\n"
    "local rest = {}\n"
    "for _, d in ipairs(devs) do\n"
    "  if d.id == dev then found = true else rest[#rest + 1] = d end\n"
    "end\n"
    "if not found then return 0 end\n"
    "local best = newest(rest)\n"
    "if not best then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  redis.call('ZREM', KEYS[2], user)\n"
    "  redis.call('ZREM', KEYS[3], user)\n"
    "  emit('presence.offline', {user_id = user, device_id = dev, reason = 'request'})\n"
    "  return 2\n"
    "end\n"
    "redis.call('HDEL', KEYS[1], 'dev:' .. dev)\n"
    "redis.call('HSET', KEYS[1], 'status', best.status, 'last_seen', best.seen,\n"
    "           'expires_at', best.exp)\n"
    "if redis.call('HGET', KEYS[1], 'device_id') == dev then\n"
    "  if best.id == 'default' then redis.call('HDEL', KEYS[1], 'device_id')\n"
    "  else redis.call('HSET', KEYS[1], 'device_id', best.id) end\n"
    "end\n"
    "redis.call('PEXPIREAT', KEYS[1], best.exp)\n"
    "redis.call('ZADD', KEYS[2], best.exp, user)\n"
    "emit('presence.device_offline', {user_id = user, device_id = dev, reason = 'request'})\n"
    "return 1\n");

/* One "dev:" field: the device id and "<expiry>|<status>|<last_seen>",
 * appended to list when it has not expired. */
static void read_device(const char *id, const char *value, int64_t now_ms,
                        store_device_list_t *list) {
    store_device_t *d = &list->items[list->n];
    char *end;
    d->expires_at_ms = strtoll(value, &end, 10);
    const char *status = *end == '|' ? end + 1 : NULL;
    const char *seen = status ? strchr(status, '|') : NULL;
    if (!seen || d->expires_at_ms <= now_ms || !core_id_valid(id))
        return;
    snprintf(d->device_id, sizeof d->device_id, "%s", id);
    snprintf(d->status, sizeof d->status, "%.*s", (int)(seen - status), status);
    snprintf(d->last_seen, sizeof d->last_seen, "%s", seen + 1);
    list->n++;
}

static int by_device(const void *a, const void *b) {
    return strcmp(((const store_device_t *)a)->device_id, ((const store_device_t *)b)->device_id);
}

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
    store_events_key(a, id);
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
    store_script_call(&a, &set_script, 4);
    add_keys(&a, id);
    store_args_str(&a, status);
    store_args_str(&a, device_id ? device_id : "");
    store_args_str(&a, now);
    store_args_int(&a, now_ms + (int64_t)ttl_s * 1000);
    store_args_str(&a, id);
    store_args_int(&a, now_ms);
    store_args_int(&a, STORE_PRESENCE_MAX_DEVICES);
    store_events_arg(&a);
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

/* Adds to b the end of id's typing indicator in each of their rooms (in
 * the rooms' buckets: store/typing.c), reason "offline". */
static store_status_t stop_typing(const char *id, store_batch_t *b, redisReply **rooms) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZRANGE"); /* every room of theirs, ended or not */
    store_args_key(&a, KEY_USER_ROOMS, id);
    store_args_str(&a, "0");
    store_args_str(&a, "-1");
    store_status_t st = store_cmd(&a, rooms);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    size_t nrooms = (*rooms)->type == REDIS_REPLY_ARRAY ? (*rooms)->elements : 0;
    store_batch_init(b, (int)nrooms + 1);
    for (size_t i = 0; i < nrooms; i++) {
        char room[CORE_ID_MAX + 1];
        if (!store_reply_copy((*rooms)->element[i], room, sizeof room) || !core_id_valid(room))
            continue; /* someone else's entry */
        store_typing_stop_call(b, room, id, "offline");
    }
    return STORE_OK;
}

store_status_t store_presence_clear(const char *id) {
    redisReply *rooms;
    store_batch_t b;
    store_status_t st = stop_typing(id, &b, &rooms);
    if (st != STORE_OK)
        return st;
    store_args_t *q = store_batch_call(&b, &clear_script, 4);
    add_keys(q, id);
    store_args_str(q, id);
    store_args_int(q, core_now_ms());
    store_events_arg(q);
    st = store_batch_run(&b);
    store_batch_free(&b);
    freeReplyObject(rooms);
    return st;
}

store_status_t store_presence_clear_device(const char *id, const char *device_id) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &device_clear_script, 4);
    add_keys(&a, id);
    store_args_str(&a, id);
    store_args_str(&a, device_id);
    store_args_int(&a, core_now_ms());
    store_events_arg(&a);
    redisReply *r;
    store_status_t st = store_eval(&device_clear_script, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    long long left = store_reply_int(r, 0);
    freeReplyObject(r);
    if (left == 0)
        return STORE_NOT_FOUND;
    if (left == 1)
        return STORE_OK;
    /* the last device: offline, so their typing indicators stop too */
    redisReply *rooms;
    store_batch_t b;
    st = stop_typing(id, &b, &rooms);
    if (st == STORE_OK) {
        store_batch_run(&b); /* best effort: each indicator ends with its TTL anyway */
        store_batch_free(&b);
        freeReplyObject(rooms);
    }
    return STORE_OK;
}

store_status_t store_presence_devices(const char *id, int64_t now_ms, store_presence_t *out,
                                      store_device_list_t *devices) {
    memset(out, 0, sizeof *out);
    memset(devices, 0, sizeof *devices);
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "HGETALL");
    store_args_key(&a, KEY_PRESENCE, id);
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    snprintf(out->id, sizeof out->id, "%s", id);
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *k = r->element[2 * i], *v = r->element[2 * i + 1];
        if (!store_reply_is_str(k) || !store_reply_is_str(v))
            continue;
        if (strcmp(k->str, "status") == 0)
            store_reply_copy(v, out->status, sizeof out->status);
        else if (strcmp(k->str, "device_id") == 0)
            store_reply_copy(v, out->device_id, sizeof out->device_id);
        else if (strcmp(k->str, "last_seen") == 0)
            store_reply_copy(v, out->last_seen, sizeof out->last_seen);
        else if (strcmp(k->str, "expires_at") == 0)
            out->expires_at_ms = strtoll(v->str, NULL, 10);
        else if (strncmp(k->str, "dev:", 4) == 0 && devices->n < STORE_PRESENCE_MAX_DEVICES)
            read_device(k->str + 4, v->str, now_ms, devices);
    }
    freeReplyObject(r);
    qsort(devices->items, (size_t)devices->n, sizeof devices->items[0], by_device);
    bool online = out->status[0] && out->expires_at_ms > now_ms;
    if (!online)
        devices->n = 0;
    return online ? STORE_OK : STORE_NOT_FOUND;
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
