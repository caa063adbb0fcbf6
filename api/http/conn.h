/*
 * The connections the server holds, and the deadline for a request head
 * (request line and headers): HEADER_TIMEOUT_S.
 *
 * libmicrohttpd closes a connection only after IDLE_TIMEOUT_S of silence, so
 * a client that sends one header line every few seconds would keep its
 * connection, and the memory behind it, for ever. Every connection has a
 * record here, and a watchdog thread shuts down the socket of one whose head
 * is not complete HEADER_TIMEOUT_S after it began: for the first request of
 * a connection, from the accept; for a later request on a kept-alive
 * connection, from the first byte of that request, so that a connection idle
 * between requests is still governed by IDLE_TIMEOUT_S alone.
 */
#ifndef API_CONN_H
#define API_CONN_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct api_conn api_conn_t;

/* Starts the watchdog: heads must be complete within timeout_s; and counts
 * connections per address: more than max_per_ip (0: no limit) open from one
 * are shut down as they open. False (after logging why) when the thread
 * cannot start. */
bool api_conn_watch_start(int timeout_s, int max_per_ip);

/* Stops the watchdog; connections still open are left to libmicrohttpd. */
void api_conn_watch_stop(void);

/* The record of a new connection (from MHD_CONNECTION_NOTIFY_STARTED): its
 * peer's address and socket; its head is awaited from now. NULL when out of
 * memory (the connection then has no deadline but its idle timeout). Freed by
 * api_conn_close. */
api_conn_t *api_conn_open(struct MHD_Connection *c);

/* Forgets a connection (from MHD_CONNECTION_NOTIFY_CLOSED, before
 * libmicrohttpd closes its socket) and frees its record. NULL is ignored. */
void api_conn_close(api_conn_t *conn);

/* The peer's address, for the request log ("-" when unknown). */
const char *api_conn_remote(const api_conn_t *conn);

/* The request head is complete: no deadline while the request is handled. No
 * system call, no lock. NULL is ignored. */
void api_conn_head_done(api_conn_t *conn);

/* The answer was sent (now_ms: CLOCK_MONOTONIC milliseconds): the next
 * request's head is timed from its first byte. NULL is ignored. */
void api_conn_answered(api_conn_t *conn, int64_t now_ms);

#endif
