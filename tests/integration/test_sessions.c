/* /sessions, /users/{userId}/sessions and /regions/{regionId}/members over
 * HTTP: every key a session writes (names, types, TTLs), heartbeats, moves
 * between regions, listings, expiry (each TTL for real, with a service whose
 * TTLs are short), and every 4xx with nothing written. */
#include "checks.h"

/* No cleanup pass runs on its own here: what a test sees pruned, POST /admin/cleanup pruned. */
static const char *const env[] = {"SESSION_TTL_S=120", "HEARTBEAT_TTL_S=60",
                                  "CLEANUP_INTERVAL_MS=3600000", NULL};

#define AALBORG "{\"latitude\":57.64911,\"longitude\":10.40744}" /* region u4pruy */
#define AALBORG2 "{\"latitude\":57.6495,\"longitude\":10.4081}"  /* region u4pruy too */
#define SPAIN "{\"latitude\":42.6,\"longitude\":-5.6}"           /* region ezs42e */

static cJSON *create(const it_service_t *s, const char *json) {
    return chk_json(s, "POST", "/sessions", json, 201);
}

static void create_with_location_writes_every_key(void **state) {
    (void)state;
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/sessions",
                              "{\"socket_id\":\"s1\",\"user_id\":\"alice\",\"location\":" AALBORG
                              ",\"user_agent\":\"Mozilla/5.0 (X11) ünï\"}");
    assert_int_equal(r.status, 201);
    char loc[64];
    assert_true(it_header(&r, "Location", loc, sizeof loc));
    assert_string_equal(loc, "/sessions/s1");
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    assert_string_equal(it_json_str(j, "socket_id"), "s1");
    assert_string_equal(it_json_str(j, "user_id"), "alice");
    assert_string_equal(it_json_str(j, "current_region_id"), "u4pruy");
    cJSON *l = cJSON_GetObjectItem(j, "last_location");
    assert_float_equal(it_json_num(l, "latitude"), 57.64911, 1e-9);
    assert_float_equal(it_json_num(l, "longitude"), 10.40744, 1e-9);
    assert_string_equal(it_json_str(j, "user_agent"), "Mozilla/5.0 (X11) ünï");
    assert_string_equal(it_json_str(j, "connected_at"), it_json_str(j, "last_activity_at"));
    cJSON_Delete(j);

    chk_key(it_key(KEY_SESSION, "s1"), "string", 115, 120);
    chk_key(it_key(KEY_HEARTBEAT, "s1"), "string", 55, 60);
    chk_key(it_key(KEY_USER_SESSIONS, "alice"), "zset", 115, 120);
    chk_key(it_key(KEY_REGION_MEMBERS, "u4pruy"), "zset", 115, 120);
    chk_key(it_key(KEY_SESSIONS_EXPIRY, "s1"), "zset", 0, 0);
    chk_key(it_key(KEY_SESSIONS_OWNER, "s1"), "hash", 0, 0);
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "alice"), "s1"), 1);
    assert_int_equal(chk_zmember(it_key(KEY_REGION_MEMBERS, "u4pruy"), "s1"), 1);
    redisReply *v = it_redis_cmd(&it_fx.redis, "GET %s", it_key(KEY_SESSION, "s1"));
    cJSON *stored = cJSON_Parse(v->str); /* the documented JSON */
    freeReplyObject(v);
    assert_string_equal(it_json_str(stored, "current_region_id"), "u4pruy");
    assert_string_equal(it_json_str(stored, "user_id"), "alice");
    cJSON_Delete(stored);
    v = it_redis_cmd(&it_fx.redis, "HGET %s s1", it_key(KEY_SESSIONS_OWNER, "s1"));
    assert_string_equal(v->str, "alice u4pruy");
    freeReplyObject(v);
    assert_int_equal(chk_keys(), 6);
}

