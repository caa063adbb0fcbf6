/* Unit tests for core/redis_url.c: REDIS_URL parsing, errors and redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/redis_url.h"

static core_redis_url_t parse_ok(const char *url) {
    core_redis_url_t u;
    const char *err = NULL;
    if (!core_redis_url_parse(url, &u, &err))
        fail_msg("expected '%s' to parse, got: %s", url, err ? err : "(no message)");
    return u;
}

/* Asserts url is refused with a message that contains want. */
static void parse_bad(const char *url, const char *want) {
    core_redis_url_t u;
    const char *err = NULL;
    if (core_redis_url_parse(url, &u, &err))
        fail_msg("expected '%s' to be rejected", url ? url : "(null)");
    assert_non_null(err);
    if (!strstr(err, want))
        fail_msg("'%s': message '%s' does not mention '%s'", url ? url : "(null)", err, want);
}

static void redacted(const core_redis_url_t *u, char *out, size_t cap) {
    memset(out, '#', cap);
    core_redis_url_redact(u, out, cap);
}

static void host_only(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://localhost");
    assert_false(u.is_unix);
    assert_int_equal(u.nhosts, 1);
    assert_string_equal(u.hosts[0].host, "localhost");
    assert_int_equal(u.hosts[0].port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    u = parse_ok("redis://10.0.0.7/");
    assert_string_equal(u.hosts[0].host, "10.0.0.7");
    assert_int_equal(u.hosts[0].port, 6379);
    assert_int_equal(u.db, 0);
}

static void host_port_db(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://127.0.0.1:6380/3");
    assert_string_equal(u.hosts[0].host, "127.0.0.1");
    assert_int_equal(u.hosts[0].port, 6380);
    assert_int_equal(u.db, 3);
    u = parse_ok("redis://cache.internal:1");
    assert_int_equal(u.hosts[0].port, 1);
    u = parse_ok("redis://cache.internal:65535/15");
    assert_int_equal(u.hosts[0].port, 65535);
    assert_int_equal(u.db, 15);
    u = parse_ok("redis://h/1048576");
    assert_int_equal(u.db, 1 << 20);
}

static void bad_ports(void **state) {
    (void)state;
    parse_bad("redis://host:0", "port");
    parse_bad("redis://host:65536", "port");
    parse_bad("redis://host:", "port");
    parse_bad("redis://host:/0", "port");
    parse_bad("redis://host:abc", "port");
    parse_bad("redis://host:-1", "port");
    parse_bad("redis://host:+1", "port");
    parse_bad("redis://host:6379x", "port");
    parse_bad("redis://host:99999999999", "port");
}

static void bad_databases(void **state) {
    (void)state;
    parse_bad("redis://host/abc", "database");
    parse_bad("redis://host/-1", "database");
    parse_bad("redis://host/1048577", "database");
    parse_bad("redis://host/0/1", "database");
    parse_bad("redis://host:6379/1?x=1", "database");
}

static void password_without_user(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://:s3cret@db.example:6380/2");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.hosts[0].host, "db.example");
    assert_int_equal(u.hosts[0].port, 6380);
    assert_int_equal(u.db, 2);
    /* a lone userinfo is the password, as redis-cli reads it */
    u = parse_ok("redis://s3cret@db.example");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.hosts[0].host, "db.example");
    /* an unencoded '@' belongs to the password: the last '@' ends the credentials */
    u = parse_ok("redis://:p@ss@db.example:6380");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.hosts[0].host, "db.example");
    assert_int_equal(u.hosts[0].port, 6380);
}

static void password_with_user(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://alice:s3cret@db.example:6380/2");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.hosts[0].host, "db.example");
    assert_int_equal(u.hosts[0].port, 6380);
    assert_int_equal(u.db, 2);
    /* only the first ':' separates user from password */
    u = parse_ok("redis://alice:a:b:c@h");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "a:b:c");
    u = parse_ok("redis://alice:@h");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "");
}

