/*
 * libFuzzer: the one escaper (core/utf8.c) and what is written through it, a
 * problem+json body and the log lines of both formats.
 *
 * Proves, for any bytes a client could send:
 *  - JSON mode writes valid UTF-8 that cJSON reads back, as a JSON string, to
 *    exactly the input with each ill-formed sequence replaced by U+FFFD (found
 *    here by a decoder of its own, written from the code point arithmetic
 *    rather than from the byte table core/utf8.c uses);
 *  - TEXT mode writes valid UTF-8 with no control byte (C0, DEL) and no C1
 *    character, and reads back (\\, \n, \r, \t, \xHH, \u00HH undone) to
 *    exactly the input: nothing is lost or made up;
 *  - cut short at any capacity, both write a prefix of the whole, never half
 *    an escape or half a character, and say how much input it stands for;
 *  - a problem body whose detail quotes the bytes, and request and event log
 *    lines quoting them (LOG_FORMAT json and text), are valid UTF-8; the JSON
 *    ones parse, with the bytes read back as above.
 *
 * Input: the bytes; the first one also picks the capacity of the cut-short
 * check.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../api/http/problem.h"
#include "../../core/log.h"
#include "../../core/utf8.h"

/* The well-formed character at s (n > 0 bytes): its length, or 0. */
static size_t ref_char(const uint8_t *s, size_t n) {
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (!len || len > n || (len == 4 && s[0] > 0xF7))
        return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3Fu);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    bool ok = cp >= least[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    return ok ? len : 0;
}

/* True when the k bytes at s (a lead byte and k - 1 continuation bytes) can
 * still be completed to a well-formed character: the code points reachable
 * from them, an interval, meet the well-formed ones of that length. */
static bool ref_prefix_ok(const uint8_t *s, size_t k) {
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (!len || k >= len || (len == 4 && s[0] > 0xF7))
        return false;
    uint32_t v = s[0] & (0x7Fu >> len);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return false;
        v = v << 6 | (s[i] & 0x3Fu);
    }
    unsigned rest = 6 * (unsigned)(len - k);
    uint32_t lo = v << rest, hi = lo | ((1u << rest) - 1);
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (lo < least[len])
        lo = least[len];
    if (hi > 0x10FFFF)
        hi = 0x10FFFF;
    return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
}

/* The input as JSON mode promises to carry it: each maximal subpart of an
 * ill-formed sequence (the longest completable prefix, at least a byte) as
 * U+FFFD. out holds 3 * n bytes; returns the length. */
static size_t ref_replace(const uint8_t *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = ref_char(s + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        size_t bad = 1;
        while (i + bad < n && ref_prefix_ok(s + i, bad + 1))
            bad++;
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
        i += bad;
    }
    return o;
}

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* Undoes TEXT mode; returns the length of the bytes in out (n bytes room). */
static size_t text_unescape(const char *t, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (t[i] != '\\') {
            out[o++] = (uint8_t)t[i++];
            continue;
        }
        char c = t[i + 1];
        if (c == '\\' || c == 'n' || c == 'r' || c == 't') {
            out[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : '\\';
            i += 2;
        } else if (c == 'x') {
            out[o++] = (uint8_t)(hexval(t[i + 2]) << 4 | hexval(t[i + 3]));
            i += 4;
        } else {
            assert(c == 'u' && t[i + 2] == '0' && t[i + 3] == '0');
            unsigned v = (unsigned)(hexval(t[i + 4]) << 4 | hexval(t[i + 5]));
            assert(v >= 0x80 && v <= 0x9F); /* only C1 controls are written so */
            out[o++] = 0xC2;
            out[o++] = (uint8_t)v;
            i += 6;
        }
    }
    return o;
}

static void no_controls(const char *t, size_t n) {
    assert(core_utf8_valid(t, n));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        assert(c >= 0x20 && c != 0x7F);
        assert(!(c == 0xC2 && i + 1 < n && (unsigned char)t[i + 1] <= 0x9F));
    }
}

/* JSON mode: the text, quoted, parses to want (wlen bytes, cut at a NUL as
 * cJSON cuts it). */
static void json_reads_back(const char *text, size_t n, const char *want, size_t wlen) {
    assert(core_utf8_valid(text, n));
    char *quoted = malloc(n + 3);
    quoted[0] = '"';
    memcpy(quoted + 1, text, n);
    memcpy(quoted + 1 + n, "\"", 2);
    cJSON *j = cJSON_ParseWithLength(quoted, n + 2);
    assert(cJSON_IsString(j));
    size_t upto = strnlen(want, wlen);
    assert(strlen(j->valuestring) == upto && memcmp(j->valuestring, want, upto) == 0);
    cJSON_Delete(j);
    free(quoted);
}

