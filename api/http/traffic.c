/*
 * HTTP traffic, as the server counts it. Requests are counted in flat arrays
 * of relaxed atomic counters, indexed by [route][method][status] and
 * (latency) [route][method]. A route slot is the first route table entry of
 * its path template, so that the entries of one template (GET, PUT, DELETE
 * /clients/{id}) share their series; slot nroutes is "unmatched". Method
 * slot NMETHOD - 1 is any method the router does not know. Only statuses
 * from a fixed list get a slot of their own; anything else counts as
 * "other" (status 0: the client left). A series is written once it has
 * something to say: a counter once it is not zero, a route's histogram for
 * a method once that method was asked of it.
 */
#include "traffic.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/histogram.h"

static const unsigned statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 409, 411,
                                    413, 414, 415, 422, 429, 431, 500, 501, 503, 505, 0};
#define NSTATUS (sizeof statuses / sizeof statuses[0]) /* the last slot is "other" */
static const char *const method_names[] = {"GET",    "HEAD",  "POST",    "PUT",
                                           "DELETE", "PATCH", "OPTIONS", "other"};
#define NMETHOD (sizeof method_names / sizeof method_names[0]) /* the last slot is "other" */

static const api_route_t *table;
static size_t nroutes;
static size_t *slot_of;        /* [route]: the first route with its pattern */
static atomic_ulong *requests; /* [slot][method][status] */
static core_hist_t *latency;   /* [slot][method] */
static atomic_long in_flight;

void api_traffic_init(const api_route_t *routes, size_t n) {
    table = routes;
    nroutes = n;
    slot_of = calloc(n + 1, sizeof *slot_of);
    requests = calloc((n + 1) * NMETHOD * NSTATUS, sizeof *requests);
    latency = calloc((n + 1) * NMETHOD, sizeof *latency);
    for (size_t r = 0; slot_of && r < n; r++) {
        slot_of[r] = r;
        for (size_t f = 0; f < r; f++)
            if (strcmp(routes[f].pattern, routes[r].pattern) == 0) {
                slot_of[r] = f;
                break;
            }
    }
}

static size_t method_index(api_method_t m) {
    for (size_t i = 0; i + 1 < NMETHOD; i++)
        if ((unsigned)m == 1u << i)
            return i;
    return NMETHOD - 1;
}

static size_t status_index(unsigned status) {
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void api_traffic_begin(void) { atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed); }

long api_traffic_in_flight(void) { return atomic_load(&in_flight); }

void api_traffic_end(const api_route_t *route, api_method_t method, unsigned status,
                     double seconds) {
    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
    if (!requests || !latency || !slot_of)
        return;
    size_t r = route ? (size_t)(route - table) : nroutes;
    r = r < nroutes ? slot_of[r] : nroutes;
    size_t rm = r * NMETHOD + method_index(method);
    atomic_fetch_add_explicit(&requests[rm * NSTATUS + status_index(status)], 1,
                              memory_order_relaxed);
    core_hist_add(&latency[rm], seconds);
}

/* ---- the exposition ---- */

static const char *route_label(size_t r) { return r < nroutes ? table[r].pattern : "unmatched"; }

static void request_counts(api_expo_t *x) {
    api_expo_family(x, "http_requests_total", "counter",
                    "HTTP requests by route template, method, status.");
    for (size_t r = 0; r <= nroutes; r++)
        for (size_t m = 0; m < NMETHOD; m++)
            for (size_t s = 0; s < NSTATUS; s++) {
                unsigned long n = atomic_load_explicit(&requests[(r * NMETHOD + m) * NSTATUS + s],
                                                       memory_order_relaxed);
                if (!n)
                    continue;
                char code[8], route[256];
                snprintf(code, sizeof code, "%u", statuses[s]);
                api_expo_put(x, "http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %lu\n",
                             method_names[m], api_expo_label(route_label(r), route, sizeof route),
                             statuses[s] ? code : "other", n);
            }
}

void api_traffic_write(api_expo_t *x) {
    request_counts(x);
    api_expo_family(x, "http_request_duration_seconds", "histogram",
                    "HTTP request latency by route template and method.");
    for (size_t r = 0; r <= nroutes; r++)
        for (size_t m = 0; m < NMETHOD; m++) {
            core_hist_read_t h;
            core_hist_read(&latency[r * NMETHOD + m], &h);
            if (!h.count)
                continue;
            char route[256], labels[320];
            snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", method_names[m],
                     api_expo_label(route_label(r), route, sizeof route));
            api_expo_histogram(x, "http_request_duration_seconds", labels, &h);
        }
    api_expo_family(x, "http_requests_in_flight", "gauge", "HTTP requests being served now.");
    /* minus one: the scrape itself */
    api_expo_put(x, "http_requests_in_flight %ld\n", atomic_load(&in_flight) - 1);
}

/* Responses with this status, summed over every route and method. */
unsigned long api_traffic_count(unsigned status) {
    unsigned long n = 0;
    size_t s = status_index(status);
    for (size_t r = 0; r <= nroutes; r++)
        for (size_t m = 0; m < NMETHOD; m++)
            n += atomic_load_explicit(&requests[(r * NMETHOD + m) * NSTATUS + s],
                                      memory_order_relaxed);
    return n;
}
