/*
 * The key schema: the only place Redis key names are built (and read back).
 * Every name is
 *
 *     KEY_PREFIX <name> ":{" <tag> "}" [ ":" <id> [ ":" <id2> ] ] [ <tail> ]
 *
 * where <tag> is the hash tag of one of STORE_BUCKETS buckets. The bucket of
 * an id is crc16(id) & 15 (CRC16-XMODEM, Redis Cluster's), and each bucket's
 * tag is fixed (bucket_tags in keys.c) so that its cluster slot lies in the
 * middle of the bucket's sixteenth of the slot space: bucket 7 is "07sd",
 * slot 7668, in [7168, 8192). A per-entity key takes the bucket of its (first)
 * id; an index is one key per bucket, and bucket b of an index holds exactly
 * the entities of bucket b. So an entity, its index entries and its bucket's
 * counters share one slot, and a script that changes them together is atomic
 * in a Redis Cluster too. Ids are validated before they get here
 * (core_id_valid: no ':', '{' or '}'), and KEY_PREFIX may not hold '{' or '}'
 * (core/config.c), so the text of a key from its first '{' on says which
 * shape it is; store_key_parse reads it back.
 *
 * Each entry ends with what bounds the key: a TTL, a cap on its length, or
 * "reaper", the cleanup pass that prunes it as what it indexes ends
 * (store/reaper.c, run every CLEANUP_INTERVAL_MS and by POST /admin/cleanup).
 * README's "Redis key layout" table says the same in its Bound column.
 * {b} is the bucket tag, of the id that follows it (or, for an index, of
 * the ids in it).
 *
 *   clients:{b}               zset  client ids, score 0: paging in id order, counting; reaper
 *   clients:last_seen:{b}     zset  client id -> last activity (ms): the client's last_seen,
 *                                   the reaper's index
 *   client:{b}:<id>           hash  connected_at, status, frame_number (a copy of the
 *                                   frame's); reaper
 *   image:{b}:<id>            hash  data (raw bytes), size, format, timestamp,
 *                                   frame_number, etag; reaper, with its client
 *   upload:{b}:<id>:<random>  hash  a frame on its way in: the bytes, size, format and
 *                                   time, written by a plain HSET and RENAMEd over
 *                                   image:{b}:<id> by the script right behind it in
 *                                   the same round trip (store/images.c); TTL
 *                                   UPLOAD_TTL_MS, 120 s, for one whose script never ran
 *   stats:{b}                 hash  total_frames, removed_inactive: the bucket's counters
 *   online_users:{b}          zset  user id -> presence expiry (ms); reaper
 *   online_users:by_id:{b}    zset  same ids, score 0: paging; reaper
 *   presence:{b}:<userId>     hash  status, device_id, last_seen, expires_at (ms);
 *                                   TTL PRESENCE_TTL_S
 *
 *   session:{b}:<socketId>    string the session as JSON; TTL SESSION_TTL_S
 *   heartbeat:{b}:<socketId>  string last heartbeat (ISO 8601); TTL HEARTBEAT_TTL_S
 *   user:{b}:<userId>:sessions zset socket id -> session expiry (ms); TTL of the
 *                                   newest; expired entries dropped by each write
 *                                   and by the reaper
 *   region:{b}:<regionId>:members zset the same, for the sessions in a geohash-6 cell
 *   sessions:expiry:{b}       zset  socket id -> session expiry (ms): the reaper's index
 *   sessions:owner:{b}        hash  socket id -> "<userId> <regionId>"; reaper
 *   rooms:active:{b}          zset  ids of live rooms, score 0: paging; reaper, last leave
 *   rooms:expiry:{b}          zset  room id -> room end (ms): the reaper's index
 *   room:{b}:<roomId>:participants set user ids; TTL ROOM_TTL_S, refreshed by joins
 *                                   and messages: a room that stays quiet ends
 *   room:{b}:<roomId>:typing  zset  user id -> indicator expiry (ms); TTL of the newest
 *   room:{b}:<roomId>:messages zset message JSON by position; newest MESSAGE_CACHE_MAX;
 *                                   TTL MESSAGE_TTL_S
 *   typing:{b}:<roomId>:<userId> string when typing started; TTL TYPING_TTL_S (room's bucket)
 *   user:{b}:<userId>:rooms   zset  room id -> room end (ms); TTL of the newest;
 *                                   expired entries dropped by each join
 *   user:{b}:<userId>:offline_messages list message JSON, newest first,
 *                                   OFFLINE_QUEUE_MAX; TTL OFFLINE_QUEUE_TTL_S
 *   user:{b}:<userId>:notifications list notification JSON, newest first,
 *                                   NOTIFICATION_MAX; TTL NOTIFICATION_TTL_S
 *   ratelimit:messages:{b}:<userId> zset the random part of each message id -> send time (ms)
 *                                   within the window; at most RATE_LIMIT_MESSAGES; TTL
 *                                   RATE_LIMIT_WINDOW_S
 *   notification_queue:high:{b} list notification JSON of the users of bucket b,
 *                                   oldest at the tail; NOTIFICATION_QUEUE_MAX;
 *                                   TTL NOTIFICATION_QUEUE_TTL_S
 *   notification_queue:normal:{b} list the same, popped after high
 *   metrics:exporter:{b}      string the id of the instance that exports the
 *                                   Redis-wide metrics (bucket 0's key only);
 *                                   TTL METRICS_LEASE_MS, renewed by its holder
 *
 *   events:{b}                stream the bucket's events (store/events.h), appended by
 *                                   the scripts that make the changes; MAXLEN ~
 *                                   EVENTS_RETAIN_PER_BUCKET
 *   typing:expiry:{b}         zset  "<roomId> <userId>" -> indicator expiry (ms), in the
 *                                   room's bucket: the reaper's index, for typing.stopped
 *                                   on expiry; reaper
 *   friends:{b}:<userId>      set   the user's friends' ids; TTL FRIENDS_TTL_S, set by
 *                                   each PUT of the whole list; at most FRIENDS_MAX
 *
 * The names before this layout (one global key per index, no tags) are the
 * legacy names at the end of this header, which only the migration
 * (store/migrate.c, rtstate --migrate-keys) reads:
 *   clients (set), clients:by_id, clients:last_seen (zsets), client:<id>,
 *   image:<id>, stats (hashes), online_users, online_users:by_id (zsets),
 *   presence:<id> (hash), session:<id>, heartbeat:<id> (strings),
 *   user:<id>:sessions, region:<id>:members (sets), sessions:expiry (zset),
 *   sessions:owner (hash), rooms:active, rooms:expiry (zsets),
 *   room:<id>:participants (set), room:<id>:typing, room:<id>:messages (zsets),
 *   typing:<room>:<user> (string), user:<id>:rooms (set),
 *   user:<id>:offline_messages, user:<id>:notifications (lists),
 *   ratelimit:messages:<id> (zset), notification_queue:high,
 *   notification_queue:normal (lists).
 */
