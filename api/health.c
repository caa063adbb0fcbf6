/*
 * Probes and health. /livez never touches Redis: a Redis outage must not make
 * Kubernetes restart every replica. /readyz probes Redis (and MongoDB when
 * MONGODB_REQUIRED=1), /health every configured store; each probe is bounded
 * by its store's timeout, so they answer even when a store hangs.
 *
 * Redis is probed by reading a key of every bucket in one call
 * (store/health.h), so that in a Redis Cluster each master is asked. The
 * rule, the same for /health, /readyz and /redis/health:
 * - every bucket answered, every slot has a master that is up, the cluster
 *   says ok and no node it lists is failing: pass (ready, "up");
 * - some buckets answered but not all, or a slot is not served, or a node is
 *   failing: warn, naming the nodes (still ready, "degraded": the instance
 *   serves what the cluster serves, and every instance would be unready
 *   alike, so unready would only turn a partial outage into a whole one);
 * - no bucket answered: fail (not ready, "down").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../core/timefmt.h"
#include "../mongo/pool.h"
#include "../store/health.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/service.h"

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
    /* it answers, but not for everything (see the rule at the top): warn */
    bool degraded;
} dep_t;

/* Whether the cluster marks a node it lists as failing (info may be NULL). */
static bool any_failing(const store_cluster_info_t *info) {
    for (int i = 0; info && i < info->nnodes; i++)
        if (info->nodes[i].failing ||
            (info->nodes[i].state == STORE_NODE_DOWN && info->nodes[i].slots))
            return true;
    return false;
}

/* The Redis probe; h receives what it found, and h->info (when not NULL)
 * the cluster's nodes (two more commands). */
static dep_t check_redis(store_health_t *h) {
    dep_t d = {.name = "redis",
               .timeout_ms = api_config()->redis_timeout_ms,
               .critical = true,
               .for_ready = true};
    d.st = store_health_probe(h);
    d.latency_ms = h->latency_ms;
    d.degraded = d.st == STORE_OK && (h->degraded || any_failing(h->info));
    return d;
}

/* A probe with the cluster's nodes: h->info allocated (free it), or false. */
static bool with_nodes(store_health_t *h) {
    h->info = malloc(sizeof *h->info);
    return h->info != NULL;
}

/* Fills deps with every configured dependency; returns how many. */
static int check_all(dep_t deps[2], store_health_t *h, bool for_ready) {
    int n = 0;
    deps[n++] = check_redis(h);
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

/* Slots served: routed to a master that is up (standalone: all of them). */
static int slots_served(const store_cluster_info_t *info) {
    return info->mode == STORE_MODE_CLUSTER ? info->slots_up : 16384;
}

/* A node that is down or failing, and so named by the checks. */
static bool node_bad(const store_node_info_t *n) {
    return n->state == STORE_NODE_DOWN || n->failing;
}

/* Why node n is bad, for people, into out. */
static void node_why(const store_node_info_t *n, char *out, size_t cap) {
    const char *why = n->last_error[0] ? n->last_error : "marked failing by the cluster";
    if (n->slots)
        snprintf(out, cap, "%s down: %s (%d slots not served)", n->addr, why, n->slots);
    else
        snprintf(out, cap, "%s down: %s (serves no slots)", n->addr, why);
}

/* Every bad node's line, "; "-separated, into out (cap bytes). */
static void bad_nodes(const store_cluster_info_t *info, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < info->nnodes && used + 1 < cap; i++) {
        if (!node_bad(&info->nodes[i]))
            continue;
        char line[512];
        node_why(&info->nodes[i], line, sizeof line);
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "; " : "", line);
    }
    if (!out[0] && info->mode == STORE_MODE_CLUSTER)
        snprintf(out, cap, "cluster_state:%s, %d of 16384 slots served",
                 info->state[0] ? info->state : "unknown", slots_served(info));
}

/* /readyz?verbose's lines for Redis: the check, then each node of a cluster. */
static size_t readyz_redis(char *text, size_t cap, const dep_t *d,
                           const store_cluster_info_t *info) {
    size_t used = 0;
    if (d->st != STORE_OK)
        used += (size_t)snprintf(text, cap, "[-]redis failed: %s\n", failure(d->st));
    else if (d->degraded && info)
        used += (size_t)snprintf(text, cap, "[+]redis ok, degraded: %d of 16384 slots served\n",
                                 slots_served(info));
    else
        used += (size_t)snprintf(text, cap, "[+]redis ok\n");
    for (int i = 0; info && info->mode == STORE_MODE_CLUSTER && i < info->nnodes && used < cap;
         i++) {
        const store_node_info_t *n = &info->nodes[i];
        char why[512];
        node_why(n, why, sizeof why);
        if (node_bad(n))
            used += (size_t)snprintf(text + used, cap - used, "[-]redis %s\n", why);
        else
            used += (size_t)snprintf(text + used, cap - used, "[+]redis %s ok (%s, %d slots)\n",
                                     n->addr, n->role[0] ? n->role : "master", n->slots);
    }
    return used < cap ? used : cap - 1;
}

