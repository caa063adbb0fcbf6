/*
 * A lease in Redis: at most one holder at a time among the instances that
 * ask for it, for ttl_ms after its holder last asked. The holder keeps it by
 * asking again before it ends; when it stops (gone, or cut off from Redis),
 * the lease ends and the next instance that asks takes it. One key (its
 * name from keys.c), one script: the check and the take or renewal are one
 * step, so two instances never both hold it.
 *
 * /metrics uses one so that the figures every instance would read from
 * Redis alike are exported by one instance only (api/metrics.c).
 */
#ifndef STORE_LEASE_H
#define STORE_LEASE_H

#include <stdbool.h>

#include "keys.h"
#include "status.h"

/* Takes or renews the lease kept in index key k's bucket-0 key, for holder
 * (an id unique to the asking instance), for ttl_ms. STORE_OK with *held
 * true when holder holds it now, false when another does; else the failure
 * (then *held is false: an instance that cannot reach the lease does not
 * hold it). */
store_status_t store_lease_hold(store_key_t k, const char *holder, int ttl_ms, bool *held);

#endif
