#define _GNU_SOURCE
/* GET /events, the live event stream, with real subscribers (a raw-socket
 * SSE client that decodes the chunked body, as a browser's EventSource
 * reads it): what flows, topics and their order, two instances, friends,
 * devices, Last-Event-ID resume and reset, expiry with no API call (once
 * with two instances), a slow consumer, the ping, drain and auth. Standalone
 * here; test_cluster_events.c runs the same checks against a Redis Cluster
 * (EVENTS_CLUSTER=1 makes this binary that test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <cmocka.h>

#include "checks.h"
#include "harness.h"

static const char *const env[] = {"PRESENCE_TTL_S=2",
                                  "TYPING_TTL_S=1",
                                  "CLIENT_TIMEOUT_MS=1500",
                                  "CLEANUP_INTERVAL_MS=200",
                                  "EVENTS_RETAIN_PER_BUCKET=100",
                                  "EVENTS_MAX_LAG=256",
                                  NULL};

static int port(void) { return it_fx.svc.port; }

static void open_stream(it_sse_t *s, const it_service_t *svc, const char *path,
                        const char *const *headers) {
    assert_true(it_sse_open(s, svc->port, path, headers, 0));
    if (s->status != 200)
        fail_msg("GET %s answered %ld", path, s->status);
}

static void call(const it_service_t *svc, const char *method, const char *path, const char *json,
                 long want) {
    it_resp_t r = it_json_req(svc, method, path, json);
    if (r.status != want)
        fail_msg("%s %s answered %ld, not %ld: %s", method, path, r.status, want, r.body);
    it_resp_free(&r);
}

/* The end of expect()'s list of fragments (a typed null pointer: a plain
 * NULL through "..." need not be one). */
#define END ((const char *)0)

/* ev must be type, and its data must hold each of the NULL-terminated
 * "key":value fragments. Frees ev; returns its data parsed (caller frees). */
static cJSON *check_event(it_sse_event_t *ev, const char *type, const char *const *frags) {
    if (strcmp(ev->type, type) != 0)
        fail_msg("event %s came (%s), %s expected", ev->type, ev->data, type);
    for (; *frags; frags++)
        if (!strstr(ev->data, *frags))
            fail_msg("event %s: '%s' is not in %s", type, *frags, ev->data);
    assert_true(ev->id[0] != '\0');
    cJSON *j = cJSON_Parse(ev->data);
    assert_non_null(j);
    assert_string_equal(it_json_str(j, "type"), type);
    assert_non_null(it_json_str(j, "time"));
    it_sse_event_free(ev);
    return j;
}

/* The next event must be type, and its data must hold each of the END-
 * terminated "key":value fragments. Returns the data parsed (caller frees). */
static cJSON *expect(it_sse_t *s, const char *type, ...) {
    it_sse_event_t ev;
    if (!it_sse_next(s, &ev, 3000))
        fail_msg("no event came, %s expected", type);
    const char *frags[8];
    int n = 0;
    va_list ap;
    va_start(ap, type);
    for (const char *frag; n < 7 && (frag = va_arg(ap, const char *));)
        frags[n++] = frag;
    va_end(ap);
    frags[n] = NULL;
    return check_event(&ev, type, frags);
}

static void expect_none(it_sse_t *s, int ms) {
    it_sse_event_t ev;
    if (it_sse_next(s, &ev, ms))
        fail_msg("no event was due, %s came: %s", ev.type, ev.data);
}

