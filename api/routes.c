/* Every route of the service. A route added here gets its openapi.yaml entry,
 * README section and tests in the same change. A route whose handler may
 * block its thread (MongoDB, the health checks that ping it) says
 * API_RUN_BLOCKING: it then runs on the blocking pool, not on an event loop
 * (api/http/loop.h). */
#include "routes.h"

#include "handlers.h"

const api_route_t api_routes[] = {
    {API_GET, "/livez", api_health_livez, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/readyz", api_health_readyz, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/health", api_health_health, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/redis/health", api_health_redis, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/redis/stats", api_stats_get, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/openapi.yaml", api_spec_get, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/metrics", api_metrics_get, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/", api_dashboard_get, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/dashboard", api_dashboard_get, API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/clients", api_clients_create, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/clients", api_clients_list, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/clients/{id}", api_clients_get, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/clients/{id}", api_clients_delete, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/clients/{id}/heartbeat", api_clients_heartbeat, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/clients/{id}/image", api_images_put, API_BODY_IMAGE, API_RUN_LOOP},
    {API_GET, "/clients/{id}/image", api_images_get, API_BODY_NONE, API_RUN_LOOP},

    {API_GET, "/online-users", api_presence_list, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/online-users/{userId}", api_presence_get, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/online-users/{userId}", api_presence_put, API_BODY_JSON, API_RUN_LOOP},
    {API_DELETE, "/online-users/{userId}", api_presence_delete, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/online-users/{userId}/devices/{deviceId}", api_presence_delete_device,
     API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/users/{userId}/friends", api_friends_put, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/users/{userId}/friends", api_friends_get, API_BODY_NONE, API_RUN_LOOP},

    {API_GET, "/events", api_events_get, API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/sessions", api_sessions_create, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/sessions/{socketId}", api_sessions_get, API_BODY_NONE, API_RUN_LOOP},
    {API_PATCH, "/sessions/{socketId}", api_sessions_move, API_BODY_JSON, API_RUN_LOOP},
    {API_DELETE, "/sessions/{socketId}", api_sessions_delete, API_BODY_NONE, API_RUN_LOOP},
    {API_POST, "/sessions/{socketId}/heartbeat", api_sessions_heartbeat, API_BODY_NONE,
     API_RUN_LOOP},
    {API_GET, "/users/{userId}/sessions", api_sessions_of_user, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/regions/{regionId}/members", api_sessions_in_region, API_BODY_NONE, API_RUN_LOOP},

    {API_GET, "/rooms", api_rooms_list, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/rooms/{roomId}/participants", api_rooms_participants, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/rooms/{roomId}/participants/{userId}", api_rooms_join, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/rooms/{roomId}/participants/{userId}", api_rooms_leave, API_BODY_NONE,
     API_RUN_LOOP},
    {API_GET, "/users/{userId}/rooms", api_rooms_of_user, API_BODY_NONE, API_RUN_LOOP},

    {API_GET, "/rooms/{roomId}/typing", api_typing_list, API_BODY_NONE, API_RUN_LOOP},
    {API_PUT, "/rooms/{roomId}/typing/{userId}", api_typing_start, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/rooms/{roomId}/typing/{userId}", api_typing_stop, API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/rooms/{roomId}/messages", api_messages_send, API_BODY_JSON, API_RUN_LOOP},
    {API_GET, "/rooms/{roomId}/messages", api_messages_list, API_BODY_NONE, API_RUN_LOOP},
    {API_GET, "/users/{userId}/offline-messages", api_messages_offline_get, API_BODY_NONE,
     API_RUN_LOOP},
    {API_DELETE, "/users/{userId}/offline-messages", api_messages_offline_clear, API_BODY_NONE,
     API_RUN_LOOP},
    {API_POST, "/users/{userId}/offline-messages/consume", api_messages_offline_consume,
     API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/users/{userId}/notifications", api_notifications_create, API_BODY_JSON,
     API_RUN_LOOP},
    {API_GET, "/users/{userId}/notifications", api_notifications_of_user, API_BODY_NONE,
     API_RUN_LOOP},
    {API_POST, "/notifications/queue/pop", api_notifications_pop, API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/admin/cleanup", api_admin_cleanup, API_BODY_NONE, API_RUN_LOOP},
    {API_DELETE, "/admin/ephemeral", api_admin_ephemeral, API_BODY_NONE, API_RUN_LOOP},

    {API_POST, "/accounts", api_accounts_create, API_BODY_JSON, API_RUN_BLOCKING},
    {API_GET, "/accounts", api_accounts_list, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/accounts/{accountId}", api_accounts_get, API_BODY_NONE, API_RUN_BLOCKING},
    {API_PATCH, "/accounts/{accountId}", api_accounts_update, API_BODY_JSON, API_RUN_BLOCKING},
    {API_DELETE, "/accounts/{accountId}", api_accounts_delete, API_BODY_NONE, API_RUN_BLOCKING},

    {API_POST, "/observations", api_observations_create, API_BODY_JSON, API_RUN_BLOCKING},
    {API_POST, "/observations/batch", api_observations_batch, API_BODY_BATCH, API_RUN_BLOCKING},
    {API_GET, "/observations", api_observations_list, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/observations/{id}", api_observations_get, API_BODY_NONE, API_RUN_BLOCKING},

    {API_GET, "/road-segments", api_segments_list, API_BODY_NONE, API_RUN_BLOCKING},
    {API_GET, "/road-segments/{geohash}", api_segments_get, API_BODY_NONE, API_RUN_BLOCKING},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
