/*
 * Probes and health. /livez never touches Redis: a Redis outage must not make
 * Kubernetes restart every replica. /readyz pings Redis (and MongoDB when
 * MONGODB_REQUIRED=1), /health pings every configured store; each ping is
 * bounded by its store's timeout, so they answer even when a store hangs.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/config.h"
#include "../core/timefmt.h"
#include "../mongo/pool.h"
#include "../store/stats.h"
#include "handlers.h"
#include "problem.h"
#include "server.h"

static api_shared_t *livez;
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

/* One dependency check: its outcome, how long it took, and what its failure
 * means. Redis failing fails the service; MongoDB failing only degrades it
 * (the ephemeral endpoints still work), unless MONGODB_REQUIRED is set. */
typedef struct {
    const char *name;
    store_status_t st;
    double latency_ms;
    int timeout_ms;
    bool critical;  /* a failure makes /health fail, not warn */
    bool for_ready; /* part of /readyz */
} dep_t;

static dep_t check_redis(void) {
    dep_t d = {.name = "redis",
               .timeout_ms = api_config()->redis_timeout_ms,
               .critical = true,
               .for_ready = true};
    d.st = store_ping(&d.latency_ms);
    return d;
}

/* Fills deps with every configured dependency; returns how many. */
static int check_all(dep_t deps[2], bool for_ready) {
    int n = 0;
    deps[n++] = check_redis();
    bool required = api_config()->mongodb_required;
    if (mongo_enabled() && (!for_ready || required)) {
        dep_t d = {.name = "mongodb",
                   .timeout_ms = api_config()->mongodb_timeout_ms,
                   .critical = required,
                   .for_ready = required};
        d.st = mongo_ping(&d.latency_ms);
        deps[n++] = d;
    }
    return n;
}

static const char *failure(store_status_t st) {
    return st == STORE_UNAVAILABLE ? "unreachable or timed out" : "error reply";
}

void api_health_readyz(api_req_t *r) {
    if (api_server_draining()) { /* shutting down: let the load balancer move on */
        static const char text[] = "[-]shutdown: draining\nreadyz check failed\n";
        api_reply_data(r, 503, "text/plain; charset=utf-8", text, sizeof text - 1);
        return;
    }
    dep_t deps[2];
    int n = check_all(deps, true);
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok &= deps[i].st == STORE_OK;
    char text[512];
    size_t used = 0;
    if (api_query_has(r, "verbose") || !ok) {
        for (int i = 0; i < n; i++)
            used += (size_t)snprintf(text + used, sizeof text - used,
                                     deps[i].st == STORE_OK ? "[+]%s ok\n" : "[-]%s failed: %s\n",
                                     deps[i].name, failure(deps[i].st));
        snprintf(text + used, sizeof text - used, "readyz check %s\n", ok ? "passed" : "failed");
    } else {
        snprintf(text, sizeof text, "ok");
    }
    api_reply_data(r, ok ? 200 : 503, "text/plain; charset=utf-8", text, strlen(text));
}

static const char *dep_status(const dep_t *d) {
    if (d->st != STORE_OK)
        return "fail";
    /* slower than half the timeout: still working, but close to failing requests */
    return d->latency_ms * 2 > d->timeout_ms ? "warn" : "pass";
}

static void add_check(cJSON *checks, const dep_t *d, const char *now) {
    char key[64];
    snprintf(key, sizeof key, "%s:responseTime", d->name);
    cJSON *arr = cJSON_AddArrayToObject(checks, key);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "componentId", d->name);
    cJSON_AddStringToObject(c, "componentType", "datastore");
    if (d->st == STORE_OK)
        cJSON_AddNumberToObject(c, "observedValue", d->latency_ms);
    else
        cJSON_AddNullToObject(c, "observedValue");
    cJSON_AddStringToObject(c, "observedUnit", "ms");
    cJSON_AddStringToObject(c, "status", dep_status(d));
    cJSON_AddStringToObject(c, "time", now);
    if (d->st != STORE_OK)
        cJSON_AddStringToObject(c, "output", failure(d->st));
    cJSON_AddItemToArray(arr, c);
}

void api_health_health(api_req_t *r) {
    dep_t deps[2];
    int n = check_all(deps, false);
    char now[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), now);

    /* the worst check decides; a non-critical failure only warns */
    int worst = 0; /* 0 pass, 1 warn, 2 fail */
    for (int i = 0; i < n; i++) {
        const char *st = dep_status(&deps[i]);
        int level = strcmp(st, "fail") == 0 ? (deps[i].critical ? 2 : 1) : strcmp(st, "warn") == 0;
        worst = level > worst ? level : worst;
    }
    static const char *levels[] = {"pass", "warn", "fail"};

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", levels[worst]);
    cJSON_AddStringToObject(o, "version", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "releaseId", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "serviceId", api_config()->service_id);
    cJSON_AddStringToObject(o, "description",
                            "Real-time state service: HTTP API over Redis and MongoDB");
    cJSON *checks = cJSON_AddObjectToObject(o, "checks");
    for (int i = 0; i < n; i++)
        add_check(checks, &deps[i], now);
    cJSON *up = cJSON_AddArrayToObject(checks, "uptime");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "componentType", "system");
    cJSON_AddNumberToObject(c, "observedValue",
                            (double)(core_now_ms() - api_server_started_ms()) / 1e3);
    cJSON_AddStringToObject(c, "observedUnit", "s");
    cJSON_AddStringToObject(c, "status", "pass");
    cJSON_AddStringToObject(c, "time", now);
    cJSON_AddItemToArray(up, c);
    cJSON *services = cJSON_AddObjectToObject(o, "services");
    cJSON_AddStringToObject(services, "redis",
                            deps[0].st == STORE_OK ? "connected" : "disconnected");
    cJSON_AddStringToObject(services, "mongodb",
                            !mongo_enabled()                  ? "disabled"
                            : n > 1 && deps[1].st == STORE_OK ? "connected"
                                                              : "disconnected");

    api_reply_json(r, worst == 2 ? 503 : 200, o);
    if (r->resp && !r->resp_shared) {
        /* replace the generic JSON type with the health format's own */
        MHD_del_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/health+json");
    }
}

void api_health_redis(api_req_t *r) {
    dep_t redis = check_redis();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", redis.st == STORE_OK ? "up" : "down");
    if (redis.st == STORE_OK)
        cJSON_AddNumberToObject(o, "latency_ms", redis.latency_ms);
    else
        cJSON_AddNullToObject(o, "latency_ms");
    api_reply_json(r, redis.st == STORE_OK ? 200 : 503, o);
}