#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/ids.h"

#define STORE_BUCKETS 16
/* prefix (<= 64) + name + ":{tag}" + two ids (<= 128 each) + the longest tail fits */
#define STORE_KEY_MAX 400

typedef enum {
    KEY_CLIENTS,
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
    KEY_TYPING, /* two ids: room, user; the room's bucket */
    KEY_USER_ROOMS,
    KEY_USER_OFFLINE,
    KEY_USER_NOTIFICATIONS,
    KEY_RATE_MESSAGES,
    KEY_NOTIFY_QUEUE_HIGH,
    KEY_NOTIFY_QUEUE_NORMAL,
    KEY_EVENTS,           /* the bucket's event stream (store/events.h) */
    KEY_TYPING_EXPIRY,    /* "<room> <user>" -> indicator expiry (ms): the reaper's index */
    KEY_FRIENDS,          /* a user's friends (set) */
    KEY_METRICS_EXPORTER, /* bucket 0's only: the lease of the instance that exports
                           * the Redis-wide metrics (store/lease.h) */
    KEY_UPLOAD,           /* two ids: client, random; a frame on its way in */
    KEY__COUNT
} store_key_t;

/* Sets the prefix for every key; call once before any other store call.
 * The caller has checked it (at most 64 bytes, no '{' or '}'). */
void store_keys_set_prefix(const char *prefix);

/* The prefix set by store_keys_set_prefix ("" when none). */
const char *store_keys_prefix(void);

/* The bucket (0 .. STORE_BUCKETS - 1) of an id: crc16(id) & 15. */
int store_key_bucket(const char *id);

/* Bucket b's hash tag (static, 4 characters, without the braces). */
const char *store_bucket_tag(int b);

