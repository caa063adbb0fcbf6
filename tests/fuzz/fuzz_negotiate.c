/*
 * libFuzzer: Accept negotiation (api/http/negotiate.c) on any header value.
 *
 * Proves that api_accept_quality never crashes or reads past the header,
 * whatever the commas, semicolons, q-values and whitespace, and that it always
 * answers a quality in [0, 1] for each type the service serves, so a frame GET
 * can only answer raw bytes, JSON or 406.
 *
 * Input: the whole header value (NUL-terminated copy).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/http/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const types[] = {"application/json", "image/jpeg", "image/png", "image/webp",
                                        "application/octet-stream"};
    char *accept = malloc(size + 1);
    memcpy(accept, data, size);
    accept[size] = '\0';
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        double q = api_accept_quality(accept, types[i]);
        assert(q >= 0 && q <= 1);
    }
    free(accept);
    return 0;
}
