/*
 * CORS for browser dashboards on another origin. CORS_ORIGINS is "*" or a
 * comma list of exact origins ("https://dash.example.org"); empty allows none.
 *
 * This file is the one place that decides the CORS headers of a reply; the
 * server calls api_cors_decorate once for every reply it sends (preflight,
 * success, problem, 304, early 401/404/405/413, and the responses built once
 * and reused, which get a copy of their own for it), so each header appears
 * at most once. Preflights (OPTIONS with Access-Control-Request-Method) are
 * answered 204 before any token check, as browsers send them without one.
 */
#ifndef API_CORS_H
#define API_CORS_H

#include <stdbool.h>

#include "request.h"

void api_cors_init(const char *origins);

/* True when CORS_ORIGINS is set: every reply then carries CORS headers of
 * some kind (Vary: Origin at least, for a list of origins). */
bool api_cors_enabled(void);

/* Adds to r's reply (not a shared one) the CORS headers it must carry, once
 * each. With "*": Access-Control-Allow-Origin: * on every reply, whatever the
 * request. With a list: Vary: Origin on every reply (merged into a Vary the
 * reply already has), and Access-Control-Allow-Origin: <origin> when the
 * request's Origin is on the list. A preflight from an allowed origin gets
 * Access-Control-Allow-Methods (the path's methods), -Headers and -Max-Age;
 * any other allowed reply Access-Control-Expose-Headers. */
void api_cors_decorate(api_req_t *r);

#endif
