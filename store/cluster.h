/*
 * Which server serves which key: a standalone Redis, or a Redis Cluster's
 * slot map. The same REDIS_URL works for both; the mode is learnt from the
 * first server that answers (INFO cluster: cluster_enabled:1).
 *
 * Standalone: the server is node 0 and every command goes to it.
 *
 * Cluster: the slot map (slot -> node index, from CLUSTER SLOTS; masters
 * only) is an array of atomics, so readers never lock. It is fetched when
 * the mode is learnt, corrected slot by slot by MOVED replies
 * (store_cluster_moved), and fetched again by a watcher thread: soon after
 * a MOVED, a CLUSTERDOWN or a node failure (store_cluster_refresh_soon, at
 * most every REFRESH_MIN_MS), every REFRESH_DOWN_MS while a node that serves
 * slots is down (so a replica promoted by a failover is used within about
 * that time of the cluster announcing it), and every REFRESH_IDLE_MS
 * otherwise. A refresh asks the known nodes, those that answered last first,
 * then the seeds of REDIS_URL.
 *
 * The first part of this header is the store's internal interface
 * (store/conn.c); the second, health, is for the api layer.
 */
#ifndef STORE_CLUSTER_H
#define STORE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/redis_url.h"
#include "link.h"
#include "status.h"

typedef enum {
    STORE_MODE_UNKNOWN = 0, /* no server has answered yet */
    STORE_MODE_STANDALONE,
    STORE_MODE_CLUSTER,
    STORE_MODE_REFUSED, /* a cluster, but REDIS_URL names a database other than 0 */
} store_mode_t;

/* Keeps the seeds (REDIS_URL's hosts or socket); the mode is unknown and
 * the map empty. Call at start-up (again only after store_cluster_stop). */
void store_cluster_configure(const core_redis_url_t *url, int timeout_ms);

/* The mode learnt so far. */
store_mode_t store_cluster_mode(void);

/* Learns the mode now if it is not known yet: asks the seeds in turn, and
 * in a cluster loads the slot map and starts the watcher. STORE_OK: known
 * (standalone or cluster); STORE_UNAVAILABLE: no seed answered, or another
 * thread is asking right now (try again later; at most one try per
 * RETRY_MS); STORE_ERROR: refused (a cluster with a database other than 0),
 * with *why (static) saying so. */
store_status_t store_cluster_detect(const char **why);

/* The node serving slot, or -1 when the map has no owner for it. */
int store_cluster_owner(int slot);

/* A MOVED reply's "<slot> <host>:<port>" (or an ASK's): the node it names,
 * added to the table if new; -1 if it cannot be parsed or the table is full.
 * from_node: the node that answered (an empty host means its host). For
 * MOVED, the slot is given to that node at once and a refresh is asked for. */
int store_cluster_redirect(const char *text, size_t len, int from_node, bool moved);

/* Asks the watcher for a refresh of the slot map soon (cheap: one atomic
 * when one is asked for already). */
void store_cluster_refresh_soon(void);

/* The distinct nodes that serve slots (standalone: node 0), ascending, into
 * nodes (cap entries); returns how many there are (may be more than cap). */
int store_cluster_masters(int *nodes, int cap);

/* Stops the watcher thread, if it runs (at shutdown). */
void store_cluster_stop(void);

/* ---- health, for /health, /readyz?verbose, /redis/stats, /metrics ---- */

typedef struct {
    char addr[STORE_ADDR_MAX]; /* host:port, [v6]:port, or a socket path */
    /* this instance's view: up (its last use answered), down (it failed:
     * see last_error), unused (no command has needed it yet) */
    store_node_state_t state;
    char last_error[128]; /* "" when it never failed */
    int64_t failed_at_ms; /* wall clock of the last failure, 0 never */
    int slots;            /* hash slots this instance routes to it (standalone: 16384) */
    /* the cluster's view (CLUSTER NODES of a reachable node; "" and false
     * when it could not be asked, or standalone) */
    char role[8]; /* "master" or "replica" */
    bool failing; /* flagged fail or fail? by the cluster */
    bool listed;  /* the cluster lists it (false: only this instance knows it) */
} store_node_info_t;

typedef struct {
    store_mode_t mode;
    /* this instance's slot map: slots routed to a node that is up or not
     * yet used, to a node that is down, and with no owner */
    int slots_up, slots_down, slots_unrouted;
    /* the cluster's own view (CLUSTER INFO); have_info false when no node
     * could be asked (or standalone), and the rest then 0 / "" */
    bool have_info;
    char state[8]; /* cluster_state: "ok" or "fail" */
    long slots_assigned, slots_ok, slots_pfail, slots_fail, known_nodes, size;
    int nnodes; /* entries in nodes[] */
    store_node_info_t nodes[STORE_MAX_NODES];
} store_cluster_info_t;

/* Fills *out (about 32 kB: the caller decides where it lives). Costs two
 * round trips (CLUSTER INFO, CLUSTER NODES) to one reachable master in a
 * cluster, none for a standalone server. Returns STORE_OK when the mode is
 * known and, in a cluster, every slot is routed to a node that is up (and
 * the cluster says ok); STORE_UNAVAILABLE otherwise, with *out still filled
 * with what is known. */
store_status_t store_cluster_info(store_cluster_info_t *out);

#endif
