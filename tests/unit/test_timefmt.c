/* Unit tests for core/timefmt.c: ISO 8601 in both directions, HTTP dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../../core/timefmt.h"

/* Parses s, asserting success, and returns the milliseconds. */
static int64_t parse_ok(const char *s) {
    int64_t ms = 0;
    if (!core_iso8601_parse(s, &ms))
        fail_msg("expected '%s' to parse", s);
    return ms;
}

/* Asserts s is rejected and *ms is left alone. */
static void parse_bad(const char *s) {
    int64_t ms = 424242;
    if (core_iso8601_parse(s, &ms))
        fail_msg("expected '%s' to be rejected, got %lld", s ? s : "(null)", (long long)ms);
    assert_int_equal(ms, 424242);
}

static void format_epoch(void **state) {
    (void)state;
    char out[CORE_ISO8601_LEN];
    core_iso8601(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void format_known_instants(void **state) {
    (void)state;
    static const struct {
        int64_t ms;
        const char *iso;
    } cases[] = {
        {1758364245123, "2025-09-20T10:30:45.123Z"}, {1709251199999, "2024-02-29T23:59:59.999Z"},
        {951782400000, "2000-02-29T00:00:00.000Z"},  {2147483648000, "2038-01-19T03:14:08.000Z"},
        {4107499200000, "2100-02-28T12:00:00.000Z"}, {13574563200000, "2400-02-29T00:00:00.000Z"},
        {1005, "1970-01-01T00:00:01.005Z"},
    };
    char out[CORE_ISO8601_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_iso8601(cases[i].ms, out);
        assert_string_equal(out, cases[i].iso);
    }
}

static void format_before_epoch(void **state) {
    (void)state;
    char out[CORE_ISO8601_LEN];
    core_iso8601(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    core_iso8601(-1000, out);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    core_iso8601(-2203891200000, out);
    assert_string_equal(out, "1900-03-01T00:00:00.000Z");
}

static void parse_utc_z(void **state) {
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.123Z"), 1758364245123);
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z"), 2147483648000);
    /* RFC 3339 allows lower-case separators */
    assert_int_equal(parse_ok("2025-09-20t10:30:45.123z"), 1758364245123);
}

static void parse_leap_second(void **state) {
    (void)state;
    /* RFC 3339 allows second 60 on a leap-second day; it is the next second on a POSIX clock */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2017-01-01T00:00:00Z"));
}

static void parse_before_epoch(void **state) {
    (void)state;
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1900-03-01T00:00:00Z"), -2203891200000);
}

static void parse_offsets(void **state) {
    (void)state;
    const int64_t want = 1758364245123; /* 2025-09-20T10:30:45.123Z */
    assert_int_equal(parse_ok("2025-09-20T12:30:45.123+02:00"), want);
    assert_int_equal(parse_ok("2025-09-20T05:00:45.123-05:30"), want);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.123+00:00"), want);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.123-00:00"), want);
    /* an offset that moves the instant across a day and a year boundary */
    assert_int_equal(parse_ok("2025-01-01T01:00:00+02:00"), parse_ok("2024-12-31T23:00:00Z"));
    assert_int_equal(parse_ok("2024-12-31T20:00:00-04:00"), parse_ok("2025-01-01T00:00:00Z"));
    assert_int_equal(parse_ok("2025-01-01T00:00:00+23:59"), parse_ok("2024-12-31T00:01:00Z"));
}

static void parse_fractions(void **state) {
    (void)state;
    const int64_t base = 1758364245000; /* 2025-09-20T10:30:45Z */
    assert_int_equal(parse_ok("2025-09-20T10:30:45Z"), base);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.1Z"), base + 100);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.12Z"), base + 120);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.123Z"), base + 123);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.000Z"), base);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.007Z"), base + 7);
    /* digits past milliseconds are truncated, up to nanoseconds */
    assert_int_equal(parse_ok("2025-09-20T10:30:45.1239Z"), base + 123);
    assert_int_equal(parse_ok("2025-09-20T10:30:45.999999999Z"), base + 999);
    assert_int_equal(parse_ok("2025-09-20T12:30:45.5+02:00"), base + 500);
}

static void parse_bad_fractions(void **state) {
    (void)state;
    parse_bad("2025-09-20T10:30:45.Z");
    parse_bad("2025-09-20T10:30:45.1234567890Z"); /* more than 9 digits */
    parse_bad("2025-09-20T10:30:45,123Z");
    parse_bad("2025-09-20T10:30:45.12aZ");
    parse_bad("2025-09-20T10:30:45.");
}

