/* /admin over HTTP, and the key layout as documented: POST /admin/cleanup
 * prunes what expired (clients, presence, sessions in their user and region
 * sets, ended rooms) and says how much; the reaper does the same on its own; DELETE
 * /admin/ephemeral deletes every key under KEY_PREFIX (a prefix full of glob
 * characters) and nothing else, and refuses without confirm=true or without a
 * prefix; and every key the service writes matches README's key layout table
 * in name, type and TTL. */
#include <stdlib.h>

#include "checks.h"

static const char *const env[] = {"SESSION_TTL_S=120", "CLEANUP_INTERVAL_MS=3600000", NULL};

#define AALBORG "{\"latitude\":57.64911,\"longitude\":10.40744}" /* region u4pruy */

static void post_session(const it_service_t *s, const char *socket, const char *loc) {
    char body[256];
    snprintf(body, sizeof body, "{\"socket_id\":\"%s\",\"user_id\":\"u\"%s%s}", socket,
             loc ? ",\"location\":" : "", loc ? loc : "");
    cJSON_Delete(chk_json(s, "POST", "/sessions", body, 201));
}

static void cleanup_prunes_what_expired(void **state) {
    (void)state;
    it_service_t quick;
    const char *const short_ttls[] = {
        "SESSION_TTL_S=1", "CLIENT_TIMEOUT_MS=100",       "PRESENCE_TTL_S=1",
        "ROOM_TTL_S=1",    "CLEANUP_INTERVAL_MS=3600000", NULL};
    assert_true(it_service_start(&quick, it_fx.redis.url, short_ttls));
    cJSON_Delete(chk_json(&quick, "POST", "/clients", "{\"id\":\"cam\"}", 201));
    cJSON_Delete(chk_json(&quick, "PUT", "/online-users/p1", NULL, 200));
    post_session(&quick, "s1", AALBORG);
    post_session(&quick, "s2", NULL);
    post_session(&it_fx.svc, "s3", AALBORG); /* lives 120 s */
    cJSON_Delete(chk_json(&quick, "PUT", "/rooms/quiet/participants/p1", NULL, 201));
    cJSON_Delete(chk_json(&it_fx.svc, "PUT", "/rooms/lasting/participants/p1", NULL, 201));
    it_sleep_ms(1100);
    /* nothing read the listings: the stale members are still there */
    assert_int_equal(chk_int("SCARD user:u:sessions"), 3);
    assert_int_equal(chk_int("SCARD region:u4pruy:members"), 2);
    cJSON *j = chk_json(&quick, "POST", "/admin/cleanup", NULL, 200); /* its client timeout */
    assert_int_equal((int)it_json_num(j, "clients_removed"), 1);
    assert_int_equal((int)it_json_num(j, "presence_pruned"), 1);
    assert_int_equal((int)it_json_num(j, "sessions_pruned"), 2);
    assert_int_equal((int)it_json_num(j, "rooms_pruned"), 1);
    cJSON_Delete(j);
    chk_only_room("lasting");
    const char *only_s3[] = {"user:u:sessions", "region:u4pruy:members", "sessions:expiry"};
    for (int i = 0; i < 3; i++) {
        redisReply *r = it_redis_cmd(
            &it_fx.redis, strcmp(only_s3[i], "sessions:expiry") ? "SMEMBERS %s" : "ZRANGE %s 0 -1",
            only_s3[i]);
        assert_int_equal(r->elements, 1);
        assert_string_equal(r->element[0]->str, "s3");
        freeReplyObject(r);
    }
    assert_int_equal(chk_int("HLEN sessions:owner"), 1);
    chk_no_key("heartbeat:s1");
    chk_no_key("client:cam");
    j = chk_json(&quick, "POST", "/admin/cleanup", NULL, 200);
    assert_int_equal((int)it_json_num(j, "clients_removed"), 0);
    assert_int_equal((int)it_json_num(j, "presence_pruned"), 0);
    assert_int_equal((int)it_json_num(j, "sessions_pruned"), 0);
    assert_int_equal((int)it_json_num(j, "rooms_pruned"), 0);
    cJSON_Delete(j);
    assert_int_equal(it_service_stop(&quick), 0);
}

static void the_reaper_prunes_sessions_on_its_own(void **state) {
    (void)state;
    it_service_t reaping;
    const char *const e[] = {"SESSION_TTL_S=1", "CLEANUP_INTERVAL_MS=100", NULL};
    assert_true(it_service_start(&reaping, it_fx.redis.url, e));
    post_session(&reaping, "gone", AALBORG);
    it_sleep_ms(1400);
    assert_int_equal(chk_int("DBSIZE"), 0);
    assert_int_equal(it_service_stop(&reaping), 0);
}

/* Glob characters in the prefix: an unescaped pattern "t*[x]:*" would also
 * match "tzzx:foo". */
