/* /rooms/{roomId}/messages and /users/{userId}/offline-messages over HTTP:
 * the room cache and offline queues (keys, types, TTLs, trimming, order),
 * fan-out to participants who are not online, the per-sender sliding-window
 * rate limit (also under 20 concurrent senders), reading a queue (GET and
 * HEAD never empty it, whatever the query) and consuming it (POST, with the
 * API token; from two clients at once), expiry, and every 4xx with nothing
 * stored. */
#include <pthread.h>
#include <stdlib.h>

#include "checks.h"

static const char *const env[] = {
    "RATE_LIMIT_MESSAGES=10", "RATE_LIMIT_WINDOW_S=60",      "MESSAGE_CACHE_MAX=15",
    "MESSAGE_TTL_S=600",      "OFFLINE_QUEUE_MAX=12",        "OFFLINE_QUEUE_TTL_S=300",
    "PRESENCE_TTL_S=120",     "CLEANUP_INTERVAL_MS=3600000", NULL};

static void join(const char *room, const char *user) {
    char path[128];
    snprintf(path, sizeof path, "/rooms/%s/participants/%s", room, user);
    long st = chk_status("PUT", path, NULL);
    assert_true(st == 201 || st == 200);
}

/* Room r1: alice and bob online, carol never seen online. */
static void room_r1(void) {
    join("r1", "alice");
    join("r1", "bob");
    join("r1", "carol");
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    assert_int_equal(chk_status("PUT", "/online-users/bob", NULL), 200);
}

static it_resp_t send_on(const it_service_t *s, const char *room, const char *sender,
                         const char *content) {
    char path[128], *body = malloc(strlen(content) + 256);
    snprintf(path, sizeof path, "/rooms/%s/messages", room);
    sprintf(body, "{\"sender_id\":\"%s\",\"content\":\"%s\"}", sender, content);
    it_resp_t r = it_json_req(s, "POST", path, body);
    free(body);
    return r;
}

static long send_msg(const char *sender, const char *content) {
    it_resp_t r = send_on(&it_fx.svc, "r1", sender, content);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

static void send_stores_and_fans_out(void **state) {
    (void)state;
    room_r1();
    join("r1", "dave");
    /* online once, long expired */
    assert_int_equal(chk_int("ZADD %s 1 dave", it_key(KEY_ONLINE_USERS, "dave")), 1);
    it_resp_t r = send_on(&it_fx.svc, "r1", "alice", "hello \\\"all\\\" / ünïcode \\ud83d\\ude00");
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    assert_memory_equal(it_json_str(j, "id"), "msg-", 4);
    assert_string_equal(it_json_str(j, "room_id"), "r1");
    assert_string_equal(it_json_str(j, "sender_id"), "alice");
    assert_string_equal(it_json_str(j, "content"), "hello \"all\" / ünïcode \xf0\x9f\x98\x80");
    assert_int_equal(strlen(it_json_str(j, "timestamp")), 24); /* 2025-09-20T10:30:45.123Z */
    cJSON_Delete(j);

    chk_key(it_key(KEY_ROOM_MESSAGES, "r1"), "zset", 595, 600);
    chk_key(it_key(KEY_USER_OFFLINE, "carol"), "list", 295, 300);
    chk_key(it_key(KEY_USER_OFFLINE, "dave"), "list", 295, 300);
    chk_key(it_key(KEY_RATE_MESSAGES, "alice"), "zset", 55, 60);
    chk_no_key(it_key(KEY_USER_OFFLINE, "bob"));   /* online */
    chk_no_key(it_key(KEY_USER_OFFLINE, "alice")); /* the sender */
    redisReply *m = it_redis_cmd(&it_fx.redis, "LINDEX %s 0", it_key(KEY_USER_OFFLINE, "carol"));
    cJSON *stored = cJSON_Parse(m->str); /* the documented message JSON */
    freeReplyObject(m);
    assert_string_equal(it_json_str(stored, "sender_id"), "alice");
    assert_string_equal(it_json_str(stored, "content"), "hello \"all\" / ünïcode \xf0\x9f\x98\x80");
    cJSON_Delete(stored);

    j = chk_json(&it_fx.svc, "GET", "/rooms/r1/messages", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 1)), 1);
    cJSON_Delete(j);
}