void api_health_readyz(api_req_t *r) {
    if (api_draining()) { /* shutting down: let the load balancer move on */
        static const char text[] = "[-]shutdown: draining\nreadyz check failed\n";
        api_reply_data(r, 503, "text/plain; charset=utf-8", text, sizeof text - 1);
        return;
    }
    /* the nodes only for a verbose answer: a plain probe costs one round trip */
    bool verbose = api_query_has(r, "verbose");
    store_health_t h = {.info = NULL};
    if (verbose && !with_nodes(&h)) {
        api_problem(r, 500, "out of memory");
        return;
    }
    dep_t deps[2];
    int n = check_all(deps, &h, true);
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok &= deps[i].st == STORE_OK;
    char text[8192];
    size_t used = 0;
    if (verbose || !ok) {
        used = readyz_redis(text, sizeof text, &deps[0], h.info);
        for (int i = 1; i < n; i++)
            used += (size_t)snprintf(text + used, sizeof text - used,
                                     deps[i].st == STORE_OK ? "[+]%s ok\n" : "[-]%s failed: %s\n",
                                     deps[i].name, failure(deps[i].st));
        snprintf(text + used, sizeof text - used, "readyz check %s\n", ok ? "passed" : "failed");
    } else {
        snprintf(text, sizeof text, "ok");
    }
    free(h.info);
    api_reply_data(r, ok ? 200 : 503, "text/plain; charset=utf-8", text, strlen(text));
}

static const char *dep_status(const dep_t *d) {
    if (d->st != STORE_OK)
        return "fail";
    /* slower than half the timeout: still working, but close to failing requests */
    return d->degraded || d->latency_ms * 2 > d->timeout_ms ? "warn" : "pass";
}

/* One entry of checks[key] (the array made when new). */
static cJSON *add_entry(cJSON *checks, const char *key, const char *id, const char *status,
                        const char *now) {
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(checks, key);
    if (!arr)
        arr = cJSON_AddArrayToObject(checks, key);
    cJSON *c = cJSON_CreateObject();
    if (id)
        cJSON_AddStringToObject(c, "componentId", id);
    cJSON_AddStringToObject(c, "componentType", "datastore");
    cJSON_AddStringToObject(c, "status", status);
    cJSON_AddStringToObject(c, "time", now);
    cJSON_AddItemToArray(arr, c);
    return c;
}

static void add_check(cJSON *checks, const dep_t *d, const store_health_t *h, const char *now) {
    char key[64];
    snprintf(key, sizeof key, "%s:responseTime", d->name);
    cJSON *c = add_entry(checks, key, d->name, dep_status(d), now);
    if (d->st == STORE_OK)
        cJSON_AddNumberToObject(c, "observedValue", d->latency_ms);
    else
        cJSON_AddNullToObject(c, "observedValue");
    cJSON_AddStringToObject(c, "observedUnit", "ms");
    char out[2048];
    if (d->st != STORE_OK)
        cJSON_AddStringToObject(c, "output", failure(d->st));
    else if (h && h->info && d->degraded && (bad_nodes(h->info, out, sizeof out), out[0]))
        cJSON_AddStringToObject(c, "output", out);
}

