/*
 * The HTTP server: libmicrohttpd daemons on event loops, one per thread
 * (api/http/loop.h), sharing one listening socket, and a blocking pool for the
 * handlers that block (MongoDB). Each request is read in full (up to its
 * route's size limit), dispatched to its handler on a coroutine of the loop
 * that read it, and answered with the one reply the handler made.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/config.h"
#include "router.h"

typedef struct api_server api_server_t;

/* Starts listening on cfg->bind:cfg->port with the given routes (both must
 * outlive the server). Returns NULL, after logging why, on failure. */
api_server_t *api_server_start(const config_t *cfg, const api_route_t *routes, size_t nroutes);

/* Graceful shutdown, first half: marks the server draining (/readyz turns
 * 503 at once), keeps accepting for delay_s (the load balancer's delay),
 * stops listening, calls closed (if not NULL: what ends the answers that
 * would never end by themselves, the event streams), and waits up to grace_s
 * for requests in flight. */
void api_server_drain(api_server_t *s, int delay_s, int grace_s, void (*closed)(void));

/* Stops accepting, finishes the requests in flight, and frees the server. */
void api_server_stop(api_server_t *s);

/* The number of event loop threads the server runs with this configuration
 * (THREADS; 0: one per core). */
int api_server_threads(const config_t *cfg);

/* The number of threads of the blocking pool (MongoDB's handlers and the
 * health checks): two per event loop, at least four. */
int api_server_blocking_threads(const config_t *cfg);

#endif
