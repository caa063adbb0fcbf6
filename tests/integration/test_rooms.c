/* /rooms over HTTP: joining and leaving, the keys that holds (names, types),
 * listings and paging, the room disappearing with its last participant (also
 * when the last ones leave at the same moment), going offline leaving the
 * joined sets only, and every 4xx. */
#include <pthread.h>

#include "checks.h"

static const char *const env[] = {"PRESENCE_TTL_S=120", NULL};

static long join(const char *room, const char *user) {
    char path[300];
    snprintf(path, sizeof path, "/rooms/%s/participants/%s", room, user);
    return chk_status("PUT", path, NULL);
}

static long leave(const char *room, const char *user) {
    char path[300];
    snprintf(path, sizeof path, "/rooms/%s/participants/%s", room, user);
    return chk_status("DELETE", path, NULL);
}

static void join_writes_the_documented_keys(void **state) {
    (void)state;
    cJSON *j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/participants/alice", NULL, 201);
    assert_string_equal(it_json_str(j, "id"), "r1");
    assert_string_equal(it_json_str(j, "user_id"), "alice");
    assert_int_equal((int)it_json_num(j, "participant_count"), 1);
    assert_int_equal((int)it_json_num(j, "joined_count"), 1);
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/participants/alice", NULL, 200); /* a re-join */
    assert_int_equal((int)it_json_num(j, "participant_count"), 1);
    cJSON_Delete(j);
    assert_int_equal(join("r1", "bob"), 201);
    chk_key("room:r1:participants", "set", 0, 0);
    chk_key("room:r1:joined", "set", 0, 0);
    chk_key("user:alice:rooms", "set", 0, 0);
    chk_key("user:bob:rooms", "set", 0, 0);
    chk_key("rooms:active", "zset", 0, 0);
    assert_int_equal(chk_int("SCARD room:r1:participants"), 2);
    assert_int_equal(chk_int("SISMEMBER user:bob:rooms r1"), 1);
    assert_int_equal(chk_int("ZCARD rooms:active"), 1);
    assert_int_equal(chk_int("DBSIZE"), 5);
}

static void participants_and_user_rooms(void **state) {
    (void)state;
    assert_int_equal(join("r1", "carol"), 201);
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r2", "alice"), 201);
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/participants", NULL, 200);
    assert_int_equal((int)it_json_num(j, "count"), 2);
    cJSON *p = cJSON_GetObjectItem(j, "participants");
    assert_string_equal(cJSON_GetArrayItem(p, 0)->valuestring, "alice");
    assert_string_equal(cJSON_GetArrayItem(p, 1)->valuestring, "carol");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "joined")), 2);
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/users/alice/rooms", NULL, 200);
    assert_int_equal((int)it_json_num(j, "count"), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rooms"), 1)->valuestring, "r2");
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/users/nobody/rooms", NULL, 200);
    assert_int_equal((int)it_json_num(j, "count"), 0);
    cJSON_Delete(j);
    chk_problem("GET", "/rooms/empty/participants", NULL, 404, "room 'empty' not found");
}

static void leave_and_leave_again(void **state) {
    (void)state;
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r1", "bob"), 201);
    assert_int_equal(leave("r1", "bob"), 204);
    assert_int_equal(chk_int("SISMEMBER room:r1:participants bob"), 0);
    assert_int_equal(chk_int("SISMEMBER room:r1:joined bob"), 0);
    chk_no_key("user:bob:rooms");
    chk_problem("DELETE", "/rooms/r1/participants/bob", NULL, 404,
                "participant 'bob' of room 'r1' not found");
    assert_int_equal(chk_int("ZCARD rooms:active"), 1);
}

