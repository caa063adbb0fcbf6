/*
 * Event log: one line per event on stderr, "time level message". Safe from
 * any thread (one write per line).
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_set_level(log_level_t level);
void log_event(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
