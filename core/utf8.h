/*
 * UTF-8 (RFC 3629): validation, and the one escaper for every byte a client
 * sent that reaches an answer or a log line.
 *
 * Well-formed means what Unicode's table 3-7 says: no overlong forms, no
 * surrogates, nothing past U+10FFFF. cJSON passes bytes through unchecked, so
 * every JSON body is validated here first (api/http/input.c), and everything the
 * service writes as JSON (core/jsonout.c) or logs (core/log.c) goes through
 * core_utf8_escape: whatever bytes come in, what goes out is valid UTF-8 with
 * no control character in it.
 */
#ifndef CORE_UTF8_H
#define CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the n bytes at s are valid UTF-8 (NUL bytes included, as U+0000). */
bool core_utf8_valid(const char *s, size_t n);

/* How core_utf8_escape writes what it does not copy as it is. Printable ASCII
 * (0x20-0x7E) other than the mode's specials, and well-formed characters from
 * U+00A0 up, are copied unchanged in both. */
typedef enum {
    /* The inside of a JSON string (RFC 8259), as any JSON parser reads it back:
     * '"' and '\' as \" and \\; \b \f \n \r \t; every other control character
     * (C0, DEL, C1) as \u00XX; every ill-formed sequence (each maximal
     * subpart, as Unicode and WHATWG count them) as U+FFFD. */
    CORE_UTF8_JSON,
    /* Text for a terminal (LOG_FORMAT=text): '\' as \\; \n \r \t; every other
     * C0 control and DEL as \xHH (ESC is \x1b); C1 controls as \u0080-\u009f;
     * each byte of an ill-formed sequence as \xHH. '"' is copied. */
    CORE_UTF8_TEXT,
} core_utf8_mode_t;

/* The most one character of input can become (an ill-formed sequence of three
 * bytes in TEXT mode: \xHH\xHH\xHH). */
#define CORE_UTF8_ESC_MAX 12

/* Writes the n bytes at s (NUL bytes are data too), escaped for mode, into
 * out, cap bytes at most; no terminator. Stops before the first character
 * whose escape does not fit whole: never half an escape or half a character.
 * Returns the bytes written; *used (when not NULL) is how many bytes of s they
 * stand for (n when everything fitted). Runs of plain ASCII are copied with
 * memcpy: the fast path of every request's log line and answer. */
size_t core_utf8_escape(const char *s, size_t n, core_utf8_mode_t mode, char *out, size_t cap,
                        size_t *used);

#endif
