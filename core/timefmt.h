/*
 * Time as the API shows it: milliseconds since the epoch inside, ISO 8601 UTC
 * with milliseconds ("2025-09-20T10:30:45.123Z") in JSON, RFC 9110 dates in
 * HTTP headers. Pure functions; every output buffer is the caller's.
 */
#ifndef CORE_TIMEFMT_H
#define CORE_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CORE_ISO8601_LEN 32   /* buffer size for core_iso8601 */
#define CORE_HTTP_DATE_LEN 40 /* buffer size for core_http_date */

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t core_now_ms(void);

/* Milliseconds on a monotonic clock (any origin): for timeouts and retry
 * windows, which a change of the wall clock must not stretch or cut. */
int64_t core_mono_ms(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now, for
 * pthread_cond_timedwait on a condition made with that clock. */
struct timespec core_mono_deadline(int64_t ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (CORE_ISO8601_LEN bytes). */
void core_iso8601(int64_t ms, char out[CORE_ISO8601_LEN]);

/* Parses an ISO 8601 date-time with a 'Z' or +HH:MM offset and optional
 * fraction. Returns false on anything else; *ms is set only on success. */
bool core_iso8601_parse(const char *s, int64_t *ms);

/* Writes an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for Last-Modified. */
void core_http_date(int64_t ms, char out[CORE_HTTP_DATE_LEN]);

#endif
