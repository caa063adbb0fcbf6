/* /admin over HTTP, and the key layout as documented: POST /admin/cleanup
 * prunes what expired (clients, presence, sessions in their user and region
 * sets, ended rooms) and says how much; the reaper does the same on its own; DELETE
 * /admin/ephemeral deletes every key of the service's shapes under KEY_PREFIX (a
 * prefix full of glob characters) and nothing else, not even the keys of an
 * instance whose prefix starts with this one's, and refuses without
 * confirm=true or without a prefix; and every key the service writes matches
 * README's key layout table in name, type and TTL. */
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
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_USER_SESSIONS, "u")), 3);
    assert_int_equal(chk_int("ZCARD %s", it_key(KEY_REGION_MEMBERS, "u4pruy")), 2);
    cJSON *j = chk_json(&quick, "POST", "/admin/cleanup", NULL, 200); /* its client timeout */
    assert_int_equal((int)it_json_num(j, "clients_removed"), 1);
    assert_int_equal((int)it_json_num(j, "presence_pruned"), 1);
    assert_int_equal((int)it_json_num(j, "sessions_pruned"), 2);
    assert_int_equal((int)it_json_num(j, "rooms_pruned"), 1);
    cJSON_Delete(j);
    chk_only_room("lasting");
    const char *only_s3[] = {it_key(KEY_USER_SESSIONS, "u"), it_key(KEY_REGION_MEMBERS, "u4pruy"),
                             it_key(KEY_SESSIONS_EXPIRY, "s3")};
    for (int i = 0; i < 3; i++) {
        redisReply *r = it_redis_cmd(&it_fx.redis, "ZRANGE %s 0 -1", only_s3[i]);
        assert_int_equal(r->elements, 1);
        assert_string_equal(r->element[0]->str, "s3");
        freeReplyObject(r);
    }
    long long owners = 0, expiring = 0;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        owners += chk_int("HLEN %s", it_index(KEY_SESSIONS_OWNER, b));
        expiring += chk_int("ZCARD %s", it_index(KEY_SESSIONS_EXPIRY, b));
    }
    assert_int_equal(owners, 1);
    assert_int_equal(expiring, 1);
    chk_no_key(it_key(KEY_HEARTBEAT, "s1"));
    chk_no_key(it_key(KEY_CLIENT, "cam"));
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
    assert_int_equal(chk_keys(), 0);
    assert_int_equal(it_service_stop(&reaping), 0);
}

/* One of everything, through service s. */
static void one_of_everything(const it_service_t *s) {
    cJSON_Delete(chk_json(s, "POST", "/clients", "{\"id\":\"cam\"}", 201));
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t r = it_http(s, "PUT", "/clients/cam/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    cJSON_Delete(chk_json(s, "PUT", "/online-users/alice", NULL, 200));
    post_session(s, "s1", AALBORG);
    cJSON_Delete(chk_json(s, "PUT", "/rooms/r1/participants/alice", NULL, 201));
    cJSON_Delete(chk_json(s, "PUT", "/rooms/r1/participants/bob", NULL, 201));
    cJSON_Delete(chk_json(s, "PUT", "/rooms/r1/typing/alice", NULL, 200));
    cJSON_Delete(chk_json(s, "POST", "/rooms/r1/messages",
                          "{\"sender_id\":\"alice\",\"content\":\"hi\"}", 201));
    cJSON_Delete(chk_json(s, "POST", "/users/bob/notifications",
                          "{\"title\":\"t\",\"body\":\"b\",\"priority\":\"high\"}", 201));
    cJSON_Delete(
        chk_json(s, "POST", "/users/bob/notifications", "{\"title\":\"t\",\"body\":\"b\"}", 201));
}

/* Every key in Redis, each a NUL-terminated string in one block (caller
 * frees), sorted; *n of them. */
static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
static char **all_keys(size_t *n) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "KEYS *");
    *n = r->elements;
    size_t bytes = 0;
    for (size_t i = 0; i < *n; i++)
        bytes += r->element[i]->len + 1;
    char **keys = malloc(sizeof *keys * (*n + 1) + bytes);
    char *p = (char *)(keys + *n + 1);
    for (size_t i = 0; i < *n; i++) {
        keys[i] = p;
        memcpy(p, r->element[i]->str, r->element[i]->len + 1);
        p += r->element[i]->len + 1;
    }
    freeReplyObject(r);
    qsort(keys, *n, sizeof *keys, by_name);
    return keys;
}

