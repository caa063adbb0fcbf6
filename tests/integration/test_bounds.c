/* Every key the service writes has a bound: a cap on its length, a TTL, or
 * the cleanup pass (for the indexes of live clients, users, sessions and
 * rooms). Writing several times each cap (room messages, offline queues,
 * notification lists and queues, rate windows, typing indexes, sessions,
 * rooms, clients) leaves no key longer than its cap, and every key in Redis
 * has a TTL or is one of the reaper's indexes. Then, round after round of
 * fresh users, sessions, rooms and clients that all go quiet: once their TTLs
 * have passed and a cleanup pass has run, Redis holds only the counters
 * (stats of the clients' buckets) and the two capped notification queues of
 * the one user notified every round, and used_memory has not grown. */
#include <stdlib.h>

#include "../../core/timefmt.h"
#include "checks.h"

#define CACHE_MAX 20
#define OFFLINE_MAX 10
#define NOTIFICATION_MAX 10
#define QUEUE_MAX 40
#define RATE_MAX 25

static const char *const env[] = {
    "MESSAGE_CACHE_MAX=20",        "OFFLINE_QUEUE_MAX=10",         "NOTIFICATION_MAX=10",
    "NOTIFICATION_QUEUE_MAX=40",   "RATE_LIMIT_MESSAGES=25",       "RATE_LIMIT_WINDOW_S=60",
    "CLEANUP_INTERVAL_MS=3600000", "EVENTS_RETAIN_PER_BUCKET=100", NULL};

/* The keys that may live without a TTL: the cleanup pass prunes them as the
 * clients, users, sessions and rooms they index end; stats is two counters. */
static const store_key_t reaped[] = {
    KEY_CLIENTS,
    KEY_CLIENTS_LAST_SEEN,
    KEY_CLIENT,
    KEY_IMAGE,
    KEY_STATS,
    KEY_ONLINE_USERS,
    KEY_ONLINE_USERS_BY_ID,
    KEY_SESSIONS_EXPIRY,
    KEY_SESSIONS_OWNER,
    KEY_ROOMS_ACTIVE,
    KEY_ROOMS_EXPIRY,
    KEY_TYPING_EXPIRY,
    KEY_EVENTS, /* no TTL either: each stream is capped by its MAXLEN (below) */
};

/* The capped keys: the command that measures one, and its cap. */
static const struct {
    store_key_t kind;
    const char *len_cmd;
    long long cap;
} capped[] = {
    {KEY_ROOM_MESSAGES, "ZCARD %s", CACHE_MAX},
    {KEY_USER_OFFLINE, "LLEN %s", OFFLINE_MAX},
    {KEY_USER_NOTIFICATIONS, "LLEN %s", NOTIFICATION_MAX},
    {KEY_NOTIFY_QUEUE_HIGH, "LLEN %s", QUEUE_MAX},
    {KEY_NOTIFY_QUEUE_NORMAL, "LLEN %s", QUEUE_MAX},
    {KEY_RATE_MESSAGES, "ZCARD %s", RATE_MAX},
    /* MAXLEN ~ 100 trims whole nodes of stream-node-max-entries (100) */
    {KEY_EVENTS, "XLEN %s", 100 + 2 * 100},
};

static bool is_reaped(store_key_t k) {
    for (size_t i = 0; i < sizeof reaped / sizeof reaped[0]; i++)
        if (reaped[i] == k)
            return true;
    return false;
}

/* One key of check_every_key's: one of the service's shapes, within its cap
 * if it has one, with a TTL unless it is one of the reaped indexes. */
static void check_key(const char *key, void *unused) {
    (void)unused;
    store_key_parsed_t p;
    if (!store_key_parse(key, strlen(key), &p))
        fail_msg("key '%s' is none of the service's shapes", key);
    for (size_t c = 0; c < sizeof capped / sizeof capped[0]; c++) {
        if (capped[c].kind != p.kind)
            continue;
        long long len = chk_int(capped[c].len_cmd, key);
        if (len > capped[c].cap)
            fail_msg("key '%s' holds %lld entries; its cap is %lld", key, len, capped[c].cap);
    }
    /* -2: it expired since the SCAN (a slow run): bounded indeed */
    if (chk_int("PTTL %s", key) == -1 && !is_reaped(p.kind))
        fail_msg("key '%s' has no TTL and is no index the cleanup pass prunes", key);
}

/* Checks every key (check_key); returns how many keys there are. */
static long long check_every_key(void) { return chk_each_key("*", check_key, NULL); }

