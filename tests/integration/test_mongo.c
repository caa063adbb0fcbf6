/* Persistence over HTTP against a real MongoDB-compatible server (FerretDB
 * on SQLite, or mongod): users, observations, road segments, and MongoDB
 * going away and coming back. Each test starts from empty collections. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/timefmt.h"
#include "checks.h"
#include "harness.h"

/* POSTs a user; returns its id (static buffer) or fails the test. */
static const char *create_user(const char *username) {
    static char id[32];
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"name\":\"Name of %s\"}", username,
             username);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/accounts", body);
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    snprintf(id, sizeof id, "%s", it_json_str(j, "id"));
    cJSON_Delete(j);
    it_resp_free(&r);
    return id;
}

static void users_crud(void **state) {
    (void)state;
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/accounts",
                              "{\"username\":\"alice\",\"name\":\"Alice\",\"email\":\"a@ex.org\"}");
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    char id[32], loc[64], want[64];
    snprintf(id, sizeof id, "%s", it_json_str(j, "id"));
    assert_int_equal(strlen(id), 24);
    assert_string_equal(it_json_str(j, "username"), "alice");
    assert_string_equal(it_json_str(j, "email"), "a@ex.org");
    int64_t ms;
    assert_true(core_iso8601_parse(it_json_str(j, "created_at"), &ms));
    snprintf(want, sizeof want, "/accounts/%s", id);
    assert_true(it_header(&r, "Location", loc, sizeof loc));
    assert_string_equal(loc, want);
    cJSON_Delete(j);
    it_resp_free(&r);
    /* in MongoDB: a real document with a date */
    char filter[96];
    snprintf(filter, sizeof filter, "{\"_id\":{\"$oid\":\"%s\"}}", id);
    char *doc = it_mongo_find_one(&it_mongo, "users", filter);
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"username\" : \"alice\""));
    assert_non_null(strstr(doc, "\"created_at\" : { \"$date\""));
    free(doc);

    r = it_http(&it_fx.svc, "GET", want, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    r = it_json_req(&it_fx.svc, "POST", "/accounts", "{\"username\":\"alice\",\"name\":\"Other\"}");
    it_assert_problem(&r, 409, "alice");
    it_resp_free(&r);

    r = it_json_req(&it_fx.svc, "PATCH", want, "{\"name\":\"Alice B\",\"email\":null}");
    assert_int_equal(r.status, 200);
    j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "name"), "Alice B");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "email")));
    assert_string_equal(it_json_str(j, "username"), "alice");
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_json_req(&it_fx.svc, "PATCH", want, "{}");
    it_assert_problem(&r, 400, "nothing to change");
    it_resp_free(&r);

    r = it_http(&it_fx.svc, "DELETE", want, NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    it_resp_free(&r);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{}"), 0);
    r = it_http(&it_fx.svc, "GET", want, NULL, NULL, 0);
    it_assert_problem(&r, 404, id);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "DELETE", want, NULL, NULL, 0);
    it_assert_problem(&r, 404, NULL);
    it_resp_free(&r);
    r = it_json_req(&it_fx.svc, "PATCH", want, "{\"name\":\"x\"}");
    it_assert_problem(&r, 404, NULL);
    it_resp_free(&r);
}