static void generated_id_and_no_location(void **state) {
    (void)state;
    cJSON *j = create(&it_fx.svc, "{\"user_id\":\"bob\"}");
    const char *id = it_json_str(j, "socket_id");
    assert_memory_equal(id, "sock-", 5);
    assert_int_equal(strlen(id), 5 + 16);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "current_region_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_location")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "user_agent")));
    char path[64];
    snprintf(path, sizeof path, "/sessions/%s", id);
    cJSON *got = chk_json(&it_fx.svc, "GET", path, NULL, 200);
    assert_string_equal(it_json_str(got, "socket_id"), id);
    cJSON_Delete(got);
    cJSON_Delete(j);
    assert_int_equal(chk_keys(), 5); /* no region set */
}

static void duplicate_socket_is_409_and_changes_nothing(void **state) {
    (void)state;
    cJSON_Delete(create(&it_fx.svc, "{\"socket_id\":\"dup\",\"user_id\":\"a\"}"));
    chk_problem("POST", "/sessions",
                "{\"socket_id\":\"dup\",\"user_id\":\"b\",\"location\":" AALBORG "}", 409,
                "session 'dup' already exists");
    cJSON *j = chk_json(&it_fx.svc, "GET", "/sessions/dup", NULL, 200);
    assert_string_equal(it_json_str(j, "user_id"), "a");
    cJSON_Delete(j);
    chk_no_key(it_key(KEY_USER_SESSIONS, "b"));
    chk_no_key(it_key(KEY_REGION_MEMBERS, "u4pruy"));
}

static void heartbeat_refreshes_every_ttl(void **state) {
    (void)state;
    cJSON *j =
        create(&it_fx.svc, "{\"socket_id\":\"hb\",\"user_id\":\"u\",\"location\":" SPAIN "}");
    char before[40];
    snprintf(before, sizeof before, "%s", it_json_str(j, "last_activity_at"));
    cJSON_Delete(j);
    const char *keys[] = {it_key(KEY_SESSION, "hb"), it_key(KEY_HEARTBEAT, "hb"),
                          it_key(KEY_USER_SESSIONS, "u"), it_key(KEY_REGION_MEMBERS, "ezs42e")};
    for (int i = 0; i < 4; i++)
        assert_int_equal(chk_int("EXPIRE %s 5", keys[i]), 1);
    it_sleep_ms(5);
    assert_int_equal(chk_status("POST", "/sessions/hb/heartbeat", NULL), 204);
    chk_key(it_key(KEY_SESSION, "hb"), "string", 115, 120);
    chk_key(it_key(KEY_HEARTBEAT, "hb"), "string", 55, 60);
    chk_key(it_key(KEY_USER_SESSIONS, "u"), "zset", 115, 120);
    chk_key(it_key(KEY_REGION_MEMBERS, "ezs42e"), "zset", 115, 120);
    j = chk_json(&it_fx.svc, "GET", "/sessions/hb", NULL, 200);
    assert_true(strcmp(it_json_str(j, "last_activity_at"), before) > 0);
    cJSON_Delete(j);
}

static void move_changes_region_in_one_step(void **state) {
    (void)state;
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"mv\",\"user_id\":\"u\",\"location\":" AALBORG "}"));
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"stay\",\"user_id\":\"v\",\"location\":" AALBORG "}"));
    cJSON *j = chk_json(&it_fx.svc, "PATCH", "/sessions/mv", "{\"location\":" SPAIN "}", 200);
    assert_string_equal(it_json_str(j, "current_region_id"), "ezs42e");
    assert_float_equal(it_json_num(cJSON_GetObjectItem(j, "last_location"), "latitude"), 42.6,
                       1e-9);
    cJSON_Delete(j);
    assert_int_equal(chk_zmember(it_key(KEY_REGION_MEMBERS, "u4pruy"), "mv"), 0);
    assert_int_equal(chk_zmember(it_key(KEY_REGION_MEMBERS, "u4pruy"), "stay"), 1);
    assert_int_equal(chk_zmember(it_key(KEY_REGION_MEMBERS, "ezs42e"), "mv"), 1);
    chk_key(it_key(KEY_REGION_MEMBERS, "ezs42e"), "zset", 115, 120);
    /* moving within a cell keeps the region; the last member leaving deletes its set */
    j = chk_json(&it_fx.svc, "PATCH", "/sessions/stay", "{\"location\":" SPAIN "}", 200);
    cJSON_Delete(j);
    chk_no_key(it_key(KEY_REGION_MEMBERS, "u4pruy"));
    j = chk_json(&it_fx.svc, "PATCH", "/sessions/stay", "{\"location\":" SPAIN "}", 200);
    assert_string_equal(it_json_str(j, "current_region_id"), "ezs42e");
    cJSON_Delete(j);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_REGION_MEMBERS, "ezs42e")), 2);
    redisReply *v = it_redis_cmd(&it_fx.redis, "HGET %s mv", it_key(KEY_SESSIONS_OWNER, "mv"));
    assert_string_equal(v->str, "u ezs42e");
    freeReplyObject(v);
}

