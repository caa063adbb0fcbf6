/* Unit tests for core/jsonout.c: the same text as cJSON_PrintUnformatted,
 * value for value, except that strings always come out as valid UTF-8 with
 * no control character; and every number reading back as itself. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../core/jsonout.h"

/* Prints j both ways and asserts the texts are equal; frees j. */
static void same_as_cjson(cJSON *j) {
    char *want = cJSON_PrintUnformatted(j);
    size_t len = 0;
    char *got = core_json_print(j, &len);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(got));
    free(want);
    free(got);
    cJSON_Delete(j);
}

static void scalars_and_containers(void **state) {
    (void)state;
    same_as_cjson(cJSON_CreateNull());
    same_as_cjson(cJSON_CreateTrue());
    same_as_cjson(cJSON_CreateFalse());
    same_as_cjson(cJSON_CreateObject());
    same_as_cjson(cJSON_CreateArray());
    same_as_cjson(cJSON_CreateString(""));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "cam-1");
    cJSON_AddNumberToObject(o, "frame_number", 42);
    cJSON_AddBoolToObject(o, "has_image", 1);
    cJSON_AddNullToObject(o, "nothing");
    cJSON *a = cJSON_AddArrayToObject(o, "list");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(a, cJSON_CreateString("two"));
    cJSON_AddItemToArray(a, cJSON_CreateObject());
    cJSON_AddItemToArray(a, cJSON_CreateArray());
    cJSON *in = cJSON_AddObjectToObject(o, "inner");
    cJSON_AddStringToObject(in, "k\"ey", "v");
    same_as_cjson(o);
}

static void strings_escaped_as_cjson_does(void **state) {
    (void)state;
    static const char *cases[] = {
        "plain",        "quote\"d",  "back\\slash", "\b\f\n\r\t", "\x01\x1f control",
        "snow ☃ and 🎉", "</script>", "/slash/",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        same_as_cjson(cJSON_CreateString(cases[i]));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, cases[i], cases[i]);
        same_as_cjson(o);
    }
}

/* Where the text differs from cJSON's, which copies any byte >= 0x20 as it
 * is: what a client sent is always valid UTF-8 and free of control characters
 * when it comes back (a name stored by another writer of the same Redis, the
 * Content-Type echoed in a 415). */
static void strings_always_valid_utf8(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\x7f del", "\"\\u007f del\""},
        {"nel \xc2\x85 csi \xc2\x9b", "\"nel \\u0085 csi \\u009b\""}, /* C1 controls */
        {"\xc2\xa0 nbsp", "\"\xc2\xa0 nbsp\""},                       /* the first after them */
        {"esc \x1b[31m", "\"esc \\u001b[31m\""},
        {"text/\xff\xfe", "\"text/\xef\xbf\xbd\xef\xbf\xbd\""},       /* a byte each: U+FFFD */
        {"\xe2\x82", "\"\xef\xbf\xbd\""},                             /* cut short: one U+FFFD */
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* overlong '/' */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_CreateString(cases[i].in);
        char *got = core_json_print(j, NULL);
        assert_non_null(got);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("case %zu: got %s, want %s", i, got, cases[i].out);
        free(got);
        cJSON_Delete(j);
    }
    /* keys too, through the writer */
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "k\xff");
    core_jsonw_string(&w, "v\x80");
    core_jsonw_end(&w);
    char *got = core_jsonw_finish(&w, NULL);
    assert_string_equal(got, "{\"k\xef\xbf\xbd\":\"v\xef\xbf\xbd\"}");
    free(got);
}

