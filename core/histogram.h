/*
 * A latency histogram that any number of threads add to without a lock:
 * relaxed atomic counters per bucket, and the sum in microseconds. A reader
 * (a scrape of /metrics) takes a copy with cumulative counts; the copy may
 * sit between two concurrent additions, never inside one bucket's count.
 *
 * Every histogram here has the same bounds, 0.5 ms to 5 s (CORE_HIST_BOUNDS),
 * so that HTTP and MongoDB latencies compare bucket for bucket.
 */
#ifndef CORE_HISTOGRAM_H
#define CORE_HISTOGRAM_H

#include <stdatomic.h>

#define CORE_HIST_BOUNDS 13                      /* finite upper bounds */
#define CORE_HIST_BUCKETS (CORE_HIST_BOUNDS + 1) /* and +Inf */

/* The upper bounds in seconds, ascending. */
extern const double core_hist_bounds[CORE_HIST_BOUNDS];

/* Zeroed (static storage or calloc) is empty and ready. */
typedef struct {
    atomic_ulong bucket[CORE_HIST_BUCKETS]; /* not cumulative: the observations in each */
    atomic_ullong sum_us;
} core_hist_t;

/* A reading: le[i] counts observations <= core_hist_bounds[i] (cumulative);
 * count is every observation (the +Inf bucket); sum in seconds. */
typedef struct {
    unsigned long le[CORE_HIST_BOUNDS];
    unsigned long count;
    double sum;
} core_hist_read_t;

/* Adds one observation of seconds (a negative one counts as 0). */
void core_hist_add(core_hist_t *h, double seconds);

/* Reads h into *out. */
void core_hist_read(const core_hist_t *h, core_hist_read_t *out);

#endif
