/*
 * GET /metrics: the Prometheus exposition of this instance (text, or
 * OpenMetrics when asked: exposition.h): build info, the HTTP traffic
 * (http/traffic.h), Redis and MongoDB as this instance sees them, the
 * figures read from Redis (by the lease holder only), the event stream's
 * counters and the process's. Every series is written once it has something
 * to say (MongoDB's per operation once that operation ran).
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/histogram.h"
#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../mongo/doc.h"
#include "../mongo/monitor.h"
#include "../mongo/pool.h"
#include "../store/conn.h"
#include "../store/health.h"
#include "../store/lease.h"
#include "../store/stats.h"
#include "events.h"
#include "http/exposition.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/service.h"
#include "http/traffic.h"

/* the commit the binary was built from: the Makefile passes it */
#ifndef RTSTATE_REVISION
#define RTSTATE_REVISION "unknown"
#endif
#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif

static void build_info(api_expo_t *x) {
    char revision[96], compiler[160];
    api_expo_family(x, "rtstate_build_info", "gauge",
                    "Always 1; the labels say which build of rtstate this is.");
    api_expo_put(x, "rtstate_build_info{version=\"%s\",revision=\"%s\",compiler=\"%s\"} 1\n",
                 RTSTATE_VERSION, api_expo_label(RTSTATE_REVISION, revision, sizeof revision),
                 api_expo_label(COMPILER, compiler, sizeof compiler));
}

/* This process among the instances, "host/pid/random": its claim on the
 * exporter lease. */
static char instance[128];
static pthread_once_t instance_once = PTHREAD_ONCE_INIT;

static void instance_make(void) {
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    char rnd[16];
    if (!core_random_id(rnd, sizeof rnd, "", 12))
        snprintf(rnd, sizeof rnd, "%ld", (long)getpid());
    snprintf(instance, sizeof instance, "%s/%d/%s", host, (int)getpid(), rnd);
}

static const char *instance_id(void) {
    pthread_once(&instance_once, instance_make);
    return instance;
}

/* This instance's view of Redis: the probe of every bucket, and in a
 * cluster the cluster's state and each node's. Every instance exports these
 * (each sees Redis from where it is): aggregate them with max or min, never
 * sum. */
static void redis_metrics(api_expo_t *x, store_status_t st, const store_health_t *h) {
    api_expo_family(
        x, "redis_up", "gauge",
        "1 when every bucket's Redis server (every master of a cluster) answered this scrape.");
    api_expo_put(x, "redis_up %d\n", st == STORE_OK && h->buckets_down == 0);
    api_expo_family(x, "redis_command_errors_total", "counter", "Redis commands that failed.");
    api_expo_put(x, "redis_command_errors_total %lu\n", store_conn_errors());
    api_expo_family(x, "redis_reconnects_total", "counter",
                    "Redis connections made again after a loss.");
    api_expo_put(x, "redis_reconnects_total %lu\n", store_conn_reconnects());
    const store_cluster_info_t *info = h->info;
    if (info->mode != STORE_MODE_CLUSTER)
        return;
    api_expo_family(x, "redis_cluster_state_ok", "gauge",
                    "1 when CLUSTER INFO says cluster_state:ok.");
    api_expo_put(x, "redis_cluster_state_ok %d\n",
                 info->have_info && strcmp(info->state, "ok") == 0);
    api_expo_family(x, "redis_cluster_slots", "gauge",
                    "Hash slots by state, as CLUSTER INFO counts them.");
    api_expo_put(x, "redis_cluster_slots{state=\"ok\"} %ld\n", info->slots_ok);
    api_expo_put(x, "redis_cluster_slots{state=\"pfail\"} %ld\n", info->slots_pfail);
    api_expo_put(x, "redis_cluster_slots{state=\"fail\"} %ld\n", info->slots_fail);
    api_expo_family(x, "redis_cluster_slots_served", "gauge",
                    "Hash slots this instance routes to a master that is up.");
    api_expo_put(x, "redis_cluster_slots_served %d\n", info->slots_up);
    api_expo_family(
        x, "redis_node_up", "gauge",
        "Per cluster node: 1 unless it failed to answer or the cluster marks it failing.");
    for (int i = 0; i < info->nnodes; i++) {
        const store_node_info_t *n = &info->nodes[i];
        char a[STORE_ADDR_MAX * 2];
        api_expo_put(x, "redis_node_up{node=\"%s\",role=\"%s\"} %d\n",
                     api_expo_label(n->addr, a, sizeof a), n->role[0] ? n->role : "master",
                     !(n->state == STORE_NODE_DOWN || n->failing));
    }
    api_expo_family(x, "redis_node_slots", "gauge",
                    "Per cluster node: hash slots this instance routes to it.");
    for (int i = 0; i < info->nnodes; i++) {
        char a[STORE_ADDR_MAX * 2];
        api_expo_put(x, "redis_node_slots{node=\"%s\"} %d\n",
                     api_expo_label(info->nodes[i].addr, a, sizeof a), info->nodes[i].slots);
    }
}