/* Glob characters in the prefix: an unescaped pattern "t*[x]:*" would also
 * match "tzzx:foo". Keys under the prefix that are not of the service's
 * shapes (filler, and the keys of an instance under "t*[x]:sub:") match the
 * pattern too, and stay. */
#define PREFIX "t*[x]:"

static void ephemeral_deletes_only_its_own_keys(void **state) {
    (void)state;
    it_service_t svc, sub;
    const char *const e[] = {"KEY_PREFIX=" PREFIX, NULL};
    const char *const e_sub[] = {"KEY_PREFIX=" PREFIX "sub:", NULL};
    assert_true(it_service_start(&svc, it_fx.redis.url, e));
    assert_true(it_service_start(&sub, it_fx.redis.url, e_sub));
    one_of_everything(&svc);
    one_of_everything(&sub);
    long long sub_keys = chk_keys() / 2;
    /* 2500 more keys of ours (several SCAN batches), and 100 that only look so */
    it_key_prefix(PREFIX);
    for (int i = 0; i < 2600; i++) {
        char id[32], name[STORE_KEY_MAX];
        snprintf(id, sizeof id, "filler-%d", i);
        if (i < 2500)
            snprintf(name, sizeof name, "%s", it_key(KEY_IMAGE, id));
        else
            snprintf(name, sizeof name, PREFIX "filler:%d", i);
        redisReply *r = it_redis_cmd(&it_fx.redis, "SET %s x", name);
        assert_non_null(r);
        freeReplyObject(r);
    }
    it_key_prefix("");
    const char *foreign[] = {"tzzx:foo", "other:key", "t*[x]", "T*[x]:upper", "clients"};
    for (int i = 0; i < 5; i++)
        freeReplyObject(it_redis_cmd(&it_fx.redis, "SET %s keep", foreign[i]));
    long long all = chk_keys();
    assert_int_equal(all, 2 * sub_keys + 2600 + 5);

    const char *refused[] = {"/admin/ephemeral", "/admin/ephemeral?confirm=false",
                             "/admin/ephemeral?confirm=yes", "/admin/ephemeral?confirm"};
    for (int i = 0; i < 4; i++) {
        it_resp_t resp = it_http(&svc, "DELETE", refused[i], NULL, NULL, 0);
        it_assert_problem(&resp, 400, "confirm");
        it_resp_free(&resp);
    }
    assert_int_equal(chk_keys(), all);

    size_t nsub;
    char **before = all_keys(&nsub);
    cJSON *j = chk_json(&svc, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), sub_keys + 2500);
    cJSON_Delete(j);
    assert_int_equal(chk_keys(), sub_keys + 100 + 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(chk_int("EXISTS %s", foreign[i]), 1);
    /* every key of the nested instance is there, unchanged in number */
    size_t n;
    char **after = all_keys(&n);
    size_t k = 0;
    for (size_t i = 0; i < nsub; i++)
        if (strncmp(before[i], PREFIX "sub:", strlen(PREFIX "sub:")) == 0) {
            while (k < n && strcmp(after[k], before[i]) < 0)
                k++;
            if (k == n || strcmp(after[k], before[i]) != 0)
                fail_msg("the wipe of '" PREFIX "' deleted '%s'", before[i]);
        }
    free(before);
    free(after);
    /* and it still answers with what it had */
    cJSON *cl = chk_json(&sub, "GET", "/clients/cam", NULL, 200);
    assert_int_equal((int)it_json_num(cl, "frame_number"), 1);
    cJSON_Delete(cl);
    cJSON_Delete(chk_json(&svc, "GET", "/clients", NULL, 200));
    j = chk_json(&svc, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), 0);
    cJSON_Delete(j);
    assert_int_equal(it_service_stop(&svc), 0);
    assert_int_equal(it_service_stop(&sub), 0);
}

