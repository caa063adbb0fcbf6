/* /users/{userId}/notifications and /notifications/queue/pop over HTTP: the
 * user's list (newest first, trimmed, TTL) and the priority queues (high
 * drained first, oldest first, each notification popped once even by
 * concurrent poppers; trimmed to the newest and expiring when nothing is
 * pushed), queue depths in /redis/stats, and every 4xx. */
#include <pthread.h>
#include <stdlib.h>

#include "checks.h"

static const char *const env[] = {"NOTIFICATION_MAX=5", "NOTIFICATION_TTL_S=300",
                                  "NOTIFICATION_QUEUE_MAX=30", "NOTIFICATION_QUEUE_TTL_S=600",
                                  NULL};

static cJSON *notify(const char *user, const char *title, const char *priority) {
    char path[128], body[256];
    snprintf(path, sizeof path, "/users/%s/notifications", user);
    if (priority)
        snprintf(body, sizeof body, "{\"title\":\"%s\",\"body\":\"b\",\"priority\":\"%s\"}", title,
                 priority);
    else
        snprintf(body, sizeof body, "{\"title\":\"%s\",\"body\":\"b\"}", title);
    return chk_json(&it_fx.svc, "POST", path, body, 201);
}

/* The titles of a response's notifications, comma-separated, into out. */
static void titles(const cJSON *j, char *out, size_t cap) {
    const cJSON *n;
    out[0] = '\0';
    cJSON_ArrayForEach(n, chk_page(j, CHK_TOTAL_ANY)) {
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                 it_json_str(n, "title"));
    }
}

static void pop_titles(const char *query, char *out, size_t cap) {
    char path[128];
    snprintf(path, sizeof path, "/notifications/queue/pop%s", query);
    cJSON *j = chk_json(&it_fx.svc, "POST", path, NULL, 200);
    titles(j, out, cap);
    assert_null(chk_next(j)); /* a take has no next page: the next take starts afresh */
    cJSON_Delete(j);
}

static void create_keeps_and_queues(void **state) {
    (void)state;
    cJSON *j = chk_json(&it_fx.svc, "POST", "/users/carol/notifications",
                        "{\"title\":\"Hi ✓\",\"body\":\"You have mail\"}", 201);
    assert_memory_equal(it_json_str(j, "id"), "ntf-", 4);
    assert_string_equal(it_json_str(j, "user_id"), "carol");
    assert_string_equal(it_json_str(j, "title"), "Hi ✓");
    assert_string_equal(it_json_str(j, "body"), "You have mail");
    assert_string_equal(it_json_str(j, "priority"), "normal");
    assert_non_null(it_json_str(j, "created_at"));
    cJSON_Delete(j);
    cJSON_Delete(notify("carol", "urgent", "high"));
    chk_key(it_key(KEY_USER_NOTIFICATIONS, "carol"), "list", 295, 300);
    chk_key(it_key(KEY_NOTIFY_QUEUE_NORMAL, "carol"), "list", 595, 600);
    chk_key(it_key(KEY_NOTIFY_QUEUE_HIGH, "carol"), "list", 595, 600);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_NOTIFICATIONS, "carol")), 2);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "carol")), 1);
    redisReply *r =
        it_redis_cmd(&it_fx.redis, "LINDEX %s 0", it_key(KEY_NOTIFY_QUEUE_HIGH, "carol"));
    cJSON *stored = cJSON_Parse(r->str); /* the documented JSON */
    freeReplyObject(r);
    assert_string_equal(it_json_str(stored, "title"), "urgent");
    assert_string_equal(it_json_str(stored, "user_id"), "carol");
    cJSON_Delete(stored);
}

static void list_is_newest_first_and_trimmed(void **state) {
    (void)state;
    for (int i = 0; i < 7; i++) {
        char t[8];
        snprintf(t, sizeof t, "t%d", i);
        cJSON_Delete(notify("dan", t, NULL));
    }
    char got[256];
    cJSON *j = chk_json(&it_fx.svc, "GET", "/users/dan/notifications", NULL, 200);
    titles(j, got, sizeof got);
    assert_string_equal(got, "t6,t5,t4,t3,t2");
    chk_page(j, 5);
    assert_null(chk_next(j));
    cJSON_Delete(j);
    /* a page at a time, newest first; a new one meanwhile does not shift the pages */
    j = chk_json(&it_fx.svc, "GET", "/users/dan/notifications?limit=2", NULL, 200);
    titles(j, got, sizeof got);
    assert_string_equal(got, "t6,t5");
    chk_page(j, 5);
    char path[256];
    snprintf(path, sizeof path, "/users/dan/notifications?limit=2&cursor=%s", chk_next(j));
    cJSON_Delete(j);
    cJSON_Delete(notify("dan", "t7", NULL)); /* t2 is trimmed */
    j = chk_json(&it_fx.svc, "GET", path, NULL, 200);
    titles(j, got, sizeof got);
    assert_string_equal(got, "t4,t3");
    chk_page(j, 5);
    assert_null(chk_next(j));
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/users/nobody/notifications", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 0)), 0);
    cJSON_Delete(j);
    /* the queue keeps all eight for the sender: only the user's list is trimmed */
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_NORMAL, "dan")), 8);
}

