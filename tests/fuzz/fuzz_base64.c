/*
 * libFuzzer: base64 (core/base64.c), strict decoding and encoding.
 *
 * Proves that core_b64_decode never reads past its input or writes past its
 * output, and that it accepts exactly the canonical encodings: whatever it
 * decodes, encoding the result gives back the very same characters. And the
 * other way round: any bytes survive an encode-decode round trip unchanged.
 *
 * Input: decoded as base64 text, and encoded as bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* exact-size copies, so ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    size_t n = 0;
    unsigned char *dec = core_b64_decode(text, size, &n);
    if (dec) {
        assert(n <= size / 4 * 3);
        char *again = malloc(core_b64_encoded_len(n) + 1);
        size_t len = core_b64_encode(dec, n, again);
        assert(len == size && memcmp(again, text, size) == 0);
        free(again);
        free(dec);
    }
    free(text);

    char *enc = malloc(core_b64_encoded_len(size) + 1);
    size_t elen = core_b64_encode(data, size, enc);
    assert(elen == core_b64_encoded_len(size) && enc[elen] == '\0');
    dec = core_b64_decode(enc, elen, &n);
    assert(dec && n == size && memcmp(dec, data, size) == 0);
    free(dec);
    free(enc);
    return 0;
}
