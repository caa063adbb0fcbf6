/*
 * GET / and GET /dashboard: the dashboard page, web/dashboard.html, compiled
 * into the binary like the spec so that page and service never drift apart.
 * The page holds no data of its own: the browser fetches /health,
 * /redis/stats, /clients and each frame, sending the token the person
 * entered, so the page itself needs none. Its script and style are inline and
 * the Content-Security-Policy allows nothing else: no other origin, no
 * plugin, no framing.
 */
#include <pthread.h>

#include "embed.h"
#include "handlers.h"

/* The Makefile rebuilds this object when the page changes. */
API_EMBED(rtstate_dashboard, "web/dashboard.html");

static const char csp[] =
    "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

static api_shared_t *page;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_page(void) {
    page = api_shared_response("text/html; charset=utf-8", rtstate_dashboard_start,
                               (size_t)rtstate_dashboard_size);
    if (!page)
        return;
    /* before first use: a shared response is never modified once queued */
    api_shared_header(page, "Content-Security-Policy", csp);
    api_shared_header(page, "Referrer-Policy", "no-referrer");
}

void api_dashboard_get(api_req_t *r) {
    pthread_once(&once, make_page);
    if (page)
        api_reply_shared(r, 200, page);
}
