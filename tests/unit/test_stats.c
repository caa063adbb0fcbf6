/* Unit tests for store/stats.c: store_stats_parse_info on INFO replies. */
#include <setjmp.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../store/stats.h"

/* An abridged INFO reply from Redis 7.2, with its \r\n line endings. */
static const char info_7_2[] =
    "# Server\r\n"
    "redis_version:7.2.4\r\n"
    "redis_git_sha1:00000000\r\n"
    "redis_git_dirty:0\r\n"
    "redis_build_id:7ee4c3b44d4a5c8d\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.1.0-18-amd64 x86_64\r\n"
    "arch_bits:64\r\n"
    "process_id:1234\r\n"
    "tcp_port:6379\r\n"
    "server_time_usec:1758364245123456\r\n"
    "uptime_in_seconds:86523\r\n"
    "uptime_in_days:1\r\n"
    "\r\n"
    "# Clients\r\n"
    "connected_clients:17\r\n"
    "cluster_connections:0\r\n"
    "maxclients:10000\r\n"
    "blocked_clients:0\r\n"
    "\r\n"
    "# Memory\r\n"
    "used_memory:1104200\r\n"
    "used_memory_human:1.05M\r\n"
    "used_memory_rss:13524992\r\n"
    "used_memory_rss_human:12.90M\r\n"
    "used_memory_peak:2263840\r\n"
    "used_memory_peak_human:2.16M\r\n"
    "maxmemory:0\r\n"
    "maxmemory_human:0B\r\n"
    "\r\n"
    "# Stats\r\n"
    "total_connections_received:412\r\n"
    "total_commands_processed:98231\r\n"
    "instantaneous_ops_per_sec:342\r\n"
    "total_net_input_bytes:7715362\r\n"
    "keyspace_hits:51234\r\n"
    "keyspace_misses:789\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=42,expires=3,avg_ttl=29874\r\n";

static void parses_a_full_reply(void **state) {
    (void)state;
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info(info_7_2, &s);
    assert_string_equal(s.version, "7.2.4");
    assert_int_equal(s.uptime_s, 86523);
    assert_int_equal(s.connected_clients, 17);
    /* used_memory, not used_memory_rss or used_memory_peak, which come later */
    assert_int_equal(s.used_memory_bytes, 1104200);
    assert_string_equal(s.used_memory_human, "1.05M");
    assert_int_equal(s.ops_per_sec, 342);
    assert_int_equal(s.keyspace_hits, 51234);
    assert_int_equal(s.keyspace_misses, 789);
}

static void leaves_other_fields_alone(void **state) {
    (void)state;
    store_stats_t s;
    memset(&s, 0, sizeof s);
    s.keys = 5;
    s.total_clients = 6;
    s.online_users = 7;
    s.total_frames = 8;
    s.removed_inactive = 9;
    store_stats_parse_info(info_7_2, &s);
    assert_int_equal(s.keys, 5); /* from DBSIZE, not from the Keyspace section */
    assert_int_equal(s.total_clients, 6);
    assert_int_equal(s.online_users, 7);
    assert_int_equal(s.total_frames, 8);
    assert_int_equal(s.removed_inactive, 9);
}

static void names_must_match_whole(void **state) {
    (void)state;
    /* longer names that start with a wanted one come first and must be skipped */
    static const char info[] =
        "used_memory_human:9.99G\r\n"
        "used_memory_rss:999\r\n"
        "used_memory:1024\r\n"
        "xredis_version:0.0.0\r\n"
        "redis_version_extra:1.1.1\r\n"
        "redis_version:6.2.14\r\n"
        "connected_clients_max:77\r\n"
        "connected_clients:3\r\n";
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info(info, &s);
    assert_int_equal(s.used_memory_bytes, 1024);
    assert_string_equal(s.used_memory_human, "9.99G");
    assert_string_equal(s.version, "6.2.14");
    assert_int_equal(s.connected_clients, 3);
}

static void missing_fields_are_zero(void **state) {
    (void)state;
    store_stats_t s;
    memset(&s, 0x5a, sizeof s);
    strcpy(s.version, "old");
    strcpy(s.used_memory_human, "old");
    store_stats_parse_info("# Server\r\nredis_version:7.0.0\r\n", &s);
    assert_string_equal(s.version, "7.0.0");
    assert_int_equal(s.uptime_s, 0);
    assert_int_equal(s.connected_clients, 0);
    assert_int_equal(s.used_memory_bytes, 0);
    assert_int_equal(s.ops_per_sec, 0);
    assert_int_equal(s.keyspace_hits, 0);
    assert_int_equal(s.keyspace_misses, 0);
    /* a text field that is absent is left as it was */
    assert_string_equal(s.used_memory_human, "old");
}

static void empty_reply(void **state) {
    (void)state;
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info("", &s);
    assert_string_equal(s.version, "");
    assert_int_equal(s.uptime_s, 0);
    assert_int_equal(s.keyspace_misses, 0);
}

static void last_line_without_newline_and_bare_lf(void **state) {
    (void)state;
    static const char info[] =
        "redis_version:7.4.1\n"
        "uptime_in_seconds:5\n"
        "keyspace_misses:12";
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info(info, &s);
    assert_string_equal(s.version, "7.4.1");
    assert_int_equal(s.uptime_s, 5);
    assert_int_equal(s.keyspace_misses, 12);
}

static void long_values_are_cut_to_fit(void **state) {
    (void)state;
    static const char info[] =
        "redis_version:255.255.255-this-is-a-very-long-version-string\r\n"
        "used_memory_human:1.05M\r\n";
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info(info, &s);
    assert_int_equal(strlen(s.version), sizeof s.version - 1);
    assert_memory_equal(s.version, "255.255.255-this-is-a-very-long", sizeof s.version - 1);
    assert_string_equal(s.used_memory_human, "1.05M");
}

static void large_counters(void **state) {
    (void)state;
    static const char info[] =
        "keyspace_hits:9007199254740993\r\n"
        "used_memory:68719476736\r\n"
        "connected_clients:99999999999999999999999\r\n"
        "uptime_in_seconds:-5\r\n"
        "instantaneous_ops_per_sec:12abc\r\n";
    store_stats_t s;
    memset(&s, 0, sizeof s);
    store_stats_parse_info(info, &s);
    assert_true(s.keyspace_hits == 9007199254740993LL);
    assert_true(s.used_memory_bytes == 68719476736LL);
    assert_true(s.connected_clients == LLONG_MAX); /* saturated, not wrapped */
    assert_int_equal(s.uptime_s, -5);
    assert_int_equal(s.ops_per_sec, 12); /* the leading digits, as atoll reads them */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_full_reply),
        cmocka_unit_test(leaves_other_fields_alone),
        cmocka_unit_test(names_must_match_whole),
        cmocka_unit_test(missing_fields_are_zero),
        cmocka_unit_test(empty_reply),
        cmocka_unit_test(last_line_without_newline_and_bare_lf),
        cmocka_unit_test(long_values_are_cut_to_fit),
        cmocka_unit_test(large_counters),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
