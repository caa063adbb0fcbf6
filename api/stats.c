/* /redis/stats: Redis's own figures and the application's counters. */
#include "../core/redis_url.h"
#include "../core/timefmt.h"
#include "../store/stats.h"
#include "handlers.h"
#include "problem.h"

void api_stats_get(api_req_t *r) {
    store_stats_t s;
    store_status_t st = store_stats_get(core_now_ms(), &s);
    if (st != STORE_OK) {
        api_problem_store(r, st, "Redis statistics");
        return;
    }
    core_redis_url_t url;
    char redacted[512] = "";
    if (core_redis_url_parse(api_config()->redis_url, &url, NULL))
        core_redis_url_redact(&url, redacted, sizeof redacted);

    cJSON *o = cJSON_CreateObject();
    cJSON *rd = cJSON_AddObjectToObject(o, "redis");
    cJSON_AddTrueToObject(rd, "connected");
    cJSON_AddStringToObject(rd, "url", redacted);
    cJSON_AddStringToObject(rd, "version", s.version);
    cJSON_AddNumberToObject(rd, "uptime_s", (double)s.uptime_s);
    cJSON_AddNumberToObject(rd, "connected_clients", (double)s.connected_clients);
    cJSON_AddNumberToObject(rd, "used_memory_bytes", (double)s.used_memory_bytes);
    cJSON_AddStringToObject(rd, "used_memory_human", s.used_memory_human);
    cJSON_AddNumberToObject(rd, "ops_per_sec", (double)s.ops_per_sec);
    cJSON_AddNumberToObject(rd, "keyspace_hits", (double)s.keyspace_hits);
    cJSON_AddNumberToObject(rd, "keyspace_misses", (double)s.keyspace_misses);
    cJSON_AddNumberToObject(rd, "keys", (double)s.keys);
    cJSON *app = cJSON_AddObjectToObject(o, "app");
    cJSON_AddNumberToObject(app, "total_clients", (double)s.total_clients);
    cJSON_AddNumberToObject(app, "online_users", (double)s.online_users);
    cJSON_AddNumberToObject(app, "total_frames", (double)s.total_frames);
    cJSON_AddNumberToObject(app, "removed_inactive", (double)s.removed_inactive);
    cJSON *queues = cJSON_AddObjectToObject(app, "notification_queues");
    cJSON_AddNumberToObject(queues, "high", (double)s.notification_queue_high);
    cJSON_AddNumberToObject(queues, "normal", (double)s.notification_queue_normal);
    api_reply_json(r, 200, o);
}