static void parse_leap_years(void **state) {
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T23:59:59.999Z"), 1709251199999);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000);
    assert_int_equal(parse_ok("2400-02-29T00:00:00Z"), 13574563200000);
    assert_int_equal(parse_ok("2023-02-28T00:00:00Z") + 86400000, parse_ok("2023-03-01T00:00:00Z"));
    assert_int_equal(parse_ok("2024-02-28T00:00:00Z") + 2 * 86400000LL,
                     parse_ok("2024-03-01T00:00:00Z"));
    parse_bad("2023-02-29T00:00:00Z"); /* not divisible by 4 */
    parse_bad("1900-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
}

static void parse_bad_dates(void **state) {
    (void)state;
    parse_bad("2025-00-10T00:00:00Z");
    parse_bad("2025-13-10T00:00:00Z");
    parse_bad("2025-01-00T00:00:00Z");
    parse_bad("2025-01-32T00:00:00Z");
    parse_bad("2025-04-31T00:00:00Z");
    parse_bad("2025-06-31T00:00:00Z");
    parse_bad("2025-09-31T00:00:00Z");
    parse_bad("2025-11-31T00:00:00Z");
    parse_bad("2025-9-20T10:30:45Z");
    parse_bad("25-09-20T10:30:45Z");
    parse_bad("2025/09/20T10:30:45Z");
    parse_bad("20250920T103045Z");
}

static void parse_bad_times(void **state) {
    (void)state;
    parse_bad("2025-09-20T24:00:00Z");
    parse_bad("2025-09-20T10:60:00Z");
    parse_bad("2025-09-20T10:30:61Z");
    parse_bad("2025-09-20T1:30:45Z");
    parse_bad("2025-09-20T10:30Z");
    parse_bad("2025-09-20T10-30-45Z");
    parse_bad("2025-09-20 10:30:45Z");
    parse_bad("2025-09-20X10:30:45Z");
}

static void parse_bad_zones(void **state) {
    (void)state;
    parse_bad("2025-09-20T10:30:45");     /* no zone: local time is ambiguous */
    parse_bad("2025-09-20T10:30:45.123"); /* same, with a fraction */
    parse_bad("2025-09-20T10:30:45+02");
    parse_bad("2025-09-20T10:30:45+0200");
    parse_bad("2025-09-20T10:30:45+2:00");
    parse_bad("2025-09-20T10:30:45+24:00");
    parse_bad("2025-09-20T10:30:45+02:60");
    parse_bad("2025-09-20T10:30:45 +02:00");
    parse_bad("2025-09-20T10:30:45UTC");
    parse_bad("2025-09-20T10:30:45GMT");
}

static void parse_rejects_junk(void **state) {
    (void)state;
    parse_bad(NULL);
    parse_bad("");
    parse_bad("2025-09-20");
    parse_bad("2025");
    parse_bad("now");
    parse_bad(" 2025-09-20T10:30:45Z");
    parse_bad("2025-09-20T10:30:45Z ");
    parse_bad("2025-09-20T10:30:45Zjunk");
    parse_bad("2025-09-20T10:30:45+02:00Z");
    parse_bad("1758364245123");
}

static void round_trip(void **state) {
    (void)state;
    static const int64_t instants[] = {0,
                                       1,
                                       999,
                                       1758364245123,
                                       -1,
                                       951782400000,
                                       1709251199999,
                                       4107499200000,
                                       -2203891200000,
                                       253402300799999 /* 9999-12-31 */};
    char out[CORE_ISO8601_LEN];
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        core_iso8601(instants[i], out);
        assert_int_equal(parse_ok(out), instants[i]);
    }
    core_iso8601(253402300799999, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

static void http_date_rfc_example(void **state) {
    (void)state;
    char out[CORE_HTTP_DATE_LEN];
    core_http_date(784111777000, out); /* the example in RFC 9110 section 5.6.7 */
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
}

static void http_date_drops_millis(void **state) {
    (void)state;
    char out[CORE_HTTP_DATE_LEN];
    core_http_date(1758364245123, out);
    assert_string_equal(out, "Sat, 20 Sep 2025 10:30:45 GMT");
    core_http_date(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    core_http_date(1709251199999, out);
    assert_string_equal(out, "Thu, 29 Feb 2024 23:59:59 GMT");
    core_http_date(-1, out);
    assert_string_equal(out, "Wed, 31 Dec 1969 23:59:59 GMT");
}

static void now_is_wall_clock(void **state) {
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t now = core_now_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_in_range(now, before, after);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_epoch),
        cmocka_unit_test(format_known_instants),
        cmocka_unit_test(format_before_epoch),
        cmocka_unit_test(parse_utc_z),
        cmocka_unit_test(parse_leap_second),
        cmocka_unit_test(parse_before_epoch),
        cmocka_unit_test(parse_offsets),
        cmocka_unit_test(parse_fractions),
        cmocka_unit_test(parse_bad_fractions),
        cmocka_unit_test(parse_leap_years),
        cmocka_unit_test(parse_bad_dates),
        cmocka_unit_test(parse_bad_times),
        cmocka_unit_test(parse_bad_zones),
        cmocka_unit_test(parse_rejects_junk),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(http_date_rfc_example),
        cmocka_unit_test(http_date_drops_millis),
        cmocka_unit_test(now_is_wall_clock),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
