/*
 * SCAN MATCH <prefix>* on every node (nodes.h), with the prefix's glob
 * characters escaped (keys.c), so a prefix such as "t*[1]:" matches itself
 * only. Of what it finds, only the keys that read back as one of this
 * service's shapes under this prefix (store_key_parse) are deleted: with
 * prefix "tA:", the keys of an instance whose prefix is "tA:sub:" match the
 * pattern but are not of our shapes, so they stay (keys.h says why no
 * other prefix's key can pass for ours), and neither does anything else
 * that happens to start with the prefix.
 *
 * Each batch SCAN returns is unlinked before the next SCAN, with one UNLINK
 * per bucket (every key of one bucket in one slot, so it is a single-slot
 * command in a cluster too). SCAN may return a key twice; the second
 * UNLINK finds nothing and counts nothing.
 */
#include "keyspace.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "keys.h"
#include "nodes.h"
#include "reply.h"

/* UNLINKs the keys of a SCAN batch that are ours; adds to *deleted. */
static store_status_t unlink_batch(int node, const redisReply *keys, void *ctx) {
    (void)node;
    long long *deleted = ctx;
    store_batch_t b;
    store_batch_init(&b, STORE_BUCKETS);
    store_args_t *of[STORE_BUCKETS] = {NULL}; /* bucket -> its UNLINK */
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        store_key_parsed_t p;
        if (!store_reply_is_str(k) || !store_key_parse(k->str, k->len, &p))
            continue;
        if (!of[p.bucket]) {
            of[p.bucket] = store_batch_add(&b);
            store_args_str(of[p.bucket], "UNLINK");
        }
        store_args_keyname(of[p.bucket], k->str, k->len);
    }
    store_status_t st = store_batch_run(&b);
    for (int i = 0; st == STORE_OK && i < b.n; i++)
        *deleted += store_reply_int(store_batch_reply(&b, i), 0);
    store_batch_free(&b);
    return st;
}

store_status_t store_keyspace_delete_all(long long *deleted) {
    *deleted = 0;
    if (!store_keys_prefix()[0])
        return STORE_CONFLICT;
    char pattern[STORE_KEY_MAX];
    store_keys_glob(pattern);
    return store_nodes_scan(pattern, unlink_batch, deleted);
}
