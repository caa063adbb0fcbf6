/*
 * Redis itself (PING, INFO) and the application's counters kept in Redis,
 * which survive a restart and add up across instances. The counters are
 * kept per bucket (keys.h), next to what they count, and added up here.
 *
 * In a Redis Cluster every master is asked for its INFO and DBSIZE, and the
 * server figures are the masters' added up; the bucket counters are read
 * from each bucket's master. A master that is down leaves its own figures
 * and its buckets' counters out (the answer says how many), and the rest is
 * still reported.
 */
#ifndef STORE_STATS_H
#define STORE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "link.h"
#include "status.h"

#define STORE_STATS_MASTERS                                                                        \
    16 /* masters reported one by one (the buckets: 16 at most hold data)                          \
        */

/* One master's own figures (a cluster's). */
typedef struct {
    char addr[STORE_ADDR_MAX]; /* host:port */
    bool up;                   /* it answered INFO and DBSIZE; the rest is 0 when not */
    char version[32];
    long long uptime_s;
    long long connected_clients;
    long long used_memory_bytes;
    long long ops_per_sec;
    long long keys;
} store_stats_master_t;

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
    long long active_sessions; /* sessions not expired (sessions:expiry) */
    long long active_rooms;    /* rooms not ended (rooms:expiry) */
    /* buckets whose counters could not be read (their master is down): the
     * application's figures above leave them out; 0 when complete */
    int buckets_missing;
    /* a Redis Cluster: the server figures above are the masters' added up
     * (version: the first master's; uptime_s: the shortest; used_memory_human
     * written for the sum, as Redis writes it), over the masters that
     * answered; each master's own are in masters[] */
    bool cluster;
    int nmasters;     /* entries in masters[] */
    int masters_down; /* of those, how many did not answer */
    store_stats_master_t masters[STORE_STATS_MASTERS];
} store_stats_t;

/* PING; *latency_ms is the round trip on success. */
store_status_t store_ping(double *latency_ms);

/* Everything in store_stats_t. Standalone: INFO, DBSIZE and the counters of
 * every bucket in one round trip. A cluster: INFO and DBSIZE of each master,
 * then every bucket's counters in one call. STORE_OK when the server (some
 * master, in a cluster) answered: see buckets_missing and masters_down for
 * what is left out; else the failure, and *out says nothing. With info not
 * NULL, also fills *info (store_cluster_info, about 32 kB: the caller
 * allocates it) with the nodes' and the cluster's state as the reads left
 * them, whatever the outcome. */
store_status_t store_stats_get(int64_t now_ms, store_stats_t *out, store_cluster_info_t *info);

/* Writes bytes the way INFO's used_memory_human does ("1.05M", "512B"). */
void store_stats_human_bytes(long long bytes, char *out, size_t cap);

/* Parses the fields store_stats_t wants out of an INFO reply's text. */
void store_stats_parse_info(const char *info, store_stats_t *out);

#endif