static void content_is_1_to_4096_bytes_of_utf8(void **state) {
    (void)state;
    room_r1();
    char big[4096 + 1];
    for (int i = 0; i < 4096; i += 2)
        memcpy(big + i, "\xc3\xa9", 2); /* é: 2048 characters, 4096 bytes */
    big[4096] = '\0';
    assert_int_equal(send_msg("alice", big), 201);
    char over[4097 + 1];
    memset(over, 'x', 4097);
    over[4097] = '\0';
    long before = chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1"));
    it_resp_t r = send_on(&it_fx.svc, "r1", "alice", over);
    it_assert_problem(&r, 400, "content");
    it_resp_free(&r);
    r = send_on(&it_fx.svc, "r1", "alice", "");
    it_assert_problem(&r, 400, "content");
    it_resp_free(&r);
    r = send_on(&it_fx.svc, "r1", "alice", "bad \xc3\x28 byte");
    it_assert_problem(&r, 400, "content");
    it_resp_free(&r);
    r = send_on(&it_fx.svc, "r1", "alice", "lone \\ud800 surrogate");
    it_assert_problem(&r, 400, NULL);
    it_resp_free(&r);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), before);
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/messages", NULL, 200);
    cJSON *first = cJSON_GetArrayItem(chk_page(j, CHK_TOTAL_ANY), 0);
    assert_string_equal(it_json_str(first, "content"), big);
    cJSON_Delete(j);
}

/* Sends content m0..m(n-1) from alice as fast as it can (several land in
 * the same millisecond). */
static void send_burst(int n) {
    for (int i = 0; i < n; i++) {
        char c[8];
        snprintf(c, sizeof c, "m%d", i);
        assert_int_equal(send_msg("alice", c), 201);
    }
}

static void recent_is_newest_first_and_pages_with_a_cursor(void **state) {
    (void)state;
    room_r1();
    send_burst(9);
    /* page by next_cursor: every message once, newest first, even within one millisecond */
    char path[160] = "/rooms/r1/messages?limit=2";
    int seen = 9, pages = 0;
    for (;;) {
        cJSON *j = chk_json(&it_fx.svc, "GET", path, NULL, 200), *m;
        cJSON_ArrayForEach(m, chk_page(j, 9)) {
            char want[8];
            snprintf(want, sizeof want, "m%d", --seen);
            assert_string_equal(it_json_str(m, "content"), want);
        }
        pages++;
        const char *next = chk_next(j);
        if (next)
            snprintf(path, sizeof path, "/rooms/r1/messages?limit=2&cursor=%s", next);
        cJSON_Delete(j);
        if (!next)
            break;
    }
    assert_int_equal(seen, 0);
    assert_int_equal(pages, 5); /* the last page has one: no empty page after a full one */
    /* before a time: exactly what was sent before that millisecond */
    it_sleep_ms(3);
    it_resp_t r = send_on(&it_fx.svc, "r1", "alice", "later");
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    snprintf(path, sizeof path, "/rooms/r1/messages?before=%s", it_json_str(j, "timestamp"));
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", path, NULL, 200);
    cJSON *msgs = chk_page(j, 9); /* the total counts what the filter lets through */
    assert_int_equal(cJSON_GetArraySize(msgs), 9);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 0), "content"), "m8");
    assert_null(chk_next(j));
    cJSON_Delete(j);
    /* the filter and the cursor together: before that time, after the page's last */
    strcat(path, "&limit=4");
    j = chk_json(&it_fx.svc, "GET", path, NULL, 200);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(chk_page(j, 9), 3), "content"), "m5");
    char next[160];
    snprintf(next, sizeof next, "%s&cursor=%s", path, chk_next(j));
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", next, NULL, 200);
    msgs = chk_page(j, 9);
    assert_int_equal(cJSON_GetArraySize(msgs), 4);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 0), "content"), "m4");
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/rooms/r1/messages?before=2000-01-01T00:00:00.000Z", NULL,
                 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 0)), 0);
    cJSON_Delete(j);
    j = chk_json(&it_fx.svc, "GET", "/rooms/elsewhere/messages", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 0)), 0);
    cJSON_Delete(j);
}

