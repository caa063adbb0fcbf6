/* The HTTP surface: probes, health formats, the served spec, and every
 * protocol-level error (404, 405, 413, crafted ids) as problem+json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checks.h"
#include "harness.h"

static const char *const env[] = {"MAX_BODY_BYTES=1024", NULL};

static void assert_header(const it_resp_t *r, const char *name, const char *want) {
    char v[256];
    if (!it_header(r, name, v, sizeof v))
        fail_msg("no %s header", name);
    assert_string_equal(v, want);
}

static void livez(void **state) {
    (void)state;
    for (int i = 0; i < 3; i++) { /* a shared response, reused */
        it_resp_t r = it_http(&it_fx.svc, "GET", "/livez", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"status\":\"pass\"}");
        assert_header(&r, "Content-Type", "application/json");
        assert_header(&r, "X-Content-Type-Options", "nosniff");
        char v[64];
        assert_false(it_header(&r, "Server", v, sizeof v));
        it_resp_free(&r);
    }
}

static void readyz(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "GET", "/readyz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/readyz?verbose", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "[+]redis ok"));
    it_resp_free(&r);
}

static void health_format(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "application/health+json");
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "pass");
    assert_non_null(it_json_str(j, "version"));
    assert_string_equal(it_json_str(j, "serviceId"), "rtstate");
    assert_non_null(it_json_str(j, "description"));
    cJSON *rt = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "checks"), "redis:responseTime");
    assert_true(cJSON_IsArray(rt));
    cJSON *c = cJSON_GetArrayItem(rt, 0);
    assert_true(it_json_num(c, "observedValue") >= 0);
    assert_string_equal(it_json_str(c, "observedUnit"), "ms");
    assert_string_equal(it_json_str(c, "status"), "pass");
    assert_non_null(it_json_str(c, "time"));
    cJSON *services = cJSON_GetObjectItem(j, "services");
    assert_string_equal(it_json_str(services, "redis"), "connected");
    assert_string_equal(it_json_str(services, "mongodb"), "disabled");
    assert_null(cJSON_GetObjectItem(j, "output")); /* nothing to say */
    /* a cluster: every node serving its slots, and the whole */
    cJSON *slots = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "checks"), "redis:slots");
    if (it_cluster_mode()) {
        assert_int_equal(cJSON_GetArraySize(slots), 1 + it_redis_masters(&it_fx.redis));
        int sum = 0;
        cJSON_ArrayForEach(c, slots) {
            assert_string_equal(it_json_str(c, "status"), "pass");
            assert_string_equal(it_json_str(c, "observedUnit"), "slots");
            bool whole = strcmp(it_json_str(c, "componentId"), "cluster") == 0;
            assert_int_equal(it_json_num(c, "observedValue") > 0, 1);
            sum += whole ? 0 : (int)it_json_num(c, "observedValue");
            if (whole)
                assert_int_equal((int)it_json_num(c, "observedValue"), 16384);
        }
        assert_int_equal(sum, 16384);
    } else {
        assert_null(slots);
    }
    cJSON_Delete(j);
    it_resp_free(&r);

    r = it_http(&it_fx.svc, "GET", "/readyz?verbose", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "[+]redis ok\n", 12);
    assert_non_null(strstr(r.body, "readyz check passed\n"));
    assert_null(strstr(r.body, "[-]"));
    it_resp_free(&r);
}

static void redis_health_and_stats(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "GET", "/redis/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "up");
    assert_true(it_json_num(j, "latency_ms") >= 0);
    cJSON_Delete(j);
    it_resp_free(&r);

    r = it_http(&it_fx.svc, "GET", "/redis/stats", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    j = it_body_json(&r);
    cJSON *rd = cJSON_GetObjectItem(j, "redis"), *app = cJSON_GetObjectItem(j, "app");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rd, "connected")));
    assert_string_equal(it_json_str(rd, "url"), it_fx.redis.url); /* no password to hide */
    assert_memory_equal(it_json_str(rd, "version"), "7.", 2);
    const char *nums[] = {"uptime_s",    "connected_clients", "used_memory_bytes",
                          "ops_per_sec", "keyspace_hits",     "keyspace_misses",
                          "keys"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        assert_true(it_json_num(rd, nums[i]) >= 0);
    assert_true(it_json_num(rd, "used_memory_bytes") > 0);
    assert_non_null(it_json_str(rd, "used_memory_human"));
    const char *counters[] = {"total_clients",    "online_users",    "total_frames",
                              "removed_inactive", "active_sessions", "active_rooms",
                              "missing_buckets"};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        assert_int_equal((int)it_json_num(app, counters[i]), 0);
    cJSON *cluster = cJSON_GetObjectItem(j, "cluster");
    if (!it_cluster_mode()) {
        assert_true(cJSON_IsNull(cluster));
    } else { /* every master listed, up, with its own figures, which add up */
        assert_string_equal(it_json_str(cluster, "state"), "ok");
        assert_int_equal((int)it_json_num(cluster, "slots_served"), 16384);
        assert_int_equal((int)it_json_num(cluster, "masters_down"), 0);
        int masters = 0;
        double clients = 0;
        cJSON *n;
        cJSON_ArrayForEach(n, cJSON_GetObjectItem(cluster, "nodes")) {
            assert_string_equal(it_json_str(n, "state"), "up");
            assert_string_equal(it_json_str(n, "role"), "master");
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(n, "last_error")));
            clients += it_json_num(cJSON_GetObjectItem(n, "server"), "connected_clients");
            masters++;
        }
        assert_int_equal(masters, it_redis_masters(&it_fx.redis));
        assert_int_equal((int)clients, (int)it_json_num(rd, "connected_clients"));
    }
    cJSON_Delete(j);
    it_resp_free(&r);
}

