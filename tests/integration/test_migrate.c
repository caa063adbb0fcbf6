/*
 * rtstate --migrate-keys: a deployment's data in the layout before buckets
 * (written here as the old version wrote it: clients with frames, presence,
 * a session, a room with messages and typing, offline queues, notification
 * lists and queues, counters, a rate window) is moved to today's layout, and
 * then the service answers everything the old one did. Run twice, the
 * second run moves nothing; run after a crash half-way (some keys moved,
 * an index half split), it finishes; a key with an old name and another
 * type, and keys that are not the old layout's, are left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/timefmt.h"
#include "harness.h"

#define PREFIX "old:"

static it_redis_t redis;

/* The old layout ran on one server only; test_cluster_keyspace checks that
 * the migration refuses it in a cluster. */
#define NOT_IN_A_CLUSTER "the layout before buckets never ran on a cluster"

static int setup(void **state) {
    (void)state;
    it_key_prefix(PREFIX);
    return it_cluster_mode() || it_redis_start(&redis) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    it_redis_stop(&redis);
    it_key_prefix("");
    return 0;
}

/* Runs a command on the test's Redis; asserts it is no error. */
static void run(const char *fmt, ...) {
    redisContext *c = it_redis_connect(&redis);
    assert_non_null(c);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("'%s': %s", fmt, r->str);
    freeReplyObject(r);
}

