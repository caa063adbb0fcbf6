/*
 * Metrics. Counters live in flat arrays indexed by [route][method][status];
 * route slot nroutes is "unmatched". Only statuses from a fixed list get a
 * slot of their own; anything else counts as "other" (there are none today).
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../mongo/doc.h"
#include "../mongo/pool.h"
#include "../store/conn.h"
#include "../store/health.h"
#include "../store/lease.h"
#include "../store/stats.h"
#include "events.h"
#include "handlers.h"
#include "problem.h"

static const unsigned statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 409, 411,
                                    413, 414, 415, 422, 429, 431, 500, 501, 503, 505, 0};
#define NSTATUS (sizeof statuses / sizeof statuses[0]) /* the last slot is "other" */
#define NMETHOD 7
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5};
#define NBUCKET (sizeof buckets / sizeof buckets[0] + 1) /* + Inf */

static const api_route_t *table;
static size_t nroutes;
static atomic_ulong *requests;  /* [route][method][status] */
static atomic_ulong *histogram; /* [route][bucket] */
static atomic_ullong *sum_us;   /* [route] */
static atomic_long in_flight;
static int64_t started_ms;
/* this process among the instances: its claim on the exporter lease */
static char instance[128];

void api_metrics_init(const api_route_t *routes, size_t n) {
    table = routes;
    nroutes = n;
    requests = calloc((n + 1) * NMETHOD * NSTATUS, sizeof *requests);
    histogram = calloc((n + 1) * NBUCKET, sizeof *histogram);
    sum_us = calloc(n + 1, sizeof *sum_us);
    started_ms = core_now_ms();
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    char rnd[16];
    if (!core_random_id(rnd, sizeof rnd, "", 12))
        snprintf(rnd, sizeof rnd, "%ld", (long)getpid());
    snprintf(instance, sizeof instance, "%s/%d/%s", host, (int)getpid(), rnd);
}

static int method_index(api_method_t m) {
    for (int i = 0; i < NMETHOD; i++)
        if ((unsigned)m == 1u << i)
            return i;
    return 0;
}

static size_t status_index(unsigned status) {
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void api_metrics_begin(void) { atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed); }

long api_metrics_in_flight(void) { return atomic_load(&in_flight); }

