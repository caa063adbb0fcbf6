/*
 * Event loops: one per thread that calls core_evloop_run, each an epoll set
 * with the coroutines (core/coro.h) that wait in it. This is what lets code
 * written in a blocking style wait for a socket without holding its thread:
 * a coroutine parks (core_evloop_park), the loop goes on with other work,
 * and whoever sees the awaited event wakes it (core_evloop_wake).
 *
 * A turn of a loop: resume every woken coroutine; call every turn hook (in
 * the order they were added: the HTTP server runs libmicrohttpd, the Redis
 * transport writes what its coroutines queued, one write per connection for
 * all of them); wait in epoll_wait for at most the nearest of the hooks'
 * timeouts and the parked coroutines' deadlines; call the callbacks of the
 * ready descriptors; wake the coroutines whose deadline passed, and run what
 * other threads posted (core_evloop_post, through an eventfd).
 *
 * Blocking work (a MongoDB call, a connect) never runs on a loop: a
 * coroutine hands it to the blocking pool (core_evloop_blocking) and parks
 * until a pool thread has run it.
 *
 * Everything here but core_evloop_post, core_evloop_stop and the pool's
 * start and stop is called on the loop's own thread.
 */
#ifndef CORE_EVLOOP_H
#define CORE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "coro.h"

typedef struct core_evloop core_evloop_t;

/* Called with the epoll events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP) of a
 * watched descriptor. */
typedef void (*core_evloop_io_fn)(void *arg, uint32_t events);

/* Called once per turn before the loop waits; returns how many ms the loop
 * may wait at most for this hook's sake (-1: no limit). */
typedef int (*core_evloop_turn_fn)(void *arg);

/* A loop for the calling thread, which becomes its owner (one per thread).
 * NULL when out of memory or descriptors. Freed by core_evloop_free, on the
 * same thread, after core_evloop_run has returned. */
core_evloop_t *core_evloop_new(void);
void core_evloop_free(core_evloop_t *l);

/* The calling thread's loop, or NULL on a thread without one. */
core_evloop_t *core_evloop_current(void);

/* Calls fn(arg, events) when fd has any of events (level-triggered); again
 * for a watched fd changes its events and callback. False on failure. */
bool core_evloop_watch(core_evloop_t *l, int fd, uint32_t events, core_evloop_io_fn fn, void *arg);

/* Forgets fd (before it is closed). */
void core_evloop_unwatch(core_evloop_t *l, int fd);

/* Adds a hook called at every turn (at most 4 per loop). */
bool core_evloop_on_turn(core_evloop_t *l, core_evloop_turn_fn fn, void *arg);

/* Runs turns until core_evloop_stop. */
void core_evloop_run(core_evloop_t *l);

/* Makes core_evloop_run return at the end of the current turn; any thread. */
void core_evloop_stop(core_evloop_t *l);

/* Runs fn(arg) on l's thread at its next turn; any thread. False when out
 * of memory (fn is then not called). */
bool core_evloop_post(core_evloop_t *l, void (*fn)(void *arg), void *arg);

/* Inside a coroutine running on this thread's loop: stops until
 * core_evloop_wake (true) or until deadline_ms on core_mono_ms's clock
 * passes (false; 0: no deadline). Wakes may be spurious: callers check what
 * they wait for and park again. */
bool core_evloop_park(int64_t deadline_ms);

/* Makes a parked coroutine of this thread's loop run at the next turn; a
 * coroutine that is not parked is left alone. */
void core_evloop_wake(core_coro_t *c);

/* Waits ms: parked when in a coroutine on a loop, else nanosleep. */
void core_evloop_sleep_ms(int ms);

/* True when the caller runs in a coroutine on an event loop (so it must not
 * block its thread). */
bool core_evloop_in_coroutine(void);

/* Starts n threads for blocking work. False when none could be started. */
bool core_evloop_pool_start(int n);

/* Waits for the work queued to finish and stops the pool's threads (after
 * every loop has stopped). */
void core_evloop_pool_stop(void);

/* Runs fn(arg) where it may block: in a coroutine on a loop, on a pool thread
 * while the coroutine parks (no deadline: fn bounds its own time); anywhere
 * else (or with no pool), right here. */
void core_evloop_blocking(void (*fn)(void *arg), void *arg);

#endif
