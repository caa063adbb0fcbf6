/*
 * The store's connection layer (store/conn.c, cluster.c, link.c, script.c)
 * against a real Redis Cluster started by the harness, and against a plain
 * redis-server. It links the layer alone, not the service: the store's
 * modules still use scripts over several slots until the keyspace is made
 * cluster-safe. REDIS_TIMEOUT_MS is 300 throughout.
 *
 * Three masters:
 * - commands on keys of many slots in one store_run come back in the
 *   caller's order, and land on the nodes that serve them;
 * - a keyless command is refused in a cluster (STORE_ERROR, not a guess),
 *   and store_run_node reaches every master;
 * - a script whose keys share a slot runs there; one over two slots is
 *   CROSSSLOT (STORE_ERROR); NOSCRIPT is per node (EVAL on that node only);
 * - MOVED after a slot is moved: followed within the call, and the map is
 *   corrected at once (the old owner answers MOVED once, not every time);
 * - ASK during a migration: ASKING and the command to the importing node,
 *   the map left as it is;
 * - health: the nodes, their slots, and the cluster's own view;
 * - a database other than 0 with a cluster: refused (the service does not
 *   start, with a message);
 * - a master stopped: the commands for its slots STORE_UNAVAILABLE, each
 *   call within the timeout, never STORE_ERROR, the other masters' commands
 *   OK in the same calls; restarted: everything OK again, same store.
 * Three masters with a replica each:
 * - a master killed: once a replica is promoted, the store uses it within 2 s;
 * - a manual failover (CLUSTER FAILOVER on a replica): followed at once.
 * A plain redis-server: the standalone path, unchanged.
 *
 * Time bounds are multiplied by it_time_scale().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/crc16.h"
#include "../../core/redis_url.h"
#include "../../store/cluster.h"
#include "../../store/conn.h"
#include "../../store/script.h"
#include "harness.h"

#define TIMEOUT_MS 300

static it_cluster_t cl;
static it_redis_t plain;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void use_url(const char *url) {
    core_redis_url_t u;
    const char *err = NULL;
    if (!core_redis_url_parse(url, &u, &err))
        fail_msg("%s: %s", url, err);
    store_conn_configure(&u, TIMEOUT_MS);
}

static int slot_of(const char *key) { return core_key_slot(key, strlen(key)); }

/* "<prefix><n>" for the first n whose slot node serves. */
static void key_on(int node, const char *prefix, char *out, size_t cap) {
    for (int i = 0; i < 100000; i++) {
        snprintf(out, cap, "%s%d", prefix, i);
        if (it_cluster_owner(&cl, slot_of(out)) == node)
            return;
    }
    fail_msg("no key on node %d", node);
}

/* A command: verb, then a key (the routing key), then more arguments. */
static void cmd(store_args_t *a, const char *verb, const char *key, const char *arg) {
    store_args_init(a);
    store_args_str(a, verb);
    if (key)
        store_args_keyname(a, key, strlen(key));
    if (arg)
        store_args_str(a, arg);
}

static store_status_t run1(const char *verb, const char *key, const char *arg, redisReply **r) {
    store_args_t a;
    cmd(&a, verb, key, arg);
    store_status_t st = store_cmd(&a, r);
    store_args_free(&a);
    return st;
}

static void assert_reply_str(const redisReply *r, const char *want) {
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        fail_msg("reply of type %d, wanted '%s'", r->type, want);
    assert_string_equal(r->str, want);
}

/* What the cluster itself has under key (the test's own MOVED-following
 * client), compared with want (NULL: no such key). */
static void assert_stored(const char *key, const char *want) {
    redisReply *r = it_cluster_cmd(&cl, "GET %s", key);
    assert_non_null(r);
    if (want)
        assert_reply_str(r, want);
    else
        assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

/* The count in "errorstat_<what>:count=N" of node i's INFO errorstats. */
static long error_count(int i, const char *what) {
    redisReply *r = it_cluster_node_cmd(&cl, i, "INFO errorstats");
    char field[64];
    snprintf(field, sizeof field, "errorstat_%s:count=", what);
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, field) : NULL;
    long n = p ? atol(p + strlen(field)) : 0;
    if (r)
        freeReplyObject(r);
    return n;
}

static void reset_stats(int i) {
    redisReply *r = it_cluster_node_cmd(&cl, i, "CONFIG RESETSTAT");
    assert_non_null(r);
    freeReplyObject(r);
}

/* The masters' indices in cl, as the cluster has them. */
static int cluster_masters(int *out) {
    int n = 0;
    for (int i = 0; i < cl.n; i++) {
        redisReply *r = cl.nodes[i].pid > 0 ? it_cluster_node_cmd(&cl, i, "ROLE") : NULL;
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            strcmp(r->element[0]->str, "master") == 0)
            out[n++] = i;
        if (r)
            freeReplyObject(r);
    }
    return n;
}