static void numbers(void **state) {
    (void)state;
    static const double cases[] = {0,
                                   1,
                                   -1,
                                   42,
                                   2147483647.0,
                                   2147483648.0,
                                   -2147483649.0,
                                   1763800000123.0, /* a time in ms */
                                   999999999999999.0,
                                   1e15,
                                   1e16,
                                   9007199254740993.0,
                                   1e300,
                                   -1e-300,
                                   0.5,
                                   0.1,
                                   1.0 / 3,
                                   -2.25,
                                   123.456,
                                   45.4642035,
                                   5e-324};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *n = cJSON_CreateNumber(cases[i]);
        char *text = core_json_print(n, NULL);
        char *theirs = cJSON_PrintUnformatted(n);
        /* it reads back as the same double */
        assert_true(strtod(text, NULL) == cases[i]);
        /* and is cJSON's text, unless cJSON's 15 digits do not read back
         * exactly (cJSON accepts them within an epsilon; this writes 17) */
        if (strcmp(text, theirs) != 0) {
            assert_true(strtod(theirs, NULL) != cases[i]);
            assert_int_equal(strlen(text) - strspn(text, "-"), 16 + (strchr(text, '.') != NULL));
        }
        free(theirs);
        free(text);
        cJSON_Delete(n);
    }
    /* what JSON cannot hold is null, as cJSON writes it */
    same_as_cjson(cJSON_CreateNumber(NAN));
    same_as_cjson(cJSON_CreateNumber(INFINITY));
    same_as_cjson(cJSON_CreateNumber(-INFINITY));
}

static void large_tree(void **state) {
    (void)state;
    /* a 1 000-user page: the buffer grows many times */
    cJSON *o = cJSON_CreateObject();
    cJSON *users = cJSON_AddArrayToObject(o, "users");
    for (int i = 0; i < 1000; i++) {
        cJSON *u = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "user-%05d", i);
        cJSON_AddStringToObject(u, "user_id", id);
        cJSON_AddNumberToObject(u, "last_seen_ms", 1763800000000.0 + i);
        cJSON_AddItemToArray(users, u);
    }
    cJSON_AddNumberToObject(o, "total", 1000);
    same_as_cjson(o);
    assert_null(core_json_print(NULL, NULL));
}

/* The writer, driven by hand, against the same value built as a cJSON tree. */
static void writer_matches_the_tree(void **state) {
    (void)state;
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "count");
    core_jsonw_int(&w, 2);
    core_jsonw_key(&w, "users");
    core_jsonw_array(&w);
    for (int i = 0; i < 2; i++) {
        core_jsonw_object(&w);
        core_jsonw_key(&w, "id");
        core_jsonw_string(&w, i ? "b\"q" : "a");
        core_jsonw_key(&w, "online");
        core_jsonw_bool(&w, i == 0);
        core_jsonw_key(&w, "device_id");
        core_jsonw_null(&w);
        core_jsonw_key(&w, "ratio");
        core_jsonw_number(&w, 0.25);
        core_jsonw_key(&w, "empty");
        core_jsonw_array(&w);
        core_jsonw_end(&w);
        core_jsonw_key(&w, "none");
        core_jsonw_object(&w);
        core_jsonw_end(&w);
        core_jsonw_end(&w);
    }
    core_jsonw_end(&w);
    core_jsonw_key(&w, "next_cursor");
    core_jsonw_string(&w, NULL);
    core_jsonw_end(&w);
    size_t len = 0;
    char *got = core_jsonw_finish(&w, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(got));

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", 2);
    cJSON *users = cJSON_AddArrayToObject(o, "users");
    for (int i = 0; i < 2; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "id", i ? "b\"q" : "a");
        cJSON_AddBoolToObject(u, "online", i == 0);
        cJSON_AddNullToObject(u, "device_id");
        cJSON_AddNumberToObject(u, "ratio", 0.25);
        cJSON_AddArrayToObject(u, "empty");
        cJSON_AddObjectToObject(u, "none");
        cJSON_AddItemToArray(users, u);
    }
    cJSON_AddStringToObject(o, "next_cursor", "");
    char *want = cJSON_PrintUnformatted(o);
    assert_string_equal(got, want);
    free(want);
    free(got);
    cJSON_Delete(o);
    /* a bare value is a text too */
    core_jsonw_init(&w);
    core_jsonw_int(&w, -42);
    got = core_jsonw_finish(&w, NULL);
    assert_string_equal(got, "-42");
    free(got);
}

