/*
 * Sessions. The session itself is JSON (the format the chat and mobile
 * backends share), and it changes in place on a heartbeat or a move. The
 * session, its heartbeat and its entries in the bucket's cleanup index
 * (sessions:expiry:{b}, sessions:owner:{b}) are in the socket id's bucket,
 * and the scripts that write them own the format there (Redis's cjson),
 * one atomic step each. Reads are a plain GET, decoded here
 * (decode_session: the same fields the scripts hand back).
 *
 * The user's set (user:{b}:<user>:sessions) and the region's set
 * (region:{b}:<region>:members) are in the user's and the region's buckets:
 * other slots. They are sorted sets, socket id -> the session's expiry (ms)
 * when the entry was written, and the order of writes makes every crash
 * safe:
 *
 *   - index entries are written before the session (create, heartbeat and
 *     move write the sets, then run the script), with the expiry the
 *     session is about to get, so a live session is always in its sets,
 *     and its entries never expire before it;
 *   - they are removed after it (delete, the move's old region, the reaper:
 *     the script first, the sets after);
 *   - readers take the entries whose expiry is after now and check each
 *     against its session (it exists, and its user or region is the set's),
 *     so an entry left by a crash between the two steps, or by a create
 *     that found the socket id taken, is never shown;
 *   - every write to a set drops its expired entries, and the set's TTL is
 *     the newest entry's expiry, so a left-over entry is gone at the latest
 *     when the session it names would have expired.
 *
 * A create that finds the socket id taken takes back the entries it wrote
 * where the existing session does not own them (another user or region).
 */
#include "sessions.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

#define NFIELDS 8

/* Every writing script has KEYS session, heartbeat, sessions:expiry:{b},
 * sessions:owner:{b}, events:{b} and ARGV socket id, now (ISO 8601),
 * session expiry (ms), heartbeat expiry (ms), then its own, then the
 * retention (store/events.h: session.started, session.ended). fields() is the shape the
 * scripts answer with: socket_id, user_id, region ('' when none), latitude,
 * longitude ('' when no location), connected_at, last_activity_at,
 * user_agent ('' when none). */
#define PRELUDE                                                                                    \
    STORE_EVENTS_LUA                                                                               \
    "local function opt(v) if type(v) == 'string' then return v end return '' end\n"               \
    "local function fields(s)\n"                                                                   \
    "  local lat, lon = '', ''\n"                                                                  \
    "  local loc = s.last_location\n"                                                              \
    "  if type(loc) == 'table' and tonumber(loc.latitude) and tonumber(loc.longitude) then\n"      \
    "    lat = string.format('%.17g', loc.latitude)\n"                                             \
    "    lon = string.format('%.17g', loc.longitude)\n"                                            \
    "  end\n"                                                                                      \
    "  return {opt(s.socket_id), opt(s.user_id), opt(s.current_region_id), lat, lon,\n"            \
    "          opt(s.connected_at), opt(s.last_activity_at), opt(s.user_agent)}\n"                 \
    "end\n"                                                                                        \
    "local function load(key)\n"                                                                   \
    "  local v = redis.call('GET', key)\n"                                                         \
    "  if not v then return nil end\n"                                                             \
    "  local ok, s = pcall(cjson.decode, v)\n"                                                     \
    "  if ok and type(s) == 'table' and type(s.user_id) == 'string' then return s end\n"           \
    "  return nil\n"                                                                               \
    "end\n"                                                                                        \
    "local function save(s)\n"                                                                     \
    "  redis.call('SET', KEYS[1], cjson.encode(s))\n"                                              \
    "  redis.call('PEXPIREAT', KEYS[1], ARGV[3])\n"                                                \
    "  redis.call('SET', KEYS[2], ARGV[2])\n"                                                      \
    "  redis.call('PEXPIREAT', KEYS[2], ARGV[4])\n"                                                \
    "  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])\n"                                            \
    "  redis.call('HSET', KEYS[4], ARGV[1], s.user_id .. ' ' .. opt(s.current_region_id))\n"       \
    "end\n"

/* ARGV 5..9: user id, region, latitude, longitude, user agent. Returns
 * {1, fields} when made, {0, fields of the session that has the id}. */
