/* GET and HEAD never change state. Every GET route of the route table
 * (api_routes[], linked in: a route added there is covered here without a
 * change to this test), as GET and as HEAD, plain and with ?consume=true,
 * with its path parameters filled with ids that exist, is run against a Redis
 * that holds one of every kind of key the service writes and the leftovers
 * that reads used to prune (an ended room in the room indexes and in a user's
 * rooms, an expired session in its user's and region's sets, an expired
 * typing entry, an expired presence entry). After each request every key is
 * as it was: the same names, types and values (DUMP), and the same TTLs (none
 * added, none dropped, none refreshed), but for the exporter lease that a
 * scrape of /metrics takes (see exporter_lease). MongoDB runs too, so the
 * persistence routes answer 200 like the others, and its collections keep
 * their number of documents. */
#include <stdlib.h>

#include "../../api/routes.h"
#include "checks.h"

static it_mongo_t mongo;
static char mongo_env[160];
static const char *env[] = {mongo_env, "CLEANUP_INTERVAL_MS=3600000", NULL};

static int setup(void **state) {
    if (!it_mongo_start(&mongo)) {
        fprintf(stderr, "cannot start the MongoDB-compatible server ($MONGO_SERVER_BIN)\n");
        return -1;
    }
    snprintf(mongo_env, sizeof mongo_env, "MONGODB_URI=%s", mongo.uri);
    it_fixture_env = env;
    return it_group_setup(state);
}

static int teardown(void **state) {
    int rc = it_group_teardown(state);
    it_mongo_stop(&mongo);
    return rc;
}

/* ---- a snapshot of every key ---- */

typedef struct {
    char *name;
    char type[16];
    long long pttl; /* -1: none */
    char *dump;
    size_t dump_len;
} key_t_;

typedef struct {
    int n;
    key_t_ *keys;
} snapshot_t;

static int by_name(const void *a, const void *b) {
    return strcmp(((const key_t_ *)a)->name, ((const key_t_ *)b)->name);
}

/* GET /metrics takes or renews the exporter lease (store/lease.h): which
 * instance reports the figures every instance would read alike from Redis.
 * The one key a GET writes, and no data any answer shows. */
static bool exporter_lease(const char *name) {
    store_key_parsed_t p;
    return store_key_parse(name, strlen(name), &p) && p.kind == KEY_METRICS_EXPORTER;
}

/* snapshot's: adds key, as it is now, to the snapshot_t *snap. */
static void take_key(const char *name, void *snap) {
    snapshot_t *s = snap;
    if (exporter_lease(name))
        return;
    s->keys = realloc(s->keys, (s->n + 1) * sizeof *s->keys);
    key_t_ *k = &s->keys[s->n++];
    k->name = strdup(name);
    redisReply *t = it_redis_cmd(&it_fx.redis, "TYPE %s", k->name);
    snprintf(k->type, sizeof k->type, "%s", t->str);
    freeReplyObject(t);
    redisReply *p = it_redis_cmd(&it_fx.redis, "PTTL %s", k->name);
    k->pttl = p->integer;
    freeReplyObject(p);
    redisReply *d = it_redis_cmd(&it_fx.redis, "DUMP %s", k->name);
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    k->dump = malloc(d->len);
    memcpy(k->dump, d->str, d->len);
    k->dump_len = d->len;
    freeReplyObject(d);
}

static void snapshot(snapshot_t *s) {
    s->n = 0;
    s->keys = NULL;
    chk_each_key("*", take_key, s);
    qsort(s->keys, s->n, sizeof *s->keys, by_name);
}

static void snapshot_free(snapshot_t *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->keys[i].name);
        free(s->keys[i].dump);
    }
    free(s->keys);
}

static const char *const collections[] = {"users", "observations", "road_segments"};

static void count_documents(long counts[3]) {
    for (int i = 0; i < 3; i++) {
        counts[i] = it_mongo_count(&mongo, collections[i], "{}");
        assert_true(counts[i] >= 0);
    }
}

/* Fails naming the request and the first key (or collection) that differs
 * from before. */
