/* Unit tests for store/args.c: argument vectors, growth, arena and chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../store/args.h"

static int reset_prefix(void **state) {
    (void)state;
    store_keys_set_prefix("");
    return 0;
}

/* Asserts argument i is exactly the bytes want[0..len). */
static void assert_arg(const store_args_t *a, int i, const void *want, size_t len) {
    assert_true(i < a->argc);
    assert_int_equal(a->lens[i], len);
    if (len)
        assert_memory_equal(a->argv[i], want, len);
}

static void assert_arg_str(const store_args_t *a, int i, const char *want) {
    assert_arg(a, i, want, strlen(want));
}

static bool in_arena(const store_args_t *a, const char *p) {
    return p >= a->arena && p < a->arena + sizeof a->arena;
}

static void starts_empty_and_inline(void **state) {
    (void)state;
    store_args_t a;
    store_args_init(&a);
    assert_int_equal(a.argc, 0);
    assert_int_equal(a.cap, STORE_ARGS_INLINE);
    assert_ptr_equal(a.argv, a.argv_inline);
    assert_ptr_equal(a.lens, a.lens_inline);
    assert_int_equal(a.arena_used, 0);
    assert_null(a.chunks);
    assert_null(a.route);
    assert_false(a.oom);
    store_args_free(&a);
}

static void borrowed_strings_keep_their_pointers(void **state) {
    (void)state;
    static const char set[] = "SET";
    static const char key[] = "k";
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, set);
    store_args_str(&a, key);
    store_args_str(&a, "");
    assert_int_equal(a.argc, 3);
    assert_ptr_equal(a.argv[0], set);
    assert_ptr_equal(a.argv[1], key);
    assert_arg_str(&a, 0, "SET");
    assert_arg_str(&a, 1, "k");
    assert_arg(&a, 2, "", 0);
    assert_int_equal(a.arena_used, 0); /* nothing copied */
    store_args_free(&a);
}

static void binary_safe_lengths(void **state) {
    (void)state;
    static const unsigned char frame[] = {0xFF, 0xD8, 0x00, 0x00, 0xFF, 0x00, 'x', 0x00};
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "HSET");
    store_args_add(&a, (const char *)frame, sizeof frame);
    store_args_add(&a, "a\0b", 3);
    store_args_add(&a, "ignored", 0);
    assert_int_equal(a.argc, 4);
    assert_ptr_equal(a.argv[1], frame);
    assert_arg(&a, 1, frame, sizeof frame);
    assert_arg(&a, 2, "a\0b", 3);
    assert_int_equal(a.lens[3], 0);
    store_args_free(&a);
}

static void grows_past_inline_capacity(void **state) {
    (void)state;
    static char words[200][8];
    store_args_t a;
    store_args_init(&a);
    for (int i = 0; i < STORE_ARGS_INLINE; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        store_args_str(&a, words[i]);
    }
    assert_int_equal(a.argc, STORE_ARGS_INLINE);
    assert_ptr_equal(a.argv, a.argv_inline); /* exactly full: still inline */
    for (int i = STORE_ARGS_INLINE; i < 200; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        store_args_str(&a, words[i]);
    }
    assert_int_equal(a.argc, 200);
    assert_ptr_not_equal(a.argv, a.argv_inline);
    assert_ptr_not_equal(a.lens, a.lens_inline);
    assert_true(a.cap >= 200);
    assert_false(a.oom);
    /* every argument survived each move, in order */
    for (int i = 0; i < 200; i++) {
        assert_ptr_equal(a.argv[i], words[i]);
        assert_arg_str(&a, i, words[i]);
    }
    store_args_free(&a);
    assert_int_equal(a.argc, 0);
    assert_ptr_equal(a.argv, a.argv_inline);
}

static void integers_are_decimal(void **state) {
    (void)state;
    store_args_t a;
    store_args_init(&a);
    store_args_int(&a, 0);
    store_args_int(&a, 7);
    store_args_int(&a, -1);
    store_args_int(&a, 1758364245123LL);
    store_args_int(&a, LLONG_MAX);
    store_args_int(&a, LLONG_MIN);
    assert_int_equal(a.argc, 6);
    assert_arg_str(&a, 0, "0");
    assert_arg_str(&a, 1, "7");
    assert_arg_str(&a, 2, "-1");
    assert_arg_str(&a, 3, "1758364245123");
    assert_arg_str(&a, 4, "9223372036854775807");
    assert_arg_str(&a, 5, "-9223372036854775808");
    for (int i = 0; i < a.argc; i++)
        assert_true(in_arena(&a, a.argv[i]));
    assert_null(a.chunks);
    store_args_free(&a);
}

