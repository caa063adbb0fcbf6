/*
 * Running commands: routing, grouping by node, redirects and retries; see
 * conn.h. The transport (per-thread connections, per-node fail-fast) is
 * store/link.c; the slot map and mode are store/cluster.c.
 *
 * Standalone (run_single): one batch to node 0, exactly the former single
 * connection's path: no hashing, no grouping, no allocation, no clock read
 * on success.
 *
 * Cluster (run_routed): each command gets a route (node, what is left to do,
 * redirects followed). A round writes every node's pending commands (with
 * ASKING before those an ASK sent there), then reads every node's replies
 * in the order written. A MOVED, ASK or TRYAGAIN reply puts its command back
 * in the pending set with its new node; the next round sends it. Rounds stop
 * when nothing is pending, when REDIS_TIMEOUT_MS has passed since the call
 * began (the rest are STORE_UNAVAILABLE), or for one command after
 * MAX_HOPS redirects (a map that keeps changing). A retry round waits on
 * sockets for at most the time left.
 *
 * In a coroutine on an event loop (core/evloop.h) the same code runs over
 * the loop's shared, auto-pipelined links (store/link.c): a read parks the
 * coroutine instead of blocking the thread, and what would block the loop
 * (learning the mode: a connect and INFO) goes to the blocking pool.
 */
#include "conn.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/crc16.h"
#include "../core/evloop.h"
#include "../core/log.h"
#include "../core/timefmt.h"
#include "cluster.h"
#include "link.h"

#define MAX_HOPS 5           /* redirects one command follows in one call */
#define TRYAGAIN_PAUSE_MS 10 /* before sending a command that got TRYAGAIN again */
#define ROUTES_INLINE 32     /* commands per call routed without an allocation */

static int timeout_ms;
static atomic_ulong errors; /* commands that failed: no connection, I/O, or an error reply */

void store_conn_configure(const core_redis_url_t *u, int t_ms) {
    timeout_ms = t_ms;
    store_link_configure(u, t_ms);
    store_cluster_configure(u, t_ms);
}

store_status_t store_conn_probe(const char **why) { return store_cluster_detect(why); }

void store_conn_shutdown(void) {
    store_cluster_stop();
    store_link_close_thread();
}

void store_conn_close_thread(void) { store_link_close_thread(); }

bool store_conn_is_cluster(void) { return store_cluster_mode() == STORE_MODE_CLUSTER; }

unsigned long store_conn_errors(void) { return atomic_load(&errors); }

unsigned long store_conn_reconnects(void) { return store_link_reconnects(); }

static void count_error(void) { atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed); }

typedef struct {
    store_status_t st;
    const char *why;
} detect_job_t;

static void detect_job(void *arg) {
    detect_job_t *j = arg;
    j->st = store_cluster_detect(&j->why);
}

/* store_cluster_detect, on the blocking pool when it would connect from an
 * event loop. */
static store_status_t detect(const char **why) {
    if (store_cluster_mode() != STORE_MODE_UNKNOWN || !core_evloop_in_coroutine())
        return store_cluster_detect(why);
    detect_job_t j = {.st = STORE_UNAVAILABLE, .why = NULL};
    core_evloop_blocking(detect_job, &j);
    if (why)
        *why = j.why;
    return j.st;
}

