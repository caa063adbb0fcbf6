/*
 * Whether the store can serve, for /health, /readyz, /redis/health and
 * /metrics: one probe of every bucket (a cheap read of a key in each of the
 * 16 buckets, in one call: each master that serves a bucket is asked at
 * once, so the probe costs one round trip, and a master that is down or
 * stalled costs its own buckets only), then the cluster's state as this
 * instance sees it after the probe (store_cluster_info: each node up or
 * down, the slots routed to it, the cluster's own CLUSTER INFO).
 *
 * Standalone, the one server serves every bucket: one read of one bucket
 * says whether it answers.
 */
#ifndef STORE_HEALTH_H
#define STORE_HEALTH_H

#include <stdbool.h>

#include "cluster.h"
#include "status.h"

typedef struct {
    double latency_ms; /* the probe's round trip (when some bucket answered) */
    int buckets_down;  /* buckets whose master did not answer (0 .. 16) */
    /* some slot is not served: a bucket down, a slot with no master or
     * routed to a master that is down, or the cluster itself not "ok" */
    bool degraded;
    /* the nodes and the cluster's state after the probe: the caller's (about
     * 32 kB: allocate it), or NULL when not wanted (then degraded only means
     * a bucket did not answer) */
    store_cluster_info_t *info;
} store_health_t;

/* Probes every bucket and fills *out (out->info too, when not NULL).
 * STORE_OK when at least one bucket's master answered (then see degraded);
 * else why none did (STORE_UNAVAILABLE: Redis unreachable, stalled or not
 * serving; STORE_ERROR: an error reply, or a configuration the store
 * refuses), and *out still says what is known. */
store_status_t store_health_probe(store_health_t *out);

#endif
