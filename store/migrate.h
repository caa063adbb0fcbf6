/*
 * Moving a running deployment's data from the key layout before buckets to
 * today's (keys.h): the logic of `rtstate --migrate-keys`. See migrate.c for
 * how each kind of key moves, and why a run that stops half-way is safe to
 * run again.
 */
#ifndef STORE_MIGRATE_H
#define STORE_MIGRATE_H

#include <stdint.h>

#include "status.h"

typedef struct {
    int64_t now_ms;
    /* for the members of the old sets that had no TTL (the old layout gave
     * them one): how long they are kept as entries of the new indexes */
    int session_ttl_s;
    int room_ttl_s;
} store_migrate_opts_t;

typedef struct {
    long long found;   /* keys of the old layout under KEY_PREFIX */
    long long moved;   /* of them, moved (gone from the old layout) */
    long long entries; /* members of the old global indexes and queues moved */
    long long skipped; /* legacy names holding another type: left alone */
} store_migrate_result_t;

/* Moves every key of the old layout under the key prefix. STORE_OK when
 * nothing of the old layout is left (but what was skipped). STORE_CONFLICT,
 * with *why (static) saying why, when it cannot: keys of the old layout in a
 * Redis Cluster (nothing is changed then), or an old queue that keeps
 * changing. Any other failure: the run stopped; what it moved stays moved,
 * and running it again finishes the rest. */
store_status_t store_migrate_keys(const store_migrate_opts_t *opts, store_migrate_result_t *out,
                                  const char **why);

#endif
