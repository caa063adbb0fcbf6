/* Unit tests for core/geohash.c against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../core/geohash.h"

static void known_vectors(void **state) {
    (void)state;
    char out[CORE_GEOHASH_MAX + 1];
    assert_true(core_geohash_encode(57.64911, 10.40744, 11, out));
    assert_string_equal(out, "u4pruydqqvj");
    assert_true(core_geohash_encode(57.64911, 10.40744, 7, out));
    assert_string_equal(out, "u4pruyd");
    assert_true(core_geohash_encode(42.6, -5.6, 5, out));
    assert_string_equal(out, "ezs42");
    assert_true(core_geohash_encode(-25.382708, -49.265506, 6, out));
    assert_string_equal(out, "6gkzwg");
    assert_true(core_geohash_encode(0, 0, 1, out));
    assert_string_equal(out, "s");
    assert_true(core_geohash_encode(-90, -180, 4, out));
    assert_string_equal(out, "0000");
    assert_true(core_geohash_encode(90, 180, 4, out));
    assert_string_equal(out, "zzzz");
}

static void rejects_out_of_range(void **state) {
    (void)state;
    char out[CORE_GEOHASH_MAX + 1];
    assert_false(core_geohash_encode(90.0001, 0, 7, out));
    assert_false(core_geohash_encode(0, -180.5, 7, out));
    assert_false(core_geohash_encode(0, 0, 0, out));
    assert_false(core_geohash_encode(0, 0, 13, out));
    assert_false(core_geohash_encode(0.0 / 0.0, 0, 7, out)); /* NaN */
}

static void decode_contains_the_point(void **state) {
    (void)state;
    double a, b, c, d;
    assert_true(core_geohash_decode("u4pruyd", &a, &b, &c, &d));
    assert_true(a <= 57.64911 && 57.64911 <= c);
    assert_true(b <= 10.40744 && 10.40744 <= d);
    assert_true(c - a < 0.0014 && d - b < 0.0014); /* a precision-7 cell is ~150 m */
    assert_true(core_geohash_decode("s", &a, &b, &c, &d));
    assert_float_equal(a, 0, 1e-12);
    assert_float_equal(b, 0, 1e-12);
    assert_float_equal(c, 45, 1e-12);
    assert_float_equal(d, 45, 1e-12);
}

static void validity(void **state) {
    (void)state;
    assert_true(core_geohash_valid("u4pruyd", 7));
    assert_false(core_geohash_valid("u4pruyd", 6));
    assert_false(core_geohash_valid("u4pruya", 7)); /* 'a' is not in the alphabet */
    assert_false(core_geohash_valid("U4PRUYD", 7)); /* lower case only */
    assert_false(core_geohash_valid("", 0));
    assert_false(core_geohash_valid(NULL, 7));
    double a, b, c, d;
    assert_false(core_geohash_decode("0123456789bcd", &a, &b, &c, &d)); /* 13 characters */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vectors),
        cmocka_unit_test(rejects_out_of_range),
        cmocka_unit_test(decode_contains_the_point),
        cmocka_unit_test(validity),
    };
    return cmocka_run_group_tests_name("geohash", tests, NULL, NULL);
}
