/*
 * Webcam clients: who is connected, since when, and when last heard from.
 * Creating, refreshing and deleting a client are each one Lua script
 * (atomic, one round trip); a read is one HMGET. See keys.h for the keys
 * involved.
 */
#ifndef STORE_CLIENTS_H
#define STORE_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "page.h"
#include "status.h"

typedef struct {
    char id[CORE_ID_MAX + 1];
    char status[16];
    char connected_at[CORE_ISO8601_LEN];
    char last_seen[CORE_ISO8601_LEN];
    bool has_image;
    long long frame_number; /* 0 when no frame yet */
} store_client_t;

/* Registers client id, or refreshes last_seen when it exists (a reconnect).
 * With create_only an existing id gives STORE_CONFLICT and changes nothing.
 * *created tells which happened; *out is the client afterwards. */
store_status_t store_clients_connect(const char *id, bool create_only, int64_t now_ms,
                                     store_client_t *out, bool *created);

/* STORE_NOT_FOUND when there is no such client. */
store_status_t store_clients_get(const char *id, store_client_t *out);

/* Refreshes last_seen; STORE_NOT_FOUND for an unknown client. */
store_status_t store_clients_heartbeat(const char *id, int64_t now_ms);

/* Removes the client, its metadata and its frame at once; STORE_NOT_FOUND
 * when there was nothing to remove. */
store_status_t store_clients_delete(const char *id);

/* Up to limit clients in id order after cursor ("" = from the start): a
 * page of store_client_t (page.h; the caller frees it with store_page_free),
 * total counting every client. */
store_status_t store_clients_list(const char *cursor, int limit, store_page_t *out);

#endif