/* Issue 11, item 6: instances with prefixes "tA:" and "tA:sub:" on one
 * Redis. The wipe of "tA:" leaves every key of "tA:sub:", and "tA:sub:"
 * still answers with all it had; the wipe of "tA:sub:" then leaves nothing
 * of either. */
static void nested_prefixes_wipe_apart(void **state) {
    (void)state;
    it_service_t outer, inner;
    const char *const e_outer[] = {"KEY_PREFIX=tA:", NULL};
    const char *const e_inner[] = {"KEY_PREFIX=tA:sub:", NULL};
    assert_true(it_service_start(&outer, it_fx.redis.url, e_outer));
    assert_true(it_service_start(&inner, it_fx.redis.url, e_inner));
    one_of_everything(&inner);
    long long inner_keys = chk_keys();
    one_of_everything(&outer);
    assert_int_equal(chk_keys(), 2 * inner_keys);
    cJSON *j = chk_json(&outer, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), inner_keys);
    cJSON_Delete(j);
    assert_int_equal(chk_keys(), inner_keys);
    redisReply *keys = it_redis_cmd(&it_fx.redis, "KEYS *");
    for (size_t i = 0; i < keys->elements; i++)
        if (strncmp(keys->element[i]->str, "tA:sub:", 7) != 0)
            fail_msg("'%s' is left after the wipe of tA:", keys->element[i]->str);
    freeReplyObject(keys);
    j = chk_json(&inner, "GET", "/clients/cam", NULL, 200);
    assert_int_equal((int)it_json_num(j, "frame_number"), 1);
    cJSON_Delete(j);
    j = chk_json(&inner, "GET", "/rooms/r1/messages", NULL, 200);
    chk_page(j, 1);
    cJSON_Delete(j);
    j = chk_json(&inner, "GET", "/users/u/sessions", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(chk_page(j, CHK_TOTAL_NULL)), 1);
    cJSON_Delete(j);
    j = chk_json(&inner, "DELETE", "/admin/ephemeral?confirm=true", NULL, 200);
    assert_int_equal((long long)it_json_num(j, "deleted"), inner_keys);
    cJSON_Delete(j);
    assert_int_equal(chk_keys(), 0);
    assert_int_equal(it_service_stop(&outer), 0);
    assert_int_equal(it_service_stop(&inner), 0);
}

static void ephemeral_refuses_without_a_prefix(void **state) {
    (void)state;
    freeReplyObject(it_redis_cmd(&it_fx.redis, "SET someone:else keep"));
    assert_int_equal(chk_status("PUT", "/online-users/alice", NULL), 200);
    chk_problem("DELETE", "/admin/ephemeral?confirm=true", NULL, 409, "KEY_PREFIX");
    chk_problem("DELETE", "/admin/ephemeral", NULL, 400, "confirm=true");
    chk_problem("GET", "/admin/ephemeral", NULL, 405, "not allowed");
    chk_problem("GET", "/admin/cleanup", NULL, 405, "not allowed");
    assert_int_equal(chk_keys(), 4);
}

/* ---- the key layout table in README.md ---- */

typedef struct {
    char pattern[96]; /* "user:{<tag>}:<userId>:sessions" */
    char type[16];    /* as TYPE says it: string, set, zset, hash, list */
    bool ttl;         /* the Bound column starts with a TTL */
    int seen;
} row_t;

/* The next cell separator '|' at or after p, skipping Markdown's escaped
 * "\|" (a pipe inside a cell); NULL when there is none. */
static const char *next_bar(const char *p) {
    for (; *p; p++) {
        if (*p == '\\' && p[1] == '|')
            p++;
        else if (*p == '|')
            return p;
    }
    return NULL;
}

/* Copies cell n (from 0) of a "| a | b |" table line into out, trimmed and
 * without backticks; "" when the line has no such cell. */