static void cache_and_queue_keep_the_newest(void **state) {
    (void)state;
    room_r1();
    for (int i = 0; i < 18; i++) {
        char c[8];
        snprintf(c, sizeof c, "n%02d", i);
        assert_int_equal(send_msg(i % 2 ? "bob" : "alice", c), 201);
    }
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), 15);
    cJSON *j = chk_json(&it_fx.svc, "GET", "/rooms/r1/messages", NULL, 200);
    cJSON *msgs = chk_page(j, 15);
    assert_int_equal(cJSON_GetArraySize(msgs), 15);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 0), "content"), "n17");
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 14), "content"), "n03");
    cJSON_Delete(j);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 12);
    j = chk_json(&it_fx.svc, "GET", "/users/carol/offline-messages", NULL, 200);
    msgs = chk_page(j, 12);
    assert_int_equal(cJSON_GetArraySize(msgs), 12);
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 0), "content"), "n06"); /* oldest */
    assert_string_equal(it_json_str(cJSON_GetArrayItem(msgs, 11), "content"), "n17");
    cJSON_Delete(j);
}

static void over_the_limit_is_429_and_stores_nothing(void **state) {
    (void)state;
    room_r1();
    for (int i = 0; i < 10; i++)
        assert_int_equal(send_msg("alice", "x"), 201);
    it_resp_t r = send_on(&it_fx.svc, "r1", "alice", "one too many");
    it_assert_problem(&r, 429, "sender 'alice'");
    char ra[16];
    assert_true(it_header(&r, "Retry-After", ra, sizeof ra));
    assert_true(atoi(ra) >= 59 && atoi(ra) <= 60);
    it_resp_free(&r);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), 10);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 10);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_RATE_MESSAGES, "alice")), 10);
    assert_int_equal(send_msg("bob", "another sender"), 201); /* the limit is per sender */
}

static void the_window_slides(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"RATE_LIMIT_MESSAGES=2", "RATE_LIMIT_WINDOW_S=1", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    room_r1();
    for (int i = 0; i < 2; i++) {
        it_resp_t r = send_on(&svc, "r1", "alice", "x");
        assert_int_equal(r.status, 201);
        it_resp_free(&r);
    }
    chk_key(it_key(KEY_RATE_MESSAGES, "alice"), "zset", 0, 1);
    it_resp_t r = send_on(&svc, "r1", "alice", "x");
    it_assert_problem(&r, 429, NULL);
    char ra[16];
    assert_true(it_header(&r, "Retry-After", ra, sizeof ra));
    assert_string_equal(ra, "1");
    it_resp_free(&r);
    it_sleep_ms(1050);
    r = send_on(&svc, "r1", "alice", "x");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&svc), 0);
}

typedef struct {
    long status;
} sent_t;

static void *send_one(void *arg) {
    sent_t *s = arg;
    it_resp_t r = send_on(&it_fx.svc, "r1", "alice", "race");
    s->status = r.status;
    it_resp_free(&r);
    return NULL;
}

static void twenty_concurrent_senders_store_exactly_the_limit(void **state) {
    (void)state;
    room_r1();
    enum { N = 20 };
    pthread_t t[N];
    sent_t s[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, send_one, &s[i]), 0);
    int ok = 0, limited = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += s[i].status == 201;
        limited += s[i].status == 429;
    }
    assert_int_equal(ok, 10);
    assert_int_equal(limited, 10);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), 10);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 10);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_RATE_MESSAGES, "alice")), 10);
}

/* The contents of a page of messages, comma-separated, into out. */
static void contents(const cJSON *j, long long total, char *out, size_t cap) {
    cJSON *m;
    out[0] = '\0';
    cJSON_ArrayForEach(m, chk_page(j, total)) {
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                 it_json_str(m, "content"));
    }
}

