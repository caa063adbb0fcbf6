/* Lock-free latency histograms; see histogram.h. */
#include "histogram.h"

const double core_hist_bounds[CORE_HIST_BOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5};

void core_hist_add(core_hist_t *h, double seconds) {
    if (!(seconds > 0)) /* negative, or NaN */
        seconds = 0;
    int b = 0;
    while (b < CORE_HIST_BOUNDS && seconds > core_hist_bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
}

void core_hist_read(const core_hist_t *h, core_hist_read_t *out) {
    unsigned long n = 0;
    for (int b = 0; b < CORE_HIST_BUCKETS; b++) {
        n += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
        if (b < CORE_HIST_BOUNDS)
            out->le[b] = n;
    }
    out->count = n;
    out->sum = (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6;
}
