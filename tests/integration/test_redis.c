/* The service and its Redis: down at start-up, killed and restarted, stalled,
 * password and database from the URL, unix sockets, and KEY_PREFIX. Each test
 * runs its own Redis and service. REDIS_TIMEOUT_MS is 300 throughout. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char *const env[] = {"REDIS_TIMEOUT_MS=300", NULL};

static long get_status(const it_service_t *s, const char *path) {
    it_resp_t r = it_http(s, "GET", path, NULL, NULL, 0);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

/* Polls path until it answers want; returns the milliseconds it took, or -1. */
static int wait_for(const it_service_t *s, const char *path, long want, int max_ms) {
    for (int waited = 0; waited <= max_ms; waited += 20) {
        if (get_status(s, path) == want)
            return waited;
        it_sleep_ms(20);
    }
    return -1;
}

static void assert_down(const it_service_t *s) {
    assert_int_equal(get_status(s, "/livez"), 200);
    it_resp_t r = it_http(s, "GET", "/readyz?verbose", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "[-]redis failed"));
    it_resp_free(&r);
    r = it_http(s, "GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "fail");
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "services"), "redis"), "disconnected");
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(s, "GET", "/redis/health", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "status"), "down");
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_json_req(s, "POST", "/clients", "{\"id\":\"x\"}");
    it_assert_problem(&r, 503, "Redis");
    char ra[16];
    assert_true(it_header(&r, "Retry-After", ra, sizeof ra));
    assert_true(r.seconds < 1.0); /* fails fast, never hangs */
    it_resp_free(&r);
    r = it_http(s, "GET", "/redis/stats", NULL, NULL, 0);
    it_assert_problem(&r, 503, NULL);
    it_resp_free(&r);
}

static void starts_without_redis_and_connects_later(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    it_redis_kill(&redis); /* the port is known; nothing listens on it */
    assert_true(it_service_start(&svc, redis.url, env));
    assert_down(&svc);
    assert_true(it_redis_restart(&redis));
    int ms = wait_for(&svc, "/readyz", 200, 1000);
    assert_true(ms >= 0 && ms <= 1000);
    /* every worker thread reconnects within its 100 ms back-off */
    it_sleep_ms(150);
    for (int i = 0; i < 20; i++) {
        it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"late\"}");
        assert_int_equal(r.status, i == 0 ? 201 : 200);
        it_resp_free(&r);
    }
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void redis_restart_heals_without_service_restart(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"a\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    it_redis_kill(&redis);
    assert_down(&svc);
    assert_true(it_redis_restart(&redis)); /* empty: nothing was saved, no scripts cached */
    int ms = wait_for(&svc, "/readyz", 200, 1000);
    assert_true(ms >= 0);
    it_sleep_ms(150);
    /* every worker's script calls work again (EVALSHA falls back to EVAL) */
    for (int i = 0; i < 20; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"id\":\"after-%d\"}", i);
        r = it_json_req(&svc, "POST", "/clients", body);
        assert_int_equal(r.status, 201);
        it_resp_free(&r);
    }
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

/* Redis closing idle connections (a timeout, CLIENT KILL) is no failure:
 * the next requests reconnect and succeed, none gets a 503 meanwhile. */
static void idle_connections_closed_by_redis_are_remade(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"a\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10; i++) /* every loop's connection in use */
            assert_int_equal(get_status(&svc, "/clients/a"), 200);
        redisReply *k = it_redis_cmd(&redis, "CLIENT KILL TYPE normal SKIPME yes");
        assert_non_null(k);
        assert_true(k->type == REDIS_REPLY_INTEGER && k->integer >= 1);
        freeReplyObject(k);
        it_sleep_ms(50); /* the service sees the connections close */
        for (int i = 0; i < 10; i++)
            assert_int_equal(get_status(&svc, "/clients/a"), 200);
    }
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void *sleep_redis(void *arg) {
    redisReply *r = it_redis_cmd(arg, "DEBUG SLEEP 3");
    if (r)
        freeReplyObject(r);
    return NULL;
}

