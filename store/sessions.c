/*
 * Sessions. The session itself is JSON (the format the chat and mobile
 * backends share), and it changes in place on a heartbeat or a move, so the
 * scripts own the format: they decode, change and encode it with Redis's
 * cjson, and hand C a flat array of fields, read by read_session():
 *   socket_id, user_id, region ('' when none), latitude, longitude ('' when
 *   no location), connected_at, last_activity_at, user_agent ('' when none)
 *
 * Every script that writes a session has the same KEYS and ARGV head, added
 * by add_head(); save() in the shared Lua prelude writes the session and
 * refreshes all its TTLs at once:
 *   KEYS: session:{id}, heartbeat:{id}, sessions:expiry, sessions:owner
 *   ARGV: socket id, now (ISO 8601), session expiry (ms), heartbeat expiry (ms),
 *         user-sessions head, tail, region-members head, tail, then the
 *         script's own.
 * The user and region sets are named from ids found in the session, so the
 * scripts build those names from the heads and tails in ARGV (keys.h).
 */
#include "sessions.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "script.h"

#define NFIELDS 8

#define PRELUDE                                                                                    \
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
    "  local region = opt(s.current_region_id)\n"                                                  \
    "  redis.call('SET', KEYS[1], cjson.encode(s))\n"                                              \
    "  redis.call('PEXPIREAT', KEYS[1], ARGV[3])\n"                                                \
    "  redis.call('SET', KEYS[2], ARGV[2])\n"                                                      \
    "  redis.call('PEXPIREAT', KEYS[2], ARGV[4])\n"                                                \
    "  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])\n"                                            \
    "  redis.call('HSET', KEYS[4], ARGV[1], s.user_id .. ' ' .. region)\n"                         \
    "  local uk = ARGV[5] .. s.user_id .. ARGV[6]\n"                                               \
    "  redis.call('SADD', uk, ARGV[1])\n"                                                          \
    "  redis.call('PEXPIREAT', uk, ARGV[3])\n"                                                     \
    "  if region ~= '' then\n"                                                                     \
    "    local rk = ARGV[7] .. region .. ARGV[8]\n"                                                \
    "    redis.call('SADD', rk, ARGV[1])\n"                                                        \
    "    redis.call('PEXPIREAT', rk, ARGV[3])\n"                                                   \
    "  end\n"                                                                                      \
    "end\n"

/* ARGV 9..13: user id, region, latitude, longitude, user agent. */
static store_script_t create_script = STORE_SCRIPT(
    PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
    "local s = {socket_id = ARGV[1], user_id = ARGV[9], connected_at = ARGV[2],\n"
    "           last_activity_at = ARGV[2], current_region_id = cjson.null,\n"
    "           last_location = cjson.null, user_agent = cjson.null}\n"
    "if ARGV[10] ~= '' then\n"
    "  s.current_region_id = ARGV[10]\n"
    "  s.last_location = {latitude = tonumber(ARGV[11]), longitude = tonumber(ARGV[12])}\n"
    "end\n"
    "if ARGV[13] ~= '' then s.user_agent = ARGV[13] end\n"
    "save(s)\n"
    "return fields(s)\n");

static store_script_t get_script = STORE_SCRIPT(PRELUDE
                                                "local s = load(KEYS[1])\n"
                                                "if not s then return false end\n"
                                                "return fields(s)\n");

static store_script_t heartbeat_script = STORE_SCRIPT(PRELUDE
                                                      "local s = load(KEYS[1])\n"
                                                      "if not s then return false end\n"
                                                      "s.last_activity_at = ARGV[2]\n"
                                                      "save(s)\n"
                                                      "return fields(s)\n");

/* ARGV 9..11: the new region, latitude, longitude. */
static store_script_t move_script = STORE_SCRIPT(
    PRELUDE
    "local s = load(KEYS[1])\n"
    "if not s then return false end\n"
    "local old = opt(s.current_region_id)\n"
    "if old ~= '' and old ~= ARGV[9] then\n"
    "  redis.call('SREM', ARGV[7] .. old .. ARGV[8], ARGV[1])\n"
    "end\n"
    "s.current_region_id = ARGV[9]\n"
    "s.last_location = {latitude = tonumber(ARGV[10]), longitude = tonumber(ARGV[11])}\n"
    "s.last_activity_at = ARGV[2]\n"
    "save(s)\n"
    "return fields(s)\n");

static store_script_t delete_script = STORE_SCRIPT(
    PRELUDE
    "local s = load(KEYS[1])\n"
    "if not s then return 0 end\n"
    "local region = opt(s.current_region_id)\n"
    "redis.call('SREM', ARGV[5] .. s.user_id .. ARGV[6], ARGV[1])\n"
    "if region ~= '' then redis.call('SREM', ARGV[7] .. region .. ARGV[8], ARGV[1]) end\n"
    "redis.call('DEL', KEYS[1], KEYS[2])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('HDEL', KEYS[4], ARGV[1])\n"
    "return 1\n");

/* KEYS: a user's or a region's set. ARGV: session head, the session field
 * that must equal ARGV[3] for the member to belong there. Members whose
 * session is gone (or moved elsewhere) are skipped; a listing only reads, and
 * the cleanup pass prunes them. */