static long long integer(const char *fmt, ...) {
    redisContext *c = it_redis_connect(&redis);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

#define L(k, ...) it_legacy_key(LEGACY_##k, __VA_ARGS__)

static const char frame[] = "\xff\xd8\xff\xe0old frame";

static void notification(const char *user, const char *title, const char *priority, char *json,
                         size_t cap, int64_t at) {
    char when[CORE_ISO8601_LEN];
    core_iso8601(at, when);
    snprintf(json, cap,
             "{\"id\":\"ntf-%s\",\"user_id\":\"%s\",\"title\":\"%s\",\"body\":\"b\","
             "\"priority\":\"%s\",\"created_at\":\"%s\"}",
             title, user, title, priority, when);
}

static void message(const char *id, const char *sender, const char *content, char *json,
                    size_t cap) {
    snprintf(json, cap,
             "{\"id\":\"%s\",\"room_id\":\"r1\",\"sender_id\":\"%s\",\"content\":\"%s\","
             "\"timestamp\":\"2025-01-01T00:00:00.000Z\"}",
             id, sender, content);
}

/* The old version's keys for: clients cam1 (two frames) and cam2, alice
 * online, alice's session s1 in region u4pruy, room r1 of alice and bob with
 * two messages and alice typing, bob's offline queue and notifications,
 * queued notifications for bob, carol and alice, the counters, alice's rate
 * window. */
static void write_old_layout(void) {
    int64_t now = core_now_ms();
    char t[CORE_ISO8601_LEN], json[512];
    core_iso8601(now, t);
    run("SADD %s cam1 cam2", L(CLIENTS, "", ""));
    run("ZADD %s 0 cam1 0 cam2", L(CLIENTS_BY_ID, "", ""));
    run("ZADD %s %lld cam1 %lld cam2", L(CLIENTS_LAST_SEEN, "", ""), (long long)now,
        (long long)now);
    for (int i = 1; i <= 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "cam%d", i);
        run("HSET %s connected_at %s last_seen %s status connected", L(CLIENT, id, ""), t, t);
    }
    run("HSET %s data %b size %d format jpeg timestamp %s frame_number 2 etag %s",
        L(IMAGE, "cam1", ""), frame, sizeof frame - 1, (int)(sizeof frame - 1), t, "\"2-abc\"");
    run("HSET %s total_frames 7 removed_inactive 3", L(STATS, "", ""));

    run("HSET %s status online device_id phone last_seen %s", L(PRESENCE, "alice", ""), t);
    run("PEXPIRE %s 300000", L(PRESENCE, "alice", ""));
    run("ZADD %s %lld alice", L(ONLINE_USERS, "", ""), (long long)now + 300000);
    run("ZADD %s 0 alice", L(ONLINE_USERS_BY_ID, "", ""));

    snprintf(json, sizeof json,
             "{\"socket_id\":\"s1\",\"user_id\":\"alice\",\"current_region_id\":\"u4pruy\","
             "\"last_location\":{\"latitude\":57.64911,\"longitude\":10.40744},"
             "\"connected_at\":\"%s\",\"last_activity_at\":\"%s\",\"user_agent\":\"app/1\"}",
             t, t);
    run("SET %s %s PX 3600000", L(SESSION, "s1", ""), json);
    run("SET %s %s PX 300000", L(HEARTBEAT, "s1", ""), t);
    run("SADD %s s1", L(USER_SESSIONS, "alice", ""));
    run("PEXPIRE %s 3600000", L(USER_SESSIONS, "alice", ""));
    run("SADD %s s1", L(REGION_MEMBERS, "u4pruy", ""));
    run("PEXPIRE %s 3600000", L(REGION_MEMBERS, "u4pruy", ""));
    run("ZADD %s %lld s1", L(SESSIONS_EXPIRY, "", ""), (long long)now + 3600000);
    run("HSET %s s1 %s", L(SESSIONS_OWNER, "", ""), "alice u4pruy");

    run("SADD %s alice bob", L(ROOM_PARTICIPANTS, "r1", ""));
    run("PEXPIRE %s 600000", L(ROOM_PARTICIPANTS, "r1", ""));
    run("ZADD %s 0 r1", L(ROOMS_ACTIVE, "", ""));
    run("ZADD %s %lld r1", L(ROOMS_EXPIRY, "", ""), (long long)now + 600000);
    char id[64];
    for (int i = 0; i < 2; i++) { /* positions: send ms * 1000 */
        long long pos = (long long)(now - 2000 + i) * 1000;
        snprintf(id, sizeof id, "msg-%lld-%s", pos, i ? "bbbbbb" : "aaaaaa");
        message(id, i ? "bob" : "alice", i ? "second" : "first", json, sizeof json);
        run("ZADD %s %lld %s", L(ROOM_MESSAGES, "r1", ""), pos, json);
    }
    run("PEXPIRE %s 86400000", L(ROOM_MESSAGES, "r1", ""));
    for (int i = 0; i < 2; i++) {
        const char *user = i ? "bob" : "alice";
        run("SADD %s r1", L(USER_ROOMS, user, ""));
        run("PEXPIRE %s 600000", L(USER_ROOMS, user, ""));
    }
    run("SET %s %s PX 10000", L(TYPING, "r1", "alice"), t);
    run("ZADD %s %lld alice", L(ROOM_TYPING, "r1", ""), (long long)now + 10000);
    run("PEXPIRE %s 10000", L(ROOM_TYPING, "r1", ""));
    run("LPUSH %s %s", L(USER_OFFLINE, "bob", ""), json);
    run("PEXPIRE %s 600000", L(USER_OFFLINE, "bob", ""));
    run("ZADD %s %lld aaaaaa", L(RATE_MESSAGES, "alice", ""), (long long)now);
    run("PEXPIRE %s 60000", L(RATE_MESSAGES, "alice", ""));

    const struct {
        const char *user, *title, *priority;
    } queued[] = {{"bob", "q1", "high"},
                  {"carol", "q2", "normal"},
                  {"carol", "q3", "high"},
                  {"alice", "q4", "normal"}};
    for (int i = 0; i < 4; i++) {
        notification(queued[i].user, queued[i].title, queued[i].priority, json, sizeof json,
                     now + i);
        bool high = strcmp(queued[i].priority, "high") == 0;
        const char *q = high ? L(NOTIFY_QUEUE_HIGH, "", "") : L(NOTIFY_QUEUE_NORMAL, "", "");
        run("LPUSH %s %s", q, json);
        run("PEXPIRE %s 600000", q);
        if (strcmp(queued[i].user, "bob") == 0) {
            run("LPUSH %s %s", L(USER_NOTIFICATIONS, "bob", ""), json);
            run("PEXPIRE %s 600000", L(USER_NOTIFICATIONS, "bob", ""));
        }
    }
    /* not the old layout's: a foreign key under the prefix, and an old name
     * holding another type than the old layout wrote there */
    run("SET " PREFIX "something:else keep");
    run("SET %s not-a-hash", L(CLIENT, "foreign", ""));
}

