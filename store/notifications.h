/*
 * Notifications for users. Each one is kept in the user's list (newest
 * first, trimmed) and pushed on the queue of its priority (high or normal;
 * each queue is one list per bucket, the user's bucket's taking it) in the
 * same step; a sender process pops from the queues (high first), oldest
 * first within each bucket's queue, the buckets served in turn, and each
 * notification is popped once however many senders pop at the same moment.
 * Both the list and the queue are bounded: each keeps its newest entries up
 * to a cap (the oldest go first) and has a TTL that each push renews, so a
 * queue nobody pops, or a user nobody reads, costs a fixed amount of memory.
 */
#ifndef STORE_NOTIFICATIONS_H
#define STORE_NOTIFICATIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "status.h"

#define STORE_TITLE_MAX 256 /* bytes */
#define STORE_BODY_MAX 4096 /* bytes */

typedef struct {
    char id[CORE_ID_MAX + 1]; /* first: store_page_start reads it */
    char user_id[CORE_ID_MAX + 1];
    char title[STORE_TITLE_MAX + 1];
    char *body;       /* NUL-terminated; owned by the list it is in (borrowed on create) */
    char priority[8]; /* "high" or "normal" */
    char created_at[CORE_ISO8601_LEN];
} store_notification_t;

/* A page of notifications (the shape of store_page_t, with notifications
 * that own their bodies). */
typedef struct {
    long long total; /* the user's whole list; for a pop, what was queued when it began */
    int n;
    store_notification_t *items;       /* owned, with their bodies: store_notification_list_free */
    char next_cursor[CORE_ID_MAX + 1]; /* the last one's id when more follow, else "" */
} store_notification_list_t;

/* The bounds a create applies (from the configuration). */
typedef struct {
    int list_max;    /* newest notifications kept per user */
    int list_ttl_s;  /* how long a user's list lives after its last notification */
    int queue_max;   /* newest notifications kept per priority queue, in each bucket */
    int queue_ttl_s; /* how long a queue lives after its last push */
} store_notification_limits_t;

/* Stores n (every field set; priority "high" or "normal") in the user's list
 * and queues it on its priority's queue, each trimmed to its newest entries
 * and given its TTL by lim. */
store_status_t store_notifications_create(const store_notification_t *n,
                                          const store_notification_limits_t *lim);

/* Up to limit of user_id's notifications, newest first, after the one whose
 * id is cursor (NULL or "": from the newest; an id no longer listed was
 * trimmed with every older one: an empty page). total is the length of the
 * whole list. */
store_status_t store_notifications_of_user(const char *user_id, const char *cursor, int limit,
                                           store_notification_list_t *out);

/* Takes up to count notifications off the queue of priority ("high" or
 * "normal"), or off high and then normal when priority is NULL: from each
 * bucket's queue the oldest first, the buckets in turn (each pop starts at
 * the next); answered high first, each priority oldest first by created_at.
 * total is how many the queues popped from held when the pop began. */
store_status_t store_notifications_pop(const char *priority, int count,
                                       store_notification_list_t *out);

void store_notification_list_free(store_notification_list_t *l);

#endif
