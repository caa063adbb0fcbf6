/* GET /metrics as Prometheus reads it, from a service that has served
 * requests of several kinds (Redis and MongoDB ones): rtstate_build_info, a
 * method label on every HTTP series, a latency histogram only for the route
 * and method pairs that were asked for, MongoDB's latency and failures by
 * operation, OpenMetrics when the scrape asks for it (Vary: Accept on both
 * forms), and Prometheus's own tools accepting both forms. promtool is
 * $PROMTOOL, or what scripts/promtool.sh gives (it builds one once; make test
 * builds it beforehand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define USER "5f0c0c0c0c0c0c0c0c0c0c01"
#define PROMETHEUS_ACCEPT                                                                          \
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"             \
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* ---- helpers ---- */

/* The value of the sample line that starts with series (name and labels), or -1. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

/* How many lines start with prefix. */
static int lines_with(const char *text, const char *prefix) {
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* A scrape with the given Accept header line (or none): asserts 200, the
 * Content-Type and one Vary: Accept; returns the body (caller frees). */
static char *scrape(const char *accept, const char *content_type) {
    const char *h[] = {accept, NULL};
    it_resp_t r = it_http(&it_fx.svc, "GET", "/metrics", accept ? h : NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    char v[128];
    assert_int_equal(it_header_count(&r, "Content-Type"), 1);
    assert_true(it_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, content_type);
    assert_int_equal(it_header_count(&r, "Vary"), 1);
    assert_true(it_header(&r, "Vary", v, sizeof v));
    assert_string_equal(v, "Accept");
    char *body = strdup(r.body);
    it_resp_free(&r);
    return body;
}

static char *scrape_text(void) { return scrape(NULL, "text/plain; version=0.0.4"); }

static void call(const char *method, const char *path, const char *json, long status) {
    it_resp_t r = it_json_req(&it_fx.svc, method, path, json);
    assert_int_equal(r.status, status);
    it_resp_free(&r);
}

/* Requests of several kinds: Redis (a client, a list, a miss), MongoDB (an
 * observation stored and listed), a 405; then waits until the service has
 * counted them all (a request is counted just after its answer is sent). */
static void serve_a_few(void) {
    call("POST", "/clients", "{\"id\":\"cam1\"}", 201);
    call("GET", "/clients", NULL, 200);
    call("GET", "/clients/cam1", NULL, 200);
    call("GET", "/clients/nobody", NULL, 404);
    call("DELETE", "/clients/cam1", NULL, 204);
    call("PATCH", "/clients/cam1", NULL, 405);
    call("POST", "/observations",
         "{\"user_id\":\"" USER
         "\",\"location\":{\"latitude\":57.6,\"longitude\":11.9},"
         "\"quality\":0.5}",
         201);
    call("GET", "/observations?limit=5", NULL, 200);
    for (int i = 0; i < 100 * it_time_scale(); i++) {
        char *m = scrape_text();
        double busy = sample(m, "http_requests_in_flight");
        free(m);
        if (busy == 0)
            return;
        it_sleep_ms(20);
    }
    fail_msg("requests still in flight");
}

/* The histogram series of one label set, complete: 14 buckets, _sum, _count. */
static void assert_histogram(const char *text, const char *name, const char *labels, double count) {
    char prefix[256], series[256];
    snprintf(prefix, sizeof prefix, "%s_bucket{%s,le=", name, labels);
    assert_int_equal(lines_with(text, prefix), 14);
    snprintf(series, sizeof series, "%s_bucket{%s,le=\"+Inf\"}", name, labels);
    assert_true(sample(text, series) == count);
    snprintf(series, sizeof series, "%s_count{%s}", name, labels);
    assert_true(sample(text, series) == count);
    snprintf(series, sizeof series, "%s_sum{%s}", name, labels);
    assert_true(sample(text, series) >= 0);
}

/* ---- tests ---- */

static void build_info(void **state) {
    (void)state;
    char *m = scrape_text();
    const char *line = strstr(m, "\nrtstate_build_info{version=\"0.1.0\",revision=\"");
    assert_non_null(line);
    const char *rev = line + strlen("\nrtstate_build_info{version=\"0.1.0\",revision=\"");
    assert_true(strcspn(rev, "\"") >= 7); /* a commit, or "unknown" */
    assert_non_null(strstr(rev, "\",compiler=\""));
    assert_non_null(strstr(m, "\n# TYPE rtstate_build_info gauge\n"));
    free(m);
}

/* Each route template and method that was asked for has one histogram of its
 * own, labelled with both; nothing for what was not asked; a 405 counts under
 * the path's template and the method asked. */
static void method_label_and_lazy_histograms(void **state) {
    (void)state;
    serve_a_few();
    char *m = scrape_text();
    const char *h = "http_request_duration_seconds";
    assert_histogram(m, h, "method=\"GET\",route=\"/clients/{id}\"", 2);
    assert_histogram(m, h, "method=\"DELETE\",route=\"/clients/{id}\"", 1);
    assert_histogram(m, h, "method=\"PATCH\",route=\"/clients/{id}\"", 1);
    assert_histogram(m, h, "method=\"POST\",route=\"/observations\"", 1);
    assert_true(
        sample(m, "http_requests_total{method=\"GET\",route=\"/clients/{id}\",code=\"404\"}") == 1);
    assert_true(
        sample(m, "http_requests_total{method=\"PATCH\",route=\"/clients/{id}\",code=\"405\"}") ==
        1);
    /* nothing for a method or a route nobody asked for */
    assert_int_equal(lines_with(m, "http_request_duration_seconds_bucket{method=\"PUT\""), 0);
    assert_int_equal(lines_with(m,
                                "http_request_duration_seconds_bucket{method=\"GET\","
                                "route=\"/rooms/{roomId}\""),
                     0);
    assert_int_equal(lines_with(m, "http_requests_total{method=\"GET\",route=\"/rooms"), 0);
    /* every histogram series has both labels */
    assert_int_equal(lines_with(m, "http_request_duration_seconds_bucket{route="), 0);
    assert_int_equal(lines_with(m, "http_request_duration_seconds_bucket{"),
                     lines_with(m, "http_request_duration_seconds_bucket{method=\""));
    free(m);
}

/* Every MongoDB command is timed under its operation; a duplicate key (a 409
 * to the client) is no failure. */
static void mongodb_operations(void **state) {
    (void)state;
    serve_a_few();
    char *m = scrape_text();
    double inserts = sample(m, "mongodb_operation_duration_seconds_count{op=\"insert\"}"),
           finds = sample(m, "mongodb_operation_duration_seconds_count{op=\"find\"}");
    assert_true(inserts >= 1);
    assert_true(finds >= 1);
    assert_histogram(m, "mongodb_operation_duration_seconds", "op=\"insert\"", inserts);
    assert_true(sample(m, "mongodb_operation_errors_total{op=\"insert\"}") == 0);
    assert_true(sample(m, "mongodb_operation_errors_total{op=\"find\"}") == 0);
    assert_non_null(strstr(m, "\n# TYPE mongodb_operation_duration_seconds histogram\n"));
    assert_non_null(strstr(m, "\n# TYPE mongodb_operation_errors_total counter\n"));
    /* an operation that never ran has no series */
    assert_int_equal(lines_with(m, "mongodb_operation_errors_total{op=\"aggregate\"}"), 0);
    free(m);
    /* the same key twice: the second insert is answered, and is a conflict */
    const char *key = "Idempotency-Key: metrics-dup";
    const char *hdr[] = {"Content-Type: application/json", key, NULL};
    const char *obs = "{\"user_id\":\"" USER
                      "\",\"location\":{\"latitude\":1,\"longitude\":2},"
                      "\"quality\":1}";
    for (int i = 0; i < 2; i++) {
        it_resp_t r = it_http(&it_fx.svc, "POST", "/observations", hdr, obs, strlen(obs));
        assert_int_equal(r.status, 201);
        it_resp_free(&r);
    }
    m = scrape_text();
    assert_true(sample(m, "mongodb_operation_errors_total{op=\"insert\"}") == 0);
    assert_true(sample(m, "mongodb_operation_errors_total{op=\"update\"}") <= 0);
    assert_true(sample(m, "mongodb_operation_duration_seconds_count{op=\"insert\"}") > inserts);
    free(m);
}

/* What Prometheus sends gets OpenMetrics: counters' families without _total,
 * their samples with it, bounds as floats, # EOF last; anything else the text
 * form. */
static void openmetrics_negotiated(void **state) {
    (void)state;
    serve_a_few();
    char *m =
        scrape(PROMETHEUS_ACCEPT, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    size_t n = strlen(m);
    assert_true(n > 6 && strcmp(m + n - 6, "# EOF\n") == 0);
    assert_int_equal(lines_with(m, "# EOF"), 1);
    assert_non_null(strstr(m, "\n# TYPE http_requests counter\n"));
    assert_non_null(strstr(m, "\n# HELP http_requests HTTP"));
    assert_true(sample(m,
                       "http_requests_total{method=\"PATCH\",route=\"/clients/{id}\","
                       "code=\"405\"}") >= 1);
    assert_non_null(strstr(m, "\n# TYPE process_cpu_seconds counter\n"));
    assert_non_null(strstr(m, "\n# TYPE mongodb_operation_errors counter\n"));
    assert_int_equal(lines_with(m, "# TYPE redis_command_errors_total"), 0);
    /* every counter family's samples end in _total */
    for (const char *p = strstr(m, "# TYPE "); p; p = strstr(p + 1, "\n# TYPE ")) {
        const char *t = p[0] == '\n' ? p + 8 : p + 7;
        size_t len = strcspn(t, " ");
        if (strncmp(t + len, " counter\n", 9) != 0)
            continue;
        assert_false(len > 6 && strncmp(t + len - 6, "_total", 6) == 0);
        const char *first = t + len + 9; /* after the TYPE line */
        assert_true(strncmp(first, t, len) == 0 && strncmp(first + len, "_total", 6) == 0);
    }
    assert_true(sample(m,
                       "http_request_duration_seconds_bucket{method=\"GET\",route="
                       "\"/clients/{id}\",le=\"1.0\"}") >= 2);
    assert_int_equal(lines_with(m,
                                "http_request_duration_seconds_bucket{method=\"GET\",route="
                                "\"/clients/{id}\",le=\"1\"}"),
                     0);
    free(m);
    /* the text form for a plain scrape, a curl, and a browser */
    const char *accepts[] = {"Accept: text/plain", "Accept: */*",
                             "Accept: text/html,application/xhtml+xml,*/*;q=0.8"};
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        m = scrape(accepts[i], "text/plain; version=0.0.4");
        assert_non_null(strstr(m, "\n# TYPE http_requests_total counter\n"));
        assert_null(strstr(m, "# EOF"));
        free(m);
    }
}

/* The promtool to run: $PROMTOOL, or scripts/promtool.sh's (caller frees). */
static char *promtool(void) {
    const char *env = getenv("PROMTOOL");
    if (env && *env)
        return strdup(env);
    FILE *p = popen("scripts/promtool.sh", "r");
    assert_non_null(p);
    char path[1024] = "";
    if (!fgets(path, sizeof path, p))
        path[0] = '\0';
    int rc = pclose(p);
    path[strcspn(path, "\n")] = '\0';
    if (rc != 0 || !path[0])
        fail_msg("no promtool: scripts/promtool.sh failed (%d)", rc);
    return strdup(path);
}

/* Runs promtool with args (a shell fragment) on a file holding text: its
 * exit status, and what it said (stdout and stderr) in said. */
static int run_promtool(const char *tool, const char *args, const char *text, char *said,
                        size_t cap) {
    char file[] = "/tmp/rtstate-metrics-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "'%s' %s < '%s' 2>&1", tool, args, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(said, 1, cap - 1, p);
    said[n] = '\0';
    int rc = pclose(p);
    unlink(file);
    return rc;
}

/* text with a timestamp after every sample (backfilling wants one). */
static char *stamped(const char *text) {
    char *out = malloc(strlen(text) * 2 + 1), *o = out;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        memcpy(o, p, len);
        o += len;
        if (*p != '#')
            o += sprintf(o, " 1700000000");
        p += len;
        if (*p == '\n')
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* Prometheus's own tools accept both forms: its linter (`promtool check
 * metrics`, which reads the text format only) the text form without a single
 * remark, and its OpenMetrics parser (the one `promtool tsdb
 * create-blocks-from openmetrics` backfills with) the OpenMetrics form. */
static void promtool_accepts_both_forms(void **state) {
    (void)state;
    serve_a_few();
    char *tool = promtool(), said[4096];
    char *text = scrape_text();
    int rc = run_promtool(tool, "check metrics", text, said, sizeof said);
    if (rc != 0 || said[0])
        fail_msg("promtool check metrics: exit %d: %s", rc, said);
    free(text);

    char *om = scrape(PROMETHEUS_ACCEPT,
                      "application/openmetrics-text; version=1.0.0; "
                      "charset=utf-8");
    char *with_ts = stamped(om), dir[] = "/tmp/rtstate-blocks-XXXXXX", args[128];
    assert_non_null(mkdtemp(dir));
    snprintf(args, sizeof args, "tsdb create-blocks-from openmetrics /dev/stdin '%s/out'", dir);
    rc = run_promtool(tool, args, with_ts, said, sizeof said);
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
    if (rc != 0)
        fail_msg("promtool's OpenMetrics parser: exit %d: %s", rc, said);
    free(with_ts);
    free(om);
    free(tool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_info),
        cmocka_unit_test(method_label_and_lazy_histograms),
        cmocka_unit_test_setup(mongodb_operations, it_mongo_clear_all),
        cmocka_unit_test(openmetrics_negotiated),
        cmocka_unit_test(promtool_accepts_both_forms),
    };
    return cmocka_run_group_tests_name("integration: metrics", tests, it_mongo_group_setup,
                                       it_mongo_group_teardown);
}
