/*
 * The whole service on a Redis Cluster while its masters fail, as clients
 * and the operator see it over HTTP.
 *
 * - A master stopped (SIGKILL) while six client threads send frames,
 *   heartbeats and reads for webcam clients of every bucket: the requests on
 *   its slots answer 503 problem+json with Retry-After, fast; the requests on
 *   the other masters' slots keep succeeding, every one; nothing is ever a
 *   500. /health is warn and names the node, /readyz stays 200 and lists it
 *   as down, /redis/stats reports it down and how many buckets its counters
 *   miss, /metrics has redis_node_up 0 for it. Restarted (from the snapshot
 *   it saved), every thread is served on its slots again within seconds, by
 *   the same service process, and /health is pass again.
 * - Two masters stalled at once (DEBUG SLEEP): a request that reads every
 *   bucket (a list page) and /health answer within one Redis timeout, not
 *   one per stalled master.
 * - With a replica per master: a master killed, and a CLUSTER FAILOVER, are
 *   followed within 2 s of the cluster promoting the replica (the first
 *   success on a key of that master's slots), with no 500 meanwhile; the
 *   dead master is named by /health until it comes back as a replica.
 *
 * REDIS_TIMEOUT_MS is 300. Time bounds are multiplied by it_time_scale().
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
#include "harness.h"

#define TIMEOUT_S 0.3
static const char *const env[] = {"REDIS_TIMEOUT_MS=300", "CLIENT_TIMEOUT_MS=600000", NULL};

static it_cluster_t cl;
static it_service_t svc;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup_with(int replicas) {
    it_global_setup(NULL);
    if (!it_cluster_start(&cl, 3, replicas))
        return -1;
    return it_service_start(&svc, cl.url, env) ? 0 : -1;
}

static int setup(void **state) {
    (void)state;
    return setup_with(0);
}

static int setup_replicated(void **state) {
    (void)state;
    return setup_with(1);
}

static int teardown(void **state) {
    (void)state;
    int rc = it_service_stop(&svc);
    it_cluster_stop(&cl);
    it_global_teardown(NULL);
    return rc == 0 ? 0 : -1;
}

/* The master (node index) that serves webcam client id's keys. */
static int master_of(const char *id) {
    const char *key = it_key(KEY_CLIENT, id);
    return it_cluster_owner(&cl, core_key_slot(key, strlen(key)));
}

/* A request's status, and its body when body is not NULL (caller frees). */
static long call(const char *method, const char *path, char **body) {
    it_resp_t r = it_json_req(&svc, method, path, NULL);
    long st = r.status;
    if (body)
        *body = strdup(r.body);
    it_resp_free(&r);
    return st;
}

/* Node i's address as the service names it. */
static const char *addr_of(int i) {
    static char a[32];
    snprintf(a, sizeof a, "127.0.0.1:%d", cl.nodes[i].port);
    return a;
}

/* ---- client threads on webcam clients of every bucket ---- */

#define NCAMS 48
#define LOADERS 6

/* A request counts for a phase when it started and ended in it; CHANGING
 * covers the kill and the restart themselves. */
enum { RUNNING, DOWN, BACK, NPHASES, CHANGING = NPHASES, STOP };
static atomic_int phase;
static double back_at;
static bool on_victim[NCAMS];

typedef struct {
    int first; /* the cam it starts at */
    /* [phase][on the victim's slots] */
    int ok[NPHASES][2], unavailable[NPHASES][2];
    int other, bad_problems; /* any other status (a 500 ...); 503s not as promised */
    long other_status;
    char other_what[96];
    double slowest_503;     /* while DOWN */
    double first_victim_ok; /* seconds from back_at to a success on the victim's slots */
} loader_t;

static void record(loader_t *l, const it_resp_t *r, int started_in, int cam, const char *what) {
    int p = atomic_load(&phase), v = on_victim[cam];
    bool settled = p == started_in && p < NPHASES;
    if (r->status >= 200 && r->status < 300) {
        if (settled)
            l->ok[p][v]++;
        if (settled && p == BACK && v && l->first_victim_ok < 0)
            l->first_victim_ok = now_s() - back_at;
    } else if (r->status == 503) {
        if (settled)
            l->unavailable[p][v]++;
        if (settled && p == DOWN && r->seconds > l->slowest_503)
            l->slowest_503 = r->seconds;
        l->bad_problems += !it_is_unavailable(r);
    } else if (!l->other++) {
        l->other_status = r->status;
        snprintf(l->other_what, sizeof l->other_what, "%s cam%02d: %.60s", what, cam, r->body);
    }
}

