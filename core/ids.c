/* Id validation and generation; see ids.h. */
#include "ids.h"

#include <openssl/rand.h>
#include <string.h>

static bool id_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool core_id_valid(const char *s) {
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= CORE_ID_MAX || !id_char((unsigned char)s[n]))
            return false;
    }
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

bool core_random_id(char *out, size_t cap, const char *prefix, size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t plen = strlen(prefix);
    if (plen + n + 1 > cap)
        return false;
    memcpy(out, prefix, plen);
    size_t filled = 0;
    while (filled < n) {
        unsigned char buf[32];
        if (RAND_bytes(buf, sizeof buf) != 1)
            return false;
        for (size_t i = 0; i < sizeof buf && filled < n; i++) {
            /* 248 = 4 * 62: rejecting the top 8 values keeps every letter equally likely. */
            if (buf[i] < 248)
                out[plen + filled++] = alphabet[buf[i] % 62];
        }
    }
    out[plen + n] = '\0';
    return true;
}