static void node_cmd_ok(int i, const char *fmt, const char *a1, const char *a2) {
    redisReply *r = it_cluster_node_cmd(&cl, i, fmt, a1, a2);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("node %d: %s: %s", i, fmt, r->str);
    freeReplyObject(r);
}

/* ---- fixtures ---- */

static int cluster_setup(int masters, int replicas) {
    it_global_setup(NULL);
    if (!it_cluster_start(&cl, masters, replicas)) {
        fprintf(stderr, "cannot start a Redis Cluster (redis-server and redis-cli installed?)\n");
        return -1;
    }
    use_url(cl.url);
    return 0;
}

static int three_masters(void **state) {
    (void)state;
    return cluster_setup(3, 0);
}

static int three_masters_with_replicas(void **state) {
    (void)state;
    return cluster_setup(3, 1);
}

/* Stops the store and whichever servers the group started. */
static int servers_teardown(void **state) {
    (void)state;
    store_conn_shutdown();
    it_cluster_stop(&cl);
    it_redis_stop(&plain);
    memset(&plain, 0, sizeof plain);
    return it_global_teardown(NULL);
}

/* Empties every master (through the store, as the api's wipe would). */
static int flush_masters(void **state) {
    (void)state;
    int nodes[STORE_MAX_NODES], n = store_masters(nodes, STORE_MAX_NODES);
    for (int i = 0; i < n; i++) {
        store_args_t a;
        cmd(&a, "FLUSHALL", NULL, NULL);
        redisReply *r;
        store_status_t st = store_run_node(nodes[i], 1, &a, &r);
        store_args_free(&a);
        if (st != STORE_OK)
            return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* ---- three masters ---- */

static void many_slots_in_one_run_come_back_in_order(void **state) {
    (void)state;
    enum { N = 150 };
    static store_args_t cmds[N];
    redisReply *r[N];
    char keys[N][32], vals[N][32];
    int on[IT_CLUSTER_MAX] = {0};
    assert_int_equal(store_conn_probe(NULL), STORE_OK);
    assert_true(store_conn_is_cluster());
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "many:%d", i);
        snprintf(vals[i], sizeof vals[i], "value-%d", i * 7);
        cmd(&cmds[i], "SET", keys[i], vals[i]);
        on[it_cluster_owner(&cl, slot_of(keys[i]))]++;
    }
    for (int i = 0; i < 3; i++) /* the batch really spans every master */
        assert_true(on[i] > 10);
    assert_int_equal(store_run(N, cmds, r), STORE_OK);
    for (int i = 0; i < N; i++) {
        assert_reply_str(r[i], "OK");
        store_args_free(&cmds[i]);
    }
    store_replies_free(N, r);
    /* reads of two kinds, interleaved: each reply is its own command's */
    for (int i = 0; i < N; i++)
        cmd(&cmds[i], i % 2 ? "STRLEN" : "GET", keys[i], NULL);
    assert_int_equal(store_run(N, cmds, r), STORE_OK);
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            assert_int_equal(r[i]->type, REDIS_REPLY_INTEGER);
            assert_int_equal(r[i]->integer, (long long)strlen(vals[i]));
        } else {
            assert_reply_str(r[i], vals[i]);
        }
        store_args_free(&cmds[i]);
    }
    store_replies_free(N, r);
    for (int i = 0; i < N; i += 7)
        assert_stored(keys[i], vals[i]);
    /* per-command outcomes: all OK */
    store_status_t each[N];
    for (int i = 0; i < N; i++)
        cmd(&cmds[i], "GET", keys[i], NULL);
    assert_int_equal(store_run_each(N, cmds, r, each), STORE_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(each[i], STORE_OK);
        assert_reply_str(r[i], vals[i]);
        store_args_free(&cmds[i]);
    }
    store_replies_free(N, r);
}

