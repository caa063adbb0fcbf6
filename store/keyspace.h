/*
 * The service's keys as a whole: deleting every key under KEY_PREFIX (the
 * "ephemeral state" of one deployment) without touching anything else in
 * the database. Keys are found with SCAN (never KEYS, which blocks Redis for
 * the whole keyspace) and removed with UNLINK (freed in the background), a
 * batch per round trip.
 */
#ifndef STORE_KEYSPACE_H
#define STORE_KEYSPACE_H

#include "status.h"

/* Deletes every key whose name starts with the key prefix; *deleted counts
 * them. Refuses (STORE_CONFLICT, nothing deleted) when the prefix is empty:
 * every key of the database would match. Not atomic: a key written while the
 * scan runs may survive it. */
store_status_t store_keyspace_delete_all(long long *deleted);

#endif