/* The response head of a stream: status, content type, every header once. */
static void stream_and_headers(void **state) {
    (void)state;
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events", NULL);
    assert_non_null(strcasestr(s.head, "\r\nContent-Type: text/event-stream"));
    assert_non_null(strcasestr(s.head, "\r\nCache-Control: no-store"));
    assert_non_null(strcasestr(s.head, "\r\nX-Content-Type-Options: nosniff"));
    assert_non_null(strcasestr(s.head, "\r\nX-Request-Id: "));
    call(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam1\"}", 201);
    cJSON_Delete(expect(&s, "client.registered", "\"client_id\":\"cam1\"", END));
    assert_int_equal(s.retry_ms, 2000);
    const char *h[] = {"Content-Type: image/png", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/clients/cam1/image", h, "\x89PNG\r\n\x1a\n0000", 12);
    char etag[64];
    assert_true(it_header(&r, "ETag", etag, sizeof etag));
    it_resp_free(&r);
    cJSON *j = expect(&s, "client.frame", "\"frame_number\":1", "\"format\":\"png\"", END);
    assert_string_equal(it_json_str(j, "etag"), etag); /* what If-None-Match takes */
    assert_null(cJSON_GetObjectItem(j, "data"));       /* never the bytes */
    cJSON_Delete(j);
    call(&it_fx.svc, "DELETE", "/clients/cam1", NULL, 204);
    cJSON_Delete(expect(&s, "client.removed", "\"reason\":\"request\"", END));
    it_sse_close(&s);
    /* HEAD: the same headers, no stream */
    r = it_http(&it_fx.svc, "HEAD", "/events", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    char ct[64];
    assert_true(it_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/event-stream");
    it_resp_free(&r);
    const char *bad[] = {"/events?topics=nope", "/events?topics=clients,,presence",
                         "/events?topics=", "/events?topics=room:a%20b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = it_http(&it_fx.svc, "GET", bad[i], NULL, NULL, 0);
        it_assert_problem(&r, 400, "topics");
        it_resp_free(&r);
    }
}

/* Topics narrow the stream; a room's events come in the order they were
 * made (one bucket); events of two buckets in either order. */
static void topics_and_order(void **state) {
    (void)state;
    it_sse_t room, users;
    open_stream(&room, &it_fx.svc, "/events?topics=room:r1", NULL);
    open_stream(&users, &it_fx.svc, "/events?topics=presence,notifications:bob", NULL);
    call(&it_fx.svc, "POST", "/clients", "{\"id\":\"not-for-them\"}", 201);
    call(&it_fx.svc, "PUT", "/rooms/r2/participants/zed", NULL, 201);
    call(&it_fx.svc, "PUT", "/rooms/r1/participants/alice", NULL, 201);
    call(&it_fx.svc, "PUT", "/rooms/r1/participants/bob", NULL, 201);
    call(&it_fx.svc, "PUT", "/rooms/r1/typing/alice", NULL, 200);
    for (int i = 0; i < 5; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"sender_id\":\"alice\",\"content\":\"m%d\"}", i);
        call(&it_fx.svc, "POST", "/rooms/r1/messages", body, 201);
    }
    call(&it_fx.svc, "DELETE", "/rooms/r1/typing/alice", NULL, 204);
    call(&it_fx.svc, "DELETE", "/rooms/r1/participants/bob", NULL, 204);
    call(&it_fx.svc, "POST", "/users/bob/notifications", "{\"title\":\"t\",\"body\":\"b\"}", 201);
    call(&it_fx.svc, "POST", "/users/carl/notifications", "{\"title\":\"t\",\"body\":\"c\"}", 201);
    call(&it_fx.svc, "PUT", "/online-users/dora", NULL, 200);
    cJSON_Delete(expect(&room, "room.joined", "\"user_id\":\"alice\"", END));
    cJSON_Delete(expect(&room, "room.joined", "\"user_id\":\"bob\"", END));
    cJSON_Delete(expect(&room, "typing.started", "\"user_id\":\"alice\"", END));
    for (int i = 0; i < 5; i++) {
        char frag[32];
        snprintf(frag, sizeof frag, "\"content\":\"m%d\"", i);
        cJSON_Delete(expect(&room, "message.posted", frag, "\"sender_id\":\"alice\"", END));
    }
    cJSON_Delete(expect(&room, "typing.stopped", "\"reason\":\"request\"", END));
    cJSON_Delete(expect(&room, "room.left", "\"user_id\":\"bob\"", "\"room_ended\":false", END));
    expect_none(&room, 300);
    /* bob's notifications and dora's presence are in two buckets: each
     * comes once, in either order (README, Live events: Order) */
    static const char *const bob[] = {"\"user_id\":\"bob\"", NULL}, *const dora[] = {
                                                                        "\"user_id\":\"dora\"",
                                                                        NULL};
    it_sse_event_t first, second;
    if (!it_sse_next(&users, &first, 3000) || !it_sse_next(&users, &second, 3000))
        fail_msg("not two events: bob's notification and dora's presence expected");
    bool bob_first = strcmp(first.type, "notification.created") == 0;
    cJSON_Delete(check_event(&first, bob_first ? "notification.created" : "presence.online",
                             bob_first ? bob : dora));
    cJSON_Delete(check_event(&second, bob_first ? "presence.online" : "notification.created",
                             bob_first ? dora : bob));
    expect_none(&users, 200);
    it_sse_close(&room);
    it_sse_close(&users);
}

/* An event made through one instance reaches the subscribers of another. */
static void across_instances(void **state) {
    (void)state;
    it_service_t second;
    assert_true(it_service_start(&second, it_fx.redis.url, env));
    it_sse_t a, b;
    open_stream(&a, &it_fx.svc, "/events?topics=sessions", NULL);
    open_stream(&b, &second, "/events?topics=sessions", NULL);
    call(&it_fx.svc, "POST", "/sessions", "{\"socket_id\":\"s1\",\"user_id\":\"u1\"}", 201);
    call(&second, "DELETE", "/sessions/s1", NULL, 204);
    cJSON_Delete(expect(&b, "session.started", "\"socket_id\":\"s1\"", END));
    cJSON_Delete(expect(&b, "session.ended", "\"reason\":\"request\"", END));
    cJSON_Delete(expect(&a, "session.started", "\"user_id\":\"u1\"", END));
    cJSON_Delete(expect(&a, "session.ended", "\"socket_id\":\"s1\"", END));
    it_sse_close(&a);
    it_sse_close(&b);
    assert_int_equal(it_service_stop(&second), 0);
}

/* friends:<user> carries the presence of that user's friends only, and
 * follows a new list at once. */
static void friends_presence(void **state) {
    (void)state;
    call(&it_fx.svc, "PUT", "/users/bob/friends", "{\"friends\":[\"alice\",\"carol\"]}", 200);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/users/bob/friends", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"user_id\":\"alice\",\"online\":false}"));
    it_resp_free(&r);
    chk_key(it_key(KEY_FRIENDS, "bob"), "set", 7000, 7200);
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events?topics=friends:bob", NULL);
    call(&it_fx.svc, "PUT", "/online-users/mallory", NULL, 200);
    call(&it_fx.svc, "PUT", "/online-users/alice", NULL, 200);
    cJSON_Delete(expect(&s, "presence.online", "\"user_id\":\"alice\"", END));
    call(&it_fx.svc, "PUT", "/users/bob/friends", "{\"friends\":[\"mallory\"]}", 200);
    cJSON_Delete(expect(&s, "friends.changed", "\"friends\":[\"mallory\"]", END));
    call(&it_fx.svc, "DELETE", "/online-users/alice", NULL, 204);
    call(&it_fx.svc, "DELETE", "/online-users/mallory", NULL, 204);
    cJSON_Delete(expect(&s, "presence.offline", "\"user_id\":\"mallory\"", END));
    expect_none(&s, 300);
    it_sse_close(&s);
    r = it_json_req(&it_fx.svc, "PUT", "/users/bob/friends", "{\"friends\":[\"a b\"]}");
    it_assert_problem(&r, 400, "friends[0]");
    it_resp_free(&r);
    r = it_json_req(&it_fx.svc, "PUT", "/users/bob/friends", "{\"friends\":[\"alice\",\"bob\"]}");
    it_assert_problem(&r, 422, "themselves"); /* nothing stored: still mallory alone */
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/users/bob/friends", NULL, NULL, 0);
    assert_non_null(strstr(r.body, "\"count\":1"));
    assert_non_null(strstr(r.body, "mallory"));
    it_resp_free(&r);
}