static void keyless_commands_need_a_node(void **state) {
    (void)state;
    redisReply *r = (redisReply *)1;
    /* PING has no key: which master would it mean? */
    assert_int_equal(run1("PING", NULL, NULL, &r), STORE_ERROR);
    assert_null(r);
    /* an error in one command fails the call, not the others' replies' ownership */
    store_args_t two[2];
    redisReply *rr[2];
    cmd(&two[0], "SET", "kl:1", "x");
    cmd(&two[1], "DBSIZE", NULL, NULL);
    store_status_t each[2];
    assert_int_equal(store_run_each(2, two, rr, each), STORE_ERROR);
    assert_int_equal(each[0], STORE_OK);
    assert_reply_str(rr[0], "OK");
    assert_int_equal(each[1], STORE_ERROR);
    assert_null(rr[1]);
    store_replies_free(2, rr);
    store_args_free(&two[0]);
    store_args_free(&two[1]);
    /* store_run_node reaches each master; their key counts add up */
    for (int i = 0; i < 30; i++) {
        char k[16];
        snprintf(k, sizeof k, "kl:%d", i);
        assert_int_equal(run1("SET", k, "x", &r), STORE_OK);
        freeReplyObject(r);
    }
    int nodes[STORE_MAX_NODES], n = store_masters(nodes, STORE_MAX_NODES);
    assert_int_equal(n, 3);
    long long total = 0;
    for (int i = 0; i < n; i++) {
        store_args_t a;
        cmd(&a, "DBSIZE", NULL, NULL);
        assert_int_equal(store_run_node(nodes[i], 1, &a, &r), STORE_OK);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_true(r->integer > 0);
        total += r->integer;
        freeReplyObject(r);
        store_args_free(&a);
    }
    assert_int_equal(total, 30);
    store_args_t a;
    cmd(&a, "PING", NULL, NULL);
    assert_int_equal(store_run_node(STORE_MAX_NODES, 1, &a, &r), STORE_ERROR);
    assert_int_equal(store_run_node(-1, 1, &a, &r), STORE_ERROR);
    store_args_free(&a);
}

static store_script_t pair_script = STORE_SCRIPT(
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return redis.call('MGET', KEYS[1], KEYS[2])\n");

static store_status_t eval_pair(const char *k1, const char *k2, redisReply **r) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &pair_script, 2);
    store_args_keyname(&a, k1, strlen(k1));
    /* a plain argument, not a key of the args: a build with STORE_CHECK_SLOTS
     * would stop at the cross-slot pair below before Redis could refuse it */
    store_args_str(&a, k2);
    store_args_str(&a, "one");
    store_args_str(&a, "two");
    store_status_t st = store_eval(&pair_script, &a, r);
    store_args_free(&a);
    return st;
}

static void scripts_run_on_their_slot(void **state) {
    (void)state;
    redisReply *r;
    assert_int_equal(eval_pair("{user7}:a", "{user7}:b", &r), STORE_OK);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_reply_str(r->element[0], "one");
    assert_reply_str(r->element[1], "two");
    freeReplyObject(r);
    assert_stored("{user7}:a", "one");
    assert_stored("{user7}:b", "two");
    /* keys of two slots in one script: the cluster refuses it; a bug, not an outage */
    assert_true(slot_of("x:1") != slot_of("x:2"));
    assert_int_equal(eval_pair("x:1", "x:2", &r), STORE_ERROR);
    assert_stored("x:1", NULL);
}

/* SCRIPT EXISTS of the pair script on node i. */
static bool has_script(int i) {
    redisReply *r = it_cluster_node_cmd(&cl, i, "SCRIPT EXISTS %s", pair_script.sha);
    bool yes = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->integer;
    if (r)
        freeReplyObject(r);
    return yes;
}

static void noscript_is_per_node(void **state) {
    (void)state;
    int m[IT_CLUSTER_MAX];
    assert_int_equal(cluster_masters(m), 3);
    for (int i = 0; i < 3; i++)
        node_cmd_ok(m[i], "SCRIPT FLUSH", NULL, NULL);
    /* a hash tag served by each of two masters: "{tag}:1" and "{tag}:2" share its slot */
    char tag[32], a1[40], a2[40], b1[40], b2[40];
    key_on(m[0], "ns-a", tag, sizeof tag);
    snprintf(a1, sizeof a1, "{%s}:1", tag);
    snprintf(a2, sizeof a2, "{%s}:2", tag);
    key_on(m[1], "ns-b", tag, sizeof tag);
    snprintf(b1, sizeof b1, "{%s}:1", tag);
    snprintf(b2, sizeof b2, "{%s}:2", tag);
    redisReply *r;
    reset_stats(m[0]);
    assert_int_equal(eval_pair(a1, a2, &r), STORE_OK);
    freeReplyObject(r);
    /* the source went to the node that lacked it, and to no other */
    assert_int_equal(error_count(m[0], "NOSCRIPT"), 1);
    assert_true(has_script(m[0]));
    assert_false(has_script(m[1]));
    assert_false(has_script(m[2]));
    assert_int_equal(eval_pair(b1, b2, &r), STORE_OK);
    freeReplyObject(r);
    assert_true(has_script(m[1]));
    assert_false(has_script(m[2]));
    /* known now: EVALSHA alone */
    assert_int_equal(eval_pair(a1, a2, &r), STORE_OK);
    freeReplyObject(r);
    assert_int_equal(error_count(m[0], "NOSCRIPT"), 1);
    /* one node forgets (a restart): only it gets the source again */
    node_cmd_ok(m[0], "SCRIPT FLUSH", NULL, NULL);
    reset_stats(m[1]);
    assert_int_equal(eval_pair(a1, a2, &r), STORE_OK);
    freeReplyObject(r);
    assert_int_equal(eval_pair(b1, b2, &r), STORE_OK);
    freeReplyObject(r);
    assert_true(has_script(m[0]));
    assert_int_equal(error_count(m[1], "NOSCRIPT"), 0);
}

