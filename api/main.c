/*
 * rtstate: wires configuration, the Redis store, the reaper and the HTTP
 * server together, then waits for SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/logsink.h"
#include "../core/redis_url.h"
#include "../core/timefmt.h"
#include "../mongo/aggregator.h"
#include "../mongo/pool.h"
#include "../store/conn.h"
#include "../store/keys.h"
#include "../store/migrate.h"
#include "../store/reaper.h"
#include "http/auth.h"
#include "http/cors.h"
#include "events.h"
#include "http/traffic.h"
#include "routes.h"
#include "http/server.h"

/* rtstate --migrate-keys: moves the old key layout's data, says what it did,
 * and exits (0: nothing of the old layout is left). */
static int migrate_keys(const config_t *cfg) {
    store_migrate_opts_t opts = {core_now_ms(), cfg->session_ttl_s, cfg->room_ttl_s};
    store_migrate_result_t res;
    const char *why;
    store_status_t st = store_migrate_keys(&opts, &res, &why);
    printf(
        "migrate-keys: %lld keys of the old layout under '%s', %lld moved (%lld index "
        "entries), %lld left alone (not of the old layout's type)\n",
        res.found, cfg->key_prefix, res.moved, res.entries, res.skipped);
    if (st != STORE_OK)
        fprintf(stderr, "migrate-keys: %s%s\n",
                why ? why : "stopped: ", why ? "" : store_status_name(st));
    store_conn_shutdown();
    return st == STORE_OK ? 0 : 1;
}

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
    if (!log_configure(cfg.log_level, cfg.log_format)) {
        fprintf(stderr, "LOG_LEVEL must be debug, info, warn or error; LOG_FORMAT json or text\n");
        config_free(&cfg);
        return 2;
    }
    if (!api_auth_init(&cfg, &err)) {
        fprintf(stderr, "tokens: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    api_cors_init(cfg.cors_origins);
    api_traffic_init(api_routes, api_routes_count);

    /* Signals are taken by sigwait below; every thread started after this
     * inherits the mask. A closed socket must not kill the process. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!log_sink_start(cfg.log_flush_ms, log_lines_dropped))
        log_event(LOG_WARN, "cannot start the log flusher: every line is written at once");

    store_keys_set_prefix(cfg.key_prefix);
    store_conn_configure(&url, cfg.redis_timeout_ms);
    /* a standalone server or a cluster: learnt now when Redis is up (else at
     * first use); a cluster with a database number cannot work at all */
    if (store_conn_probe(&err) == STORE_ERROR) {
        fprintf(stderr, "REDIS_URL: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    if (cfg.migrate_keys) {
        int rc = migrate_keys(&cfg);
        log_sink_stop();
        config_free(&cfg);
        return rc;
    }
    /* every thread of the blocking pool, plus the reaper and a margin */
    int mongo_clients = api_server_blocking_threads(&cfg) + 8;
    if (!mongo_init(cfg.mongodb_uri, cfg.mongodb_timeout_ms, mongo_clients, &err)) {
        fprintf(stderr, "MONGODB_URI: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    if (store_reaper_start(cfg.cleanup_interval_ms, cfg.client_timeout_ms) != 0) {
        log_event(LOG_ERROR, "cannot start the reaper thread");
        config_free(&cfg);
        return 1;
    }
    if (!mongo_aggregator_start()) {
        log_event(LOG_ERROR, "cannot start the segment aggregator thread");
        store_reaper_stop();
        config_free(&cfg);
        return 1;
    }
    if (!api_events_start(&cfg)) {
        mongo_aggregator_stop();
        store_reaper_stop();
        config_free(&cfg);
        return 1;
    }
    api_server_t *server = api_server_start(&cfg, api_routes, api_routes_count);
    if (!server) {
        api_events_stop();
        mongo_aggregator_stop();
        store_reaper_stop();
        config_free(&cfg);
        return 1;
    }
    log_event(LOG_INFO,
              RTSTATE_NAME " " RTSTATE_VERSION
                           " listening on %s:%d with %d event loops; redis %s"
                           " (timeout %d ms, key prefix '%s')",
              cfg.bind, cfg.port, api_server_threads(&cfg), redacted, cfg.redis_timeout_ms,
              cfg.key_prefix);
    if (mongo_enabled())
        log_event(LOG_INFO, "mongodb %s (timeout %d ms%s)", mongo_redacted_uri(),
                  cfg.mongodb_timeout_ms, cfg.mongodb_required ? ", required for readiness" : "");
    else
        log_event(LOG_INFO, "mongodb disabled: persistence endpoints answer 503 (set MONGODB_URI)");

    char auth[128];
    log_event(LOG_INFO,
              "limits: body %ld B, frame %ld B, headers %ld B, %d connections (%d per "
              "address), idle timeout %d s; %s; CORS origins '%s'",
              cfg.max_body_bytes, cfg.max_image_bytes, cfg.max_header_bytes, cfg.max_connections,
              cfg.max_connections_per_ip, cfg.idle_timeout_s, api_auth_summary(auth, sizeof auth),
              cfg.cors_origins);
    api_auth_log_open_doors(cfg.bind);

    int sig = 0;
    sigwait(&stop, &sig);
    log_event(LOG_INFO, "signal %d: shutting down", sig);
    api_server_drain(server, cfg.shutdown_delay_s, cfg.shutdown_grace_s, api_events_drain);
    api_events_stop(); /* no more wakes for the loops, which stop next */
    api_server_stop(server);
    store_reaper_stop();
    mongo_aggregator_stop();
    store_conn_shutdown();
    mongo_shutdown();
    log_event(LOG_INFO, "stopped");
    log_sink_stop();
    config_free(&cfg);
    return 0;
}