/* A second device keeps a user online; the last one takes them offline. */
static void devices(void **state) {
    (void)state;
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events?topics=user:ann", NULL);
    call(&it_fx.svc, "PUT", "/online-users/ann", "{\"device_id\":\"phone\"}", 200);
    call(&it_fx.svc, "PUT", "/online-users/ann", "{\"device_id\":\"laptop\"}", 200);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/online-users/ann", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 2);
    cJSON_Delete(j);
    it_resp_free(&r);
    call(&it_fx.svc, "DELETE", "/online-users/ann/devices/phone", NULL, 204);
    r = it_http(&it_fx.svc, "GET", "/online-users/ann", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "online")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 1);
    assert_string_equal(
        it_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "devices"), 0), "device_id"),
        "laptop");
    cJSON_Delete(j);
    it_resp_free(&r);
    call(&it_fx.svc, "DELETE", "/online-users/ann/devices/phone", NULL, 404);
    call(&it_fx.svc, "DELETE", "/online-users/ann/devices/laptop", NULL, 204);
    cJSON_Delete(expect(&s, "presence.online", "\"device_id\":\"phone\"", END));
    cJSON_Delete(expect(&s, "presence.device_online", "\"device_id\":\"laptop\"", END));
    cJSON_Delete(expect(&s, "presence.device_offline", "\"device_id\":\"phone\"", END));
    cJSON_Delete(expect(&s, "presence.offline", "\"reason\":\"request\"", END));
    it_sse_close(&s);
    r = it_http(&it_fx.svc, "GET", "/online-users/ann", NULL, NULL, 0);
    assert_non_null(strstr(r.body, "\"online\":false"));
    it_resp_free(&r);
}

