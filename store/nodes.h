/*
 * The servers behind the store, for what is not about one key: SCAN, DBSIZE,
 * INFO. Standalone, that is the one server; in a Redis Cluster, every
 * master (each holds its own share of the keys). Everything that scans
 * (the wipe, the migration) or counts the whole database goes through here.
 *
 * A thin layer over store/conn.h's store_masters and store_run_node, so that
 * every scan walks the nodes the same way.
 */
#ifndef STORE_NODES_H
#define STORE_NODES_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "args.h"
#include "cluster.h"
#include "status.h"

#define STORE_NODES_MAX 64

/* True when the store is a Redis Cluster (false: standalone). */
bool store_nodes_cluster(void);

/* The nodes that hold keys into nodes[] (cap entries); returns how many
 * (at most cap; 0 when no server has answered yet). */
int store_nodes_masters(int *nodes, int cap);

/* Writes node's address for people ("host:port", "[v6]:port" or a socket
 * path) into out (STORE_ADDR_MAX bytes, link.h). */
void store_nodes_name(int node, char *out);

/* The cluster's state as this instance sees it (store_cluster_info, which
 * it returns); for a standalone server (or before the mode is known: see
 * mode) only the mode and the whole slot space served, without the 32 kB
 * of an empty node table to clear. */
store_status_t store_nodes_info(store_cluster_info_t *info);

/* store_run for keyless commands, on one node from store_nodes_masters. */
store_status_t store_nodes_run(int node, int n, store_args_t *cmds, redisReply **replies);

/* Called with each batch of keys SCAN finds on a node (an array reply of
 * strings, borrowed); a status other than STORE_OK stops the scan. */
typedef store_status_t (*store_nodes_batch_fn)(int node, const redisReply *keys, void *ctx);

/* SCANs every node for keys matching the glob pattern match, a batch at a
 * time (SCAN's guarantees: a key there throughout is found at least once;
 * one may be found twice). */
store_status_t store_nodes_scan(const char *match, store_nodes_batch_fn fn, void *ctx);

#endif