static store_script_t create_script = STORE_SCRIPT(
    PRELUDE
    "local old = load(KEYS[1])\n"
    "if old then return {0, fields(old)} end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {0, {}} end\n"
    "local s = {socket_id = ARGV[1], user_id = ARGV[5], connected_at = ARGV[2],\n"
    "           last_activity_at = ARGV[2], current_region_id = cjson.null,\n"
    "           last_location = cjson.null, user_agent = cjson.null}\n"
    "if ARGV[6] ~= '' then\n"
    "  s.current_region_id = ARGV[6]\n"
    "  s.last_location = {latitude = tonumber(ARGV[7]), longitude = tonumber(ARGV[8])}\n"
    "end\n"
    "if ARGV[9] ~= '' then s.user_agent = ARGV[9] end\n"
    "save(s)\n"
    "emit('session.started', {socket_id = ARGV[1], user_id = ARGV[5], region_id = ARGV[6]})\n"
    "return {1, fields(s)}\n");

/* Returns false when there is no session, else {the region before, fields}. */
static store_script_t heartbeat_script = STORE_SCRIPT(PRELUDE
                                                      "local s = load(KEYS[1])\n"
                                                      "if not s then return false end\n"
                                                      "local old = opt(s.current_region_id)\n"
                                                      "s.last_activity_at = ARGV[2]\n"
                                                      "save(s)\n"
                                                      "return {old, fields(s)}\n");

/* ARGV 5..7: the new region, latitude, longitude. Answers as heartbeat. */
static store_script_t move_script =
    STORE_SCRIPT(PRELUDE
                 "local s = load(KEYS[1])\n"
                 "if not s then return false end\n"
                 "local old = opt(s.current_region_id)\n"
                 "s.current_region_id = ARGV[5]\n"
                 "s.last_location = {latitude = tonumber(ARGV[6]), longitude = tonumber(ARGV[7])}\n"
                 "s.last_activity_at = ARGV[2]\n"
                 "save(s)\n"
                 "return {old, fields(s)}\n");

/* Returns false when there is no session, else {user, region}. */
static store_script_t delete_script = STORE_SCRIPT(
    PRELUDE
    "local s = load(KEYS[1])\n"
    "if not s then return false end\n"
    "redis.call('DEL', KEYS[1], KEYS[2])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('HDEL', KEYS[4], ARGV[1])\n"
    "emit('session.ended', {socket_id = ARGV[1], user_id = s.user_id,\n"
    "                       region_id = opt(s.current_region_id), reason = 'request'})\n"
    "return {s.user_id, opt(s.current_region_id)}\n");

static void read_session(const redisReply *r, size_t off, store_session_t *s) {
    char lat[40], lon[40];
    memset(s, 0, sizeof *s);
    store_reply_copy(store_reply_at(r, off), s->socket_id, sizeof s->socket_id);
    store_reply_copy(store_reply_at(r, off + 1), s->user_id, sizeof s->user_id);
    store_reply_copy(store_reply_at(r, off + 2), s->region_id, sizeof s->region_id);
    store_reply_copy(store_reply_at(r, off + 3), lat, sizeof lat);
    store_reply_copy(store_reply_at(r, off + 4), lon, sizeof lon);
    store_reply_copy(store_reply_at(r, off + 5), s->connected_at, sizeof s->connected_at);
    store_reply_copy(store_reply_at(r, off + 6), s->last_activity_at, sizeof s->last_activity_at);
    store_reply_copy(store_reply_at(r, off + 7), s->user_agent, sizeof s->user_agent);
    s->has_location = lat[0] && lon[0];
    if (s->has_location) {
        s->latitude = strtod(lat, NULL);
        s->longitude = strtod(lon, NULL);
    }
}

/* ---- reading a session's JSON (what fields() gives a script) ---- */

