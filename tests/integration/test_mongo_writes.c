/* Writes to MongoDB that must be the truth: batches of 1, 100 and 1000
 * observations over distinct cells answer 2xx on FerretDB, road segments
 * follow every stored observation exactly once within 5 s, Idempotency-Key
 * makes a retry store nothing twice (replays, 422, 409, take-over), a service
 * SIGKILLed in the middle of a batch and retried with the same key ends with
 * every observation stored once, and one stalled write neither marks MongoDB
 * down nor answers a 5xx for rows it stored. Each test starts from empty
 * collections, against one FerretDB (or mongod). */
#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/timefmt.h"
#include "harness.h"

#define USER "0123456789abcdef01234567"

/* A drive north from (lat0, lon): row i is 0.0015 degrees (167 m) further,
 * so each row is in a cell of its own (a geohash-7 cell is 0.00137 degrees
 * high). Qualities are multiples of 1/4, so sums are exact. */
static char *drive(int n, double lat0, double lon) {
    size_t cap = (size_t)n * 128 + 8, used = 1;
    char *body = malloc(cap);
    body[0] = '[';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(body + used, cap - used,
                                 "%s{\"user_id\":\"" USER
                                 "\",\"location\":{\"latitude\":%.6f,\"longitude\":%.6f},"
                                 "\"quality\":%g}",
                                 i ? "," : "", lat0 + 0.0015 * i, lon, (i % 5) * 0.25);
    snprintf(body + used, cap - used, "]");
    return body;
}

static it_resp_t post_key(const it_service_t *s, const char *path, const char *key,
                          const char *json) {
    char header[320];
    snprintf(header, sizeof header, "Idempotency-Key: %s", key);
    const char *headers[] = {"Content-Type: application/json", header, NULL};
    return it_http(s, "POST", path, headers, json, strlen(json));
}

static int array_size(const cJSON *j, const char *name) {
    return cJSON_GetArraySize(cJSON_GetObjectItem(j, name));
}

/* The reproduction: 100 distinct cells answered 503 after about
 * 1.4 s on FerretDB (its update command of 100 matched statements never
 * returns), with every row stored. */
static void batches_of_1_100_1000_answer_2xx(void **state) {
    (void)state;
    const int sizes[] = {1, 100, 1000};
    long total = 0;
    for (int k = 0; k < 3; k++) {
        char *body = drive(sizes[k], 10.0 + 3 * k, 20.0);
        it_resp_t r = it_json_req(&it_fx.svc, "POST", "/observations/batch", body);
        free(body);
        if (r.status != 201)
            fail_msg("a batch of %d: %ld %s", sizes[k], r.status, r.body);
        cJSON *j = it_body_json(&r);
        assert_int_equal((int)it_json_num(j, "stored"), sizes[k]);
        assert_int_equal(array_size(j, "ids"), sizes[k]);
        assert_int_equal(array_size(j, "rejected"), 0);
        assert_int_equal(array_size(j, "failed"), 0);
        assert_int_equal(array_size(j, "unconfirmed"), 0);
        cJSON_Delete(j);
        it_resp_free(&r);
        total += sizes[k];
        assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), total);
        long cells = 0;
        it_mongo_segments_settle(&cells);
        assert_int_equal(cells, total); /* distinct cells, each with its segment */
    }
    /* and the service still answers, MongoDB up */
    it_resp_t r = it_http(&it_fx.svc, "GET", "/road-segments?limit=5", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

static void batch_replay_and_mismatch(void **state) {
    (void)state;
    char *body = drive(100, 30.0, 40.0);
    it_resp_t first = post_key(&it_fx.svc, "/observations/batch", "batch-key-1", body);
    assert_int_equal(first.status, 201);
    char replayed[16];
    assert_false(it_header(&first, "Idempotent-Replayed", replayed, sizeof replayed));
    it_resp_t again = post_key(&it_fx.svc, "/observations/batch", "batch-key-1", body);
    assert_int_equal(again.status, 201);
    assert_string_equal(again.body, first.body); /* the first answer, byte for byte */
    assert_true(it_header(&again, "Idempotent-Replayed", replayed, sizeof replayed));
    assert_string_equal(replayed, "true");
    it_resp_free(&again);
    it_resp_free(&first);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 100);
    /* the same key with another body, or on another path: 422, nothing stored */
    char *moved = drive(100, 30.0, 40.5);
    it_resp_t other = post_key(&it_fx.svc, "/observations/batch", "batch-key-1", moved);
    it_assert_problem(&other, 422, "Idempotency-Key");
    it_resp_free(&other);
    free(moved);
    other = post_key(&it_fx.svc, "/observations", "batch-key-1",
                     "{\"user_id\":\"" USER
                     "\",\"location\":{\"latitude\":1,\"longitude\":1},"
                     "\"quality\":0.5}");
    it_assert_problem(&other, 422, NULL);
    it_resp_free(&other);
    free(body);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 100);
    long cells;
    it_mongo_segments_settle(&cells);
    assert_int_equal(cells, 100);
    /* a malformed key is a 400 */
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    const char *bad[] = {longkey, "two words"};
    for (int i = 0; i < 2; i++) {
        it_resp_t r = post_key(&it_fx.svc, "/observations/batch", bad[i], "[{}]");
        it_assert_problem(&r, 400, "Idempotency-Key");
        it_resp_free(&r);
    }
}

