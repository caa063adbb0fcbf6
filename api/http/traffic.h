/*
 * HTTP traffic: what the server counts of every request (by route template,
 * method and status, with a latency histogram) and the requests in flight,
 * and its series in a /metrics exposition (exposition.h).
 */
#ifndef API_TRAFFIC_H
#define API_TRAFFIC_H

#include <stddef.h>

#include "exposition.h"
#include "router.h"

/* Sizes the counters for the route table (which must outlive them). */
void api_traffic_init(const api_route_t *routes, size_t nroutes);

/* A request begins; api_traffic_end counts it when it ends (route NULL:
 * none matched), with its status (0: the client left) and duration. */
void api_traffic_begin(void);
void api_traffic_end(const api_route_t *route, api_method_t method, unsigned status,
                     double seconds);

/* Requests begun and not ended. */
long api_traffic_in_flight(void);

/* Answers with this status so far, over every route and method. */
unsigned long api_traffic_count(unsigned status);

/* Writes http_requests_total, http_request_duration_seconds and
 * http_requests_in_flight (less the scrape itself) into x. */
void api_traffic_write(api_expo_t *x);

#endif
