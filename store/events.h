/*
 * Events: what changed, as it happened, for GET /events (api/events.c).
 *
 * Production. Each bucket has one Redis Stream, events:{b} (keys.h), in the
 * bucket's slot. A change appends its event in the same script that makes
 * it (so an event exists exactly when its change happened, and two
 * instances' reapers never publish one expiry twice: the reaper's scripts
 * are per bucket and atomic), to the stream of the bucket of the key whose
 * write makes the change visible (a message: its room's; a notification:
 * its user's; a frame: its client's). Every script that publishes takes
 * that stream as its LAST key and the retention (EVENTS_RETAIN_PER_BUCKET,
 * appended with XADD MAXLEN ~) as its LAST argument, and starts with
 * STORE_EVENTS_LUA, which defines
 *
 *     emit(type, table)      the event's data is cjson.encode(table)
 *     emit_json(type, json)  the data is already JSON text (an object)
 *
 * Each entry is {t = type, d = data}. Its stream id (ms-seq) is its
 * position in the bucket.
 *
 * Consumption. One pump per process (store_events_start): a thread that
 * follows every bucket's stream with XREAD BLOCK, standalone on one
 * connection for all 16 streams, in a Redis Cluster on one connection per
 * bucket to the master serving the bucket's slot (it follows the slot map:
 * a MOVED, a failure or a failover makes it look the owner up again), and
 * hands each entry, in stream order per bucket, to the callback. The
 * callback runs on the pump's thread.
 */
#ifndef STORE_EVENTS_H
#define STORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "keys.h"
#include "status.h"

#define STORE_EVENTS_LUA                                                                           \
    "local function emit_json(kind, json)\n"                                                       \
    "  redis.call('XADD', KEYS[#KEYS], 'MAXLEN', '~', ARGV[#ARGV], '*', 't', kind, 'd', json)\n"   \
    "end\n"                                                                                        \
    "local function emit(kind, data) emit_json(kind, cjson.encode(data)) end\n"

/* A position in a bucket's stream: its entry id. {0, 0}: before any entry. */
typedef struct {
    uint64_t ms, seq;
} store_event_pos_t;

/* The positions of every bucket. */
typedef struct {
    store_event_pos_t at[STORE_BUCKETS];
} store_event_vec_t;

/* One entry, as the pump and store_events_range hand it over: borrowed,
 * valid during the callback. */
typedef struct {
    int bucket;
    store_event_pos_t pos;
    const char *type; /* "client.frame" ... */
    const char *data; /* a JSON object */
    size_t type_len, data_len;
} store_event_t;

/* The retention: entries kept per bucket (XADD MAXLEN ~); the pump's
 * connect and command timeout. Call at start-up. */
void store_events_configure(int retain_per_bucket, int timeout_ms);

/* Adds, to a script call being built, the stream of id's bucket as the next
 * key (call after the script's other keys); store_events_arg adds the
 * retention as the next argument (call after its other arguments). For a
 * per-bucket script (the reaper), store_events_index_key adds bucket b's. */
void store_events_key(store_args_t *a, const char *id);
void store_events_index_key(store_args_t *a, int b);
void store_events_arg(store_args_t *a);

/* -1, 0, 1 as a is before, at, after b. */
int store_event_pos_cmp(store_event_pos_t a, store_event_pos_t b);

/* Parses "ms-seq"; false when it is not one. */
bool store_event_pos_parse(const char *s, size_t len, store_event_pos_t *out);

typedef void (*store_events_fn)(const store_event_t *ev, void *arg);

/* Starts the pump: from every bucket's current end (read now when Redis
 * answers, else when it first does), fn(ev, arg) for each new entry, and
 * batch_done(arg), when not NULL, after each read that delivered entries.
 * *start (may be NULL): the positions it begins after. False when the
 * thread cannot start. */
bool store_events_start(store_events_fn fn, void (*batch_done)(void *arg), void *arg,
                        store_event_vec_t *start);

/* The positions the pump has handed on up to now (after the last entry of
 * its last batch_done). False while the end of some bucket's stream is not
 * known yet (Redis has not answered since start-up). */
bool store_events_positions(store_event_vec_t *out);

/* Stops and joins the pump (no-op when not started). */
void store_events_stop(void);

/* How bucket b's stream stands against a subscriber's position: */
typedef enum {
    STORE_EVENTS_KEPT, /* every entry after pos is still in the stream */
    STORE_EVENTS_LOST, /* some were trimmed (or the stream was deleted) */
} store_events_kept_t;

/* For each bucket whose from[b] is before upto[b]: whether every entry in
 * (from[b], upto[b]] is still in the stream (XINFO STREAM: its first entry
 * and max-deleted-entry-id), into kept[b]; buckets with nothing to replay
 * are KEPT. One round trip (per node). */
store_status_t store_events_check(const store_event_vec_t *from, const store_event_vec_t *upto,
                                  store_events_kept_t kept[STORE_BUCKETS]);

/* The entries of each bucket in (from[b], upto[b]], at most max_per_bucket
 * per bucket (XRANGE, one round trip), to fn in stream order per bucket,
 * bucket after bucket. *more is true when a bucket had more than that. */
store_status_t store_events_range(const store_event_vec_t *from, const store_event_vec_t *upto,
                                  int max_per_bucket, store_events_fn fn, void *arg, bool *more);

/* Events appended by this process's pump reads (for /metrics): entries
 * read from Redis. */
unsigned long store_events_read_total(void);

#endif
