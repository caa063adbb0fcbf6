/*
 * Lua scripts, the store's tool for atomic multi-key changes in one round
 * trip. A script is declared once as a static store_script_t; it is sent by
 * EVALSHA, and its source only when Redis does not know it yet (first use, or
 * after a Redis restart emptied the script cache).
 *
 * A call is built like any command: store_script_call starts it, then come
 * its keys (store_args_key: every key of one call in one slot, see keys.h)
 * and its other arguments. store_eval runs one call; store_run_scripts runs
 * calls and plain commands together in one round trip. In a Redis Cluster a
 * call runs on the node of its first key (its routing key).
 */
#ifndef STORE_SCRIPT_H
#define STORE_SCRIPT_H

#include <stdatomic.h>

#include "args.h"
#include "conn.h"

typedef struct {
    const char *src;
    char sha[41];
    atomic_int ready;
} store_script_t;

#define STORE_SCRIPT(source)                                                                       \
    { .src = (source), .sha = {0}, .ready = 0 }

/* Every function here borrows the args it is given: the caller frees them
 * (store_args_free), whatever happened. */

/* Makes the empty cmd a call of script s with nkeys keys, which the caller
 * then adds (store_args_key), followed by the script's other arguments. */
void store_script_call(store_args_t *cmd, store_script_t *s, int nkeys);

/* Runs the call args (made by store_script_call(args, s, ...)). Same
 * contract as store_cmd: on STORE_OK the caller frees *reply. */
store_status_t store_eval(store_script_t *s, store_args_t *args, redisReply **reply);

/* store_run for n commands of which those with scripts[i] not NULL were made
 * by store_script_call(&cmds[i], scripts[i], ...): a script Redis does not
 * know yet (NOSCRIPT) is sent again with its source, in a second round for
 * just those. Same contract as store_run. */
store_status_t store_run_scripts(int n, store_args_t *cmds, store_script_t *const *scripts,
                                 redisReply **replies);

/* The two answers most scripts give, each run by store_eval.
 *
 * store_eval_found: the script answers an array when the thing exists, nil
 * (false) when not. STORE_OK with *reply, which the caller frees; absent
 * (with *reply NULL) for any other answer; or store_eval's failure. */
store_status_t store_eval_found(store_script_t *s, store_args_t *args, store_status_t absent,
                                redisReply **reply);

/* store_eval_count: the script answers an integer, how many things it
 * changed. STORE_OK when it is at least min, absent when it is less or not an
 * integer, or store_eval's failure. The reply is freed. */
store_status_t store_eval_count(store_script_t *s, store_args_t *args, long long min,
                                store_status_t absent);

#endif
