/* Unit tests for core/config.c: defaults, environment, flags, errors, --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/config.h"

static const char *const settings[] = {
    "PORT",
    "BIND",
    "REDIS_URL",
    "REDIS_TIMEOUT_MS",
    "KEY_PREFIX",
    "THREADS",
    "CLIENT_TIMEOUT_MS",
    "CLEANUP_INTERVAL_MS",
    "PRESENCE_TTL_S",
    "SESSION_TTL_S",
    "HEARTBEAT_TTL_S",
    "TYPING_TTL_S",
    "MESSAGE_CACHE_MAX",
    "MESSAGE_TTL_S",
    "OFFLINE_QUEUE_MAX",
    "OFFLINE_QUEUE_TTL_S",
    "NOTIFICATION_MAX",
    "NOTIFICATION_TTL_S",
    "NOTIFICATION_QUEUE_MAX",
    "NOTIFICATION_QUEUE_TTL_S",
    "ROOM_TTL_S",
    "RATE_LIMIT_MESSAGES",
    "RATE_LIMIT_WINDOW_S",
    "MAX_IMAGE_BYTES",
    "MAX_BODY_BYTES",
    "SERVICE_ID",
};

/* One config_load: its result, the config, and what it printed. */
typedef struct {
    config_result_t rc;
    config_t cfg;
    char *out, *err;
} run_t;

static void run_free(void **state) {
    run_t *r = *state;
    if (!r)
        return;
    config_free(&r->cfg);
    free(r->out);
    free(r->err);
    free(r);
    *state = NULL;
}

static void unset_all(void) {
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        unsetenv(settings[i]);
}

static int setup(void **state) {
    *state = NULL;
    unset_all();
    return 0;
}

static int teardown(void **state) {
    run_free(state);
    unset_all();
    return 0;
}

/* Runs config_load on argv "rtstate" followed by the NULL-terminated args,
 * with the environment as the test left it. The run lives in *state until the
 * next load or teardown. */
