/* Time-based behaviour with short timeouts: the reaper removes silent
 * clients (and only them), presence expires on its own, and two instances
 * sharing one Redis reap each client exactly once. */
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

static const char *const env[] = {"CLIENT_TIMEOUT_MS=400", "CLEANUP_INTERVAL_MS=100",
                                  "PRESENCE_TTL_S=1", NULL};

static long status_of(const it_service_t *s, const char *method, const char *path) {
    it_resp_t r = it_http(s, method, path, NULL, NULL, 0);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

static void create(const it_service_t *s, const char *id) {
    char body[128];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    it_resp_t r = it_json_req(s, "POST", "/clients", body);
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
}

static long long removed_inactive(void) {
    return it_index_sum(&it_fx.redis, "HGET %s removed_inactive", KEY_STATS);
}

static void silent_client_is_removed_active_one_stays(void **state) {
    (void)state;
    create(&it_fx.svc, "idle");
    create(&it_fx.svc, "busy");
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/clients/idle/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    /* busy heartbeats every 100 ms; idle says nothing for 1.2 s (3 timeouts) */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(status_of(&it_fx.svc, "POST", "/clients/busy/heartbeat"), 204);
        it_sleep_ms(100);
    }
    assert_int_equal(status_of(&it_fx.svc, "GET", "/clients/idle"), 404);
    assert_int_equal(status_of(&it_fx.svc, "GET", "/clients/idle/image"), 404);
    assert_int_equal(status_of(&it_fx.svc, "GET", "/clients/busy"), 200);
    redisReply *e = it_redis_cmd(&it_fx.redis, "EXISTS %s %s", it_key(KEY_CLIENT, "idle"),
                                 it_key(KEY_IMAGE, "idle"));
    assert_int_equal(e->integer, 0);
    freeReplyObject(e);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_CLIENTS), 1);
    e = it_redis_cmd(&it_fx.redis, "ZRANGE %s 0 -1", it_key(KEY_CLIENTS, "busy"));
    assert_int_equal(e->elements, 1);
    assert_string_equal(e->element[0]->str, "busy");
    freeReplyObject(e);
    assert_int_equal(removed_inactive(), 1);
    it_resp_t s = it_http(&it_fx.svc, "GET", "/redis/stats", NULL, NULL, 0);
    cJSON *j = it_body_json(&s);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(j, "app"), "removed_inactive"), 1);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(j, "app"), "total_clients"), 1);
    cJSON_Delete(j);
    it_resp_free(&s);
}

static void frames_keep_a_client_alive(void **state) {
    (void)state;
    create(&it_fx.svc, "streamer");
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    for (int i = 0; i < 10; i++) {
        it_resp_t r =
            it_http(&it_fx.svc, "PUT", "/clients/streamer/image", h, "\xff\xd8\xff\xe0", 4);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
        it_sleep_ms(100);
    }
    assert_int_equal(status_of(&it_fx.svc, "GET", "/clients/streamer"), 200);
}

static void presence_expires_before_any_cleanup(void **state) {
    (void)state;
    /* a separate Redis and service whose reaper never runs in this test */
    it_redis_t redis;
    it_service_t svc;
    const char *const quiet[] = {"PRESENCE_TTL_S=1", "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, quiet));
    it_resp_t r = it_json_req(&svc, "PUT", "/online-users/eve", NULL);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    r = it_http(&svc, "GET", "/online-users", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    chk_page(j, 1);
    cJSON_Delete(j);
    it_resp_free(&r);
    it_sleep_ms(1100);
    r = it_http(&svc, "GET", "/online-users", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 0)), 0);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&svc, "GET", "/online-users/eve", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "online")));
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&svc, "GET", "/redis/stats", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(j, "app"), "online_users"), 0);
    cJSON_Delete(j);
    it_resp_free(&r);
    /* the user's own key really expired; the index entry is still there, unpruned */
    redisReply *e = it_redis_cmd(&redis, "EXISTS %s", it_key(KEY_PRESENCE, "eve"));
    assert_int_equal(e->integer, 0);
    freeReplyObject(e);
    assert_int_equal(it_index_sum(&redis, "ZCARD %s", KEY_ONLINE_USERS), 1);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void reaper_prunes_presence_index(void **state) {
    (void)state;
    it_resp_t r = it_json_req(&it_fx.svc, "PUT", "/online-users/frank", NULL);
    it_resp_free(&r);
    it_sleep_ms(1300);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ONLINE_USERS), 0);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ONLINE_USERS_BY_ID), 0);
}

static void two_instances_reap_each_client_once(void **state) {
    (void)state;
    it_service_t second;
    assert_true(it_service_start(&second, it_fx.redis.url, env));
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "pair-%d", i);
        create(i % 2 ? &second : &it_fx.svc, id);
    }
    it_sleep_ms(1000);
    assert_int_equal(removed_inactive(), N);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_CLIENTS), 0);
    /* only the counters are left, and the event streams that told of it */
    redisReply *e = it_redis_cmd(&it_fx.redis, "KEYS *");
    for (size_t i = 0; i < e->elements; i++) {
        store_key_parsed_t p;
        assert_true(store_key_parse(e->element[i]->str, e->element[i]->len, &p));
        assert_true(p.kind == KEY_STATS || p.kind == KEY_EVENTS);
    }
    freeReplyObject(e);
    assert_int_equal(it_service_stop(&second), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(silent_client_is_removed_active_one_stays, it_flush),
        cmocka_unit_test_setup(frames_keep_a_client_alive, it_flush),
        cmocka_unit_test_setup(presence_expires_before_any_cleanup, it_flush),
        cmocka_unit_test_setup(reaper_prunes_presence_index, it_flush),
        cmocka_unit_test_setup(two_instances_reap_each_client_once, it_flush),
    };
    return cmocka_run_group_tests_name("integration: expiry", tests, it_group_setup,
                                       it_group_teardown);
}
