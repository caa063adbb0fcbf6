/* UTF-8 validation and the one escaper; see utf8.h. */
#include "utf8.h"

#include <string.h>

/* The character at s (n > 0 bytes, s[0] >= 0x80): its length, with the code
 * point in *cp; or 0 when it is ill-formed, with in *bad the length of its
 * maximal subpart (the longest start of a well-formed sequence, at least 1
 * byte), which is replaced as one. The byte ranges are table 3-7 of the
 * Unicode standard: the second byte's range rules out overlong forms (E0, F0),
 * surrogates (ED) and code points past U+10FFFF (F4). */
static size_t decode(const unsigned char *s, size_t n, unsigned *cp, size_t *bad) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        *bad = 1; /* a continuation byte first, C0/C1 (always overlong), or F5-FF */
        return 0;
    }
    unsigned v = c & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        v = v << 6 | (s[k] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return len;
}

bool core_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        unsigned cp;
        size_t bad, len = decode(s + i, n - i, &cp, &bad);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

static const char hex[] = "0123456789abcdef";

/* "\u00XX" (u) or "\xHH" into e; returns 6 or 4. */
static size_t put_hex(char *e, unsigned v, bool u) {
    size_t k = 0;
    e[k++] = '\\';
    e[k++] = u ? 'u' : 'x';
    if (u) {
        e[k++] = '0';
        e[k++] = '0';
    }
    e[k++] = hex[v >> 4 & 15];
    e[k++] = hex[v & 15];
    return k;
}

/* The character at s (n > 0 bytes) that the fast path did not copy, as it is
 * written in mode, into e (CORE_UTF8_ESC_MAX bytes); *take is how many bytes
 * of s it stands for. Returns the length written. */
static size_t escape_one(const unsigned char *s, size_t n, bool json, char *e, size_t *take) {
    unsigned c = s[0];
    *take = 1;
    if (c < 0x80) {
        const char *named = NULL;
        switch (c) {
        case '"': named = "\\\""; break;
        case '\\': named = "\\\\"; break;
        case '\n': named = "\\n"; break;
        case '\r': named = "\\r"; break;
        case '\t': named = "\\t"; break;
        case '\b': named = json ? "\\b" : NULL; break;
        case '\f': named = json ? "\\f" : NULL; break;
        default: break;
        }
        if (named) {
            memcpy(e, named, 2);
            return 2;
        }
        return put_hex(e, c, json); /* another C0 control, or DEL */
    }
    unsigned cp;
    size_t bad, len = decode(s, n, &cp, &bad);
    if (len && cp >= 0x80 && cp <= 0x9F) { /* a C1 control (0x85 ends lines, 0x9b is CSI) */
        *take = len;
        return put_hex(e, cp, true);
    }
    if (len) {
        *take = len;
        memcpy(e, s, len);
        return len;
    }
    *take = bad;
    if (json) {
        memcpy(e, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
        return 3;
    }
    size_t k = 0;
    for (size_t i = 0; i < bad; i++)
        k += put_hex(e + k, s[i], false);
    return k;
}

/* The bytes copied as they are: bit 0 in JSON mode, bit 1 in TEXT mode.
 * Printable ASCII (0x20-0x7E) but '"' (TEXT only) and '\\' (neither). */
/* clang-format off */
#define X16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
    X16(0), X16(0),                                  /* 0x00-0x1F: C0 controls */
    3, 3, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x20-0x2F: '"' is 0x22 */
    X16(3), X16(3),                                  /* 0x30-0x4F */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3, 3,  /* 0x50-0x5F: '\\' is 0x5C */
    X16(3),                                          /* 0x60-0x6F */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0,  /* 0x70-0x7F: DEL */
    X16(0), X16(0), X16(0), X16(0),                  /* 0x80-0xFF: decoded */
    X16(0), X16(0), X16(0), X16(0),
};
#undef X16
/* clang-format on */

size_t core_utf8_escape(const char *str, size_t n, core_utf8_mode_t mode, char *out, size_t cap,
                        size_t *used) {
    const unsigned char *s = (const unsigned char *)str;
    bool json = mode == CORE_UTF8_JSON;
    unsigned bit = json ? 1 : 2;
    size_t i = 0, o = 0;
    while (i < n) {
        /* the fast path: plain bytes are copied in runs, one table look-up each */
        size_t end = n - i < cap - o ? n : i + (cap - o), j = i;
        while (j < end && (plain[s[j]] & bit))
            j++;
        if (j > i) {
            memcpy(out + o, s + i, j - i);
            o += j - i;
            i = j;
        }
        if (i == n || j == end)
            break; /* all done, or out is full */
        char e[CORE_UTF8_ESC_MAX];
        size_t take, k = escape_one(s + i, n - i, json, e, &take);
        if (k > cap - o)
            break;
        memcpy(out + o, e, k);
        o += k;
        i += take;
    }
    if (used)
        *used = i;
    return o;
}