static long req(const it_service_t *s, const char *method, const char *path, const char *json) {
    it_resp_t r = it_json_req(s, method, path, json);
    long st = r.status;
    if (st >= 500 || st == 400 || st == 404)
        fail_msg("%s %s answered %ld: %s", method, path, st, r.body);
    it_resp_free(&r);
    return st;
}

/* Room `room` of users {prefix}0..4: each joins and types, 0..2 send `sends`
 * messages each (4 KB of content), 3 and 4 stay offline. */
static void chatty_room(const it_service_t *s, const char *room, const char *prefix, int sends) {
    static char content[4001];
    memset(content, 'm', 4000);
    char path[160], body[4200];
    for (int u = 0; u < 5; u++) {
        snprintf(path, sizeof path, "/rooms/%s/participants/%s%d", room, prefix, u);
        req(s, "PUT", path, NULL);
        for (int t = 0; t < 3; t++) {
            snprintf(path, sizeof path, "/rooms/%s/typing/%s%d", room, prefix, u);
            req(s, "PUT", path, NULL);
        }
    }
    snprintf(path, sizeof path, "/rooms/%s/messages", room);
    for (int i = 0; i < sends; i++) {
        for (int u = 0; u < 3; u++) {
            snprintf(body, sizeof body, "{\"sender_id\":\"%s%d\",\"content\":\"%s\"}", prefix, u,
                     content);
            req(s, "POST", path, body); /* 201, or 429 once over the limit */
        }
    }
}

/* count notifications of 4 KB for user, alternating priorities. */
static void notifications(const it_service_t *s, const char *user, int count) {
    static char text[4001];
    memset(text, 'n', 4000);
    char path[128], body[4200];
    snprintf(path, sizeof path, "/users/%s/notifications", user);
    for (int i = 0; i < count; i++) {
        snprintf(body, sizeof body, "{\"title\":\"t%d\",\"body\":\"%s\",\"priority\":\"%s\"}", i,
                 text, i % 2 ? "high" : "normal");
        req(s, "POST", path, body);
    }
}

/* Users {prefix}0..4 online, each with two sessions; clients {prefix}cam0..2
 * with a frame each. */
static void users_sessions_clients(const it_service_t *s, const char *prefix) {
    char path[128], body[256];
    for (int u = 0; u < 5; u++) {
        snprintf(path, sizeof path, "/online-users/%s%d", prefix, u);
        req(s, "PUT", path, NULL);
        for (int k = 0; k < 2; k++) {
            snprintf(body, sizeof body,
                     "{\"socket_id\":\"%s%d-%d\",\"user_id\":\"%s%d\",\"location\":"
                     "{\"latitude\":%d.5,\"longitude\":10.4}}",
                     prefix, u, k, prefix, u, 50 + u);
            req(s, "POST", "/sessions", body);
        }
    }
    static unsigned char frame[4096] = {0xff, 0xd8, 0xff, 0xe0};
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    for (int c = 0; c < 3; c++) {
        snprintf(body, sizeof body, "{\"id\":\"%scam%d\"}", prefix, c);
        req(s, "POST", "/clients", body);
        snprintf(path, sizeof path, "/clients/%scam%d/image", prefix, c);
        it_resp_t r = it_http(s, "PUT", path, h, frame, sizeof frame);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
}

static void no_key_outgrows_its_cap(void **state) {
    (void)state;
    users_sessions_clients(&it_fx.svc, "u");
    chatty_room(&it_fx.svc, "r1", "p", 3 * RATE_MAX); /* 3 senders: 75 in the cache's window */
    notifications(&it_fx.svc, "p3", 2 * 3 * QUEUE_MAX);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_MESSAGES, "r1")), CACHE_MAX);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "p3")), OFFLINE_MAX);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_NOTIFICATIONS, "p3")), NOTIFICATION_MAX);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "p3")), QUEUE_MAX);
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_NORMAL, "p3")), QUEUE_MAX);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_RATE_MESSAGES, "p0")), RATE_MAX);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_ROOM_TYPING, "r1")), 5);
    assert_true(check_every_key() >= 30);
}

/* streams_memory's: adds what key takes to *total (a long long). */
static void add_memory(const char *key, void *total) {
    *(long long *)total += chk_int("MEMORY USAGE %s SAMPLES 0", key);
}

/* What the event streams take (MEMORY USAGE, every entry counted). They are
 * bounded by their length, which check_every_key checks; their memory grows
 * with each bucket that fills up to EVENTS_RETAIN_PER_BUCKET (a round whose
 * ids land in a bucket not used before fills one more), up to 16 of them. */
static long long streams_memory(void) {
    long long n = 0;
    chk_each_key("events:*", add_memory, &n);
    return n;
}

/* Redis's used memory without the event streams (see streams_memory), every
 * master's (a cluster's INFO is theirs one after another). */