/* Trees written into a writer, as list items built as trees are: each comes
 * out as core_json_print prints it, in place, and a NULL tree (building it
 * ran out of memory) fails the whole text. */
static void trees_inside_a_writer(void **state) {
    (void)state;
    core_jsonw_t w;
    core_jsonw_init(&w);
    core_jsonw_object(&w);
    core_jsonw_key(&w, "items");
    core_jsonw_array(&w);
    for (int i = 0; i < 2; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", i ? "b\"q" : "a");
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(item, "at"), "x", 0.5 * i);
        core_jsonw_take_tree(&w, item); /* freed: valgrind and ASan would say otherwise */
    }
    core_jsonw_end(&w);
    core_jsonw_key(&w, "count");
    core_jsonw_int(&w, 2);
    core_jsonw_end(&w);
    char *got = core_jsonw_finish(&w, NULL);
    assert_string_equal(
        got,
        "{\"items\":[{\"id\":\"a\",\"at\":{\"x\":0}},{\"id\":\"b\\\"q\",\"at\":{\"x\":"
        "0.5}}],\"count\":2}");
    free(got);
    core_jsonw_init(&w);
    core_jsonw_array(&w);
    core_jsonw_take_tree(&w, NULL);
    core_jsonw_end(&w);
    assert_null(core_jsonw_finish(&w, NULL));
}

static void writer_misuse_gives_no_text(void **state) {
    (void)state;
    core_jsonw_t w;
    core_jsonw_init(&w); /* nothing written */
    assert_null(core_jsonw_finish(&w, NULL));
    core_jsonw_init(&w); /* left open */
    core_jsonw_object(&w);
    core_jsonw_key(&w, "a");
    core_jsonw_int(&w, 1);
    assert_null(core_jsonw_finish(&w, NULL));
    core_jsonw_init(&w); /* a key without its value */
    core_jsonw_object(&w);
    core_jsonw_key(&w, "a");
    core_jsonw_end(&w);
    assert_null(core_jsonw_finish(&w, NULL));
    core_jsonw_init(&w); /* closed once too often */
    core_jsonw_array(&w);
    core_jsonw_end(&w);
    core_jsonw_end(&w);
    assert_null(core_jsonw_finish(&w, NULL));
    core_jsonw_init(&w); /* discarded */
    core_jsonw_array(&w);
    core_jsonw_discard(&w);
    assert_int_equal(w.n, 0);
}

/* Any tree cJSON can parse prints: its nesting limit is 1 000. */
static void deep_nesting(void **state) {
    (void)state;
    enum { DEEP = 1000 };
    char *text = malloc(2 * DEEP + 1);
    memset(text, '[', DEEP);
    memset(text + DEEP, ']', DEEP);
    text[2 * DEEP] = '\0';
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    char *got = core_json_print(j, NULL);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
    cJSON_Delete(j);
    free(text);
    /* past the writer's own depth: no text, rather than a wrong one */
    core_jsonw_t w;
    core_jsonw_init(&w);
    for (int i = 0; i <= CORE_JSONW_DEPTH; i++)
        core_jsonw_array(&w);
    for (int i = 0; i <= CORE_JSONW_DEPTH; i++)
        core_jsonw_end(&w);
    assert_null(core_jsonw_finish(&w, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars_and_containers),
        cmocka_unit_test(strings_escaped_as_cjson_does),
        cmocka_unit_test(strings_always_valid_utf8),
        cmocka_unit_test(numbers),
        cmocka_unit_test(large_tree),
        cmocka_unit_test(writer_matches_the_tree),
        cmocka_unit_test(trees_inside_a_writer),
        cmocka_unit_test(writer_misuse_gives_no_text),
        cmocka_unit_test(deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