/* Moves slot from node `from` to node `to`: the keys named (NULL-ended) are
 * migrated; with finish, the slot is then given to `to` on every master. */
static void migrate_slot(int slot, int from, int to, const char *const *keys, bool finish) {
    char from_id[41], to_id[41], slot_s[16], port[16];
    assert_true(it_cluster_node_id(&cl, from, from_id));
    assert_true(it_cluster_node_id(&cl, to, to_id));
    snprintf(slot_s, sizeof slot_s, "%d", slot);
    snprintf(port, sizeof port, "%d", cl.nodes[to].port);
    node_cmd_ok(to, "CLUSTER SETSLOT %s IMPORTING %s", slot_s, from_id);
    node_cmd_ok(from, "CLUSTER SETSLOT %s MIGRATING %s", slot_s, to_id);
    for (int i = 0; keys && keys[i]; i++) {
        redisReply *r =
            it_cluster_node_cmd(&cl, from, "MIGRATE 127.0.0.1 %s %s 0 5000", port, keys[i]);
        assert_non_null(r);
        assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
    if (!finish)
        return;
    int m[IT_CLUSTER_MAX], n = cluster_masters(m);
    node_cmd_ok(to, "CLUSTER SETSLOT %s NODE %s", slot_s, to_id);
    node_cmd_ok(from, "CLUSTER SETSLOT %s NODE %s", slot_s, to_id);
    for (int i = 0; i < n; i++)
        if (m[i] != to && m[i] != from)
            node_cmd_ok(m[i], "CLUSTER SETSLOT %s NODE %s", slot_s, to_id);
}

static void moved_slot_is_followed_and_remembered(void **state) {
    (void)state;
    const char *key = "moving:1";
    int slot = slot_of(key), from = it_cluster_owner(&cl, slot);
    int m[IT_CLUSTER_MAX];
    assert_int_equal(cluster_masters(m), 3);
    int to = m[0] == from ? m[1] : m[0];
    redisReply *r;
    assert_int_equal(run1("SET", key, "before", &r), STORE_OK); /* the map knows `from` */
    freeReplyObject(r);
    const char *keys[] = {key, NULL};
    migrate_slot(slot, from, to, keys, true);
    assert_int_equal(it_cluster_owner(&cl, slot), to);
    reset_stats(from);
    /* the old owner answers MOVED; the caller sees the value */
    assert_int_equal(run1("GET", key, NULL, &r), STORE_OK);
    assert_reply_str(r, "before");
    freeReplyObject(r);
    assert_int_equal(error_count(from, "MOVED"), 1);
    /* and never again: the map was corrected by that one reply */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(run1("SET", key, "after", &r), STORE_OK);
        freeReplyObject(r);
    }
    assert_int_equal(error_count(from, "MOVED"), 1);
    assert_stored(key, "after");
    /* the slot's new keys go to the new owner directly */
    char other[32];
    snprintf(other, sizeof other, "{%s}:x", key); /* same slot by hash tag */
    assert_int_equal(slot_of(other), slot);
    assert_int_equal(run1("SET", other, "tagged", &r), STORE_OK);
    freeReplyObject(r);
    assert_int_equal(error_count(from, "MOVED"), 1);
    assert_stored(other, "tagged");
}