static void offline_read_consume_and_clear(void **state) {
    (void)state;
    room_r1();
    for (int i = 0; i < 5; i++) {
        char c[8];
        snprintf(c, sizeof c, "q%d", i);
        assert_int_equal(send_msg("alice", c), 201);
    }
    /* read a page at a time, oldest first, the queue left as it is */
    char got[64], path[256] = "/users/carol/offline-messages?limit=2";
    const char *want[] = {"q0,q1", "q2,q3", "q4"};
    for (int page = 0; page < 3; page++) {
        cJSON *j = chk_json(&it_fx.svc, "GET", path, NULL, 200);
        contents(j, 5, got, sizeof got);
        assert_string_equal(got, want[page]);
        const char *next = chk_next(j);
        assert_true((next != NULL) == (page < 2));
        if (next)
            snprintf(path, sizeof path, "/users/carol/offline-messages?limit=2&cursor=%s", next);
        cJSON_Delete(j);
    }
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 5);
    /* take the oldest two: total is the queue before the take */
    cJSON *j =
        chk_json(&it_fx.svc, "POST", "/users/carol/offline-messages/consume?limit=2", NULL, 200);
    contents(j, 5, got, sizeof got);
    assert_string_equal(got, "q0,q1");
    assert_null(chk_next(j));
    cJSON_Delete(j);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 3);
    j = chk_json(&it_fx.svc, "POST", "/users/carol/offline-messages/consume", NULL, 200);
    contents(j, 3, got, sizeof got);
    assert_string_equal(got, "q2,q3,q4");
    cJSON_Delete(j);
    chk_no_key(it_key(KEY_USER_OFFLINE, "carol"));
    j = chk_json(&it_fx.svc, "POST", "/users/carol/offline-messages/consume", NULL, 200);
    contents(j, 0, got, sizeof got);
    assert_string_equal(got, "");
    cJSON_Delete(j);
    assert_int_equal(send_msg("alice", "again"), 201);
    assert_int_equal(chk_status("DELETE", "/users/carol/offline-messages", NULL), 204);
    chk_no_key(it_key(KEY_USER_OFFLINE, "carol"));
    assert_int_equal(chk_status("DELETE", "/users/carol/offline-messages", NULL), 204);
}

/* The issue: a GET (an <img> tag, a prefetch, a crawler) emptied the queue.
 * Neither GET nor HEAD consumes, whatever the query says; the answer names
 * the operation that does. */
static void get_and_head_never_consume(void **state) {
    (void)state;
    room_r1();
    for (int i = 0; i < 2; i++)
        assert_int_equal(send_msg("alice", "keep me"), 201);
    const char *queries[] = {"?consume=true", "?consume=1", "?consume=false", "?consume"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char path[96];
        snprintf(path, sizeof path, "/users/carol/offline-messages%s", queries[i]);
        chk_problem("GET", path, NULL, 400, "POST /users/carol/offline-messages/consume");
        it_resp_t r = it_http(&it_fx.svc, "HEAD", path, NULL, NULL, 0);
        assert_int_equal(r.status, 400);
        it_resp_free(&r);
        assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 2);
    }
    cJSON *j = chk_json(&it_fx.svc, "GET", "/users/carol/offline-messages", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 2)), 2);
    cJSON_Delete(j);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 2);
}

/* Consuming changes state, so it needs the API token: the read token is not
 * enough, and with only API_TOKEN set a request without a token is refused
 * (while a GET without one still reads). Refused, it leaves the queue as it
 * was. */
static void consuming_needs_the_api_token(void **state) {
    (void)state;
    room_r1();
    assert_int_equal(send_msg("alice", "private"), 201);
    const char *both[] = {"API_TOKEN=api-secret", "READ_TOKEN=read-secret", NULL};
    const char *api_only[] = {"API_TOKEN=api-secret", NULL};
    const char *const *envs[] = {both, api_only};
    const char *path = "/users/carol/offline-messages/consume";
    for (int e = 0; e < 2; e++) {
        it_service_t svc;
        assert_true(it_service_start(&svc, it_fx.redis.url, envs[e]));
        const char *none[] = {NULL};
        const char *read[] = {"Authorization: Bearer read-secret", NULL};
        const char *const *refused[] = {none, read};
        for (int k = 0; k < 2; k++) {
            it_resp_t r = it_http(&svc, "POST", path, refused[k], NULL, 0);
            it_assert_problem(&r, 401, NULL);
            char www[128];
            assert_true(it_header(&r, "WWW-Authenticate", www, sizeof www));
            assert_memory_equal(www, "Bearer", 6);
            it_resp_free(&r);
            assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 1);
        }
        if (e == 1) { /* reads are open without READ_TOKEN, and still consume nothing */
            it_resp_t r =
                it_http(&svc, "GET", "/users/carol/offline-messages?consume=true", none, NULL, 0);
            it_assert_problem(&r, 400, "consume");
            it_resp_free(&r);
            assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "carol")), 1);
            const char *api[] = {"Authorization: Bearer api-secret", NULL};
            r = it_http(&svc, "POST", path, api, NULL, 0);
            assert_int_equal(r.status, 200);
            cJSON *j = it_body_json(&r);
            assert_string_equal(it_json_str(cJSON_GetArrayItem(chk_page(j, 1), 0), "content"),
                                "private");
            cJSON_Delete(j);
            it_resp_free(&r);
            chk_no_key(it_key(KEY_USER_OFFLINE, "carol"));
        }
        assert_int_equal(it_service_stop(&svc), 0);
    }
}

