/*
 * Redis itself (PING, INFO) and the application's counters kept in Redis,
 * which survive a restart and add up across instances. The counters are
 * kept per bucket (keys.h), next to what they count, and added up here.
 */
#ifndef STORE_STATS_H
#define STORE_STATS_H

#include <stdint.h>

#include "status.h"

typedef struct {
    char version[32];
    long long uptime_s;
    long long connected_clients;
    long long used_memory_bytes;
    char used_memory_human[32];
    long long ops_per_sec;
    long long keyspace_hits;
    long long keyspace_misses;
    long long keys; /* in the selected database (every master's, in a cluster) */
    /* the application's own */
    long long total_clients;
    long long online_users;
    long long total_frames;
    long long removed_inactive;
    long long notification_queue_high; /* notifications waiting for a sender */
    long long notification_queue_normal;
} store_stats_t;

/* PING; *latency_ms is the round trip on success. */
store_status_t store_ping(double *latency_ms);

/* Everything in store_stats_t: INFO and DBSIZE, then the counters of
 * every bucket in one round trip. */
store_status_t store_stats_get(int64_t now_ms, store_stats_t *out);

/* Parses the fields store_stats_t wants out of an INFO reply's text. */
void store_stats_parse_info(const char *info, store_stats_t *out);

#endif
