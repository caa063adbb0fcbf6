/*
 * Two service instances on one Redis (one server, or with IT_REDIS=cluster a
 * Redis Cluster), each request sent to one or the other: they share every
 * guarantee, because each check-and-change is one script on one slot.
 *
 * - The message rate limit holds across instances: twenty concurrent sends
 *   by one sender, half through each instance, store exactly the limit.
 * - An offline queue consumed through both instances at once gives each
 *   message to one consumer, once.
 * - Notification pops through both instances at once take each once.
 * - /metrics: the gauges every instance would read alike from Redis
 *   (rtstate_clients ...) are exported by one instance only (the holder of
 *   the exporter lease), so a sum over both scrapes is the true count; when
 *   that instance stops, the other takes over once the lease has run out.
 * (The reaper across instances: test_expiry.)
 */
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

#define LEASE_MS 1000
static const char *const env[] = {"METRICS_LEASE_MS=1000", "CLIENT_TIMEOUT_MS=600000", NULL};

/* The second instance; the first is the fixture's. */
static it_service_t other;

static int setup(void **state) {
    if (it_group_setup(state) != 0)
        return -1;
    return it_service_start(&other, it_fx.redis.url, env) ? 0 : -1;
}

static int teardown(void **state) {
    int rc = it_service_stop(&other);
    return it_group_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* Instance i % 2. */
static const it_service_t *instance(int i) { return i % 2 ? &other : &it_fx.svc; }

static void put(const it_service_t *s, const char *path) {
    it_resp_t r = it_json_req(s, "PUT", path, NULL);
    assert_true(r.status == 200 || r.status == 201);
    it_resp_free(&r);
}

/* ---- rate limits ---- */

typedef struct {
    const it_service_t *svc;
    long status;
} sent_t;

static void *send_one(void *arg) {
    sent_t *s = arg;
    it_resp_t r = it_json_req(s->svc, "POST", "/rooms/r1/messages",
                              "{\"sender_id\":\"alice\",\"content\":\"race\"}");
    s->status = r.status;
    it_resp_free(&r);
    return NULL;
}

static void rate_limit_holds_across_instances(void **state) {
    (void)state;
    put(&it_fx.svc, "/rooms/r1/participants/alice");
    put(&other, "/rooms/r1/participants/carol");
    enum { N = 20 };
    pthread_t t[N];
    sent_t s[N];
    for (int i = 0; i < N; i++) {
        s[i].svc = instance(i);
        assert_int_equal(pthread_create(&t[i], NULL, send_one, &s[i]), 0);
    }
    int ok = 0, limited = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += s[i].status == 201;
        limited += s[i].status == 429;
    }
    assert_int_equal(ok, 10); /* RATE_LIMIT_MESSAGES, whichever instance took each */
    assert_int_equal(limited, 10);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), 10);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_RATE_MESSAGES, "alice")), 10);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 10);
}

/* ---- consume-once ---- */

typedef struct {
    const it_service_t *svc;
    const char *path;
    cJSON *got;
} taken_t;

static void *take(void *arg) {
    taken_t *c = arg;
    it_resp_t r = it_http(c->svc, "POST", c->path, NULL, NULL, 0);
    c->got = r.status == 200 ? it_body_json(&r) : NULL;
    it_resp_free(&r);
    return NULL;
}

/* Runs n takers of path at once, alternating instances; returns how many
 * items of field each answer held, with seen[k] counting the ones whose
 * member key equals want[k]. */