static void percent_encoded_credentials(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://al%69ce:p%40ss%3Aw%2Fo%25rd%20x@h:1/1");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "p@ss:w/o%rd x");
    assert_string_equal(u.hosts[0].host, "h");
    assert_int_equal(u.hosts[0].port, 1);
    assert_int_equal(u.db, 1);
    u = parse_ok("redis://:%c3%A9t%C3%a9@h");
    assert_string_equal(u.password, "\xc3\xa9t\xc3\xa9");
}

static void bad_percent_encoding(void **state) {
    (void)state;
    parse_bad("redis://:abc%@h", "password");
    parse_bad("redis://:abc%4@h", "password");
    parse_bad("redis://:abc%zz@h", "password");
    parse_bad("redis://:abc%00def@h", "password"); /* would cut the password short */
    parse_bad("redis://u%g1:pw@h", "user");
    parse_bad("redis://u%00:pw@h", "user");
}

static void overlong_credentials(void **state) {
    (void)state;
    char url[700];
    char pw[300];
    memset(pw, 'p', 255);
    pw[255] = '\0';
    snprintf(url, sizeof url, "redis://:%s@h", pw);
    core_redis_url_t u = parse_ok(url);
    assert_int_equal(strlen(u.password), 255);
    memset(pw, 'p', 256);
    pw[256] = '\0';
    snprintf(url, sizeof url, "redis://:%s@h", pw);
    parse_bad(url, "password");
    memset(pw, 'u', 128);
    pw[128] = '\0';
    snprintf(url, sizeof url, "redis://%s:pw@h", pw);
    parse_bad(url, "user");
}

static void ipv6_hosts(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("redis://[::1]:6380/2");
    assert_string_equal(u.hosts[0].host, "::1");
    assert_int_equal(u.hosts[0].port, 6380);
    assert_int_equal(u.db, 2);
    u = parse_ok("redis://[2001:db8::7]");
    assert_string_equal(u.hosts[0].host, "2001:db8::7");
    assert_int_equal(u.hosts[0].port, 6379);
    u = parse_ok("redis://:pw@[fe80::1]:7000");
    assert_string_equal(u.hosts[0].host, "fe80::1");
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.hosts[0].port, 7000);
    parse_bad("redis://[::1", "unterminated");
    parse_bad("redis://[::1]x", "after ]");
    parse_bad("redis://[::1]6379", "after ]");
    parse_bad("redis://[]:6379", "no host");
    parse_bad("redis://[::1]:0", "port");
}

static void several_seed_hosts(void **state) {
    (void)state;
    core_redis_url_t u =
        parse_ok("redis://:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,node4,[fe80::2]");
    assert_int_equal(u.nhosts, 5);
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.hosts[0].host, "10.0.0.1");
    assert_int_equal(u.hosts[0].port, 7000);
    assert_string_equal(u.hosts[1].host, "10.0.0.2");
    assert_int_equal(u.hosts[1].port, 7001);
    assert_string_equal(u.hosts[2].host, "::1");
    assert_int_equal(u.hosts[2].port, 7002);
    assert_string_equal(u.hosts[3].host, "node4");
    assert_int_equal(u.hosts[3].port, 6379); /* each host has its own default */
    assert_string_equal(u.hosts[4].host, "fe80::2");
    assert_int_equal(u.hosts[4].port, 6379);
    assert_int_equal(u.db, 0);
    u = parse_ok("redis://alice:s%2Cecret@a:1,b:2/0");
    assert_int_equal(u.nhosts, 2);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "s,ecret");
    /* an unencoded ',' in the password is the password's: the last '@' ends it */
    u = parse_ok("redis://:a,b@h1:1,h2:2/");
    assert_string_equal(u.password, "a,b");
    assert_int_equal(u.nhosts, 2);
    assert_string_equal(u.hosts[1].host, "h2");
    /* sixteen hosts is the most */
    char url[400] = "redis://h0";
    for (int i = 1; i < CORE_REDIS_URL_MAX_HOSTS; i++)
        snprintf(url + strlen(url), sizeof url - strlen(url), ",h%d:%d", i, 7000 + i);
    u = parse_ok(url);
    assert_int_equal(u.nhosts, CORE_REDIS_URL_MAX_HOSTS);
    assert_string_equal(u.hosts[15].host, "h15");
    assert_int_equal(u.hosts[15].port, 7015);
    strcat(url, ",h16");
    parse_bad(url, "more than 16 hosts");
}

