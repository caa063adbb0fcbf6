/*
 * Typing indicators. Each (room, user) indicator is its own key,
 * typing:{roomId}:{userId}, with a real TTL, so each one expires on its own;
 * the room's index room:{roomId}:typing (user -> expiry in ms) is what a
 * listing reads, filtered by the clock, so an indicator past its TTL is never
 * listed even when nothing has cleaned up yet; listing only reads, and each
 * start drops the entries that expired. The index itself expires with its
 * newest indicator.
 */
#ifndef STORE_TYPING_H
#define STORE_TYPING_H

#include <stdint.h>

#include "../core/ids.h"
#include "batch.h"
#include "page.h"
#include "status.h"

typedef struct {
    char user_id[CORE_ID_MAX + 1];
    int64_t expires_at_ms;
} store_typing_t;

/* Marks user_id typing in room_id until now + ttl_s; *expires_at_ms is when.
 * STORE_NOT_FOUND when the user is not a participant of the room. */
store_status_t store_typing_start(const char *room_id, const char *user_id, int64_t now_ms,
                                  int ttl_s, int64_t *expires_at_ms);

/* Clears the indicator (a no-op when there is none). */
store_status_t store_typing_stop(const char *room_id, const char *user_id);

/* Adds to b the script call that clears the indicator, announcing it
 * stopped for reason ("request", "offline") when it was there. */
void store_typing_stop_call(store_batch_t *b, const char *room_id, const char *user_id,
                            const char *reason);

/* Up to limit of who is typing in room_id at now_ms, after cursor ("" or
 * NULL: from the start), in user id order: a page of store_typing_t
 * (page.h; the caller frees it with store_page_free), total counting every
 * indicator of the room that has not expired. */
store_status_t store_typing_list(const char *room_id, int64_t now_ms, const char *cursor, int limit,
                                 store_page_t *out);

#endif