static int take_concurrently(int n, const char *path, const char *field, const char *key,
                             char (*want)[64], int nwant, int *seen) {
    pthread_t t[8];
    taken_t c[8];
    for (int i = 0; i < n; i++) {
        c[i] = (taken_t){.svc = instance(i), .path = path};
        assert_int_equal(pthread_create(&t[i], NULL, take, &c[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_non_null(c[i].got);
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(c[i].got, field)) {
            total++;
            for (int k = 0; k < nwant; k++)
                seen[k] += strcmp(it_json_str(m, key), want[k]) == 0;
        }
        cJSON_Delete(c[i].got);
    }
    return total;
}

static void offline_messages_are_consumed_once_across_instances(void **state) {
    (void)state;
    enum { ROUNDS = 6, PER_ROUND = 5 };
    put(&it_fx.svc, "/rooms/r1/participants/carol"); /* carol never comes online */
    for (int round = 0; round < ROUNDS; round++) {
        char sender[16], path[64], sent[PER_ROUND][64];
        snprintf(sender, sizeof sender, "s%d", round);
        snprintf(path, sizeof path, "/rooms/r1/participants/%s", sender);
        put(instance(round), path);
        for (int i = 0; i < PER_ROUND; i++) {
            char body[96];
            snprintf(body, sizeof body, "{\"sender_id\":\"%s\",\"content\":\"m%d\"}", sender, i);
            cJSON *j = chk_json(instance(i), "POST", "/rooms/r1/messages", body, 201);
            snprintf(sent[i], sizeof sent[i], "%s", it_json_str(j, "id"));
            cJSON_Delete(j);
        }
        int seen[PER_ROUND] = {0};
        int total = take_concurrently(2, "/users/carol/offline-messages/consume", "items", "id",
                                      sent, PER_ROUND, seen);
        assert_int_equal(total, PER_ROUND);
        for (int k = 0; k < PER_ROUND; k++)
            assert_int_equal(seen[k], 1);
    }
}

static void notifications_are_popped_once_across_instances(void **state) {
    (void)state;
    enum { N = 24 };
    char titles[N][64];
    for (int i = 0; i < N; i++) { /* users of many buckets, both priorities */
        char path[64], body[128];
        snprintf(titles[i], sizeof titles[i], "t%02d", i);
        snprintf(path, sizeof path, "/users/user%d/notifications", i % 9);
        snprintf(body, sizeof body, "{\"title\":\"%s\",\"body\":\"b\",\"priority\":\"%s\"}",
                 titles[i], i % 3 ? "normal" : "high");
        cJSON_Delete(chk_json(instance(i), "POST", path, body, 201));
    }
    int seen[N] = {0};
    int total =
        take_concurrently(4, "/notifications/queue/pop?limit=8", "items", "title", titles, N, seen);
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
}

/* ---- /metrics ---- */

/* A sample's value in a scrape of s (-1: absent). */
static double sample(const char *text, const char *name) {
    char want[128];
    snprintf(want, sizeof want, "\n%s ", name);
    const char *p = strstr(text, want);
    return p ? atof(p + strlen(want)) : -1;
}

typedef struct {
    double exporter, clients, online;
} scrape_t;

static scrape_t scrape(const it_service_t *s) {
    it_resp_t r = it_http(s, "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    scrape_t out = {sample(r.body, "rtstate_metrics_exporter"), sample(r.body, "rtstate_clients"),
                    sample(r.body, "rtstate_online_users")};
    it_resp_free(&r);
    /* present only on the exporter */
    assert_true(out.exporter == 1 || (out.clients < 0 && out.online < 0));
    return out;
}

static void gauges_from_redis_are_exported_once(void **state) {
    (void)state;
    it_service_t x, y;
    assert_true(it_service_start(&x, it_fx.redis.url, env));
    assert_true(it_service_start(&y, it_fx.redis.url, env));
    for (int i = 0; i < 7; i++) {
        char body[32];
        snprintf(body, sizeof body, "{\"id\":\"cam%d\"}", i);
        cJSON_Delete(chk_json(i % 2 ? &x : &y, "POST", "/clients", body, 201));
    }
    put(&x, "/online-users/alice");
    put(&y, "/online-users/bob");
    put(&x, "/online-users/carol");
    /* what Prometheus would add up: every scrape of both, a few times over */
    it_service_t *holder = NULL;
    for (int round = 0; round < 4; round++) {
        scrape_t a = scrape(&x), b = scrape(&y);
        assert_int_equal((int)(a.exporter + b.exporter), 1);
        it_service_t *now = a.exporter == 1 ? &x : &y;
        assert_true(!holder || now == holder); /* the holder keeps it */
        holder = now;
        scrape_t h = a.exporter == 1 ? a : b;
        assert_int_equal((int)h.clients, 7);
        assert_int_equal((int)h.online, 3);
        it_sleep_ms(100);
    }
    /* the exporter stops: the other takes over when the lease has run out */
    it_service_t *rest = holder == &x ? &y : &x;
    assert_int_equal(it_service_stop(holder), 0);
    int64_t t0 = core_now_ms();
    scrape_t s = scrape(rest);
    while (s.exporter != 1) {
        assert_true(core_now_ms() - t0 < (LEASE_MS + 2000) * it_time_scale());
        it_sleep_ms(100);
        s = scrape(rest);
    }
    printf("  the other instance exports %lld ms after the exporter stopped\n",
           (long long)(core_now_ms() - t0));
    assert_int_equal((int)s.clients, 7);
    assert_int_equal((int)s.online, 3);
    assert_int_equal(it_service_stop(rest), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(rate_limit_holds_across_instances, it_flush),
        cmocka_unit_test_setup(offline_messages_are_consumed_once_across_instances, it_flush),
        cmocka_unit_test_setup(notifications_are_popped_once_across_instances, it_flush),
        cmocka_unit_test_setup(gauges_from_redis_are_exported_once, it_flush),
    };
    return cmocka_run_group_tests_name("integration: two instances on one Redis", tests, setup,
                                       teardown);
}