static void user_validation(void **state) {
    (void)state;
    struct {
        const char *body;
        const char *detail;
    } cases[] = {
        {"{\"name\":\"No Username\"}", "username"},
        {"{\"username\":\"a b\",\"name\":\"x\"}", "username"},
        {"{\"username\":\"ok\"}", "name"},
        {"{\"username\":\"ok\",\"name\":\"\"}", "name"},
        {"{\"username\":\"ok\",\"name\":7}", "name"},
        {"{\"username\":\"ok\",\"name\":\"x\",\"email\":\"not-an-address\"}", "email"},
        {"{\"username\":\"ok\",\"name\":\"\xc3\x28\"}", "UTF-8"}, /* raw bytes, not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_resp_t r = it_json_req(&it_fx.svc, "POST", "/accounts", cases[i].body);
        it_assert_problem(&r, 400, cases[i].detail);
        it_resp_free(&r);
    }
    it_resp_t r = it_http(&it_fx.svc, "GET", "/accounts/not-an-objectid", NULL, NULL, 0);
    it_assert_problem(&r, 400, "ObjectId");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/accounts/0123456789abcdef01234567", NULL, NULL, 0);
    it_assert_problem(&r, 404, NULL);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/accounts?cursor=zz", NULL, NULL, 0);
    it_assert_problem(&r, 400, "cursor");
    it_resp_free(&r);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{}"), 0);
}

/* Accounts moved to /accounts: /users/{userId}/... is the real-time user id
 * space alone, and the old account routes are gone, not aliased. */
static void accounts_have_a_prefix_of_their_own(void **state) {
    (void)state;
    char id[32], path[64];
    snprintf(id, sizeof id, "%s", create_user("alice"));
    snprintf(path, sizeof path, "/users/%s", id);
    const struct {
        const char *method, *path;
        long status;
    } gone[] = {{"GET", "/users", 404},
                {"POST", "/users", 404},
                {"GET", path, 404},
                {"PATCH", path, 404},
                {"DELETE", path, 404}};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        it_resp_t r = it_json_req(&it_fx.svc, gone[i].method, gone[i].path,
                                  strcmp(gone[i].method, "GET") ? "{\"name\":\"x\"}" : NULL);
        it_assert_problem(&r, gone[i].status, "no resource at this path");
        it_resp_free(&r);
    }
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{\"name\":\"x\"}"), 0);
    snprintf(path, sizeof path, "/accounts/%s", id);
    it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    /* the chat lists of a user with that id are the chat user's, empty */
    snprintf(path, sizeof path, "/users/%s/rooms", id);
    r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

static void users_paging(void **state) {
    (void)state;
    for (int i = 0; i < 25; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%02d", i);
        create_user(name);
    }
    char path[96] = "/accounts?limit=10", seen[25] = {0};
    int pages = 0, total = 0;
    for (;;) {
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r), *u;
        cJSON_ArrayForEach(u, chk_page(j, CHK_TOTAL_NULL)) {
            int i = atoi(it_json_str(u, "username") + 1);
            assert_int_equal(seen[i], 0);
            seen[i] = 1;
            total++;
        }
        pages++;
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        bool last = cJSON_IsNull(next);
        if (!last)
            snprintf(path, sizeof path, "/accounts?limit=10&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        it_resp_free(&r);
        if (last)
            break;
    }
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
}

static void *post_same_username(void *arg) {
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/accounts", arg);
    long st = r.status;
    it_resp_free(&r);
    return (void *)(intptr_t)st;
}

static void duplicate_username_race(void **state) {
    (void)state;
    for (int round = 0; round < 5; round++) {
        char body[96];
        snprintf(body, sizeof body, "{\"username\":\"racer%d\",\"name\":\"R\"}", round);
        pthread_t a, b;
        pthread_create(&a, NULL, post_same_username, body);
        pthread_create(&b, NULL, post_same_username, body);
        void *ra, *rb;
        pthread_join(a, &ra);
        pthread_join(b, &rb);
        long sa = (long)(intptr_t)ra, sb = (long)(intptr_t)rb;
        assert_true((sa == 201 && sb == 409) || (sa == 409 && sb == 201));
        char filter[64];
        snprintf(filter, sizeof filter, "{\"username\":\"racer%d\"}", round);
        assert_int_equal(it_mongo_count(&it_mongo, "users", filter), 1);
    }
}

static char *observation(const char *user, double lat, double lon, double quality,
                         const char *extra) {
    static char body[512];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"location\":{\"latitude\":%.6f,\"longitude\":%.6f},"
             "\"quality\":%g%s}",
             user, lat, lon, quality, extra ? extra : "");
    return body;
}

