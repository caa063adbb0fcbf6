/*
 * Prometheus metrics at GET /metrics, in the text exposition format 0.0.4
 * or OpenMetrics 1.0.0 as Accept asks (api/exposition.h). Requests are
 * counted by route template (never the raw path, so label values are bounded
 * by the route table), method and status, and timed by route template and
 * method, with relaxed atomic counters: counting never takes a lock on the
 * request path; a scrape sums them. MongoDB's figures come from
 * mongo/monitor.h.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stddef.h>

#include "router.h"

/* Sizes the counters for the route table; call once before serving. */
void api_metrics_init(const api_route_t *routes, size_t nroutes);

/* A request began (in flight) / ended. route is the matched route or NULL. */
void api_metrics_begin(void);
void api_metrics_end(const api_route_t *route, api_method_t method, unsigned status,
                     double seconds);

/* Requests in flight now (for graceful shutdown). */
long api_metrics_in_flight(void);

#endif
