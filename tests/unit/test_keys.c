/* Unit tests for store/keys.c: every key name, with and without KEY_PREFIX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../store/keys.h"

static int no_prefix(void **state) {
    (void)state;
    store_keys_set_prefix("");
    return 0;
}

/* Asserts the name of k for id, and that the returned length is its length. */
static void assert_key(store_key_t k, const char *id, const char *want) {
    char out[STORE_KEY_MAX];
    memset(out, '#', sizeof out);
    size_t n = store_key(out, k, id);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void names_without_prefix(void **state) {
    (void)state;
    assert_key(KEY_CLIENTS, NULL, "clients");
    assert_key(KEY_CLIENTS_BY_ID, NULL, "clients:by_id");
    assert_key(KEY_CLIENTS_LAST_SEEN, NULL, "clients:last_seen");
    assert_key(KEY_STATS, NULL, "stats");
    assert_key(KEY_ONLINE_USERS, NULL, "online_users");
    assert_key(KEY_ONLINE_USERS_BY_ID, NULL, "online_users:by_id");
}

static void per_id_names(void **state) {
    (void)state;
    assert_key(KEY_CLIENT, "cam-1", "client:cam-1");
    assert_key(KEY_IMAGE, "cam-1", "image:cam-1");
    assert_key(KEY_PRESENCE, "user_42", "presence:user_42");
    assert_key(KEY_CLIENT, "a.b", "client:a.b");
}

static void shared_names_ignore_the_id(void **state) {
    (void)state;
    assert_key(KEY_CLIENTS, "cam-1", "clients");
    assert_key(KEY_STATS, "x", "stats");
    assert_key(KEY_ONLINE_USERS_BY_ID, "u", "online_users:by_id");
}

static void stems_with_empty_id(void **state) {
    (void)state;
    assert_key(KEY_CLIENT, "", "client:");
    assert_key(KEY_IMAGE, "", "image:");
    assert_key(KEY_PRESENCE, "", "presence:");
    /* NULL gives the stem too */
    assert_key(KEY_CLIENT, NULL, "client:");
}

static void names_with_prefix(void **state) {
    (void)state;
    store_keys_set_prefix("rt:");
    assert_key(KEY_CLIENTS, NULL, "rt:clients");
    assert_key(KEY_CLIENTS_BY_ID, NULL, "rt:clients:by_id");
    assert_key(KEY_CLIENTS_LAST_SEEN, NULL, "rt:clients:last_seen");
    assert_key(KEY_STATS, NULL, "rt:stats");
    assert_key(KEY_ONLINE_USERS, NULL, "rt:online_users");
    assert_key(KEY_ONLINE_USERS_BY_ID, NULL, "rt:online_users:by_id");
    assert_key(KEY_CLIENT, "cam-1", "rt:client:cam-1");
    assert_key(KEY_IMAGE, "cam-1", "rt:image:cam-1");
    assert_key(KEY_PRESENCE, "u1", "rt:presence:u1");
    assert_key(KEY_CLIENT, "", "rt:client:");
    assert_key(KEY_PRESENCE, "", "rt:presence:");
}

static void prefix_can_be_changed_and_cleared(void **state) {
    (void)state;
    store_keys_set_prefix("{tenant-a}.");
    assert_key(KEY_CLIENT, "x", "{tenant-a}.client:x");
    store_keys_set_prefix("b/");
    assert_key(KEY_CLIENT, "x", "b/client:x");
    store_keys_set_prefix(NULL);
    assert_key(KEY_CLIENT, "x", "client:x");
    store_keys_set_prefix("p:");
    store_keys_set_prefix("");
    assert_key(KEY_STATS, NULL, "stats");
}

static void prefix_is_copied(void **state) {
    (void)state;
    char p[8] = "one:";
    store_keys_set_prefix(p);
    strcpy(p, "two:");
    assert_key(KEY_STATS, NULL, "one:stats");
}

static void longest_prefix_and_id_fit(void **state) {
    (void)state;
    char prefix[65], id[129], want[STORE_KEY_MAX];
    memset(prefix, 'p', 64);
    prefix[64] = '\0';
    memset(id, 'i', 128);
    id[128] = '\0';
    store_keys_set_prefix(prefix);
    snprintf(want, sizeof want, "%spresence:%s", prefix, id);
    assert_int_equal(strlen(want), 64 + 9 + 128);
    assert_key(KEY_PRESENCE, id, want);
    snprintf(want, sizeof want, "%sonline_users:by_id", prefix);
    assert_key(KEY_ONLINE_USERS_BY_ID, NULL, want);
}

static void overlong_prefix_is_cut_to_64(void **state) {
    (void)state;
    char prefix[100], want[STORE_KEY_MAX];
    memset(prefix, 'p', 99);
    prefix[99] = '\0';
    store_keys_set_prefix(prefix);
    snprintf(want, sizeof want, "%.64sstats", prefix);
    assert_key(KEY_STATS, NULL, want);
}

static void overlong_id_is_truncated_not_overflowed(void **state) {
    (void)state;
    /* ids are validated before they get here; even so the buffer is never overrun */
    char id[400];
    memset(id, 'i', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    char out[STORE_KEY_MAX + 8];
    memset(out, '#', sizeof out);
    size_t n = store_key(out, KEY_CLIENT, id);
    assert_int_equal(n, STORE_KEY_MAX - 1);
    assert_int_equal(strlen(out), STORE_KEY_MAX - 1);
    assert_memory_equal(out, "client:iii", 10);
    for (size_t i = STORE_KEY_MAX; i < sizeof out; i++)
        assert_int_equal(out[i], '#');
}

#define T(name) cmocka_unit_test_setup_teardown(name, no_prefix, no_prefix)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(names_without_prefix),
        T(per_id_names),
        T(shared_names_ignore_the_id),
        T(stems_with_empty_id),
        T(names_with_prefix),
        T(prefix_can_be_changed_and_cleared),
        T(prefix_is_copied),
        T(longest_prefix_and_id_fit),
        T(overlong_prefix_is_cut_to_64),
        T(overlong_id_is_truncated_not_overflowed),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