static void observation_create_and_get(void **state) {
    (void)state;
    const char *user = create_user("phone");
    char uid[32];
    snprintf(uid, sizeof uid, "%s", user);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations",
                              observation(uid, 57.64911, 10.40744, 0.8,
                                          ",\"speed_kmh\":42.5,"
                                          "\"recorded_at\":\"2025-09-20T10:30:45.123Z\""));
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    char path[64];
    snprintf(path, sizeof path, "/observations/%s", it_json_str(j, "id"));
    assert_string_equal(it_json_str(j, "geohash"), "u4pruyd");
    assert_string_equal(it_json_str(j, "recorded_at"), "2025-09-20T10:30:45.123Z");
    assert_true(it_json_num(j, "speed_kmh") == 42.5);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "user_id"), uid);
    cJSON *loc = cJSON_GetObjectItem(j, "location");
    assert_true(it_json_num(loc, "latitude") == 57.64911);
    assert_true(it_json_num(j, "quality") == 0.8);
    cJSON_Delete(j);
    it_resp_free(&r);
    char *doc = it_mongo_find_one(&it_mongo, "observations", "{\"geohash\":\"u4pruyd\"}");
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"recorded_at\" : { \"$date\" : \"2025-09-20T10:30:45.123Z\""));
    /* the user id is an ObjectId, so it joins users._id */
    char want_user[64];
    snprintf(want_user, sizeof want_user, "\"user_id\" : { \"$oid\" : \"%s\" }", uid);
    assert_non_null(strstr(doc, want_user));
    free(doc);
    r = it_http(&it_fx.svc, "GET", "/observations/0123456789abcdef01234567", NULL, NULL, 0);
    it_assert_problem(&r, 404, NULL);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/observations/xyz", NULL, NULL, 0);
    it_assert_problem(&r, 400, "ObjectId");
    it_resp_free(&r);
}

static void observation_validation(void **state) {
    (void)state;
    const char *u = "0123456789abcdef01234567";
    char future[64], extra[96];
    core_iso8601(core_now_ms() + 10 * 60 * 1000, future);
    snprintf(extra, sizeof extra, ",\"recorded_at\":\"%s\"", future);
    struct {
        char body[512];
        const char *detail;
    } cases[] = {
        {"", "latitude"},
        {"", "longitude"},
        {"", "quality"},
        {"", "quality"},
        {"", "recorded_at"},
        {"", "recorded_at"},
        {"", "speed_kmh"},
        {"{\"user_id\":\"abc\",\"location\":{\"latitude\":1,\"longitude\":1},\"quality\":0.5}",
         "user_id"},
        {"{\"user_id\":\"0123456789abcdef01234567\",\"quality\":0.5}", "location"},
    };
    snprintf(cases[0].body, sizeof cases[0].body, "%s", observation(u, 90.5, 0, 0.5, NULL));
    snprintf(cases[1].body, sizeof cases[1].body, "%s", observation(u, 0, -180.5, 0.5, NULL));
    snprintf(cases[2].body, sizeof cases[2].body, "%s", observation(u, 0, 0, 1.5, NULL));
    snprintf(cases[3].body, sizeof cases[3].body, "%s", observation(u, 0, 0, -0.1, NULL));
    snprintf(cases[4].body, sizeof cases[4].body, "%s", observation(u, 0, 0, 0.5, extra));
    snprintf(cases[5].body, sizeof cases[5].body, "%s",
             observation(u, 0, 0, 0.5, ",\"recorded_at\":\"yesterday\""));
    snprintf(cases[6].body, sizeof cases[6].body, "%s",
             observation(u, 0, 0, 0.5, ",\"speed_kmh\":-3"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations", cases[i].body);
        it_assert_problem(&r, 400, cases[i].detail);
        it_resp_free(&r);
    }
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 0);
    assert_int_equal(it_mongo_count(&it_mongo, "road_segments", "{}"), 0);
}