/* Runs rtstate --migrate-keys; asserts its exit status and that its report
 * line holds want. */
static void migrate(int status, const char *want) {
    char out[4096];
    const char *const env[] = {"KEY_PREFIX=" PREFIX, NULL};
    const char *const args[] = {"--migrate-keys", NULL};
    int rc = it_service_run(redis.url, env, args, out, sizeof out);
    if (rc != status || !strstr(out, want))
        fail_msg("--migrate-keys exited %d (want %d); wanted '%s' in: %s", rc, status, want, out);
}

/* Every key is today's layout but the two left alone. */
static void only_todays_keys(void) {
    redisReply *r = it_redis_cmd(&redis, "KEYS *");
    int left = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const char *k = r->element[i]->str;
        store_key_parsed_t p;
        if (strcmp(k, PREFIX "something:else") == 0 || strcmp(k, L(CLIENT, "foreign", "")) == 0) {
            left++;
            continue;
        }
        if (!store_key_parse(k, r->element[i]->len, &p))
            fail_msg("'%s' is not of today's layout", k);
    }
    freeReplyObject(r);
    assert_int_equal(left, 2);
}

static cJSON *get(const it_service_t *s, const char *method, const char *path) {
    it_resp_t r = it_http(s, method, path, NULL, NULL, 0);
    if (r.status != 200)
        fail_msg("%s %s answered %ld: %s", method, path, r.status, r.body);
    cJSON *j = it_body_json(&r);
    it_resp_free(&r);
    return j;
}

static int count(const it_service_t *s, const char *path, const char *field) {
    cJSON *j = get(s, "GET", path);
    int n = (int)it_json_num(j, field);
    cJSON_Delete(j);
    return n;
}

/* What the old version answered, the new one answers. */
static void everything_reads_back(void) {
    it_service_t s;
    const char *const env[] = {"KEY_PREFIX=" PREFIX, "CLIENT_TIMEOUT_MS=3600000", NULL};
    assert_true(it_service_start(&s, redis.url, env));
    cJSON *j = get(&s, "GET", "/clients");
    assert_int_equal((int)it_json_num(j, "total"), 2);
    cJSON *cam1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0);
    assert_string_equal(it_json_str(cam1, "id"), "cam1");
    assert_int_equal((int)it_json_num(cam1, "frame_number"), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cam1, "has_image")));
    assert_non_null(it_json_str(cam1, "last_seen"));
    cJSON_Delete(j);
    it_resp_t r = it_http(&s, "GET", "/clients/cam1/image", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, sizeof frame - 1);
    assert_memory_equal(r.body, frame, sizeof frame - 1);
    char etag[64];
    assert_true(it_header(&r, "ETag", etag, sizeof etag));
    assert_string_equal(etag, "\"2-abc\"");
    it_resp_free(&r);

    j = get(&s, "GET", "/online-users/alice");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "online")));
    assert_string_equal(it_json_str(j, "device_id"), "phone");
    cJSON_Delete(j);
    assert_int_equal(count(&s, "/online-users", "count"), 1);

    j = get(&s, "GET", "/sessions/s1");
    assert_string_equal(it_json_str(j, "user_agent"), "app/1");
    assert_string_equal(it_json_str(j, "current_region_id"), "u4pruy");
    cJSON_Delete(j);
    assert_int_equal(count(&s, "/users/alice/sessions", "count"), 1);
    assert_int_equal(count(&s, "/regions/u4pruy/members", "count"), 1);

    j = get(&s, "GET", "/rooms");
    assert_int_equal((int)it_json_num(j, "total"), 1);
    cJSON *room = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0);
    assert_int_equal((int)it_json_num(room, "participant_count"), 2);
    assert_int_equal((int)it_json_num(room, "joined_count"), 1); /* alice is online */
    cJSON_Delete(j);
    assert_int_equal(count(&s, "/rooms/r1/messages", "count"), 2);
    assert_int_equal(count(&s, "/rooms/r1/typing", "count"), 1);
    assert_int_equal(count(&s, "/users/alice/rooms", "count"), 1);
    assert_int_equal(count(&s, "/users/bob/rooms", "count"), 1);
    assert_int_equal(count(&s, "/users/bob/offline-messages", "count"), 1);
    assert_int_equal(count(&s, "/users/bob/notifications", "count"), 1);

    j = get(&s, "GET", "/redis/stats");
    cJSON *app = cJSON_GetObjectItem(j, "app");
    assert_int_equal((int)it_json_num(app, "total_clients"), 2);
    assert_int_equal((int)it_json_num(app, "online_users"), 1);
    assert_int_equal((int)it_json_num(app, "total_frames"), 7);
    assert_int_equal((int)it_json_num(app, "removed_inactive"), 3);
    cJSON_Delete(j);

    /* the queues: high first, each oldest first */
    j = get(&s, "POST", "/notifications/queue/pop?limit=10");
    const char *want[] = {"q1", "q3", "q2", "q4"};
    cJSON *items = cJSON_GetObjectItem(j, "items");
    assert_int_equal(cJSON_GetArraySize(items), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(it_json_str(cJSON_GetArrayItem(items, i), "title"), want[i]);
    cJSON_Delete(j);
    assert_int_equal(it_service_stop(&s), 0);
}

