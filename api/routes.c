/* Every route of the service. A route added here gets its openapi.yaml entry,
 * README section and tests in the same change. */
#include "routes.h"

#include "handlers.h"

const api_route_t api_routes[] = {
    {API_GET, "/livez", api_health_livez, API_BODY_NONE},
    {API_GET, "/readyz", api_health_readyz, API_BODY_NONE},
    {API_GET, "/health", api_health_health, API_BODY_NONE},
    {API_GET, "/redis/health", api_health_redis, API_BODY_NONE},
    {API_GET, "/redis/stats", api_stats_get, API_BODY_NONE},
    {API_GET, "/openapi.yaml", api_spec_get, API_BODY_NONE},

    {API_POST, "/clients", api_clients_create, API_BODY_JSON},
    {API_GET, "/clients", api_clients_list, API_BODY_NONE},
    {API_GET, "/clients/{id}", api_clients_get, API_BODY_NONE},
    {API_DELETE, "/clients/{id}", api_clients_delete, API_BODY_NONE},
    {API_POST, "/clients/{id}/heartbeat", api_clients_heartbeat, API_BODY_NONE},
    {API_PUT, "/clients/{id}/image", api_images_put, API_BODY_IMAGE},
    {API_GET, "/clients/{id}/image", api_images_get, API_BODY_NONE},

    {API_GET, "/online-users", api_presence_list, API_BODY_NONE},
    {API_GET, "/online-users/{userId}", api_presence_get, API_BODY_NONE},
    {API_PUT, "/online-users/{userId}", api_presence_put, API_BODY_JSON},
    {API_DELETE, "/online-users/{userId}", api_presence_delete, API_BODY_NONE},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