static void single_observation_and_user_replay(void **state) {
    (void)state;
    const char *obs = "{\"user_id\":\"" USER
                      "\",\"location\":{\"latitude\":57.64911,"
                      "\"longitude\":10.40744},\"quality\":0.75}";
    it_resp_t a = post_key(&it_fx.svc, "/observations", "obs-key-1", obs);
    it_resp_t b = post_key(&it_fx.svc, "/observations", "obs-key-1", obs);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    char la[96], lb[96];
    assert_true(it_header(&a, "Location", la, sizeof la));
    assert_true(it_header(&b, "Location", lb, sizeof lb));
    assert_string_equal(la, lb);
    it_resp_free(&a);
    it_resp_free(&b);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 1);

    const char *user = "{\"username\":\"idem\",\"name\":\"Idem Potent\"}";
    a = post_key(&it_fx.svc, "/accounts", "user-key-1", user);
    b = post_key(&it_fx.svc, "/accounts", "user-key-1", user);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_true(it_header(&b, "Location", lb, sizeof lb));
    it_resp_free(&a);
    it_resp_free(&b);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{}"), 1);
    /* another key is another request: the username is taken */
    a = post_key(&it_fx.svc, "/accounts", "user-key-2", user);
    it_assert_problem(&a, 409, "idem");
    it_resp_free(&a);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{}"), 1);
}

/* The fingerprint the service keeps (README: SHA-256 of the method, the route
 * and the body, each of the first two ended by a NUL). */
static void fingerprint(const char *method, const char *route, const char *body, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, method, strlen(method) + 1);
    EVP_DigestUpdate(ctx, route, strlen(route) + 1);
    EVP_DigestUpdate(ctx, body, strlen(body));
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Another instance holds the key (its record, as it writes it): a duplicate
 * is 409 with Retry-After until its lease ends; then the retry takes the work
 * over and writes what the first attempt would have, with its clock. */
static void in_progress_is_409_then_taken_over(void **state) {
    (void)state;
    char *body = drive(10, 35.0, 45.0), fp[65], rec[512];
    fingerprint("POST", "/observations/batch", body, fp);
    int64_t now = core_now_ms(), first = now - 60 * 1000;
    snprintf(rec, sizeof rec,
             "{\"_id\":\"held-key\",\"fingerprint\":\"%s\",\"created_at\":{\"$date\":{"
             "\"$numberLong\":\"%lld\"}},\"lease_until\":{\"$date\":{\"$numberLong\":\"%lld\"}},"
             "\"owner\":\"0000000000000000000000aa\"}",
             fp, (long long)first, (long long)(now + 1500));
    assert_true(it_mongo_insert(&it_mongo, "idempotency", rec));
    it_resp_t r = post_key(&it_fx.svc, "/observations/batch", "held-key", body);
    it_assert_problem(&r, 409, "in progress");
    char after[16];
    assert_true(it_header(&r, "Retry-After", after, sizeof after));
    assert_true(atoi(after) >= 1 && atoi(after) <= 2);
    it_resp_free(&r);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 0);
    long status = 409;
    for (int i = 0; i < 60 * it_time_scale() && status == 409; i++) {
        it_sleep_ms(100);
        r = post_key(&it_fx.svc, "/observations/batch", "held-key", body);
        status = r.status;
        if (status != 409)
            break;
        it_resp_free(&r);
    }
    assert_int_equal(status, 201);
    cJSON *j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "stored"), 10);
    const char *id = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ids"), 0)->valuestring;
    /* an ObjectId begins with its time: the first attempt's */
    char secs[9];
    snprintf(secs, sizeof secs, "%08llx", (long long)(first / 1000));
    assert_memory_equal(id, secs, 8);
    char path[64];
    snprintf(path, sizeof path, "/observations/%s", id);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    j = it_body_json(&r);
    char want[32];
    core_iso8601(first, want);
    assert_string_equal(it_json_str(j, "created_at"), want);
    assert_string_equal(it_json_str(j, "recorded_at"), want); /* its default: that clock */
    cJSON_Delete(j);
    it_resp_free(&r);
    free(body);
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 10);
}

