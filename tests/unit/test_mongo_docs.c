/* Unit tests for the BSON <-> struct conversions of mongo/ (no server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../mongo/doc.h"
#include "../../mongo/observations.h"
#include "../../mongo/segments.h"
#include "../../mongo/users.h"

static void user_from_document(void **state) {
    (void)state;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
    bson_t *doc =
        BCON_NEW("_id", BCON_OID(&oid), "username", "alice", "name", "Alice", "created_at",
                 BCON_DATE_TIME(1758364245123), "updated_at", BCON_DATE_TIME(1758364245999));
    mongo_user_t u;
    assert_null(mongo_user_from_bson(doc, &u));
    assert_string_equal(u.id, "0123456789abcdef01234567");
    assert_string_equal(u.username, "alice");
    assert_string_equal(u.name, "Alice");
    assert_string_equal(u.email, ""); /* absent */
    assert_int_equal(u.created_at_ms, 1758364245123);
    assert_int_equal(u.updated_at_ms, 1758364245999);
    bson_destroy(doc);
    /* no ObjectId, or a username of the wrong type: not a user */
    doc = BCON_NEW("_id", "text-id", "username", "bob");
    assert_string_equal(mongo_user_from_bson(doc, &u), "'_id' is not an ObjectId");
    bson_destroy(doc);
    doc = BCON_NEW("_id", BCON_OID(&oid), "username", BCON_INT32(7));
    assert_non_null(strstr(mongo_user_from_bson(doc, &u), "'username'"));
    bson_destroy(doc);
}

/* Each required field, missing or of the wrong type, is named; nothing is
 * filled in with an invented value. */
static void user_breaking_the_schema(void **state) {
    (void)state;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
    struct {
        bson_t *doc;
        const char *field;
    } cases[] = {
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "created_at", BCON_DATE_TIME(1),
                  "updated_at", BCON_DATE_TIME(1)),
         "'name'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "", "created_at",
                  BCON_DATE_TIME(1), "updated_at", BCON_DATE_TIME(1)),
         "'name'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "A", "updated_at",
                  BCON_DATE_TIME(1)),
         "'created_at'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "A", "created_at", "2025-01-01",
                  "updated_at", BCON_DATE_TIME(1)),
         "'created_at'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "A", "created_at",
                  BCON_DATE_TIME(1)),
         "'updated_at'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a b", "name", "A", "created_at",
                  BCON_DATE_TIME(1), "updated_at", BCON_DATE_TIME(1)),
         "'username'"},
        {BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "A", "email", BCON_INT32(3),
                  "created_at", BCON_DATE_TIME(1), "updated_at", BCON_DATE_TIME(1)),
         "'email'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mongo_user_t u;
        const char *why = mongo_user_from_bson(cases[i].doc, &u);
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].field));
        bson_destroy(cases[i].doc);
    }
    /* a null email is no email */
    bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "username", "a", "name", "A", "email", BCON_NULL,
                           "created_at", BCON_DATE_TIME(1), "updated_at", BCON_DATE_TIME(2));
    mongo_user_t u;
    assert_null(mongo_user_from_bson(doc, &u));
    assert_string_equal(u.email, "");
    bson_destroy(doc);
}

static void observation_round_trip(void **state) {
    (void)state;
    mongo_observation_t in = {.latitude = 57.64911,
                              .longitude = -10.40744,
                              .quality = 0.75,
                              .has_speed = true,
                              .speed_kmh = 42.5,
                              .recorded_at_ms = 1758364245123,
                              .created_at_ms = 1758364246000};
    strcpy(in.id, "0123456789abcdef01234567");
    strcpy(in.user_id, "aaaaaaaaaaaaaaaaaaaaaaaa");
    strcpy(in.geohash, "u4pruyd");
    bson_t doc = BSON_INITIALIZER;
    mongo_observation_to_bson(&in, &doc);
    /* the document has the documented shape */
    double lat;
    assert_true(mongo_doc_number(&doc, "location.latitude", &lat));
    assert_true(lat == 57.64911);
    assert_int_equal(mongo_doc_date(&doc, "recorded_at"), 1758364245123);
    bson_iter_t it; /* the user id is an ObjectId, joinable with users._id */
    assert_true(bson_iter_init_find(&it, &doc, "user_id") && BSON_ITER_HOLDS_OID(&it));
    mongo_observation_t out;
    assert_null(mongo_observation_from_bson(&doc, &out));
    assert_memory_equal(&in, &out, sizeof in);
    bson_destroy(&doc);
    /* without speed, speed stays absent */
    in.has_speed = false;
    in.speed_kmh = 0;
    bson_init(&doc);
    mongo_observation_to_bson(&in, &doc);
    assert_null(mongo_observation_from_bson(&doc, &out));
    assert_false(out.has_speed);
    bson_destroy(&doc);
}

