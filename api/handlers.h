/*
 * Every request handler, one block per resource file. routes.c is the only
 * place that wires them to paths.
 */
#ifndef API_HANDLERS_H
#define API_HANDLERS_H

#include "request.h"

/* api/clients.c */
void api_clients_create(api_req_t *r);
void api_clients_list(api_req_t *r);
void api_clients_get(api_req_t *r);
void api_clients_heartbeat(api_req_t *r);
void api_clients_delete(api_req_t *r);

/* api/images.c */
void api_images_put(api_req_t *r);
void api_images_get(api_req_t *r);

/* api/presence.c */
void api_presence_put(api_req_t *r);
void api_presence_delete(api_req_t *r);
void api_presence_get(api_req_t *r);
void api_presence_list(api_req_t *r);

/* api/health.c */
void api_health_livez(api_req_t *r);
void api_health_readyz(api_req_t *r);
void api_health_health(api_req_t *r);
void api_health_redis(api_req_t *r);

/* api/stats.c */
void api_stats_get(api_req_t *r);

/* api/spec.c */
void api_spec_get(api_req_t *r);

#endif