typedef struct {
    const it_service_t *svc;
    const char *key, *body;
} post_t;

static void *post_batch(void *arg) {
    const post_t *p = arg;
    it_resp_t r = post_key(p->svc, "/observations/batch", p->key, p->body);
    it_resp_free(&r); /* a killed service answers nothing: whatever came is ignored */
    return NULL;
}

/* Kills svc as soon as the batch's first rows are in MongoDB; returns how
 * many observations there were then. */
static long kill_mid_batch(it_service_t *svc, const char *key, const char *body, long before) {
    pthread_t t;
    post_t p = {svc, key, body};
    pthread_create(&t, NULL, post_batch, &p);
    long n = before;
    for (int i = 0; i < 5000 && n == before; i++)
        n = it_mongo_count(&it_mongo, "observations", "{}");
    it_service_kill(svc);
    n = it_mongo_count(&it_mongo, "observations", "{}");
    pthread_join(t, NULL);
    return n;
}

/* Retries until the key's lease has run out (409 meanwhile). */
static it_resp_t retry_until_taken(const it_service_t *svc, const char *key, const char *body) {
    it_resp_t r = {0};
    for (int i = 0; i < 100 * it_time_scale(); i++) {
        r = post_key(svc, "/observations/batch", key, body);
        if (r.status != 409)
            return r;
        it_resp_free(&r);
        it_sleep_ms(100);
    }
    return post_key(svc, "/observations/batch", key, body);
}

static void sigkill_mid_batch_then_retry(void **state) {
    (void)state;
    it_service_t svc;
    bool mid = false;
    long total = 0;
    for (int attempt = 0; attempt < 6 && !mid; attempt++) {
        char key[32];
        snprintf(key, sizeof key, "crash-%d", attempt);
        char *body = drive(1000, -40.0 + 3 * attempt, 100.0);
        assert_true(it_service_start(&svc, it_fx.redis.url, it_mongo_env));
        long at_kill = kill_mid_batch(&svc, key, body, total);
        mid = at_kill > total && at_kill < total + 1000;
        /* a new process, as after a crash, retrying with the same key */
        assert_true(it_service_start(&svc, it_fx.redis.url, it_mongo_env));
        it_resp_t r = retry_until_taken(&svc, key, body);
        if (r.status != 201)
            fail_msg("retry after the kill: %ld %s", r.status, r.body);
        cJSON *j = it_body_json(&r);
        assert_int_equal((int)it_json_num(j, "stored"), 1000);
        assert_int_equal(array_size(j, "failed"), 0);
        cJSON_Delete(j);
        it_resp_free(&r);
        total += 1000;
        /* every observation once, every segment equal to its observations */
        assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), total);
        long cells;
        it_mongo_segments_settle(&cells);
        assert_int_equal(cells, total);
        assert_int_equal(it_service_stop(&svc), 0);
        free(body);
        fprintf(stderr, "attempt %d: killed with %ld of the batch's 1000 rows stored%s\n", attempt,
                at_kill - (total - 1000), mid ? "" : "; again");
    }
    assert_true(mid); /* at least one kill landed between two chunks of the batch */
}

/* Holds SQLite's write lock on FerretDB's database file for ms: writes wait,
 * reads go on (WAL). */
typedef struct {
    char path[320];
    int ms;
    sqlite3 *db;
} stall_t;

static void *stall_writes(void *arg) {
    stall_t *s = arg;
    it_sleep_ms(s->ms);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(s->db);
    return NULL;
}