static void last_leave_removes_the_room_entirely(void **state) {
    (void)state;
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r1", "bob"), 201);
    assert_int_equal(join("other", "bob"), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r1/typing/alice", NULL), 200);
    assert_int_equal(
        chk_status("POST", "/rooms/r1/messages", "{\"sender_id\":\"bob\",\"content\":\"hi\"}"),
        201);
    chk_key("room:r1:messages", "zset", 1, 86400);
    assert_int_equal(leave("r1", "bob"), 204);
    assert_int_equal(leave("r1", "alice"), 204);
    const char *gone[] = {"room:r1:participants", "room:r1:joined",  "room:r1:typing",
                          "room:r1:messages",     "typing:r1:alice", "user:alice:rooms"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        chk_no_key(gone[i]);
    redisReply *r = it_redis_cmd(&it_fx.redis, "ZRANGE rooms:active 0 -1");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "other");
    freeReplyObject(r);
    chk_problem("GET", "/rooms/r1/participants", NULL, 404, "room 'r1' not found");
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms", NULL, 200);
    assert_int_equal((int)it_json_num(j, "total"), 1);
    cJSON_Delete(j);
}

typedef struct {
    const char *method, *room;
    char user[32];
    long status;
} call_t;

static void *run_call(void *arg) {
    call_t *c = arg;
    char path[128];
    snprintf(path, sizeof path, "/rooms/%s/participants/%s", c->room, c->user);
    it_resp_t r = it_http(&it_fx.svc, c->method, path, NULL, NULL, 0);
    c->status = r.status;
    it_resp_free(&r);
    return NULL;
}

/* Runs the calls at once, one thread each. */
static void run_all(call_t *calls, int n) {
    pthread_t t[64];
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_call, &calls[i]), 0);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static void concurrent_last_leaves_leave_nothing_behind(void **state) {
    (void)state;
    enum { N = 16, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        call_t calls[N];
        for (int i = 0; i < N; i++) {
            calls[i] = (call_t){"DELETE", "busy", "", 0};
            snprintf(calls[i].user, sizeof calls[i].user, "u%d", i);
            assert_int_equal(join("busy", calls[i].user), 201);
        }
        run_all(calls, N);
        for (int i = 0; i < N; i++)
            assert_int_equal(calls[i].status, 204);
        assert_int_equal(chk_int("DBSIZE"), 0);
    }
    /* leaves and joins racing: the room ends with exactly the joiners, and is active */
    call_t calls[2 * N];
    for (int i = 0; i < N; i++) {
        calls[i] = (call_t){"DELETE", "mix", "", 0};
        snprintf(calls[i].user, sizeof calls[i].user, "old%d", i);
        assert_int_equal(join("mix", calls[i].user), 201);
        calls[N + i] = (call_t){"PUT", "mix", "", 0};
        snprintf(calls[N + i].user, sizeof calls[N + i].user, "new%d", i);
    }
    run_all(calls, 2 * N);
    for (int i = 0; i < 2 * N; i++)
        assert_int_equal(calls[i].status, i < N ? 204 : 201);
    assert_int_equal(chk_int("SCARD room:mix:participants"), N);
    assert_int_equal(chk_int("ZCARD rooms:active"), 1);
}

static void list_rooms_paged_with_counts(void **state) {
    (void)state;
    const char *rooms[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        for (int u = 0; u <= i; u++) {
            char user[8];
            snprintf(user, sizeof user, "u%d", u);
            assert_int_equal(join(rooms[i], user), 201);
        }
    }
    assert_int_equal(chk_status("DELETE", "/online-users/u0", NULL), 204);
    char path[128] = "/rooms?limit=2";
    int seen = 0, pages = 0;
    for (;;) {
        cJSON *j = chk_json(&it_fx.svc, "GET", path, NULL, 200), *room;
        assert_int_equal((int)it_json_num(j, "total"), 5);
        cJSON_ArrayForEach(room, cJSON_GetObjectItem(j, "rooms")) {
            assert_string_equal(it_json_str(room, "id"), rooms[seen]);
            assert_int_equal((int)it_json_num(room, "participant_count"), seen + 1);
            assert_int_equal((int)it_json_num(room, "joined_count"), seen); /* u0 went offline */
            seen++;
        }
        pages++;
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        bool last = cJSON_IsNull(next);
        if (!last)
            snprintf(path, sizeof path, "/rooms?limit=2&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        if (last)
            break;
    }
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);
}

