/*
 * libFuzzer: image type sniffing and naming (core/imagetype.c).
 *
 * Proves that core_img_sniff reads only the bytes it is given and calls a
 * buffer a type exactly when it starts with that type's magic number, and
 * that Content-Type and format names map to types consistently: whatever
 * core_img_from_mime or core_img_from_name accepts, the type's own MIME type
 * and name map back to it.
 *
 * Input: the bytes to sniff; the same bytes as a string for the name lookups.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/imagetype.h"

static void round_trips(core_img_t t) {
    if (t == CORE_IMG_NONE) {
        assert(!core_img_mime(t) && !core_img_name(t));
        return;
    }
    assert(core_img_from_mime(core_img_mime(t)) == t);
    assert(core_img_from_name(core_img_name(t)) == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size heap copy, so ASan catches a read one byte past the end */
    unsigned char *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    core_img_t t = core_img_sniff(b, size);
    bool jpeg = size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
    bool png = size >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
    bool webp = size >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0;
    assert((t == CORE_IMG_JPEG) == jpeg);
    assert((t == CORE_IMG_PNG) == png);
    assert((t == CORE_IMG_WEBP) == webp);
    round_trips(t);
    free(b);

    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    round_trips(core_img_from_mime(s));
    round_trips(core_img_from_name(s));
    free(s);
    return 0;
}