static void copy_opt(const cJSON *o, const char *name, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* A number, or a string that is one whole (as Lua's tonumber takes it). */
static bool number(const cJSON *v, double *out) {
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return false;
    char *end;
    *out = strtod(v->valuestring, &end);
    return *end == '\0';
}

/* False when r is not a session (no such key, or someone else's data). */
static bool decode_session(const redisReply *r, store_session_t *s) {
    memset(s, 0, sizeof *s);
    if (!store_reply_is_str(r))
        return false;
    cJSON *o = cJSON_ParseWithLength(r->str, r->len);
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(o, "user_id");
    bool ok = cJSON_IsObject(o) && cJSON_IsString(user);
    if (ok) {
        copy_opt(o, "socket_id", s->socket_id, sizeof s->socket_id);
        copy_opt(o, "user_id", s->user_id, sizeof s->user_id);
        copy_opt(o, "current_region_id", s->region_id, sizeof s->region_id);
        copy_opt(o, "connected_at", s->connected_at, sizeof s->connected_at);
        copy_opt(o, "last_activity_at", s->last_activity_at, sizeof s->last_activity_at);
        copy_opt(o, "user_agent", s->user_agent, sizeof s->user_agent);
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(o, "last_location");
        s->has_location = cJSON_IsObject(loc) &&
                          number(cJSON_GetObjectItemCaseSensitive(loc, "latitude"), &s->latitude) &&
                          number(cJSON_GetObjectItemCaseSensitive(loc, "longitude"), &s->longitude);
        if (!s->has_location)
            s->latitude = s->longitude = 0;
    }
    cJSON_Delete(o);
    return ok;
}

/* GETs the sessions of n socket ids in one round trip; found[i] says which
 * are sessions. */
static store_status_t get_sessions(int n, const char *const *ids, store_session_t *out,
                                   bool *found) {
    store_batch_t b;
    store_batch_init(&b, n);
    for (int i = 0; i < n; i++) {
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "GET");
        store_args_key(q, KEY_SESSION, ids[i]);
    }
    store_status_t st = store_batch_run(&b);
    for (int i = 0; st == STORE_OK && i < n; i++)
        found[i] = decode_session(store_batch_reply(&b, i), &out[i]);
    store_batch_free(&b);
    return st;
}

/* ---- the user's and the region's sets ---- */

/* One entry of a set in another slot: (user or region set) id -> socket. */
typedef struct {
    store_key_t set; /* KEY_USER_SESSIONS or KEY_REGION_MEMBERS */
    const char *id;  /* the user or region; NULL or "" for none */
} entry_t;

/* Adds to b, for each set of e (n of them): socket written with expiry ms
 * as its score, the set's expired entries dropped, its TTL the new expiry;
 * or, when remove, socket taken out. */
static void add_entries(store_batch_t *b, const entry_t *e, int n, const char *socket, bool remove,
                        int64_t now_ms, int64_t expiry_ms) {
    for (int i = 0; i < n; i++) {
        if (!e[i].id || !e[i].id[0])
            continue;
        store_args_t *q = store_batch_add(b);
        if (remove) {
            store_args_str(q, "ZREM");
            store_args_key(q, e[i].set, e[i].id);
            store_args_str(q, socket);
            continue;
        }
        store_args_str(q, "ZADD");
        store_args_key(q, e[i].set, e[i].id);
        store_args_int(q, expiry_ms);
        store_args_str(q, socket);
        q = store_batch_add(b);
        store_args_str(q, "ZREMRANGEBYSCORE");
        store_args_key(q, e[i].set, e[i].id);
        store_args_str(q, "-inf");
        store_args_int(q, now_ms);
        q = store_batch_add(b);
        store_args_str(q, "PEXPIREAT");
        store_args_key(q, e[i].set, e[i].id);
        store_args_int(q, expiry_ms);
    }
}

/* add_entries for one socket, run in one round trip. */
static store_status_t write_entries(const entry_t *e, int n, const char *socket, bool remove,
                                    int64_t now_ms, int64_t expiry_ms) {
    store_batch_t b;
    store_batch_init(&b, 3 * n);
    add_entries(&b, e, n, socket, remove, now_ms, expiry_ms);
    store_status_t st = store_batch_run(&b);
    store_batch_free(&b);
    return st;
}

/* ---- the scripts ---- */

/* The KEYS and ARGV head every writing script shares. */
static void add_head(store_args_t *a, store_script_t *s, const char *socket_id, int64_t now_ms,
                     const store_session_ttls_t *ttl, char now[CORE_ISO8601_LEN]) {
    core_iso8601(now_ms, now);
    store_script_call(a, s, 5);
    store_args_key(a, KEY_SESSION, socket_id);
    store_args_key(a, KEY_HEARTBEAT, socket_id);
    store_args_key(a, KEY_SESSIONS_EXPIRY, socket_id);
    store_args_key(a, KEY_SESSIONS_OWNER, socket_id);
    store_events_key(a, socket_id);
    store_args_str(a, socket_id);
    store_args_str(a, now);
    store_args_int(a, now_ms + (int64_t)(ttl ? ttl->session_ttl_s : 0) * 1000);
    store_args_int(a, now_ms + (int64_t)(ttl ? ttl->heartbeat_ttl_s : 0) * 1000);
}

static void add_location(store_args_t *a, double lat, double lon) {
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", lat);
    store_args_copy(a, buf, (size_t)n);
    n = snprintf(buf, sizeof buf, "%.17g", lon);
    store_args_copy(a, buf, (size_t)n);
}

/* Runs the call a of script s (the retention added last) and frees a; *r is
 * its reply (NULL: none). */
static store_status_t run(store_script_t *s, store_args_t *a, redisReply **r) {
    store_events_arg(a);
    store_status_t st = store_eval(s, a, r);
    store_args_free(a);
    if (st != STORE_OK)
        *r = NULL;
    return st;
}

static int64_t session_expiry(int64_t now_ms, const store_session_ttls_t *ttl) {
    return now_ms + (int64_t)ttl->session_ttl_s * 1000;
}

store_status_t store_sessions_create(const store_session_t *in, int64_t now_ms,
                                     const store_session_ttls_t *ttl, store_session_t *out) {
    const char *region = in->has_location ? in->region_id : "";
    entry_t e[2] = {{KEY_USER_SESSIONS, in->user_id}, {KEY_REGION_MEMBERS, region}};
    store_status_t st =
        write_entries(e, 2, in->socket_id, false, now_ms, session_expiry(now_ms, ttl));
    if (st != STORE_OK)
        return st;
    char now[CORE_ISO8601_LEN];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, &create_script, in->socket_id, now_ms, ttl, now);
    store_args_str(&a, in->user_id);
    store_args_str(&a, region);
    add_location(&a, in->latitude, in->longitude);
    store_args_str(&a, in->user_agent);
    redisReply *r;
    st = run(&create_script, &a, &r);
    if (st != STORE_OK)
        return st;
    store_session_t s;
    read_session(store_reply_at(r, 1), 0, &s);
    bool made = store_reply_int(store_reply_at(r, 0), 0) == 1;
    freeReplyObject(r);
    if (made) {
        if (out)
            *out = s;
        return STORE_OK;
    }
    /* the id is taken: take back the entries that are not the existing session's */
    entry_t back[2] = {{KEY_USER_SESSIONS, strcmp(s.user_id, in->user_id) ? in->user_id : NULL},
                       {KEY_REGION_MEMBERS, strcmp(s.region_id, region) ? region : NULL}};
    st = write_entries(back, 2, in->socket_id, true, now_ms, 0);
    return st == STORE_OK ? STORE_CONFLICT : st;
}

