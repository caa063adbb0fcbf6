/*
 * Bearer tokens. Three optional tokens, each from its variable or a file
 * (the *_FILE form suits Kubernetes secrets):
 *   READ_TOKEN   reads (GET/HEAD), /health and /metrics
 *   API_TOKEN    everything that changes state
 *   ADMIN_TOKEN  the /admin/ routes (API_TOKEN guards them when no ADMIN_TOKEN is set)
 * A stronger token also opens the weaker doors (admin > api > read). An
 * unset token leaves its door open: reads stay open unless READ_TOKEN is set. /livez, /readyz, the
 * spec and the dashboard page are always open: probes and people must reach them. Tokens are
 * compared in constant time.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stdbool.h>

#include "../../core/config.h"
#include "request.h"

/* Loads the tokens (reading any *_FILE). False with *err (static text) when a
 * file cannot be read or is empty. */
bool api_auth_init(const config_t *cfg, const char **err);

/* True when the request may proceed; otherwise replies 401 problem+json
 * with WWW-Authenticate and returns false. */
bool api_auth_check(api_req_t *r);

/* Which tokens are set ("read token set, api token unset, ..."), into out
 * (cap bytes), for the start-up log; returns out. */
const char *api_auth_summary(char *out, unsigned cap);

/* True when addr (a numeric BIND) is a loopback address: 127.0.0.0/8, ::1, or
 * ::ffff:127.x.y.z. Anything else, the wildcards 0.0.0.0 and :: included, is
 * reachable from other machines. */
bool api_auth_loopback(const char *addr);

/* At start-up, after api_auth_init: for each class of routes no token guards
 * (reads, writes, admin), a warning naming the class and the variable that
 * closes it, when the service listens on bind, a non-loopback address; on
 * loopback, one info line naming the open classes. Nothing when every class
 * is guarded. */
void api_auth_log_open_doors(const char *bind);

#endif
