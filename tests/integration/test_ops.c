/* Operating the service: Prometheus metrics, request ids and request logs,
 * bearer tokens, CORS, connection limits and slow clients, and graceful
 * shutdown with requests in flight. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- helpers ---- */

static long metric(const char *text, const char *series) {
    const char *p = strstr(text, series);
    while (p && p != text && p[-1] != '\n')
        p = strstr(p + 1, series);
    return p ? atol(p + strlen(series)) : -1;
}

static char *scrape(const it_service_t *s, const char *auth) {
    const char *h[] = {auth, NULL};
    it_resp_t r = it_http(s, "GET", "/metrics", auth ? h : NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    char ct[64];
    it_header(&r, "Content-Type", ct, sizeof ct);
    assert_string_equal(ct, "text/plain; version=0.0.4");
    char *body = strdup(r.body);
    it_resp_free(&r);
    return body;
}

static int raw_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* True when the server closes fd within ms (reads until EOF or error). */
static bool closed_within(int fd, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return true;
        if (n < 0)
            return false;
    }
}

/* Which of the n connections the server closes within ms of the call, by the
 * clock (a failed connect counts as closed): closed[i]. */
static void closed_by(const int *fds, int n, int ms, bool *closed) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++)
        closed[i] = false;
    for (;;) {
        for (int i = 0; i < n; i++)
            closed[i] = closed[i] || fds[i] < 0 || closed_within(fds[i], 1);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
            return;
        it_sleep_ms(20);
    }
}

static long status_of(const it_service_t *s, const char *method, const char *path,
                      const char *auth) {
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    it_resp_t r = it_http(s, method, path, auth ? h : h + 1, NULL, 0);
    long st = r.status;
    if (st == 401) {
        char v[128];
        assert_true(it_header(&r, "WWW-Authenticate", v, sizeof v));
        assert_memory_equal(v, "Bearer", 6);
        it_assert_problem(&r, 401, "token");
    }
    it_resp_free(&r);
    return st;
}

/* ---- tests ---- */

static void metrics_count_by_route_template(void **state) {
    (void)state;
    char *before = scrape(&it_fx.svc, NULL);
    const char *series =
        "http_requests_total{method=\"GET\",route=\"/clients/{id}\",code=\"404\"} ";
    long n0 = metric(before, series);
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "/clients/nobody-%d", i);
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 404);
        it_resp_free(&r);
    }
    /* a request is counted once its response is sent, which can be just after the
     * client has read it: wait for the count (a slowed service, as under valgrind) */
    char *after = scrape(&it_fx.svc, NULL);
    for (int i = 0; i < 50 * it_time_scale() && (metric(after, series) < (n0 < 0 ? 0 : n0) + 3 ||
                                                 metric(after, "http_requests_in_flight ") != 0);
         i++) {
        it_sleep_ms(20);
        free(after);
        after = scrape(&it_fx.svc, NULL);
    }
    assert_int_equal(metric(after, series), (n0 < 0 ? 0 : n0) + 3);
    assert_true(metric(after,
                       "http_request_duration_seconds_count{method=\"GET\",route=\"/clients/"
                       "{id}\"} ") >= 3);
    assert_non_null(strstr(after,
                           "http_request_duration_seconds_bucket{method=\"GET\",route=\"/"
                           "clients/{id}\",le=\"0.0005\"}"));
    assert_int_equal(metric(after, "redis_up "), 1);
    assert_int_equal(metric(after, "mongodb_up "), 0);
    assert_int_equal(metric(after, "http_requests_in_flight "), 0);
    assert_true(metric(after, "process_resident_memory_bytes ") > 1000000);
    assert_true(metric(after, "process_open_fds ") > 3);
    assert_true(metric(after, "process_start_time_seconds ") > 1700000000);
    assert_non_null(strstr(after, "process_cpu_seconds_total "));
    assert_non_null(strstr(after, "redis_command_errors_total "));
    assert_non_null(strstr(after, "redis_reconnects_total "));
    assert_non_null(strstr(after, "# TYPE http_request_duration_seconds histogram"));
    /* application figures, from Redis */
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", "{\"id\":\"m1\"}");
    it_resp_free(&r);
    free(after);
    after = scrape(&it_fx.svc, NULL);
    assert_int_equal(metric(after, "rtstate_clients "), 1);
    assert_int_equal(metric(after, "rtstate_online_users "), 0);
    assert_int_equal(metric(after, "rtstate_frames_total "), 0);
    free(before);
    free(after);
}