static void assert_unchanged(const snapshot_t *before, const long documents[3],
                             const char *request) {
    long now[3];
    count_documents(now);
    for (int i = 0; i < 3; i++)
        if (now[i] != documents[i])
            fail_msg("%s changed the number of %s from %ld to %ld", request, collections[i],
                     documents[i], now[i]);
    snapshot_t after;
    snapshot(&after);
    for (int i = 0, j = 0; i < before->n || j < after.n;) {
        int cmp = i == before->n ? 1
                  : j == after.n ? -1
                                 : strcmp(before->keys[i].name, after.keys[j].name);
        if (cmp < 0)
            fail_msg("%s deleted key '%s'", request, before->keys[i].name);
        if (cmp > 0)
            fail_msg("%s created key '%s'", request, after.keys[j].name);
        const key_t_ *b = &before->keys[i++], *a = &after.keys[j++];
        if (strcmp(a->type, b->type) != 0)
            fail_msg("%s changed the type of '%s'", request, a->name);
        if (a->dump_len != b->dump_len || memcmp(a->dump, b->dump, a->dump_len) != 0)
            fail_msg("%s changed the value of '%s'", request, a->name);
        if ((a->pttl < 0) != (b->pttl < 0))
            fail_msg("%s %s the TTL of '%s'", request, a->pttl < 0 ? "removed" : "added", a->name);
        if (a->pttl > b->pttl) /* time only makes a TTL shorter */
            fail_msg("%s refreshed the TTL of '%s' (%lld ms, was %lld)", request, a->name, a->pttl,
                     b->pttl);
    }
    snapshot_free(&after);
}

/* ---- the state every GET route reads ---- */

static char user_oid[32], observation_oid[32], geohash[16];

static void created(const char *method, const char *path, const char *json) {
    cJSON_Delete(chk_json(&it_fx.svc, method, path, json, 201));
}

static void ok(const char *method, const char *path, const char *json) {
    cJSON_Delete(chk_json(&it_fx.svc, method, path, json, 200));
}

/* alice: online, with a session, in room r1 with bob, typing, with
 * notifications and an offline queue (filled before she came online). */
static void one_of_everything(void) {
    created("POST", "/clients", "{\"id\":\"cam\"}");
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t r = it_http(&it_fx.svc, "PUT", "/clients/cam/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    created("PUT", "/rooms/r1/participants/alice", NULL);
    created("PUT", "/rooms/r1/participants/bob", NULL);
    created("POST", "/rooms/r1/messages", "{\"sender_id\":\"bob\",\"content\":\"while away\"}");
    ok("PUT", "/online-users/alice", "{\"device_id\":\"phone\"}");
    created("POST", "/rooms/r1/messages", "{\"sender_id\":\"alice\",\"content\":\"back\"}");
    ok("PUT", "/rooms/r1/typing/alice", NULL);
    created("POST", "/sessions",
            "{\"socket_id\":\"s1\",\"user_id\":\"alice\","
            "\"location\":{\"latitude\":57.64911,\"longitude\":10.40744}}");
    created("POST", "/users/alice/notifications", "{\"title\":\"t\",\"body\":\"b\"}");
    created("POST", "/users/alice/notifications",
            "{\"title\":\"t\",\"body\":\"b\",\"priority\":\"high\"}");
    assert_int_equal(chk_int("LLEN %s", it_key(KEY_USER_OFFLINE, "alice")), 1);

    cJSON *j = chk_json(&it_fx.svc, "POST", "/accounts",
                        "{\"username\":\"reader\",\"name\":\"Reader\"}", 201);
    snprintf(user_oid, sizeof user_oid, "%s", it_json_str(j, "id"));
    cJSON_Delete(j);
    char body[256];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"location\":{\"latitude\":57.64911,\"longitude\":10.40744},"
             "\"quality\":0.5}",
             user_oid);
    j = chk_json(&it_fx.svc, "POST", "/observations", body, 201);
    snprintf(observation_oid, sizeof observation_oid, "%s", it_json_str(j, "id"));
    snprintf(geohash, sizeof geohash, "%s", it_json_str(j, "geohash"));
    cJSON_Delete(j);
    /* the background aggregator counts it into its road segment within 5 s:
     * wait for that write, or it lands in the middle of the reads below */
    char path[64];
    snprintf(path, sizeof path, "/road-segments/%s", geohash);
    for (int tries = 0; chk_status("GET", path, NULL) != 200; tries++) {
        assert_true(tries < 200 * it_time_scale());
        it_sleep_ms(50);
    }
}

/* What reads used to prune as they met it, and index entries whose entity
 * is gone (left by a crash between two steps: store/sessions.c, rooms.c). */