static void ask_during_migration_leaves_the_map(void **state) {
    (void)state;
    const char *k1 = "{mig}:1", *k2 = "{mig}:2", *k3 = "{mig}:3";
    int slot = slot_of(k1), from = it_cluster_owner(&cl, slot);
    int m[IT_CLUSTER_MAX];
    assert_int_equal(cluster_masters(m), 3);
    int to = m[0] == from ? m[1] : m[0];
    redisReply *r;
    assert_int_equal(run1("SET", k1, "v1", &r), STORE_OK);
    freeReplyObject(r);
    assert_int_equal(run1("SET", k2, "v2", &r), STORE_OK);
    freeReplyObject(r);
    const char *moved_keys[] = {k1, NULL};
    migrate_slot(slot, from, to, moved_keys, false); /* k1 moved, k2 not yet */
    reset_stats(from);
    store_args_t cmds[3];
    cmd(&cmds[0], "GET", k1, NULL);
    cmd(&cmds[1], "GET", k2, NULL);
    cmd(&cmds[2], "SET", k3, "v3"); /* a new key of a migrating slot belongs to the target */
    redisReply *rr[3];
    assert_int_equal(store_run(3, cmds, rr), STORE_OK);
    assert_reply_str(rr[0], "v1");
    assert_reply_str(rr[1], "v2");
    assert_reply_str(rr[2], "OK");
    store_replies_free(3, rr);
    for (int i = 0; i < 3; i++)
        store_args_free(&cmds[i]);
    assert_int_equal(error_count(from, "ASK"), 2);
    assert_int_equal(error_count(from, "MOVED"), 0);
    /* where the keys are now: k1 and k3 on the importing node, k2 still on the old one */
    char slot_s[16];
    snprintf(slot_s, sizeof slot_s, "%d", slot);
    r = it_cluster_node_cmd(&cl, to, "CLUSTER COUNTKEYSINSLOT %s", slot_s);
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    r = it_cluster_node_cmd(&cl, from, "CLUSTER COUNTKEYSINSLOT %s", slot_s);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    /* ASK did not change the map: k2 is still asked of its node directly */
    assert_int_equal(run1("GET", k2, NULL, &r), STORE_OK);
    assert_reply_str(r, "v2");
    freeReplyObject(r);
    assert_int_equal(error_count(from, "ASK"), 2);
    /* the migration ends: MOVED then, and everything is found */
    const char *rest[] = {k2, NULL};
    migrate_slot(slot, from, to, rest, true);
    assert_int_equal(run1("GET", k2, NULL, &r), STORE_OK);
    assert_reply_str(r, "v2");
    freeReplyObject(r);
    assert_int_equal(error_count(from, "MOVED"), 1);
    assert_stored(k1, "v1");
    assert_stored(k3, "v3");
}

static void health_shows_the_cluster(void **state) {
    (void)state;
    static store_cluster_info_t info;
    /* every master used once, so this instance has a view of each */
    int nodes[STORE_MAX_NODES], n = store_masters(nodes, STORE_MAX_NODES);
    for (int i = 0; i < n; i++) {
        store_args_t a;
        redisReply *r;
        cmd(&a, "PING", NULL, NULL);
        assert_int_equal(store_run_node(nodes[i], 1, &a, &r), STORE_OK);
        freeReplyObject(r);
        store_args_free(&a);
    }
    assert_int_equal(store_cluster_info(&info), STORE_OK);
    assert_int_equal(info.mode, STORE_MODE_CLUSTER);
    assert_true(info.have_info);
    assert_string_equal(info.state, "ok");
    assert_int_equal(info.slots_assigned, 16384);
    assert_int_equal(info.slots_ok, 16384);
    assert_int_equal(info.slots_pfail + info.slots_fail, 0);
    assert_int_equal(info.known_nodes, 3);
    assert_int_equal(info.size, 3);
    assert_int_equal(info.slots_up, 16384);
    assert_int_equal(info.slots_down + info.slots_unrouted, 0);
    int slots = 0, masters = 0;
    for (int i = 0; i < info.nnodes; i++) {
        const store_node_info_t *nd = &info.nodes[i];
        char want[32];
        bool ours = false;
        for (int j = 0; j < cl.n && !ours; j++) {
            snprintf(want, sizeof want, "127.0.0.1:%d", cl.nodes[j].port);
            ours = strcmp(nd->addr, want) == 0;
        }
        if (!ours)
            fail_msg("unknown node %s", nd->addr);
        assert_true(nd->listed);
        assert_false(nd->failing);
        assert_string_equal(nd->role, "master");
        assert_int_equal(nd->state, STORE_NODE_UP);
        slots += nd->slots;
        masters += nd->slots > 0;
    }
    assert_int_equal(info.nnodes, 3);
    assert_int_equal(masters, 3);
    assert_int_equal(slots, 16384);
    assert_true(store_conn_up());
}

static void database_other_than_0_is_refused(void **state) {
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/2", cl.nodes[0].port);
    /* the service: a start-up error that says why */
    it_service_t svc;
    assert_false(it_service_start(&svc, url, NULL));
    FILE *f = fopen(svc.log, "r");
    assert_non_null(f);
    char log[4096] = "";
    size_t got = fread(log, 1, sizeof log - 1, f);
    log[got] = '\0';
    fclose(f);
    if (!strstr(log, "REDIS_URL: ") || !strstr(log, "database other than 0"))
        fail_msg("the service's output does not say why: %s", log);
    unlink(svc.log);
    /* the store itself: every command refused, none sent to database 0 */
    store_conn_shutdown();
    use_url(url);
    const char *why = NULL;
    assert_int_equal(store_conn_probe(&why), STORE_ERROR);
    assert_non_null(why);
    assert_non_null(strstr(why, "Redis Cluster"));
    redisReply *r;
    assert_int_equal(run1("SET", "refused", "x", &r), STORE_ERROR);
    assert_stored("refused", NULL);
    store_conn_shutdown();
    use_url(cl.url);
}

