/* /rooms over HTTP: joining and leaving, the keys that holds (names, types,
 * TTLs), listings and paging, the room disappearing with its last participant
 * (also when the last ones leave at the same moment) or when it stays quiet
 * for ROOM_TTL_S, "joined" being exactly who presence shows online however
 * presence ends (DELETE, or its TTL with no call in between), and every 4xx. */
#include <pthread.h>

#include "../../core/timefmt.h"
#include "checks.h"

static const char *const env[] = {"PRESENCE_TTL_S=120", "ROOM_TTL_S=600",
                                  "CLEANUP_INTERVAL_MS=3600000", NULL};

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
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    cJSON *j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/participants/alice", NULL, 201);
    assert_string_equal(it_json_str(j, "id"), "r1");
    assert_string_equal(it_json_str(j, "user_id"), "alice");
    assert_int_equal((int)it_json_num(j, "participant_count"), 1);
    assert_int_equal((int)it_json_num(j, "joined_count"), 1); /* alice is online */
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/participants/alice", NULL, 200); /* a re-join */
    assert_int_equal((int)it_json_num(j, "participant_count"), 1);
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "PUT", "/rooms/r1/participants/bob", NULL, 201);
    assert_int_equal((int)it_json_num(j, "participant_count"), 2);
    assert_int_equal((int)it_json_num(j, "joined_count"), 1); /* bob is not */
    cJSON_Delete(j);
    chk_key(it_key(KEY_ROOM_PARTICIPANTS, "r1"), "set", 595, 600);
    chk_key(it_key(KEY_USER_ROOMS, "alice"), "zset", 595, 600);
    chk_key(it_key(KEY_USER_ROOMS, "bob"), "zset", 595, 600);
    chk_key(it_key(KEY_ROOMS_ACTIVE, "r1"), "zset", 0, 0);
    chk_key(it_key(KEY_ROOMS_EXPIRY, "r1"), "zset", 0, 0);
    assert_int_equal(chk_int("SCARD %s", it_key(KEY_ROOM_PARTICIPANTS, "r1")), 2);
    assert_int_equal(chk_zmember(it_key(KEY_USER_ROOMS, "bob"), "r1"), 1);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ROOMS_ACTIVE), 1);
    /* the room's expiry in its index is the participants set's own */
    long long expiry =
        chk_int("EVAL %s 1 %s", "return tonumber(redis.call('ZSCORE', KEYS[1], 'r1'))",
                it_key(KEY_ROOMS_EXPIRY, "r1"));
    long long expiretime = chk_int("PEXPIRETIME %s", it_key(KEY_ROOM_PARTICIPANTS, "r1"));
    assert_int_equal(expiry, expiretime);
    /* joined is read from presence, not stored: the five keys, and alice's presence entry */
    assert_int_equal(chk_keys(), 5 + 3);
}

static void participants_and_user_rooms(void **state) {
    (void)state;
    assert_int_equal(join("r1", "carol"), 201);
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r2", "alice"), 201);
    assert_int_equal(chk_status("PUT", "/online-users/carol", NULL), 200);
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/participants", NULL, 200);
    cJSON *p = chk_page(j, 2);
    assert_int_equal(cJSON_GetArraySize(p), 2);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(p, 0), "user_id"), "alice");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "joined")));
    assert_string_equal(it_json_str(cJSON_GetArrayItem(p, 1), "user_id"), "carol");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "joined")));
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/users/alice/rooms", NULL, 200);
    cJSON *rooms = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(rooms), 2);
    cJSON *r2 = cJSON_GetArrayItem(rooms, 1);
    assert_string_equal(it_json_str(r2, "id"), "r2");
    assert_int_equal((int)it_json_num(r2, "participant_count"), 1);
    assert_int_equal((int)it_json_num(r2, "joined_count"), 0);
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/users/nobody/rooms", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 0);
    cJSON_Delete(j);
    chk_problem("GET", "/rooms/empty/participants", NULL, 404, "room 'empty' not found");
}

static void leave_and_leave_again(void **state) {
    (void)state;
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r1", "bob"), 201);
    assert_int_equal(leave("r1", "bob"), 204);
    assert_int_equal(chk_int("SISMEMBER %s bob", it_key(KEY_ROOM_PARTICIPANTS, "r1")), 0);
    chk_no_key(it_key(KEY_USER_ROOMS, "bob"));
    chk_problem("DELETE", "/rooms/r1/participants/bob", NULL, 404,
                "participant 'bob' of room 'r1' not found");
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ROOMS_ACTIVE), 1);
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
    chk_key(it_key(KEY_ROOM_MESSAGES, "r1"), "zset", 1, 86400);
    assert_int_equal(leave("r1", "bob"), 204);
    assert_int_equal(leave("r1", "alice"), 204);
    const char *gone[] = {"room:r1:participants", "room:r1:typing", "room:r1:messages",
                          "typing:r1:alice", "user:alice:rooms"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        chk_no_key(gone[i]);
    chk_only_room("other");
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
        assert_int_equal(chk_keys(), 0);
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
    assert_int_equal(chk_int("SCARD %s", it_key(KEY_ROOM_PARTICIPANTS, "mix")), N);
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ROOMS_ACTIVE), 1);
}