/* The figures every instance would read from Redis alike: exported by the
 * one instance that holds the exporter lease (store/lease.h), so that a sum
 * over the instances counts them once; and only when every bucket's
 * counters could be read (absent rather than short). */
static void redis_wide_metrics(api_expo_t *x, store_status_t st) {
    bool exporter = false;
    if (st == STORE_OK && store_lease_hold(KEY_METRICS_EXPORTER, instance_id(),
                                           api_config()->metrics_lease_ms, &exporter) != STORE_OK)
        exporter = false;
    api_expo_family(x, "rtstate_metrics_exporter", "gauge",
                    "1 on the one instance that exports the rtstate_* figures read from Redis.");
    api_expo_put(x, "rtstate_metrics_exporter %d\n", exporter);
    store_stats_t *s = exporter ? malloc(sizeof *s) : NULL;
    if (!s || store_stats_get(core_now_ms(), s, NULL) != STORE_OK || s->buckets_missing) {
        free(s);
        return;
    }
    api_expo_family(x, "rtstate_clients", "gauge", "Webcam clients connected.");
    api_expo_put(x, "rtstate_clients %lld\n", s->total_clients);
    api_expo_family(x, "rtstate_online_users", "gauge", "Users online now.");
    api_expo_put(x, "rtstate_online_users %lld\n", s->online_users);
    api_expo_family(x, "rtstate_notification_queue_length", "gauge",
                    "Notifications waiting for a sender process, by priority.");
    api_expo_put(x, "rtstate_notification_queue_length{priority=\"high\"} %lld\n",
                 s->notification_queue_high);
    api_expo_put(x, "rtstate_notification_queue_length{priority=\"normal\"} %lld\n",
                 s->notification_queue_normal);
    api_expo_family(x, "rtstate_frames_total", "counter", "Frames stored, by every instance.");
    api_expo_put(x, "rtstate_frames_total %lld\n", s->total_frames);
    api_expo_family(x, "rtstate_inactive_clients_removed_total", "counter",
                    "Silent clients removed by the reaper, by every instance.");
    api_expo_put(x, "rtstate_inactive_clients_removed_total %lld\n", s->removed_inactive);
    free(s);
}

/* Per MongoDB operation (mongo/monitor.h), once it has run: its latency,
 * and its failures (0 until one fails). */
static void operation_metrics(api_expo_t *x) {
    core_hist_read_t h[MONGO_CMD_N];
    for (int c = 0; c < MONGO_CMD_N; c++)
        core_hist_read(mongo_monitor_latency((mongo_cmd_t)c), &h[c]);
    api_expo_family(x, "mongodb_operation_duration_seconds", "histogram",
                    "MongoDB command round trips by operation (the command's name).");
    for (int c = 0; c < MONGO_CMD_N; c++)
        if (h[c].count) {
            char labels[64];
            snprintf(labels, sizeof labels, "op=\"%s\"", mongo_cmd_name((mongo_cmd_t)c));
            api_expo_histogram(x, "mongodb_operation_duration_seconds", labels, &h[c]);
        }
    api_expo_family(x, "mongodb_operation_errors_total", "counter",
                    "MongoDB commands that were sent and failed (a duplicate key aside), by "
                    "operation.");
    for (int c = 0; c < MONGO_CMD_N; c++)
        if (h[c].count)
            api_expo_put(x, "mongodb_operation_errors_total{op=\"%s\"} %lu\n",
                         mongo_cmd_name((mongo_cmd_t)c), mongo_monitor_failures((mongo_cmd_t)c));
}