/* What concurrent callers saw; violations are counted (cmocka's asserts
 * belong to the main thread) and the first is described. */
typedef struct {
    atomic_int calls, violations;
    char first[256];
    pthread_mutex_t lock;
} tally_t;

static void violation(tally_t *t, const char *fmt, ...) {
    if (atomic_fetch_add(&t->violations, 1) > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&t->lock);
    vsnprintf(t->first, sizeof t->first, fmt, ap);
    pthread_mutex_unlock(&t->lock);
    va_end(ap);
}

/* SETs every key in one store_run_each. Always: the call takes at most the
 * timeout (and slack), no command is STORE_ERROR, every key of a master
 * that is up is OK, a reply exactly for each OK. With down_known, keys of
 * the down master are never OK. Returns how many commands were OK. */
static int set_all(int n, char (*keys)[32], const bool *on_down, bool down_known, tally_t *t) {
    store_args_t cmds[64];
    redisReply *r[64];
    store_status_t each[64];
    for (int i = 0; i < n; i++)
        cmd(&cmds[i], "SET", keys[i], "x");
    double t0 = now_ms();
    store_status_t st = store_run_each(n, cmds, r, each);
    double took = now_ms() - t0;
    atomic_fetch_add(&t->calls, 1);
    if (took > (TIMEOUT_MS + 500) * it_time_scale())
        violation(t, "a call took %.0f ms, over the %d ms timeout", took, TIMEOUT_MS);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        if (each[i] == STORE_ERROR)
            violation(t, "%s: STORE_ERROR (a 500, not a 503)", keys[i]);
        else if (on_down[i] && down_known && each[i] != STORE_UNAVAILABLE)
            violation(t, "%s: status %d, its master is down", keys[i], each[i]);
        else if (!on_down[i] && each[i] != STORE_OK)
            violation(t, "%s: status %d, its master is up", keys[i], each[i]);
        if ((each[i] == STORE_OK) != (r[i] != NULL))
            violation(t, "%s: a reply does not match its status", keys[i]);
        ok += each[i] == STORE_OK;
        store_args_free(&cmds[i]);
    }
    if ((st == STORE_OK) != (ok == n))
        violation(t, "store_run_each answered %d with %d of %d OK", st, ok, n);
    store_replies_free(n, r);
    return ok;
}

static void assert_clean(tally_t *t) {
    if (atomic_load(&t->violations))
        fail_msg("%d violations in %d calls; the first: %s", atomic_load(&t->violations),
                 atomic_load(&t->calls), t->first);
}

enum { NKEYS = 60, LOADERS = 4 };

/* The keys "down:N", which of them the victim master serves, and what
 * callers saw. */
typedef struct {
    char keys[NKEYS][32];
    bool on_down[NKEYS];
    int victim, on;   /* the victim's index, and how many keys it serves */
    atomic_int phase; /* UP, DOWN (killed), BACK (restarted) */
    atomic_bool stop;
    atomic_int recovered; /* loaders that saw every key OK after BACK */
    tally_t tally;
} load_t;

enum { UP, DOWN, BACK };

static void load_keys(load_t *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->tally.lock, NULL);
    l->victim = it_cluster_owner(&cl, slot_of("down:0"));
    for (int i = 0; i < NKEYS; i++) {
        snprintf(l->keys[i], sizeof l->keys[i], "down:%d", i);
        l->on_down[i] = it_cluster_owner(&cl, slot_of(l->keys[i])) == l->victim;
        l->on += l->on_down[i];
    }
    assert_true(l->on > 5 && l->on < NKEYS - 5);
    assert_int_equal(set_all(NKEYS, l->keys, l->on_down, false, &l->tally), NKEYS);
}

static void *loader(void *arg) {
    load_t *l = arg;
    bool recovered = false;
    while (!atomic_load(&l->stop)) {
        int before = atomic_load(&l->phase);
        int ok = set_all(NKEYS, l->keys, l->on_down, before == DOWN, &l->tally);
        if (before == BACK && ok == NKEYS && !recovered) {
            recovered = true;
            atomic_fetch_add(&l->recovered, 1);
        }
        it_sleep_ms(5);
    }
    store_conn_close_thread();
    return NULL;
}