static void random_paths_share_one_label(void **state) {
    (void)state;
    char *before = scrape(&it_fx.svc, NULL);
    long n0 =
        metric(before, "http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} ");
    for (int i = 0; i < 40; i++) {
        char path[64];
        snprintf(path, sizeof path, "/random/%d/%x", i, (unsigned)rand());
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        it_resp_free(&r);
    }
    /* A request is counted when its connection reports it complete, which
     * may come just after the client has read the answer (under valgrind,
     * well after): wait for the count, bounded, then check it exactly. */
    long want = (n0 < 0 ? 0 : n0) + 40, got = -1;
    char *after = NULL;
    for (int tries = 0; tries < (int)(100 * it_time_scale()); tries++) {
        free(after);
        after = scrape(&it_fx.svc, NULL);
        got =
            metric(after, "http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} ");
        if (got >= want)
            break;
        it_sleep_ms(20);
    }
    assert_int_equal(got, want);
    assert_null(strstr(after, "/random/"));
    free(before);
    free(after);
}

/* Finds the request line with this id in the service's log and checks it as a
 * log collector would read it. False while it is not there yet. */
static bool request_line_checked(const char *log, const char *request_id) {
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[2048], want[160];
    snprintf(want, sizeof want, "\"request_id\":\"%s\"", request_id);
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, want))
            continue;
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_string_equal(it_json_str(j, "level"), "info");
        assert_string_equal(it_json_str(j, "method"), "GET");
        assert_string_equal(it_json_str(j, "route"), "/clients/{id}");
        assert_int_equal((int)it_json_num(j, "status"), 404);
        assert_true(it_json_num(j, "duration_ms") >= 0);
        assert_true(it_json_num(j, "bytes") > 0);
        assert_string_equal(it_json_str(j, "remote"), "127.0.0.1");
        assert_non_null(it_json_str(j, "time"));
        cJSON_Delete(j);
        found = true;
    }
    fclose(f);
    return found;
}

static void request_ids_and_log_lines(void **state) {
    (void)state;
    const char *given[] = {"X-Request-Id: trace-abc.123", NULL};
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/nope", given, NULL, 0);
    char id[128];
    assert_true(it_header(&r, "X-Request-Id", id, sizeof id));
    assert_string_equal(id, "trace-abc.123"); /* kept, on an error too */
    it_resp_free(&r);
    const char *bad[] = {"X-Request-Id: has spaces and \"quotes\"", NULL};
    r = it_http(&it_fx.svc, "GET", "/readyz", bad, NULL, 0);
    assert_true(it_header(&r, "X-Request-Id", id, sizeof id));
    assert_int_equal(strlen(id), 16); /* replaced by a generated one */
    assert_null(strchr(id, ' '));
    it_resp_free(&r);
    /* the request log: one JSON object per request, with the route template;
     * request lines are written in batches (LOG_FLUSH_MS, 100 ms by default) */
    bool found = false;
    for (int waited = 0; !found && waited < 3000; waited += 50) {
        it_sleep_ms(50);
        found = request_line_checked(it_fx.svc.log, "trace-abc.123");
    }
    assert_true(found);
}

static void tokens(void **state) {
    (void)state;
    char file[256];
    snprintf(file, sizeof file, "%s/admin-token", it_fx.redis.dir);
    FILE *f = fopen(file, "w");
    fputs("adm-secret\n", f);
    fclose(f);
    char admin_file[300];
    snprintf(admin_file, sizeof admin_file, "ADMIN_TOKEN_FILE=%s", file);
    const char *env[] = {"API_TOKEN=api-secret", "READ_TOKEN=read-secret", admin_file, NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    const char *none = NULL, *wrong = "Authorization: Bearer guess",
               *read = "Authorization: Bearer read-secret",
               *api = "Authorization: Bearer api-secret", *adm = "Authorization: Bearer adm-secret",
               *basic = "Authorization: Basic YTpi";
    /* probes, the spec and the page stay open */
    assert_int_equal(status_of(&s, "GET", "/livez", none), 200);
    assert_int_equal(status_of(&s, "GET", "/readyz", none), 200);
    assert_int_equal(status_of(&s, "GET", "/openapi.yaml", none), 200);
    /* writes */
    assert_int_equal(status_of(&s, "POST", "/clients", none), 401);
    assert_int_equal(status_of(&s, "POST", "/clients", wrong), 401);
    assert_int_equal(status_of(&s, "POST", "/clients", basic), 401);
    assert_int_equal(status_of(&s, "POST", "/clients", read), 401);
    assert_int_equal(status_of(&s, "POST", "/clients", api), 201);
    assert_int_equal(status_of(&s, "POST", "/clients", adm), 201);
    /* reads, /health and /metrics */
    assert_int_equal(status_of(&s, "GET", "/clients", none), 401);
    assert_int_equal(status_of(&s, "GET", "/health", none), 401);
    assert_int_equal(status_of(&s, "GET", "/metrics", none), 401);
    assert_int_equal(status_of(&s, "GET", "/clients", read), 200);
    assert_int_equal(status_of(&s, "GET", "/metrics", read), 200);
    assert_int_equal(status_of(&s, "GET", "/health", api), 200);
    /* admin */
    assert_int_equal(status_of(&s, "POST", "/admin/cleanup", api), 401);
    assert_int_equal(status_of(&s, "POST", "/admin/cleanup", adm), 200);
    /* the wrong token is refused with the invalid_token error */
    const char *h[] = {wrong, NULL};
    it_resp_t r = it_http(&s, "DELETE", "/clients/x", h, NULL, 0);
    char v[128];
    it_header(&r, "WWW-Authenticate", v, sizeof v);
    assert_non_null(strstr(v, "invalid_token"));
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&s), 0);
}