static run_t *load(void **state, const char *const *args) {
    run_free(state);
    run_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    *state = r;
    char *argv[16] = {"rtstate"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++) {
        assert_true(argc < 15);
        argv[argc] = (char *)args[argc - 1];
    }
    size_t out_len, err_len;
    FILE *out = open_memstream(&r->out, &out_len);
    FILE *err = open_memstream(&r->err, &err_len);
    assert_non_null(out);
    assert_non_null(err);
    r->rc = config_load(&r->cfg, argc, argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Asserts the run failed with a message on err containing every given word. */
static void assert_error_names(const run_t *r, const char *w1, const char *w2) {
    assert_int_equal(r->rc, CONFIG_ERROR);
    assert_string_equal(r->out, "");
    if (!strstr(r->err, w1) || (w2 && !strstr(r->err, w2)))
        fail_msg("message '%s' should name '%s' and '%s'", r->err, w1, w2 ? w2 : "");
}

static void defaults(void **state) {
    run_t *r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->out, "");
    assert_string_equal(r->err, "");
    assert_int_equal(r->cfg.port, 8080);
    assert_string_equal(r->cfg.bind, "127.0.0.1"); /* this machine only, unless told */
    assert_string_equal(r->cfg.redis_url, "redis://127.0.0.1:6379/0");
    assert_int_equal(r->cfg.redis_timeout_ms, 500);
    assert_string_equal(r->cfg.key_prefix, "");
    assert_int_equal(r->cfg.threads, 0);
    assert_int_equal(r->cfg.client_timeout_ms, 3000);
    assert_int_equal(r->cfg.cleanup_interval_ms, 2000);
    assert_int_equal(r->cfg.presence_ttl_s, 300);
    assert_int_equal(r->cfg.session_ttl_s, 3600);
    assert_int_equal(r->cfg.heartbeat_ttl_s, 300);
    assert_int_equal(r->cfg.typing_ttl_s, 10);
    assert_int_equal(r->cfg.message_cache_max, 100);
    assert_int_equal(r->cfg.message_ttl_s, 86400);
    assert_int_equal(r->cfg.offline_queue_max, 100);
    assert_int_equal(r->cfg.offline_queue_ttl_s, 604800);
    assert_int_equal(r->cfg.notification_max, 100);
    assert_int_equal(r->cfg.notification_ttl_s, 604800);
    assert_int_equal(r->cfg.notification_queue_max, 10000);
    assert_int_equal(r->cfg.notification_queue_ttl_s, 604800);
    assert_int_equal(r->cfg.room_ttl_s, 604800);
    assert_int_equal(r->cfg.rate_limit_messages, 10);
    assert_int_equal(r->cfg.rate_limit_window_s, 60);
    assert_int_equal(r->cfg.max_image_bytes, 2097152);
    assert_int_equal(r->cfg.max_body_bytes, 65536);
    assert_string_equal(r->cfg.service_id, "rtstate");
}

static void environment_overrides_defaults(void **state) {
    setenv("PORT", "9000", 1);
    setenv("BIND", "::1", 1);
    setenv("REDIS_URL", "redis://:pw@cache:6380/2", 1);
    setenv("REDIS_TIMEOUT_MS", "250", 1);
    setenv("KEY_PREFIX", "test:", 1);
    setenv("THREADS", "8", 1);
    setenv("CLIENT_TIMEOUT_MS", "10000", 1);
    setenv("CLEANUP_INTERVAL_MS", "500", 1);
    setenv("PRESENCE_TTL_S", "60", 1);
    setenv("MAX_IMAGE_BYTES", "536870912", 1); /* 512 MiB: the largest allowed */
    setenv("MAX_BODY_BYTES", "1024", 1);
    setenv("SERVICE_ID", "rt-7", 1);
    run_t *r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->err, "");
    assert_int_equal(r->cfg.port, 9000);
    assert_string_equal(r->cfg.bind, "::1");
    assert_string_equal(r->cfg.redis_url, "redis://:pw@cache:6380/2");
    assert_int_equal(r->cfg.redis_timeout_ms, 250);
    assert_string_equal(r->cfg.key_prefix, "test:");
    assert_int_equal(r->cfg.threads, 8);
    assert_int_equal(r->cfg.client_timeout_ms, 10000);
    assert_int_equal(r->cfg.cleanup_interval_ms, 500);
    assert_int_equal(r->cfg.presence_ttl_s, 60);
    assert_int_equal(r->cfg.max_image_bytes, 536870912L);
    assert_int_equal(r->cfg.max_body_bytes, 1024);
    assert_string_equal(r->cfg.service_id, "rt-7");
}

static void empty_string_environment_is_kept(void **state) {
    setenv("SERVICE_ID", "", 1);
    run_t *r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->cfg.service_id, "");
}

