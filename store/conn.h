/*
 * The Redis connection: one per thread, made on first use and remade after
 * any I/O error, so a Redis restart heals without restarting the service and
 * no lock is ever taken on the request path. Connect and command timeouts are
 * both REDIS_TIMEOUT_MS; AUTH and SELECT run on every (re)connect.
 *
 * Replies are hiredis's: whoever receives one frees it with freeReplyObject
 * (or store_replies_free for an array of them).
 */
#ifndef STORE_CONN_H
#define STORE_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "../core/redis_url.h"
#include "args.h"
#include "status.h"

/* Sets where and how to connect; call once at start-up, before any thread
 * uses the store. Does not connect. */
void store_conn_configure(const core_redis_url_t *url, int timeout_ms);

/* Sends n commands in one round trip and reads their n replies into
 * replies[]. STORE_OK: all replies are there, none is an error reply; the
 * caller frees them. Anything else: replies[] holds NULLs, nothing to free.
 * STORE_UNAVAILABLE for no connection, a timeout, or Redis not serving
 * (LOADING, BUSY, OOM, READONLY, auth); STORE_ERROR for other error replies. */
store_status_t store_run(int n, store_args_t *cmds, redisReply **replies);

/* store_run for one command. */
store_status_t store_cmd(store_args_t *cmd, redisReply **reply);

/* Like store_run, but error replies come back as replies (STORE_OK) for the
 * caller to look at; only connection failures are reported as a status. */
store_status_t store_run_raw(int n, store_args_t *cmds, redisReply **replies);

/* Maps an error reply ("OOM command not allowed ...") to a status. */
store_status_t store_error_status(const redisReply *r);

void store_replies_free(int n, redisReply **replies);

/* Closes this thread's connection, if it has one. */
void store_conn_close_thread(void);

/* True when the last attempt by any thread reached Redis. */
bool store_conn_up(void);

/* Commands that failed: no connection, an I/O error or timeout, or an error reply. */
unsigned long store_conn_errors(void);

/* Connections made again by a thread after it lost one (reconnects). */
unsigned long store_conn_reconnects(void);

#endif