void api_metrics_end(const api_route_t *route, api_method_t method, unsigned status,
                     double seconds) {
    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
    if (!requests)
        return;
    size_t r = route ? (size_t)(route - table) : nroutes;
    if (r > nroutes)
        r = nroutes;
    size_t at = (r * NMETHOD + (size_t)method_index(method)) * NSTATUS + status_index(status);
    atomic_fetch_add_explicit(&requests[at], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET - 1 && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&histogram[r * NBUCKET + b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sum_us[r], (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

/* ---- the exposition ---- */

typedef struct {
    char *buf;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (o->buf && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 16384;
        while (cap < o->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b)
            return;
        o->buf = b;
        o->cap = cap;
    }
}

static void header(out_t *o, const char *name, const char *type, const char *help) {
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *route_label(size_t r) { return r < nroutes ? table[r].pattern : "unmatched"; }

static void http_metrics(out_t *o) {
    static const char *mnames[NMETHOD] = {"GET",    "HEAD",  "POST",   "PUT",
                                          "DELETE", "PATCH", "OPTIONS"};
    header(o, "http_requests_total", "counter", "HTTP requests by route template, method, status.");
    for (size_t r = 0; r <= nroutes; r++)
        for (size_t m = 0; m < NMETHOD; m++)
            for (size_t s = 0; s < NSTATUS; s++) {
                unsigned long n = atomic_load_explicit(&requests[(r * NMETHOD + m) * NSTATUS + s],
                                                       memory_order_relaxed);
                if (!n)
                    continue;
                char code[8];
                snprintf(code, sizeof code, "%u", statuses[s]);
                put(o, "http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %lu\n",
                    mnames[m], route_label(r), statuses[s] ? code : "other", n);
            }
    header(o, "http_request_duration_seconds", "histogram", "HTTP request latency by route.");
    for (size_t r = 0; r <= nroutes; r++) {
        unsigned long cumulative = 0;
        for (size_t b = 0; b < NBUCKET; b++)
            cumulative += atomic_load_explicit(&histogram[r * NBUCKET + b], memory_order_relaxed);
        if (!cumulative)
            continue;
        unsigned long total = cumulative;
        cumulative = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cumulative += atomic_load_explicit(&histogram[r * NBUCKET + b], memory_order_relaxed);
            if (b < NBUCKET - 1)
                put(o, "http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
                    route_label(r), buckets[b], cumulative);
            else
                put(o, "http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
                    route_label(r), total);
        }
        put(o, "http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(r),
            (double)atomic_load(&sum_us[r]) / 1e6);
        put(o, "http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_label(r), total);
    }
    header(o, "http_requests_in_flight", "gauge", "HTTP requests being served now.");
    /* minus one: the scrape itself */
    put(o, "http_requests_in_flight %ld\n", atomic_load(&in_flight) - 1);
}

/* Responses with this status, summed over every route and method. */
static unsigned long count_status(unsigned status) {
    unsigned long n = 0;
    size_t s = status_index(status);
    for (size_t r = 0; r <= nroutes; r++)
        for (size_t m = 0; m < NMETHOD; m++)
            n += atomic_load_explicit(&requests[(r * NMETHOD + m) * NSTATUS + s],
                                      memory_order_relaxed);
    return n;
}

/* A label value as the exposition format wants it: \ " and newline escaped. */
static const char *label(const char *v, char *out, size_t cap) {
    size_t n = 0;
    for (; *v && n + 2 < cap; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n')
            out[n++] = '\\';
        out[n++] = *v == '\n' ? 'n' : *v;
    }
    out[n] = '\0';
    return out;
}

/* This instance's view of Redis: the probe of every bucket, and in a
 * cluster the cluster's state and each node's. Every instance exports these
 * (each sees Redis from where it is): aggregate them with max or min, never
 * sum. */
static void redis_metrics(out_t *o, store_status_t st, const store_health_t *h) {
    header(o, "redis_up", "gauge",
           "1 when every bucket's Redis server (every master of a cluster) answered this scrape.");
    put(o, "redis_up %d\n", st == STORE_OK && h->buckets_down == 0);
    header(o, "redis_command_errors_total", "counter", "Redis commands that failed.");
    put(o, "redis_command_errors_total %lu\n", store_conn_errors());
    header(o, "redis_reconnects_total", "counter", "Redis connections made again after a loss.");
    put(o, "redis_reconnects_total %lu\n", store_conn_reconnects());
    const store_cluster_info_t *info = h->info;
    if (info->mode != STORE_MODE_CLUSTER)
        return;
    header(o, "redis_cluster_state_ok", "gauge", "1 when CLUSTER INFO says cluster_state:ok.");
    put(o, "redis_cluster_state_ok %d\n", info->have_info && strcmp(info->state, "ok") == 0);
    header(o, "redis_cluster_slots", "gauge", "Hash slots by state, as CLUSTER INFO counts them.");
    put(o, "redis_cluster_slots{state=\"ok\"} %ld\n", info->slots_ok);
    put(o, "redis_cluster_slots{state=\"pfail\"} %ld\n", info->slots_pfail);
    put(o, "redis_cluster_slots{state=\"fail\"} %ld\n", info->slots_fail);
    header(o, "redis_cluster_slots_served", "gauge",
           "Hash slots this instance routes to a master that is up.");
    put(o, "redis_cluster_slots_served %d\n", info->slots_up);
    header(o, "redis_node_up", "gauge",
           "Per cluster node: 1 unless it failed to answer or the cluster marks it failing.");
    for (int i = 0; i < info->nnodes; i++) {
        const store_node_info_t *n = &info->nodes[i];
        char a[STORE_ADDR_MAX * 2];
        put(o, "redis_node_up{node=\"%s\",role=\"%s\"} %d\n", label(n->addr, a, sizeof a),
            n->role[0] ? n->role : "master", !(n->state == STORE_NODE_DOWN || n->failing));
    }
    header(o, "redis_node_slots", "gauge",
           "Per cluster node: hash slots this instance routes to it.");
    for (int i = 0; i < info->nnodes; i++) {
        char a[STORE_ADDR_MAX * 2];
        put(o, "redis_node_slots{node=\"%s\"} %d\n", label(info->nodes[i].addr, a, sizeof a),
            info->nodes[i].slots);
    }
}

/* The figures every instance would read from Redis alike: exported by the
 * one instance that holds the exporter lease (store/lease.h), so that a sum
 * over the instances counts them once; and only when every bucket's
 * counters could be read (absent rather than short). */
static void redis_wide_metrics(out_t *o, store_status_t st) {
    bool exporter = false;
    if (st == STORE_OK && store_lease_hold(KEY_METRICS_EXPORTER, instance,
                                           api_config()->metrics_lease_ms, &exporter) != STORE_OK)
        exporter = false;
    header(o, "rtstate_metrics_exporter", "gauge",
           "1 on the one instance that exports the rtstate_* figures read from Redis.");
    put(o, "rtstate_metrics_exporter %d\n", exporter);
    store_stats_t *s = exporter ? malloc(sizeof *s) : NULL;
    if (!s || store_stats_get(core_now_ms(), s, NULL) != STORE_OK || s->buckets_missing) {
        free(s);
        return;
    }
    header(o, "rtstate_clients", "gauge", "Webcam clients connected.");
    put(o, "rtstate_clients %lld\n", s->total_clients);
    header(o, "rtstate_online_users", "gauge", "Users online now.");
    put(o, "rtstate_online_users %lld\n", s->online_users);
    header(o, "rtstate_notification_queue_length", "gauge",
           "Notifications waiting for a sender process, by priority.");
    put(o, "rtstate_notification_queue_length{priority=\"high\"} %lld\n",
        s->notification_queue_high);
    put(o, "rtstate_notification_queue_length{priority=\"normal\"} %lld\n",
        s->notification_queue_normal);
    header(o, "rtstate_frames_total", "counter", "Frames stored, by every instance.");
    put(o, "rtstate_frames_total %lld\n", s->total_frames);
    header(o, "rtstate_inactive_clients_removed_total", "counter",
           "Silent clients removed by the reaper, by every instance.");
    put(o, "rtstate_inactive_clients_removed_total %lld\n", s->removed_inactive);
    free(s);
}

static void dependency_metrics(out_t *o) {
    store_health_t h = {.info = malloc(sizeof *h.info)};
    store_status_t st = h.info ? store_health_probe(&h) : STORE_ERROR;
    if (h.info)
        redis_metrics(o, st, &h);
    free(h.info);
    header(o, "mongodb_up", "gauge", "1 when MongoDB answered its last check (0 if disabled).");
    put(o, "mongodb_up %d\n", mongo_up());
    header(o, "mongodb_schema_errors_total", "counter",
           "Stored documents skipped because they break their collection's schema.");
    static const char *const colls[] = MONGO_SCHEMA_COLLECTIONS;
    for (int i = 0; i < (int)(sizeof colls / sizeof colls[0]); i++)
        put(o, "mongodb_schema_errors_total{collection=\"%s\"} %lu\n", colls[i],
            mongo_schema_errors(i));
    header(o, "rtstate_rate_limited_total", "counter", "Requests refused with 429.");
    put(o, "rtstate_rate_limited_total %lu\n", count_status(429));
    redis_wide_metrics(o, st);
}

/* ---- the event stream (GET /events, api/events.c): this instance's ---- */

static void events_metrics(out_t *o) {
    header(o, "rtstate_events_subscribers", "gauge", "GET /events streams open on this instance.");
    put(o, "rtstate_events_subscribers %ld\n", api_events_subscribers());
    header(o, "rtstate_events_dropped_total", "counter",
           "Event streams this instance closed because their client fell EVENTS_MAX_LAG behind.");
    put(o, "rtstate_events_dropped_total %lu\n", api_events_dropped());
    header(o, "rtstate_events_read_total", "counter",
           "Events this instance's pump read from the streams (published by every instance).");
    put(o, "rtstate_events_read_total %lu\n", store_events_read_total());
    header(o, "rtstate_events_delivered_total", "counter",
           "Events this instance wrote to its subscribers (one per subscriber and event).");
    put(o, "rtstate_events_delivered_total %lu\n", api_events_delivered());
}

static void process_metrics(out_t *o) {
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
    header(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    put(o, "process_resident_memory_bytes %ld\n", rss * sysconf(_SC_PAGESIZE));
    header(o, "process_open_fds", "gauge", "Open file descriptors.");
    put(o, "process_open_fds %d\n", fds);
    header(o, "process_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
    put(o, "process_start_time_seconds %.3f\n", (double)started_ms / 1e3);
    header(o, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
    put(o, "process_cpu_seconds_total %.3f\n", cpu);
}

void api_metrics_get(api_req_t *r) {
    out_t o = {0};
    http_metrics(&o);
    dependency_metrics(&o);
    events_metrics(&o);
    process_metrics(&o);
    if (!o.buf) {
        api_problem(r, 500, "out of memory while writing metrics");
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(o.len, o.buf, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(o.buf);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
    api_reply(r, 200, resp);
    r->resp_bytes = o.len;
}
