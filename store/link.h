/*
 * The nodes the store talks to, and this thread's connection to each: the
 * transport under store/conn.c. Internal to store/.
 *
 * Node table. A node is an address (host:port, or a unix socket path) with
 * a stable index: indices are handed out in order and an entry keeps its
 * address for good, except that a full table (STORE_MAX_NODES) gives an
 * entry that serves no slot to a new address (store_link_node_reuse); the
 * entry's generation then changes, and every thread's connection to the old
 * address is closed before its next use. A standalone server is node 0.
 *
 * Links. Each thread owns one connection per node (a pthread key's array,
 * closed when the thread ends), made on first use and remade after any I/O
 * error, so no lock is taken on the request path. Connect and command
 * timeouts are REDIS_TIMEOUT_MS (less for a retry that has less time left);
 * AUTH, and SELECT for a standalone server, run on every (re)connect.
 *
 * Per-node health. A node that failed to answer (a refused or broken
 * connection, a timeout) fails fast in every thread for RETRY_MS; then one
 * thread at a time tries it again. So a dead or stalled node holds one
 * worker for at most the timeout instead of every worker in turn, and
 * commands for other nodes never wait behind it. Its state (up, down, never
 * used) and last error are kept for health reporting.
 *
 * A batch for one node: store_link_open, store_link_write for each command,
 * (store_link_flush when several nodes' batches are in flight), then
 * store_link_read for each reply in order and store_link_answered; on any
 * failure store_link_fail. Issue 13 may replace this with one shared,
 * auto-pipelined connection per node behind the same calls.
 */
#ifndef STORE_LINK_H
#define STORE_LINK_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/redis_url.h"
#include "args.h"

#define STORE_MAX_NODES 64
#define STORE_ADDR_MAX 300 /* "host:port", "[v6]:port" or a socket path, with a NUL */

typedef struct store_link store_link_t;

/* Credentials, database and timeout for every connection, and an empty
 * node table. Call at start-up, before any thread connects (again only once
 * every thread's connections are closed). */
void store_link_configure(const core_redis_url_t *url, int timeout_ms);

/* ---- the node table ---- */

/* The index of node host:port (port 0: host is a unix socket path), added
 * when new; -1 when the table is full (see store_link_node_reuse). */
int store_link_node(const char *host, int port);

/* Gives entry i to host:port (a table-full fallback: the caller makes sure
 * no slot is routed to i). */
void store_link_node_reuse(int i, const char *host, int port);

/* How many entries the table has (indices 0 to n - 1). */
int store_link_nodes(void);

/* Copies node i's address: host (cap bytes) and port (0: a socket path). */
void store_link_node_addr(int i, char *host, size_t cap, int *port);

/* Writes node i's address for people ("host:port", "[v6]:port", or the
 * socket path) into out (STORE_ADDR_MAX bytes). */
void store_link_node_name(int i, char out[STORE_ADDR_MAX]);

typedef enum { STORE_NODE_UNUSED = -1, STORE_NODE_DOWN = 0, STORE_NODE_UP = 1 } store_node_state_t;

/* Node i's state as this process last saw it; when it last failed, why
 * (copied into why, cap bytes; "" if never) and at what wall-clock ms (0:
 * never). */
store_node_state_t store_link_node_state(int i, char *why, size_t cap, int64_t *failed_at_ms);

/* ---- this thread's connection to a node ---- */

/* A dialled connection outside the per-thread links (AUTH done; SELECT too
 * when select_db and the URL names a database), or NULL with *why (a static
 * or thread-local string). The caller frees it with redisFree. For the
 * start-up detection and for reaching seed nodes. */
redisContext *store_link_dial(const char *host, int port, int timeout_ms, bool select_db,
                              const char **why);

/* This thread's connection to node, made now if needed, with its socket
 * timeout set to timeout_ms (at most REDIS_TIMEOUT_MS). NULL when the node
 * cannot be used now: failing fast after a failure, or the connect failed
 * (the node is then marked down). */
store_link_t *store_link_open(int node, int timeout_ms);

/* Sets the link's socket timeout to timeout_ms (at most REDIS_TIMEOUT_MS)
 * for the reads that follow, without touching its connection (commands may
 * be in flight on it). false: it could not be set; call store_link_fail.
 * A loop's shared link is left as it is: its commands wait until the
 * deadline of the open that wrote them, already absolute. */
bool store_link_timeout(store_link_t *l, int timeout_ms);

/* Queues one command on the link (large ones are written at once). false:
 * the link failed; call store_link_fail. */
bool store_link_write(store_link_t *l, const store_args_t *cmd);

/* Writes everything queued. false: the link failed; call store_link_fail. */
bool store_link_flush(store_link_t *l);

/* Reads the next reply (the caller frees it). false: the link failed (a
 * timeout, a closed connection, a protocol error); call store_link_fail. */
bool store_link_read(store_link_t *l, redisReply **reply);

/* The node answered: it is up again for every thread. */
void store_link_answered(store_link_t *l);

/* Drops the link's connection and marks its node down for RETRY_MS (every
 * thread fails fast meanwhile); why is logged on the up -> down change. */
void store_link_fail(store_link_t *l, const char *why);

/* The link's node index. */
int store_link_node_of(const store_link_t *l);

/* The reason hiredis gave for the link's last failure, or dflt. Valid until
 * store_link_fail (which may be given it). */
const char *store_link_error(const store_link_t *l, const char *dflt);

/* Closes every connection of this thread. */
void store_link_close_thread(void);

/* Connections made again by a thread after it lost one to the same node. */
unsigned long store_link_reconnects(void);

#endif