static void flag_with_separate_value(void **state) {
    run_t *r = load(state, ARGS("--port", "9", "--redis-url", "unix:///tmp/r.sock", "--key-prefix",
                                "p:", "--max-image-bytes", "4096"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->err, "");
    assert_int_equal(r->cfg.port, 9);
    assert_string_equal(r->cfg.redis_url, "unix:///tmp/r.sock");
    assert_string_equal(r->cfg.key_prefix, "p:");
    assert_int_equal(r->cfg.max_image_bytes, 4096);
    assert_int_equal(r->cfg.threads, 0); /* untouched settings keep their defaults */
}

static void flag_with_equals(void **state) {
    run_t *r = load(state, ARGS("--port=9", "--threads=3", "--service-id=a=b",
                                "--cleanup-interval-ms=10", "--presence-ttl-s=2592000"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->err, "");
    assert_int_equal(r->cfg.port, 9);
    assert_int_equal(r->cfg.threads, 3);
    assert_string_equal(r->cfg.service_id, "a=b");
    assert_int_equal(r->cfg.cleanup_interval_ms, 10);
    assert_int_equal(r->cfg.presence_ttl_s, 86400 * 30);
}

static void flag_overrides_environment(void **state) {
    setenv("PORT", "7000", 1);
    setenv("KEY_PREFIX", "env:", 1);
    setenv("BIND", "127.0.0.1", 1);
    run_t *r = load(state, ARGS("--port", "9", "--key-prefix="));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(r->cfg.port, 9);
    assert_string_equal(r->cfg.key_prefix, "");
    assert_string_equal(r->cfg.bind, "127.0.0.1"); /* no flag: the environment stands */
}

static void last_flag_wins(void **state) {
    run_t *r = load(state, ARGS("--port=1", "--bind", "a", "--port", "2", "--bind=b"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(r->cfg.port, 2);
    assert_string_equal(r->cfg.bind, "b");
}

static void bounds_are_inclusive(void **state) {
    run_t *r = load(state, ARGS("--port=1", "--threads=1024", "--max-body-bytes=256",
                                "--redis-timeout-ms=60000"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(r->cfg.port, 1);
    assert_int_equal(r->cfg.threads, 1024);
    assert_int_equal(r->cfg.max_body_bytes, 256);
    assert_int_equal(r->cfg.redis_timeout_ms, 60000);
    r = load(state, ARGS("--port=65535"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(r->cfg.port, 65535);
}

static void bad_numbers_in_environment(void **state) {
    static const struct {
        const char *var, *value;
    } cases[] = {
        {"PORT", "abc"},
        {"PORT", ""},
        {"PORT", "0"},
        {"PORT", "65536"},
        {"PORT", "80x"},
        {"PORT", "8.5"},
        {"PORT", "-80"},
        {"THREADS", "-1"},
        {"THREADS", "1025"},
        {"REDIS_TIMEOUT_MS", "9"},
        {"MAX_BODY_BYTES", "255"},
        {"MAX_IMAGE_BYTES", "536870913"},
        {"MAX_IMAGE_BYTES", "99999999999999999999999"}, /* out of range for long */
        {"CLIENT_TIMEOUT_MS", "86400001"},
        {"PRESENCE_TTL_S", "0"},
        {"PORT", " 80"},
        {"PORT", "+80"},
        {"PORT", "0x50"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unset_all();
        setenv(cases[i].var, cases[i].value, 1);
        run_t *r = load(state, NULL);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", cases[i].value);
        assert_error_names(r, cases[i].var, quoted);
    }
}

static void bad_numbers_in_flags(void **state) {
    run_t *r = load(state, ARGS("--port", "http"));
    assert_error_names(r, "PORT", "'http'");
    r = load(state, ARGS("--threads=2000"));
    assert_error_names(r, "THREADS", "'2000'");
    r = load(state, ARGS("--max-image-bytes="));
    assert_error_names(r, "MAX_IMAGE_BYTES", NULL);
}

static void flag_error_wins_over_good_environment(void **state) {
    setenv("PORT", "7000", 1);
    run_t *r = load(state, ARGS("--port=0"));
    assert_error_names(r, "PORT", "'0'");
}

static void string_length_limits(void **state) {
    char prefix[66];
    memset(prefix, 'k', 64);
    prefix[64] = '\0';
    setenv("KEY_PREFIX", prefix, 1);
    run_t *r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(strlen(r->cfg.key_prefix), 64);
    prefix[64] = 'k';
    prefix[65] = '\0';
    setenv("KEY_PREFIX", prefix, 1);
    r = load(state, NULL);
    assert_error_names(r, "KEY_PREFIX", "64");
    unsetenv("KEY_PREFIX");

    char id[131];
    memset(id, 'i', 129);
    id[129] = '\0';
    char flag[160];
    snprintf(flag, sizeof flag, "--service-id=%s", id);
    r = load(state, ARGS(flag));
    assert_error_names(r, "SERVICE_ID", "128");
    id[128] = '\0';
    snprintf(flag, sizeof flag, "--service-id=%s", id);
    r = load(state, ARGS(flag));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->cfg.service_id, id);
}

/* The key layout's hash tag starts at the first '{' after the prefix, so a
 * prefix with a brace would change which slot (and which shape) a key is. */
static void key_prefix_without_braces(void **state) {
    const char *bad[] = {"{t}:", "t{", "t}", "a{b}c:", "}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("KEY_PREFIX", bad[i], 1);
        run_t *r = load(state, NULL);
        assert_error_names(r, "KEY_PREFIX", "'{'");
        unsetenv("KEY_PREFIX");
        char flag[32];
        snprintf(flag, sizeof flag, "--key-prefix=%s", bad[i]);
        r = load(state, ARGS(flag));
        assert_error_names(r, "KEY_PREFIX", "'}'");
    }
    run_t *r = load(state, ARGS("--key-prefix=t*[x]:sub:"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->cfg.key_prefix, "t*[x]:sub:");
}

static void migrate_keys_is_a_mode(void **state) {
    run_t *r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_false(r->cfg.migrate_keys);
    r = load(state, ARGS("--key-prefix=p:", "--migrate-keys"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_true(r->cfg.migrate_keys);
    assert_string_equal(r->cfg.key_prefix, "p:");
    r = load(state, ARGS("--migrate-keys=yes"));
    assert_error_names(r, "--migrate-keys=yes", NULL);
    r = load(state, ARGS("--help"));
    assert_non_null(strstr(r->out, "--migrate-keys"));
}

static void unknown_and_incomplete_flags(void **state) {
    run_t *r = load(state, ARGS("--no-such-flag"));
    assert_error_names(r, "--no-such-flag", NULL);
    r = load(state, ARGS("--port"));
    assert_error_names(r, "--port", NULL);
    r = load(state, ARGS("--bind=x", "--redis-url"));
    assert_error_names(r, "--redis-url", NULL);
    r = load(state, ARGS("--help=yes"));
    assert_error_names(r, "--help=yes", NULL);
}

static void positional_arguments_are_errors(void **state) {
    run_t *r = load(state, ARGS("serve"));
    assert_error_names(r, "'serve'", NULL);
    r = load(state, ARGS("--port", "9", "extra"));
    assert_error_names(r, "'extra'", NULL);
}

static void help(void **state) {
    run_t *r = load(state, ARGS("--help"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_string_equal(r->err, "");
    assert_non_null(strstr(r->out, "Usage: rtstate"));
    /* every setting, by flag and by variable, with its default */
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        assert_non_null(strstr(r->out, settings[i]));
    assert_non_null(strstr(r->out, "--port"));
    assert_non_null(strstr(r->out, "--redis-url"));
    assert_non_null(strstr(r->out, "--max-image-bytes"));
    assert_non_null(strstr(r->out, "(default: '8080')"));
    assert_non_null(strstr(r->out, "--version"));
    r = load(state, ARGS("-h"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_non_null(strstr(r->out, "Usage: rtstate"));
}

static void help_stops_before_later_errors(void **state) {
    run_t *r = load(state, ARGS("--help", "--port=0"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_string_equal(r->err, "");
}

static void version(void **state) {
    run_t *r = load(state, ARGS("--version"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_string_equal(r->out, "rtstate " RTSTATE_VERSION "\n");
    assert_string_equal(r->err, "");
    r = load(state, ARGS("-V"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_string_equal(r->out, "rtstate 0.1.0\n");
}

static void loads_again_after_a_flag_cluster(void **state) {
    /* "-hV" returns at 'h' with 'V' still pending inside getopt: the next load
     * (with other argv) must start afresh, not finish the old cluster */
    run_t *r = load(state, ARGS("-hV"));
    assert_int_equal(r->rc, CONFIG_EXIT);
    assert_non_null(strstr(r->out, "Usage: rtstate"));
    r = load(state, NULL);
    assert_int_equal(r->rc, CONFIG_OK);
    assert_string_equal(r->out, "");
    r = load(state, ARGS("--port", "9"));
    assert_int_equal(r->rc, CONFIG_OK);
    assert_int_equal(r->cfg.port, 9);
}

static void free_is_idempotent(void **state) {
    run_t *r = load(state, ARGS("--bind=::"));
    assert_int_equal(r->rc, CONFIG_OK);
    config_free(&r->cfg);
    assert_null(r->cfg.bind);
    assert_null(r->cfg.redis_url);
    assert_null(r->cfg.key_prefix);
    assert_null(r->cfg.service_id);
    /* teardown frees it once more */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(defaults),
        T(environment_overrides_defaults),
        T(empty_string_environment_is_kept),
        T(flag_with_separate_value),
        T(flag_with_equals),
        T(flag_overrides_environment),
        T(last_flag_wins),
        T(bounds_are_inclusive),
        T(bad_numbers_in_environment),
        T(bad_numbers_in_flags),
        T(flag_error_wins_over_good_environment),
        T(string_length_limits),
        T(key_prefix_without_braces),
        T(migrate_keys_is_a_mode),
        T(unknown_and_incomplete_flags),
        T(positional_arguments_are_errors),
        T(help),
        T(help_stops_before_later_errors),
        T(version),
        T(loads_again_after_a_flag_cluster),
        T(free_is_idempotent),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