store_status_t store_sessions_get(const char *socket_id, store_session_t *out) {
    bool found = false;
    store_status_t st = get_sessions(1, &socket_id, out, &found);
    return st == STORE_OK && !found ? STORE_NOT_FOUND : st;
}

/* Heartbeat and move: the session as it is now, its sets (the user's, and
 * the region it will be in) written first, then the script; after it, the
 * region it left. */
static store_status_t refresh(const char *socket_id, int64_t now_ms,
                              const store_session_ttls_t *ttl, const char *new_region, double lat,
                              double lon, store_session_t *out) {
    store_session_t cur;
    store_status_t st = store_sessions_get(socket_id, &cur);
    if (st != STORE_OK)
        return st;
    const char *region = new_region ? new_region : cur.region_id;
    entry_t e[2] = {{KEY_USER_SESSIONS, cur.user_id}, {KEY_REGION_MEMBERS, region}};
    st = write_entries(e, 2, socket_id, false, now_ms, session_expiry(now_ms, ttl));
    if (st != STORE_OK)
        return st;
    store_script_t *script = new_region ? &move_script : &heartbeat_script;
    char now[CORE_ISO8601_LEN];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, script, socket_id, now_ms, ttl, now);
    if (new_region) {
        store_args_str(&a, new_region);
        add_location(&a, lat, lon);
    }
    redisReply *r;
    st = run(script, &a, &r);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY) { /* gone since the GET */
        freeReplyObject(r);
        return STORE_NOT_FOUND;
    }
    store_session_t s;
    read_session(store_reply_at(r, 1), 0, &s);
    char old[CORE_ID_MAX + 1];
    store_reply_copy(store_reply_at(r, 0), old, sizeof old);
    freeReplyObject(r);
    if (out)
        *out = s;
    /* the session is written: a failure from here on leaves at most an
     * entry no reader shows */
    if (s.region_id[0] && strcmp(s.region_id, region) != 0) {
        entry_t moved = {KEY_REGION_MEMBERS, s.region_id}; /* by a move since the GET */
        write_entries(&moved, 1, socket_id, false, now_ms, session_expiry(now_ms, ttl));
    }
    if (old[0] && strcmp(old, s.region_id) != 0) {
        entry_t left = {KEY_REGION_MEMBERS, old};
        write_entries(&left, 1, socket_id, true, now_ms, 0);
    }
    return STORE_OK;
}

store_status_t store_sessions_heartbeat(const char *socket_id, int64_t now_ms,
                                        const store_session_ttls_t *ttl) {
    return refresh(socket_id, now_ms, ttl, NULL, 0, 0, NULL);
}