static void master_stopped_under_load_then_restarted(void **state) {
    (void)state;
    static load_t l;
    load_keys(&l);
    pthread_t t[LOADERS];
    for (int i = 0; i < LOADERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, loader, &l), 0);
    it_sleep_ms(200);
    it_cluster_kill(&cl, l.victim);
    atomic_store(&l.phase, DOWN);
    /* across the cluster noticing (PFAIL, then FAIL after the node timeout) */
    it_sleep_ms((int)(2500 * it_time_scale()));
    static store_cluster_info_t info;
    assert_int_equal(store_cluster_info(&info), STORE_UNAVAILABLE);
    assert_true(info.slots_down > 0);
    assert_true(info.have_info); /* asked a master that is up */
    assert_true(info.slots_pfail + info.slots_fail > 0);
    int down = 0;
    for (int i = 0; i < info.nnodes; i++)
        if (info.nodes[i].state == STORE_NODE_DOWN) {
            down++;
            assert_true(info.nodes[i].failing);
            assert_true(info.nodes[i].last_error[0] != '\0');
            assert_true(info.nodes[i].slots == info.slots_down);
        }
    assert_int_equal(down, 1);
    assert_false(store_conn_up());
    /* back (empty: nothing was saved): the same store serves it again */
    assert_true(it_cluster_restart(&cl, l.victim));
    atomic_store(&l.phase, BACK);
    double t0 = now_ms();
    while (atomic_load(&l.recovered) < LOADERS && now_ms() - t0 < 5000 * it_time_scale())
        it_sleep_ms(20);
    double took = now_ms() - t0;
    atomic_store(&l.stop, true);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr,
            "  %d calls by %d threads; every thread served again %.0f ms after the restart\n",
            atomic_load(&l.tally.calls), LOADERS, took);
    assert_clean(&l.tally);
    assert_int_equal(atomic_load(&l.recovered), LOADERS);
    assert_true(atomic_load(&l.tally.calls) > 100);
    assert_true(it_cluster_wait(&cl, 20000));
}

static void *debug_sleep(void *arg) {
    int node = *(int *)arg;
    redisReply *r = it_cluster_node_cmd(&cl, node, "DEBUG SLEEP 0.9");
    if (r)
        freeReplyObject(r);
    return NULL;
}

/* A stalled master (DEBUG SLEEP, shorter than the node timeout) costs its
 * own commands a timeout each, no more, and the others nothing. */
static void stalled_master_holds_only_its_commands(void **state) {
    (void)state;
    static load_t l;
    load_keys(&l);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, debug_sleep, &l.victim), 0);
    it_sleep_ms(100);
    for (int i = 0; i < 2; i++) /* 300 ms each at most: both within the sleep */
        assert_int_equal(set_all(NKEYS, l.keys, l.on_down, true, &l.tally), NKEYS - l.on);
    pthread_join(t, NULL);
    /* awake again: served at the latest when the fail-fast window has passed */
    double t0 = now_ms();
    while (set_all(NKEYS, l.keys, l.on_down, false, &l.tally) < NKEYS)
        if (now_ms() - t0 > 1000 * it_time_scale())
            fail_msg("the master that slept is still not used after 1 s");
    assert_clean(&l.tally);
}

/* ---- three masters with a replica each ---- */

/* Kills or fails over the master of key's slot, then measures the time
 * from the cluster serving the slot from a replica to the store's first
 * OK; the store must never answer STORE_ERROR meanwhile. */
static void follow_failover(const char *key, bool kill_master) {
    int slot = slot_of(key), master = it_cluster_owner(&cl, slot);
    int replica = it_cluster_replica_of(&cl, master);
    assert_true(master >= 0 && replica >= 0);
    redisReply *r;
    assert_int_equal(run1("SET", key, "before", &r), STORE_OK);
    freeReplyObject(r);
    if (kill_master)
        it_cluster_kill(&cl, master);
    else
        node_cmd_ok(replica, "CLUSTER FAILOVER", NULL, NULL);
    double start = now_ms(), promoted = 0, ok = 0;
    while ((!promoted || !ok) && now_ms() - start < 20000 * it_time_scale()) {
        if (!promoted && it_cluster_owner(&cl, slot) == replica)
            promoted = now_ms();
        store_status_t st = run1("SET", key, "after", &r);
        if (st == STORE_OK) {
            freeReplyObject(r);
            if (!ok)
                ok = now_ms();
        }
        assert_int_not_equal(st, STORE_ERROR);
        it_sleep_ms(10);
    }
    assert_true(promoted > 0);
    assert_true(ok > 0);
    fprintf(stderr, "  %s: replica serving after %.0f ms, the store after %+.0f ms\n",
            kill_master ? "master killed" : "CLUSTER FAILOVER", promoted - start, ok - promoted);
    assert_true(ok - promoted <= 2000 * it_time_scale());
    assert_stored(key, "after");
    if (kill_master) { /* back as a replica of the promoted one */
        assert_true(it_cluster_restart(&cl, master));
        assert_true(it_cluster_wait(&cl, 30000));
    }
}

