/* Base64 via OpenSSL's EVP block coder, with strict validation first; see base64.h. */
#include "base64.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

size_t core_b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

size_t core_b64_encode(const unsigned char *in, size_t n, char *out) {
    /* EVP_EncodeBlock takes an int length: feed it in chunks that stay
     * multiples of 3 so the output concatenates without padding inside. */
    const size_t chunk = 3 * 1024 * 1024;
    size_t written = 0;
    do {
        size_t take = n > chunk ? chunk : n;
        written += (size_t)EVP_EncodeBlock((unsigned char *)out + written, in, (int)take);
        in += take;
        n -= take;
    } while (n > 0);
    out[written] = '\0';
    return written;
}

static bool b64_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

unsigned char *core_b64_decode(const char *s, size_t len, size_t *out_len) {
    if (len % 4 != 0 || len > (size_t)INT_MAX)
        return NULL;
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=')
        pad++;
    if (len >= 2 && s[len - 2] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++) {
        if (!b64_char((unsigned char)s[i]))
            return NULL;
    }
    /* Canonical only: the bits the padding leaves over must be zero ("Zh==" is not "Zg=="). */
    if (pad) {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int v = (int)(strchr(alphabet, s[len - pad - 1]) - alphabet);
        if (v & (pad == 2 ? 0x0F : 0x03))
            return NULL;
    }
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int n = len ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : 0;
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes; drop them. */
    *out_len = (size_t)n - pad;
    return out;
}