static void batch_with_bad_rows(void **state) {
    (void)state;
    const char *u = "0123456789abcdef01234567";
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "[%s,", observation(u, 10, 10, 0.5, NULL));
    n += (size_t)snprintf(body + n, sizeof body - n, "{\"user_id\":\"%s\"},", u);
    n += (size_t)snprintf(body + n, sizeof body - n, "%s,", observation(u, 10, 10, 0.25, NULL));
    n += (size_t)snprintf(body + n, sizeof body - n, "%s,", observation(u, 10, 10, 2, NULL));
    n += (size_t)snprintf(body + n, sizeof body - n, "%s]", observation(u, 10, 10, 1, NULL));
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations/batch", body);
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "stored"), 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "ids")), 3);
    cJSON *rej = cJSON_GetObjectItem(j, "rejected");
    assert_int_equal(cJSON_GetArraySize(rej), 2);
    assert_int_equal((int)it_json_num(cJSON_GetArrayItem(rej, 0), "index"), 1);
    assert_non_null(strstr(it_json_str(cJSON_GetArrayItem(rej, 0), "detail"), "location"));
    assert_int_equal((int)it_json_num(cJSON_GetArrayItem(rej, 1), "index"), 3);
    assert_non_null(strstr(it_json_str(cJSON_GetArrayItem(rej, 1), "detail"), "quality"));
    cJSON_Delete(j);
    it_resp_free(&r);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 3);
    /* only bad rows: nothing stored, 200 with the reasons */
    r = it_json_req(&it_fx.svc, "POST", "/observations/batch", "[{},{\"quality\":3}]");
    assert_int_equal(r.status, 200);
    j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "stored"), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rejected")), 2);
    cJSON_Delete(j);
    it_resp_free(&r);
    const char *bad[] = {"[]", "{}", "\"x\""};
    for (size_t i = 0; i < 3; i++) {
        r = it_json_req(&it_fx.svc, "POST", "/observations/batch", bad[i]);
        it_assert_problem(&r, 400, "array");
        it_resp_free(&r);
    }
    /* 1001 rows is one too many */
    size_t cap = 1001 * 120 + 16;
    char *big = malloc(cap), *p = big;
    *p++ = '[';
    for (int i = 0; i < 1001; i++)
        p += sprintf(p, "%s%s", i ? "," : "", observation(u, 1, 1, 0.5, NULL));
    strcpy(p, "]");
    r = it_json_req(&it_fx.svc, "POST", "/observations/batch", big);
    it_assert_problem(&r, 400, "1000");
    it_resp_free(&r);
    free(big);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 3);
}

static void segment_averages_are_exact(void **state) {
    (void)state;
    const char *u = "0123456789abcdef01234567";
    /* four in u4pruyd (one alone, three in a batch), one elsewhere */
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations",
                              observation(u, 57.64911, 10.40744, 0.25, NULL));
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    char body[2048];
    snprintf(body, sizeof body, "[%s,", observation(u, 57.64912, 10.40745, 0.5, NULL));
    size_t n = strlen(body);
    n += (size_t)snprintf(body + n, sizeof body - n, "%s,",
                          observation(u, 57.64910, 10.40743, 1.0, NULL));
    n += (size_t)snprintf(body + n, sizeof body - n, "%s,",
                          observation(u, 57.64911, 10.40744, 0.75, NULL));
    snprintf(body + n, sizeof body - n, "%s]", observation(u, 48.8584, 2.2945, 0.125, NULL));
    r = it_json_req(&it_fx.svc, "POST", "/observations/batch", body);
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    it_mongo_segments_settle(NULL); /* the aggregator runs in the background */

    r = it_http(&it_fx.svc, "GET", "/road-segments/u4pruyd", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "count"), 4);
    assert_true(it_json_num(j, "quality_sum") == 2.5);
    assert_true(it_json_num(j, "avg_quality") == 0.625);
    cJSON *c = cJSON_GetObjectItem(j, "center");
    assert_true(it_json_num(c, "latitude") > 57.6 && it_json_num(c, "latitude") < 57.7);
    cJSON_Delete(j);
    it_resp_free(&r);
    /* the stored document agrees */
    char *doc = it_mongo_find_one(&it_mongo, "road_segments", "{\"_id\":\"u4pruyd\"}");
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"avg_quality\" : 0.625"));
    assert_non_null(strstr(doc, "\"count\" : 4"));
    free(doc);

    r = it_http(&it_fx.svc, "GET", "/road-segments?min_count=2", NULL, NULL, 0);
    j = it_body_json(&r);
    cJSON *arr = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(arr, 0), "geohash"), "u4pruyd");
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/road-segments?bbox=2,48,3,49", NULL, NULL, 0);
    j = it_body_json(&r);
    arr = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_true(it_json_num(cJSON_GetArrayItem(arr, 0), "avg_quality") == 0.125);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/road-segments/u4pruy", NULL, NULL, 0);
    it_assert_problem(&r, 400, "7 characters");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/road-segments/u4pruya", NULL, NULL, 0);
    it_assert_problem(&r, 400, NULL);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/road-segments/s000000", NULL, NULL, 0);
    it_assert_problem(&r, 404, NULL);
    it_resp_free(&r);
}