static void *load(void *arg) {
    loader_t *l = arg;
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    static const char frame[] = "\xff\xd8\xff\xe0 a frame";
    char path[96];
    for (int k = l->first; atomic_load(&phase) != STOP; k++) {
        int cam = k % NCAMS, p = atomic_load(&phase);
        snprintf(path, sizeof path, "/clients/cam%02d/image", cam);
        it_resp_t r = it_http(&svc, "PUT", path, h, frame, sizeof frame - 1);
        record(l, &r, p, cam, "PUT image");
        it_resp_free(&r);
        p = atomic_load(&phase);
        snprintf(path, sizeof path, "/clients/cam%02d/heartbeat", cam);
        r = it_http(&svc, "POST", path, NULL, NULL, 0);
        record(l, &r, p, cam, "heartbeat");
        it_resp_free(&r);
        p = atomic_load(&phase);
        snprintf(path, sizeof path, "/clients/cam%02d", cam);
        r = it_http(&svc, "GET", path, NULL, NULL, 0);
        record(l, &r, p, cam, "GET");
        it_resp_free(&r);
    }
    return NULL;
}

/* Registers the cams; returns the master serving cam00 (the victim). */
static int make_cams(void) {
    int victim = master_of("cam00"), on = 0;
    for (int i = 0; i < NCAMS; i++) {
        char body[64], id[16];
        snprintf(id, sizeof id, "cam%02d", i);
        snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
        it_resp_t r = it_json_req(&svc, "POST", "/clients", body);
        assert_true(r.status == 201 || r.status == 200);
        it_resp_free(&r);
        on_victim[i] = master_of(id) == victim;
        on += on_victim[i];
    }
    assert_true(on > 0 && on < NCAMS); /* both kinds of slots are under load */
    return victim;
}

/* /health while the victim is down: warn, 200, naming it. */
static void health_names(int victim) {
    char *body;
    assert_int_equal(call("GET", "/health", &body), 200);
    cJSON *j = cJSON_Parse(body);
    assert_string_equal(it_json_str(j, "status"), "warn");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "redis"), "degraded");
    const char *out = it_json_str(j, "output");
    if (!out || !strstr(out, addr_of(victim)))
        fail_msg("/health does not name %s: %s", addr_of(victim), body);
    const cJSON *c;
    int failing = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "checks"), "redis:slots")) {
        if (strcmp(it_json_str(c, "componentId"), addr_of(victim)) == 0) {
            assert_string_equal(it_json_str(c, "status"), "fail");
            failing++;
        }
    }
    assert_int_equal(failing, 1);
    cJSON_Delete(j);
    free(body);
}

/* /readyz, /redis/stats and /metrics while the victim is down. */
static void operator_views(int victim) {
    char *body, want[96];
    assert_int_equal(call("GET", "/readyz?verbose", &body), 200); /* still ready */
    snprintf(want, sizeof want, "[-]redis %s down", addr_of(victim));
    if (!strstr(body, want))
        fail_msg("/readyz?verbose does not list %s as down:\n%s", addr_of(victim), body);
    free(body);

    assert_int_equal(call("GET", "/redis/stats", &body), 200);
    cJSON *j = cJSON_Parse(body);
    cJSON *cluster = cJSON_GetObjectItem(j, "cluster");
    assert_int_equal((int)it_json_num(cluster, "masters_down"), 1);
    assert_true(it_json_num(cJSON_GetObjectItem(j, "app"), "missing_buckets") > 0);
    const cJSON *n;
    int down = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(cluster, "nodes")) {
        if (strcmp(it_json_str(n, "address"), addr_of(victim)) == 0) {
            assert_string_equal(it_json_str(n, "state"), "down");
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(n, "server")));
            down++;
        }
    }
    assert_int_equal(down, 1);
    cJSON_Delete(j);
    free(body);

    assert_int_equal(call("GET", "/metrics", &body), 200);
    snprintf(want, sizeof want, "redis_node_up{node=\"%s\",role=\"master\"} 0\n", addr_of(victim));
    if (!strstr(body, want))
        fail_msg("/metrics lacks %s", want);
    assert_non_null(strstr(body, "\nredis_up 0\n"));
    free(body);
}

static void print_loader(const loader_t *l, int i) {
    printf(
        "  loader %d: other slots ok %d/%d/%d, 503 %d/%d/%d; victim's ok %d/%d/%d, 503 "
        "%d/%d/%d; slowest 503 %.3f s, victim's slots back after %.3f s\n",
        i, l->ok[RUNNING][0], l->ok[DOWN][0], l->ok[BACK][0], l->unavailable[RUNNING][0],
        l->unavailable[DOWN][0], l->unavailable[BACK][0], l->ok[RUNNING][1], l->ok[DOWN][1],
        l->ok[BACK][1], l->unavailable[RUNNING][1], l->unavailable[DOWN][1],
        l->unavailable[BACK][1], l->slowest_503, l->first_victim_ok);
}

