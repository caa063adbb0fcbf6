/*
 * The HTTP server: a libmicrohttpd daemon with an internal pool of worker
 * threads on epoll. Each request is read in full (up to its route's size
 * limit), dispatched to its handler on the worker thread that read it, and
 * answered with the one reply the handler made.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "router.h"

typedef struct api_server api_server_t;

/* Starts listening on cfg->bind:cfg->port with the given routes (both must
 * outlive the server). Returns NULL, after logging why, on failure. */
api_server_t *api_server_start(const config_t *cfg, const api_route_t *routes, size_t nroutes);

/* Graceful shutdown, first half: marks the server draining (/readyz turns
 * 503 at once), keeps accepting for delay_s (the load balancer's delay),
 * stops listening, and waits up to grace_s for requests in flight. */
void api_server_drain(api_server_t *s, int delay_s, int grace_s);

/* True once api_server_drain has begun. */
bool api_server_draining(void);

/* Stops accepting, finishes the requests in flight, and frees the server. */
void api_server_stop(api_server_t *s);

/* When the server started (ms since the epoch), for uptime. */
int64_t api_server_started_ms(void);

/* The number of worker threads the server runs with this configuration. */
int api_server_threads(const config_t *cfg);

#endif