typedef struct {
    cJSON *got;
} consumed_t;

static void *consume(void *arg) {
    consumed_t *c = arg;
    it_resp_t r =
        it_http(&it_fx.svc, "POST", "/users/carol/offline-messages/consume", NULL, NULL, 0);
    c->got = r.status == 200 ? it_body_json(&r) : NULL;
    it_resp_free(&r);
    return NULL;
}

static void two_consumers_get_each_message_once(void **state) {
    (void)state;
    enum { ROUNDS = 8, PER_ROUND = 5 };
    join("r1", "carol");
    for (int round = 0; round < ROUNDS; round++) {
        char sender[16];
        snprintf(sender, sizeof sender, "s%d", round);
        join("r1", sender);
        char sent[PER_ROUND][64];
        for (int i = 0; i < PER_ROUND; i++) {
            it_resp_t r = send_on(&it_fx.svc, "r1", sender, "m");
            assert_int_equal(r.status, 201);
            cJSON *j = it_body_json(&r);
            snprintf(sent[i], sizeof sent[i], "%s", it_json_str(j, "id"));
            cJSON_Delete(j);
            it_resp_free(&r);
        }
        pthread_t t[2];
        consumed_t c[2] = {{0}};
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, consume, &c[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        int seen[PER_ROUND] = {0}, total = 0;
        for (int i = 0; i < 2; i++) {
            assert_non_null(c[i].got);
            cJSON *m;
            cJSON_ArrayForEach(m, chk_page(c[i].got, CHK_TOTAL_ANY)) {
                total++;
                for (int k = 0; k < PER_ROUND; k++)
                    seen[k] += strcmp(it_json_str(m, "id"), sent[k]) == 0;
            }
            cJSON_Delete(c[i].got);
        }
        assert_int_equal(total, PER_ROUND);
        for (int k = 0; k < PER_ROUND; k++)
            assert_int_equal(seen[k], 1);
    }
}

static void messages_and_queues_expire(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"MESSAGE_TTL_S=1", "OFFLINE_QUEUE_TTL_S=1", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    room_r1();
    it_resp_t r = send_on(&svc, "r1", "alice", "fleeting");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    chk_key(it_key(KEY_ROOM_MESSAGES, "r1"), "zset", 0, 1);
    chk_key(it_key(KEY_USER_OFFLINE, "carol"), "list", 0, 1);
    it_sleep_ms(1100);
    cJSON *j = chk_json(&svc, "GET", "/rooms/r1/messages", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, 0)), 0);
    cJSON_Delete(j);
    chk_no_key(it_key(KEY_ROOM_MESSAGES, "r1"));
    chk_no_key(it_key(KEY_USER_OFFLINE, "carol"));
    assert_int_equal(it_service_stop(&svc), 0);
}

