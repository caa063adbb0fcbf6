/*
 * Who is online. A user is online for PRESENCE_TTL_S after their last PUT:
 * their presence hash really expires then, and the online_users index of
 * their bucket (scored by expiry time) is filtered by the clock on every
 * read, so an expired user is never listed or counted even before the
 * reaper prunes it. The same rule (store_presence_online: expiry after now)
 * says who of a room's participants is joined and whom a message is queued
 * for.
 */
#ifndef STORE_PRESENCE_H
#define STORE_PRESENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "page.h"
#include "status.h"

typedef struct {
    char id[CORE_ID_MAX + 1];
    char status[16];
    char device_id[CORE_ID_MAX + 1]; /* "" when none was given */
    char last_seen[CORE_ISO8601_LEN];
    int64_t expires_at_ms;
} store_presence_t;

/* Marks id online with status until now + ttl_s. device_id NULL keeps the
 * one given before. *out is the entry afterwards. */
store_status_t store_presence_set(const char *id, const char *status, const char *device_id,
                                  int64_t now_ms, int ttl_s, store_presence_t *out);

/* Marks id offline (a no-op when it was not online): they also lose the
 * typing indicator of each of their rooms, and stay a participant. */
store_status_t store_presence_clear(const char *id);

/* STORE_NOT_FOUND when id is not online. */
store_status_t store_presence_get(const char *id, int64_t now_ms, store_presence_t *out);

/* Up to limit online users in id order after cursor ("" = from the start):
 * a page of store_presence_t (page.h; the caller frees it with
 * store_page_free), total counting every online user. */
store_status_t store_presence_list(const char *cursor, int limit, int64_t now_ms,
                                   store_page_t *out);

/* For each of n user ids, online[i]: is their expiry after now_ms? One
 * round trip, one command per bucket the ids are in. */
store_status_t store_presence_online(int n, const char *const *ids, int64_t now_ms, bool *online);

#endif
