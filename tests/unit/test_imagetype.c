/* Unit tests for core/imagetype.c: magic numbers, Content-Type and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/imagetype.h"

static const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00};
static const unsigned char png[] = {0x89, 'P',  'N',  'G',  '\r', '\n', 0x1A, '\n',
                                    0x00, 0x00, 0x00, 0x0D, 'I',  'H',  'D',  'R'};
static const unsigned char webp[] = {'R', 'I', 'F', 'F', 0x24, 0x00, 0x00, 0x00,
                                     'W', 'E', 'B', 'P', 'V',  'P',  '8',  ' '};

static void sniffs_jpeg(void **state) {
    (void)state;
    assert_int_equal(core_img_sniff(jpeg, sizeof jpeg), CORE_IMG_JPEG);
    /* the SOI marker and the first byte of the next marker are enough */
    assert_int_equal(core_img_sniff(jpeg, 3), CORE_IMG_JPEG);
    static const unsigned char exif[] = {0xFF, 0xD8, 0xFF, 0xE1};
    assert_int_equal(core_img_sniff(exif, sizeof exif), CORE_IMG_JPEG);
}

static void sniffs_png(void **state) {
    (void)state;
    assert_int_equal(core_img_sniff(png, sizeof png), CORE_IMG_PNG);
    assert_int_equal(core_img_sniff(png, 8), CORE_IMG_PNG);
}

static void sniffs_webp(void **state) {
    (void)state;
    assert_int_equal(core_img_sniff(webp, sizeof webp), CORE_IMG_WEBP);
    assert_int_equal(core_img_sniff(webp, 12), CORE_IMG_WEBP);
}

static void short_inputs_are_nothing(void **state) {
    (void)state;
    assert_int_equal(core_img_sniff(jpeg, 0), CORE_IMG_NONE);
    assert_int_equal(core_img_sniff(NULL, 0), CORE_IMG_NONE);
    assert_int_equal(core_img_sniff(jpeg, 2), CORE_IMG_NONE);
    assert_int_equal(core_img_sniff(png, 7), CORE_IMG_NONE);
    assert_int_equal(core_img_sniff(webp, 11), CORE_IMG_NONE);
    assert_int_equal(core_img_sniff(webp, 4), CORE_IMG_NONE);
}

static void near_misses_are_nothing(void **state) {
    (void)state;
    static const unsigned char not_jpeg[] = {0xFF, 0xD8, 0x00, 0xE0};
    assert_int_equal(core_img_sniff(not_jpeg, sizeof not_jpeg), CORE_IMG_NONE);
    static const unsigned char not_png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\r'};
    assert_int_equal(core_img_sniff(not_png, sizeof not_png), CORE_IMG_NONE);
    static const unsigned char lower_png[] = {0x89, 'p', 'n', 'g', '\r', '\n', 0x1A, '\n'};
    assert_int_equal(core_img_sniff(lower_png, sizeof lower_png), CORE_IMG_NONE);
    /* RIFF is also WAV and AVI */
    static const unsigned char wav[] = {'R', 'I', 'F', 'F', 0x24, 0, 0, 0, 'W', 'A', 'V', 'E'};
    assert_int_equal(core_img_sniff(wav, sizeof wav), CORE_IMG_NONE);
    static const unsigned char webp_no_riff[] = {'R', 'I', 'F', 'X', 0,   0,
                                                 0,   0,   'W', 'E', 'B', 'P'};
    assert_int_equal(core_img_sniff(webp_no_riff, sizeof webp_no_riff), CORE_IMG_NONE);
    static const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0};
    assert_int_equal(core_img_sniff(gif, sizeof gif), CORE_IMG_NONE);
    static const unsigned char text[] = "{\"hello\": \"world\"}";
    assert_int_equal(core_img_sniff(text, sizeof text - 1), CORE_IMG_NONE);
    /* the magic must be at the start */
    unsigned char shifted[sizeof png + 1] = {0};
    memcpy(shifted + 1, png, sizeof png);
    assert_int_equal(core_img_sniff(shifted, sizeof shifted), CORE_IMG_NONE);
}

