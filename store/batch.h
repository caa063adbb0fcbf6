/*
 * A batch: commands (and script calls) built one after another, then sent in
 * one round trip (store_run_scripts), with their replies kept until the
 * batch is freed. The shape of every read or write of several keys that
 * needs no atomicity across them: each command is single-slot (args.h), the
 * batch may hold any slots.
 *
 * Room for a fixed number of commands is made at init (a store_args_t may
 * not move once built); adding more makes the batch fail to run
 * (STORE_ERROR), as running out of memory does.
 */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "args.h"
#include "script.h"
#include "status.h"

#define STORE_BATCH_INLINE 4 /* commands a batch holds without an allocation */

typedef struct {
    int n, cap;
    store_args_t *cmds;
    store_script_t **scripts; /* scripts[i]: the script cmds[i] calls, or NULL */
    redisReply **replies;     /* after a successful run: n replies, owned by the batch */
    bool failed;              /* out of room or of memory: the run reports STORE_ERROR */
    store_args_t cmds_inline[STORE_BATCH_INLINE];
    store_script_t *scripts_inline[STORE_BATCH_INLINE];
    redisReply *replies_inline[STORE_BATCH_INLINE];
} store_batch_t;

/* Makes room for cap commands (cap may be 0). */
void store_batch_init(store_batch_t *b, int cap);

/* A new empty command at the end, for the caller to build; a scratch
 * command (never sent) when the batch has no room left. */
store_args_t *store_batch_add(store_batch_t *b);

/* A new call of script s with nkeys keys (store_script_call), for the
 * caller to add the keys and arguments to. */
store_args_t *store_batch_call(store_batch_t *b, store_script_t *s, int nkeys);

/* Sends every command in one round trip. STORE_OK: b->replies[0 .. n-1]
 * hold the replies (none an error), until store_batch_free. Else store_run's
 * failure, and no replies. A batch with no command succeeds at once. */
store_status_t store_batch_run(store_batch_t *b);

/* store_batch_run with each command's own outcome in each[] (b->n entries;
 * see store_run_each): the replies of the commands that succeeded are kept,
 * the others are NULL. For plain commands (a script call's NOSCRIPT is not
 * answered with its source here). */
store_status_t store_batch_run_each(store_batch_t *b, store_status_t *each);

/* Reply i of a batch that ran, or NULL. */
const redisReply *store_batch_reply(const store_batch_t *b, int i);

/* Reply i, which the caller now owns (freeReplyObject), or NULL. */
redisReply *store_batch_take(store_batch_t *b, int i);

/* Frees the commands and the replies. */
void store_batch_free(store_batch_t *b);

#endif
