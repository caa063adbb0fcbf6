/* Unit tests for core/utf8.c, including the classic malformed sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_valid_text),
        cmocka_unit_test(rejects_malformed_text),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
