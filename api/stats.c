/*
 * /redis/stats: Redis's own figures and the application's counters. In a
 * Redis Cluster, the figures are every master's added up, and "cluster"
 * lists the nodes (each master with its own figures) and the cluster's
 * state; a master that is down leaves its figures and its buckets' counters
 * out, and says so, rather than making the whole answer a 503.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/redis_url.h"
#include "../core/timefmt.h"
#include "../store/stats.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/service.h"

static void add_redis(cJSON *o, const store_stats_t *s) {
    core_redis_url_t url;
    char redacted[512] = "";
    if (core_redis_url_parse(api_config()->redis_url, &url, NULL))
        core_redis_url_redact(&url, redacted, sizeof redacted);
    cJSON *rd = cJSON_AddObjectToObject(o, "redis");
    cJSON_AddTrueToObject(rd, "connected");
    cJSON_AddStringToObject(rd, "url", redacted);
    cJSON_AddStringToObject(rd, "version", s->version);
    cJSON_AddNumberToObject(rd, "uptime_s", (double)s->uptime_s);
    cJSON_AddNumberToObject(rd, "connected_clients", (double)s->connected_clients);
    cJSON_AddNumberToObject(rd, "used_memory_bytes", (double)s->used_memory_bytes);
    cJSON_AddStringToObject(rd, "used_memory_human", s->used_memory_human);
    cJSON_AddNumberToObject(rd, "ops_per_sec", (double)s->ops_per_sec);
    cJSON_AddNumberToObject(rd, "keyspace_hits", (double)s->keyspace_hits);
    cJSON_AddNumberToObject(rd, "keyspace_misses", (double)s->keyspace_misses);
    cJSON_AddNumberToObject(rd, "keys", (double)s->keys);
}

static void add_app(cJSON *o, const store_stats_t *s) {
    cJSON *app = cJSON_AddObjectToObject(o, "app");
    cJSON_AddNumberToObject(app, "total_clients", (double)s->total_clients);
    cJSON_AddNumberToObject(app, "online_users", (double)s->online_users);
    cJSON_AddNumberToObject(app, "total_frames", (double)s->total_frames);
    cJSON_AddNumberToObject(app, "removed_inactive", (double)s->removed_inactive);
    cJSON *queues = cJSON_AddObjectToObject(app, "notification_queues");
    cJSON_AddNumberToObject(queues, "high", (double)s->notification_queue_high);
    cJSON_AddNumberToObject(queues, "normal", (double)s->notification_queue_normal);
    cJSON_AddNumberToObject(app, "active_sessions", (double)s->active_sessions);
    cJSON_AddNumberToObject(app, "active_rooms", (double)s->active_rooms);
    cJSON_AddNumberToObject(app, "missing_buckets", s->buckets_missing);
}

/* The master's own figures, when it is one of s's masters and answered. */
static void add_server(cJSON *node, const store_stats_t *s, const char *addr) {
    for (int i = 0; i < s->nmasters; i++) {
        const store_stats_master_t *m = &s->masters[i];
        if (strcmp(m->addr, addr) != 0 || !m->up)
            continue;
        cJSON *sv = cJSON_AddObjectToObject(node, "server");
        cJSON_AddStringToObject(sv, "version", m->version);
        cJSON_AddNumberToObject(sv, "uptime_s", (double)m->uptime_s);
        cJSON_AddNumberToObject(sv, "connected_clients", (double)m->connected_clients);
        cJSON_AddNumberToObject(sv, "used_memory_bytes", (double)m->used_memory_bytes);
        cJSON_AddNumberToObject(sv, "ops_per_sec", (double)m->ops_per_sec);
        cJSON_AddNumberToObject(sv, "keys", (double)m->keys);
        return;
    }
    cJSON_AddNullToObject(node, "server");
}

static void add_node(cJSON *nodes, const store_node_info_t *n, const store_stats_t *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "address", n->addr);
    if (n->role[0])
        cJSON_AddStringToObject(o, "role", n->role);
    else
        cJSON_AddNullToObject(o, "role");
    cJSON_AddStringToObject(o, "state",
                            n->state == STORE_NODE_UP     ? "up"
                            : n->state == STORE_NODE_DOWN ? "down"
                                                          : "unused");
    cJSON_AddBoolToObject(o, "failing", n->failing);
    cJSON_AddNumberToObject(o, "slots", n->slots);
    if (n->last_error[0]) {
        char at[CORE_ISO8601_LEN];
        core_iso8601(n->failed_at_ms, at);
        cJSON_AddStringToObject(o, "last_error", n->last_error);
        cJSON_AddStringToObject(o, "failed_at", at);
    } else {
        cJSON_AddNullToObject(o, "last_error");
        cJSON_AddNullToObject(o, "failed_at");
    }
    add_server(o, s, n->addr);
    cJSON_AddItemToArray(nodes, o);
}

static void add_cluster(cJSON *o, const store_stats_t *s, const store_cluster_info_t *info) {
    if (!s->cluster) {
        cJSON_AddNullToObject(o, "cluster");
        return;
    }
    cJSON *c = cJSON_AddObjectToObject(o, "cluster");
    if (info->have_info)
        cJSON_AddStringToObject(c, "state", info->state);
    else
        cJSON_AddNullToObject(c, "state");
    cJSON_AddNumberToObject(c, "slots_assigned", (double)info->slots_assigned);
    cJSON_AddNumberToObject(c, "slots_ok", (double)info->slots_ok);
    cJSON_AddNumberToObject(c, "slots_pfail", (double)info->slots_pfail);
    cJSON_AddNumberToObject(c, "slots_fail", (double)info->slots_fail);
    cJSON_AddNumberToObject(c, "known_nodes", (double)info->known_nodes);
    cJSON_AddNumberToObject(c, "size", (double)info->size);
    cJSON_AddNumberToObject(c, "slots_served", info->slots_up);
    cJSON_AddNumberToObject(c, "slots_down", info->slots_down);
    cJSON_AddNumberToObject(c, "slots_unrouted", info->slots_unrouted);
    cJSON_AddNumberToObject(c, "masters_down", s->masters_down);
    cJSON *nodes = cJSON_AddArrayToObject(c, "nodes");
    for (int i = 0; i < info->nnodes; i++)
        add_node(nodes, &info->nodes[i], s);
}

void api_stats_get(api_req_t *r) {
    store_stats_t *s = malloc(sizeof *s);
    store_cluster_info_t *info = malloc(sizeof *info);
    store_status_t st = s && info ? store_stats_get(core_now_ms(), s, info) : STORE_ERROR;
    if (st != STORE_OK) {
        api_problem_store(r, st, "Redis statistics");
    } else {
        cJSON *o = cJSON_CreateObject();
        add_redis(o, s);
        add_app(o, s);
        add_cluster(o, s, info);
        api_reply_json(r, 200, o);
    }
    free(s);
    free(info);
}
