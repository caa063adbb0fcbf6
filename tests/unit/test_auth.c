/* Unit tests for api/http/auth.c: which addresses count as loopback, for the
 * start-up warnings about routes left open (see tests/integration/test_doors.c
 * for the warnings themselves). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../api/http/auth.h"

static void loopback_addresses(void **state) {
    (void)state;
    static const char *const loopback[] = {"127.0.0.1", "127.255.255.254",  "127.1.2.3",
                                           "::1",       "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"};
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        if (!api_auth_loopback(loopback[i]))
            fail_msg("%s is loopback", loopback[i]);
    /* the wildcards, other machines' addresses, and what is not an address
     * (127.1 is what inet_aton reads as 127.0.0.1: not taken, so a warning) */
    static const char *const not_loopback[] = {
        "0.0.0.0",         "::",      "10.0.0.1", "128.0.0.1", "126.255.255.255", "::2",
        "::ffff:10.0.0.1", "fe80::1", "",         "localhost", "127.1",           "127.0.0.1 "};
    for (size_t i = 0; i < sizeof not_loopback / sizeof not_loopback[0]; i++)
        if (api_auth_loopback(not_loopback[i]))
            fail_msg("'%s' is not loopback", not_loopback[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loopback_addresses),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
