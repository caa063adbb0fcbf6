/* Unit tests for core/decimal.c: the same digits as printf, at every width
 * and at both ends of the range. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/decimal.h"

static void signed_like_printf(void **state) {
    (void)state;
    static const long long cases[] = {0,
                                      1,
                                      -1,
                                      9,
                                      10,
                                      -10,
                                      99,
                                      100,
                                      123456789,
                                      -987654321,
                                      1763800000123LL,
                                      LLONG_MAX,
                                      LLONG_MIN,
                                      LLONG_MIN + 1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[CORE_DECIMAL_MAX + 8], want[32];
        memset(got, 'x', sizeof got);
        size_t n = core_decimal(cases[i], got);
        snprintf(want, sizeof want, "%lld", cases[i]);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(got, want, n);
        assert_true(n < CORE_DECIMAL_MAX);
        assert_int_equal(got[n], 'x'); /* no NUL, nothing past the digits */
    }
}

static void unsigned_like_printf(void **state) {
    (void)state;
    /* every power of ten and its neighbours, up to the largest value */
    unsigned long long p = 1;
    for (int k = 0; k < 20; k++, p *= 10) {
        unsigned long long vs[] = {p - 1, p, p + 1};
        for (int j = 0; j < 3; j++) {
            char got[CORE_DECIMAL_MAX], want[32];
            size_t n = core_decimal_u(vs[j], got);
            snprintf(want, sizeof want, "%llu", vs[j]);
            assert_int_equal(n, strlen(want));
            assert_memory_equal(got, want, n);
        }
    }
    char got[CORE_DECIMAL_MAX];
    size_t n = core_decimal_u(ULLONG_MAX, got);
    assert_int_equal(n, 20);
    assert_memory_equal(got, "18446744073709551615", 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signed_like_printf),
        cmocka_unit_test(unsigned_like_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