static void list_rooms_paged_with_counts(void **state) {
    (void)state;
    const char *rooms[] = {"a", "b", "c", "d", "e"};
    for (int u = 0; u < 5; u++) {
        char path[32];
        snprintf(path, sizeof path, "/online-users/u%d", u);
        assert_int_equal(chk_status("PUT", path, NULL), 200);
    }
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
        cJSON_ArrayForEach(room, chk_page(j, 5)) {
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

/* The participants a participants answer says are joined, comma-separated. */
static void joined_of(const it_service_t *svc, const char *room, char *out, size_t cap) {
    char path[128];
    snprintf(path, sizeof path, "/rooms/%s/participants", room);
    cJSON *j = chk_json(svc, "GET", path, NULL, 200), *u;
    out[0] = '\0';
    cJSON_ArrayForEach(u, chk_page(j, CHK_TOTAL_ANY)) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(u, "joined")))
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                     it_json_str(u, "user_id"));
    }
    cJSON_Delete(j);
}

static void going_offline_clears_typing_and_leaves_joined(void **state) {
    (void)state;
    char joined[256];
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    assert_int_equal(chk_status("PUT", "/online-users/bob", NULL), 200);
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
    joined_of(&it_fx.svc, "r1", joined, sizeof joined);
    assert_string_equal(joined, "alice,bob");
    assert_int_equal(chk_status("DELETE", "/online-users/alice", NULL), 204);
    chk_no_key(it_key(KEY_PRESENCE, "alice"));
    for (int i = 0; i < 2; i++) {
        const char *room = i ? "r2" : "r1";
        assert_int_equal(chk_int("SISMEMBER %s alice", it_key(KEY_ROOM_PARTICIPANTS, room)), 1);
        assert_int_equal(chk_int("EXISTS %s", it_key2(KEY_TYPING, room, "alice")), 0);
        assert_int_equal(chk_int("EXISTS %s", it_key2(KEY_TYPING, room, "bob")), 1);
        assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_TYPING, room)), 1);
        joined_of(&it_fx.svc, room, joined, sizeof joined);
        assert_string_equal(joined, "bob");
    }
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/typing", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 1)), 1);
    cJSON_Delete(j);
    /* coming back online is what puts them back in joined; no re-join needed */
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    joined_of(&it_fx.svc, "r1", joined, sizeof joined);
    assert_string_equal(joined, "alice,bob");
}

/* Is user online, as GET /online-users/{user} says? */
static bool online(const it_service_t *svc, const char *user) {
    char path[128];
    snprintf(path, sizeof path, "/online-users/%s", user);
    cJSON *j = chk_json(svc, "GET", path, NULL, 200);
    bool on = cJSON_IsTrue(cJSON_GetObjectItem(j, "online"));
    cJSON_Delete(j);
    return on;
}

static long status_on(const it_service_t *svc, const char *method, const char *path) {
    it_resp_t r = it_http(svc, method, path, NULL, NULL, 0);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

/* Presence ends by its TTL, with no call at all in between: from the moment
 * GET /online-users/{id} says offline, the participant is not joined (in the
 * room's participants or its count in /rooms) and messages queue for them. */
static void joined_follows_presence_expiry_with_no_call(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"PRESENCE_TTL_S=2", "ROOM_TTL_S=600",
                                 "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    const char *users[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "/rooms/r1/participants/%s", users[i]);
        cJSON_Delete(chk_json(&svc, "PUT", path, NULL, 201));
        snprintf(path, sizeof path, "/online-users/%s", users[i]);
        if (i < 2)
            cJSON_Delete(chk_json(&svc, "PUT", path, NULL, 200));
        else /* carol says she is offline */
            assert_int_equal(status_on(&svc, "DELETE", path), 204);
    }
    char joined[256];
    joined_of(&svc, "r1", joined, sizeof joined);
    assert_string_equal(joined, "alice,bob");
    /* bob stays online; alice says nothing more until her presence has expired */
    int64_t deadline = core_now_ms() + (int64_t)(10000 * it_time_scale());
    while (online(&svc, "alice")) {
        assert_true(core_now_ms() < deadline);
        cJSON_Delete(chk_json(&svc, "PUT", "/online-users/bob", NULL, 200));
        it_sleep_ms(100);
    }
    cJSON_Delete(chk_json(&svc, "PUT", "/online-users/bob", NULL, 200));
    assert_true(online(&svc, "bob"));
    joined_of(&svc, "r1", joined, sizeof joined);
    assert_string_equal(joined, "bob");
    cJSON *j = chk_json(&svc, "GET", "/rooms", NULL, 200);
    cJSON *room = cJSON_GetArrayItem(chk_page(j, 1), 0);
    assert_int_equal((int)it_json_num(room, "participant_count"), 3);
    assert_int_equal((int)it_json_num(room, "joined_count"), 1);
    cJSON_Delete(j);
    /* and a message from bob is queued for exactly the participants not joined */
    cJSON_Delete(chk_json(&svc, "POST", "/rooms/r1/messages",
                          "{\"sender_id\":\"bob\",\"content\":\"still there?\"}", 201));
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "alice")), 1);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 1);
    chk_no_key(it_key(KEY_USER_OFFLINE, "bob"));
    assert_int_equal(it_service_stop(&svc), 0);
}