static void several_hosts_errors(void **state) {
    (void)state;
    parse_bad("redis://a:1,", "no host");
    parse_bad("redis://,a:1", "no host");
    parse_bad("redis://a:1,,b:2", "no host");
    parse_bad("redis://a:1,:2", "no host");
    parse_bad("redis://a:1,b:0", "port");
    parse_bad("redis://a:1,b:x", "port");
    parse_bad("redis://a:1,[::1", "unterminated");
    parse_bad("redis://a:1,[::1]x", "after ]");
    /* a cluster has only database 0: a number is refused, never ignored */
    parse_bad("redis://a:1,b:2/1", "database 0");
    parse_bad("redis://:pw@a,b/15", "database 0");
    parse_bad("redis://a:1,b:2/x", "database must be a number");
}

static void unix_sockets(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("unix:///run/redis/redis.sock");
    assert_true(u.is_unix);
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_int_equal(u.db, 0);
    assert_int_equal(u.nhosts, 0);
    u = parse_ok("unix:///tmp/r.sock?db=7");
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 7);
    u = parse_ok("unix://:s3cret@/tmp/r.sock?db=1");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.user, "");
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 1);
    u = parse_ok("unix://alice:p%40ss@/tmp/r.sock");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.path, "/tmp/r.sock");
}

static void unix_path_may_hold_an_at_sign(void **state) {
    (void)state;
    /* credentials end before the path's first '/', so an '@' in the path is the path's */
    core_redis_url_t u = parse_ok("unix:///run/redis@main/redis.sock?db=2");
    assert_string_equal(u.path, "/run/redis@main/redis.sock");
    assert_string_equal(u.password, "");
    assert_int_equal(u.db, 2);
    u = parse_ok("unix://:pw@/run/redis@main/redis.sock");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.path, "/run/redis@main/redis.sock");
}

static void unix_errors(void **state) {
    (void)state;
    parse_bad("unix://", "absolute");
    parse_bad("unix://redis.sock", "absolute");
    parse_bad("unix://:pw@redis.sock", "absolute");
    parse_bad("unix://?db=1", "absolute");
    parse_bad("unix:///tmp/r.sock?db=", "db=N");
    parse_bad("unix:///tmp/r.sock?db=x", "db=N");
    parse_bad("unix:///tmp/r.sock?database=1", "db=N");
    parse_bad("unix:///tmp/r.sock?db=1&x=2", "db=N");
    parse_bad("unix:///tmp/r.sock?db=1048577", "db=N");
    parse_bad("unix://:ab%zz@/tmp/r.sock", "password");
    /* sun_path holds 107 characters and a NUL */
    char url[200] = "unix://";
    char *p = url + strlen(url);
    p[0] = '/';
    memset(p + 1, 's', 106);
    p[107] = '\0';
    core_redis_url_t u = parse_ok(url);
    assert_int_equal(strlen(u.path), 107);
    p[107] = 's';
    p[108] = '\0';
    parse_bad(url, "too long");
}

static void other_errors(void **state) {
    (void)state;
    parse_bad(NULL, "empty");
    parse_bad("", "empty");
    parse_bad("localhost:6379", "redis://");
    parse_bad("http://localhost", "redis://");
    parse_bad("rediss://localhost", "redis://");
    parse_bad("redis:/localhost", "redis://");
    parse_bad("redis://", "no host");
    parse_bad("redis:///0", "no host");
    parse_bad("redis://:6379", "no host");
    parse_bad("redis://:pw@", "no host");
    parse_bad("redis://:pw@:6379/0", "no host");
    char url[400] = "redis://";
    memset(url + 8, 'h', 256);
    url[8 + 256] = '\0';
    parse_bad(url, "too long");
    url[8 + 255] = '\0';
    core_redis_url_t u = parse_ok(url);
    assert_int_equal(strlen(u.hosts[0].host), 255);
}