void store_replies_free(int n, redisReply **replies) {
    for (int i = 0; i < n; i++) {
        if (replies[i])
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

store_status_t store_error_status(const redisReply *r) {
    count_error();
    static const char *unavailable[] = {"LOADING",  "BUSY",       "MASTERDOWN", "READONLY",
                                        "OOM",      "NOAUTH",     "WRONGPASS",  "NOPERM",
                                        "TRYAGAIN", "CLUSTERDOWN"};
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++) {
        size_t n = strlen(unavailable[i]);
        if (r->len >= n && strncmp(r->str, unavailable[i], n) == 0)
            return STORE_UNAVAILABLE;
    }
    return STORE_ERROR;
}

static bool starts(const redisReply *r, const char *word) {
    size_t n = strlen(word);
    return r->len >= n && memcmp(r->str, word, n) == 0;
}

/* ---- standalone ---- */

static store_status_t run_single(int n, store_args_t *cmds, redisReply **replies) {
    store_link_t *l = store_link_open(0, timeout_ms);
    if (!l) {
        count_error();
        return STORE_UNAVAILABLE;
    }
    for (int i = 0; i < n; i++) {
        if (!store_link_write(l, &cmds[i])) {
            store_link_fail(l, store_link_error(l, "cannot send command"));
            count_error();
            return STORE_UNAVAILABLE;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!store_link_read(l, &replies[i])) {
            store_link_fail(l, store_link_error(l, "no reply"));
            store_replies_free(i, replies);
            count_error();
            return STORE_UNAVAILABLE;
        }
    }
    store_link_answered(l); /* up means answering, not merely accepting connections */
    return STORE_OK;
}

/* ---- cluster ---- */

enum { DONE, PENDING, SENT };

typedef struct {
    int16_t node;
    uint8_t todo; /* DONE, PENDING (to send) or SENT (reply to read) */
    uint8_t hops; /* redirects followed */
    bool asking;  /* send ASKING first (an ASK redirect) */
} route_t;

/* Where cmd goes: the fixed node, or its key's slot's owner. */
static route_t route_of(const store_args_t *cmd, int fixed, store_status_t *each) {
    route_t rt = {.node = -1, .todo = DONE};
    *each = STORE_OK;
    if (fixed >= 0) {
        rt.node = (int16_t)fixed;
    } else if (!cmd->route) {
        log_event(LOG_ERROR,
                  "redis command %.*s has no key: in a cluster it needs a node "
                  "(store_run_node)",
                  cmd->argc ? (int)cmd->lens[0] : 0, cmd->argc ? cmd->argv[0] : "");
        *each = STORE_ERROR;
        return rt;
    } else {
        rt.node = (int16_t)store_cluster_owner(core_key_slot(cmd->route, cmd->route_len));
    }
    if (rt.node < 0) { /* a slot the map has no owner for (yet) */
        store_cluster_refresh_soon();
        *each = STORE_UNAVAILABLE;
        return rt;
    }
    rt.todo = PENDING;
    return rt;
}

/* Gives up on the commands of node that are still to send or read. */
static void fail_node(int n, route_t *rt, store_status_t *each, int node, store_status_t st) {
    for (int i = 0; i < n; i++)
        if (rt[i].todo != DONE && rt[i].node == node) {
            rt[i].todo = DONE;
            each[i] = st;
        }
    count_error();
    store_cluster_refresh_soon();
}

/* Takes the reply r of command i from node: keeps it, or follows it.
 * Returns true for TRYAGAIN (the next round should pause). */
static bool take(int i, redisReply *r, route_t *rt, redisReply **replies, store_status_t *each) {
    rt[i].todo = DONE;
    if (r->type == REDIS_REPLY_ERROR) {
        bool moved = starts(r, "MOVED "), ask = starts(r, "ASK "), again = starts(r, "TRYAGAIN");
        if (starts(r, "CLUSTERDOWN"))
            store_cluster_refresh_soon();
        if (moved || ask || again) {
            int to = rt[i].node;
            if (!again) {
                size_t skip = moved ? 6 : 4;
                to = store_cluster_redirect(r->str + skip, r->len - skip, rt[i].node, moved);
            }
            if (to < 0 || (!again && ++rt[i].hops > MAX_HOPS)) {
                log_event(LOG_WARN, "redis redirect not followed: %.200s", r->str);
                freeReplyObject(r);
                each[i] = STORE_UNAVAILABLE;
                return false;
            }
            freeReplyObject(r);
            /* TRYAGAIN after an ASK is asked of the importing node again, with ASKING */
            rt[i] = (route_t){.node = (int16_t)to,
                              .todo = PENDING,
                              .hops = rt[i].hops,
                              .asking = again ? rt[i].asking : ask};
            return again;
        }
    }
    replies[i] = r;
    return false;
}

static const char *asking_argv[] = {"ASKING"};
static size_t asking_lens[] = {6};
static const store_args_t asking = {.argc = 1, .argv = asking_argv, .lens = asking_lens};

/* One round: writes every node's pending commands, then reads the replies.
 * budget: milliseconds any wait may take. Returns true when a TRYAGAIN
 * asks for a pause before the next round. */
static bool round_trip(int n, store_args_t *cmds, redisReply **replies, store_status_t *each,
                       route_t *rt, int budget) {
    int64_t until = core_mono_ms() + budget;
    int nodes[STORE_MAX_NODES], ng = 0;
    store_link_t *links[STORE_MAX_NODES];
    for (int i = 0; i < n; i++) {
        int g = 0;
        while (g < ng && nodes[g] != rt[i].node)
            g++;
        if (rt[i].todo == PENDING && g == ng)
            nodes[ng++] = rt[i].node;
    }
    for (int g = 0; g < ng; g++) {
        store_link_t *l = links[g] = store_link_open(nodes[g], budget);
        bool ok = l != NULL;
        for (int i = 0; i < n && ok; i++) {
            if (rt[i].todo != PENDING || rt[i].node != nodes[g])
                continue;
            ok = (!rt[i].asking || store_link_write(l, &asking)) && store_link_write(l, &cmds[i]);
            rt[i].todo = SENT;
        }
        if (ok && l)
            ok = store_link_flush(l);
        if (!ok) {
            if (l)
                store_link_fail(l, store_link_error(l, "cannot send command"));
            links[g] = NULL;
            fail_node(n, rt, each, nodes[g], STORE_UNAVAILABLE);
        }
    }
    bool pause = false;
    for (int g = 0; g < ng; g++) {
        store_link_t *l = links[g];
        /* the nodes are read one after another, but they all work at once:
         * each waits only for what is left of the round, so that k stalled
         * nodes cost one timeout, not k */
        int left = (int)(until - core_mono_ms());
        bool ok = l != NULL && (g == 0 || store_link_timeout(l, left > 1 ? left : 1));
        for (int i = 0; i < n && ok; i++) {
            if (rt[i].todo != SENT || rt[i].node != nodes[g])
                continue;
            redisReply *r = NULL, *ack = NULL;
            ok = (!rt[i].asking || store_link_read(l, &ack)) && store_link_read(l, &r);
            if (ack)
                freeReplyObject(ack); /* ASKING's +OK; an error shows in the command's reply */
            if (ok)
                pause |= take(i, r, rt, replies, each);
        }
        if (!l)
            continue;
        if (ok) {
            store_link_answered(l);
        } else {
            store_link_fail(l, store_link_error(l, "no reply"));
            fail_node(n, rt, each, nodes[g], STORE_UNAVAILABLE);
        }
    }
    return pause;
}

/* Runs the commands in a cluster (fixed: a node for all, or -1 to route by
 * key); each[i] as store_run_each, with error replies kept as replies. */
static store_status_t run_routed(int n, store_args_t *cmds, redisReply **replies,
                                 store_status_t *each, int fixed) {
    route_t inline_rt[ROUTES_INLINE], *rt = inline_rt;
    if (n > ROUTES_INLINE && !(rt = malloc(sizeof *rt * (size_t)n))) {
        for (int i = 0; i < n; i++)
            each[i] = STORE_ERROR;
        return STORE_ERROR;
    }
    int64_t deadline = core_mono_ms() + timeout_ms;
    bool pending = false;
    for (int i = 0; i < n; i++) {
        rt[i] = route_of(&cmds[i], fixed, &each[i]);
        pending |= rt[i].todo == PENDING;
    }
    for (int budget = timeout_ms; pending;) {
        bool pause = round_trip(n, cmds, replies, each, rt, budget);
        pending = false;
        for (int i = 0; i < n; i++)
            pending |= rt[i].todo == PENDING;
        if (pending && pause) {
            int64_t left = deadline - core_mono_ms();
            core_evloop_sleep_ms((int)(left < TRYAGAIN_PAUSE_MS ? left : TRYAGAIN_PAUSE_MS));
        }
        budget = (int)(deadline - core_mono_ms());
        if (pending && budget <= 0) {
            for (int i = 0; i < n; i++)
                if (rt[i].todo == PENDING) {
                    rt[i].todo = DONE;
                    each[i] = STORE_UNAVAILABLE;
                }
            count_error();
            pending = false;
        }
    }
    if (rt != inline_rt)
        free(rt);
    for (int i = 0; i < n; i++)
        if (each[i] != STORE_OK)
            return each[i];
    return STORE_OK;
}

/* ---- the calls ---- */

/* Runs the commands (to node fixed, or routed by key when -1): each[i] as
 * store_run_each, but with error replies kept as replies. Returns the first
 * failure, or STORE_OK. */
static store_status_t run_each_raw(int n, store_args_t *cmds, redisReply **replies,
                                   store_status_t *each, int fixed) {
    store_status_t st = STORE_OK;
    for (int i = 0; i < n; i++) {
        replies[i] = NULL;
        each[i] = cmds[i].oom ? STORE_ERROR : STORE_OK;
        if (cmds[i].oom && st == STORE_OK)
            st = STORE_ERROR;
    }
    const char *why = NULL;
    if (st == STORE_OK)
        st = detect(&why);
    if (st == STORE_OK && fixed >= store_link_nodes())
        st = STORE_ERROR; /* no such node */
    if (st == STORE_OK && store_cluster_mode() == STORE_MODE_STANDALONE)
        st = fixed > 0 ? STORE_ERROR : run_single(n, cmds, replies);
    else if (st == STORE_OK)
        return run_routed(n, cmds, replies, each, fixed);
    else if (st == STORE_UNAVAILABLE || why)
        count_error();
    for (int i = 0; i < n && st != STORE_OK; i++)
        each[i] = each[i] == STORE_OK ? st : each[i];
    return st;
}

/* All or nothing: the first failure, with every reply freed. */
static store_status_t run_all_raw(int n, store_args_t *cmds, redisReply **replies, int fixed) {
    store_status_t inline_each[ROUTES_INLINE], *each = inline_each;
    if (n > ROUTES_INLINE && !(each = malloc(sizeof *each * (size_t)n))) {
        for (int i = 0; i < n; i++)
            replies[i] = NULL;
        return STORE_ERROR;
    }
    store_status_t st = run_each_raw(n, cmds, replies, each, fixed);
    if (each != inline_each)
        free(each);
    if (st != STORE_OK)
        store_replies_free(n, replies);
    return st;
}

store_status_t store_run_raw(int n, store_args_t *cmds, redisReply **replies) {
    /* the standalone fast path first: nothing between the caller and its batch */
    if (store_cluster_mode() == STORE_MODE_STANDALONE) {
        for (int i = 0; i < n; i++) {
            replies[i] = NULL;
            if (cmds[i].oom)
                return STORE_ERROR;
        }
        return run_single(n, cmds, replies);
    }
    return run_all_raw(n, cmds, replies, -1);
}

/* The first error reply among replies, as a status (all freed), or OK. */
static store_status_t no_error_replies(int n, redisReply **replies) {
    for (int i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            store_status_t st = store_error_status(replies[i]);
            log_event(LOG_WARN, "redis error reply: %.200s", replies[i]->str);
            store_replies_free(n, replies);
            return st;
        }
    }
    return STORE_OK;
}