static void master_stopped_under_load_then_restarted(void **state) {
    (void)state;
    double k = it_time_scale();
    int victim = make_cams();
    pid_t pid = svc.pid;
    static loader_t l[LOADERS];
    pthread_t t[LOADERS];
    atomic_store(&phase, RUNNING);
    for (int i = 0; i < LOADERS; i++) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].first = i * NCAMS / LOADERS;
        l[i].first_victim_ok = -1;
        pthread_create(&t[i], NULL, load, &l[i]);
    }
    it_sleep_ms(300);

    atomic_store(&phase, CHANGING);
    redisReply *saved = it_cluster_node_cmd(&cl, victim, "SAVE"); /* it comes back with its cams */
    assert_non_null(saved);
    freeReplyObject(saved);
    it_cluster_kill(&cl, victim);
    atomic_store(&phase, DOWN);
    /* the cluster notices (PFAIL, then FAIL after the node timeout) */
    it_sleep_ms((int)(2500 * k));
    health_names(victim);
    operator_views(victim);

    atomic_store(&phase, CHANGING);
    assert_true(it_cluster_restart(&cl, victim));
    assert_true(it_cluster_wait(&cl, 30000));
    back_at = now_s();
    atomic_store(&phase, BACK);
    for (bool all = false; !all && now_s() - back_at < 5 * k;) {
        it_sleep_ms(50);
        all = true;
        for (int i = 0; i < LOADERS; i++)
            all &= l[i].first_victim_ok >= 0;
    }
    it_sleep_ms(500);
    atomic_store(&phase, STOP);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);

    for (int i = 0; i < LOADERS; i++) {
        print_loader(&l[i], i);
        if (l[i].other)
            fail_msg("loader %d: %d answers neither 2xx nor 503, the first %ld (%s)", i, l[i].other,
                     l[i].other_status, l[i].other_what);
        assert_int_equal(l[i].bad_problems, 0);
        /* running: everything served */
        assert_int_equal(l[i].unavailable[RUNNING][0] + l[i].unavailable[RUNNING][1], 0);
        /* down: the other masters' slots served, every request; the victim's, fast 503s */
        assert_true(l[i].ok[DOWN][0] > 0);
        assert_int_equal(l[i].unavailable[DOWN][0], 0);
        assert_true(l[i].unavailable[DOWN][1] > 0);
        assert_int_equal(l[i].ok[DOWN][1], 0);
        assert_true(l[i].slowest_503 < (TIMEOUT_S + 0.2) * k);
        /* back: the victim's slots served again, without restarting the service */
        assert_true(l[i].first_victim_ok >= 0 && l[i].first_victim_ok <= 5 * k);
        assert_true(l[i].ok[BACK][0] > 0 && l[i].ok[BACK][1] > 0);
    }
    assert_int_equal(svc.pid, pid);
    char *body;
    for (double t0 = now_s(); now_s() - t0 < 5 * k; it_sleep_ms(100)) {
        assert_int_equal(call("GET", "/health", &body), 200);
        bool pass = strstr(body, "\"status\":\"pass\"") != NULL;
        free(body);
        if (pass)
            return;
    }
    fail_msg("/health is not pass again 5 s after the master came back");
}

/* ---- stalls ---- */

static void *debug_sleep(void *arg) {
    int node = *(int *)arg;
    redisReply *r = it_cluster_node_cmd(&cl, node, "DEBUG SLEEP 1.2");
    if (r)
        freeReplyObject(r);
    return NULL;
}

/* Stalls two masters at once, then sends path: one timeout, not two (the
 * first request after the stall: no master is known to be down yet). */
static void stalled_twice(const char *path) {
    double k = it_time_scale();
    int stalled[2] = {0, 1};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, debug_sleep, &stalled[i]);
    it_sleep_ms(100);
    it_resp_t r = it_http(&svc, "GET", path, NULL, NULL, 0);
    printf("  GET %s with two masters stalled: %ld in %.3f s\n", path, r.status, r.seconds);
    if (strcmp(path, "/health") == 0)
        assert_true(r.status == 200); /* warn: the third master answered */
    else
        assert_true(it_is_unavailable(&r));
    assert_true(r.seconds < (TIMEOUT_S + 0.2) * k);
    it_resp_free(&r);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* awake again: served once the fail-fast window has passed */
    double t0 = now_s();
    while (call("GET", "/clients?limit=100", NULL) != 200)
        if (now_s() - t0 > 2 * k)
            fail_msg("the list is not served 2 s after the stall");
}

static void stalled_masters_cost_one_timeout(void **state) {
    (void)state;
    make_cams();
    stalled_twice("/clients?limit=100"); /* a list page reads every bucket */
    stalled_twice("/health");            /* so does the probe */
}

/* ---- failover to a replica ---- */

