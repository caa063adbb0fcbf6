/*
 * The threads that serve HTTP: shared-nothing event loops (core/evloop.h).
 * Each loop thread owns one libmicrohttpd daemon in external epoll mode (all
 * of them on the server's one listening socket, as libmicrohttpd's own
 * thread pool shares it), its own Redis links (store/link.c) and its
 * coroutines, and nothing else: no lock is taken between loops on the
 * request path.
 *
 * A request's handler runs on a coroutine of the loop that read it. When it
 * completes without waiting (a 400, /livez), the reply goes out at once.
 * When it waits (for Redis), the coroutine parks, the connection is
 * suspended (MHD_suspend_connection), and the loop goes on with other
 * connections; the commands every coroutine queued during a turn go to
 * Redis in one write per connection. When the handler completes, the
 * coroutine resumes the connection, and libmicrohttpd calls the access
 * handler again, which queues the reply (responses are queued only from
 * inside the access handler, as libmicrohttpd requires).
 *
 * Routes marked API_RUN_BLOCKING (MongoDB's, the health checks) run their
 * handler on the blocking pool (core_evloop_blocking), their coroutine
 * parked meanwhile, so a slow MongoDB never stalls a loop.
 *
 * A connection that waits for something other than its handler (issue 15's
 * Server-Sent Events) would hold no coroutine and no thread: a suspended
 * connection costs its libmicrohttpd record alone, and a loop resumes it
 * when an eventfd or a Redis reply says it has something to send.
 */
#ifndef API_LOOP_H
#define API_LOOP_H

#include <microhttpd.h>
#include <stdbool.h>

#include "request.h"

typedef struct api_loop api_loop_t;

/* Starts a loop thread; on it, make_daemon(arg) creates the daemon (flags
 * must include MHD_USE_EPOLL and MHD_ALLOW_SUSPEND_RESUME, with no internal
 * thread), which the loop then drives. NULL (after logging why) when the
 * thread or the daemon cannot start. */
api_loop_t *api_loop_start(struct MHD_Daemon *(*make_daemon)(void *arg), void *arg);

/* Stops accepting new connections on this loop's daemon (the listening
 * socket stays open: the caller closes it). Waits until done. */
void api_loop_quiesce(api_loop_t *lp);

/* Quiesces, lets the handlers in flight finish (each is bounded by its own
 * timeouts), stops the daemon (closing its connections), joins the thread
 * and frees the loop. */
void api_loop_stop(api_loop_t *lp);

/* From the access handler: runs r's handler (r->route) on a coroutine of
 * the calling thread's loop. True when r's reply is ready now (the handler
 * completed, or it could not be started: a 503 problem is then set); false
 * when it waits, with the connection suspended until it completes, when
 * libmicrohttpd calls the access handler again (r->handled is then true).
 * On a thread without a loop the handler runs right here. */
bool api_loop_handle(api_req_t *r);

#endif
