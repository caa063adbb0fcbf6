/*
 * Chat rooms. A room exists while it has participants: joining adds the user
 * to the room's participants, the room to the user's index of rooms and to
 * the indexes rooms:active (paging) and rooms:expiry (the reaper's) of the
 * room's bucket. The last participant to leave removes the room entirely
 * (its sets, typing index and message cache, and its index entries) in the
 * same step. See rooms.c for how the user's index (another slot) stays true.
 *
 * A room lives ROOM_TTL_S after its last join or message: then its
 * participants set expires, every read stops showing it at once, and the
 * cleanup pass (store/reaper.c) takes it out of the indexes. Reads never
 * write.
 *
 * Who of the participants is "joined" (connected now) is not stored: it is
 * read from presence's online_users at the caller's clock, the same rule a
 * send uses to queue offline messages, so the two always agree.
 */
#ifndef STORE_ROOMS_H
#define STORE_ROOMS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/ids.h"
#include "page.h"
#include "status.h"

typedef struct {
    char id[CORE_ID_MAX + 1];
    long long participants;
    long long joined;
} store_room_t;

/* A participant of a room. */
typedef struct {
    char user_id[CORE_ID_MAX + 1];
    bool joined; /* online now (presence) */
} store_participant_t;

/* Makes user_id a participant of room_id and keeps the room alive until
 * now_ms + ttl_s; the user's rooms that ended are dropped from their set.
 * *created is false when they were a participant already (a re-join). *out
 * holds the room's counts afterwards (joined: participants online at now_ms). */
store_status_t store_rooms_join(const char *room_id, const char *user_id, int64_t now_ms, int ttl_s,
                                bool *created, store_room_t *out);

/* Removes user_id from the room (participants, typing) and the room from
 * the user's rooms; removes the room entirely when it empties.
 * STORE_NOT_FOUND when the user was not a participant. */
store_status_t store_rooms_leave(const char *room_id, const char *user_id);

/* Up to limit of the room's participants after cursor ("" or NULL: from the
 * start), in id order, each with whether they are online at now_ms: a page
 * of store_participant_t (page.h; the caller frees it with store_page_free),
 * total counting every participant. STORE_NOT_FOUND when the room has no
 * participants (it does not exist). */
store_status_t store_rooms_participants(const char *room_id, int64_t now_ms, const char *cursor,
                                        int limit, store_page_t *out);

/* Up to limit live rooms (not ended at now_ms) in id order after cursor
 * ("" = from the start), with their counts: a page of store_room_t (page.h;
 * the caller frees it with store_page_free), total counting every live room. */
store_status_t store_rooms_list(const char *cursor, int limit, int64_t now_ms, store_page_t *out);

/* Up to limit of the live rooms user_id participates in, after cursor, in
 * id order, with their counts: a page of store_room_t whose total is -1
 * (not counted: the user's index may hold entries of rooms they left or
 * that ended, which only reading each room tells). */
store_status_t store_rooms_of_user(const char *user_id, int64_t now_ms, const char *cursor,
                                   int limit, store_page_t *out);

/* For store/: writes room (ending at ends_ms) into the index of rooms of
 * each of the n users, dropping their ended entries: what a join and a
 * message do before they extend the room. One round trip. */
store_status_t store_rooms_index_users(const char *room, int n, const char *const *users,
                                       int64_t now_ms, int64_t ends_ms);

#endif
