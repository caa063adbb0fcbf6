/*
 * CORS for browser dashboards on another origin. CORS_ORIGINS is "*" or a
 * comma list of exact origins ("https://dash.example.org"); empty allows none.
 * Preflights (OPTIONS with Access-Control-Request-Method) are answered here,
 * before any token check, as browsers send them without credentials.
 */
#ifndef API_CORS_H
#define API_CORS_H

#include <stdbool.h>

#include "request.h"

void api_cors_init(const char *origins);

/* When r is a preflight: replies 204 with the CORS headers (or without them
 * for an origin not allowed) and returns true. */
bool api_cors_preflight(api_req_t *r);

/* Adds Access-Control-Allow-Origin and friends to r's reply when its Origin
 * is allowed. */
void api_cors_decorate(api_req_t *r);

#endif
