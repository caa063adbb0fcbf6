/*
 * The whole service against a real Redis Cluster (three masters): every
 * kind of request works (no script or command spans two slots, or the
 * cluster would refuse it with CROSSSLOT), the keys spread over every
 * master, a list pages through clients of every bucket, two instances reap
 * each client once, counters add up, the wipe finds its keys on every
 * master, and --migrate-keys refuses to move an old layout it cannot read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/timefmt.h"
#include "harness.h"

#define PREFIX "cl:"

static it_cluster_t cl;
static it_service_t svc;
static const char *const env[] = {"KEY_PREFIX=" PREFIX, "CLIENT_TIMEOUT_MS=600000", NULL};
/* instances whose reapers end a client silent for a second */
static const char *const reaping[] = {"KEY_PREFIX=" PREFIX, "CLIENT_TIMEOUT_MS=1000",
                                      "CLEANUP_INTERVAL_MS=200", NULL};

static int setup(void **state) {
    (void)state;
    it_key_prefix(PREFIX);
    if (!it_cluster_start(&cl, 3, 0))
        return -1;
    return it_service_start(&svc, cl.url, env) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    int rc = it_service_stop(&svc);
    it_cluster_stop(&cl);
    return rc == 0 ? 0 : -1;
}

/* One request's status, and its body as JSON when want_body (caller frees). */
static long call(const it_service_t *s, const char *method, const char *path, const char *json,
                 cJSON **body) {
    it_resp_t r = it_json_req(s, method, path, json);
    long st = r.status;
    if (body)
        *body = it_body_json(&r);
    if (st >= 500)
        fail_msg("%s %s answered %ld: %s", method, path, st, r.body);
    it_resp_free(&r);
    return st;
}

/* Keys on master i (DBSIZE of the node). */
static long long keys_on(int i) {
    redisReply *r = it_cluster_node_cmd(&cl, i, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static long long all_keys(void) {
    long long n = 0;
    for (int i = 0; i < cl.n; i++)
        n += keys_on(i);
    return n;
}

static void every_request_runs_on_one_slot(void **state) {
    (void)state;
    char path[96], body[128];
    for (int i = 0; i < 48; i++) { /* ids of every bucket */
        snprintf(body, sizeof body, "{\"id\":\"cam%02d\"}", i);
        assert_int_equal(call(&svc, "POST", "/clients", body, NULL), 201);
    }
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t r = it_http(&svc, "PUT", "/clients/cam07/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(call(&svc, "POST", "/clients/cam07/heartbeat", NULL, NULL), 204);
    const char *users[] = {"alice", "bob", "carol", "dave"};
    for (int i = 0; i < 3; i++) { /* dave stays offline */
        snprintf(path, sizeof path, "/online-users/%s", users[i]);
        assert_int_equal(call(&svc, "PUT", path, NULL, NULL), 200);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/rooms/r1/participants/%s", users[i]);
        assert_int_equal(call(&svc, "PUT", path, NULL, NULL), 201);
    }
    assert_int_equal(call(&svc, "PUT", "/rooms/r1/typing/alice", NULL, NULL), 200);
    assert_int_equal(call(&svc, "POST", "/rooms/r1/messages",
                          "{\"sender_id\":\"alice\",\"content\":\"hi\"}", NULL),
                     201);
    assert_int_equal(call(&svc, "POST", "/sessions",
                          "{\"socket_id\":\"s1\",\"user_id\":\"alice\",\"location\":"
                          "{\"latitude\":57.64911,\"longitude\":10.40744}}",
                          NULL),
                     201);
    assert_int_equal(call(&svc, "PATCH", "/sessions/s1",
                          "{\"location\":{\"latitude\":42.6,\"longitude\":-5.6}}", NULL),
                     200);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/users/%s/notifications", users[i]);
        assert_int_equal(call(&svc, "POST", path, "{\"title\":\"t\",\"body\":\"b\"}", NULL), 201);
    }

    cJSON *j;
    assert_int_equal(call(&svc, "GET", "/clients/cam07", NULL, &j), 200);
    assert_int_equal((int)it_json_num(j, "frame_number"), 1);
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "GET", "/users/dave/offline-messages", NULL, &j), 200);
    assert_int_equal((int)it_json_num(j, "count"), 1); /* the one offline participant */
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "GET", "/rooms/r1/participants", NULL, &j), 200);
    int joined = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "items")) {
        joined += cJSON_IsTrue(cJSON_GetObjectItem(p, "joined"));
    }
    assert_int_equal(joined, 3);
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "GET", "/users/alice/rooms", NULL, &j), 200);
    assert_int_equal((int)it_json_num(j, "count"), 1);
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "GET", "/regions/ezs42e/members", NULL, &j), 200);
    assert_int_equal((int)it_json_num(j, "count"), 1);
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "GET", "/redis/stats", NULL, &j), 200);
    cJSON *app = cJSON_GetObjectItem(j, "app");
    assert_int_equal((int)it_json_num(app, "total_clients"), 48);
    assert_int_equal((int)it_json_num(app, "online_users"), 3);
    assert_int_equal((int)it_json_num(app, "total_frames"), 1);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(app, "notification_queues"), "normal"),
                     4);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(j, "redis"), "keys"), all_keys());
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "POST", "/notifications/queue/pop?limit=10", NULL, &j), 200);
    assert_int_equal((int)it_json_num(j, "count"), 4);
    cJSON_Delete(j);
    assert_int_equal(call(&svc, "DELETE", "/online-users/alice", NULL, NULL), 204);
    assert_int_equal(call(&svc, "DELETE", "/rooms/r1/participants/bob", NULL, NULL), 204);
    assert_int_equal(call(&svc, "DELETE", "/sessions/s1", NULL, NULL), 204);

    /* the buckets spread over every master */
    for (int i = 0; i < cl.n; i++)
        if (keys_on(i) == 0)
            fail_msg("master %d holds no key", i);

    /* a list pages through every bucket: each client once, in id order */
    int seen = 0;
    char cursor[64] = "";
    for (;;) {
        snprintf(path, sizeof path, "/clients?limit=7%s%s", cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(call(&svc, "GET", path, NULL, &j), 200);
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "items")) {
            char want[16];
            snprintf(want, sizeof want, "cam%02d", seen++);
            assert_string_equal(it_json_str(c, "id"), want);
        }
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        bool last = cJSON_IsNull(next);
        if (!last)
            snprintf(cursor, sizeof cursor, "%s", next->valuestring);
        cJSON_Delete(j);
        if (last)
            break;
    }
    assert_int_equal(seen, 48);
}

