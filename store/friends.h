/*
 * Friends: a cache of each user's friends list, as the mobile chat seed keeps
 * it (friends:{b}:<userId>, a set in the user's bucket, TTL FRIENDS_TTL_S).
 * The app PUTs the whole list (it replaces the set and starts the TTL
 * again); the stream's friends:<userId> topic carries the presence of the
 * users in it (api/events.c), and a change of the list is an event
 * (friends.changed, with the new list) so subscribers follow it at once.
 */
#ifndef STORE_FRIENDS_H
#define STORE_FRIENDS_H

#include <stdint.h>

#include "../core/ids.h"
#include "status.h"

/* Friends one user may have. */
#define STORE_FRIENDS_MAX 1000

typedef struct {
    int n;
    char (*ids)[CORE_ID_MAX + 1]; /* owned, in id order: store_friends_free */
    int64_t expires_at_ms;        /* 0 when the list is not there */
} store_friends_t;

/* Replaces user_id's friends with the n ids (valid ids, no duplicates, n <=
 * STORE_FRIENDS_MAX; n == 0 empties the list), kept ttl_s from now. */
store_status_t store_friends_set(const char *user_id, int n, const char *const *ids, int64_t now_ms,
                                 int ttl_s);

/* The user's friends (none, expires_at_ms 0, when there is no list). */
store_status_t store_friends_get(const char *user_id, store_friends_t *out);

void store_friends_free(store_friends_t *f);

#endif
