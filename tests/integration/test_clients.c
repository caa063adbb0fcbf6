/* /clients over HTTP against a real redis-server: registration, reconnect,
 * heartbeat, delete, paging, and what lands in Redis. */
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

static long long zscore(const char *key, const char *member) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "ZSCORE %s %s", key, member);
    long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

static long long redis_int(const char *fmt, const char *arg) {
    redisReply *r = it_redis_cmd(&it_fx.redis, fmt, arg);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

static char *hget(const char *key, const char *field) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "HGET %s %s", key, field);
    char *v = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    if (r)
        freeReplyObject(r);
    return v;
}

static void create(const char *id, long want) {
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", body);
    assert_int_equal(r.status, want);
    it_resp_free(&r);
}

static void generated_id(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "POST", "/clients", NULL, NULL, 0);
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    const char *id = it_json_str(j, "id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 16);
    assert_memory_equal(id, "Client-", 7);
    for (int i = 7; i < 16; i++)
        assert_true(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", id[i]));
    char loc[128], want[128];
    snprintf(want, sizeof want, "/clients/%s", id);
    assert_true(it_header(&r, "Location", loc, sizeof loc));
    assert_string_equal(loc, want);
    assert_string_equal(it_json_str(j, "status"), "connected");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "has_image")));
    assert_int_equal((int)it_json_num(j, "frame_number"), 0);
    /* in Redis: the client's index entry and hash */
    assert_int_equal(zscore(it_key(KEY_CLIENTS, id), id), 0);
    char *connected = hget(it_key(KEY_CLIENT, id), "connected_at");
    assert_non_null(connected);
    assert_string_equal(connected, it_json_str(j, "connected_at"));
    free(connected);
    cJSON_Delete(j);
    it_resp_free(&r);
}

static void given_id_then_reconnect(void **state) {
    (void)state;
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam-1\"}");
    assert_int_equal(r.status, 201);
    cJSON *first = it_body_json(&r);
    it_resp_free(&r);
    long long seen1 = zscore(it_key(KEY_CLIENTS_LAST_SEEN, "cam-1"), "cam-1");
    assert_true(seen1 > 0);
    it_sleep_ms(5);
    r = it_json_req(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam-1\"}");
    assert_int_equal(r.status, 200); /* a reconnect, not a new client */
    cJSON *second = it_body_json(&r);
    assert_string_equal(it_json_str(first, "connected_at"), it_json_str(second, "connected_at"));
    assert_true(strcmp(it_json_str(second, "last_seen"), it_json_str(first, "last_seen")) > 0);
    assert_true(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "cam-1"), "cam-1") > seen1);
    assert_int_equal(redis_int("ZCARD %s", it_key(KEY_CLIENTS, "cam-1")), 1);
    cJSON_Delete(first);
    cJSON_Delete(second);
    it_resp_free(&r);
}

static void reconnect_adopts_a_client_written_by_another_program(void **state) {
    (void)state;
    /* only the index of clients and the hash, no last activity */
    redisReply *r = it_redis_cmd(&it_fx.redis, "ZADD %s 0 legacy", it_key(KEY_CLIENTS, "legacy"));
    freeReplyObject(r);
    r = it_redis_cmd(&it_fx.redis, "HSET %s connected_at 2025-01-01T00:00:00.000Z status connected",
                     it_key(KEY_CLIENT, "legacy"));
    freeReplyObject(r);
    create("legacy", 200);
    it_resp_t resp = it_http(&it_fx.svc, "GET", "/clients", NULL, NULL, 0);
    cJSON *j = it_body_json(&resp);
    cJSON *c = cJSON_GetArrayItem(chk_page(j, CHK_TOTAL_ANY), 0);
    assert_non_null(c);
    assert_string_equal(it_json_str(c, "id"), "legacy");
    assert_string_equal(it_json_str(c, "connected_at"), "2025-01-01T00:00:00.000Z");
    cJSON_Delete(j);
    it_resp_free(&resp);
    /* the reaper sees it now */
    assert_true(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "legacy"), "legacy") > 0);
}

static void get_one(void **state) {
    (void)state;
    create("cam.2_x-Y", 201);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/cam.2_x-Y", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "id"), "cam.2_x-Y");
    assert_non_null(it_json_str(j, "connected_at"));
    assert_non_null(it_json_str(j, "last_seen"));
    assert_non_null(cJSON_GetObjectItem(j, "has_image"));
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/clients/nobody", NULL, NULL, 0);
    it_assert_problem(&r, 404, "nobody");
    it_resp_free(&r);
}

