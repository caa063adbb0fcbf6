/*
 * Every request handler, one block per resource file (api/<resource>.c),
 * and the helpers they share (handlers.c). routes.c is the only place that
 * wires them to paths. The HTTP machinery they stand on is in api/http/.
 */
#ifndef API_HANDLERS_H
#define API_HANDLERS_H

#include "../core/status.h"
#include "http/request.h"

/* ---- what the handlers share (handlers.c) ---- */

/* The whole of a handler that acts on one id and answers 204: checks path
 * parameter 0 as an id (param names it in a 400: "client id"), runs op on it,
 * and replies 204, or the problem for op's status, naming the resource with
 * noun ("client" gives "client 'cam-1' not found"). */
void api_id_then_204(api_req_t *r, const char *param, const char *noun,
                     store_status_t (*op)(const char *id));

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
void api_presence_delete_device(api_req_t *r);

/* api/friends.c */
void api_friends_put(api_req_t *r);
void api_friends_get(api_req_t *r);

/* api/events.c */
void api_events_get(api_req_t *r);

/* api/sessions.c */
void api_sessions_create(api_req_t *r);
void api_sessions_get(api_req_t *r);
void api_sessions_move(api_req_t *r);
void api_sessions_delete(api_req_t *r);
void api_sessions_heartbeat(api_req_t *r);
void api_sessions_of_user(api_req_t *r);
void api_sessions_in_region(api_req_t *r);

/* api/rooms.c */
void api_rooms_list(api_req_t *r);
void api_rooms_participants(api_req_t *r);
void api_rooms_join(api_req_t *r);
void api_rooms_leave(api_req_t *r);
void api_rooms_of_user(api_req_t *r);

/* api/typing.c */
void api_typing_list(api_req_t *r);
void api_typing_start(api_req_t *r);
void api_typing_stop(api_req_t *r);

/* api/messages.c */
void api_messages_send(api_req_t *r);
void api_messages_list(api_req_t *r);
void api_messages_offline_get(api_req_t *r);
void api_messages_offline_consume(api_req_t *r);
void api_messages_offline_clear(api_req_t *r);

/* api/notifications.c */
void api_notifications_create(api_req_t *r);
void api_notifications_of_user(api_req_t *r);
void api_notifications_pop(api_req_t *r);

/* api/admin.c */
void api_admin_cleanup(api_req_t *r);
void api_admin_ephemeral(api_req_t *r);

/* api/accounts.c */
void api_accounts_create(api_req_t *r);
void api_accounts_list(api_req_t *r);
void api_accounts_get(api_req_t *r);
void api_accounts_update(api_req_t *r);
void api_accounts_delete(api_req_t *r);

/* api/observations.c */
void api_observations_create(api_req_t *r);
void api_observations_batch(api_req_t *r);
void api_observations_list(api_req_t *r);
void api_observations_get(api_req_t *r);

/* api/segments.c */
void api_segments_list(api_req_t *r);
void api_segments_get(api_req_t *r);

/* api/health.c */
void api_health_livez(api_req_t *r);
void api_health_readyz(api_req_t *r);
void api_health_health(api_req_t *r);
void api_health_redis(api_req_t *r);

/* api/stats.c */
void api_stats_get(api_req_t *r);

/* api/metrics.c */
void api_metrics_get(api_req_t *r);

/* api/spec.c */
void api_spec_get(api_req_t *r);

/* api/dashboard.c */
void api_dashboard_get(api_req_t *r);

#endif
