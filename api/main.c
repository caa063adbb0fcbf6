/*
 * rtstate: wires configuration, the Redis store, the reaper and the HTTP
 * server together, then waits for SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/redis_url.h"
#include "../store/conn.h"
#include "../store/keys.h"
#include "../store/reaper.h"
#include "routes.h"
#include "server.h"

int main(int argc, char **argv) {
    config_t cfg;
    switch (config_load(&cfg, argc, argv, stdout, stderr)) {
    case CONFIG_EXIT: config_free(&cfg); return 0;
    case CONFIG_ERROR: config_free(&cfg); return 2;
    case CONFIG_OK: break;
    }
    core_redis_url_t url;
    const char *err;
    if (!core_redis_url_parse(cfg.redis_url, &url, &err)) {
        fprintf(stderr, "REDIS_URL: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    char redacted[512];
    core_redis_url_redact(&url, redacted, sizeof redacted);

    /* Signals are taken by sigwait below; every thread started after this
     * inherits the mask. A closed socket must not kill the process. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    store_keys_set_prefix(cfg.key_prefix);
    store_conn_configure(&url, cfg.redis_timeout_ms);
    if (store_reaper_start(cfg.cleanup_interval_ms, cfg.client_timeout_ms) != 0) {
        log_event(LOG_ERROR, "cannot start the reaper thread");
        config_free(&cfg);
        return 1;
    }
    api_server_t *server = api_server_start(&cfg, api_routes, api_routes_count);
    if (!server) {
        store_reaper_stop();
        config_free(&cfg);
        return 1;
    }
    log_event(LOG_INFO,
              RTSTATE_NAME " " RTSTATE_VERSION
                           " listening on %s:%d with %d threads; redis %s"
                           " (timeout %d ms, key prefix '%s')",
              cfg.bind, cfg.port, api_server_threads(&cfg), redacted, cfg.redis_timeout_ms,
              cfg.key_prefix);

    int sig = 0;
    sigwait(&stop, &sig);
    log_event(LOG_INFO, "signal %d: stopping", sig);
    api_server_stop(server);
    store_reaper_stop();
    log_event(LOG_INFO, "stopped");
    config_free(&cfg);
    return 0;
}