/* Two instances' reapers, per bucket script on each bucket's master: each
 * silent client removed and counted once. */
static void two_instances_reap_each_client_once(void **state) {
    (void)state;
    it_service_t first, second;
    assert_true(it_service_start(&first, cl.url, reaping));
    assert_true(it_service_start(&second, cl.url, reaping));
    int64_t deadline = core_now_ms() + (int64_t)(15000 * it_time_scale());
    cJSON *j = NULL;
    for (;;) { /* the 48 clients go silent: both reapers race for them */
        assert_int_equal(call(&svc, "GET", "/redis/stats", NULL, &j), 200);
        cJSON *app = cJSON_GetObjectItem(j, "app");
        int left = (int)it_json_num(app, "total_clients");
        int removed = (int)it_json_num(app, "removed_inactive");
        cJSON_Delete(j);
        if (left == 0) {
            assert_int_equal(removed, 48);
            break;
        }
        assert_true(core_now_ms() < deadline);
        it_sleep_ms(100);
    }
    assert_int_equal(it_service_stop(&first), 0);
    assert_int_equal(it_service_stop(&second), 0);
}

/* The wipe SCANs every master; what is left is not this service's. */
static void the_wipe_reaches_every_master(void **state) {
    (void)state;
    redisReply *r = it_cluster_cmd(&cl, "SET %s keep", "cl:not-ours");
    freeReplyObject(r);
    assert_true(all_keys() > 1);
    cJSON *j;
    assert_int_equal(call(&svc, "DELETE", "/admin/ephemeral?confirm=true", NULL, &j), 200);
    assert_true(it_json_num(j, "deleted") > 0);
    cJSON_Delete(j);
    assert_int_equal(all_keys(), 1);
}

/* The old layout ran on one server only: in a cluster the migration moves
 * nothing, and refuses once it finds an old key. */
static void migration_refuses_in_a_cluster(void **state) {
    (void)state;
    char out[2048];
    const char *const args[] = {"--migrate-keys", NULL};
    assert_int_equal(it_service_run(cl.url, env, args, out, sizeof out), 0);
    redisReply *r = it_cluster_cmd(&cl, "SADD %s cam", it_legacy_key(LEGACY_CLIENTS, "", ""));
    freeReplyObject(r);
    assert_int_equal(it_service_run(cl.url, env, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "Redis Cluster"));
    r = it_cluster_cmd(&cl, "SCARD %s", it_legacy_key(LEGACY_CLIENTS, "", ""));
    assert_int_equal(r->integer, 1); /* untouched */
    freeReplyObject(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_request_runs_on_one_slot),
        cmocka_unit_test(two_instances_reap_each_client_once),
        cmocka_unit_test(the_wipe_reaches_every_master),
        cmocka_unit_test(migration_refuses_in_a_cluster),
    };
    return cmocka_run_group_tests_name("integration: the keyspace in a Redis Cluster", tests, setup,
                                       teardown);
}