static void bad_input_stores_nothing(void **state) {
    (void)state;
    room_r1();
    long long keys = chk_int("DBSIZE");
    struct {
        const char *path, *body, *detail;
        long status;
    } cases[] = {
        {"/rooms/r1/messages", NULL, "required", 400},
        {"/rooms/r1/messages", "{\"content\":\"x\"}", "sender_id", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"a b\",\"content\":\"x\"}", "sender_id", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"alice\"}", "content", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"alice\",\"content\":5}", "content", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"alice\",\"content\":null}", "content", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"alice\",\"content\":\"a\\u0000b\"}", "NUL", 400},
        {"/rooms/r:1/messages", "{\"sender_id\":\"alice\",\"content\":\"x\"}", "room id", 400},
        {"/rooms/r1/messages", "{\"sender_id\":\"zed\",\"content\":\"x\"}",
         "participant 'zed' of room 'r1' not found", 404},
        {"/rooms/nowhere/messages", "{\"sender_id\":\"alice\",\"content\":\"x\"}",
         "participant 'alice' of room 'nowhere' not found", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        chk_problem("POST", cases[i].path, cases[i].body, cases[i].status, cases[i].detail);
    chk_problem("GET", "/rooms/r1/messages?limit=1001", NULL, 400, "limit");
    chk_problem("GET", "/rooms/r1/messages?before=yesterday", NULL, 400, "before");
    chk_problem("GET", "/rooms/r1/messages?before=msg-12x-a", NULL, 400, "before");
    /* a message id is a cursor, not a time: ?before= names where paging went */
    chk_problem("GET", "/rooms/r1/messages?before=msg-1758364245123000-Ab3", NULL, 400, "'cursor'");
    chk_problem("GET", "/rooms/r1/messages?cursor=2025-01-01T00:00:00Z", NULL, 400, "cursor");
    chk_problem("GET", "/users/carol/offline-messages?cursor=nope", NULL, 400, "cursor");
    chk_problem("GET", "/users/carol/offline-messages?limit=0", NULL, 400, "limit");
    chk_problem("POST", "/users/carol/offline-messages/consume?limit=1001", NULL, 400, "limit");
    chk_problem("GET", "/users/a:b/offline-messages", NULL, 400, "user id");
    chk_problem("PUT", "/rooms/r1/messages", NULL, 405, "not allowed");
    chk_problem("POST", "/users/carol/offline-messages", NULL, 405, "not allowed");
    chk_problem("GET", "/users/carol/offline-messages/consume", NULL, 405, "not allowed");
    chk_problem("POST", "/users/a:b/offline-messages/consume", NULL, 400, "user id");
    const char *hs[] = {"Content-Type: text/plain", NULL};
    it_resp_t r = it_http(&it_fx.svc, "POST", "/rooms/r1/messages", hs, "hi", 2);
    it_assert_problem(&r, 415, "application/json");
    it_resp_free(&r);
    size_t n = 70000;
    char *huge = malloc(n);
    memset(huge, 'x', n);
    memcpy(huge, "{\"sender_id\":\"alice\",\"content\":\"", 33);
    memcpy(huge + n - 2, "\"}", 2);
    const char *jh[] = {"Content-Type: application/json", NULL};
    r = it_http(&it_fx.svc, "POST", "/rooms/r1/messages", jh, huge, n);
    it_assert_problem(&r, 413, NULL);
    it_resp_free(&r);
    free(huge);
    assert_int_equal(chk_int("DBSIZE"), keys);
    chk_no_key(it_key(KEY_ROOM_MESSAGES, "r1"));
    chk_no_key(it_key(KEY_RATE_MESSAGES, "alice"));
    chk_no_key(it_key(KEY_RATE_MESSAGES, "zed"));
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(send_stores_and_fans_out, it_flush),
        cmocka_unit_test_setup(content_is_1_to_4096_bytes_of_utf8, it_flush),
        cmocka_unit_test_setup(recent_is_newest_first_and_pages_with_a_cursor, it_flush),
        cmocka_unit_test_setup(cache_and_queue_keep_the_newest, it_flush),
        cmocka_unit_test_setup(over_the_limit_is_429_and_stores_nothing, it_flush),
        cmocka_unit_test_setup(the_window_slides, it_flush),
        cmocka_unit_test_setup(twenty_concurrent_senders_store_exactly_the_limit, it_flush),
        cmocka_unit_test_setup(offline_read_consume_and_clear, it_flush),
        cmocka_unit_test_setup(get_and_head_never_consume, it_flush),
        cmocka_unit_test_setup(consuming_needs_the_api_token, it_flush),
        cmocka_unit_test_setup(two_consumers_get_each_message_once, it_flush),
        cmocka_unit_test_setup(messages_and_queues_expire, it_flush),
        cmocka_unit_test_setup(bad_input_stores_nothing, it_flush),
    };
    return cmocka_run_group_tests_name("integration: messages", tests, it_group_setup,
                                       it_group_teardown);
}