store_status_t store_sessions_move(const char *socket_id, double latitude, double longitude,
                                   const char *region_id, int64_t now_ms,
                                   const store_session_ttls_t *ttl, store_session_t *out) {
    return refresh(socket_id, now_ms, ttl, region_id, latitude, longitude, out);
}

store_status_t store_sessions_delete(const char *socket_id) {
    char now[CORE_ISO8601_LEN];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, &delete_script, socket_id, 0, NULL, now);
    redisReply *r;
    store_status_t st = run(&delete_script, &a, &r);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return STORE_NOT_FOUND;
    }
    char user[CORE_ID_MAX + 1], region[CORE_ID_MAX + 1];
    store_reply_copy(store_reply_at(r, 0), user, sizeof user);
    store_reply_copy(store_reply_at(r, 1), region, sizeof region);
    freeReplyObject(r);
    entry_t e[2] = {{KEY_USER_SESSIONS, core_id_valid(user) ? user : NULL},
                    {KEY_REGION_MEMBERS, core_id_valid(region) ? region : NULL}};
    /* the session is gone: a failure here leaves entries no reader shows */
    write_entries(e, 2, socket_id, true, 0, 0);
    return STORE_OK;
}

void store_sessions_unindex(int n, const char *const *sockets, const char *const *users,
                            const char *const *regions) {
    store_batch_t b;
    store_batch_init(&b, 2 * n);
    for (int i = 0; i < n; i++) {
        entry_t e[2] = {{KEY_USER_SESSIONS, users[i]}, {KEY_REGION_MEMBERS, regions[i]}};
        add_entries(&b, e, 2, sockets[i], true, 0, 0);
    }
    store_batch_run(&b); /* best effort: see sessions.h */
    store_batch_free(&b);
}

/* ---- listings ---- */

/* What a listing reads its sessions against: the set and its owner. */
typedef struct {
    store_key_t set; /* KEY_USER_SESSIONS or KEY_REGION_MEMBERS */
    const char *id;  /* the user or the region */
} owner_t;

/* The page reader of a listing: each session, kept when it still exists and
 * still belongs to the set's owner (a moved session leaves its region's set
 * only on the next write there). */
static store_status_t read_members(int n, const char *const *ids, void *items, bool *keep,
                                   const void *ctx) {
    const owner_t *o = ctx;
    store_session_t *s = items;
    store_status_t st = get_sessions(n, ids, s, keep);
    for (int i = 0; st == STORE_OK && i < n; i++) {
        const char *owner = o->set == KEY_USER_SESSIONS ? s[i].user_id : s[i].region_id;
        keep[i] = keep[i] && strcmp(owner, o->id) == 0;
    }
    return st;
}

/* Pages the sessions of set k of id: the entries that have not expired, in
 * socket id order, each checked against its session. The total is not
 * counted (-1): only reading every session tells the live ones apart. */
static store_status_t members(store_key_t k, const char *id, int64_t now_ms, const char *cursor,
                              int limit, store_page_t *out) {
    memset(out, 0, sizeof *out);
    char min[32];
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZRANGEBYSCORE");
    store_args_key(&a, k, id);
    int minlen = snprintf(min, sizeof min, "(%lld", (long long)now_ms);
    store_args_copy(&a, min, (size_t)minlen);
    store_args_str(&a, "+inf");
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    int n = 0;
    const char **ids =
        calloc(r->type == REDIS_REPLY_ARRAY && r->elements ? r->elements : 1, sizeof *ids);
    for (size_t i = 0; ids && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (store_reply_is_str(r->element[i]) && core_id_valid(r->element[i]->str))
            ids[n++] = r->element[i]->str;
    const owner_t owner = {k, id};
    const store_page_spec_t spec = {
        .item_size = sizeof(store_session_t), .read = read_members, .ctx = &owner};
    st = ids ? store_page_ids(&spec, n, ids, cursor, limit, -1, out) : STORE_ERROR;
    free(ids);
    freeReplyObject(r);
    return st;
}

store_status_t store_sessions_of_user(const char *user_id, int64_t now_ms, const char *cursor,
                                      int limit, store_page_t *out) {
    return members(KEY_USER_SESSIONS, user_id, now_ms, cursor, limit, out);
}

store_status_t store_sessions_in_region(const char *region_id, int64_t now_ms, const char *cursor,
                                        int limit, store_page_t *out) {
    return members(KEY_REGION_MEMBERS, region_id, now_ms, cursor, limit, out);
}