/* How many ids k's name holds: 0 for an index (one key per bucket), 1 or 2. */
int store_key_ids(store_key_t k);

/* Writes k's name into out (STORE_KEY_MAX bytes) and returns its length.
 * For a per-entity key, the name of id's key (in id's bucket); for an index,
 * the key of id's bucket, the one id belongs in (id itself not part of the
 * name). id must be a valid id. */
size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id);

/* store_key for the two-id key (typing: room, user; in the room's bucket);
 * for any other key id2 is ignored. */
size_t store_key2(char out[STORE_KEY_MAX], store_key_t k, const char *id, const char *id2);

/* The name of index k's key for bucket b (0 .. STORE_BUCKETS - 1). */
size_t store_key_index(char out[STORE_KEY_MAX], store_key_t k, int b);

/* For a script that builds per-id names, inside bucket b, from ids it finds
 * in Redis: writes the parts of k's name before and after its (first) id, so
 * that head .. id .. tail == store_key2(k, id, id2) for every id of bucket b.
 * For the two-id key, ":" id2 is part of the tail. */
void store_key_parts(store_key_t k, int b, const char *id2, char head[STORE_KEY_MAX],
                     char tail[STORE_KEY_MAX]);

/* What store_key_parse found: the shape, the bucket, the ids ("" when the
 * shape has fewer). */
typedef struct {
    store_key_t kind;
    int bucket;
    char id[CORE_ID_MAX + 1];
    char id2[CORE_ID_MAX + 1];
} store_key_parsed_t;

/* True when the len bytes at key are exactly a name store_key, store_key2
 * or store_key_index gives under the current prefix: the prefix, one of the
 * shapes above, a bucket's tag, valid ids of that bucket, the shape's tail
 * and nothing more. Fills *out when it is. */
bool store_key_parse(const char *key, size_t len, store_key_parsed_t *out);

/* Writes a SCAN MATCH pattern for every key under the prefix (the prefix with
 * the glob characters * ? [ ] \ escaped, then '*') into out; returns its
 * length. With no prefix the pattern is "*": every key in the database. */
size_t store_keys_glob(char out[STORE_KEY_MAX]);

/* ---- the legacy names, for the migration only (store/migrate.c) ---- */

typedef enum {
    LEGACY_CLIENTS, /* set */
    LEGACY_CLIENTS_BY_ID,
    LEGACY_CLIENTS_LAST_SEEN,
    LEGACY_CLIENT,
    LEGACY_IMAGE,
    LEGACY_STATS,
    LEGACY_ONLINE_USERS,
    LEGACY_ONLINE_USERS_BY_ID,
    LEGACY_PRESENCE,
    LEGACY_SESSION,
    LEGACY_HEARTBEAT,
    LEGACY_USER_SESSIONS,  /* set */
    LEGACY_REGION_MEMBERS, /* set */
    LEGACY_SESSIONS_EXPIRY,
    LEGACY_SESSIONS_OWNER,
    LEGACY_ROOMS_ACTIVE,
    LEGACY_ROOMS_EXPIRY,
    LEGACY_ROOM_PARTICIPANTS,
    LEGACY_ROOM_TYPING,
    LEGACY_ROOM_MESSAGES,
    LEGACY_TYPING,
    LEGACY_USER_ROOMS, /* set */
    LEGACY_USER_OFFLINE,
    LEGACY_USER_NOTIFICATIONS,
    LEGACY_RATE_MESSAGES,
    LEGACY_NOTIFY_QUEUE_HIGH,
    LEGACY_NOTIFY_QUEUE_NORMAL,
    LEGACY__COUNT
} store_legacy_key_t;

/* The legacy name of k (ids as for store_key2; ignored by the global ones). */
size_t store_legacy_key(char out[STORE_KEY_MAX], store_legacy_key_t k, const char *id,
                        const char *id2);

/* The key in today's layout that legacy key k's content goes to (for a
 * global index: each member goes to the index of its own bucket). */
store_key_t store_legacy_successor(store_legacy_key_t k);

/* True when key is exactly a legacy name under the current prefix; *kind and
 * the ids (out->kind is the successor, out->bucket the first id's bucket, or
 * -1 for a global key) are filled. */
bool store_legacy_parse(const char *key, size_t len, store_legacy_key_t *kind,
                        store_key_parsed_t *out);

#endif
