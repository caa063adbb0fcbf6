/* The store's health: one probe of every bucket; see health.h. */
#include "health.h"

#include <string.h>
#include <time.h>

#include "batch.h"
#include "keys.h"
#include "nodes.h"

store_status_t store_health_probe(store_health_t *out) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* one server serves every bucket: one read says it (and learns the mode) */
    int n = store_nodes_cluster() ? STORE_BUCKETS : 1;
    store_batch_t batch;
    store_batch_init(&batch, n);
    for (int b = 0; b < n; b++) {
        store_args_t *q = store_batch_add(&batch);
        store_args_str(q, "EXISTS");
        store_args_index(q, KEY_STATS, b); /* any key of the bucket's slot will do */
    }
    store_status_t each[STORE_BUCKETS];
    store_status_t st = store_batch_run_each(&batch, each);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    store_batch_free(&batch);
    out->latency_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    int failed = 0;
    for (int b = 0; b < n; b++)
        failed += each[b] != STORE_OK;
    out->buckets_down = failed * (STORE_BUCKETS / n);
    /* after the probe: it marked the masters that failed as down */
    bool all = !out->info || store_nodes_info(out->info) == STORE_OK;
    out->degraded = out->buckets_down > 0 || !all;
    return failed < n ? STORE_OK : st;
}
