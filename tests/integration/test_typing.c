/* /rooms/{roomId}/typing over HTTP: one key with a real TTL per (room, user)
 * plus the room's index, each indicator expiring on its own and never listed
 * past its TTL (with no cleanup running), stopping, refreshing, leaving the
 * room, and every 4xx. */
#include "checks.h"

static const char *const env[] = {"TYPING_TTL_S=5", "CLEANUP_INTERVAL_MS=3600000", NULL};

static void join(const char *room, const char *user) {
    char path[128];
    snprintf(path, sizeof path, "/rooms/%s/participants/%s", room, user);
    assert_int_equal(chk_status("PUT", path, NULL), 201);
}

/* The user ids GET /rooms/{room}/typing lists, comma-separated, into out. */
static void typing_now(const it_service_t *s, const char *room, char *out, size_t cap) {
    char path[128];
    snprintf(path, sizeof path, "/rooms/%s/typing", room);
    cJSON *j = chk_json(s, "GET", path, NULL, 200), *u;
    out[0] = '\0';
    cJSON_ArrayForEach(u, chk_page(j, CHK_TOTAL_ANY)) {
        assert_non_null(it_json_str(u, "expires_at"));
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                 it_json_str(u, "user_id"));
    }
    assert_int_equal((int)it_json_num(j, "total"), (int)it_json_num(j, "count"));
    cJSON_Delete(j);
}

static void start_writes_a_key_with_ttl_and_the_index(void **state) {
    (void)state;
    join("r1", "alice");
    cJSON *j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/typing/alice", NULL, 200);
    assert_string_equal(it_json_str(j, "room_id"), "r1");
    assert_string_equal(it_json_str(j, "user_id"), "alice");
    assert_non_null(it_json_str(j, "expires_at"));
    cJSON_Delete(j);
    chk_key(it_key2(KEY_TYPING, "r1", "alice"), "string", 4, 5);
    chk_key(it_key(KEY_ROOM_TYPING, "r1"), "zset", 4, 5);
    char who[256];
    typing_now(&it_fx.svc, "r1", who, sizeof who);
    assert_string_equal(who, "alice");
}

static void refresh_stop_and_leave(void **state) {
    (void)state;
    join("r1", "alice");
    join("r1", "bob");
    cJSON *a = chk_json(&it_fx.svc, "PUT", "/rooms/r1/typing/alice", NULL, 200);
    it_sleep_ms(20);
    cJSON *b = chk_json(&it_fx.svc, "PUT", "/rooms/r1/typing/alice", NULL, 200);
    assert_true(strcmp(it_json_str(b, "expires_at"), it_json_str(a, "expires_at")) > 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
    assert_int_equal(chk_status("PUT", "/rooms/r1/typing/bob", NULL), 200);
    char who[256];
    typing_now(&it_fx.svc, "r1", who, sizeof who);
    assert_string_equal(who, "alice,bob"); /* in user id order */
    assert_int_equal(chk_status("DELETE", "/rooms/r1/typing/alice", NULL), 204);
    assert_int_equal(chk_status("DELETE", "/rooms/r1/typing/alice", NULL), 204); /* idempotent */
    chk_no_key(it_key2(KEY_TYPING, "r1", "alice"));
    typing_now(&it_fx.svc, "r1", who, sizeof who);
    assert_string_equal(who, "bob");
    /* leaving the room stops the indicator */
    assert_int_equal(chk_status("DELETE", "/rooms/r1/participants/bob", NULL), 204);
    chk_no_key(it_key2(KEY_TYPING, "r1", "bob"));
    typing_now(&it_fx.svc, "r1", who, sizeof who);
    assert_string_equal(who, "");
    typing_now(&it_fx.svc, "unknown-room", who, sizeof who);
    assert_string_equal(who, "");
}

/* A service with a 1 s TTL and no cleanup pass: alice starts at 0, bob at
 * 0.6 s. At 1.1 s only bob is listed and alice's key is gone; at 1.9 s no one
 * is, and the index has expired with its newest indicator. */
static void each_indicator_expires_on_its_own(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"TYPING_TTL_S=1", "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    join("r1", "alice");
    join("r1", "bob");
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/r1/typing/alice", NULL, 200));
    it_sleep_ms(600);
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/r1/typing/bob", NULL, 200));
    char who[256];
    typing_now(&svc, "r1", who, sizeof who);
    assert_string_equal(who, "alice,bob");
    it_sleep_ms(500);
    chk_no_key(it_key2(KEY_TYPING, "r1", "alice"));
    assert_int_equal(chk_int("EXISTS %s", it_key2(KEY_TYPING, "r1", "bob")), 1);
    typing_now(&svc, "r1", who, sizeof who);
    assert_string_equal(who, "bob");
    it_sleep_ms(800);
    typing_now(&svc, "r1", who, sizeof who);
    assert_string_equal(who, "");
    chk_no_key(it_key2(KEY_TYPING, "r1", "bob"));
    chk_no_key(it_key(KEY_ROOM_TYPING, "r1"));
    assert_int_equal(it_service_stop(&svc), 0);
}

static void bad_input(void **state) {
    (void)state;
    join("r1", "alice");
    chk_problem("PUT", "/rooms/r1/typing/zed", NULL, 404,
                "participant 'zed' of room 'r1' not found");
    chk_problem("PUT", "/rooms/nope/typing/alice", NULL, 404, "participant 'alice' of room 'nope'");
    chk_problem("PUT", "/rooms/r:1/typing/alice", NULL, 400, "room id");
    chk_problem("PUT", "/rooms/r1/typing/a%20b", NULL, 400, "user id");
    chk_problem("DELETE", "/rooms/r1/typing/.", NULL, 400, "user id");
    chk_problem("GET", "/rooms/%2A/typing", NULL, 400, "room id");
    chk_problem("POST", "/rooms/r1/typing/alice", NULL, 405, "not allowed");
    chk_problem("PUT", "/rooms/r1/typing", NULL, 405, "not allowed");
    assert_int_equal(chk_keys(), 4); /* alice's membership only */
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(start_writes_a_key_with_ttl_and_the_index, it_flush),
        cmocka_unit_test_setup(refresh_stop_and_leave, it_flush),
        cmocka_unit_test_setup(each_indicator_expires_on_its_own, it_flush),
        cmocka_unit_test_setup(bad_input, it_flush),
    };
    return cmocka_run_group_tests_name("integration: typing", tests, it_group_setup,
                                       it_group_teardown);
}