static void failover_after_a_master_dies(void **state) {
    (void)state;
    follow_failover("failover:kill", true);
}

static void manual_failover_is_followed(void **state) {
    (void)state;
    follow_failover("failover:manual", false);
}

/* ---- standalone ---- */

static int standalone_setup(void **state) {
    (void)state;
    it_global_setup(NULL);
    if (!it_redis_start(&plain))
        return -1;
    use_url(plain.url);
    return 0;
}

static void standalone_server_is_one_node(void **state) {
    (void)state;
    assert_int_equal(store_conn_probe(NULL), STORE_OK);
    assert_false(store_conn_is_cluster());
    /* keys of any slots, and keyless commands, in one batch to the one server */
    store_args_t cmds[4];
    redisReply *r[4];
    cmd(&cmds[0], "SET", "s:1", "a");
    cmd(&cmds[1], "SET", "s:2", "b");
    cmd(&cmds[2], "PING", NULL, NULL);
    cmd(&cmds[3], "DBSIZE", NULL, NULL);
    assert_int_equal(store_run(4, cmds, r), STORE_OK);
    assert_reply_str(r[0], "OK");
    assert_reply_str(r[1], "OK");
    assert_reply_str(r[2], "PONG");
    assert_int_equal(r[3]->integer, 2);
    store_replies_free(4, r);
    for (int i = 0; i < 4; i++)
        store_args_free(&cmds[i]);
    int nodes[4];
    assert_int_equal(store_masters(nodes, 4), 1);
    assert_int_equal(nodes[0], 0);
    store_args_t a;
    cmd(&a, "DBSIZE", NULL, NULL);
    assert_int_equal(store_run_node(0, 1, &a, r), STORE_OK);
    freeReplyObject(r[0]);
    assert_int_equal(store_run_node(1, 1, &a, r), STORE_ERROR);
    store_args_free(&a);
    /* no cluster command was ever sent to it */
    redisReply *stats = it_redis_cmd(&plain, "INFO commandstats");
    assert_non_null(stats);
    assert_null(strstr(stats->str, "cmdstat_cluster"));
    assert_null(strstr(stats->str, "cmdstat_asking"));
    freeReplyObject(stats);
    static store_cluster_info_t info;
    assert_int_equal(store_cluster_info(&info), STORE_OK);
    assert_int_equal(info.mode, STORE_MODE_STANDALONE);
    assert_int_equal(info.nnodes, 1);
    assert_int_equal(info.nodes[0].slots, 16384);
    assert_int_equal(info.nodes[0].state, STORE_NODE_UP);
    assert_false(info.have_info);
    assert_true(store_conn_up());
}

int main(void) {
    if (getenv("RTSTATE_WRAPPER")) {
        /* make valgrind wraps the service; this suite runs none (make test ran it) */
        printf("test_cluster_conn: not run under RTSTATE_WRAPPER\n0 passed, 0 failed\n");
        return 0;
    }
    const struct CMUnitTest cluster[] = {
        cmocka_unit_test_setup(many_slots_in_one_run_come_back_in_order, flush_masters),
        cmocka_unit_test_setup(keyless_commands_need_a_node, flush_masters),
        cmocka_unit_test_setup(scripts_run_on_their_slot, flush_masters),
        cmocka_unit_test_setup(noscript_is_per_node, flush_masters),
        cmocka_unit_test_setup(moved_slot_is_followed_and_remembered, flush_masters),
        cmocka_unit_test_setup(ask_during_migration_leaves_the_map, flush_masters),
        cmocka_unit_test(health_shows_the_cluster),
        cmocka_unit_test(database_other_than_0_is_refused),
        cmocka_unit_test_setup(stalled_master_holds_only_its_commands, flush_masters),
        cmocka_unit_test_setup(master_stopped_under_load_then_restarted, flush_masters),
    };
    const struct CMUnitTest replicated[] = {
        cmocka_unit_test(failover_after_a_master_dies),
        cmocka_unit_test(manual_failover_is_followed),
    };
    const struct CMUnitTest standalone[] = {
        cmocka_unit_test(standalone_server_is_one_node),
    };
    int failed =
        cmocka_run_group_tests_name("standalone", standalone, standalone_setup, servers_teardown);
    failed += cmocka_run_group_tests_name("cluster (3 masters)", cluster, three_masters,
                                          servers_teardown);
    failed += cmocka_run_group_tests_name("cluster (3 masters, 1 replica each)", replicated,
                                          three_masters_with_replicas, servers_teardown);
    return failed;
}
