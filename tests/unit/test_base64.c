/* Unit tests for core/base64.c: RFC 4648 vectors and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/base64.h"

/* RFC 4648 section 10 */
static const struct {
    const char *plain, *encoded;
} rfc_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define NVECTORS (sizeof rfc_vectors / sizeof rfc_vectors[0])

/* Asserts that decoding s (all of it) is refused. */
static void decode_bad(const char *s) {
    size_t out_len = 777;
    unsigned char *out = core_b64_decode(s, strlen(s), &out_len);
    if (out) {
        free(out);
        fail_msg("expected '%s' to be rejected", s);
    }
}

static void encoded_len(void **state) {
    (void)state;
    assert_int_equal(core_b64_encoded_len(0), 0);
    assert_int_equal(core_b64_encoded_len(1), 4);
    assert_int_equal(core_b64_encoded_len(2), 4);
    assert_int_equal(core_b64_encoded_len(3), 4);
    assert_int_equal(core_b64_encoded_len(4), 8);
    assert_int_equal(core_b64_encoded_len(6), 8);
    assert_int_equal(core_b64_encoded_len(7), 12);
    assert_int_equal(core_b64_encoded_len(2097152), 2796204);
}

static void encode_rfc_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        size_t n = strlen(rfc_vectors[i].plain);
        char out[16];
        memset(out, '#', sizeof out);
        size_t len = core_b64_encode((const unsigned char *)rfc_vectors[i].plain, n, out);
        assert_int_equal(len, strlen(rfc_vectors[i].encoded));
        assert_int_equal(len, core_b64_encoded_len(n));
        assert_string_equal(out, rfc_vectors[i].encoded);
    }
}

static void decode_rfc_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        const char *enc = rfc_vectors[i].encoded;
        size_t out_len = 777;
        unsigned char *out = core_b64_decode(enc, strlen(enc), &out_len);
        assert_non_null(out);
        assert_int_equal(out_len, strlen(rfc_vectors[i].plain));
        assert_memory_equal(out, rfc_vectors[i].plain, out_len);
        free(out);
    }
}

static void decode_uses_only_len_characters(void **state) {
    (void)state;
    size_t out_len = 0;
    unsigned char *out = core_b64_decode("Zm9vYmFy", 4, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, 3);
    assert_memory_equal(out, "foo", 3);
    free(out);
    /* a buffer that is not NUL-terminated */
    const char buf[4] = {'Z', 'm', '8', '='};
    out = core_b64_decode(buf, sizeof buf, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, 2);
    assert_memory_equal(out, "fo", 2);
    free(out);
}

static void decode_both_extra_characters(void **state) {
    (void)state;
    size_t out_len = 0;
    unsigned char *out = core_b64_decode("+/+/", 4, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
    free(out);
}

static void rejects_bad_length(void **state) {
    (void)state;
    decode_bad("Z");
    decode_bad("Zg");
    decode_bad("Zg=");
    decode_bad("Zm9");
    decode_bad("Zm9vY");
    decode_bad("Zm9vYg=");
    decode_bad("Zm9vYmFy=");
}

static void rejects_missing_padding(void **state) {
    (void)state;
    decode_bad("Zg");
    decode_bad("Zm8");
    decode_bad("Zm9vYg");
    decode_bad("Zm9vYmE");
}

static void rejects_bad_characters(void **state) {
    (void)state;
    decode_bad("Zm9-"); /* base64url */
    decode_bad("Zm9_");
    decode_bad("Zm9v!!!!");
    decode_bad("Zm.v");
    decode_bad("Zm9\x80");
    decode_bad("\xc3\xa9\xc3\xa9");
    const char nul[4] = {'Z', 'm', '\0', 'v'};
    size_t out_len;
    assert_null(core_b64_decode(nul, sizeof nul, &out_len));
}

static void rejects_whitespace(void **state) {
    (void)state;
    decode_bad(" Zm9v");
    decode_bad("Zm9v ");
    decode_bad("Zm9v\n");
    decode_bad("Zm9v\r\n");
    decode_bad("Zm 9v");
    decode_bad("Zm9v\nYmFy");
    decode_bad("Zm9vYmFy\t   ");
    decode_bad("    ");
}

static void rejects_misplaced_padding(void **state) {
    (void)state;
    decode_bad("====");
    decode_bad("Z===");
    decode_bad("=Zm9");
    decode_bad("Z=m9");
    decode_bad("Zm=v");
    decode_bad("Zg==Zm9v"); /* padding in the middle */
    decode_bad("Zm8=Zm8=");
    decode_bad("Zg=a");
    decode_bad("Zg==Zg==");
}

static void rejects_non_canonical_padding_bits(void **state) {
    (void)state;
    decode_bad("Zh=="); /* "Zg==" with a stray low bit: not canonical */
    decode_bad("Zm9="); /* "Zm8=" likewise */
    size_t n;
    unsigned char *out = core_b64_decode("Zm8=", 4, &n);
    assert_non_null(out);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "fo", 2);
    free(out);
}