static void observation_queries_and_paging(void **state) {
    (void)state;
    const char *a = "aaaaaaaaaaaaaaaaaaaaaaaa", *b = "bbbbbbbbbbbbbbbbbbbbbbbb";
    char body[65536];
    size_t n = (size_t)snprintf(body, sizeof body, "[");
    for (int i = 0; i < 30; i++) {
        char extra[96];
        /* pairs share a second, so paging must break ties by id */
        snprintf(extra, sizeof extra, ",\"recorded_at\":\"2025-01-01T00:00:%02d.000Z\"", i / 2);
        n += (size_t)snprintf(body + n, sizeof body - n, "%s%s", i ? "," : "",
                              observation(i % 3 ? a : b, i < 20 ? 10 : -10, 20, 0.5, extra));
    }
    snprintf(body + n, sizeof body - n, "]");
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations/batch", body);
    assert_int_equal(r.status, 201);
    it_resp_free(&r);

    char path[256] = "/observations?limit=7";
    int total = 0;
    char last[64] = "9999";
    for (int pages = 0; pages < 10; pages++) {
        r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r), *o;
        cJSON_ArrayForEach(o, chk_page(j, CHK_TOTAL_NULL)) {
            const char *t = it_json_str(o, "recorded_at");
            assert_true(strcmp(t, last) <= 0); /* newest first */
            snprintf(last, sizeof last, "%s", t);
            total++;
        }
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        bool done = cJSON_IsNull(next);
        if (!done)
            snprintf(path, sizeof path, "/observations?limit=7&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        it_resp_free(&r);
        if (done)
            break;
    }
    assert_int_equal(total, 30);

    struct {
        const char *query;
        int want;
    } filters[] = {
        {"/observations?bbox=19,9,21,11", 20},
        {"/observations?bbox=19,-11,21,-9", 10},
        {"/observations?bbox=170,-90,-170,90", 0}, /* across the antimeridian, nobody there */
        {"/observations?user_id=bbbbbbbbbbbbbbbbbbbbbbbb", 10},
        {"/observations?since=2025-01-01T00:00:10.000Z", 10},
        {"/observations?until=2025-01-01T00:00:01.000Z", 2},
        {"/observations?since=2025-01-01T00:00:05Z&until=2025-01-01T00:00:07Z&user_id="
         "aaaaaaaaaaaaaaaaaaaaaaaa",
         3},
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        r = it_http(&it_fx.svc, "GET", filters[i].query, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r);
        if (cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)) != filters[i].want)
            fail_msg("%s: %d, not %d", filters[i].query,
                     cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), filters[i].want);
        cJSON_Delete(j);
        it_resp_free(&r);
    }
    const char *bad[] = {"/observations?bbox=1,2,3",     "/observations?bbox=1,2,3,x",
                         "/observations?bbox=0,10,1,5",  "/observations?since=soon",
                         "/observations?user_id=nobody", "/observations?cursor=123",
                         "/observations?limit=0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = it_http(&it_fx.svc, "GET", bad[i], NULL, NULL, 0);
        it_assert_problem(&r, 400, NULL);
        it_resp_free(&r);
    }
}

static long timed_status(const it_service_t *s, const char *method, const char *path,
                         const char *json, double *seconds) {
    it_resp_t r = it_json_req(s, method, path, json);
    long st = r.status;
    *seconds = r.seconds;
    if (st >= 500) {
        char ct[64];
        it_header(&r, "Content-Type", ct, sizeof ct);
        assert_string_equal(ct, "application/problem+json");
    }
    it_resp_free(&r);
    return st;
}

