/*
 * GET /events: the live event stream (Server-Sent Events), fed by the
 * store's pump (store/events.h); see api/events.c and README "Live events".
 *
 * The pump's thread renders each event once into a shared ring (the SSE
 * text with its id); each event loop is woken and writes to its own
 * subscribers, which are libmicrohttpd connections with a callback response,
 * suspended while they have nothing to send (so an idle subscriber holds no
 * thread, no coroutine, and only its connection's memory).
 */
#ifndef API_EVENTS_H
#define API_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/config.h"
#include "../store/events.h"

/* Makes the ring and starts the pump. False (after logging why) when it
 * cannot. */
bool api_events_start(const config_t *cfg);

/* Graceful drain: every subscriber gets a final `event: shutdown` and its
 * connection ends; new subscribers get 503. Any thread. */
void api_events_drain(void);

/* Stops the pump (after api_events_drain, before the loops stop). */
void api_events_stop(void);

/* For /metrics. */
long api_events_subscribers(void);
unsigned long api_events_dropped(void);
unsigned long api_events_delivered(void);

/* The SSE id of a position vector (opaque to clients): into out (cap >=
 * API_EVENTS_ID_MAX); returns its length. */
#define API_EVENTS_ID_MAX 400
size_t api_events_id_format(const store_event_vec_t *v, char *out, size_t cap);

/* Reads an id back; false when s is not one. */
bool api_events_id_parse(const char *s, store_event_vec_t *out);

#endif
