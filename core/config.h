/*
 * The one place that reads configuration. Every setting is an environment
 * variable (PORT) that a command-line flag of the same name overrides
 * (--port 9000 or --port=9000). The table in config.c is the list of settings;
 * --help prints it.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#define RTSTATE_VERSION "0.1.0"
#define RTSTATE_NAME "rtstate"

typedef struct {
    int port;
    char *bind;
    char *redis_url;
    int redis_timeout_ms;
    char *key_prefix;
    int threads; /* 0 = automatic: two per core */
    int client_timeout_ms;
    int cleanup_interval_ms;
    int presence_ttl_s;
    int session_ttl_s;
    int heartbeat_ttl_s;
    int typing_ttl_s;
    int message_cache_max;
    int message_ttl_s;
    int offline_queue_max;
    int offline_queue_ttl_s;
    int notification_max;
    int notification_ttl_s;
    int notification_queue_max;
    int notification_queue_ttl_s;
    int room_ttl_s;
    int rate_limit_messages;
    int rate_limit_window_s;
    int friends_ttl_s;
    int events_retain_per_bucket;
    int events_max_lag;
    long max_image_bytes;
    long max_body_bytes;
    char *service_id;
    int metrics_lease_ms; /* the exporter lease of /metrics (store/lease.h) */
    char *mongodb_uri;    /* "" = persistence disabled */
    int mongodb_required;
    int mongodb_timeout_ms;
    long max_batch_bytes;
    /* operations */
    char *log_level;  /* debug | info | warn | error */
    char *log_format; /* json | text */
    int log_flush_ms; /* request lines are buffered this long at most; 0: none */
    char *api_token, *api_token_file;
    char *read_token, *read_token_file;
    char *admin_token, *admin_token_file;
    char *cors_origins; /* "" none, "*" any, or a comma list */
    long max_header_bytes;
    int max_connections;
    int max_connections_per_ip;
    int idle_timeout_s;
    int header_timeout_s;
    int shutdown_delay_s;
    int shutdown_grace_s;
    bool migrate_keys; /* --migrate-keys: move an older version's keys, then exit */
} config_t;

typedef enum { CONFIG_OK, CONFIG_EXIT, CONFIG_ERROR } config_result_t;

/* Fills *cfg from the environment, then argv. CONFIG_EXIT means --help or
 * --version was printed to out; CONFIG_ERROR means a message naming the bad
 * setting went to err. Strings in *cfg are owned by it: config_free. */
config_result_t config_load(config_t *cfg, int argc, char **argv, FILE *out, FILE *err);

void config_free(config_t *cfg);

#endif