static void delete_removes_everything(void **state) {
    (void)state;
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"d1\",\"user_id\":\"u\",\"location\":" AALBORG "}"));
    cJSON_Delete(create(&it_fx.svc, "{\"socket_id\":\"d2\",\"user_id\":\"u\"}"));
    assert_int_equal(chk_status("DELETE", "/sessions/d1", NULL), 204);
    assert_int_equal(chk_status("GET", "/sessions/d1", NULL), 404);
    chk_no_key(it_key(KEY_SESSION, "d1"));
    chk_no_key(it_key(KEY_HEARTBEAT, "d1"));
    chk_no_key(it_key(KEY_REGION_MEMBERS, "u4pruy"));
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "u"), "d1"), 0);
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "u"), "d2"), 1);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_SESSIONS_EXPIRY), 1);
    assert_int_equal(chk_int("HEXISTS %s d1", it_key(KEY_SESSIONS_OWNER, "d1")), 0);
    assert_int_equal(chk_status("DELETE", "/sessions/d2", NULL), 204);
    assert_int_equal(chk_keys(), 0);
    chk_problem("DELETE", "/sessions/d2", NULL, 404, "session 'd2' not found");
}

/* Asserts a listing's sessions are exactly the socket ids given, in order,
 * on one page that does not count the total. */
static void assert_listing(const char *path, const char *const *want) {
    cJSON *j = chk_json(&it_fx.svc, "GET", path, NULL, 200);
    cJSON *arr = chk_page(j, CHK_TOTAL_NULL), *s;
    int n = 0;
    cJSON_ArrayForEach(s, arr) {
        assert_non_null(want[n]);
        assert_string_equal(it_json_str(s, "socket_id"), want[n]);
        n++;
    }
    assert_null(want[n]);
    assert_null(chk_next(j));
    cJSON_Delete(j);
}

