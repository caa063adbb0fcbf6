/*
 * Sessions of a location-aware mobile backend: one per socket, owned by a
 * user, in the region (a geohash cell) of its last location. A session is
 * its JSON and its heartbeat, its entries in its bucket's cleanup index
 * (sessions:expiry, sessions:owner), and its entries in the user's and the
 * region's sets, which are in other buckets; see keys.h, and sessions.c for
 * the order of writes that keeps those consistent without a transaction.
 * Every TTL is refreshed on create, heartbeat and move.
 *
 * An expired session is never listed: listings check each member's session
 * key and skip members whose session is gone, without writing; the cleanup
 * pass (store/reaper.c) takes them out of the sets.
 */
#ifndef STORE_SESSIONS_H
#define STORE_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/geohash.h"
#include "../core/ids.h"
#include "../core/timefmt.h"
#include "page.h"
#include "status.h"

#define STORE_USER_AGENT_MAX 512

typedef struct {
    char socket_id[CORE_ID_MAX + 1];
    char user_id[CORE_ID_MAX + 1];
    char region_id[CORE_GEOHASH_MAX + 1]; /* "" when the session has no location */
    bool has_location;
    double latitude, longitude;
    char connected_at[CORE_ISO8601_LEN];
    char last_activity_at[CORE_ISO8601_LEN];
    char user_agent[STORE_USER_AGENT_MAX + 1]; /* "" when none was given */
} store_session_t;

/* How long a session and its heartbeat live after each sign of activity. */
typedef struct {
    int session_ttl_s;
    int heartbeat_ttl_s;
} store_session_ttls_t;

/* Creates the session in (socket_id, user_id, region_id and location,
 * user_agent; the times are set to now). STORE_CONFLICT when the socket id is
 * taken, and nothing changes. *out is the session as stored. */
store_status_t store_sessions_create(const store_session_t *in, int64_t now_ms,
                                     const store_session_ttls_t *ttl, store_session_t *out);

/* STORE_NOT_FOUND when there is no such (unexpired) session. */
store_status_t store_sessions_get(const char *socket_id, store_session_t *out);

/* Records a heartbeat: last_activity_at becomes now and every TTL of the
 * session starts again. STORE_NOT_FOUND for an unknown session. */
store_status_t store_sessions_heartbeat(const char *socket_id, int64_t now_ms,
                                        const store_session_ttls_t *ttl);

/* Moves the session to a new location and region (leaving its old region's
 * set in the same step); counts as activity, like a heartbeat. *out is the
 * session afterwards. STORE_NOT_FOUND for an unknown session. */
store_status_t store_sessions_move(const char *socket_id, double latitude, double longitude,
                                   const char *region_id, int64_t now_ms,
                                   const store_session_ttls_t *ttl, store_session_t *out);

/* Removes the session everywhere. STORE_NOT_FOUND when there was none. */
store_status_t store_sessions_delete(const char *socket_id);

/* Up to limit of the user's live sessions after cursor ("" or NULL: from
 * the start), in socket id order: a page of store_session_t (page.h; the
 * caller frees it with store_page_free) whose total is -1 (not counted:
 * the user's set may hold entries of sessions that ended, which only
 * reading each session tells). */
store_status_t store_sessions_of_user(const char *user_id, int64_t now_ms, const char *cursor,
                                      int limit, store_page_t *out);

/* The same for the live sessions in a region (a session that moved away is
 * not listed). */
store_status_t store_sessions_in_region(const char *region_id, int64_t now_ms, const char *cursor,
                                        int limit, store_page_t *out);

/* Takes each of n sessions (sockets[i]) out of its user's and region's sets
 * (users[i], regions[i]; either may be NULL or ""), in one round trip: the
 * reaper's last step for sessions it pruned. Best effort: what it leaves, no
 * reader shows and the sets' own expiry ends. */
void store_sessions_unindex(int n, const char *const *sockets, const char *const *users,
                            const char *const *regions);

#endif
