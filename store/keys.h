/*
 * The key schema: the only place Redis key names are built. Every name is
 * KEY_PREFIX followed by the pattern below; ids are validated before they get
 * here (core_id_valid), so no id can change a key's meaning.
 *
 * Each entry ends with what bounds the key: a TTL, a cap on its length, or
 * "reaper", the cleanup pass that prunes it as what it indexes ends
 * (store/reaper.c, run every CLEANUP_INTERVAL_MS and by POST /admin/cleanup).
 * Every key the service writes has one; README's "Redis key layout" table
 * says the same in its Bound column.
 *
 *   clients                   set      ids of connected webcam clients; reaper
 *   clients:by_id             zset     same ids, score 0: lexicographic paging; reaper
 *   clients:last_seen         zset     id -> last activity (ms): the reaper's index
 *   client:{id}               hash     connected_at, last_seen, status; reaper
 *   image:{id}                hash     data (raw bytes), size, format, timestamp,
 *                                      frame_number, etag; reaper, with its client
 *   stats                     hash     total_frames, removed_inactive: two counters
 *   online_users              zset     user id -> presence expiry (ms); reaper
 *   online_users:by_id        zset     same ids, score 0: lexicographic paging; reaper
 *   presence:{userId}         hash     status, device_id, last_seen; TTL PRESENCE_TTL_S
 *
 *   session:{socketId}        string   the session as JSON; TTL SESSION_TTL_S
 *   heartbeat:{socketId}      string   last heartbeat (ISO 8601); TTL HEARTBEAT_TTL_S
 *   user:{userId}:sessions    set      the user's socket ids; TTL SESSION_TTL_S, refreshed;
 *                                      expired members: reaper
 *   region:{regionId}:members set      socket ids in a geohash-6 cell; the same
 *   sessions:expiry           zset     socket id -> session expiry (ms): the reaper's index
 *   sessions:owner            hash     socket id -> "{userId} {regionId}"; reaper
 *   rooms:active              zset     ids of live rooms, score 0: paging; reaper, last leave
 *   rooms:expiry              zset     room id -> room expiry (ms): the reaper's index
 *   room:{roomId}:participants set     user ids; TTL ROOM_TTL_S, refreshed by joins and
 *                                      messages: a room that stays quiet ends
 *   room:{roomId}:typing      zset     user id -> indicator expiry (ms); TTL of the newest;
 *                                      expired entries dropped by the next start
 *   room:{roomId}:messages    zset     message JSON by position (send ms * 1000, strictly
 *                                      increasing); newest MESSAGE_CACHE_MAX; TTL MESSAGE_TTL_S
 *   typing:{roomId}:{userId}  string   when typing started; TTL TYPING_TTL_S
 *   user:{userId}:rooms       set      the user's rooms; TTL ROOM_TTL_S, refreshed with each
 *                                      of its rooms, so it outlives them; ended rooms
 *                                      dropped by the user's next join
 *   user:{userId}:offline_messages list message JSON, newest first, OFFLINE_QUEUE_MAX;
 *                                      TTL OFFLINE_QUEUE_TTL_S
 *   user:{userId}:notifications list   notification JSON, newest first, NOTIFICATION_MAX;
 *                                      TTL NOTIFICATION_TTL_S
 *   ratelimit:messages:{userId} zset   message id -> send time (ms) within the window, at
 *                                      most RATE_LIMIT_MESSAGES; TTL RATE_LIMIT_WINDOW_S
 *   notification_queue:high   list     notification JSON for a sender process, oldest at the
 *                                      tail; newest NOTIFICATION_QUEUE_MAX;
 *                                      TTL NOTIFICATION_QUEUE_TTL_S
 *   notification_queue:normal list     the same, drained after high
 *
 * Names with an id in the middle ("user:{userId}:sessions") have a tail after
 * it; typing:{roomId}:{userId} has two ids, joined by ':'. Ids never contain
 * ':', so no two (id, id2) pairs share a name.
 */
#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include <stddef.h>

#define STORE_KEY_MAX 384 /* prefix (<= 64) + pattern + two ids (<= 128 each) fits */

typedef enum {
    KEY_CLIENTS,
    KEY_CLIENTS_BY_ID,
    KEY_CLIENTS_LAST_SEEN,
    KEY_CLIENT,
    KEY_IMAGE,
    KEY_STATS,
    KEY_ONLINE_USERS,
    KEY_ONLINE_USERS_BY_ID,
    KEY_PRESENCE,
    KEY_SESSION,
    KEY_HEARTBEAT,
    KEY_USER_SESSIONS,
    KEY_REGION_MEMBERS,
    KEY_SESSIONS_EXPIRY,
    KEY_SESSIONS_OWNER,
    KEY_ROOMS_ACTIVE,
    KEY_ROOMS_EXPIRY,
    KEY_ROOM_PARTICIPANTS,
    KEY_ROOM_TYPING,
    KEY_ROOM_MESSAGES,
    KEY_TYPING, /* two ids: room, user */
    KEY_USER_ROOMS,
    KEY_USER_OFFLINE,
    KEY_USER_NOTIFICATIONS,
    KEY_RATE_MESSAGES,
    KEY_NOTIFY_QUEUE_HIGH,
    KEY_NOTIFY_QUEUE_NORMAL,
    KEY__COUNT
} store_key_t;

/* Sets the prefix for every key; call once before any other store call. */
void store_keys_set_prefix(const char *prefix);

/* Writes the key name into out (STORE_KEY_MAX bytes) and returns its length.
 * id is used by the per-id keys and ignored by the others; passing "" to a
 * per-id key gives the name's stem ("client:"), which Lua scripts append ids to. */
size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id);

/* store_key for a two-id key (typing:{roomId}:{userId}); for any other key
 * id2 is ignored. With id or id2 NULL or "" it gives the stem, as store_key. */
size_t store_key2(char out[STORE_KEY_MAX], store_key_t k, const char *id, const char *id2);

/* For scripts that build per-id names from ids they find in Redis: writes the
 * parts of k's name before and after its (first) id, so that
 * head .. id .. tail == store_key2(k, id, id2). For a two-id key, id2 is part
 * of the tail; for a one-id key without a tail, tail is "". */
void store_key_parts(store_key_t k, const char *id2, char head[STORE_KEY_MAX],
                     char tail[STORE_KEY_MAX]);

/* Writes a SCAN MATCH pattern for every key under the prefix (the prefix with
 * the glob characters * ? [ ] \ escaped, then '*') into out; returns its
 * length. With no prefix the pattern is "*": every key in the database. */
size_t store_keys_glob(char out[STORE_KEY_MAX]);

/* The prefix set by store_keys_set_prefix ("" when none). */
const char *store_keys_prefix(void);

#endif
