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
 * When it waits (for Redis), the coroutine parks and the access handler
 * returns without a reply; the loop goes on with other connections, and the
 * commands every coroutine queued during a turn go to Redis in one write
 * per connection. libmicrohttpd calls the access handler of a request with
 * no reply again at each MHD_run; once the handler is done, that call queues
 * the reply (responses are queued only from inside the access handler, as
 * libmicrohttpd requires).
 *
 * A short wait is not worth a suspension: MHD_suspend_connection and the
 * resume cost libmicrohttpd two epoll_ctl calls and a recv per request
 * (bench/README.md, "The async question"), more than the rest of a Redis
 * round trip. So a waiting request stays in libmicrohttpd's ready list, and
 * the loop does not spin on it: while handlers wait, an MHD_run that made no
 * progress but calling them again lets the loop sleep for up to 1 ms (a
 * Redis reply wakes it sooner). A request that waits longer than
 * SUSPEND_AFTER_MS (a slow Redis, MongoDB) is suspended then, from inside
 * the access handler, and resumed when its handler is done, so a long wait
 * costs nothing per turn. If the client's connection closes during a short
 * wait, libmicrohttpd frees it; the handler only ever reads the request's
 * own copies (api_request_capture), and its coroutine frees the request.
 *
 * Routes marked API_RUN_BLOCKING (MongoDB's, the health checks) run their
 * handler on the blocking pool (core_evloop_blocking), their coroutine
 * parked meanwhile, so a slow MongoDB never stalls a loop.
 *
 * A connection that waits for something other than its handler (the
 * Server-Sent Events of GET /events, api/events.c) holds no coroutine and
 * no thread: it is suspended from its response's content reader, costs its
 * libmicrohttpd record alone, and the loop resumes it when the event pump
 * posts that it has something to send (api_loop_resumed).
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

/* From the access handler, called again for a request whose handler waited:
 * true when its reply is ready; false while it still waits (the connection
 * is suspended once it has waited SUSPEND_AFTER_MS). */
bool api_loop_poll(api_req_t *r);

/* The access handler or a callback did something for a connection other
 * than calling a waiting handler again (see above). */
void api_loop_progress(void);

/* Something on this loop's thread resumed a connection outside a handler
 * (the event stream, api/events.c): libmicrohttpd runs again this turn. */
void api_loop_resumed(void);

#endif