static void mime_exact(void **state) {
    (void)state;
    assert_int_equal(core_img_from_mime("image/jpeg"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_mime("image/png"), CORE_IMG_PNG);
    assert_int_equal(core_img_from_mime("image/webp"), CORE_IMG_WEBP);
}

static void mime_ignores_case(void **state) {
    (void)state;
    assert_int_equal(core_img_from_mime("IMAGE/JPEG"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_mime("Image/Png"), CORE_IMG_PNG);
    assert_int_equal(core_img_from_mime("image/WebP"), CORE_IMG_WEBP);
}

static void mime_ignores_parameters(void **state) {
    (void)state;
    assert_int_equal(core_img_from_mime("image/jpeg;q=0.9"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_mime("image/png; charset=binary"), CORE_IMG_PNG);
    assert_int_equal(core_img_from_mime("image/webp ; x=y"), CORE_IMG_WEBP);
    assert_int_equal(core_img_from_mime("image/webp\t;x=y"), CORE_IMG_WEBP);
    assert_int_equal(core_img_from_mime("image/jpeg;"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_mime("image/png "), CORE_IMG_PNG);
}

static void mime_rejects_others(void **state) {
    (void)state;
    assert_int_equal(core_img_from_mime(NULL), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime(""), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime(";"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/jpg"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/gif"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/*"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/pn"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/pngx"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("image/jpegimage/jpeg"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("application/octet-stream"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("application/json"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("text/image/png"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_mime("jpeg"), CORE_IMG_NONE);
}

static void names(void **state) {
    (void)state;
    assert_int_equal(core_img_from_name("jpeg"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_name("jpg"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_name("JPG"), CORE_IMG_JPEG);
    assert_int_equal(core_img_from_name("png"), CORE_IMG_PNG);
    assert_int_equal(core_img_from_name("PNG"), CORE_IMG_PNG);
    assert_int_equal(core_img_from_name("webp"), CORE_IMG_WEBP);
    assert_int_equal(core_img_from_name(NULL), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name(""), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name("gif"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name("image/png"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name("jpe"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name("pngs"), CORE_IMG_NONE);
    assert_int_equal(core_img_from_name(" png"), CORE_IMG_NONE);
}

static void mime_and_name_strings(void **state) {
    (void)state;
    assert_string_equal(core_img_mime(CORE_IMG_JPEG), "image/jpeg");
    assert_string_equal(core_img_mime(CORE_IMG_PNG), "image/png");
    assert_string_equal(core_img_mime(CORE_IMG_WEBP), "image/webp");
    assert_null(core_img_mime(CORE_IMG_NONE));
    assert_string_equal(core_img_name(CORE_IMG_JPEG), "jpeg");
    assert_string_equal(core_img_name(CORE_IMG_PNG), "png");
    assert_string_equal(core_img_name(CORE_IMG_WEBP), "webp");
    assert_null(core_img_name(CORE_IMG_NONE));
}

static void strings_round_trip(void **state) {
    (void)state;
    for (core_img_t t = CORE_IMG_JPEG; t <= CORE_IMG_WEBP; t++) {
        assert_int_equal(core_img_from_mime(core_img_mime(t)), t);
        assert_int_equal(core_img_from_name(core_img_name(t)), t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sniffs_jpeg),
        cmocka_unit_test(sniffs_png),
        cmocka_unit_test(sniffs_webp),
        cmocka_unit_test(short_inputs_are_nothing),
        cmocka_unit_test(near_misses_are_nothing),
        cmocka_unit_test(mime_exact),
        cmocka_unit_test(mime_ignores_case),
        cmocka_unit_test(mime_ignores_parameters),
        cmocka_unit_test(mime_rejects_others),
        cmocka_unit_test(names),
        cmocka_unit_test(mime_and_name_strings),
        cmocka_unit_test(strings_round_trip),
    };
    return cmocka_run_group_tests_name("imagetype", tests, NULL, NULL);
}
