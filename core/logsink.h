/*
 * Where log lines go: standard output, through one buffer. A request line is
 * appended to the buffer and written with the lines around it, by whoever
 * fills the buffer or by a flusher thread at most flush_ms after the first
 * line of a batch: one write() per batch, not one per request (a write per
 * request was a sixth of a heartbeat's syscalls). Event lines (start-up,
 * warnings, errors) are written at once, with what is buffered before them,
 * so the order of lines is always the order they were logged in.
 *
 * The flusher writes with no lock held, so a thread that logs never waits for
 * stdout; a thread that runs an event loop (core/evloop.h) never writes at
 * all: its event lines wake the flusher at once instead, and when stdout is
 * so slow that the buffer fills, its lines are dropped and counted (a warning
 * says how many once stdout takes lines again) rather than stall the loop.
 *
 * Until log_sink_start is called (and with flush_ms 0) every line is written
 * at once. A crash loses at most the last flush_ms of request lines.
 */
#ifndef CORE_LOGSINK_H
#define CORE_LOGSINK_H

#include <stdbool.h>
#include <stddef.h>

/* Told, on the flusher's thread and with no lock held, how many lines were
 * dropped since it was last told (core/log.h's log_lines_dropped says so in
 * the log). The sink knows bytes, not log lines' format: it reports up. */
typedef void (*log_sink_dropped_fn)(unsigned long lines);

/* Starts buffering, with a flusher thread (which inherits the caller's signal
 * mask). flush_ms 0: no buffering. on_dropped (or NULL) hears of lines
 * dropped while stdout was too slow. Returns false if the thread cannot start
 * (lines are then written at once). Call once. */
bool log_sink_start(int flush_ms, log_sink_dropped_fn on_dropped);

/* Writes what is buffered and stops the flusher; later lines are written at
 * once. */
void log_sink_stop(void);

/* Takes one whole line (with its '\n'); now: write it, and everything
 * buffered before it, before returning (on an event loop's thread: have the
 * flusher write it at once). Safe from any thread. */
void log_sink_put(const char *line, size_t n, bool now);

#endif