static void observation_needs_location_and_quality(void **state) {
    (void)state;
    bson_oid_t oid, user;
    bson_oid_init(&oid, NULL);
    bson_oid_init_from_string(&user, "aaaaaaaaaaaaaaaaaaaaaaaa");
    bson_t *doc =
        BCON_NEW("_id", BCON_OID(&oid), "user_id", BCON_OID(&user), "quality", BCON_DOUBLE(0.5));
    mongo_observation_t o;
    assert_non_null(strstr(mongo_observation_from_bson(doc, &o), "'location'"));
    bson_destroy(doc);
    /* integers are numbers too; a user id stored as hex text (before ObjectIds) reads */
    doc = BCON_NEW("_id", BCON_OID(&oid), "user_id", "aaaaaaaaaaaaaaaaaaaaaaaa", "location", "{",
                   "latitude", BCON_INT32(1), "longitude", BCON_INT64(2), "}", "quality",
                   BCON_INT32(1), "recorded_at", BCON_DATE_TIME(5), "created_at", BCON_DATE_TIME(6),
                   "geohash", "s01mtw2");
    assert_null(mongo_observation_from_bson(doc, &o));
    assert_true(o.latitude == 1 && o.longitude == 2 && o.quality == 1);
    assert_string_equal(o.user_id, "aaaaaaaaaaaaaaaaaaaaaaaa");
    bson_destroy(doc);
    /* no date is read as 1970 */
    doc = BCON_NEW("_id", BCON_OID(&oid), "user_id", BCON_OID(&user), "location", "{", "latitude",
                   BCON_INT32(1), "longitude", BCON_INT64(2), "}", "quality", BCON_INT32(1),
                   "created_at", BCON_DATE_TIME(6), "geohash", "s01mtw2");
    assert_non_null(strstr(mongo_observation_from_bson(doc, &o), "'recorded_at'"));
    bson_destroy(doc);
}

static void segment_average_is_computed(void **state) {
    (void)state;
    bson_t *doc = BCON_NEW("_id", "u4pruyd", "count", BCON_INT64(4), "quality_sum",
                           BCON_DOUBLE(2.5), "avg_quality", BCON_DOUBLE(0.1), /* stale */
                           "center", "{", "latitude", BCON_DOUBLE(57.6), "longitude",
                           BCON_DOUBLE(10.4), "}", "updated_at", BCON_DATE_TIME(1000));
    mongo_segment_t s;
    assert_null(mongo_segment_from_bson(doc, &s));
    assert_string_equal(s.cell, "u4pruyd");
    assert_int_equal(s.count, 4);
    assert_true(s.avg_quality == 0.625); /* from the sums, not the stored field */
    assert_true(s.latitude == 57.6 && s.longitude == 10.4);
    assert_int_equal(s.updated_at_ms, 1000);
    bson_destroy(doc);
    doc = BCON_NEW("_id", "u4pruyd", "count", BCON_INT64(0));
    assert_non_null(mongo_segment_from_bson(doc, &s)); /* no observations, no segment */
    bson_destroy(doc);
}

static void cursors(void **state) {
    (void)state;
    assert_true(mongo_obs_cursor_valid("1758364245123-0123456789abcdef01234567"));
    assert_true(mongo_obs_cursor_valid("0-0123456789abcdef01234567"));
    assert_false(mongo_obs_cursor_valid("-5-0123456789abcdef01234567"));
    assert_false(mongo_obs_cursor_valid("1758364245123-0123456789abcdef0123456"));
    assert_false(mongo_obs_cursor_valid("1758364245123-0123456789abcdef0123456z"));
    assert_false(mongo_obs_cursor_valid("1758364245123"));
    assert_false(mongo_obs_cursor_valid("x-0123456789abcdef01234567"));
    assert_false(mongo_obs_cursor_valid(""));
    assert_false(mongo_obs_cursor_valid(NULL));
}

static void filters(void **state) {
    (void)state;
    mongo_filter_t f;
    mongo_filter_init(&f);
    mongo_filter_done(&f);
    char *json = bson_as_relaxed_extended_json(&f.doc, NULL);
    assert_string_equal(json, "{ \"$and\" : [ {  } ] }"); /* an empty $and is not allowed */
    bson_free(json);
    bson_destroy(&f.doc);
    mongo_filter_init(&f);
    mongo_filter_lon_range(&f, "lon", 170, -170);
    mongo_filter_int64(&f, "count", "$gte", 3);
    mongo_filter_done(&f);
    json = bson_as_relaxed_extended_json(&f.doc, NULL);
    assert_string_equal(json,
                        "{ \"$and\" : [ { \"$or\" : [ { \"lon\" : { \"$gte\" : 170.0 } }, "
                        "{ \"lon\" : { \"$lte\" : -170.0 } } ] }, "
                        "{ \"count\" : { \"$gte\" : 3 } } ] }");
    bson_free(json);
    bson_destroy(&f.doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_from_document),
        cmocka_unit_test(user_breaking_the_schema),
        cmocka_unit_test(observation_round_trip),
        cmocka_unit_test(observation_needs_location_and_quality),
        cmocka_unit_test(segment_average_is_computed),
        cmocka_unit_test(cursors),
        cmocka_unit_test(filters),
    };
    return cmocka_run_group_tests_name("mongo documents", tests, NULL, NULL);
}
