/*
 * Chat rooms. A room exists while it has participants: joining adds the user
 * to room:{roomId}:participants, room:{roomId}:joined (connected now) and
 * user:{userId}:rooms, and the room to rooms:active; the last participant to
 * leave removes the room entirely (its sets, typing index and message cache,
 * and its rooms:active entry) in the same step. A user who goes offline
 * leaves the joined sets but stays a participant (store/presence.c).
 */
#ifndef STORE_ROOMS_H
#define STORE_ROOMS_H

#include <stdbool.h>

#include "../core/ids.h"
#include "status.h"

typedef struct {
    char id[CORE_ID_MAX + 1];
    long long participants;
    long long joined;
} store_room_t;

typedef struct {
    long long total;                   /* every active room, not just this page */
    int n;                             /* entries in items */
    store_room_t *items;               /* owned: store_room_page_free */
    char next_cursor[CORE_ID_MAX + 1]; /* "" on the last page */
} store_room_page_t;

/* A list of ids, in id order. */
typedef struct {
    int n;
    char (*ids)[CORE_ID_MAX + 1]; /* owned: store_id_list_free */
} store_id_list_t;

/* Makes user_id a participant of room_id and marks them joined. *created is
 * false when they were a participant already (a re-join). *out holds the
 * room's counts afterwards. */
store_status_t store_rooms_join(const char *room_id, const char *user_id, bool *created,
                                store_room_t *out);

/* Removes user_id from the room (participants, joined, typing) and the room
 * from the user's rooms; removes the room entirely when it empties.
 * STORE_NOT_FOUND when the user was not a participant. */
store_status_t store_rooms_leave(const char *room_id, const char *user_id);

/* The room's participants and the joined ones among them. STORE_NOT_FOUND
 * when the room has no participants (it does not exist). */
store_status_t store_rooms_participants(const char *room_id, store_id_list_t *participants,
                                        store_id_list_t *joined);

/* Up to limit active rooms in id order after cursor ("" = from the start),
 * with their counts. */
store_status_t store_rooms_list(const char *cursor, int limit, store_room_page_t *out);

/* The rooms user_id participates in. */
store_status_t store_rooms_of_user(const char *user_id, store_id_list_t *out);

void store_room_page_free(store_room_page_t *p);
void store_id_list_free(store_id_list_t *l);

#endif