static void stalled_redis_costs_at_most_the_timeout(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    pthread_t t;
    pthread_create(&t, NULL, sleep_redis, &redis);
    it_sleep_ms(100);
    for (int i = 0; i < 3; i++) { /* each round costs about two timeouts */
        it_resp_t r = it_http(&svc, "GET", "/clients/x", NULL, NULL, 0);
        it_assert_problem(&r, 503, NULL);
        assert_true(r.seconds < 0.8); /* 300 ms timeout, plus slack */
        it_resp_free(&r);
        r = it_http(&svc, "GET", "/livez", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_true(r.seconds < 0.2);
        it_resp_free(&r);
        r = it_http(&svc, "GET", "/health", NULL, NULL, 0);
        assert_int_equal(r.status, 503);
        assert_true(r.seconds < 0.8);
        it_resp_free(&r);
    }
    pthread_join(t, NULL);
    assert_true(wait_for(&svc, "/readyz", 200, 3000) >= 0);
    assert_int_equal(get_status(&svc, "/clients/x"), 404);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static bool file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void password_and_database_from_url(void **state) {
    (void)state;
    static const char *const args[] = {"--requirepass", "s3cr3t-Pw", NULL};
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start_with(&redis, args));
    int db = it_redis_select(&redis, 2); /* a cluster has database 0 only */
    char url[128];
    snprintf(url, sizeof url, "redis://:s3cr3t-Pw@127.0.0.1:%d/%d", redis.port, db);
    assert_true(it_service_start(&svc, url, env));
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"authed\"}");
    assert_int_equal(r.status, 201);
    assert_null(strstr(r.body, "s3cr3t"));
    it_resp_free(&r);
    redisReply *rep = it_redis_cmd(&redis, "EXISTS %s", it_key(KEY_CLIENT, "authed"));
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    r = it_http(&svc, "GET", "/redis/stats", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    char want[96];
    snprintf(want, sizeof want, "redis://***@127.0.0.1:%d/%d", redis.port, db);
    assert_string_equal(it_json_str(cJSON_GetObjectItem(j, "redis"), "url"), want);
    assert_null(strstr(r.body, "s3cr3t"));
    cJSON_Delete(j);
    it_resp_free(&r);
    char log[sizeof svc.log];
    memcpy(log, svc.log, sizeof log);
    assert_int_equal(it_service_stop(&svc), 0);
    assert_true(file_contains(log, "***@"));
    assert_false(file_contains(log, "s3cr3t"));
    unlink(log);
    /* a wrong password: not ready, and says so */
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d/%d", redis.port, db);
    assert_true(it_service_start(&svc, url, env));
    assert_int_equal(get_status(&svc, "/readyz"), 503);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void unix_socket_url(void **state) {
    (void)state;
    it_skip_in_cluster(
        "a cluster's nodes name each other by host:port (CLUSTER SLOTS), and this "
        "test's database 1 does not exist in a cluster");
    it_redis_t redis;
    it_service_t svc;
    char sock[300];
    snprintf(sock, sizeof sock, "/tmp/rtstate-it-%d.sock", getpid());
    const char *const args[] = {"--unixsocket", sock, NULL};
    assert_true(it_redis_start_with(&redis, args));
    char url[400];
    snprintf(url, sizeof url, "unix://%s?db=1", sock);
    assert_true(it_service_start(&svc, url, env));
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"via-socket\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    redisContext *c = it_redis_connect(&redis);
    redisReply *rep = redisCommand(c, "SELECT 1");
    freeReplyObject(rep);
    rep = redisCommand(c, "ZSCORE %s via-socket", it_key(KEY_CLIENTS, "via-socket"));
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    freeReplyObject(rep);
    redisFree(c);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
    unlink(sock);
}

static void key_prefix_namespaces_every_key(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    const char *const prefixed[] = {"KEY_PREFIX=tenant1:", NULL};
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, prefixed));
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"p\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    r = it_http(&svc, "PUT", "/clients/p/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    r = it_json_req(&svc, "PUT", "/online-users/u", NULL);
    it_resp_free(&r);
    redisReply *keys = it_redis_cmd(&redis, "KEYS *");
    assert_true(keys->elements >= 8);
    for (size_t i = 0; i < keys->elements; i++) {
        if (strncmp(keys->element[i]->str, "tenant1:", 8) != 0)
            fail_msg("key without the prefix: %s", keys->element[i]->str);
    }
    freeReplyObject(keys);
    it_key_prefix("tenant1:");
    redisReply *e = it_redis_cmd(&redis, "EXISTS %s %s %s", it_key(KEY_CLIENT, "p"),
                                 it_key(KEY_IMAGE, "p"), it_key(KEY_CLIENTS, "p"));
    it_key_prefix("");
    assert_int_equal(e->integer, 3);
    freeReplyObject(e);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_without_redis_and_connects_later),
        cmocka_unit_test(redis_restart_heals_without_service_restart),
        cmocka_unit_test(idle_connections_closed_by_redis_are_remade),
        cmocka_unit_test(stalled_redis_costs_at_most_the_timeout),
        cmocka_unit_test(password_and_database_from_url),
        cmocka_unit_test(unix_socket_url),
        cmocka_unit_test(key_prefix_namespaces_every_key),
    };
    return cmocka_run_group_tests_name("integration: redis", tests, it_global_setup,
                                       it_global_teardown);
}