static void empty_input_decodes_to_nothing(void **state) {
    (void)state;
    size_t out_len = 777;
    unsigned char *out = core_b64_decode("", 0, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, 0);
    free(out);
}

static void all_byte_values_round_trip(void **state) {
    (void)state;
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    /* every length 0..256 so all three padding cases see every byte value */
    for (size_t n = 0; n <= sizeof bytes; n++) {
        char enc[400];
        size_t len = core_b64_encode(bytes, n, enc);
        assert_int_equal(len, core_b64_encoded_len(n));
        assert_int_equal(strlen(enc), len);
        size_t out_len = 0;
        unsigned char *out = core_b64_decode(enc, len, &out_len);
        assert_non_null(out);
        assert_int_equal(out_len, n);
        if (n)
            assert_memory_equal(out, bytes, n);
        free(out);
    }
    /* and in reverse order, starting with the 0xff that most strings never hold */
    unsigned char rev[256];
    for (int i = 0; i < 256; i++)
        rev[i] = (unsigned char)(255 - i);
    char enc[400];
    size_t len = core_b64_encode(rev, sizeof rev, enc);
    assert_memory_equal(enc, "//79", 4);
    size_t out_len = 0;
    unsigned char *out = core_b64_decode(enc, len, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, 256);
    assert_memory_equal(out, rev, 256);
    free(out);
}

static void large_input_crosses_encoder_chunks(void **state) {
    (void)state;
    /* the encoder feeds OpenSSL 3 MiB at a time: go past one chunk, with a remainder */
    const size_t n = 3 * 1024 * 1024 + 2;
    unsigned char *in = malloc(n);
    char *enc = malloc(core_b64_encoded_len(n) + 1);
    assert_non_null(in);
    assert_non_null(enc);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 131 + (i >> 8));
    size_t len = core_b64_encode(in, n, enc);
    assert_int_equal(len, core_b64_encoded_len(n));
    assert_int_equal(strlen(enc), len);
    /* only the very end is padded */
    assert_null(memchr(enc, '=', len - 1));
    assert_int_equal(enc[len - 1], '=');
    size_t out_len = 0;
    unsigned char *out = core_b64_decode(enc, len, &out_len);
    assert_non_null(out);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, in, n);
    free(out);
    free(enc);
    free(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoded_len),
        cmocka_unit_test(encode_rfc_vectors),
        cmocka_unit_test(decode_rfc_vectors),
        cmocka_unit_test(decode_uses_only_len_characters),
        cmocka_unit_test(decode_both_extra_characters),
        cmocka_unit_test(rejects_bad_length),
        cmocka_unit_test(rejects_missing_padding),
        cmocka_unit_test(rejects_bad_characters),
        cmocka_unit_test(rejects_whitespace),
        cmocka_unit_test(rejects_misplaced_padding),
        cmocka_unit_test(rejects_non_canonical_padding_bits),
        cmocka_unit_test(empty_input_decodes_to_nothing),
        cmocka_unit_test(all_byte_values_round_trip),
        cmocka_unit_test(large_input_crosses_encoder_chunks),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
