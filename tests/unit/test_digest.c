/* Unit tests for core/digest: known SHA-256 vectors of the framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/digest.h"

static void strings_end_with_their_nul(void **state) {
    (void)state;
    char hex[65];
    const char *abc[] = {"abc", NULL};
    core_sha256_hex(abc, NULL, 0, hex); /* SHA-256 of "abc\0" */
    assert_string_equal(hex, "dc1114cd074914bd872cc1f9a23ec910ea2203bc79779ab2e17da25782a624fc");
    const char *ab[] = {"a", "b", NULL};
    core_sha256_hex(ab, "c", 1, hex); /* "a\0b\0c": the tail has no NUL */
    assert_string_equal(hex, "8badde10c760e9b702defb4b5e225de79c515b1d2a5cfb000e140f3c6fbb5629");
    const char *none[] = {NULL};
    core_sha256_hex(none, NULL, 0, hex); /* nothing at all */
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void lists_do_not_run_into_each_other(void **state) {
    (void)state;
    unsigned char x[CORE_SHA256_LEN], y[CORE_SHA256_LEN];
    const char *a[] = {"ab", "c", NULL}, *b[] = {"a", "bc", NULL};
    core_sha256(a, NULL, 0, x);
    core_sha256(b, NULL, 0, y);
    assert_memory_not_equal(x, y, sizeof x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_end_with_their_nul),
        cmocka_unit_test(lists_do_not_run_into_each_other),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
