/*
 * Chat messages: each room's recent-message cache, each user's offline queue,
 * and the per-sender rate limit on sending. Sending checks the membership
 * and the sliding-window rate limit, inserts into the cache with its trim
 * and TTL, gives the room its new lifetime (ROOM_TTL_S from now), and queues
 * a copy for every participant who is not online; those live in several
 * buckets, and messages.c says in which order they are written so that a
 * send that is refused stores nothing and a send that fails half-way shows
 * nothing half-done. Reading a queue never changes it; taking it
 * (store_messages_offline_take) is the one operation that takes from it.
 */
#ifndef STORE_MESSAGES_H
#define STORE_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "status.h"

#define STORE_MESSAGE_MAX 4096 /* bytes of content */

typedef struct {
    char id[CORE_ID_MAX + 1]; /* first: store_page_start reads it */
    char room_id[CORE_ID_MAX + 1];
    char sender_id[CORE_ID_MAX + 1];
    char *content; /* NUL-terminated; owned by the list it is in (borrowed on send) */
    char timestamp[CORE_ISO8601_LEN];
} store_message_t;

/* A page of messages (the shape of store_page_t, with messages that own
 * their content). */
typedef struct {
    long long total; /* every message the list holds, not just this page */
    int n;
    store_message_t *items;            /* owned, with their content: store_message_list_free */
    char next_cursor[CORE_ID_MAX + 1]; /* the last message's id when more follow, else "" */
} store_message_list_t;

/* The limits a send applies (from the configuration). */
typedef struct {
    int rate_limit;    /* messages per sender per window */
    int rate_window_s; /* the sliding window */
    int cache_max;     /* newest messages kept per room */
    int cache_ttl_s;   /* how long the cache (and each message in it) lives */
    int offline_max;   /* newest messages kept per offline queue */
    int offline_ttl_s; /* how long an untouched offline queue lives */
    int room_ttl_s;    /* how long the room lives after this message */
} store_message_limits_t;

/* Sends a message: m's room_id, sender_id and content are read; its id and
 * timestamp (now_ms) are set. The room lives room_ttl_s from now on. STORE_NOT_FOUND when the
 * sender is not a participant of the room; STORE_RATE_LIMITED when the sender is over the limit,
 * with *retry_after_s the seconds until a slot frees. *queued is the number of offline queues the
 * message went to. */
store_status_t store_messages_send(store_message_t *m, int64_t now_ms,
                                   const store_message_limits_t *lim, int *queued,
                                   int *retry_after_s);

/* A message's position in its room's order (from its id), which is what
 * store_messages_recent's before compares with; false when id is not the id
 * of a message. A time t in ms has position t * 1000: messages sent before t
 * are exactly those with a lower position. */
bool store_message_position(const char *id, int64_t *position);

/* Up to limit of the room's cached messages, newest first: those with a
 * position below before (INT64_MAX: no bound) and below cursor (the
 * position of the last message of the previous page; INT64_MAX for the
 * first page), sent within ttl_s of now. total counts every cached message
 * below before within ttl_s; next_cursor is set when more follow. */
store_status_t store_messages_recent(const char *room_id, int64_t before, int64_t cursor,
                                     int64_t now_ms, int ttl_s, int limit,
                                     store_message_list_t *out);

/* Up to limit of the user's offline queue, oldest first, after the message
 * whose id is cursor (NULL or "": from the oldest; an id no longer queued,
 * trimmed or taken: from the oldest too). total is the queue's length. Only
 * reads. */
store_status_t store_messages_offline(const char *user_id, const char *cursor, int limit,
                                      store_message_list_t *out);

/* Takes the oldest limit messages of the queue (oldest first), leaving the
 * rest, in one step, so each message is handed out once however many takers
 * ask at the same moment. total is the queue's length before the take. */
store_status_t store_messages_offline_take(const char *user_id, int limit,
                                           store_message_list_t *out);

/* Empties the user's offline queue (a no-op when it is empty). */
store_status_t store_messages_offline_clear(const char *user_id);

void store_message_list_free(store_message_list_t *l);

#endif