/* Kills or fails over the master of cam00's slot; measures from the cluster
 * serving that slot from the replica to the service's first success on it. */
static void follow_failover(bool kill_master) {
    double k = it_time_scale();
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"cam00\"}");
    assert_true(r.status == 201 || r.status == 200);
    it_resp_free(&r);
    static char key[64], before[4096], nodes[4096];
    snprintf(key, sizeof key, "%s", it_key(KEY_CLIENT, "cam00"));
    int slot = core_key_slot(key, strlen(key)), master = it_cluster_owner(&cl, slot);
    int replica = it_cluster_replica_of(&cl, master);
    assert_true(master >= 0 && replica >= 0);
    /* the replica has cam00 before its master dies: it has processed all the
     * master had written. (Not WAIT on a connection of the test's own, which
     * answers at once; and link up is not enough: after a full sync a master
     * can hold its stream back for up to a second, see it_cluster_wait.) */
    if (!it_cluster_replicated(&cl, master, (int)(5000 * k))) {
        it_cluster_describe(&cl, slot, key, nodes, sizeof nodes);
        printf("  the nodes:\n%s", nodes);
        fflush(stdout);
        fail_msg("node %d's replica has not caught up with it after 5 s", master);
    }
    it_cluster_describe(&cl, slot, key, before, sizeof before);
    if (kill_master) {
        it_cluster_kill(&cl, master);
    } else {
        redisReply *w = it_cluster_node_cmd(&cl, replica, "CLUSTER FAILOVER");
        assert_int_equal(w->type, REDIS_REPLY_STATUS);
        freeReplyObject(w);
    }
    double start = now_s(), promoted = 0, ok = 0;
    while ((!promoted || !ok) && now_s() - start < 20 * k) {
        if (!promoted && it_cluster_owner(&cl, slot) == replica)
            promoted = now_s();
        r = it_http(&svc, "POST", "/clients/cam00/heartbeat", NULL, NULL, 0);
        if (r.status != 204 && r.status != 503) {
            /* which node answered, and what each held before and holds now */
            it_cluster_describe(&cl, slot, key, nodes, sizeof nodes);
            printf("  master: node %d, replica: node %d (%s)\n  before the %s:\n%s  now:\n%s",
                   master, replica, promoted ? "promoted" : "not yet promoted",
                   kill_master ? "kill" : "failover", before, nodes);
            fflush(stdout);
            fail_msg("heartbeat during the failover: %ld %s", r.status, r.body);
        }
        if (r.status == 503 && !it_is_unavailable(&r))
            fail_msg("a 503 without problem+json and Retry-After: %s", r.body);
        if (r.status == 204 && promoted && !ok)
            ok = now_s();
        it_resp_free(&r);
        it_sleep_ms(10);
    }
    assert_true(promoted > 0 && ok > 0);
    printf("  %s: the replica serves after %.0f ms, the service after %+.0f ms\n",
           kill_master ? "master killed" : "CLUSTER FAILOVER", (promoted - start) * 1e3,
           (ok - promoted) * 1e3);
    assert_true(ok - promoted <= 2 * k);
    if (!kill_master)
        return;
    /* the dead master is named until it is back, as a replica */
    char *body;
    assert_int_equal(call("GET", "/health", &body), 200);
    if (!strstr(body, addr_of(master)))
        fail_msg("/health does not name the dead master %s: %s", addr_of(master), body);
    free(body);
    assert_true(it_cluster_restart(&cl, master));
    assert_true(it_cluster_wait(&cl, 30000));
    for (double t0 = now_s();; it_sleep_ms(100)) {
        assert_int_equal(call("GET", "/health", &body), 200);
        bool pass = strstr(body, "\"status\":\"pass\"") != NULL;
        free(body);
        if (pass)
            break;
        if (now_s() - t0 > 5 * k)
            fail_msg("/health is not pass 5 s after the old master came back");
    }
}

static void failover_after_a_master_dies(void **state) {
    (void)state;
    follow_failover(true);
}

static void manual_failover_is_followed(void **state) {
    (void)state;
    follow_failover(false);
}

int main(void) {
    it_key_prefix("");
    const struct CMUnitTest masters[] = {
        cmocka_unit_test(master_stopped_under_load_then_restarted),
        cmocka_unit_test(stalled_masters_cost_one_timeout),
    };
    const struct CMUnitTest replicated[] = {
        cmocka_unit_test(failover_after_a_master_dies),
        cmocka_unit_test(manual_failover_is_followed),
    };
    int failed = cmocka_run_group_tests_name("integration: faults of a Redis Cluster", masters,
                                             setup, teardown);
    failed += cmocka_run_group_tests_name("integration: failover in a Redis Cluster", replicated,
                                          setup_replicated, teardown);
    return failed;
}
