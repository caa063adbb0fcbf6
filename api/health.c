/*
 * Probes and health. /livez never touches Redis: a Redis outage must not make
 * Kubernetes restart every replica. /readyz and /health ping Redis, bounded by
 * the Redis timeout, so they answer even when Redis hangs.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/config.h"
#include "../core/timefmt.h"
#include "../store/stats.h"
#include "handlers.h"
#include "problem.h"
#include "server.h"

static struct MHD_Response *livez;
static pthread_once_t livez_once = PTHREAD_ONCE_INIT;

static void make_livez(void) {
    static const char body[] = "{\"status\":\"pass\"}";
    livez = api_shared_response("application/json", body, sizeof body - 1);
}

void api_health_livez(api_req_t *r) {
    pthread_once(&livez_once, make_livez);
    if (livez)
        api_reply_shared(r, 200, livez);
}

/* One dependency check: its outcome and how long it took. */
typedef struct {
    store_status_t st;
    double latency_ms;
} check_t;

static check_t check_redis(void) {
    check_t c = {0};
    c.st = store_ping(&c.latency_ms);
    return c;
}

static const char *redis_failure(store_status_t st) {
    return st == STORE_UNAVAILABLE ? "unreachable or timed out" : "error reply";
}

void api_health_readyz(api_req_t *r) {
    check_t redis = check_redis();
    bool ok = redis.st == STORE_OK;
    char text[256];
    if (api_query_has(r, "verbose") || !ok) {
        if (ok)
            snprintf(text, sizeof text, "[+]redis ok\nreadyz check passed\n");
        else
            snprintf(text, sizeof text, "[-]redis failed: %s\nreadyz check failed\n",
                     redis_failure(redis.st));
    } else {
        snprintf(text, sizeof text, "ok");
    }
    api_reply_data(r, ok ? 200 : 503, "text/plain; charset=utf-8", text, strlen(text));
}

static const char *check_status(const check_t *c) {
    if (c->st != STORE_OK)
        return "fail";
    /* slower than half the timeout: still working, but close to failing requests */
    return c->latency_ms * 2 > api_config()->redis_timeout_ms ? "warn" : "pass";
}

void api_health_health(api_req_t *r) {
    check_t redis = check_redis();
    const char *status = check_status(&redis);
    char now[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), now);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "version", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "releaseId", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "serviceId", api_config()->service_id);
    cJSON_AddStringToObject(o, "description",
                            "Real-time state service: HTTP API over Redis and MongoDB");
    cJSON *checks = cJSON_AddObjectToObject(o, "checks");
    cJSON *rt = cJSON_AddArrayToObject(checks, "redis:responseTime");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "componentId", "redis");
    cJSON_AddStringToObject(c, "componentType", "datastore");
    if (redis.st == STORE_OK)
        cJSON_AddNumberToObject(c, "observedValue", redis.latency_ms);
    else
        cJSON_AddNullToObject(c, "observedValue");
    cJSON_AddStringToObject(c, "observedUnit", "ms");
    cJSON_AddStringToObject(c, "status", check_status(&redis));
    cJSON_AddStringToObject(c, "time", now);
    if (redis.st != STORE_OK)
        cJSON_AddStringToObject(c, "output", redis_failure(redis.st));
    cJSON_AddItemToArray(rt, c);
    cJSON *up = cJSON_AddArrayToObject(checks, "uptime");
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "componentType", "system");
    cJSON_AddNumberToObject(c, "observedValue",
                            (double)(core_now_ms() - api_server_started_ms()) / 1e3);
    cJSON_AddStringToObject(c, "observedUnit", "s");
    cJSON_AddStringToObject(c, "status", "pass");
    cJSON_AddStringToObject(c, "time", now);
    cJSON_AddItemToArray(up, c);
    cJSON *services = cJSON_AddObjectToObject(o, "services");
    cJSON_AddStringToObject(services, "redis", redis.st == STORE_OK ? "connected" : "disconnected");
    cJSON_AddStringToObject(services, "mongodb", "disabled");

    bool fail = strcmp(status, "fail") == 0;
    api_reply_json(r, fail ? 503 : 200, o);
    if (r->resp && !r->resp_shared) {
        /* replace the generic JSON type with the health format's own */
        MHD_del_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/health+json");
    }
}

void api_health_redis(api_req_t *r) {
    check_t redis = check_redis();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", redis.st == STORE_OK ? "up" : "down");
    if (redis.st == STORE_OK)
        cJSON_AddNumberToObject(o, "latency_ms", redis.latency_ms);
    else
        cJSON_AddNullToObject(o, "latency_ms");
    api_reply_json(r, redis.st == STORE_OK ? 200 : 503, o);
}