static void heartbeat(void **state) {
    (void)state;
    create("hb", 201);
    long long before = zscore(it_key(KEY_CLIENTS_LAST_SEEN, "hb"), "hb");
    it_sleep_ms(5);
    it_resp_t r = it_http(&it_fx.svc, "POST", "/clients/hb/heartbeat", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    it_resp_free(&r);
    assert_true(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "hb"), "hb") > before);
    /* the answer's last_seen is that activity */
    r = it_http(&it_fx.svc, "GET", "/clients/hb", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    char when[32];
    core_iso8601(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "hb"), "hb"), when);
    assert_string_equal(it_json_str(j, "last_seen"), when);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "POST", "/clients/ghost/heartbeat", NULL, NULL, 0);
    it_assert_problem(&r, 404, "ghost");
    it_resp_free(&r);
    /* a heartbeat for an unknown client creates nothing */
    assert_int_equal(redis_int("EXISTS %s", it_key(KEY_CLIENT, "ghost")), 0);
    assert_int_equal(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "ghost"), "ghost"), -1);
}

static void delete_removes_everything(void **state) {
    (void)state;
    create("gone", 201);
    const char *h[] = {"Content-Type: image/png", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/clients/gone/image", h, "\x89PNG\r\n\x1a\nxx", 10);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(redis_int("EXISTS %s", it_key(KEY_IMAGE, "gone")), 1);
    r = it_http(&it_fx.svc, "DELETE", "/clients/gone", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    it_resp_free(&r);
    assert_int_equal(redis_int("EXISTS %s", it_key(KEY_CLIENT, "gone")), 0);
    assert_int_equal(redis_int("EXISTS %s", it_key(KEY_IMAGE, "gone")), 0);
    assert_int_equal(zscore(it_key(KEY_CLIENTS, "gone"), "gone"), -1);
    assert_int_equal(zscore(it_key(KEY_CLIENTS_LAST_SEEN, "gone"), "gone"), -1);
    r = it_http(&it_fx.svc, "DELETE", "/clients/gone", NULL, NULL, 0);
    it_assert_problem(&r, 404, "gone");
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/clients/gone", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
}

static void paging_covers_every_client_once(void **state) {
    (void)state;
    enum { N = 250 };
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "c%03d", i);
        create(id, 201);
    }
    char seen[N] = {0};
    char path[256] = "/clients?limit=100";
    int pages = 0, total = 0;
    for (;;) {
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r);
        assert_int_equal((int)it_json_num(j, "total"), N);
        cJSON *arr = chk_page(j, CHK_TOTAL_ANY), *c;
        cJSON_ArrayForEach(c, arr) {
            int i = atoi(it_json_str(c, "id") + 1);
            assert_int_equal(seen[i], 0);
            seen[i] = 1;
            total++;
        }
        pages++;
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        if (cJSON_IsNull(next)) {
            cJSON_Delete(j);
            it_resp_free(&r);
            break;
        }
        assert_int_equal(cJSON_GetArraySize(arr), 100);
        snprintf(path, sizeof path, "/clients?limit=100&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        it_resp_free(&r);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(total, N);
}

/* Reads every page of /clients?limit=limit; calls between(page) after
 * each page but the last. seen[i] counts how often the id <letter><i as
 * three digits> was listed. Returns the number of pages. */
static int read_pages(int limit, char letter, int *seen, int nseen, void (*between)(int page)) {
    char path[256];
    snprintf(path, sizeof path, "/clients?limit=%d", limit);
    char last[160] = "";
    for (int page = 0;; page++) {
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r);
        cJSON *c;
        cJSON_ArrayForEach(c, chk_page(j, CHK_TOTAL_ANY)) {
            const char *id = it_json_str(c, "id");
            assert_true(strcmp(id, last) > 0); /* id order, across pages too */
            snprintf(last, sizeof last, "%s", id);
            int i = atoi(id + 1);
            if (id[0] == letter && strlen(id) == 4 && i >= 0 && i < nseen)
                seen[i]++;
        }
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        if (cJSON_IsNull(next)) {
            cJSON_Delete(j);
            it_resp_free(&r);
            return page + 1;
        }
        assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_ANY)), limit);
        assert_string_equal(next->valuestring, last);
        snprintf(path, sizeof path, "/clients?limit=%d&cursor=%s", limit, next->valuestring);
        cJSON_Delete(j);
        it_resp_free(&r);
        if (between)
            between(page);
    }
}

/* Ids of one bucket only ("b" and a number): the page must fetch that
 * bucket again and again, the others having nothing more. */
static void one_bucket_takes_several_rounds(void **state) {
    (void)state;
    enum { N = 60 };
    int made = 0, b = store_key_bucket("b000");
    for (int i = 0; made < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "b%03d", i);
        if (store_key_bucket(id) == b) {
            create(id, 201);
            made++;
        }
    }
    create("a-first", 201); /* and one in (most likely) another bucket, before them all */
    int seen[1000] = {0};
    assert_int_equal(read_pages(25, 'b', seen, 1000, NULL), 3);
    int listed = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(seen[i] <= 1);
        listed += seen[i];
    }
    assert_int_equal(listed, N);
}

/* Clients come and go between pages: every client there from the first
 * page to the last is listed exactly once, and none twice. */