static void error_pointer_is_optional(void **state) {
    (void)state;
    core_redis_url_t u;
    assert_false(core_redis_url_parse("nope://", &u, NULL));
    assert_true(core_redis_url_parse("redis://h:1/2", &u, NULL));
    assert_int_equal(u.hosts[0].port, 1);
    assert_int_equal(u.db, 2);
}

static void reparse_clears_previous_values(void **state) {
    (void)state;
    core_redis_url_t u = parse_ok("unix://alice:pw@/tmp/r.sock?db=4");
    assert_true(core_redis_url_parse("redis://h", &u, NULL));
    assert_false(u.is_unix);
    assert_string_equal(u.path, "");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.db, 0);
}

static void redaction_shows_everything_but_credentials(void **state) {
    (void)state;
    char out[512];
    core_redis_url_t u = parse_ok("redis://localhost");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://localhost:6379/0");
    u = parse_ok("redis://:s3cret@db.example:6380/2");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://***@db.example:6380/2");
    u = parse_ok("redis://alice:s3cret@db.example");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://***@db.example:6379/0");
    u = parse_ok("redis://[::1]:6380/2");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://[::1]:6380/2");
    u = parse_ok("unix:///tmp/r.sock?db=3");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "unix:///tmp/r.sock?db=3");
    u = parse_ok("unix://:s3cret@/tmp/r.sock");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "unix://***@/tmp/r.sock?db=0");
    /* every seed host is shown */
    u = parse_ok("redis://alice:pw@a:7000,[::1]:7001,c");
    redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://***@a:7000,[::1]:7001,c:6379/0");
    /* cut short, never past the buffer, always terminated */
    for (size_t cap = 1; cap < 40; cap++) {
        char small[64];
        memset(small, '#', sizeof small);
        core_redis_url_redact(&u, small, cap);
        assert_int_equal(strlen(small), cap - 1);
        assert_int_equal(strncmp(small, out, cap - 1), 0);
        assert_int_equal(small[cap], '#');
    }
}

static void redaction_never_contains_the_password(void **state) {
    (void)state;
    static const struct {
        const char *url, *password;
    } cases[] = {
        {"redis://:hunter2@h", "hunter2"},
        {"redis://hunter2@h", "hunter2"},
        {"redis://alice:hunter2@h:6380/1", "hunter2"},
        {"redis://alice:p%40ss@[::1]:7000/3", "p@ss"},
        {"redis://:localhost@localhost", "localhost@"},
        {"unix://:hunter2@/tmp/r.sock?db=2", "hunter2"},
        {"unix://bob:hunter2@/tmp/r.sock", "hunter2"},
        {"redis://bob:hunter2@a:1,b:2,c:3", "hunter2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_redis_url_t u = parse_ok(cases[i].url);
        char out[512];
        redacted(&u, out, sizeof out);
        if (strstr(out, cases[i].password) || !strstr(out, "***@"))
            fail_msg("'%s' redacted to '%s'", cases[i].url, out);
        /* nor any prefix of it, when the buffer is too small */
        for (size_t cap = 1; cap < 24; cap++) {
            memset(out, '#', sizeof out);
            core_redis_url_redact(&u, out, cap);
            assert_true(strlen(out) < cap);
            assert_null(strstr(out, cases[i].password));
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_only),
        cmocka_unit_test(host_port_db),
        cmocka_unit_test(bad_ports),
        cmocka_unit_test(bad_databases),
        cmocka_unit_test(password_without_user),
        cmocka_unit_test(password_with_user),
        cmocka_unit_test(percent_encoded_credentials),
        cmocka_unit_test(bad_percent_encoding),
        cmocka_unit_test(overlong_credentials),
        cmocka_unit_test(ipv6_hosts),
        cmocka_unit_test(several_seed_hosts),
        cmocka_unit_test(several_hosts_errors),
        cmocka_unit_test(unix_sockets),
        cmocka_unit_test(unix_path_may_hold_an_at_sign),
        cmocka_unit_test(unix_errors),
        cmocka_unit_test(other_errors),
        cmocka_unit_test(error_pointer_is_optional),
        cmocka_unit_test(reparse_clears_previous_values),
        cmocka_unit_test(redaction_shows_everything_but_credentials),
        cmocka_unit_test(redaction_never_contains_the_password),
    };
    return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