static void cell(const char *line, int n, char *out, size_t cap) {
    const char *begin = line;
    out[0] = '\0';
    for (int i = 0; i <= n; i++) {
        begin = next_bar(begin);
        if (!begin)
            return;
        begin++;
    }
    const char *end = next_bar(begin);
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

/* Does key match pattern, where <tag> stands for a bucket's tag and each
 * other <name> for one id? */
static bool key_matches(const char *pattern, const char *key) {
    if (*pattern == '\0')
        return *key == '\0';
    if (strncmp(pattern, "<tag>", 5) == 0) {
        for (int b = 0; b < STORE_BUCKETS; b++)
            if (strncmp(key, store_bucket_tag(b), 4) == 0)
                return key_matches(pattern + 5, key + 4);
        return false;
    }
    if (*pattern != '<')
        return *pattern == *key && key_matches(pattern + 1, key + 1);
    const char *after = strchr(pattern, '>') + 1;
    for (const char *k = key; id_char(*k); k++) {
        if (key_matches(after, k + 1))
            return true;
    }
    return false;
}

/* The rows of README's key layout that read_layout read. */
typedef struct {
    row_t *rows;
    int n;
} layout_t;

/* Asserts key matches exactly one row of the layout (a layout_t), with that
 * row's type and TTL. */
static void check_documented(const char *key, void *layout) {
    row_t *rows = ((layout_t *)layout)->rows;
    int n = ((layout_t *)layout)->n;
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
    store_key_parsed_t p;
    if (!store_key_parse(key, strlen(key), &p))
        fail_msg("key '%s' is not one of store/keys.c's shapes", key);
    rows[match].seen++;
    chk_key(key, rows[match].type, rows[match].ttl ? 1 : 0, rows[match].ttl ? 1 << 30 : 0);
}

static void every_key_matches_the_documented_layout(void **state) {
    (void)state;
    one_of_everything(&it_fx.svc);

    row_t rows[64];
    int n = read_layout(rows, 64);
    assert_true(n >= 20);
    layout_t layout = {rows, n};
    long long total = chk_each_key("*", check_documented, &layout);
    assert_int_equal(total, chk_int("DBSIZE")); /* every key, event streams too */
    const char *expected[] = {
        "clients:{<tag>}",
        "clients:last_seen:{<tag>}",
        "client:{<tag>}:<id>",
        "image:{<tag>}:<id>",
        "stats:{<tag>}",
        "online_users:{<tag>}",
        "online_users:by_id:{<tag>}",
        "presence:{<tag>}:<userId>",
        "session:{<tag>}:<socketId>",
        "heartbeat:{<tag>}:<socketId>",
        "user:{<tag>}:<userId>:sessions",
        "region:{<tag>}:<regionId>:members",
        "sessions:expiry:{<tag>}",
        "sessions:owner:{<tag>}",
        "rooms:active:{<tag>}",
        "rooms:expiry:{<tag>}",
        "room:{<tag>}:<roomId>:participants",
        "room:{<tag>}:<roomId>:typing",
        "room:{<tag>}:<roomId>:messages",
        "typing:{<tag>}:<roomId>:<userId>",
        "user:{<tag>}:<userId>:rooms",
        "user:{<tag>}:<userId>:offline_messages",
        "user:{<tag>}:<userId>:notifications",
        "ratelimit:messages:{<tag>}:<userId>",
        "notification_queue:high:{<tag>}",
        "notification_queue:normal:{<tag>}",
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
        cmocka_unit_test_setup(ephemeral_deletes_only_its_own_keys, it_flush),
        cmocka_unit_test_setup(nested_prefixes_wipe_apart, it_flush),
        cmocka_unit_test_setup(ephemeral_refuses_without_a_prefix, it_flush),
        cmocka_unit_test_setup(every_key_matches_the_documented_layout, it_flush),
    };
    return cmocka_run_group_tests_name("integration: admin", tests, it_group_setup,
                                       it_group_teardown);
}
