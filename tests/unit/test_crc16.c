/* Unit tests for core/crc16.c: the CRC16-XMODEM check value, every table
 * entry against a bit-by-bit CRC, and key slots with and without hash tags
 * against what a real redis-server 7.0 answered to CLUSTER KEYSLOT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/crc16.h"

/* The definition itself: one bit at a time, MSB first. */
static uint16_t crc16_bitwise(const char *buf, size_t len) {
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static void check_value(void **state) {
    (void)state;
    /* the catalogued check value of CRC-16/XMODEM */
    assert_int_equal(core_crc16("123456789", 9), 0x31C3);
    assert_int_equal(core_crc16("", 0), 0);
}

static void table_matches_the_bitwise_crc(void **state) {
    (void)state;
    /* a one-byte message's CRC is its table entry; two bytes exercise the chaining */
    for (int b = 0; b < 256; b++) {
        char one = (char)b;
        assert_int_equal(core_crc16(&one, 1), crc16_bitwise(&one, 1));
        char two[2] = {(char)b, (char)(255 - b)};
        assert_int_equal(core_crc16(two, 2), crc16_bitwise(two, 2));
    }
    const char bin[] = "a\0b\xff\x80{}";
    assert_int_equal(core_crc16(bin, sizeof bin - 1), crc16_bitwise(bin, sizeof bin - 1));
}

static int slot(const char *key) { return core_key_slot(key, strlen(key)); }

/* Answers of `redis-cli CLUSTER KEYSLOT <key>` from redis-server 7.0.15 run
 * with --cluster-enabled yes. */
static void slots_match_cluster_keyslot(void **state) {
    (void)state;
    static const struct {
        const char *key;
        int slot;
    } cases[] = {
        {"123456789", 12739},
        {"foo", 12182},
        {"bar", 5061},
        {"", 0},
        {"{user1000}.following", 3443},
        {"{user1000}.followers", 3443},
        {"foo{}{bar}", 8363},    /* the first pair is empty: the whole key */
        {"foo{{bar}}zap", 4015}, /* "{bar" */
        {"foo{bar}{zap}", 5061}, /* "bar", the first pair only */
        {"{}", 15257},
        {"}{", 12793},
        {"{a", 10276}, /* no closing brace: the whole key */
        {"a{b}", 3300},
        {"x{", 3596},
        {"{}}", 14790},
        {"a}b{c}d", 7365},
        {"client:{07sd}:cam1", 7668},
        {"tA:clients:{07sd}", 7668},
        {"{07sd}", 7668},
        {"key:{h\xc3\xa9llo}:z", 11061},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (slot(cases[i].key) != cases[i].slot)
            fail_msg("'%s': slot %d, CLUSTER KEYSLOT says %d", cases[i].key, slot(cases[i].key),
                     cases[i].slot);
    }
}

static void tag_rule(void **state) {
    (void)state;
    /* a tag hashes as its content alone */
    assert_int_equal(slot("prefix:{abc}:tail"), slot("abc"));
    assert_int_equal(slot("{abc}"), slot("abc"));
    assert_int_equal(slot("{abc"), core_crc16("{abc", 4) & 16383);
    /* the key's length counts, not a NUL: a tag after a NUL byte is still found */
    const char k[] = "x\0{t}y";
    assert_int_equal(core_key_slot(k, sizeof k - 1), slot("t"));
    /* a brace past len is not seen */
    assert_int_equal(core_key_slot("ab{c}", 3), slot("ab{"));
    /* every slot is in range */
    char key[16];
    for (int i = 0; i < 5000; i++) {
        size_t n = (size_t)(1 + i % 15);
        memset(key, 'a' + i % 26, n);
        key[0] = (char)i;
        int s = core_key_slot(key, n);
        assert_true(s >= 0 && s < CORE_SLOTS);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_value),
        cmocka_unit_test(table_matches_the_bitwise_crc),
        cmocka_unit_test(slots_match_cluster_keyslot),
        cmocka_unit_test(tag_rule),
    };
    return cmocka_run_group_tests_name("crc16", tests, NULL, NULL);
}
