/* MongoDB data that other tools wrote, read through the real service: a
 * document that breaks its collection's schema is never filled in with
 * invented values (a list skips it, counts it and logs it; a read of it by id
 * is a 500 naming the field), observations.user_id is an ObjectId, and the
 * bounding-box queries of observations and road segments have their indexes
 * (what the server's explain says about using them is asserted as it is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../mongo/observations.h"
#include "../../mongo/segments.h"
#include "checks.h"
#include "harness.h"

#define DATE "{\"$date\":\"2025-09-20T10:30:45.123Z\"}"
#define OID(hex) "{\"$oid\":\"" hex "\"}"

/* The value of one counter line of /metrics, or -1. */
static long metric(const char *line_start) {
    it_resp_t r = it_http(&it_fx.svc, "GET", "/metrics", NULL, NULL, 0);
    const char *p = r.body ? strstr(r.body, line_start) : NULL;
    long v = p ? atol(p + strlen(line_start)) : -1;
    it_resp_free(&r);
    return v;
}

static void foreign_users(void **state) {
    (void)state;
    it_resp_t r =
        it_json_req(&it_fx.svc, "POST", "/accounts", "{\"username\":\"alice\",\"name\":\"A\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    /* written by another tool: no created_at, no name, a string _id */
    assert_true(it_mongo_insert(
        &it_mongo, "users",
        "{\"_id\":" OID(
            "0000000000000000000000a1") ",\"username\":"
                                        "\"nodate\",\"name\":\"No Date\",\"updated_at\":" DATE
                                        "}"));
    assert_true(it_mongo_insert(
        &it_mongo, "users",
        "{\"_id\":" OID("0000000000000000000000a2") ",\"username\":"
                                                    "\"noname\",\"created_at\":" DATE
                                                    ",\"updated_at\":" DATE "}"));
    assert_true(it_mongo_insert(&it_mongo, "users",
                                "{\"_id\":\"legacy-1\",\"username\":\"ghost\",\"name\":\"Ghost\","
                                "\"created_at\":" DATE ",\"updated_at\":" DATE "}"));
    /* a list shows what is a user, and counts and logs what is not */
    r = it_http(&it_fx.svc, "GET", "/accounts?limit=10", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    cJSON *users = chk_page(j, CHK_TOTAL_NULL);
    assert_int_equal(cJSON_GetArraySize(users), 1);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(users, 0), "username"), "alice");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    cJSON_Delete(j);
    it_resp_free(&r);
    assert_int_equal(metric("mongodb_schema_errors_total{collection=\"users\"} "), 3);
    assert_true(it_file_contains(it_fx.svc.log, "skipped a users document that breaks the schema"));

    /* read by id: a 500 that names what is wrong, never 1970 or "" */
    r = it_http(&it_fx.svc, "GET", "/accounts/0000000000000000000000a1", NULL, NULL, 0);
    it_assert_problem(&r, 500, "'created_at' is missing or not a date");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/accounts/0000000000000000000000a2", NULL, NULL, 0);
    it_assert_problem(&r, 500, "'name' is missing");
    it_resp_free(&r);
    /* the string-_id user still holds its username: the 409 is the truth */
    r = it_json_req(&it_fx.svc, "POST", "/accounts", "{\"username\":\"ghost\",\"name\":\"G\"}");
    it_assert_problem(&r, 409, "ghost");
    it_resp_free(&r);
}

static void foreign_observations_and_segments(void **state) {
    (void)state;
    const char *user = "0123456789abcdef01234567";
    char body[256];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"location\":{\"latitude\":57.64911,\"longitude\":10.40744},"
             "\"quality\":0.5}",
             user);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations", body);
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    /* no recorded_at; and one from before user ids were ObjectIds */
    assert_true(it_mongo_insert(
        &it_mongo, "observations",
        "{\"_id\":" OID("0000000000000000000000b1") ",\"user_id\":" OID(
            "0123456789abcdef01234567") ",\"location\":{\"latitude\":1,\"longitude\":2},"
                                        "\"quality\":0.5,\"created_at\":" DATE
                                        ",\"geohash\":\"s01mtw2\"}"));
    assert_true(it_mongo_insert(
        &it_mongo, "observations",
        "{\"_id\":" OID("0000000000000000000000b2") ",\"user_id\":\"0123456789abcdef01234567\","
                                                    "\"location\":{\"latitude\":1,\"longitude\":2},"
                                                    "\"quality\":0.25,\"recorded_at\":" DATE
                                                    ",\"created_at\":" DATE
                                                    ",\"geohash\":\"s01mtw2\"}"));
    r = it_http(&it_fx.svc, "GET", "/observations/0000000000000000000000b1", NULL, NULL, 0);
    it_assert_problem(&r, 500, "'recorded_at'");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/observations?user_id=0123456789abcdef01234567", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 2);
    cJSON_Delete(j);
    it_resp_free(&r);
    assert_true(metric("mongodb_schema_errors_total{collection=\"observations\"} ") >= 2);

    assert_true(it_mongo_insert(&it_mongo, "road_segments",
                                "{\"_id\":\"s01mtw3\",\"count\":\"three\",\"quality_sum\":1,"
                                "\"center\":{\"latitude\":1,\"longitude\":2},\"updated_at\":" DATE
                                "}"));
    r = it_http(&it_fx.svc, "GET", "/road-segments/s01mtw3", NULL, NULL, 0);
    it_assert_problem(&r, 500, "'count'");
    it_resp_free(&r);
}

