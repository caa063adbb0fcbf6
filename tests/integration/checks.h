/*
 * Assertions on what the service stored, shared by the chat-state tests
 * (sessions, rooms, typing, messages, notifications, admin): a key's type and
 * TTL, an integer command's answer, every key in turn, the room indexes, an
 * HTTP status, and the one shape of every list's page (chk_page, for every test that lists).
 * Header-only, on top of harness.h, against the fixture's Redis and service (it_fx).
 */
#ifndef IT_CHECKS_H
#define IT_CHECKS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* The integer answer of a Redis command on the fixture's Redis. */
static inline long long chk_int(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = it_redis_vcmd(&it_fx.redis, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("'%s' answered type %d, not an integer", fmt, r->type);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Calls each(key, arg) for every key on the fixture's Redis whose name
 * matches the glob pattern ("*": every key), SCAN page by SCAN page (on a
 * cluster, every master's). As SCAN promises, a key there all along is seen
 * at least once; one written or dropped meanwhile may or may not be. key
 * lives only during the call. Returns how many calls were made. */
static inline long long chk_each_key(const char *pattern, void (*each)(const char *key, void *arg),
                                     void *arg) {
    char cursor[48] = "0"; /* a cluster's is "<cursor>.<master>" */
    long long n = 0;
    do {
        redisReply *page =
            it_redis_cmd(&it_fx.redis, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        assert_non_null(page);
        snprintf(cursor, sizeof cursor, "%s", page->element[0]->str);
        for (size_t i = 0; i < page->element[1]->elements; i++, n++)
            each(page->element[1]->element[i]->str, arg);
        freeReplyObject(page);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* The keys the state takes on the fixture's Redis (DBSIZE without the
 * event streams: it_state_keys). */
static inline long long chk_keys(void) { return it_state_keys(&it_fx.redis); }

/* Asserts key exists with the given TYPE ("string", "set", "zset", "hash",
 * "list") and a TTL from ttl_min to ttl_max seconds; ttl_max 0 means no TTL
 * at all. */
static inline void chk_key(const char *key, const char *type, long long ttl_min,
                           long long ttl_max) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "TYPE %s", key);
    assert_non_null(r);
    if (strcmp(r->str, type) != 0)
        fail_msg("key '%s' is a %s, not a %s", key, r->str, type);
    freeReplyObject(r);
    long long ttl = chk_int("TTL %s", key);
    if (ttl_max == 0 && ttl != -1)
        fail_msg("key '%s' has a TTL of %lld s; it should have none", key, ttl);
    if (ttl_max > 0 && (ttl < ttl_min || ttl > ttl_max))
        fail_msg("key '%s' has a TTL of %lld s, not %lld..%lld", key, ttl, ttl_min, ttl_max);
}

/* 1 when member is in the sorted set key, else 0. */
static inline long long chk_zmember(const char *key, const char *member) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "ZSCORE %s %s", key, member);
    assert_non_null(r);
    long long in = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return in;
}

static inline void chk_no_key(const char *key) {
    if (chk_int("EXISTS %s", key) != 0)
        fail_msg("key '%s' should not exist", key);
}

/* Asserts the only room in both room indexes (rooms:active and
 * rooms:expiry, every bucket's) is room. */
static inline void chk_only_room(const char *room) {
    const store_key_t indexes[] = {KEY_ROOMS_ACTIVE, KEY_ROOMS_EXPIRY};
    for (int i = 0; i < 2; i++) {
        size_t n = 0;
        for (int b = 0; b < STORE_BUCKETS; b++) {
            redisReply *r = it_redis_cmd(&it_fx.redis, "ZRANGE %s 0 -1", it_index(indexes[i], b));
            assert_non_null(r);
            n += r->elements;
            if (r->elements > 0 && strcmp(r->element[0]->str, room) != 0)
                fail_msg("%s holds '%s', not just '%s'", it_index(indexes[i], b),
                         r->element[0]->str, room);
            freeReplyObject(r);
        }
        if (n != 1)
            fail_msg("the room indexes should hold just '%s'; they hold %zu rooms", room, n);
    }
}

/* The status of one request to the fixture's service (json may be NULL). */
static inline long chk_status(const char *method, const char *path, const char *json) {
    it_resp_t r = it_json_req(&it_fx.svc, method, path, json);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

/* One request's body as JSON (caller frees); asserts the status first. */
static inline cJSON *chk_json(const it_service_t *s, const char *method, const char *path,
                              const char *json, long want) {
    it_resp_t r = it_json_req(s, method, path, json);
    if (r.status != want)
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, want, r.status, r.body);
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    assert_non_null(j);
    return j;
}

/* Asserts a request answers the problem status with detail_part in it. */
static inline void chk_problem(const char *method, const char *path, const char *json, long status,
                               const char *detail_part) {
    it_resp_t r = it_json_req(&it_fx.svc, method, path, json);
    if (r.status != status)
        fprintf(stderr, "%s %s %s\n", method, path, json ? json : "");
    it_assert_problem(&r, status, detail_part);
    it_resp_free(&r);
}

/* chk_page's total for a list that does not count itself (null), and for
 * one whose total the caller does not check (any integer). */
#define CHK_TOTAL_NULL (-1)
#define CHK_TOTAL_ANY (-2)

/* Asserts that j is a page in the shape every list has: exactly "items"
 * (an array), "count" (its size), "total" (total, or as CHK_TOTAL_*; never
 * less than count) and "next_cursor" (a non-empty string or null). Returns
 * the items (owned by j). */
static inline cJSON *chk_page(const cJSON *j, long long total) {
    cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(j, "count");
    const cJSON *tot = cJSON_GetObjectItemCaseSensitive(j, "total");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
    assert_true(cJSON_IsArray(items));
    assert_int_equal(cJSON_GetArraySize(j), 4);
    assert_true(cJSON_IsNumber(count));
    assert_int_equal(count->valueint, cJSON_GetArraySize(items));
    if (total == CHK_TOTAL_NULL) {
        assert_true(cJSON_IsNull(tot));
    } else {
        assert_true(cJSON_IsNumber(tot));
        assert_true(tot->valuedouble >= count->valuedouble);
        if (total != CHK_TOTAL_ANY)
            assert_int_equal((long long)tot->valuedouble, total);
    }
    assert_true(cJSON_IsNull(next) || (cJSON_IsString(next) && next->valuestring[0]));
    return items;
}

/* The next_cursor of page j, or NULL on the last page. */
static inline const char *chk_next(const cJSON *j) {
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
    return cJSON_IsString(next) ? next->valuestring : NULL;
}

#endif