static void leftovers(void) {
    const struct {
        const char *cmd, *key, *member;
    } cmds[] = {
        {"ZADD %s 0 %s", it_key(KEY_ROOMS_ACTIVE, "ended"), "ended"},
        {"ZADD %s 1 %s", it_key(KEY_ROOMS_EXPIRY, "ended"), "ended"},
        {"ZADD %s 1 %s", it_key(KEY_USER_ROOMS, "alice"), "ended"},
        {"ZADD %s 9999999999999 %s", it_key(KEY_USER_ROOMS, "alice"), "left"},
        {"ZADD %s 1 %s", it_key(KEY_USER_SESSIONS, "alice"), "gone"},
        {"ZADD %s 9999999999999 %s", it_key(KEY_USER_SESSIONS, "alice"), "crashed"},
        {"ZADD %s 1 %s", it_key(KEY_REGION_MEMBERS, "u4pruy"), "gone"},
        {"ZADD %s 9999999999999 %s", it_key(KEY_REGION_MEMBERS, "u4pruy"), "crashed"},
        {"ZADD %s 1 %s", it_key(KEY_SESSIONS_EXPIRY, "gone"), "gone"},
        {"HSET %s %s alice", it_key(KEY_SESSIONS_OWNER, "gone"), "gone"},
        {"ZADD %s 1 %s", it_key(KEY_ROOM_TYPING, "r1"), "ghost"},
        {"ZADD %s 1 %s", it_key(KEY_ONLINE_USERS, "ghost"), "ghost"},
        {"ZADD %s 0 %s", it_key(KEY_ONLINE_USERS_BY_ID, "ghost"), "ghost"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        assert_int_equal(chk_int(cmds[i].cmd, cmds[i].key, cmds[i].member), 1);
}

/* ---- the routes ---- */

/* The value of path parameter {name} in a route whose first segment is first. */
static const char *param_value(const char *first, const char *name) {
    static const struct {
        const char *first, *name, *value;
    } values[] = {
        {"clients", "id", "cam"},
        {NULL, "accountId", user_oid},
        {"observations", "id", observation_oid},
        {NULL, "userId", "alice"},
        {NULL, "roomId", "r1"},
        {NULL, "socketId", "s1"},
        {NULL, "regionId", "u4pruy"},
        {NULL, "geohash", geohash},
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if ((!values[i].first || strcmp(values[i].first, first) == 0) &&
            strcmp(values[i].name, name) == 0)
            return values[i].value;
    return NULL;
}

/* Writes pattern with each {name} replaced by its value into out. */
static void fill(const char *pattern, char *out, size_t cap) {
    char first[64] = "";
    sscanf(pattern, "/%63[^/]", first);
    size_t n = 0;
    for (const char *p = pattern; *p && n + 1 < cap;) {
        if (*p != '{') {
            out[n++] = *p++;
            continue;
        }
        const char *end = strchr(p, '}');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
        const char *v = param_value(first, name);
        if (!v)
            fail_msg("route %s: this test has no value for {%s}; add one", pattern, name);
        n += (size_t)snprintf(out + n, cap - n, "%s", v);
        p = end + 1;
    }
    out[n < cap ? n : cap - 1] = '\0';
}

static void no_get_or_head_changes_anything(void **state) {
    (void)state;
    one_of_everything();
    leftovers();
    snapshot_t before;
    snapshot(&before);
    assert_true(before.n >= 25);
    /* the observation's segment is written by the aggregator, after the
     * answer: wait for it (bounded) so that no background write lands in
     * the middle of the reads */
    char why[256] = "";
    for (int i = 0;
         i < 100 * it_time_scale() && !it_mongo_segments_match(&mongo, NULL, why, sizeof why); i++)
        it_sleep_ms(50);
    long documents[3];
    count_documents(documents);
    assert_true(documents[0] == 1 && documents[1] == 1 && documents[2] == 1);
    int routes = 0;
    for (size_t i = 0; i < api_routes_count; i++) {
        if (api_routes[i].method != API_GET)
            continue;
        routes++;
        char path[256];
        fill(api_routes[i].pattern, path, sizeof path);
        if (strcmp(api_routes[i].pattern, "/events") == 0) {
            /* a stream never ends: it is opened, read a moment, closed */
            it_sse_t s;
            assert_true(it_sse_open(&s, it_fx.svc.port, "/events?consume=true", NULL, 0));
            assert_int_equal(s.status, 200);
            it_sse_event_t ev;
            assert_false(it_sse_next(&s, &ev, 200));
            it_sse_close(&s);
            assert_unchanged(&before, documents, "GET /events");
        }
        const char *methods[] = {"GET", "HEAD"}, *queries[] = {"", "?consume=true"};
        bool stream = strcmp(api_routes[i].pattern, "/events") == 0;
        for (int m = stream ? 1 : 0; m < 2; m++) {
            for (int q = 0; q < 2; q++) {
                char url[300], request[320];
                snprintf(url, sizeof url, "%s%s", path, queries[q]);
                snprintf(request, sizeof request, "%s %s", methods[m], url);
                it_resp_t r = it_http(&it_fx.svc, methods[m], url, NULL, NULL, 0);
                if (q == 0 && r.status != 200) /* the route really did its work */
                    fail_msg("%s answered %ld: %s", request, r.status, r.body);
                if (r.status >= 500)
                    fail_msg("%s answered %ld: %s", request, r.status, r.body);
                it_resp_free(&r);
                assert_unchanged(&before, documents, request);
            }
        }
    }
    assert_true(routes >= 25);
    snapshot_free(&before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_get_or_head_changes_anything),
    };
    return cmocka_run_group_tests_name("integration: reads change nothing", tests, setup, teardown);
}