/* Last-Event-ID: what was missed comes, and only that; past what a
 * bucket's stream keeps, an explicit reset. On a Redis of its own: an id
 * holds a position in every bucket, and the fixture's Redis was emptied
 * (a wipe resets a resume too) after the earlier tests' events. */
static void resume_and_reset(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    it_sse_t s;
    open_stream(&s, &svc, "/events?topics=notifications", NULL);
    call(&svc, "POST", "/users/u1/notifications", "{\"title\":\"t\",\"body\":\"first\"}", 201);
    it_sse_event_t ev;
    assert_true(it_sse_wait(&s, "notification.created", &ev, 3000));
    char last[512];
    snprintf(last, sizeof last, "Last-Event-ID: %s", ev.id);
    it_sse_event_free(&ev);
    it_sse_close(&s);
    /* missed while away: three, in two users' buckets, and other topics */
    call(&svc, "POST", "/users/u1/notifications", "{\"title\":\"t\",\"body\":\"n1\"}", 201);
    call(&svc, "PUT", "/online-users/zz", NULL, 200);
    call(&svc, "POST", "/users/u2/notifications", "{\"title\":\"t\",\"body\":\"n2\"}", 201);
    call(&svc, "POST", "/users/u1/notifications", "{\"title\":\"t\",\"body\":\"n3\"}", 201);
    const char *h[] = {last, NULL};
    open_stream(&s, &svc, "/events?topics=notifications", h);
    cJSON_Delete(expect(&s, "notification.created", "\"body\":\"n1\"", END));
    cJSON_Delete(expect(&s, "notification.created", "\"body\":\"n2\"", END));
    cJSON_Delete(expect(&s, "notification.created", "\"body\":\"n3\"", END));
    call(&svc, "POST", "/users/u1/notifications", "{\"title\":\"t\",\"body\":\"live\"}", 201);
    cJSON_Delete(expect(&s, "notification.created", "\"body\":\"live\"", END));
    expect_none(&s, 200);
    it_sse_close(&s);
    /* u1's bucket gets far more than it keeps (EVENTS_RETAIN_PER_BUCKET=100) */
    for (int i = 0; i < 400; i++)
        call(&svc, "POST", "/users/u1/notifications", "{\"title\":\"t\",\"body\":\"x\"}", 201);
    open_stream(&s, &svc, "/events?topics=notifications", h);
    assert_true(it_sse_next(&s, &ev, 3000));
    assert_string_equal(ev.type, "reset");
    assert_non_null(strstr(ev.data, "\"reason\":\"retention\""));
    assert_true(ev.id[0] != '\0'); /* a reconnect from here starts live */
    it_sse_event_free(&ev);
    expect_none(&s, 200);
    it_sse_close(&s);
    const char *bad[] = {"Last-Event-ID: not-an-id", NULL};
    open_stream(&s, &svc, "/events", bad);
    assert_true(it_sse_next(&s, &ev, 3000));
    assert_string_equal(ev.type, "reset");
    it_sse_event_free(&ev);
    it_sse_close(&s);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

/* Expiry with no API call: presence, typing and a silent client end, each
 * announced once although two instances run the reaper. */
static void expiry_announced_once(void **state) {
    (void)state;
    it_service_t second;
    assert_true(it_service_start(&second, it_fx.redis.url, env));
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events?topics=user:eve,client:cam-x,room:rx", NULL);
    call(&it_fx.svc, "PUT", "/online-users/eve", NULL, 200);
    call(&it_fx.svc, "PUT", "/rooms/rx/participants/eve", NULL, 201);
    call(&it_fx.svc, "PUT", "/rooms/rx/typing/eve", NULL, 200);
    call(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam-x\"}", 201);
    cJSON_Delete(expect(&s, "presence.online", "\"user_id\":\"eve\"", END));
    cJSON_Delete(expect(&s, "room.joined", "\"user_id\":\"eve\"", END));
    cJSON_Delete(expect(&s, "typing.started", "\"user_id\":\"eve\"", END));
    cJSON_Delete(expect(&s, "client.registered", "\"client_id\":\"cam-x\"", END));
    int typing = 0, offline = 0, removed = 0;
    it_sse_event_t ev;
    while ((typing < 1 || offline < 1 || removed < 1) && it_sse_next(&s, &ev, 5000)) {
        typing += strcmp(ev.type, "typing.stopped") == 0 && strstr(ev.data, "\"expired\"");
        offline += strcmp(ev.type, "presence.offline") == 0 && strstr(ev.data, "\"expired\"");
        removed += strcmp(ev.type, "client.removed") == 0 && strstr(ev.data, "\"timeout\"");
        it_sse_event_free(&ev);
    }
    assert_int_equal(typing, 1);
    assert_int_equal(offline, 1);
    assert_int_equal(removed, 1);
    /* further passes of both reapers announce nothing again */
    expect_none(&s, 1000);
    it_sse_close(&s);
    assert_int_equal(it_service_stop(&second), 0);
}

/* A subscriber that does not read is dropped; the others get everything. */
static void slow_consumer(void **state) {
    (void)state;
    it_sse_t slow, fast;
    assert_true(it_sse_open(&slow, port(), "/events?topics=notifications", NULL, 4096));
    open_stream(&fast, &it_fx.svc, "/events?topics=notifications", NULL);
    static char body[4200];
    char text[4001];
    memset(text, 'x', 4000);
    text[4000] = '\0';
    snprintf(body, sizeof body, "{\"title\":\"t\",\"body\":\"%s\"}", text);
    int got = 0;
    enum { N = 1000 };
    for (int i = 0; i < N; i++) {
        call(&it_fx.svc, "POST", "/users/slowpoke/notifications", body, 201);
        it_sse_event_t ev;
        while (it_sse_next(&fast, &ev, 0)) {
            got += strcmp(ev.type, "notification.created") == 0;
            it_sse_event_free(&ev);
        }
    }
    it_sse_event_t ev;
    while (got < N && it_sse_next(&fast, &ev, 3000)) {
        got += strcmp(ev.type, "notification.created") == 0;
        it_sse_event_free(&ev);
    }
    if (got != N)
        fail_msg("the reading subscriber got %d of %d (ended: %d)", got, N, fast.ended);
    /* the slow one was closed: reading on, it ends well before N events */
    int slow_got = 0;
    while (it_sse_next(&slow, &ev, 2000)) {
        slow_got += strcmp(ev.type, "notification.created") == 0;
        it_sse_event_free(&ev);
    }
    assert_true(slow.ended);
    assert_true(slow_got < N);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/metrics", NULL, NULL, 0);
    assert_non_null(strstr(r.body, "rtstate_events_dropped_total 1\n"));
    assert_non_null(strstr(r.body, "rtstate_events_subscribers "));
    it_resp_free(&r);
    it_sse_close(&slow);
    it_sse_close(&fast);
}

/* A quiet stream gets a comment line every 15 s. */
static void ping(void **state) {
    (void)state;
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events?topics=client:nobody", NULL);
    it_sse_event_t ev;
    assert_false(it_sse_next(&s, &ev, 17000));
    assert_false(s.ended);
    assert_true(s.comments >= 1);
    it_sse_close(&s);
}

/* The read token guards the stream; CORS as for other reads. */
static void auth_and_cors(void **state) {
    (void)state;
    const char *const e[] = {"READ_TOKEN=r3ad", "CORS_ORIGINS=*", NULL};
    it_service_t svc;
    assert_true(it_service_start(&svc, it_fx.redis.url, e));
    it_resp_t r = it_http(&svc, "GET", "/events", NULL, NULL, 0);
    it_assert_problem(&r, 401, "Bearer");
    it_resp_free(&r);
    const char *wrong[] = {"Authorization: Bearer nope", NULL};
    it_sse_t s;
    assert_true(it_sse_open(&s, svc.port, "/events", wrong, 0));
    assert_int_equal(s.status, 401);
    it_sse_close(&s);
    const char *right[] = {"Authorization: Bearer r3ad", "Origin: https://dash.example", NULL};
    open_stream(&s, &svc, "/events", right);
    assert_non_null(strcasestr(s.head, "\r\nAccess-Control-Allow-Origin: *"));
    it_sse_close(&s);
    assert_int_equal(it_service_stop(&svc), 0);
}

/* On SIGTERM every stream gets a final shutdown event, then ends. */
static void drain(void **state) {
    (void)state;
    it_service_t svc;
    assert_true(it_service_start(&svc, it_fx.redis.url, env));
    it_sse_t s;
    open_stream(&s, &svc, "/events", NULL);
    it_sse_event_t ev;
    expect_none(&s, 100);
    kill(svc.pid, SIGTERM);
    assert_true(it_sse_wait(&s, "shutdown", &ev, 5000));
    it_sse_event_free(&ev);
    assert_false(it_sse_next(&s, &ev, 5000));
    assert_true(s.ended);
    it_sse_close(&s);
    assert_int_equal(it_service_stop(&svc), 0);
}

/* With EVENTS_MAX_STREAM_S a stream ends after that long, as on a drain:
 * its events first, then shutdown; the client resumes where it was. */
static void streams_end_after_max(void **state) {
    (void)state;
    it_service_t svc;
    const char *e[] = {"EVENTS_MAX_STREAM_S=1", "CLIENT_TIMEOUT_MS=60000", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, e));
    it_sse_t s;
    open_stream(&s, &svc, "/events?topics=clients", NULL);
    call(&svc, "POST", "/clients", "{\"id\":\"cam-m\"}", 201);
    cJSON_Delete(expect(&s, "client.registered", "\"client_id\":\"cam-m\"", END));
    it_sse_event_t ev;
    assert_true(it_sse_next(&s, &ev, 3000)); /* about 1 s after it began */
    assert_string_equal(ev.type, "shutdown");
    it_sse_event_free(&ev);
    assert_false(it_sse_next(&s, &ev, 3000));
    assert_true(s.ended);
    it_sse_close(&s);
    /* a second stream, and the service still serves */
    open_stream(&s, &svc, "/events?topics=clients", NULL);
    call(&svc, "DELETE", "/clients/cam-m", NULL, 204);
    cJSON_Delete(expect(&s, "client.removed", "\"client_id\":\"cam-m\"", END));
    assert_true(it_sse_wait(&s, "shutdown", &ev, 3000));
    it_sse_event_free(&ev);
    it_sse_close(&s);
    assert_int_equal(it_service_stop(&svc), 0);
}