static store_script_t members_script =
    STORE_SCRIPT(PRELUDE
                 "local ids = redis.call('SMEMBERS', KEYS[1])\n"
                 "table.sort(ids)\n"
                 "local out = {}\n"
                 "for _, id in ipairs(ids) do\n"
                 "  local s = load(ARGV[1] .. id)\n"
                 "  if s and s[ARGV[2]] == ARGV[3] then\n"
                 "    for _, f in ipairs(fields(s)) do out[#out + 1] = f end\n"
                 "  end\n"
                 "end\n"
                 "return out\n");

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

/* The KEYS and ARGV head every writing script shares (see the top comment). */
static void add_head(store_args_t *a, const char *socket_id, int64_t now_ms,
                     const store_session_ttls_t *ttl, char parts[4][STORE_KEY_MAX],
                     char now[CORE_ISO8601_LEN]) {
    core_iso8601(now_ms, now);
    store_key_parts(KEY_USER_SESSIONS, NULL, parts[0], parts[1]);
    store_key_parts(KEY_REGION_MEMBERS, NULL, parts[2], parts[3]);
    store_args_key(a, KEY_SESSION, socket_id);
    store_args_key(a, KEY_HEARTBEAT, socket_id);
    store_args_key(a, KEY_SESSIONS_EXPIRY, NULL);
    store_args_key(a, KEY_SESSIONS_OWNER, NULL);
    store_args_str(a, socket_id);
    store_args_str(a, now);
    store_args_int(a, now_ms + (int64_t)(ttl ? ttl->session_ttl_s : 0) * 1000);
    store_args_int(a, now_ms + (int64_t)(ttl ? ttl->heartbeat_ttl_s : 0) * 1000);
    for (int i = 0; i < 4; i++)
        store_args_str(a, parts[i]);
}

/* Runs a script that answers one session (or nil) and frees the args. */
static store_status_t eval_session(store_script_t *s, int nkeys, store_args_t *a,
                                   store_status_t if_nil, store_session_t *out) {
    redisReply *r;
    store_status_t st = store_eval_found(s, nkeys, a, if_nil, &r);
    if (st != STORE_OK)
        return st;
    if (out)
        read_session(r, 0, out);
    freeReplyObject(r);
    return STORE_OK;
}

static void add_location(store_args_t *a, char buf[2][40], double lat, double lon) {
    snprintf(buf[0], 40, "%.17g", lat);
    snprintf(buf[1], 40, "%.17g", lon);
    store_args_str(a, buf[0]);
    store_args_str(a, buf[1]);
}

store_status_t store_sessions_create(const store_session_t *in, int64_t now_ms,
                                     const store_session_ttls_t *ttl, store_session_t *out) {
    char parts[4][STORE_KEY_MAX], now[CORE_ISO8601_LEN], loc[2][40];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, in->socket_id, now_ms, ttl, parts, now);
    store_args_str(&a, in->user_id);
    store_args_str(&a, in->has_location ? in->region_id : "");
    add_location(&a, loc, in->latitude, in->longitude);
    store_args_str(&a, in->user_agent);
    return eval_session(&create_script, 4, &a, STORE_CONFLICT, out);
}

store_status_t store_sessions_get(const char *socket_id, store_session_t *out) {
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_SESSION, socket_id);
    return eval_session(&get_script, 1, &a, STORE_NOT_FOUND, out);
}

store_status_t store_sessions_heartbeat(const char *socket_id, int64_t now_ms,
                                        const store_session_ttls_t *ttl) {
    char parts[4][STORE_KEY_MAX], now[CORE_ISO8601_LEN];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, socket_id, now_ms, ttl, parts, now);
    return eval_session(&heartbeat_script, 4, &a, STORE_NOT_FOUND, NULL);
}

store_status_t store_sessions_move(const char *socket_id, double latitude, double longitude,
                                   const char *region_id, int64_t now_ms,
                                   const store_session_ttls_t *ttl, store_session_t *out) {
    char parts[4][STORE_KEY_MAX], now[CORE_ISO8601_LEN], loc[2][40];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, socket_id, now_ms, ttl, parts, now);
    store_args_str(&a, region_id);
    add_location(&a, loc, latitude, longitude);
    return eval_session(&move_script, 4, &a, STORE_NOT_FOUND, out);
}

store_status_t store_sessions_delete(const char *socket_id) {
    char parts[4][STORE_KEY_MAX], now[CORE_ISO8601_LEN];
    store_args_t a;
    store_args_init(&a);
    add_head(&a, socket_id, 0, NULL, parts, now);
    return store_eval_count(&delete_script, 4, &a, 1, STORE_NOT_FOUND);
}

/* Lists the sessions in set k of id whose field equals id. */
static store_status_t members(store_key_t k, const char *id, const char *field,
                              store_session_list_t *out) {
    char stem[STORE_KEY_MAX];
    store_key(stem, KEY_SESSION, "");
    memset(out, 0, sizeof *out);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, k, id);
    store_args_str(&a, stem);
    store_args_str(&a, field);
    store_args_str(&a, id);
    redisReply *r;
    store_status_t st = store_eval(&members_script, 1, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / NFIELDS : 0;
    out->items = n ? calloc(n, sizeof *out->items) : NULL;
    if (n && !out->items) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    for (size_t i = 0; i < n; i++)
        read_session(r, i * NFIELDS, &out->items[i]);
    out->n = (int)n;
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_sessions_of_user(const char *user_id, store_session_list_t *out) {
    return members(KEY_USER_SESSIONS, user_id, "user_id", out);
}

store_status_t store_sessions_in_region(const char *region_id, store_session_list_t *out) {
    return members(KEY_REGION_MEMBERS, region_id, "current_region_id", out);
}

void store_session_list_free(store_session_list_t *l) {
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