static void whole(const uint8_t *data, size_t size, const char *replaced, size_t rlen) {
    char *out = malloc(size * CORE_UTF8_ESC_MAX + 1);
    size_t used, n = core_utf8_escape((const char *)data, size, CORE_UTF8_JSON, out,
                                      size * CORE_UTF8_ESC_MAX, &used);
    assert(used == size);
    json_reads_back(out, n, replaced, rlen);

    n = core_utf8_escape((const char *)data, size, CORE_UTF8_TEXT, out, size * CORE_UTF8_ESC_MAX,
                         &used);
    assert(used == size);
    no_controls(out, n);
    uint8_t *back = malloc(n + 1);
    assert(text_unescape(out, n, back) == size && memcmp(back, data, size) == 0);
    free(back);
    free(out);
}

static void cut_short(const uint8_t *data, size_t size) {
    size_t cap = size ? data[0] % 64 : 0;
    for (int m = 0; m < 2; m++) {
        core_utf8_mode_t mode = m ? CORE_UTF8_TEXT : CORE_UTF8_JSON;
        char part[64], *all = malloc(size * CORE_UTF8_ESC_MAX + 1);
        size_t used, n = core_utf8_escape((const char *)data, size, mode, part, cap, &used);
        assert(n <= cap && used <= size);
        /* what was written is the whole escape of what was used */
        size_t k =
            core_utf8_escape((const char *)data, used, mode, all, size * CORE_UTF8_ESC_MAX, NULL);
        assert(k == n && memcmp(all, part, n) == 0);
        /* and the next character would not have fitted */
        if (used < size) {
            size_t next, more = core_utf8_escape((const char *)data + used, size - used, mode, all,
                                                 CORE_UTF8_ESC_MAX, &next);
            assert(next > 0 && more > cap - n);
        }
        free(all);
    }
}

/* A problem body and log lines quoting the bytes (up to their first NUL, as
 * a C string would hold them). */
static void quoted(const char *s, const char *replaced, size_t rlen) {
    size_t len;
    char *text = api_problem_text(415, s, &len);
    assert(text && core_utf8_valid(text, len));
    cJSON *j = cJSON_Parse(text);
    const cJSON *detail = cJSON_GetObjectItem(j, "detail");
    assert(cJSON_IsString(detail));
    assert(strlen(detail->valuestring) == strnlen(replaced, rlen));
    assert(memcmp(detail->valuestring, replaced, strlen(detail->valuestring)) == 0);
    cJSON_Delete(j);
    free(text);

    char line[2304];
    log_request_t r = {.request_id = "id", .method = s, .route = "unmatched", .remote = "::1"};
    for (int m = 0; m < 2; m++) {
        assert(log_configure("info", m ? "text" : "json"));
        size_t n = log_request_format(&r, line, 1024);
        size_t e = log_event_format(LOG_WARN, s, line + 1024, sizeof line - 1024);
        if (m) {
            no_controls(line, n);
            no_controls(line + 1024, e);
            continue;
        }
        assert(core_utf8_valid(line, n) && core_utf8_valid(line + 1024, e));
        j = cJSON_Parse(line);
        const cJSON *method = cJSON_GetObjectItem(j, "method");
        assert(cJSON_IsString(method) && cJSON_IsString(cJSON_GetObjectItem(j, "remote")));
        /* cut short at its limit, but only ever whole characters of it */
        size_t mlen = strlen(method->valuestring);
        assert(mlen <= strnlen(replaced, rlen) && memcmp(method->valuestring, replaced, mlen) == 0);
        cJSON_Delete(j);
        j = cJSON_Parse(line + 1024);
        assert(cJSON_IsString(cJSON_GetObjectItem(j, "msg")));
        cJSON_Delete(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *replaced = malloc(3 * size + 1);
    size_t rlen = ref_replace(data, size, replaced);
    whole(data, size, replaced, rlen);
    cut_short(data, size);
    char *s = malloc(size + 1); /* as a C string: up to the first NUL */
    memcpy(s, data, size);
    s[size] = '\0';
    quoted(s, replaced, rlen);
    free(s);
    free(replaced);
    return 0;
}