#define PREFIX "t*[x]:"

static void ephemeral_deletes_only_under_the_prefix(void **state) {
    (void)state;
    it_service_t svc;
    const char *const e[] = {"KEY_PREFIX=" PREFIX, NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, e));
    cJSON_Delete(chk_json(&svc, "POST", "/clients", "{\"id\":\"cam\"}", 201));
    cJSON_Delete(chk_json(&svc, "PUT", "/online-users/alice", NULL, 200));
    cJSON_Delete(
        chk_json(&svc, "POST", "/sessions", "{\"socket_id\":\"s\",\"user_id\":\"alice\"}", 201));
    cJSON_Delete(chk_json(&svc, "PUT", "/rooms/r/participants/bob", NULL, 201));
    cJSON_Delete(chk_json(&svc, "POST", "/rooms/r/messages",
                          "{\"sender_id\":\"bob\",\"content\":\"x\"}", 201));
    cJSON_Delete(chk_json(&svc, "POST", "/users/bob/notifications",
                          "{\"title\":\"t\",\"body\":\"b\"}", 201));
    redisReply *r = it_redis_cmd(&it_fx.redis, "EVAL %s 0 %s",
                                 "for i = 1, 2500 do redis.call('SET', ARGV[1] .. i, 'x') end",
                                 PREFIX "filler:");
    freeReplyObject(r);
    const char *foreign[] = {"tzzx:foo", "other:key", "t*[x]", "T*[x]:upper", "clients"};
    for (int i = 0; i < 5; i++)
        freeReplyObject(it_redis_cmd(&it_fx.redis, "SET %s keep", foreign[i]));
    long long all = chk_int("DBSIZE");
    assert_true(all > 2500 + 5 + 10);

    const char *refused[] = {"/admin/ephemeral", "/admin/ephemeral?confirm=false",
                             "/admin/ephemeral?confirm=yes", "/admin/ephemeral?confirm"};
    for (int i = 0; i < 4; i++) {
        it_resp_t resp = it_http(&svc, "DELETE", refused[i], NULL, NULL, 0);
        it_assert_problem(&resp, 400, "confirm");
        it_resp_free(&resp);
    }
    assert_int_equal(chk_int("DBSIZE"), all);

    cJSON *j = chk_json(&svc, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), all - 5);
    cJSON_Delete(j);
    assert_int_equal(chk_int("DBSIZE"), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(chk_int("EXISTS %s", foreign[i]), 1);
    j = chk_json(&svc, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), 0);
    cJSON_Delete(j);
    assert_int_equal(it_service_stop(&svc), 0);
}

static void ephemeral_refuses_without_a_prefix(void **state) {
    (void)state;
    freeReplyObject(it_redis_cmd(&it_fx.redis, "SET someone:else keep"));
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    chk_problem("DELETE", "/admin/ephemeral?confirm=true", NULL, 409, "KEY_PREFIX");
    chk_problem("DELETE", "/admin/ephemeral", NULL, 400, "confirm=true");
    chk_problem("GET", "/admin/ephemeral", NULL, 405, "not allowed");
    chk_problem("GET", "/admin/cleanup", NULL, 405, "not allowed");
    assert_int_equal(chk_int("DBSIZE"), 4);
}

/* ---- the key layout table in README.md ---- */

typedef struct {
    char pattern[96]; /* "user:{userId}:sessions" */
    char type[16];    /* as TYPE says it: string, set, zset, hash, list */
    bool ttl;         /* the Bound column starts with a TTL */
    int seen;
} row_t;

/* Copies cell n (from 0) of a "| a | b |" table line into out, trimmed and
 * without backticks; "" when the line has no such cell. */
static void cell(const char *line, int n, char *out, size_t cap) {
    const char *begin = line;
    out[0] = '\0';
    for (int i = 0; i <= n; i++) {
        begin = strchr(begin, '|');
        if (!begin)
            return;
        begin++;
    }
    const char *end = strchr(begin, '|');
    if (!end)
        return;
    while (begin < end && *begin == ' ')
        begin++;
    while (end > begin && end[-1] == ' ')
        end--;
    size_t o = 0;
    for (const char *p = begin; p < end && o + 1 < cap; p++)
        if (*p != '`')
            out[o++] = *p;
    out[o] = '\0';
}

static int read_layout(row_t *rows, int cap) {
    FILE *f = fopen("README.md", "r");
    if (!f)
        fail_msg("run from the repository root: README.md not found");
    char line[1024];
    bool in = false;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0)
            in = strncmp(line, "## Redis key layout", 19) == 0;
        if (!in || strncmp(line, "| `", 3) != 0 || n == cap)
            continue;
        char type[64], bound[512];
        cell(line, 0, rows[n].pattern, sizeof rows[n].pattern);
        cell(line, 1, type, sizeof type);
        cell(line, 3, bound, sizeof bound);
        snprintf(rows[n].type, sizeof rows[n].type, "%s",
                 strcmp(type, "sorted set") == 0 ? "zset" : type);
        rows[n].ttl = strncmp(bound, "TTL", 3) == 0;
        rows[n].seen = 0;
        n++;
    }
    fclose(f);
    return n;
}

static bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Does key match pattern, where each {name} stands for one id? */
static bool key_matches(const char *pattern, const char *key) {
    if (*pattern == '\0')
        return *key == '\0';
    if (*pattern != '{')
        return *pattern == *key && key_matches(pattern + 1, key + 1);
    const char *after = strchr(pattern, '}') + 1;
    for (const char *k = key; id_char(*k); k++) {
        if (key_matches(after, k + 1))
            return true;
    }
    return false;
}

/* Asserts key matches exactly one row, with that row's type and TTL. */
static void check_documented(row_t *rows, int n, const char *key) {
    int match = -1;
    for (int k = 0; k < n; k++) {
        if (key_matches(rows[k].pattern, key)) {
            if (match >= 0)
                fail_msg("key '%s' matches both '%s' and '%s'", key, rows[match].pattern,
                         rows[k].pattern);
            match = k;
        }
    }
    if (match < 0)
        fail_msg("key '%s' is not in README's key layout", key);
    rows[match].seen++;
    chk_key(key, rows[match].type, rows[match].ttl ? 1 : 0, rows[match].ttl ? 1 << 30 : 0);
}

static void every_key_matches_the_documented_layout(void **state) {
    (void)state;
    /* one of everything */
    cJSON_Delete(chk_json(&it_fx.svc, "POST", "/clients", "{\"id\":\"cam\"}", 201));
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/clients/cam/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    post_session(&it_fx.svc, "s1", AALBORG);
    assert_int_equal(chk_status("PUT", "/rooms/r1/participants/alice", NULL), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r1/participants/bob", NULL), 201);
    assert_int_equal(chk_status("PUT", "/rooms/r1/typing/alice", NULL), 200);
    assert_int_equal(
        chk_status("POST", "/rooms/r1/messages", "{\"sender_id\":\"alice\",\"content\":\"hi\"}"),
        201);
    assert_int_equal(chk_status("POST", "/users/bob/notifications",
                                "{\"title\":\"t\",\"body\":\"b\",\"priority\":\"high\"}"),
                     201);
    assert_int_equal(
        chk_status("POST", "/users/bob/notifications", "{\"title\":\"t\",\"body\":\"b\"}"), 201);

    row_t rows[64];
    int n = read_layout(rows, 64);
    assert_true(n >= 20);
    char cursor[32] = "0";
    int total = 0;
    do {
        redisReply *page = it_redis_cmd(&it_fx.redis, "SCAN %s COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", page->element[0]->str);
        for (size_t i = 0; i < page->element[1]->elements; i++, total++)
            check_documented(rows, n, page->element[1]->element[i]->str);
        freeReplyObject(page);
    } while (strcmp(cursor, "0") != 0);
    assert_int_equal(total, chk_int("DBSIZE"));
    const char *expected[] = {
        "clients",
        "clients:by_id",
        "clients:last_seen",
        "client:{id}",
        "image:{id}",
        "stats",
        "online_users",
        "online_users:by_id",
        "presence:{userId}",
        "session:{socketId}",
        "heartbeat:{socketId}",
        "user:{userId}:sessions",
        "region:{regionId}:members",
        "sessions:expiry",
        "sessions:owner",
        "rooms:active",
        "rooms:expiry",
        "room:{roomId}:participants",
        "room:{roomId}:typing",
        "room:{roomId}:messages",
        "typing:{roomId}:{userId}",
        "user:{userId}:rooms",
        "user:{userId}:offline_messages",
        "user:{userId}:notifications",
        "ratelimit:messages:{userId}",
        "notification_queue:high",
        "notification_queue:normal",
    };
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; e++) {
        int k = 0;
        while (k < n && strcmp(rows[k].pattern, expected[e]) != 0)
            k++;
        if (k == n)
            fail_msg("README's key layout has no row for '%s'", expected[e]);
        if (!rows[k].seen)
            fail_msg("no key in Redis matches '%s'", expected[e]);
    }
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cleanup_prunes_what_expired, it_flush),
        cmocka_unit_test_setup(the_reaper_prunes_sessions_on_its_own, it_flush),
        cmocka_unit_test_setup(ephemeral_deletes_only_under_the_prefix, it_flush),
        cmocka_unit_test_setup(ephemeral_refuses_without_a_prefix, it_flush),
        cmocka_unit_test_setup(every_key_matches_the_documented_layout, it_flush),
    };
    return cmocka_run_group_tests_name("integration: admin", tests, it_group_setup,
                                       it_group_teardown);
}