static void mongodb_down_and_back(void **state) {
    (void)state;
    it_service_t strict;
    const char *strict_env[] = {it_mongo_env[0], "MONGODB_TIMEOUT_MS=800", "MONGODB_REQUIRED=1",
                                NULL};
    assert_true(it_service_start(&strict, it_fx.redis.url, strict_env));
    create_user("before");
    it_mongo_kill(&it_mongo);

    double secs;
    assert_int_equal(timed_status(&it_fx.svc, "POST", "/accounts",
                                  "{\"username\":\"during\",\"name\":\"D\"}", &secs),
                     503);
    assert_true(secs < 2.0); /* about the 800 ms timeout, never a hang */
    assert_int_equal(timed_status(&it_fx.svc, "GET", "/observations", NULL, &secs), 503);
    assert_true(secs < 2.0);
    /* the ephemeral side does not care */
    assert_int_equal(timed_status(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam\"}", &secs), 201);
    assert_int_equal(timed_status(&it_fx.svc, "GET", "/clients/cam", NULL, &secs), 200);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "warn");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "mongodb"), "disconnected");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "redis"), "connected");
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/readyz", NULL, NULL, 0);
    assert_int_equal(r.status, 200); /* MongoDB is not required here */
    it_resp_free(&r);
    r = it_http(&strict, "GET", "/readyz?verbose", NULL, NULL, 0);
    assert_int_equal(r.status, 503); /* ...but is there */
    assert_non_null(strstr(r.body, "[-]mongodb failed"));
    assert_non_null(strstr(r.body, "[+]redis ok"));
    it_resp_free(&r);

    assert_true(it_mongo_restart(&it_mongo));
    long st = 0;
    for (int i = 0; i < 50 && st != 201; i++) {
        st = timed_status(&it_fx.svc, "POST", "/accounts",
                          "{\"username\":\"after\",\"name\":\"A\"}", &secs);
        if (st != 201)
            it_sleep_ms(100);
    }
    assert_int_equal(st, 201);
    r = it_http(&it_fx.svc, "GET", "/health", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "pass");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "mongodb"), "connected");
    cJSON_Delete(j);
    it_resp_free(&r);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{}"), 2); /* before + after */
    assert_int_equal(it_service_stop(&strict), 0);
}

static void disabled_without_uri(void **state) {
    (void)state;
    it_service_t plain;
    assert_true(it_service_start(&plain, it_fx.redis.url, NULL));
    it_resp_t r = it_json_req(&plain, "POST", "/accounts", "{\"username\":\"x\",\"name\":\"y\"}");
    it_assert_problem(&r, 503, "disabled");
    it_resp_free(&r);
    r = it_http(&plain, "GET", "/road-segments", NULL, NULL, 0);
    it_assert_problem(&r, 503, "MONGODB_URI");
    it_resp_free(&r);
    r = it_http(&plain, "GET", "/health", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "pass");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "mongodb"), "disabled");
    cJSON_Delete(j);
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&plain), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(users_crud, it_mongo_clear_all),
        cmocka_unit_test_setup(user_validation, it_mongo_clear_all),
        cmocka_unit_test_setup(accounts_have_a_prefix_of_their_own, it_mongo_clear_all),
        cmocka_unit_test_setup(users_paging, it_mongo_clear_all),
        cmocka_unit_test_setup(duplicate_username_race, it_mongo_clear_all),
        cmocka_unit_test_setup(observation_create_and_get, it_mongo_clear_all),
        cmocka_unit_test_setup(observation_validation, it_mongo_clear_all),
        cmocka_unit_test_setup(batch_with_bad_rows, it_mongo_clear_all),
        cmocka_unit_test_setup(segment_averages_are_exact, it_mongo_clear_all),
        cmocka_unit_test_setup(observation_queries_and_paging, it_mongo_clear_all),
        cmocka_unit_test(disabled_without_uri),
        cmocka_unit_test_setup(mongodb_down_and_back, it_mongo_clear_all),
    };
    return cmocka_run_group_tests_name("integration: mongodb", tests, it_mongo_group_setup,
                                       it_mongo_group_teardown);
}