static void dependency_metrics(api_expo_t *x) {
    store_health_t h = {.info = malloc(sizeof *h.info)};
    store_status_t st = h.info ? store_health_probe(&h) : STORE_ERROR;
    if (h.info)
        redis_metrics(x, st, &h);
    free(h.info);
    operation_metrics(x);
    api_expo_family(x, "mongodb_up", "gauge",
                    "1 when MongoDB answered its last check (0 if disabled).");
    api_expo_put(x, "mongodb_up %d\n", mongo_up());
    api_expo_family(x, "mongodb_schema_errors_total", "counter",
                    "Stored documents skipped because they break their collection's schema.");
    static const char *const colls[] = MONGO_SCHEMA_COLLECTIONS;
    for (int i = 0; i < (int)(sizeof colls / sizeof colls[0]); i++)
        api_expo_put(x, "mongodb_schema_errors_total{collection=\"%s\"} %lu\n", colls[i],
                     mongo_schema_errors(i));
    api_expo_family(x, "rtstate_rate_limited_total", "counter", "Requests refused with 429.");
    api_expo_put(x, "rtstate_rate_limited_total %lu\n", api_traffic_count(429));
    redis_wide_metrics(x, st);
}

/* ---- the event stream (GET /events, api/events.c): this instance's ---- */

static void events_metrics(api_expo_t *x) {
    api_expo_family(x, "rtstate_events_subscribers", "gauge",
                    "GET /events streams open on this instance.");
    api_expo_put(x, "rtstate_events_subscribers %ld\n", api_events_subscribers());
    api_expo_family(
        x, "rtstate_events_dropped_total", "counter",
        "Event streams this instance closed because their client fell EVENTS_MAX_LAG behind.");
    api_expo_put(x, "rtstate_events_dropped_total %lu\n", api_events_dropped());
    api_expo_family(
        x, "rtstate_events_read_total", "counter",
        "Events this instance's pump read from the streams (published by every instance).");
    api_expo_put(x, "rtstate_events_read_total %lu\n", store_events_read_total());
    api_expo_family(
        x, "rtstate_events_delivered_total", "counter",
        "Events this instance wrote to its subscribers (one per subscriber and event).");
    api_expo_put(x, "rtstate_events_delivered_total %lu\n", api_events_delivered());
}

static void process_metrics(api_expo_t *x) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory itself */
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    api_expo_family(x, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    api_expo_put(x, "process_resident_memory_bytes %ld\n", rss * sysconf(_SC_PAGESIZE));
    api_expo_family(x, "process_open_fds", "gauge", "Open file descriptors.");
    api_expo_put(x, "process_open_fds %d\n", fds);
    api_expo_family(x, "process_start_time_seconds", "gauge",
                    "Start time, seconds since the epoch.");
    api_expo_put(x, "process_start_time_seconds %.3f\n", (double)api_started_ms() / 1e3);
    api_expo_family(x, "process_cpu_seconds_total", "counter",
                    "User and system CPU time in seconds.");
    api_expo_put(x, "process_cpu_seconds_total %.3f\n", cpu);
}

void api_metrics_get(api_req_t *r) {
    api_expo_t x;
    api_expo_form_t form = api_expo_negotiate(api_header(r, MHD_HTTP_HEADER_ACCEPT));
    api_expo_init(&x, form);
    build_info(&x);
    api_traffic_write(&x);
    dependency_metrics(&x);
    events_metrics(&x);
    process_metrics(&x);
    size_t len;
    char *text = api_expo_finish(&x, &len);
    if (!text) {
        api_problem(r, 500, "out of memory while writing metrics");
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            form == API_EXPO_OPENMETRICS ? API_EXPO_OPENMETRICS_TYPE
                                                         : API_EXPO_TEXT_TYPE);
    /* the form depends on Accept: caches keep the two apart */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    api_reply(r, 200, resp);
    r->resp_bytes = len;
}
