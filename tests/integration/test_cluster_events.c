/* GET /events against a real three-master Redis Cluster: the pump follows
 * each bucket's stream on the master that serves it, so events of every
 * bucket reach subscribers of both instances; Last-Event-ID resumes across
 * the masters; an expiry is announced once by two reapers; and a master
 * killed and started again is followed, its buckets' events flowing again
 * without a restart of the service. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/crc16.h"
#include "harness.h"

static it_cluster_t cl;
static it_service_t a, b;
static const char *const env[] = {"PRESENCE_TTL_S=1", "CLEANUP_INTERVAL_MS=200", NULL};

static int setup(void **state) {
    (void)state;
    if (!it_cluster_start(&cl, 3, 0))
        return -1;
    return it_service_start(&a, cl.url, env) && it_service_start(&b, cl.url, env) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    int rc = it_service_stop(&a) | it_service_stop(&b);
    it_cluster_stop(&cl);
    return rc == 0 ? 0 : -1;
}

static void call(const it_service_t *s, const char *method, const char *path, const char *json,
                 long want) {
    it_resp_t r = it_json_req(s, method, path, json);
    if (r.status != want)
        fail_msg("%s %s answered %ld, not %ld: %s", method, path, r.status, want, r.body);
    it_resp_free(&r);
}

/* An id of bucket b ("c<b>-<n>"). */
static void id_in(int bucket, char *out, size_t cap) {
    for (int n = 0;; n++) {
        snprintf(out, cap, "c%d-%d", bucket, n);
        if (store_key_bucket(out) == bucket)
            return;
    }
}

/* Waits for one client.registered per id in ids[n] on s (any order across
 * buckets); fails on a missing or repeated one. */
static void expect_clients(it_sse_t *s, char ids[][32], int n) {
    int seen[STORE_BUCKETS] = {0}, got = 0;
    it_sse_event_t ev;
    while (got < n && it_sse_next(s, &ev, 5000)) {
        for (int i = 0; i < n; i++) {
            char frag[64];
            snprintf(frag, sizeof frag, "\"client_id\":\"%s\"", ids[i]);
            if (strcmp(ev.type, "client.registered") == 0 && strstr(ev.data, frag)) {
                if (seen[i]++)
                    fail_msg("%s came twice", ids[i]);
                got++;
            }
        }
        it_sse_event_free(&ev);
    }
    if (got != n)
        fail_msg("%d of %d clients were announced", got, n);
}

static void every_bucket_reaches_both_instances(void **state) {
    (void)state;
    it_sse_t sa, sb;
    assert_true(it_sse_open(&sa, a.port, "/events?topics=clients", NULL, 0));
    assert_true(it_sse_open(&sb, b.port, "/events?topics=clients", NULL, 0));
    assert_int_equal(sa.status, 200);
    assert_int_equal(sb.status, 200);
    char ids[STORE_BUCKETS][32];
    for (int k = 0; k < STORE_BUCKETS; k++) {
        id_in(k, ids[k], sizeof ids[k]);
        char body[64];
        snprintf(body, sizeof body, "{\"id\":\"%s\"}", ids[k]);
        call(k % 2 ? &a : &b, "POST", "/clients", body, 201);
    }
    expect_clients(&sa, ids, STORE_BUCKETS);
    expect_clients(&sb, ids, STORE_BUCKETS);
    it_sse_close(&sa);
    it_sse_close(&sb);
}

static void resume_across_masters(void **state) {
    (void)state;
    it_sse_t s;
    assert_true(it_sse_open(&s, a.port, "/events?topics=notifications", NULL, 0));
    call(&a, "POST", "/users/r0/notifications", "{\"title\":\"t\",\"body\":\"first\"}", 201);
    it_sse_event_t ev;
    assert_true(it_sse_wait(&s, "notification.created", &ev, 5000));
    char last[512];
    snprintf(last, sizeof last, "Last-Event-ID: %s", ev.id);
    it_sse_event_free(&ev);
    it_sse_close(&s);
    enum { N = 12 };
    for (int i = 0; i < N; i++) { /* users of many buckets, so of every master */
        char path[64], body[64];
        snprintf(path, sizeof path, "/users/r%d/notifications", i + 1);
        snprintf(body, sizeof body, "{\"title\":\"t\",\"body\":\"missed-%d\"}", i);
        call(&b, "POST", path, body, 201);
    }
    const char *h[] = {last, NULL};
    assert_true(it_sse_open(&s, b.port, "/events?topics=notifications", h, 0));
    int got = 0;
    while (got < N && it_sse_next(&s, &ev, 5000)) {
        assert_string_equal(ev.type, "notification.created");
        assert_non_null(strstr(ev.data, "missed-"));
        assert_null(strstr(ev.data, "first"));
        got++;
        it_sse_event_free(&ev);
    }
    assert_int_equal(got, N);
    it_sse_close(&s);
}

static void expiry_announced_once(void **state) {
    (void)state;
    it_sse_t s;
    assert_true(it_sse_open(&s, a.port, "/events?topics=presence", NULL, 0));
    for (int i = 0; i < 8; i++) {
        char path[64];
        snprintf(path, sizeof path, "/online-users/gone-%d", i);
        call(i % 2 ? &a : &b, "PUT", path, NULL, 200);
    }
    int online = 0, offline = 0;
    it_sse_event_t ev;
    while (offline < 8 && it_sse_next(&s, &ev, 5000)) {
        online += strcmp(ev.type, "presence.online") == 0;
        offline += strcmp(ev.type, "presence.offline") == 0 && strstr(ev.data, "\"expired\"");
        it_sse_event_free(&ev);
    }
    assert_int_equal(online, 8);
    assert_int_equal(offline, 8);
    assert_false(it_sse_next(&s, &ev, 1000)); /* the other reaper says nothing again */
    it_sse_close(&s);
}

static void a_restarted_master_is_followed(void **state) {
    (void)state;
    char id[32];
    id_in(0, id, sizeof id);
    char key[STORE_KEY_MAX];
    size_t n = store_key_index(key, KEY_EVENTS, 0);
    int owner = it_cluster_owner(&cl, core_key_slot(key, n));
    assert_true(owner >= 0);
    it_sse_t s;
    assert_true(it_sse_open(&s, a.port, "/events?topics=clients", NULL, 0));
    it_cluster_kill(&cl, owner);
    it_sleep_ms(500);
    assert_true(it_cluster_restart(&cl, owner));
    assert_true(it_cluster_wait(&cl, 10000));
    /* the service serves that slot again within its retry; then the event flows */
    char body[64];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    long st = 0;
    for (int i = 0; i < 50 && st != 201; i++) {
        it_resp_t r = it_json_req(&b, "POST", "/clients", body);
        st = r.status;
        it_resp_free(&r);
        if (st != 201)
            it_sleep_ms(100);
    }
    assert_int_equal(st, 201);
    char ids[1][32];
    snprintf(ids[0], sizeof ids[0], "%s", id);
    expect_clients(&s, ids, 1);
    it_sse_close(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bucket_reaches_both_instances),
        cmocka_unit_test(resume_across_masters),
        cmocka_unit_test(expiry_announced_once),
        cmocka_unit_test(a_restarted_master_is_followed),
    };
    return cmocka_run_group_tests_name("integration: events in a Redis Cluster", tests, setup,
                                       teardown);
}