static void listings_by_user_and_region(void **state) {
    (void)state;
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"c\",\"user_id\":\"ann\",\"location\":" AALBORG "}"));
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"a\",\"user_id\":\"ann\",\"location\":" SPAIN "}"));
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"b\",\"user_id\":\"ben\",\"location\":" AALBORG2 "}"));
    cJSON_Delete(create(&it_fx.svc, "{\"socket_id\":\"e\",\"user_id\":\"ann\"}"));
    assert_listing("/users/ann/sessions", (const char *const[]){"a", "c", "e", NULL});
    assert_listing("/users/ben/sessions", (const char *const[]){"b", NULL});
    assert_listing("/users/nobody/sessions", (const char *const[]){NULL});
    assert_listing("/regions/u4pruy/members", (const char *const[]){"b", "c", NULL});
    assert_listing("/regions/ezs42e/members", (const char *const[]){"a", NULL});
    assert_listing("/regions/zzzzzz/members", (const char *const[]){NULL});
    it_resp_t r = it_http(&it_fx.svc, "HEAD", "/regions/u4pruy/members", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

/* Short TTLs, no cleanup pass: A heartbeats, B goes silent. B's heartbeat
 * key expires after 1 s, its session after 2 s; from then on it is listed
 * nowhere. Reading a listing writes nothing (B stays in the sets); the
 * cleanup pass takes it out. */
static void every_ttl_expires_for_real(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"SESSION_TTL_S=2", "HEARTBEAT_TTL_S=1",
                                 "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    cJSON_Delete(create(&svc, "{\"socket_id\":\"A\",\"user_id\":\"u\",\"location\":" AALBORG "}"));
    cJSON_Delete(create(&svc, "{\"socket_id\":\"B\",\"user_id\":\"u\",\"location\":" AALBORG2 "}"));
    chk_key(it_key(KEY_SESSION, "B"), "string", 1, 2);
    chk_key(it_key(KEY_HEARTBEAT, "B"), "string", 0, 1);
    for (int i = 0; i < 6; i++) { /* 2.4 s */
        it_sleep_ms(400);
        it_resp_t r = it_http(&svc, "POST", "/sessions/A/heartbeat", NULL, NULL, 0);
        assert_int_equal(r.status, 204);
        it_resp_free(&r);
        if (i == 2) { /* 1.2 s: the heartbeat key is gone, the session is not */
            chk_no_key(it_key(KEY_HEARTBEAT, "B"));
            cJSON_Delete(chk_json(&svc, "GET", "/sessions/B", NULL, 200));
        }
    }
    chk_no_key(it_key(KEY_SESSION, "B"));
    it_resp_t r = it_http(&svc, "GET", "/sessions/B", NULL, NULL, 0);
    it_assert_problem(&r, 404, "session 'B' not found");
    it_resp_free(&r);
    /* B's entries in the sets have ended with it (A's heartbeats, which write
     * the same sets, may have dropped them already): no listing shows B */
    cJSON *j = chk_json(&svc, "GET", "/users/u/sessions", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 1);
    cJSON_Delete(j);
    j = chk_json(&svc, "GET", "/regions/u4pruy/members", NULL, 200);
    cJSON *members = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(members), 1);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(members, 0), "socket_id"), "A");
    cJSON_Delete(j);
    j = chk_json(&svc, "POST", "/admin/cleanup", NULL, 200);
    assert_int_equal((int)it_json_num(j, "sessions_pruned"), 1);
    cJSON_Delete(j);
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "u"), "B"), 0);
    assert_int_equal(chk_zmember(it_key(KEY_REGION_MEMBERS, "u4pruy"), "B"), 0);
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "u"), "A"), 1);
    assert_int_equal(it_service_stop(&svc), 0);
}

/* What a crash between two steps leaves (store/sessions.c): entries in a
 * user's or a region's set whose session is gone or is another user's or in
 * another region. No listing shows them; an entry that has ended goes at the
 * next write to its set. */