static void integers_spill_from_arena_to_chunks(void **state) {
    (void)state;
    store_args_t a;
    store_args_init(&a);
    char want[32];
    /* 24 bytes each: 42 fit the 1 KiB arena, the rest go to chunks; 300 also grows argv */
    for (int i = 0; i < 300; i++)
        store_args_int(&a, (long long)i * 1000003 - 150000000);
    assert_int_equal(a.argc, 300);
    assert_false(a.oom);
    assert_non_null(a.chunks);
    int inside = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(want, sizeof want, "%lld", (long long)i * 1000003 - 150000000);
        assert_arg_str(&a, i, want);
        inside += in_arena(&a, a.argv[i]);
    }
    assert_int_equal(inside, (int)(sizeof a.arena / 24));
    assert_true(in_arena(&a, a.argv[0]));
    assert_false(in_arena(&a, a.argv[299]));
    store_args_free(&a);
    assert_null(a.chunks);
    assert_int_equal(a.arena_used, 0);
}

static void keys_are_copied(void **state) {
    (void)state;
    store_keys_set_prefix("rt:");
    store_args_t a;
    store_args_init(&a);
    /* keys of one bucket (cam-1's): a build with STORE_CHECK_SLOTS takes
     * nothing else in one command */
    char id[16] = "cam-1", want[STORE_KEY_MAX], other[STORE_KEY_MAX];
    int b = store_key_bucket(id);
    const char *tag = store_bucket_tag(b);
    snprintf(other, sizeof other, "rt:x:{%s}", tag);
    store_args_str(&a, "HGETALL");
    store_args_key(&a, KEY_CLIENT, id);
    store_args_key(&a, KEY_CLIENTS, id);
    store_args_index(&a, KEY_IMAGE, b);
    store_args_key2(&a, KEY_TYPING, "cam-1", "bob");
    store_args_keyname(&a, other, strlen(other));
    store_args_copy(&a, id, 3);
    strcpy(id, "changed"); /* the argument is a copy, not the caller's buffer */
    assert_int_equal(a.argc, 7);
    snprintf(want, sizeof want, "rt:client:{%s}:cam-1", tag);
    assert_arg_str(&a, 1, want);
    snprintf(want, sizeof want, "rt:clients:{%s}", tag);
    assert_arg_str(&a, 2, want);
    snprintf(want, sizeof want, "rt:image:{%s}", tag);
    assert_arg_str(&a, 3, want);
    snprintf(want, sizeof want, "rt:typing:{%s}:cam-1:bob", tag);
    assert_arg_str(&a, 4, want);
    assert_arg_str(&a, 5, other);
    assert_arg_str(&a, 6, "cam");
    for (int i = 1; i < 7; i++)
        assert_true(in_arena(&a, a.argv[i]));
    store_args_free(&a);
}

static void long_keys_spill_to_chunks(void **state) {
    (void)state;
    char prefix[65], id[129], want[STORE_KEY_MAX];
    memset(prefix, 'p', 64);
    prefix[64] = '\0';
    memset(id, 'i', 128);
    id[128] = '\0';
    store_keys_set_prefix(prefix);
    snprintf(want, sizeof want, "%sclient:{%s}:%s", prefix, store_bucket_tag(store_key_bucket(id)),
             id);
    size_t klen = strlen(want);
    assert_int_equal(klen, 64 + 7 + 7 + 128);
    store_args_t a;
    store_args_init(&a);
    for (int i = 0; i < 10; i++)
        store_args_key(&a, KEY_CLIENT, id);
    assert_int_equal(a.argc, 10);
    assert_non_null(a.chunks);
    for (int i = 0; i < 10; i++)
        assert_arg(&a, i, want, klen);
    /* 4 keys of 206 bytes fit in 1024; the fifth does not */
    assert_true(in_arena(&a, a.argv[3]));
    assert_false(in_arena(&a, a.argv[4]));
    store_args_free(&a);
}