static void going_offline_leaves_joined_sets_only(void **state) {
    (void)state;
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    for (int i = 0; i < 2; i++) {
        const char *room = i ? "r2" : "r1";
        char path[64];
        assert_int_equal(join(room, "alice"), 201);
        assert_int_equal(join(room, "bob"), 201);
        snprintf(path, sizeof path, "/rooms/%s/typing/alice", room);
        assert_int_equal(chk_status("PUT", path, NULL), 200);
        snprintf(path, sizeof path, "/rooms/%s/typing/bob", room);
        assert_int_equal(chk_status("PUT", path, NULL), 200);
    }
    assert_int_equal(chk_status("DELETE", "/online-users/alice", NULL), 204);
    chk_no_key("presence:alice");
    for (int i = 0; i < 2; i++) {
        const char *room = i ? "r2" : "r1";
        assert_int_equal(chk_int("SISMEMBER room:%s:participants alice", room), 1);
        assert_int_equal(chk_int("SISMEMBER room:%s:joined alice", room), 0);
        assert_int_equal(chk_int("SISMEMBER room:%s:joined bob", room), 1);
        assert_int_equal(chk_int("EXISTS typing:%s:alice", room), 0);
        assert_int_equal(chk_int("EXISTS typing:%s:bob", room), 1);
        assert_int_equal(chk_int("ZCARD room:%s:typing", room), 1);
    }
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/typing", NULL, 200);
    assert_int_equal((int)it_json_num(j, "count"), 1);
    cJSON_Delete(j);
    /* a re-join after reconnecting puts them back in joined */
    assert_int_equal(join("r1", "alice"), 200);
    assert_int_equal(chk_int("SISMEMBER room:r1:joined alice"), 1);
}

static void bad_input(void **state) {
    (void)state;
    chk_problem("PUT", "/rooms/a:b/participants/u", NULL, 400, "room id");
    chk_problem("PUT", "/rooms/r/participants/..", NULL, 400, "user id");
    chk_problem("DELETE", "/rooms/r/participants/%2A", NULL, 400, "user id");
    chk_problem("GET", "/rooms/%20/participants", NULL, 400, "room id");
    chk_problem("GET", "/users/a%2Fb/rooms", NULL, 400, "user id");
    chk_problem("GET", "/rooms?limit=0", NULL, 400, "limit");
    chk_problem("GET", "/rooms?cursor=a*", NULL, 400, "cursor");
    chk_problem("POST", "/rooms", NULL, 405, "not allowed");
    chk_problem("POST", "/rooms/r/participants/u", NULL, 405, "not allowed");
    chk_problem("DELETE", "/rooms/r/participants", NULL, 405, "not allowed");
    chk_problem("DELETE", "/rooms/r/participants/u", NULL, 404, "participant 'u' of room 'r'");
    assert_int_equal(chk_int("DBSIZE"), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(join_writes_the_documented_keys, it_flush),
        cmocka_unit_test_setup(participants_and_user_rooms, it_flush),
        cmocka_unit_test_setup(leave_and_leave_again, it_flush),
        cmocka_unit_test_setup(last_leave_removes_the_room_entirely, it_flush),
        cmocka_unit_test_setup(concurrent_last_leaves_leave_nothing_behind, it_flush),
        cmocka_unit_test_setup(list_rooms_paged_with_counts, it_flush),
        cmocka_unit_test_setup(going_offline_leaves_joined_sets_only, it_flush),
        cmocka_unit_test_setup(bad_input, it_flush),
    };
    return cmocka_run_group_tests_name("integration: rooms", tests, it_group_setup,
                                       it_group_teardown);
}
