/*
 * Lua scripts, the store's tool for atomic multi-key changes in one round
 * trip. A script is declared once as a static store_script_t; it is sent by
 * EVALSHA, and its source only when Redis does not know it yet (first use, or
 * after a Redis restart emptied the script cache).
 *
 * In a Redis Cluster a script runs on the node of its first key (the routing
 * key of args: add keys with store_args_key), and all its keys must share
 * that key's hash slot.
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

/* Runs script with nkeys keys followed by the other arguments, all in args.
 * Same contract as store_cmd: on STORE_OK the caller frees *reply. */
store_status_t store_eval(store_script_t *s, int nkeys, store_args_t *args, redisReply **reply);

/* The two answers most scripts give, each run by store_eval; both free args
 * whatever happens.
 *
 * store_eval_found: the script answers an array when the thing exists, nil
 * (false) when not. STORE_OK with *reply, which the caller frees; absent
 * (with *reply NULL) for any other answer; or store_eval's failure. */
store_status_t store_eval_found(store_script_t *s, int nkeys, store_args_t *args,
                                store_status_t absent, redisReply **reply);

/* store_eval_count: the script answers an integer, how many things it
 * changed. STORE_OK when it is at least min, absent when it is less or not an
 * integer, or store_eval's failure. The reply is freed. */
store_status_t store_eval_count(store_script_t *s, int nkeys, store_args_t *args, long long min,
                                store_status_t absent);

#endif