/* 150 notifications for one user: the user's list keeps the newest
 * NOTIFICATION_MAX, the queue the newest NOTIFICATION_QUEUE_MAX (the oldest
 * are dropped), and a sender popping gets those, oldest first. */
static void queues_keep_the_newest(void **state) {
    (void)state;
    for (int i = 0; i < 150; i++) {
        char t[8];
        snprintf(t, sizeof t, "q%03d", i);
        cJSON_Delete(notify("flood", t, i % 2 ? NULL : "high"));
        if (i % 10 == 9) {
            assert_true(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "flood")) <= 30);
            assert_true(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_NORMAL, "flood")) <= 30);
        }
    }
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_NOTIFICATIONS, "flood")), 5);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "flood")), 30);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_NORMAL, "flood")), 30);
    char got[1024], want[1024] = "";
    pop_titles("?priority=normal&limit=1000", got, sizeof got);
    for (int i = 150 - 2 * 30 + 1; i < 150; i += 2) /* the newest 30 odd ones, oldest first */
        snprintf(want + strlen(want), sizeof want - strlen(want), "%sq%03d", want[0] ? "," : "", i);
    assert_string_equal(got, want);
    chk_no_key(it_key(KEY_NOTIFY_QUEUE_NORMAL, "flood"));
}

static long long stats_queue(const char *priority) {
    cJSON *j = chk_json(&it_fx.svc, "GET", "/redis/stats", NULL, 200);
    cJSON *q = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "app"), "notification_queues");
    long long n = (long long)it_json_num(q, priority);
    cJSON_Delete(j);
    return n;
}

static void pop_takes_high_first_oldest_first(void **state) {
    (void)state;
    const char *order[][2] = {{"n1", "normal"}, {"h1", "high"}, {"n2", NULL},
                              {"h2", "high"},   {"n3", NULL},   {"h3", "high"}};
    for (size_t i = 0; i < 6; i++)
        cJSON_Delete(notify(i % 2 ? "u1" : "u2", order[i][0], order[i][1]));
    assert_int_equal(stats_queue("high"), 3);
    assert_int_equal(stats_queue("normal"), 3);
    char got[256];
    pop_titles("?limit=4", got, sizeof got);
    assert_string_equal(got, "h1,h2,h3,n1");
    assert_int_equal(stats_queue("high"), 0);
    assert_int_equal(stats_queue("normal"), 2);
    chk_no_key(it_key(KEY_NOTIFY_QUEUE_HIGH, "u1"));
    cJSON_Delete(notify("u1", "h4", "high"));
    pop_titles("?priority=normal&limit=1", got, sizeof got);
    assert_string_equal(got, "n2");
    pop_titles("?priority=normal", got, sizeof got);
    assert_string_equal(got, "n3");
    pop_titles("?priority=normal", got, sizeof got);
    assert_string_equal(got, "");
    pop_titles("?priority=high", got, sizeof got);
    assert_string_equal(got, "h4");
    pop_titles("", got, sizeof got);
    assert_string_equal(got, "");
    /* the users' own lists are untouched by popping */
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_NOTIFICATIONS, "u1")), 4);
}

typedef struct {
    cJSON *got;
} popped_t;

static void *pop_some(void *arg) {
    popped_t *p = arg;
    it_resp_t r = it_http(&it_fx.svc, "POST", "/notifications/queue/pop?limit=7", NULL, NULL, 0);
    p->got = r.status == 200 ? it_body_json(&r) : NULL;
    it_resp_free(&r);
    return NULL;
}