static bool begin_stall(stall_t *s, pthread_t *t) {
    snprintf(s->path, sizeof s->path, "%s/rtstate_test.sqlite", it_mongo.dir);
    if (sqlite3_open(s->path, &s->db) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return false;
    return pthread_create(t, NULL, stall_writes, s) == 0;
}

/* One write that MongoDB does not answer in time fails alone: reads go on,
 * MongoDB is not marked down, and what may have been stored is said so. */
static void stalled_write_fails_alone(void **state) {
    (void)state;
    if (!it_mongo_is_ferretdb(&it_mongo))
        skip(); /* the stall holds FerretDB's SQLite file; mongod has no such handle */
    it_resp_t r =
        it_json_req(&it_fx.svc, "POST", "/accounts", "{\"username\":\"reader\",\"name\":\"R\"}");
    assert_int_equal(r.status, 201);
    cJSON *j = it_body_json(&r);
    char path[64];
    snprintf(path, sizeof path, "/accounts/%s", it_json_str(j, "id"));
    cJSON_Delete(j);
    it_resp_free(&r);

    stall_t stall = {.ms = 5000}; /* three writes of 0.8 s each fit */
    pthread_t t;
    assert_true(begin_stall(&stall, &t));
    /* a batch: its first write (the segment queue) times out, nothing after it is sent */
    char *body = drive(10, 50.0, 50.0);
    r = it_json_req(&it_fx.svc, "POST", "/observations/batch", body);
    it_assert_problem(&r, 503, "did not answer in time");
    it_resp_free(&r);
    /* a user: sent, and not confirmed */
    const char *user = "{\"username\":\"stalled\",\"name\":\"S\"}";
    r = it_json_req(&it_fx.svc, "POST", "/accounts", user);
    it_assert_problem(&r, 503, "may or may not be stored");
    it_resp_free(&r);
    /* with a key, claiming the key is the write that times out */
    const char *keyed = "{\"username\":\"stalled-keyed\",\"name\":\"S\"}";
    r = post_key(&it_fx.svc, "/accounts", "stalled-user", keyed);
    it_assert_problem(&r, 503, NULL);
    it_resp_free(&r);
    /* meanwhile a read is served at once */
    r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(r.seconds < 0.5 * it_time_scale());
    it_resp_free(&r);
    pthread_join(t, NULL);

    r = it_http(&it_fx.svc, "GET", "/metrics", NULL, NULL, 0);
    assert_non_null(strstr(r.body, "\nmongodb_up 1\n"));
    /* the two inserts that timed out (the queue's, the user's) are failures */
    const char *failed = strstr(r.body, "\nmongodb_operation_errors_total{op=\"insert\"} ");
    assert_non_null(failed);
    assert_true(atol(failed + strlen("\nmongodb_operation_errors_total{op=\"insert\"} ")) >= 2);
    it_resp_free(&r);
    assert_false(it_file_contains(it_fx.svc.log, "mongodb down"));
    /* the batch stored nothing, as its 503 said; the user may be there */
    assert_int_equal(it_mongo_count(&it_mongo, "observations", "{}"), 0);
    assert_true(it_mongo_count(&it_mongo, "users", "{\"username\":\"stalled\"}") <= 1);
    /* the keyed retry stores its user once (409 while the stalled claim's lease runs) */
    long status = 0;
    for (int i = 0; i < 60 * it_time_scale() && status != 201; i++) {
        r = post_key(&it_fx.svc, "/accounts", "stalled-user", keyed);
        status = r.status;
        it_resp_free(&r);
        if (status != 201)
            it_sleep_ms(100);
    }
    assert_int_equal(status, 201);
    assert_int_equal(it_mongo_count(&it_mongo, "users", "{\"username\":\"stalled-keyed\"}"), 1);
    free(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(batches_of_1_100_1000_answer_2xx, it_mongo_clear_all),
        cmocka_unit_test_setup(batch_replay_and_mismatch, it_mongo_clear_all),
        cmocka_unit_test_setup(single_observation_and_user_replay, it_mongo_clear_all),
        cmocka_unit_test_setup(in_progress_is_409_then_taken_over, it_mongo_clear_all),
        cmocka_unit_test_setup(sigkill_mid_batch_then_retry, it_mongo_clear_all),
        cmocka_unit_test_setup(stalled_write_fails_alone, it_mongo_clear_all),
    };
    return cmocka_run_group_tests_name("integration: mongodb writes", tests, it_mongo_group_setup,
                                       it_mongo_group_teardown);
}