static void cors(void **state) {
    (void)state;
    const char *env[] = {"CORS_ORIGINS=https://dash.example, https://ops.example", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    const char *pre[] = {"Origin: https://ops.example", "Access-Control-Request-Method: PUT",
                         "Access-Control-Request-Headers: content-type", NULL};
    it_resp_t r = it_http(&s, "OPTIONS", "/clients/x/image", pre, NULL, 0);
    assert_int_equal(r.status, 204);
    char v[256];
    assert_true(it_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_string_equal(v, "https://ops.example");
    assert_true(it_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
    assert_non_null(strstr(v, "PUT"));
    assert_true(it_header(&r, "Access-Control-Allow-Headers", v, sizeof v));
    assert_non_null(strstr(v, "Content-Type"));
    it_resp_free(&r);
    const char *other[] = {"Origin: https://evil.example", "Access-Control-Request-Method: PUT",
                           NULL};
    r = it_http(&s, "OPTIONS", "/clients/x/image", other, NULL, 0);
    assert_false(it_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    it_resp_free(&r);
    const char *simple[] = {"Origin: https://dash.example", NULL};
    r = it_http(&s, "GET", "/clients", simple, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(it_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_string_equal(v, "https://dash.example");
    assert_true(it_header(&r, "Access-Control-Expose-Headers", v, sizeof v));
    assert_non_null(strstr(v, "X-Request-Id"));
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&s), 0);
}

static void connection_limits_and_slow_clients(void **state) {
    (void)state;
    const char *env[] = {"MAX_CONNECTIONS_PER_IP=4", "IDLE_TIMEOUT_S=1", "MAX_HEADER_BYTES=8192",
                         "THREADS=1", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    /* a slowloris: half a request line, then nothing */
    int slow = raw_connect(s.port);
    assert_true(slow >= 0);
    assert_true(send(slow, "GET /livez HTTP/1.1\r\nHost: x\r\n", 31, 0) == 31);
    /* others are served meanwhile, on the same single worker thread. Each asks
     * the service to close its connection: a connection counts against its
     * address until the service has seen it close, and a client's own close
     * can reach a busy service after its next connect (the fifth would then
     * be refused as over MAX_CONNECTIONS_PER_IP, a race of the test's own) */
    const char *close_it[] = {"Connection: close", NULL};
    for (int i = 0; i < 5; i++) {
        it_resp_t r = it_http(&s, "GET", "/livez", close_it, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_true(r.seconds < 0.5 * it_time_scale());
        it_resp_free(&r);
    }
    assert_true(closed_within(slow, 3000)); /* dropped after the idle timeout */
    close(slow);
    /* four idle connections from one address are the most it keeps: the
     * fifth and sixth are closed, well before the idle timeout (1 s) would
     * close the others. The slowloris above can still count for a moment
     * after this test has seen it closed (libmicrohttpd ends a timed-out
     * connection before it reports it closed), so tried until the service
     * has seen it go, a bounded number of times; every try checks exactly */
    int held[6];
    bool closed[6], as_documented = false;
    for (int tries = 0; tries < 10 && !as_documented; tries++) {
        if (tries)
            it_sleep_ms(100 * (int)it_time_scale());
        for (int i = 0; i < 6; i++)
            held[i] = raw_connect(s.port);
        closed_by(held, 6, 600, closed);
        as_documented = true;
        for (int i = 0; i < 6; i++) {
            as_documented = as_documented && closed[i] == (i >= 4);
            if (held[i] >= 0)
                close(held[i]);
        }
    }
    for (int i = 0; i < 6; i++)
        assert_int_equal(closed[i], i >= 4);
    /* until the service has seen those four close, its next is over the limit */
    it_resp_t r = {0};
    for (int i = 0; i < 50 * it_time_scale() && r.status != 200; i++) {
        it_resp_free(&r);
        it_sleep_ms(20);
        r = it_http(&s, "GET", "/livez", close_it, NULL, 0);
    }
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    /* a header far over MAX_HEADER_BYTES is refused, and the server carries on */
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    char *hdr = malloc(20100);
    snprintf(hdr, 20100, "X-Big: %s", big);
    const char *hs[] = {hdr, NULL};
    r = it_http(&s, "GET", "/livez", hs, NULL, 0);
    assert_true(r.status == 431 || r.status == 413 || r.status == 400 || r.status == 0);
    it_resp_free(&r);
    free(big);
    free(hdr);
    r = it_http(&s, "GET", "/livez", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&s), 0);
}

/* MAX_CONNECTIONS_PER_IP counts over every event loop (each has a daemon of
 * its own, which would count only its own connections). */
static void per_address_limit_spans_every_loop(void **state) {
    (void)state;
    const char *env[] = {"MAX_CONNECTIONS_PER_IP=4", "THREADS=4", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    int scale = (int)it_time_scale();
    /* twice: the second time once the service has seen the first eight close
     * (the count goes down as they do); each tried until the service has
     * seen every earlier connection close (under valgrind that takes a
     * while), a bounded number of times */
    int refused = 0;
    for (int round = 0; round < 2; round++) {
        for (int tries = 0; tries < 20; tries++) {
            int held[8];
            for (int i = 0; i < 8; i++)
                held[i] = raw_connect(s.port);
            it_sleep_ms(300 * scale); /* the refused are closed by then; all at once,
                                       * well within the head deadline of the others */
            refused = 0;
            for (int i = 0; i < 8; i++)
                refused += held[i] < 0 || closed_within(held[i], 1);
            for (int i = 0; i < 8; i++)
                if (held[i] >= 0)
                    close(held[i]);
            it_sleep_ms(100 * scale);
            if (refused == 4)
                break;
        }
        assert_int_equal(refused, 4);
    }
    it_resp_t r = it_http(&s, "GET", "/livez", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&s), 0);
}

typedef struct {
    const it_service_t *svc;
    const char *id;
    long status;
} slow_req_t;

static void *post_client(void *arg) {
    slow_req_t *q = arg;
    char body[64];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", q->id);
    it_resp_t r = it_json_req(q->svc, "POST", "/clients", body);
    q->status = r.status;
    it_resp_free(&r);
    return NULL;
}

static void *stall_redis(void *arg) {
    redisReply *r = it_redis_cmd(arg, "DEBUG SLEEP 0.6");
    if (r)
        freeReplyObject(r);
    return NULL;
}

static void graceful_shutdown_finishes_requests_in_flight(void **state) {
    (void)state;
    const char *env[] = {"REDIS_TIMEOUT_MS=3000", "SHUTDOWN_DELAY_S=1", "SHUTDOWN_GRACE_S=10",
                         NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    /* warm every worker's connection so the stall below holds requests, not connects */
    for (int i = 0; i < 8; i++) {
        it_resp_t r = it_http(&s, "GET", "/readyz", NULL, NULL, 0);
        it_resp_free(&r);
    }
    pthread_t stall, t[4];
    slow_req_t q[4] = {
        {&s, "drain-a", 0}, {&s, "drain-b", 0}, {&s, "drain-c", 0}, {&s, "drain-d", 0}};
    pthread_create(&stall, NULL, stall_redis, &it_fx.redis);
    it_sleep_ms(100);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, post_client, &q[i]);
    it_sleep_ms(150); /* they are now waiting on Redis */
    kill(s.pid, SIGTERM);
    it_sleep_ms(200);
    /* draining: not ready any more, but still serving during SHUTDOWN_DELAY_S */
    it_resp_t r = it_http(&s, "GET", "/readyz?verbose", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "draining"));
    it_resp_free(&r);
    r = it_http(&s, "GET", "/livez", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(q[i].status, 201); /* in flight at the signal, and finished */
    }
    pthread_join(stall, NULL);
    int status = -1;
    for (int i = 0; i < 500 && s.pid; i++) {
        if (waitpid(s.pid, &status, WNOHANG) == s.pid)
            s.pid = 0;
        else
            it_sleep_ms(20);
    }
    assert_int_equal(s.pid, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(it_index_sum(&it_fx.redis, "ZCARD %s", KEY_CLIENTS) >= 4);
    unlink(s.log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_count_by_route_template),
        cmocka_unit_test(random_paths_share_one_label),
        cmocka_unit_test(request_ids_and_log_lines),
        cmocka_unit_test(tokens),
        cmocka_unit_test(cors),
        cmocka_unit_test(connection_limits_and_slow_clients),
        cmocka_unit_test(per_address_limit_spans_every_loop),
        cmocka_unit_test(graceful_shutdown_finishes_requests_in_flight),
    };
    return cmocka_run_group_tests_name("integration: operations", tests, it_group_setup,
                                       it_group_teardown);
}
