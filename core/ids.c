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

/* CSPRNG bytes from a per-thread pool that RAND_bytes refills 1 KiB at a
 * time. An id is made on every request (X-Request-Id), and a RAND_bytes call
 * costs some 6 000 instructions of fixed overhead (a getpid, locks, parameter
 * lookups) whatever its size: fetched in bulk, the same bytes cost a copy.
 * A pool is never shared between threads; a forked child would repeat its
 * parent's unused bytes, and the service never forks. */
static bool random_bytes(unsigned char *out, size_t n) {
    static _Thread_local unsigned char pool[1024];
    static _Thread_local size_t left;
    while (n > 0) {
        if (left == 0) {
            if (RAND_bytes(pool, sizeof pool) != 1)
                return false;
            left = sizeof pool;
        }
        size_t take = n < left ? n : left;
        unsigned char *from = pool + sizeof pool - left;
        memcpy(out, from, take);
        memset(from, 0, take); /* a byte given out is not kept */
        left -= take;
        out += take;
        n -= take;
    }
    return true;
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
        size_t want = n - filled < sizeof buf ? n - filled : sizeof buf;
        if (!random_bytes(buf, want))
            return false;
        for (size_t i = 0; i < want; i++) {
            /* 248 = 4 * 62: rejecting the top 8 values keeps every letter equally likely. */
            if (buf[i] < 248)
                out[plen + filled++] = alphabet[buf[i] % 62];
        }
    }
    out[plen + n] = '\0';
    return true;
}
