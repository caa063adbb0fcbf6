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

/* The chat-state keys: a tail after the id, and one key with two ids. */
static void chat_state_names(void **state) {
    (void)state;
    assert_key(KEY_SESSION, "s1", "session:s1");
    assert_key(KEY_HEARTBEAT, "s1", "heartbeat:s1");
    assert_key(KEY_USER_SESSIONS, "alice", "user:alice:sessions");
    assert_key(KEY_REGION_MEMBERS, "u4pruy", "region:u4pruy:members");
    assert_key(KEY_SESSIONS_EXPIRY, NULL, "sessions:expiry");
    assert_key(KEY_SESSIONS_OWNER, "x", "sessions:owner");
    assert_key(KEY_ROOMS_ACTIVE, NULL, "rooms:active");
    assert_key(KEY_ROOM_PARTICIPANTS, "r1", "room:r1:participants");
    assert_key(KEY_ROOMS_EXPIRY, NULL, "rooms:expiry");
    assert_key(KEY_ROOM_TYPING, "r1", "room:r1:typing");
    assert_key(KEY_ROOM_MESSAGES, "r1", "room:r1:messages");
    assert_key(KEY_USER_ROOMS, "alice", "user:alice:rooms");
    assert_key(KEY_USER_OFFLINE, "alice", "user:alice:offline_messages");
    assert_key(KEY_USER_NOTIFICATIONS, "alice", "user:alice:notifications");
    assert_key(KEY_RATE_MESSAGES, "alice", "ratelimit:messages:alice");
    assert_key(KEY_NOTIFY_QUEUE_HIGH, NULL, "notification_queue:high");
    assert_key(KEY_NOTIFY_QUEUE_NORMAL, NULL, "notification_queue:normal");
    /* "" gives the stem, without the tail */
    assert_key(KEY_USER_SESSIONS, "", "user:");
}

static void two_id_key(void **state) {
    (void)state;
    char out[STORE_KEY_MAX];
    assert_int_equal(store_key2(out, KEY_TYPING, "r1", "alice"), strlen("typing:r1:alice"));
    assert_string_equal(out, "typing:r1:alice");
    store_key2(out, KEY_TYPING, "r1", "");
    assert_string_equal(out, "typing:"); /* a missing id gives the stem */
    store_key2(out, KEY_TYPING, NULL, "alice");
    assert_string_equal(out, "typing:");
    store_key2(out, KEY_ROOM_TYPING, "r1", "ignored");
    assert_string_equal(out, "room:r1:typing");
    store_keys_set_prefix("p:");
    store_key2(out, KEY_TYPING, "r1", "alice");
    assert_string_equal(out, "p:typing:r1:alice");
    /* the longest prefix and two longest ids fit whole */
    char prefix[65], id[129], want[STORE_KEY_MAX];
    memset(prefix, 'p', 64);
    prefix[64] = '\0';
    memset(id, 'i', 128);
    id[128] = '\0';
    store_keys_set_prefix(prefix);
    snprintf(want, sizeof want, "%styping:%s:%s", prefix, id, id);
    assert_int_equal(store_key2(out, KEY_TYPING, id, id), strlen(want));
    assert_string_equal(out, want);
}

/* head .. id .. tail must be the key's name, for every per-id key. */
static void parts_rebuild_the_name(void **state) {
    (void)state;
    const store_key_t keys[] = {KEY_CLIENT,        KEY_PRESENCE,       KEY_SESSION,
                                KEY_USER_SESSIONS, KEY_REGION_MEMBERS, KEY_ROOM_TYPING,
                                KEY_USER_OFFLINE,  KEY_TYPING};
    const char *prefixes[] = {"", "rt:"};
    for (int p = 0; p < 2; p++) {
        store_keys_set_prefix(prefixes[p]);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            char head[STORE_KEY_MAX], tail[STORE_KEY_MAX], joined[2 * STORE_KEY_MAX],
                want[STORE_KEY_MAX];
            store_key_parts(keys[i], "bob", head, tail);
            snprintf(joined, sizeof joined, "%s%s%s", head, "r7", tail);
            store_key2(want, keys[i], "r7", "bob");
            assert_string_equal(joined, want);
        }
    }
    char head[STORE_KEY_MAX], tail[STORE_KEY_MAX];
    store_key_parts(KEY_TYPING, "bob", head, tail);
    assert_string_equal(tail, ":bob");
    store_key_parts(KEY_CLIENT, NULL, head, tail);
    assert_string_equal(tail, "");
}

static void glob_escapes_the_prefix(void **state) {
    (void)state;
    char out[STORE_KEY_MAX];
    assert_int_equal(store_keys_glob(out), 1);
    assert_string_equal(out, "*"); /* no prefix: everything */
    assert_string_equal(store_keys_prefix(), "");
    store_keys_set_prefix("rt:");
    store_keys_glob(out);
    assert_string_equal(out, "rt:*");
    store_keys_set_prefix("t*[x]?\\:");
    assert_string_equal(store_keys_prefix(), "t*[x]?\\:");
    store_keys_glob(out);
    assert_string_equal(out, "t\\*\\[x\\]\\?\\\\:*");
    char prefix[65];
    memset(prefix, '*', 64); /* every character escaped still fits */
    prefix[64] = '\0';
    store_keys_set_prefix(prefix);
    assert_int_equal(store_keys_glob(out), 129);
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
        T(chat_state_names),
        T(two_id_key),
        T(parts_rebuild_the_name),
        T(glob_escapes_the_prefix),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
