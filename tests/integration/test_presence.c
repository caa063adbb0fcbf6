/* /online-users over HTTP: marking online and offline, statuses, devices,
 * paging, and what lands in Redis. Expiry is in test_expiry.c. */
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

static const char *const env[] = {"PRESENCE_TTL_S=120", NULL};

static it_resp_t put(const char *id, const char *json) {
    char path[200];
    snprintf(path, sizeof path, "/online-users/%s", id);
    return it_json_req(&it_fx.svc, "PUT", path, json);
}

static cJSON *get_user(const char *id) {
    char path[200];
    snprintf(path, sizeof path, "/online-users/%s", id);
    it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    return j;
}

static void online_with_defaults(void **state) {
    (void)state;
    it_resp_t r = put("alice", NULL);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "id"), "alice");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "online")));
    assert_string_equal(it_json_str(j, "status"), "online");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "device_id")));
    assert_non_null(it_json_str(j, "last_seen"));
    assert_non_null(it_json_str(j, "expires_at"));
    cJSON_Delete(j);
    it_resp_free(&r);
    /* a real TTL on the user's key, and the index entry */
    redisReply *ttl = it_redis_cmd(&it_fx.redis, "TTL %s", it_key(KEY_PRESENCE, "alice"));
    assert_true(ttl->integer > 100 && ttl->integer <= 120);
    freeReplyObject(ttl);
    redisReply *s =
        it_redis_cmd(&it_fx.redis, "ZSCORE %s alice", it_key(KEY_ONLINE_USERS, "alice"));
    assert_int_equal(s->type, REDIS_REPLY_STRING);
    freeReplyObject(s);
}

static void status_and_device(void **state) {
    (void)state;
    it_resp_t r = put("bob", "{\"device_id\":\"phone-1\",\"status\":\"away\"}");
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    cJSON *j = get_user("bob");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "online")));
    assert_string_equal(it_json_str(j, "status"), "away");
    assert_string_equal(it_json_str(j, "device_id"), "phone-1");
    cJSON_Delete(j);
    /* a refresh without a device keeps it; the status goes back to online */
    r = put("bob", "{}");
    it_resp_free(&r);
    j = get_user("bob");
    assert_string_equal(it_json_str(j, "status"), "online");
    assert_string_equal(it_json_str(j, "device_id"), "phone-1");
    cJSON_Delete(j);
    redisReply *h = it_redis_cmd(&it_fx.redis, "HGET %s device_id", it_key(KEY_PRESENCE, "bob"));
    assert_string_equal(h->str, "phone-1");
    freeReplyObject(h);
}

static void offline(void **state) {
    (void)state;
    it_resp_t r = put("carol", NULL);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "DELETE", "/online-users/carol", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    it_resp_free(&r);
    cJSON *j = get_user("carol");
    assert_string_equal(it_json_str(j, "id"), "carol");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "online")));
    cJSON_Delete(j);
    assert_int_equal(it_state_keys(&it_fx.redis), 0);
    /* offline twice is still fine */
    r = it_http(&it_fx.svc, "DELETE", "/online-users/carol", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    it_resp_free(&r);
    j = get_user("never-seen");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "online")));
    cJSON_Delete(j);
}

static void bad_input(void **state) {
    (void)state;
    struct {
        const char *id, *body, *detail;
        long status;
    } cases[] = {
        {"dave", "{\"status\":\"sleeping\"}", "status", 400},
        {"dave", "{\"status\":7}", "status", 400},
        {"dave", "{\"device_id\":\"a b\"}", "device_id", 400},
        {"dave", "[]", "object", 400},
        {"a:b", NULL, "user id", 400},
        {"%2A", NULL, "user id", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_resp_t r = put(cases[i].id, cases[i].body);
        it_assert_problem(&r, cases[i].status, cases[i].detail);
        it_resp_free(&r);
    }
    const char *hs[] = {"Content-Type: text/plain", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/online-users/dave", hs, "x", 1);
    it_assert_problem(&r, 415, "application/json");
    it_resp_free(&r);
    assert_int_equal(it_state_keys(&it_fx.redis), 0);
}

static void list_and_page(void **state) {
    (void)state;
    enum { N = 130 };
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "u%03d", i);
        it_resp_t r = put(id, i % 2 ? "{\"status\":\"busy\"}" : NULL);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    char path[128] = "/online-users?limit=50";
    int seen = 0, pages = 0;
    for (;;) {
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r), *u;
        cJSON_ArrayForEach(u, chk_page(j, N)) {
            char want[16];
            snprintf(want, sizeof want, "u%03d", seen);
            assert_string_equal(it_json_str(u, "id"), want); /* id order, no gaps */
            assert_string_equal(it_json_str(u, "status"), seen % 2 ? "busy" : "online");
            assert_non_null(it_json_str(u, "last_seen"));
            seen++;
        }
        pages++;
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        bool last = cJSON_IsNull(next);
        if (!last)
            snprintf(path, sizeof path, "/online-users?limit=50&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        it_resp_free(&r);
        if (last)
            break;
    }
    assert_int_equal(seen, N);
    assert_int_equal(pages, 3);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/online-users?limit=5000", NULL, NULL, 0);
    it_assert_problem(&r, 400, "limit");
    it_resp_free(&r);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(online_with_defaults, it_flush),
        cmocka_unit_test_setup(status_and_device, it_flush),
        cmocka_unit_test_setup(offline, it_flush),
        cmocka_unit_test_setup(bad_input, it_flush),
        cmocka_unit_test_setup(list_and_page, it_flush),
    };
    return cmocka_run_group_tests_name("integration: presence", tests, it_group_setup,
                                       it_group_teardown);
}