/* A room nobody joins or writes in for ROOM_TTL_S ends: every read stops
 * showing it at once, without writing anything, and the cleanup pass takes
 * it out of the indexes; a room with messages lives on. */
static void a_quiet_room_ends(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"ROOM_TTL_S=2", "RATE_LIMIT_MESSAGES=100000",
                                 "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/quiet/participants/alice", NULL, 201));
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/quiet/participants/bob", NULL, 201));
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/busy/participants/alice", NULL, 201));
    chk_key(it_key(KEY_ROOM_PARTICIPANTS, "quiet"), "set", 1, 2);
    chk_key(it_key(KEY_USER_ROOMS, "bob"), "zset", 1, 2);
    /* alice keeps writing in busy until quiet has ended */
    int64_t deadline = core_now_ms() + (int64_t)(10000 * it_time_scale());
    for (;;) {
        cJSON_Delete(chk_json(&svc, "POST", "/rooms/busy/messages",
                              "{\"sender_id\":\"alice\",\"content\":\"x\"}", 201));
        long st = status_on(&svc, "GET", "/rooms/quiet/participants");
        if (st == 404)
            break;
        assert_int_equal(st, 200);
        assert_true(core_now_ms() < deadline);
        it_sleep_ms(100);
    }
    chk_no_key(it_key(KEY_ROOM_PARTICIPANTS, "quiet"));
    chk_no_key(it_key(KEY_USER_ROOMS, "bob")); /* it lived as long as bob's only room */
    cJSON *j = chk_json(&svc, "GET", "/rooms", NULL, 200);
    cJSON *rooms = chk_page(j, 1);
    assert_int_equal(cJSON_GetArraySize(rooms), 1);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(rooms, 0), "id"), "busy");
    cJSON_Delete(j);
    j = chk_json(&svc, "GET", "/users/alice/rooms", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 1);
    cJSON_Delete(j);
    chk_problem("POST", "/rooms/quiet/messages", "{\"sender_id\":\"bob\",\"content\":\"x\"}", 404,
                "participant 'bob' of room 'quiet'");
    /* the reads wrote nothing: the ended room's index entries wait for the cleanup pass
     * (alice's own index of rooms drops it at its next write: a join, or a message
     * in busy) */
    assert_int_equal(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_ROOMS_ACTIVE), 2);
    j = chk_json(&svc, "POST", "/admin/cleanup", NULL, 200);
    assert_int_equal((int)it_json_num(j, "rooms_pruned"), 1);
    cJSON_Delete(j);
    chk_only_room("busy");
    /* alice's next join drops the ended room from her index of rooms, for sure */
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/next/participants/alice", NULL, 201));
    assert_int_equal(chk_zmember(it_key(KEY_USER_ROOMS, "alice"), "quiet"), 0);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_USER_ROOMS, "alice")), 2);
    assert_int_equal(it_service_stop(&svc), 0);
}

/* What a crash between two steps leaves (store/rooms.c): entries in a
 * user's index of rooms for a room they are no participant of, ended or not.
 * No listing shows them; the user's next join drops the ended ones. */
static void left_over_entries_are_never_shown(void **state) {
    (void)state;
    assert_int_equal(join("r1", "alice"), 201);
    assert_int_equal(join("r2", "bob"), 201);
    const char *index = it_key(KEY_USER_ROOMS, "alice");
    assert_int_equal(chk_int("ZADD %s 9999999999999 r2", index), 1);   /* bob's room */
    assert_int_equal(chk_int("ZADD %s 9999999999999 gone", index), 1); /* no such room */
    assert_int_equal(chk_int("ZADD %s 1 ended", index), 1);
    cJSON *j = chk_json(&it_fx.svc, "GET", "/users/alice/rooms", NULL, 200);
    cJSON *rooms = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(rooms), 1);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(rooms, 0), "id"), "r1");
    cJSON_Delete(j);
    assert_int_equal(join("r3", "alice"), 201);
    assert_int_equal(chk_zmember(index, "ended"), 0);
    j = chk_json(&it_fx.svc, "GET", "/users/alice/rooms", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 2);
    cJSON_Delete(j);
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
    assert_int_equal(chk_keys(), 0);
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
        cmocka_unit_test_setup(going_offline_clears_typing_and_leaves_joined, it_flush),
        cmocka_unit_test_setup(joined_follows_presence_expiry_with_no_call, it_flush),
        cmocka_unit_test_setup(a_quiet_room_ends, it_flush),
        cmocka_unit_test_setup(left_over_entries_are_never_shown, it_flush),
        cmocka_unit_test_setup(bad_input, it_flush),
    };
    return cmocka_run_group_tests_name("integration: rooms", tests, it_group_setup,
                                       it_group_teardown);
}
