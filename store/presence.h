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

/* Devices a user may be online on at once (a new one beyond: the one that
 * expires first goes). */
#define STORE_PRESENCE_MAX_DEVICES 16

typedef struct {
    char device_id[CORE_ID_MAX + 1];
    char status[16];
    char last_seen[CORE_ISO8601_LEN];
    int64_t expires_at_ms;
} store_device_t;

typedef struct {
    int n;
    store_device_t items[STORE_PRESENCE_MAX_DEVICES]; /* in device id order */
} store_device_list_t;

/* Marks id online on a device with status until now + ttl_s (the device
 * named, or without one the device of the last PUT that named one, else
 * "default"); the user is online while any device is. *out is the user's
 * entry afterwards (device_id: the last device named, "" if none). */
store_status_t store_presence_set(const char *id, const char *status, const char *device_id,
                                  int64_t now_ms, int ttl_s, store_presence_t *out);

/* Marks id offline on every device (a no-op when it was not online): they
 * also lose the typing indicator of each of their rooms, and stay a
 * participant. */
store_status_t store_presence_clear(const char *id);

/* Takes id offline on one device; STORE_NOT_FOUND when they are not online
 * on it. Their other devices keep them online; with none left they are
 * offline (as store_presence_clear). */
store_status_t store_presence_clear_device(const char *id, const char *device_id);

/* The user's entry and their devices online at now_ms; STORE_NOT_FOUND
 * (with no devices) when they are offline. */
store_status_t store_presence_devices(const char *id, int64_t now_ms, store_presence_t *out,
                                      store_device_list_t *devices);

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