store_status_t store_run(int n, store_args_t *cmds, redisReply **replies) {
    store_status_t st = store_run_raw(n, cmds, replies);
    return st == STORE_OK ? no_error_replies(n, replies) : st;
}

store_status_t store_cmd(store_args_t *cmd, redisReply **reply) { return store_run(1, cmd, reply); }

store_status_t store_run_node(int node, int n, store_args_t *cmds, redisReply **replies) {
    if (node < 0 || node >= STORE_MAX_NODES) {
        for (int i = 0; i < n; i++)
            replies[i] = NULL;
        return STORE_ERROR;
    }
    store_status_t st = run_all_raw(n, cmds, replies, node);
    return st == STORE_OK ? no_error_replies(n, replies) : st;
}

store_status_t store_run_each(int n, store_args_t *cmds, redisReply **replies,
                              store_status_t *each) {
    run_each_raw(n, cmds, replies, each, -1);
    store_status_t first = STORE_OK;
    for (int i = 0; i < n; i++) {
        if (replies[i] && replies[i]->type == REDIS_REPLY_ERROR) {
            each[i] = store_error_status(replies[i]);
            log_event(LOG_WARN, "redis error reply: %.200s", replies[i]->str);
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        if (first == STORE_OK)
            first = each[i];
    }
    return first;
}

int store_masters(int *nodes, int cap) {
    if (detect(NULL) != STORE_OK)
        return 0;
    return store_cluster_masters(nodes, cap);
}

bool store_conn_up(void) {
    char why[8];
    int64_t at;
    int masters[STORE_MAX_NODES], n = store_cluster_mode() == STORE_MODE_UNKNOWN
                                          ? 0
                                          : store_cluster_masters(masters, STORE_MAX_NODES);
    for (int i = 0; i < n && i < STORE_MAX_NODES; i++)
        if (store_link_node_state(masters[i], why, sizeof why, &at) != STORE_NODE_UP)
            return false;
    return n > 0;
}