static int churn_next;
static void churn(int page) {
    char id[32], path[64];
    /* gone: one already listed, one not listed yet (and never listed after) */
    snprintf(path, sizeof path, "/clients/c%03d", page * 7);
    it_resp_t r = it_http(&it_fx.svc, "DELETE", path, NULL, NULL, 0);
    it_resp_free(&r);
    snprintf(path, sizeof path, "/clients/c%03d", 299 - page);
    r = it_http(&it_fx.svc, "DELETE", path, NULL, NULL, 0);
    it_resp_free(&r);
    /* new: before the cursor and after it */
    snprintf(id, sizeof id, "c%03d-new%d", churn_next % 10 * 25, churn_next);
    churn_next++;
    create(id, 201);
    snprintf(id, sizeof id, "d%03d", churn_next++);
    create(id, 201);
}

static void paging_while_clients_come_and_go(void **state) {
    (void)state;
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "c%03d", i);
        create(id, 201);
    }
    int seen[N] = {0};
    churn_next = 0;
    int pages = read_pages(20, 'c', seen, N, churn);
    assert_true(pages >= 14);
    for (int i = 0; i < N; i++) {
        bool removed = i % 7 == 0 || i > 299 - pages;
        if (!removed && seen[i] != 1)
            fail_msg("c%03d was there throughout and listed %d times", i, seen[i]);
        assert_true(seen[i] <= 1);
    }
}

static void list_defaults_and_bad_params(void **state) {
    (void)state;
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "total"), 0);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_ANY)), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    cJSON_Delete(j);
    it_resp_free(&r);
    const char *bad[] = {"/clients?limit=0", "/clients?limit=1001", "/clients?limit=abc",
                         "/clients?limit=",  "/clients?cursor=a:b", "/clients?cursor=%2A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = it_http(&it_fx.svc, "GET", bad[i], NULL, NULL, 0);
        it_assert_problem(&r, 400, strstr(bad[i], "limit") ? "limit" : "cursor");
        it_resp_free(&r);
    }
}

static void bad_bodies_write_nothing(void **state) {
    (void)state;
    struct {
        const char *ct, *body;
        long status;
        const char *detail;
    } cases[] = {
        {"Content-Type: application/json", "{\"id\":", 400, "JSON"},
        {"Content-Type: application/json", "[1,2]", 400, "object"},
        {"Content-Type: application/json", "{\"id\":42}", 400, "id"},
        {"Content-Type: application/json", "{\"id\":\"a:b\"}", 400, "id"},
        {"Content-Type: application/json", "{\"id\":\"*\"}", 400, "id"},
        {"Content-Type: application/json", "{\"id\":\"..\"}", 400, "id"},
        {"Content-Type: application/json", "{\"id\":\"a\\u0000b\"}", 400, "NUL"},
        {"Content-Type: application/json", "{\"id\":\"ok\"} trailing", 400, "JSON"},
        {"Content-Type: text/plain", "{\"id\":\"ok\"}", 415, "application/json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *h[] = {cases[i].ct, NULL};
        it_resp_t r =
            it_http(&it_fx.svc, "POST", "/clients", h, cases[i].body, strlen(cases[i].body));
        it_assert_problem(&r, cases[i].status, cases[i].detail);
        it_resp_free(&r);
    }
    redisReply *keys = it_redis_cmd(&it_fx.redis, "DBSIZE");
    assert_int_equal(keys->integer, 0);
    freeReplyObject(keys);
}

static void long_id_is_rejected(void **state) {
    (void)state;
    char id[10001], path[10100];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(path, sizeof path, "/clients/%s", id);
    it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    it_assert_problem(&r, 400, "client id");
    it_resp_free(&r);
    id[128] = '\0';
    snprintf(path, sizeof path, "/clients/%s", id);
    r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 404); /* 128 characters is still a valid id */
    it_resp_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(generated_id, it_flush),
        cmocka_unit_test_setup(given_id_then_reconnect, it_flush),
        cmocka_unit_test_setup(reconnect_adopts_a_client_written_by_another_program, it_flush),
        cmocka_unit_test_setup(get_one, it_flush),
        cmocka_unit_test_setup(heartbeat, it_flush),
        cmocka_unit_test_setup(delete_removes_everything, it_flush),
        cmocka_unit_test_setup(paging_covers_every_client_once, it_flush),
        cmocka_unit_test_setup(one_bucket_takes_several_rounds, it_flush),
        cmocka_unit_test_setup(paging_while_clients_come_and_go, it_flush),
        cmocka_unit_test_setup(list_defaults_and_bad_params, it_flush),
        cmocka_unit_test_setup(bad_bodies_write_nothing, it_flush),
        cmocka_unit_test_setup(long_id_is_rejected, it_flush),
    };
    return cmocka_run_group_tests_name("integration: clients", tests, it_group_setup,
                                       it_group_teardown);
}
