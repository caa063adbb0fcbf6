/*
 * The HTTP server: a libmicrohttpd daemon with an internal pool of worker
 * threads on epoll. Each request is read in full (up to its route's size
 * limit), dispatched to its handler on the worker thread that read it, and
 * answered with the one reply the handler made.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "router.h"

typedef struct api_server api_server_t;

/* Starts listening on cfg->bind:cfg->port with the given routes (both must
 * outlive the server). Returns NULL, after logging why, on failure. */
api_server_t *api_server_start(const config_t *cfg, const api_route_t *routes, size_t nroutes);

/* Stops accepting, finishes the requests in flight, and frees the server. */
void api_server_stop(api_server_t *s);

/* When the server started (ms since the epoch), for uptime. */
int64_t api_server_started_ms(void);

/* The number of worker threads the server runs with this configuration. */
int api_server_threads(const config_t *cfg);

#endif
