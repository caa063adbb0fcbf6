/* Unit tests for core/ids.c: which ids may reach a Redis key, and random ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/ids.h"

static void assert_valid(const char *s) {
    if (!core_id_valid(s))
        fail_msg("expected '%s' to be a valid id", s);
}

static void assert_invalid(const char *s) {
    if (core_id_valid(s))
        fail_msg("expected '%s' to be rejected", s ? s : "(null)");
}

static void accepts_plain_ids(void **state) {
    (void)state;
    assert_valid("a");
    assert_valid("Z");
    assert_valid("0");
    assert_valid("client-1");
    assert_valid("user_42");
    assert_valid("cam.front.door");
    assert_valid("ABCxyz019");
    assert_valid("-");
    assert_valid("_");
    assert_valid("..."); /* only "." and ".." are special */
    assert_valid(".hidden");
    assert_valid("a..b");
    assert_valid("550e8400-e29b-41d4-a716-446655440000");
}

static void rejects_empty_and_dot_names(void **state) {
    (void)state;
    assert_invalid(NULL);
    assert_invalid("");
    assert_invalid(".");
    assert_invalid("..");
}

static void length_limit_is_128(void **state) {
    (void)state;
    char s[CORE_ID_MAX + 2];
    memset(s, 'x', sizeof s);
    s[CORE_ID_MAX] = '\0';
    assert_int_equal(strlen(s), 128);
    assert_valid(s);
    s[CORE_ID_MAX] = 'x';
    s[CORE_ID_MAX + 1] = '\0';
    assert_int_equal(strlen(s), 129);
    assert_invalid(s);
}

static void rejects_key_and_glob_metacharacters(void **state) {
    (void)state;
    assert_invalid("*");
    assert_invalid("a*");
    assert_invalid("a:b"); /* would change a key's meaning */
    assert_invalid("a b");
    assert_invalid("{x}"); /* a Redis Cluster hash tag */
    assert_invalid("[a]"); /* a glob class */
    assert_invalid("?");
    assert_invalid("a?b");
    assert_invalid("a/b");
    assert_invalid("a\\b");
    assert_invalid("a\tb");
    assert_invalid("a\nb");
    assert_invalid("a\rb");
    assert_invalid("a%20b");
    assert_invalid("a+b");
    assert_invalid("a@b");
    assert_invalid("\"a\"");
    assert_invalid("a'");
    assert_invalid("a,b");
    assert_invalid("a;b");
    assert_invalid("a=b");
    assert_invalid("a\x7f");
    assert_invalid("\x01");
}

static void rejects_non_ascii(void **state) {
    (void)state;
    assert_invalid("caf\xc3\xa9");  /* "café" in UTF-8 */
    assert_invalid("\xe2\x98\x83"); /* U+2603 */
    assert_invalid("a\xff");
    assert_invalid("\x80");
}

/* Every character of an id is in the documented alphabet. */
static bool all_alnum(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static void random_id_has_prefix_length_and_alphabet(void **state) {
    (void)state;
    char out[64];
    memset(out, '#', sizeof out);
    assert_true(core_random_id(out, sizeof out, "cl_", 20));
    assert_int_equal(strlen(out), 23);
    assert_memory_equal(out, "cl_", 3);
    assert_true(all_alnum(out + 3, 20));
    assert_true(core_id_valid(out));
}

static void random_id_without_prefix(void **state) {
    (void)state;
    char out[40];
    assert_true(core_random_id(out, sizeof out, "", 32));
    assert_int_equal(strlen(out), 32);
    assert_true(all_alnum(out, 32));
}

static void random_id_of_zero_length_is_the_prefix(void **state) {
    (void)state;
    char out[8];
    assert_true(core_random_id(out, sizeof out, "p-", 0));
    assert_string_equal(out, "p-");
}

static void random_id_longer_than_one_batch(void **state) {
    (void)state;
    /* more than the 32 random bytes drawn at a time, some of which are rejected */
    char out[CORE_ID_MAX + 1];
    assert_true(core_random_id(out, sizeof out, "", CORE_ID_MAX));
    assert_int_equal(strlen(out), CORE_ID_MAX);
    assert_true(all_alnum(out, CORE_ID_MAX));
    assert_true(core_id_valid(out));
}

static void random_id_exact_fit_and_overflow(void **state) {
    (void)state;
    char out[16];
    memset(out, '#', sizeof out);
    /* prefix 3 + 12 + NUL = 16: fits exactly */
    assert_true(core_random_id(out, sizeof out, "id_", 12));
    assert_int_equal(strlen(out), 15);
    /* one more does not fit, and nothing is written past cap */
    char big[32];
    memset(big, '#', sizeof big);
    assert_false(core_random_id(big, 16, "id_", 13));
    for (size_t i = 16; i < sizeof big; i++)
        assert_int_equal(big[i], '#');
    assert_false(core_random_id(out, 2, "ab", 0));
    assert_false(core_random_id(out, 0, "", 0));
}

static void random_ids_differ_and_use_the_whole_alphabet(void **state) {
    (void)state;
    /* 200 ids of 32 characters: 6400 draws from 62 letters. Duplicates are
     * astronomically unlikely; so is a letter that never shows up (62 * (61/62)^6400). */
    static char ids[200][33];
    bool seen[256] = {false};
    for (size_t i = 0; i < 200; i++) {
        assert_true(core_random_id(ids[i], sizeof ids[i], "", 32));
        for (size_t k = 0; k < 32; k++)
            seen[(unsigned char)ids[i][k]] = true;
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    int distinct = 0;
    for (int c = 0; c < 256; c++) {
        if (seen[c]) {
            assert_true(all_alnum((const char[]){(char)c}, 1));
            distinct++;
        }
    }
    assert_int_equal(distinct, 62);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_plain_ids),
        cmocka_unit_test(rejects_empty_and_dot_names),
        cmocka_unit_test(length_limit_is_128),
        cmocka_unit_test(rejects_key_and_glob_metacharacters),
        cmocka_unit_test(rejects_non_ascii),
        cmocka_unit_test(random_id_has_prefix_length_and_alphabet),
        cmocka_unit_test(random_id_without_prefix),
        cmocka_unit_test(random_id_of_zero_length_is_the_prefix),
        cmocka_unit_test(random_id_longer_than_one_batch),
        cmocka_unit_test(random_id_exact_fit_and_overflow),
        cmocka_unit_test(random_ids_differ_and_use_the_whole_alphabet),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