/* GET /events writes nothing to Redis. */
static void reading_writes_nothing(void **state) {
    (void)state;
    it_sse_t s;
    open_stream(&s, &it_fx.svc, "/events?topics=friends:nobody", NULL);
    expect_none(&s, 200);
    it_sse_close(&s);
    assert_int_equal(chk_int("DBSIZE"), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(stream_and_headers, it_flush),
        cmocka_unit_test_setup(topics_and_order, it_flush),
        cmocka_unit_test_setup(across_instances, it_flush),
        cmocka_unit_test_setup(friends_presence, it_flush),
        cmocka_unit_test_setup(devices, it_flush),
        cmocka_unit_test_setup(resume_and_reset, it_flush),
        cmocka_unit_test_setup(expiry_announced_once, it_flush),
        cmocka_unit_test_setup(slow_consumer, it_flush),
        cmocka_unit_test_setup(streams_end_after_max, it_flush),
        cmocka_unit_test_setup(auth_and_cors, it_flush),
        cmocka_unit_test_setup(reading_writes_nothing, it_flush),
        cmocka_unit_test_setup(drain, it_flush),
        cmocka_unit_test_setup(ping, it_flush),
    };
    return cmocka_run_group_tests_name("integration: events", tests, it_group_setup,
                                       it_group_teardown);
}