static void left_over_entries_are_never_shown(void **state) {
    (void)state;
    cJSON_Delete(
        create(&it_fx.svc, "{\"socket_id\":\"s1\",\"user_id\":\"u\",\"location\":" AALBORG "}"));
    const struct {
        const char *set, *member, *score;
    } left[] = {
        {it_key(KEY_USER_SESSIONS, "u"), "ghost", "9999999999999"},
        {it_key(KEY_REGION_MEMBERS, "u4pruy"), "ghost", "9999999999999"},
        {it_key(KEY_USER_SESSIONS, "v"), "s1", "9999999999999"},
        {it_key(KEY_REGION_MEMBERS, "ezs42e"), "s1", "9999999999999"},
        {it_key(KEY_USER_SESSIONS, "u"), "ended", "1"},
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
        assert_int_equal(chk_int("ZADD %s %s %s", left[i].set, left[i].score, left[i].member), 1);
    const char *only_s1[] = {"s1", NULL}, *none[] = {NULL};
    assert_listing("/users/u/sessions", only_s1);
    assert_listing("/regions/u4pruy/members", only_s1);
    assert_listing("/users/v/sessions", none);
    assert_listing("/regions/ezs42e/members", none);
    assert_int_equal(chk_status("POST", "/sessions/s1/heartbeat", NULL), 204);
    assert_int_equal(chk_zmember(it_key(KEY_USER_SESSIONS, "u"), "ended"), 0);
    assert_listing("/users/u/sessions", only_s1);
}

static void bad_input_writes_nothing(void **state) {
    (void)state;
    struct {
        const char *method, *path, *body, *detail;
        long status;
    } cases[] = {
        {"POST", "/sessions", NULL, "required", 400},
        {"POST", "/sessions", "[]", "object", 400},
        {"POST", "/sessions", "{\"user_id\":", "JSON", 400},
        {"POST", "/sessions", "{}", "user_id", 400},
        {"POST", "/sessions", "{\"user_id\":7}", "user_id", 400},
        {"POST", "/sessions", "{\"user_id\":\"a b\"}", "user_id", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"socket_id\":\"..\"}", "socket_id", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"socket_id\":\"s:1\"}", "socket_id", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"location\":\"here\"}", "location", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"location\":{\"latitude\":1}}", "longitude",
         400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"location\":{\"longitude\":1}}", "latitude",
         400},
        {"POST", "/sessions",
         "{\"user_id\":\"u\",\"location\":{\"latitude\":90.5,\"longitude\":1}}", "latitude", 400},
        {"POST", "/sessions",
         "{\"user_id\":\"u\",\"location\":{\"latitude\":1,\"longitude\":-180.01}}", "longitude",
         400},
        {"POST", "/sessions",
         "{\"user_id\":\"u\",\"location\":{\"latitude\":\"1\",\"longitude\":1}}", "latitude", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"user_agent\":\"\"}", "user_agent", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"user_agent\":[]}", "user_agent", 400},
        {"POST", "/sessions", "{\"user_id\":\"u\",\"user_agent\":\"\xff\"}", "user_agent", 400},
        {"PATCH", "/sessions/s1", "{}", "location", 400},
        {"PATCH", "/sessions/s1", "{\"location\":null}", "location", 400},
        {"PATCH", "/sessions/s1", "{\"location\":{\"latitude\":-91,\"longitude\":0}}", "latitude",
         400},
        {"GET", "/sessions/a:b", NULL, "socket id", 400},
        {"POST", "/sessions/%2A/heartbeat", NULL, "socket id", 400},
        {"GET", "/users/a%20b/sessions", NULL, "user id", 400},
        {"GET", "/regions/u4pru/members", NULL, "region id", 400},
        {"GET", "/regions/u4pruyd/members", NULL, "region id", 400},
        {"GET", "/regions/u4prua/members", NULL, "region id", 400},
        {"GET", "/regions/U4PRUY/members", NULL, "region id", 400},
        {"GET", "/sessions/nope", NULL, "session 'nope' not found", 404},
        {"POST", "/sessions/nope/heartbeat", NULL, "session 'nope' not found", 404},
        {"PATCH", "/sessions/nope", "{\"location\":" SPAIN "}", "session 'nope' not found", 404},
        {"DELETE", "/sessions/nope", NULL, "session 'nope' not found", 404},
        {"PUT", "/sessions", NULL, "not allowed", 405},
        {"POST", "/sessions/x", NULL, "not allowed", 405},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        chk_problem(cases[i].method, cases[i].path, cases[i].body, cases[i].status,
                    cases[i].detail);
    const char *hs[] = {"Content-Type: text/plain", NULL};
    it_resp_t r = it_http(&it_fx.svc, "POST", "/sessions", hs, "{\"user_id\":\"u\"}", 15);
    it_assert_problem(&r, 415, "application/json");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "PUT", "/sessions", NULL, NULL, 0);
    char allow[64];
    assert_true(it_header(&r, "Allow", allow, sizeof allow));
    assert_non_null(strstr(allow, "POST"));
    it_resp_free(&r);
    assert_int_equal(chk_keys(), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(create_with_location_writes_every_key, it_flush),
        cmocka_unit_test_setup(generated_id_and_no_location, it_flush),
        cmocka_unit_test_setup(duplicate_socket_is_409_and_changes_nothing, it_flush),
        cmocka_unit_test_setup(heartbeat_refreshes_every_ttl, it_flush),
        cmocka_unit_test_setup(move_changes_region_in_one_step, it_flush),
        cmocka_unit_test_setup(delete_removes_everything, it_flush),
        cmocka_unit_test_setup(listings_by_user_and_region, it_flush),
        cmocka_unit_test_setup(every_ttl_expires_for_real, it_flush),
        cmocka_unit_test_setup(left_over_entries_are_never_shown, it_flush),
        cmocka_unit_test_setup(bad_input_writes_nothing, it_flush),
    };
    return cmocka_run_group_tests_name("integration: sessions", tests, it_group_setup,
                                       it_group_teardown);
}