static void mixed_arguments_keep_their_order(void **state) {
    (void)state;
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "ZADD");
    store_args_index(&a, KEY_CLIENTS_LAST_SEEN, 7);
    store_args_int(&a, 1758364245123LL);
    store_args_add(&a, "cam-1xyz", 5);
    store_args_str(&a, "EX");
    store_args_int(&a, 300);
    assert_int_equal(a.argc, 6);
    assert_arg_str(&a, 0, "ZADD");
    assert_arg_str(&a, 1, "clients:last_seen:{07sd}");
    assert_arg_str(&a, 2, "1758364245123");
    assert_arg_str(&a, 3, "cam-1");
    assert_arg_str(&a, 4, "EX");
    assert_arg_str(&a, 5, "300");
    assert_false(a.oom);
    store_args_free(&a);
}

static void reusable_after_free(void **state) {
    (void)state;
    store_args_t a;
    store_args_init(&a);
    for (int i = 0; i < 100; i++)
        store_args_int(&a, i);
    store_args_free(&a);
    store_args_str(&a, "PING");
    store_args_int(&a, 42);
    assert_int_equal(a.argc, 2);
    assert_arg_str(&a, 0, "PING");
    assert_arg_str(&a, 1, "42");
    assert_ptr_equal(a.argv, a.argv_inline);
    assert_true(in_arena(&a, a.argv[1]));
    store_args_free(&a);
    store_args_free(&a); /* twice is harmless */
    assert_int_equal(a.argc, 0);
}

static void the_first_key_routes(void **state) {
    (void)state;
    store_keys_set_prefix("rt:");
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "EVALSHA");
    store_args_str(&a, "sha");
    store_args_int(&a, 2);
    assert_null(a.route); /* no key yet: a keyless command */
    store_args_key(&a, KEY_CLIENT, "cam-1");
    store_args_key(&a, KEY_CLIENTS, "cam-1");
    assert_non_null(a.route);
    char want[STORE_KEY_MAX];
    store_key(want, KEY_CLIENT, "cam-1");
    assert_int_equal(a.route_len, strlen(want));
    assert_memory_equal(a.route, want, a.route_len);
    assert_ptr_equal(a.route, a.argv[3]); /* the argument itself, not another copy */
    store_args_free(&a);
    assert_null(a.route);
    /* a key name built by the caller routes the same way, and is copied */
    char name[32] = "rt:room:{r1}:x";
    store_args_str(&a, "GET");
    store_args_keyname(&a, name, strlen(name));
    store_args_keyname(&a, "o:{r1}", 6); /* one slot: the other key shares the tag */
    strcpy(name, "changed");
    assert_int_equal(a.route_len, strlen("rt:room:{r1}:x"));
    assert_memory_equal(a.route, "rt:room:{r1}:x", a.route_len);
    assert_arg_str(&a, 1, "rt:room:{r1}:x");
    assert_arg_str(&a, 2, "o:{r1}");
    /* a wrapper takes the wrapped command's route without its arguments */
    store_args_t w;
    store_args_init(&w);
    store_args_str(&w, "EVAL");
    store_args_route_as(&w, &a);
    assert_ptr_equal(w.route, a.route);
    assert_int_equal(w.route_len, a.route_len);
    assert_int_equal(w.argc, 1);
    store_args_free(&w);
    store_args_free(&a);
    /* keys added as plain strings do not route */
    store_args_str(&a, "UNLINK");
    store_args_str(&a, "rt:a");
    assert_null(a.route);
    store_args_free(&a);
}

#define T(name) cmocka_unit_test_setup_teardown(name, reset_prefix, reset_prefix)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(starts_empty_and_inline),
        T(borrowed_strings_keep_their_pointers),
        T(binary_safe_lengths),
        T(grows_past_inline_capacity),
        T(integers_are_decimal),
        T(integers_spill_from_arena_to_chunks),
        T(keys_are_copied),
        T(long_keys_spill_to_chunks),
        T(mixed_arguments_keep_their_order),
        T(reusable_after_free),
        T(the_first_key_routes),
    };
    return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
