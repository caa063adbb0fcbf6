/*
 * The reaper: removes webcam clients that were silent for longer than the
 * client timeout, with their metadata and frame, and prunes expired entries
 * from the presence index, expired sessions from their user's and region's
 * sets, and rooms that ended (ROOM_TTL_S with no join or message) from
 * rooms:active. A pass costs in proportion to what expired, not to how many
 * clients exist: it reads only the expired end of the clients:last_seen,
 * online_users, sessions:expiry and rooms:expiry sorted sets. It is the only
 * place, besides the write paths, where those indexes shrink: reads never
 * prune.
 *
 * Several service instances may share one Redis: each expired client is
 * removed and counted by exactly one of them, because the check and the
 * removal are one script.
 */
#ifndef STORE_REAPER_H
#define STORE_REAPER_H

#include <stdint.h>

#include "status.h"

typedef struct {
    long long clients_removed;
    long long presence_pruned;
    long long sessions_pruned; /* expired sessions taken out of their sets */
    long long rooms_pruned;    /* ended rooms taken out of rooms:active */
    long long typing_pruned;   /* typing:expiry entries looked at */
} store_reap_result_t;

/* One pass: clients last seen at or before now_ms - client_timeout_ms. Its
 * rounds run back to back (the background thread's pause between rounds
 * while much has expired, so that requests keep their latency). */
store_status_t store_reaper_pass(int64_t now_ms, int client_timeout_ms, store_reap_result_t *out);

/* Starts a background thread running a pass every interval_ms. */
int store_reaper_start(int interval_ms, int client_timeout_ms);

/* Stops and joins it (no-op when not started). */
void store_reaper_stop(void);

#endif
