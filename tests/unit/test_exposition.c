/* Unit tests for api/http/exposition.c and core/histogram.c: which form an Accept
 * header gets, a counter's family named by each form's rule, a histogram's
 * lines (cumulative buckets, bounds as each form writes them), label
 * escaping, and OpenMetrics' closing # EOF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/http/exposition.h"
#include "../../core/histogram.h"

static char *finish(api_expo_t *x) {
    size_t len = 0;
    char *text = api_expo_finish(x, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void negotiation(void **state) {
    (void)state;
    assert_int_equal(api_expo_negotiate(NULL), API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate(""), API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate("*/*"), API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate("text/plain"), API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate("application/json"), API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate("application/openmetrics-text"), API_EXPO_OPENMETRICS);
    /* what Prometheus sends */
    assert_int_equal(api_expo_negotiate("application/openmetrics-text;version=1.0.0,application/"
                                        "openmetrics-text;version=0.0.1;q=0.75,text/plain;"
                                        "version=0.0.4;q=0.5,*/*;q=0.1"),
                     API_EXPO_OPENMETRICS);
    assert_int_equal(api_expo_negotiate("text/plain;q=0.9, application/openmetrics-text;q=0.5"),
                     API_EXPO_TEXT);
    assert_int_equal(api_expo_negotiate("application/openmetrics-text;q=0"), API_EXPO_TEXT);
}

static void counter_families(void **state) {
    (void)state;
    api_expo_t x;
    api_expo_init(&x, API_EXPO_TEXT);
    api_expo_family(&x, "jobs_total", "counter", "Jobs.");
    api_expo_put(&x, "jobs_total %d\n", 3);
    api_expo_family(&x, "queue_total", "gauge", "Not a counter.");
    char *text = finish(&x);
    assert_string_equal(text,
                        "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 3\n"
                        "# HELP queue_total Not a counter.\n# TYPE queue_total gauge\n");
    free(text);
    api_expo_init(&x, API_EXPO_OPENMETRICS);
    api_expo_family(&x, "jobs_total", "counter", "Jobs.");
    api_expo_put(&x, "jobs_total %d\n", 3);
    api_expo_family(&x, "queue_total", "gauge", "Not a counter.");
    text = finish(&x);
    assert_string_equal(text,
                        "# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total 3\n"
                        "# HELP queue_total Not a counter.\n# TYPE queue_total gauge\n"
                        "# EOF\n");
    free(text);
}

static void histograms(void **state) {
    (void)state;
    core_hist_t h;
    memset(&h, 0, sizeof h);
    core_hist_add(&h, 0.0001);
    core_hist_add(&h, 0.0005); /* on a bound: counts in it (le) */
    core_hist_add(&h, 0.003);
    core_hist_add(&h, 7);
    core_hist_add(&h, -1); /* as 0 */
    core_hist_read_t r;
    core_hist_read(&h, &r);
    assert_int_equal(r.count, 5);
    assert_int_equal(r.le[0], 3);
    assert_int_equal(r.le[2], 3);
    assert_int_equal(r.le[3], 4);
    assert_int_equal(r.le[CORE_HIST_BOUNDS - 1], 4);
    assert_true(r.sum > 7.0035 && r.sum < 7.0037);

    for (int form = 0; form < 2; form++) {
        api_expo_t x;
        api_expo_init(&x, form ? API_EXPO_OPENMETRICS : API_EXPO_TEXT);
        api_expo_histogram(&x, "d_seconds", "op=\"find\"", &r);
        char *text = finish(&x);
        assert_non_null(strstr(text, "d_seconds_bucket{op=\"find\",le=\"0.0005\"} 3\n"));
        assert_non_null(strstr(text, form ? "d_seconds_bucket{op=\"find\",le=\"1.0\"} 4\n"
                                          : "d_seconds_bucket{op=\"find\",le=\"1\"} 4\n"));
        assert_non_null(strstr(text, form ? "d_seconds_bucket{op=\"find\",le=\"2.5\"} 4\n"
                                          : "d_seconds_bucket{op=\"find\",le=\"2.5\"} 4\n"));
        assert_non_null(strstr(text,
                               "d_seconds_bucket{op=\"find\",le=\"+Inf\"} 5\n"
                               "d_seconds_sum{op=\"find\"} 7.003600\n"
                               "d_seconds_count{op=\"find\"} 5\n"));
        free(text);
    }
    /* no other labels */
    api_expo_t x;
    api_expo_init(&x, API_EXPO_TEXT);
    api_expo_histogram(&x, "d", "", &r);
    char *text = finish(&x);
    assert_non_null(strstr(text, "d_bucket{le=\"+Inf\"} 5\nd_sum 7.003600\nd_count 5\n"));
    free(text);
}

static void labels(void **state) {
    (void)state;
    char out[32];
    assert_string_equal(api_expo_label("a\"b\\c\nd", out, sizeof out), "a\\\"b\\\\c\\nd");
    assert_string_equal(api_expo_label("/clients/{id}", out, sizeof out), "/clients/{id}");
    char small[4];
    assert_string_equal(api_expo_label("\"\"\"", small, sizeof small), "\\\"");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negotiation),
        cmocka_unit_test(counter_families),
        cmocka_unit_test(histograms),
        cmocka_unit_test(labels),
    };
    return cmocka_run_group_tests_name("unit: exposition", tests, NULL, NULL);
}
