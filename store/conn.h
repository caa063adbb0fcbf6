/*
 * Running Redis commands, against a standalone server or a Redis Cluster
 * (the same REDIS_URL; the mode is learnt from the server: store/cluster.h).
 *
 * Every command goes to the node that serves its routing key (the first key
 * added with store_args_key or store_args_keyname; see args.h). One call
 * may hold commands for any slots: they are grouped by node, every node's
 * group is written before any reply is read (one round trip per call, the
 * nodes working at once), and replies come back in the caller's order. Each
 * command must itself be single-slot (one key, or a script whose keys share
 * a hash tag). Standalone, every command goes to the one server, with no
 * hashing and no grouping.
 *
 * In a cluster, MOVED (the slot has a new owner: the map is corrected and
 * the command sent there), ASK (a slot being migrated: ASKING and the
 * command to the named node) and TRYAGAIN (a pause, then again) are
 * followed inside the call, never shown to the caller; those retries stop
 * REDIS_TIMEOUT_MS after the call began (each retry's waits are cut to what
 * is left), and the commands still unanswered then are STORE_UNAVAILABLE.
 * An unreachable or stalled node, and CLUSTERDOWN, make the commands for
 * that node STORE_UNAVAILABLE; commands for other nodes in the same call
 * still run. See store_run_each for who failed.
 *
 * Connections are per thread and per node (store/link.h): no lock on the
 * request path. On an event loop's thread the connection is shared by the
 * loop's requests, their commands interleaved call by call (never within a
 * call): a transaction must be sent whole in one call (MULTI ... EXEC), and
 * nothing may change a connection's state for later calls (WATCH, SELECT,
 * CLIENT REPLY, SUBSCRIBE). Replies are hiredis's: whoever receives one frees it with
 * freeReplyObject (or store_replies_free for an array of them). Every
 * function here borrows the store_args_t it is given.
 */
#ifndef STORE_CONN_H
#define STORE_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "../core/redis_url.h"
#include "args.h"
#include "status.h"

/* Sets where and how to connect; call once at start-up, before any thread
 * uses the store. Does not connect. May be called again after
 * store_conn_shutdown (with every other thread's use of the store over):
 * the store then starts from scratch, mode and nodes unknown. */
void store_conn_configure(const core_redis_url_t *url, int timeout_ms);

/* Connects now to learn what REDIS_URL names (a standalone server or a
 * cluster), rather than at the first command. STORE_OK: learnt.
 * STORE_UNAVAILABLE: nothing answered; the store keeps trying on use.
 * STORE_ERROR: the answer makes the configuration unusable (a cluster, and
 * a database other than 0): *why (static) says so for a start-up error, and
 * every command fails. */
store_status_t store_conn_probe(const char **why);

/* Stops the cluster watcher thread (if any) and closes this thread's
 * connections; at shutdown, after every other thread using the store. */
void store_conn_shutdown(void);

/* Sends n commands and reads their n replies into replies[]. STORE_OK: all
 * replies are there, none is an error reply; the caller frees them.
 * Anything else: replies[] holds NULLs, nothing to free. STORE_UNAVAILABLE
 * for no connection, a timeout, Redis not serving (LOADING, BUSY, OOM,
 * READONLY, auth, CLUSTERDOWN, TRYAGAIN past the time limit); STORE_ERROR
 * for other error replies, and for a keyless command in a cluster (see
 * store_run_node). With several failures, the status is the first failing
 * command's. */
store_status_t store_run(int n, store_args_t *cmds, redisReply **replies);

/* store_run for one command. */
store_status_t store_cmd(store_args_t *cmd, redisReply **reply);

/* Like store_run, but error replies come back as replies (STORE_OK) for the
 * caller to look at; only failures to get a reply are reported as a status
 * (and then replies[] holds NULLs). Redirects are followed all the same. */
store_status_t store_run_raw(int n, store_args_t *cmds, redisReply **replies);

/* Like store_run, but each command has its own outcome: each[i] is STORE_OK
 * with replies[i] a reply that is not an error, or a failure (as store_run
 * would report it) with replies[i] NULL. So a caller can use what the nodes
 * that answered said when another node is down. Returns STORE_OK when every
 * command succeeded, else the first failing command's status. The caller
 * frees the replies that are not NULL (store_replies_free does). */
store_status_t store_run_each(int n, store_args_t *cmds, redisReply **replies,
                              store_status_t *each);

/* store_run for commands that have no key (INFO, PING, SCAN, DBSIZE,
 * SCRIPT, CLUSTER ...), sent to one node: an index from store_masters. A
 * standalone server is node 0. STORE_ERROR for a node that does not exist. */
store_status_t store_run_node(int node, int n, store_args_t *cmds, redisReply **replies);

/* The nodes that serve slots (the cluster's masters as this instance's map
 * has them; standalone: node 0), in ascending order, into nodes[] (cap
 * entries). Returns how many there are, which may be more than cap; 0 when
 * no server has answered yet. The indices stay valid for store_run_node
 * (a node that is no longer a master answers its commands with MOVED or an
 * error, or is unavailable). */
int store_masters(int *nodes, int cap);

/* True when REDIS_URL is known to name a Redis Cluster (false: a standalone
 * server, or not learnt yet). */
bool store_conn_is_cluster(void);

/* Maps an error reply ("OOM command not allowed ...") to a status. */
store_status_t store_error_status(const redisReply *r);

void store_replies_free(int n, redisReply **replies);

/* Closes this thread's connections, if it has any. */
void store_conn_close_thread(void);

/* True when the last use of every node that serves slots answered
 * (standalone: the server); false before any answered. */
bool store_conn_up(void);

/* Commands that failed: no connection, an I/O error or timeout, or an error
 * reply (a node's failure counts once per call). */
unsigned long store_conn_errors(void);

/* Connections made again by a thread after it lost one (reconnects). */
unsigned long store_conn_reconnects(void);

#endif
