/*
 * The running service as handlers see it: its configuration, when it
 * started and whether it is draining. The server sets these (server.h);
 * handlers only read them, so that no handler depends on the daemon.
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../core/config.h"

/* The configuration, set once at start-up (api_service_begin); NULL before. */
const config_t *api_config(void);

/* When the service started (ms since the epoch). */
int64_t api_started_ms(void);

/* True once a graceful drain began: /readyz answers 503 from then on. */
bool api_draining(void);

/* For the server: the service starts with cfg (which must outlive it). */
void api_service_begin(const config_t *cfg);

/* For the server: the drain begins. */
void api_service_drain(void);

#endif