static void concurrent_pops_take_each_once(void **state) {
    (void)state;
    enum { N = 20, POPPERS = 4 };
    for (int i = 0; i < N; i++) {
        char t[8];
        snprintf(t, sizeof t, "c%02d", i);
        cJSON_Delete(notify("u", t, i % 3 ? NULL : "high"));
    }
    pthread_t t[POPPERS];
    popped_t p[POPPERS] = {{0}};
    for (int i = 0; i < POPPERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, pop_some, &p[i]), 0);
    int seen[N] = {0}, total = 0;
    for (int i = 0; i < POPPERS; i++) {
        pthread_join(t[i], NULL);
        assert_non_null(p[i].got);
        const cJSON *n;
        cJSON_ArrayForEach(n, chk_page(p[i].got, CHK_TOTAL_ANY)) {
            seen[atoi(it_json_str(n, "title") + 1)]++;
            total++;
        }
        cJSON_Delete(p[i].got);
    }
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
}

/* A user's list lives NOTIFICATION_TTL_S after its last notification; a
 * queue, NOTIFICATION_QUEUE_TTL_S after its last push (the notification is
 * still to be sent after the user's list has gone). */
static void list_and_queue_expire(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"NOTIFICATION_TTL_S=1", "NOTIFICATION_QUEUE_TTL_S=2", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    cJSON_Delete(chk_json(&svc, "POST", "/users/eve/notifications",
                          "{\"title\":\"t\",\"body\":\"b\",\"priority\":\"high\"}", 201));
    chk_key(it_key(KEY_USER_NOTIFICATIONS, "eve"), "list", 0, 1);
    chk_key(it_key(KEY_NOTIFY_QUEUE_HIGH, "eve"), "list", 1, 2);
    it_sleep_ms(1100);
    chk_no_key(it_key(KEY_USER_NOTIFICATIONS, "eve"));
    /* still to be sent */
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "eve")), 1);
    it_sleep_ms(1000);
    chk_no_key(it_key(KEY_NOTIFY_QUEUE_HIGH, "eve"));
    assert_int_equal(it_service_stop(&svc), 0);
}

static void bad_input(void **state) {
    (void)state;
    char long_title[300];
    memset(long_title, 't', 257);
    long_title[257] = '\0';
    char body[400];
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"body\":\"b\"}", long_title);
    struct {
        const char *method, *path, *body, *detail;
        long status;
    } cases[] = {
        {"POST", "/users/u/notifications", NULL, "required", 400},
        {"POST", "/users/u/notifications", "{\"body\":\"b\"}", "title", 400},
        {"POST", "/users/u/notifications", "{\"title\":\"\",\"body\":\"b\"}", "title", 400},
        {"POST", "/users/u/notifications", body, "title", 400},
        {"POST", "/users/u/notifications", "{\"title\":\"t\"}", "body", 400},
        {"POST", "/users/u/notifications", "{\"title\":\"t\",\"body\":\"\xff\"}", "body", 400},
        {"POST", "/users/u/notifications",
         "{\"title\":\"t\",\"body\":\"b\",\"priority\":\"urgent\"}", "priority", 400},
        {"POST", "/users/u/notifications", "{\"title\":\"t\",\"body\":\"b\",\"priority\":1}",
         "priority", 400},
        {"POST", "/users/a:b/notifications", "{\"title\":\"t\",\"body\":\"b\"}", "user id", 400},
        {"GET", "/users/u/notifications?limit=0", NULL, "limit", 400},
        {"GET", "/users/u/notifications?cursor=a:b", NULL, "cursor", 400},
        {"POST", "/notifications/queue/pop?limit=0", NULL, "limit", 400},
        {"POST", "/notifications/queue/pop?limit=1001", NULL, "limit", 400},
        {"POST", "/notifications/queue/pop?count=5", NULL, "now 'limit'", 400},
        {"POST", "/notifications/queue/pop?priority=urgent", NULL, "priority", 400},
        {"POST", "/notifications/queue/pop?priority=", NULL, "priority", 400},
        {"GET", "/notifications/queue/pop", NULL, "not allowed", 405},
        {"DELETE", "/users/u/notifications", NULL, "not allowed", 405},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        chk_problem(cases[i].method, cases[i].path, cases[i].body, cases[i].status,
                    cases[i].detail);
    assert_int_equal(chk_int("DBSIZE"), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(create_keeps_and_queues, it_flush),
        cmocka_unit_test_setup(list_is_newest_first_and_trimmed, it_flush),
        cmocka_unit_test_setup(queues_keep_the_newest, it_flush),
        cmocka_unit_test_setup(pop_takes_high_first_oldest_first, it_flush),
        cmocka_unit_test_setup(concurrent_pops_take_each_once, it_flush),
        cmocka_unit_test_setup(list_and_queue_expire, it_flush),
        cmocka_unit_test_setup(bad_input, it_flush),
    };
    return cmocka_run_group_tests_name("integration: notifications", tests, it_group_setup,
                                       it_group_teardown);
}