static void old_layout_moves_and_reads_back(void **state) {
    (void)state;
    it_skip_in_cluster(NOT_IN_A_CLUSTER);
    run("FLUSHALL");
    write_old_layout();
    migrate(0, "30 keys of the old layout under 'old:', 29 moved");
    only_todays_keys();
    /* a TTL moved with its key; a set became a sorted set with the set's expiry */
    long long ttl = integer("PTTL %s", it_key(KEY_SESSION, "s1"));
    assert_true(ttl > 3500000 && ttl <= 3600000);
    ttl = integer("PTTL %s", it_key(KEY_USER_SESSIONS, "alice"));
    assert_true(ttl > 3500000 && ttl <= 3600000);
    /* what a client read and a presence read now take from the hash alone */
    redisReply *fn = it_redis_cmd(&redis, "HGET %s frame_number", it_key(KEY_CLIENT, "cam1"));
    assert_string_equal(fn->str, "2");
    freeReplyObject(fn);
    assert_int_equal(integer("HEXISTS %s expires_at", it_key(KEY_PRESENCE, "alice")), 1);
    /* twice: nothing more to move (the key of another type is found again, and left) */
    migrate(0, "1 keys of the old layout under 'old:', 0 moved");
    only_todays_keys();
    everything_reads_back();
}

/* A run that stopped half-way left some keys moved and an index split in
 * part (each step is one script: a key is moved wholly or not at all). */
static void a_run_stopped_half_way_is_finished(void **state) {
    (void)state;
    it_skip_in_cluster(NOT_IN_A_CLUSTER);
    run("FLUSHALL");
    write_old_layout();
    run("RENAME %s %s", L(IMAGE, "cam1", ""), it_key(KEY_IMAGE, "cam1"));
    run("RENAME %s %s", L(SESSION, "s1", ""), it_key(KEY_SESSION, "s1"));
    redisReply *r = it_redis_cmd(&redis, "ZRANGE %s 0 0 WITHSCORES", L(CLIENTS_LAST_SEEN, "", ""));
    const char *id = r->element[0]->str;
    run("ZADD %s %s %s", it_key(KEY_CLIENTS_LAST_SEEN, id), r->element[1]->str, id);
    run("ZREM %s %s", L(CLIENTS_LAST_SEEN, "", ""), id);
    freeReplyObject(r);
    migrate(0, "28 keys of the old layout under 'old:', 27 moved");
    only_todays_keys();
    everything_reads_back();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_layout_moves_and_reads_back),
        cmocka_unit_test(a_run_stopped_half_way_is_finished),
    };
    return cmocka_run_group_tests_name("integration: migrate-keys", tests, setup, teardown);
}