static long long used_memory(void) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "INFO memory");
    const char *v = strstr(r->str, "used_memory:");
    assert_non_null(v);
    long long n = 0;
    for (; v; v = strstr(v + 1, "\nused_memory:"))
        n += atoll(strchr(v, ':') + 1);
    freeReplyObject(r);
    return n - streams_memory();
}

/* Whether only the keys that outlive every round are left: the counters
 * (stats:{b}), and the two notification queues of user's bucket. */
static bool quiet(const char *user) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "KEYS *");
    bool only = true;
    for (size_t i = 0; i < r->elements; i++) {
        store_key_parsed_t p;
        const char *key = r->element[i]->str;
        only &= store_key_parse(key, strlen(key), &p) &&
                (p.kind == KEY_STATS || p.kind == KEY_EVENTS ||
                 ((p.kind == KEY_NOTIFY_QUEUE_HIGH || p.kind == KEY_NOTIFY_QUEUE_NORMAL) &&
                  p.bucket == store_key_bucket(user)));
    }
    freeReplyObject(r);
    return only && chk_int("EXISTS %s %s", it_key(KEY_NOTIFY_QUEUE_HIGH, user),
                           it_key(KEY_NOTIFY_QUEUE_NORMAL, user)) == 2;
}

/* Runs cleanup passes until only the keys that outlive every round are left
 * (the TTLs of the round have to pass first); fails after a deadline. */
static void wait_for_the_quiet(const it_service_t *s, const char *user) {
    int64_t deadline = core_now_ms() + (int64_t)(15000 * it_time_scale());
    for (;;) {
        cJSON_Delete(chk_json(s, "POST", "/admin/cleanup", NULL, 200));
        if (quiet(user))
            return;
        if (core_now_ms() > deadline) {
            check_every_key();
            fail_msg("%lld keys are left after every TTL passed", chk_int("DBSIZE"));
        }
        it_sleep_ms(100);
    }
}

static void memory_stays_bounded_round_after_round(void **state) {
    (void)state;
    it_service_t svc;
    const char *const quick[] = {"PRESENCE_TTL_S=1",
                                 "SESSION_TTL_S=1",
                                 "HEARTBEAT_TTL_S=1",
                                 "TYPING_TTL_S=1",
                                 "MESSAGE_TTL_S=1",
                                 "OFFLINE_QUEUE_TTL_S=1",
                                 "NOTIFICATION_TTL_S=1",
                                 "ROOM_TTL_S=1",
                                 "RATE_LIMIT_WINDOW_S=1",
                                 "RATE_LIMIT_MESSAGES=25",
                                 "CLIENT_TIMEOUT_MS=100",
                                 "MESSAGE_CACHE_MAX=20",
                                 "OFFLINE_QUEUE_MAX=10",
                                 "NOTIFICATION_MAX=10",
                                 "NOTIFICATION_QUEUE_MAX=40",
                                 "CLEANUP_INTERVAL_MS=3600000",
                                 "EVENTS_RETAIN_PER_BUCKET=100", /* the cap checked */
                                 NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, quick));
    enum { ROUNDS = 4 };
    long long memory[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        char prefix[16], room[16];
        snprintf(prefix, sizeof prefix, "r%d-", round); /* fresh ids every round */
        snprintf(room, sizeof room, "room%d", round);
        users_sessions_clients(&svc, prefix);
        chatty_room(&svc, room, prefix, 3 * CACHE_MAX);
        /* one user's notifications every round: the queues of its bucket stay, capped */
        notifications(&svc, "n", 2 * 3 * QUEUE_MAX);
        check_every_key();
        wait_for_the_quiet(&svc, "n");
        assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_HIGH, "n")), QUEUE_MAX);
        assert_int_equal(chk_int("LLEN %s", it_key(KEY_NOTIFY_QUEUE_NORMAL, "n")), QUEUE_MAX);
        memory[round] = used_memory();
    }
    /* each round wrote about 2 MB of messages and notifications; what stays (but for
     * the event streams, bounded by length: see streams_memory) is the same */
    for (int round = 1; round < ROUNDS; round++)
        if (memory[round] > memory[0] + 256 * 1024)
            fail_msg("used_memory grew from %lld to %lld bytes by round %d", memory[0],
                     memory[round], round);
    assert_int_equal(it_service_stop(&svc), 0);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(no_key_outgrows_its_cap, it_flush),
        cmocka_unit_test_setup(memory_stays_bounded_round_after_round, it_flush),
    };
    return cmocka_run_group_tests_name("integration: every key bounded", tests, it_group_setup,
                                       it_group_teardown);
}