/* The app figures of /redis/stats (caller frees). */
static cJSON *stats_app(cJSON **root) {
    *root = chk_json(&it_fx.svc, "GET", "/redis/stats", NULL, 200);
    return cJSON_GetObjectItem(*root, "app");
}

/* Sessions and rooms are counted (the dashboard charts them), and stop
 * counting when they end. */
static void stats_count_sessions_and_rooms(void **state) {
    (void)state;
    const char *loc =
        "{\"user_id\":\"%s\",\"socket_id\":\"%s\","
        "\"location\":{\"latitude\":57.6,\"longitude\":10.4}}";
    char body[256];
    snprintf(body, sizeof body, loc, "ann", "sock-a");
    assert_int_equal(chk_status("POST", "/sessions", body), 201);
    snprintf(body, sizeof body, loc, "bob", "sock-b");
    assert_int_equal(chk_status("POST", "/sessions", body), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r1/participants/ann", NULL), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r1/participants/bob", NULL), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r2/participants/bob", NULL), 201);
    cJSON *root, *app = stats_app(&root);
    assert_int_equal((int)it_json_num(app, "active_sessions"), 2);
    assert_int_equal((int)it_json_num(app, "active_rooms"), 2);
    cJSON_Delete(root);

    assert_int_equal(chk_status("DELETE", "/sessions/sock-a", NULL), 204);
    assert_int_equal(chk_status("DELETE", "/rooms/r2/participants/bob", NULL), 204);
    app = stats_app(&root);
    assert_int_equal((int)it_json_num(app, "active_sessions"), 1);
    assert_int_equal((int)it_json_num(app, "active_rooms"), 1);
    cJSON_Delete(root);
}

static void serves_its_spec(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "GET", "/openapi.yaml", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "application/yaml");
    assert_memory_equal(r.body, "openapi: 3.1", 12);
    assert_non_null(strstr(r.body, "/clients/{id}/image"));
    it_resp_free(&r);
}

static void unknown_paths_and_methods(void **state) {
    (void)state;
    const char *missing[] = {"/nope", "/clients/", "/clients//heartbeat", "//", "/clients/a/b/c/d"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        it_resp_t r = it_http(&it_fx.svc, "GET", missing[i], NULL, NULL, 0);
        it_assert_problem(&r, 404, NULL);
        assert_header(&r, "X-Content-Type-Options", "nosniff");
        it_resp_free(&r);
    }
    it_resp_t r = it_http(&it_fx.svc, "PATCH", "/clients/x", NULL, NULL, 0);
    it_assert_problem(&r, 405, "PATCH");
    assert_header(&r, "Allow", "GET, HEAD, DELETE, OPTIONS");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "POST", "/livez", NULL, NULL, 0);
    it_assert_problem(&r, 405, NULL);
    assert_header(&r, "Allow", "GET, HEAD, OPTIONS");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "OPTIONS", "/clients/x/image", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    assert_header(&r, "Allow", "GET, HEAD, PUT, OPTIONS");
    it_resp_free(&r);
}

static void body_limits(void **state) {
    (void)state;
    char big[2048];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"id\":\"x\"}", 10);
    const char *h[] = {"Content-Type: application/json", NULL};
    it_resp_t r = it_http(&it_fx.svc, "POST", "/clients", h, big, sizeof big);
    it_assert_problem(&r, 413, "1024");
    it_resp_free(&r);
    /* no Content-Length: a chunked body is cut off at the limit all the same */
    const char *chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    r = it_http(&it_fx.svc, "POST", "/clients", chunked, big, sizeof big);
    it_assert_problem(&r, 413, "1024");
    it_resp_free(&r);
    redisReply *n = it_redis_cmd(&it_fx.redis, "DBSIZE");
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
    /* and the service still serves */
    r = it_http(&it_fx.svc, "GET", "/livez", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

static void crafted_ids_never_reach_redis(void **state) {
    (void)state;
    const char *paths[] = {
        "/clients/*",     "/clients/a:b",    "/clients/%7Bx%7D",     "/clients/%5Ba%5D",
        "/clients/a%3Fb", "/clients/a%00b",  "/clients/..",          "/clients/.",
        "/clients/a%20b", "/clients/%C3%A9", "/clients/a%2Fb/image", "/clients/a%2fimage",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s", paths[i]);
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        it_assert_problem(&r, 400, "client id");
        it_resp_free(&r);
        snprintf(path, sizeof path, "%s/heartbeat", paths[i]);
        r = it_http(&it_fx.svc, "POST", path, NULL, NULL, 0);
        assert_true(r.status == 400 || r.status == 404);
        it_resp_free(&r);
    }
    redisReply *info = it_redis_cmd(&it_fx.redis, "INFO commandstats");
    /* no script ran at all: every one of those was refused before the store */
    assert_null(strstr(info->str, "cmdstat_evalsha"));
    freeReplyObject(info);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crafted_ids_never_reach_redis),
        cmocka_unit_test(livez),
        cmocka_unit_test(readyz),
        cmocka_unit_test(health_format),
        cmocka_unit_test_setup(redis_health_and_stats, it_flush),
        cmocka_unit_test_setup(stats_count_sessions_and_rooms, it_flush),
        cmocka_unit_test(serves_its_spec),
        cmocka_unit_test(unknown_paths_and_methods),
        cmocka_unit_test_setup(body_limits, it_flush),
    };
    return cmocka_run_group_tests_name("integration: http", tests, it_group_setup,
                                       it_group_teardown);
}
