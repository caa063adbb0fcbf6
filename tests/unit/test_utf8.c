/* Unit tests for core/utf8.c: validation, including the classic malformed
 * sequences, and the one escaper in both its modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <cmocka.h>

#include "../../core/utf8.h"

#define VALID(s) assert_true(core_utf8_valid(s, sizeof(s) - 1))
#define INVALID(s) assert_false(core_utf8_valid(s, sizeof(s) - 1))

static void accepts_valid_text(void **state) {
    (void)state;
    VALID("");
    VALID("plain ascii");
    VALID("caf\xc3\xa9");      /* é */
    VALID("\xe2\x82\xac");     /* € */
    VALID("\xf0\x9f\x98\x80"); /* U+1F600 */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
    VALID("\xed\x9f\xbf");     /* U+D7FF, just below the surrogates */
    VALID("\xee\x80\x80");     /* U+E000, just above them */
}

static void rejects_malformed_text(void **state) {
    (void)state;
    INVALID("\x80");             /* lone continuation byte */
    INVALID("\xc3");             /* truncated */
    INVALID("\xe2\x82");         /* truncated */
    INVALID("\xc0\xaf");         /* overlong '/' */
    INVALID("\xe0\x80\xaf");     /* overlong '/' */
    INVALID("\xf0\x80\x80\xaf"); /* overlong '/' */
    INVALID("\xed\xa0\x80");     /* surrogate U+D800 */
    INVALID("\xed\xbf\xbf");     /* surrogate U+DFFF */
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xf5\x80\x80\x80");
    INVALID("\xff");
    INVALID("ok\xc3\x28"); /* bad continuation */
}

/* Escapes the len bytes of in with room to spare and compares with want. */
static void expect(core_utf8_mode_t mode, const char *in, size_t len, const char *want) {
    char out[256];
    size_t used = 0, n = core_utf8_escape(in, len, mode, out, sizeof out, &used);
    out[n] = '\0';
    assert_int_equal(used, len);
    if (strcmp(out, want) != 0)
        fail_msg("%s mode: got '%s', want '%s'", mode == CORE_UTF8_JSON ? "JSON" : "text", out,
                 want);
    assert_true(core_utf8_valid(out, n));
}
#define JSON(in, want) expect(CORE_UTF8_JSON, in, sizeof(in) - 1, want)
#define TEXT(in, want) expect(CORE_UTF8_TEXT, in, sizeof(in) - 1, want)

static void json_mode(void **state) {
    (void)state;
    JSON("", "");
    JSON("plain /path?q=1 {}", "plain /path?q=1 {}");
    JSON("q\"b\\s", "q\\\"b\\\\s");
    JSON("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
    JSON("nul \0 esc \x1b us \x1f del \x7f", "nul \\u0000 esc \\u001b us \\u001f del \\u007f");
    JSON("c1 \xc2\x80 \xc2\x9f", "c1 \\u0080 \\u009f");
    JSON("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* each maximal subpart of an ill-formed sequence is one U+FFFD */
    JSON("\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd");
    JSON("\xe2\x82(", "\xef\xbf\xbd(");                           /* cut short: one */
    JSON("\xf0\x9f\x98", "\xef\xbf\xbd");                         /* cut short at the end */
    JSON("\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* overlong: E0 needs A0-BF */
    JSON("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate: ED needs 80-9F */
    JSON("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
    JSON("\x80\xbf", "\xef\xbf\xbd\xef\xbf\xbd");
    /* what it writes is a JSON string any parser reads back */
    static const char in[] = "a\"\\\x01\x7f\xc2\x85\xe2\x82\xac\xff";
    char out[128] = "\"";
    size_t n = core_utf8_escape(in, sizeof in - 1, CORE_UTF8_JSON, out + 1, 100, NULL);
    memcpy(out + 1 + n, "\"", 2);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(j->valuestring, "a\"\\\x01\x7f\xc2\x85\xe2\x82\xac\xef\xbf\xbd");
    cJSON_Delete(j);
}

static void text_mode(void **state) {
    (void)state;
    TEXT("", "");
    TEXT("GET /clients \"quoted\"", "GET /clients \"quoted\"");
    TEXT("back\\slash", "back\\\\slash");
    TEXT("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07");
    TEXT("line\r\nforged 2026 error x", "line\\r\\nforged 2026 error x");
    TEXT("\t\b\f\0\x7f", "\\t\\x08\\x0c\\x00\\x7f");
    TEXT("csi \xc2\x9b nel \xc2\x85", "csi \\u009b nel \\u0085");
    TEXT("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
    /* ill-formed bytes are shown, a byte each */
    TEXT("\xff\xfe", "\\xff\\xfe");
    TEXT("\xe2\x82(", "\\xe2\\x82(");
    TEXT("\xf0\x9f\x98", "\\xf0\\x9f\\x98"); /* the longest: CORE_UTF8_ESC_MAX */
}

/* Every cap from 0 up: a prefix of the full text, never half an escape or
 * half a character, and used says how much of the input it stands for. */
static void cut_short_whole(void **state) {
    (void)state;
    static const char in[] = "ab\"\xe2\x82\xac\x1b\xff\xf0\x9f\x98\x80\xe2\x82zz";
    for (int m = 0; m < 2; m++) {
        core_utf8_mode_t mode = m ? CORE_UTF8_TEXT : CORE_UTF8_JSON;
        char full[256];
        size_t all = core_utf8_escape(in, sizeof in - 1, mode, full, sizeof full, NULL);
        size_t last_used = 0;
        for (size_t cap = 0; cap <= all; cap++) {
            char out[256];
            size_t used, n = core_utf8_escape(in, sizeof in - 1, mode, out, cap, &used);
            assert_true(n <= cap);
            assert_memory_equal(out, full, n);
            assert_true(used >= last_used);
            last_used = used;
            /* what was written is exactly the escape of what was used */
            char again[256];
            size_t k = core_utf8_escape(in, used, mode, again, sizeof again, NULL);
            assert_int_equal(k, n);
            assert_true(core_utf8_valid(out, n));
            if (cap == all)
                assert_int_equal(used, sizeof in - 1);
        }
        /* nothing fits, nothing is used, NULL out is fine */
        size_t used = 1;
        assert_int_equal(core_utf8_escape(in, sizeof in - 1, mode, NULL, 0, &used), 0);
        assert_int_equal(used, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_valid_text), cmocka_unit_test(rejects_malformed_text),
        cmocka_unit_test(json_mode),          cmocka_unit_test(text_mode),
        cmocka_unit_test(cut_short_whole),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
