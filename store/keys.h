/*
 * The key schema: the only place Redis key names are built. Every name is
 * KEY_PREFIX followed by the pattern below; ids are validated before they get
 * here (core_id_valid), so no id can change a key's meaning.
 *
 *   clients                   set      ids of connected webcam clients
 *   clients:by_id             zset     same ids, score 0: lexicographic paging
 *   clients:last_seen         zset     id -> last activity (ms): the reaper's index
 *   client:{id}               hash     connected_at, last_seen, status
 *   image:{id}                hash     data (raw bytes), size, format, timestamp,
 *                                      frame_number, etag
 *   stats                     hash     total_frames, removed_inactive (counters)
 *   online_users              zset     user id -> presence expiry (ms)
 *   online_users:by_id        zset     same ids, score 0: lexicographic paging
 *   presence:{userId}         hash     status, device_id, last_seen; TTL PRESENCE_TTL_S
 */
#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include <stddef.h>

#define STORE_KEY_MAX 256 /* prefix (<= 64) + pattern + id (<= 128) fits */

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
    KEY__COUNT
} store_key_t;

/* Sets the prefix for every key; call once before any other store call. */
void store_keys_set_prefix(const char *prefix);

/* Writes the key name into out (STORE_KEY_MAX bytes) and returns its length.
 * id is used by the per-id keys and ignored by the others; passing "" to a
 * per-id key gives the name's stem ("client:"), which Lua scripts append ids to. */
size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id);

#endif
