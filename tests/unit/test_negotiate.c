/* Unit tests for api/http/negotiate.c: Accept header quality for a media type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../api/http/negotiate.h"

#define Q(accept, type) api_accept_quality(accept, type)

static void absent_or_empty_accepts_all(void **state) {
    (void)state;
    assert_float_equal(Q(NULL, "image/jpeg"), 1.0, 1e-9);
    assert_float_equal(Q("", "application/json"), 1.0, 1e-9);
    assert_float_equal(Q("  ", "application/json"), 1.0, 1e-9);
}

static void exact_and_wildcards(void **state) {
    (void)state;
    assert_float_equal(Q("application/json", "application/json"), 1.0, 1e-9);
    assert_float_equal(Q("application/json", "image/jpeg"), 0.0, 1e-9);
    assert_float_equal(Q("image/*", "image/png"), 1.0, 1e-9);
    assert_float_equal(Q("image/*", "application/json"), 0.0, 1e-9);
    assert_float_equal(Q("*/*", "image/webp"), 1.0, 1e-9);
    assert_float_equal(Q("Application/JSON", "application/json"), 1.0, 1e-9);
    /* a longer or shorter name is not a match */
    assert_float_equal(Q("application/jsonx", "application/json"), 0.0, 1e-9);
    assert_float_equal(Q("application/js", "application/json"), 0.0, 1e-9);
}

static void q_values(void **state) {
    (void)state;
    assert_float_equal(Q("application/json;q=0.5, image/*;q=0.9", "application/json"), 0.5, 1e-9);
    assert_float_equal(Q("application/json;q=0.5, image/*;q=0.9", "image/jpeg"), 0.9, 1e-9);
    assert_float_equal(Q("application/json, image/*;q=0", "image/png"), 0.0, 1e-9);
    assert_float_equal(Q("text/html ; level=1 ; q=0.3", "text/html"), 0.3, 1e-9);
    assert_float_equal(Q("image/png;Q=0.2", "image/png"), 0.2, 1e-9);
    /* malformed or out-of-range q reads as 1 */
    assert_float_equal(Q("image/png;q=abc", "image/png"), 1.0, 1e-9);
    assert_float_equal(Q("image/png;q=7", "image/png"), 1.0, 1e-9);
}

static void most_specific_range_wins(void **state) {
    (void)state;
    assert_float_equal(Q("*/*;q=0.1, image/*;q=0.5, image/jpeg;q=0.8", "image/jpeg"), 0.8, 1e-9);
    assert_float_equal(Q("image/jpeg;q=0.8, image/*;q=0.5, */*;q=0.1", "image/png"), 0.5, 1e-9);
    assert_float_equal(Q("image/jpeg;q=0.8, */*;q=0.1", "application/json"), 0.1, 1e-9);
    assert_float_equal(Q("image/*;q=0, image/webp", "image/webp"), 1.0, 1e-9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absent_or_empty_accepts_all),
        cmocka_unit_test(exact_and_wildcards),
        cmocka_unit_test(q_values),
        cmocka_unit_test(most_specific_range_wins),
    };
    return cmocka_run_group_tests_name("negotiate", tests, NULL, NULL);
}
