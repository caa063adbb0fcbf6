/*
 * The service's keys as a whole: deleting every key of this deployment (the
 * "ephemeral state": every key of one of the shapes of keys.h under
 * KEY_PREFIX) without touching anything else in the database, another
 * deployment's keys under a longer prefix included. Keys are found with SCAN
 * (never KEYS, which blocks Redis for the whole keyspace) on every node and
 * removed with UNLINK (freed in the background), a batch per round trip.
 */
#ifndef STORE_KEYSPACE_H
#define STORE_KEYSPACE_H

#include "status.h"

/* Deletes every key that is one of the service's shapes under the key
 * prefix (store_key_parse); *deleted counts them. Refuses (STORE_CONFLICT,
 * nothing deleted) when the prefix is empty. Not atomic: a key written while
 * the scan runs may survive it. */
store_status_t store_keyspace_delete_all(long long *deleted);

#endif