/* Runs explain of find(filter, opts) on coll; the reply as JSON (freed by
 * the caller). */
static char *explain(const char *coll, const bson_t *filter, const bson_t *opts) {
    bson_t cmd = BSON_INITIALIZER, find;
    bson_iter_t it;
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "explain", &find);
    BSON_APPEND_UTF8(&find, "find", coll);
    BSON_APPEND_DOCUMENT(&find, "filter", filter);
    if (bson_iter_init_find(&it, opts, "sort") && BSON_ITER_HOLDS_DOCUMENT(&it))
        BSON_APPEND_VALUE(&find, "sort", bson_iter_value(&it));
    if (bson_iter_init_find(&it, opts, "limit"))
        BSON_APPEND_VALUE(&find, "limit", bson_iter_value(&it));
    bson_append_document_end(&cmd, &find);
    char *json = bson_as_canonical_extended_json(&cmd, NULL);
    char *out = it_mongo_command(&it_mongo, json);
    bson_free(json);
    bson_destroy(&cmd);
    return out;
}

/* What the server says about the plan of the service's own query. */
static void assert_plan(const char *coll, const bson_t *filter, const bson_t *opts,
                        const char *index) {
    char *plan = explain(coll, filter, opts);
    assert_non_null(plan);
    if (strstr(plan, "ferretdbVersion")) {
        /* FerretDB v1.24 on SQLite pushes no filter but {_id: value} down to
         * SQLite: its plan is a scan of the collection's table, filtered in
         * FerretDB, and it says so */
        assert_non_null(strstr(plan, "\"filterPushdown\" : false"));
        assert_non_null(strstr(plan, "detail=SCAN"));
    } else {
        assert_non_null(strstr(plan, "IXSCAN"));
        assert_non_null(strstr(plan, index));
    }
    free(plan);
}

static void bbox_queries_have_indexes(void **state) {
    (void)state;
    /* the indexes exist (the service makes them with its first request) */
    it_resp_t r = it_http(&it_fx.svc, "GET", "/observations?bbox=10,57,11,58", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    char *list = it_mongo_command(&it_mongo, "{\"listIndexes\":\"observations\"}");
    assert_non_null(list);
    assert_non_null(strstr(list, "location.latitude_1_location.longitude_1"));
    assert_non_null(strstr(list, "geohash_1_quality_1__id_1"));
    free(list);
    list = it_mongo_command(&it_mongo, "{\"listIndexes\":\"road_segments\"}");
    assert_non_null(list);
    assert_non_null(strstr(list, "center.latitude_1_center.longitude_1"));
    free(list);

    /* explain of exactly the queries the service sends */
    mongo_obs_query_t q = {.has_bbox = true,
                           .min_lon = 10.3,
                           .min_lat = 57.6,
                           .max_lon = 10.5,
                           .max_lat = 57.7,
                           .limit = 100};
    bson_t filter, opts;
    mongo_observations_query(&q, &filter, &opts);
    assert_plan("observations", &filter, &opts, "location.latitude_1_location.longitude_1");
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongo_segment_query_t sq = {.has_bbox = true,
                                .min_lon = 10.3,
                                .min_lat = 57.6,
                                .max_lon = 10.5,
                                .max_lat = 57.7,
                                .min_count = 1,
                                .limit = 100};
    mongo_segments_query(&sq, &filter, &opts);
    assert_plan("road_segments", &filter, &opts, "center.latitude_1_center.longitude_1");
    bson_destroy(&filter);
    bson_destroy(&opts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(foreign_users, it_mongo_clear_all),
        cmocka_unit_test_setup(foreign_observations_and_segments, it_mongo_clear_all),
        cmocka_unit_test(bbox_queries_have_indexes),
    };
    return cmocka_run_group_tests_name("integration: mongodb data from other tools", tests,
                                       it_mongo_group_setup, it_mongo_group_teardown);
}
