/*
 * The background thread that keeps road segments up to date (passes of
 * mongo_segments_pass, segments.h) and deletes idempotency records older than
 * 24 h. A request never waits for it: storing observations only wakes it.
 *
 * It runs a pass at once when woken, and every MONGO_AGG_INTERVAL_MS anyway
 * (for work other instances left), until the queue is empty. Of several
 * instances on one database, one at a time works: the holder of the
 * "segments" lease in the "leases" collection,
 *   {_id: "segments:<epoch>", name: "segments", epoch, owner, until: date}
 * A lease lasts MONGO_AGG_LEASE_MS and is renewed before each write; an
 * instance takes an expired one over by inserting the next epoch, which a
 * unique _id lets only one instance do (on FerretDB too, whose updates are not
 * atomic). A stopped instance gives its lease up; a killed one's expires.
 */
#ifndef MONGO_AGGREGATOR_H
#define MONGO_AGGREGATOR_H

#include <stdbool.h>

#define MONGO_AGG_INTERVAL_MS 1000
#define MONGO_AGG_LEASE_MS 3000
#define MONGO_AGG_PAGE 1000

/* Starts the thread (nothing when persistence is disabled). False when it
 * cannot be started. */
bool mongo_aggregator_start(void);

/* Stops it, after the pass in progress, and gives its lease up. */
void mongo_aggregator_stop(void);

/* Asks for a pass now (cheap; safe from any thread, and before start). */
void mongo_aggregator_wake(void);

#endif