/* A cluster's slots: the whole (componentId "cluster") and each node's. */
static void add_slots(cJSON *checks, const store_cluster_info_t *info, const char *now) {
    int served = slots_served(info);
    bool state_ok = info->have_info && strcmp(info->state, "ok") == 0;
    cJSON *c = add_entry(checks, "redis:slots", "cluster",
                         served == 0                   ? "fail"
                         : served < 16384 || !state_ok ? "warn"
                                                       : "pass",
                         now);
    cJSON_AddNumberToObject(c, "observedValue", served);
    cJSON_AddStringToObject(c, "observedUnit", "slots");
    if (served < 16384 || !state_ok) {
        char out[128];
        snprintf(out, sizeof out,
                 "cluster_state:%s; %d slots routed to a node that is down, %d to none",
                 info->have_info ? info->state : "unknown", info->slots_down, info->slots_unrouted);
        cJSON_AddStringToObject(c, "output", out);
    }
    for (int i = 0; i < info->nnodes; i++) {
        const store_node_info_t *n = &info->nodes[i];
        c = add_entry(checks, "redis:slots", n->addr, node_bad(n) ? "fail" : "pass", now);
        cJSON_AddNumberToObject(c, "observedValue", node_bad(n) ? 0 : n->slots);
        cJSON_AddStringToObject(c, "observedUnit", "slots");
        char why[512];
        node_why(n, why, sizeof why);
        if (node_bad(n))
            cJSON_AddStringToObject(c, "output", why);
    }
}

static void add_uptime(cJSON *checks, const char *now) {
    cJSON *up = cJSON_AddArrayToObject(checks, "uptime");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "componentType", "system");
    cJSON_AddNumberToObject(c, "observedValue", (double)(core_now_ms() - api_started_ms()) / 1e3);
    cJSON_AddStringToObject(c, "observedUnit", "s");
    cJSON_AddStringToObject(c, "status", "pass");
    cJSON_AddStringToObject(c, "time", now);
    cJSON_AddItemToArray(up, c);
}

/* The worst check decides; a non-critical failure only warns. 0 pass, 1
 * warn, 2 fail. */
static int worst_of(const dep_t *deps, int n) {
    int worst = 0;
    for (int i = 0; i < n; i++) {
        const char *st = dep_status(&deps[i]);
        int level = strcmp(st, "fail") == 0 ? (deps[i].critical ? 2 : 1) : strcmp(st, "warn") == 0;
        worst = level > worst ? level : worst;
    }
    return worst;
}

static const char *redis_service(const dep_t *d) {
    return d->st != STORE_OK ? "disconnected" : d->degraded ? "degraded" : "connected";
}

void api_health_health(api_req_t *r) {
    store_health_t health, *h = &health;
    if (!with_nodes(h)) {
        api_problem(r, 500, "out of memory");
        return;
    }
    dep_t deps[2];
    int n = check_all(deps, h, false);
    char now[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), now);
    int worst = worst_of(deps, n);
    static const char *levels[] = {"pass", "warn", "fail"};

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", levels[worst]);
    cJSON_AddStringToObject(o, "version", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "releaseId", RTSTATE_VERSION);
    cJSON_AddStringToObject(o, "serviceId", api_config()->service_id);
    cJSON_AddStringToObject(o, "description",
                            "Real-time state service: HTTP API over Redis and MongoDB");
    char out[2048];
    if (deps[0].degraded && (bad_nodes(h->info, out, sizeof out), out[0])) {
        char line[2100];
        snprintf(line, sizeof line, "redis: %s", out);
        cJSON_AddStringToObject(o, "output", line);
    }
    cJSON *checks = cJSON_AddObjectToObject(o, "checks");
    for (int i = 0; i < n; i++)
        add_check(checks, &deps[i], i == 0 ? h : NULL, now);
    if (h->info->mode == STORE_MODE_CLUSTER)
        add_slots(checks, h->info, now);
    add_uptime(checks, now);
    cJSON *services = cJSON_AddObjectToObject(o, "services");
    cJSON_AddStringToObject(services, "redis", redis_service(&deps[0]));
    cJSON_AddStringToObject(services, "mongodb",
                            !mongo_enabled()                  ? "disabled"
                            : n > 1 && deps[1].st == STORE_OK ? "connected"
                                                              : "disconnected");
    free(h->info);

    api_reply_json(r, worst == 2 ? 503 : 200, o);
    if (r->resp && !r->resp_shared) {
        /* replace the generic JSON type with the health format's own */
        MHD_del_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/health+json");
    }
}

void api_health_redis(api_req_t *r) {
    store_health_t h;
    if (!with_nodes(&h)) {
        api_problem(r, 500, "out of memory");
        return;
    }
    dep_t redis = check_redis(&h);
    free(h.info);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status",
                            redis.st != STORE_OK ? "down"
                            : redis.degraded     ? "degraded"
                                                 : "up");
    if (redis.st == STORE_OK)
        cJSON_AddNumberToObject(o, "latency_ms", redis.latency_ms);
    else
        cJSON_AddNullToObject(o, "latency_ms");
    api_reply_json(r, redis.st == STORE_OK ? 200 : 503, o);
}
