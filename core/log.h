/*
 * The log: one line per event or request on stdout, as a JSON object
 * (LOG_FORMAT=json, the default: what log collectors parse) or as text
 * ("time level message", for people at a terminal). Safe from any thread.
 * Lines go out through core/logsink.h: request lines in batches, events at
 * once. Every string that may hold bytes from outside (a method, a message
 * quoting a server's reply) goes through core_utf8_escape (core/utf8.h): a
 * JSON line is valid JSON and valid UTF-8 whatever a client sent, and a text
 * line has no control character a terminal would act on (ESC, CR, LF, DEL,
 * C1) and no ill-formed UTF-8. Lines are built by hand, not with printf: a request line is written
 * for every request, and printf's formatting was a fifth of a heartbeat's
 * instructions.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Sets the level below which lines are dropped, and the format. Returns
 * false (changing nothing) for a name it does not know. */
bool log_configure(const char *level, const char *format);

void log_set_level(log_level_t level);

/* True when lines at level are written. */
bool log_enabled(log_level_t level);

void log_event(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The warning that lines were dropped because standard output did not take
 * them in time: what log_sink_start (core/logsink.h) is given to say so. */
void log_lines_dropped(unsigned long lines);

/* The line log_event writes for the formatted msg, without its '\n', into out
 * (cap bytes, NUL terminated; a message too long for it is cut short, never
 * the line's closing). Returns its length. */
size_t log_event_format(log_level_t level, const char *msg, char *out, size_t cap);

/* One served request, logged at info level. */
typedef struct {
    const char *request_id;
    const char *method;
    const char *route; /* the route template, or "unmatched" */
    unsigned status;
    double duration_ms;
    size_t bytes;
    const char *remote;
} log_request_t;

void log_request(const log_request_t *r);

/* The line log_request writes, without its '\n', into out (cap bytes, NUL
 * terminated, truncated to fit). Returns its length. */
size_t log_request_format(const log_request_t *r, char *out, size_t cap);

#endif
