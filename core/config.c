/*
 * Settings are rows of one table: name, type, default, bounds, help. The
 * environment is read first, then flags, each checked against the same bounds,
 * so a bad value fails at start-up with a message naming it.
 */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_INT, OPT_LONG, OPT_STR } opt_type_t;

typedef struct {
    const char *env;
    opt_type_t type;
    size_t offset;
    const char *def;
    long min, max;
    const char *help;
} option_t;

#define F(field) offsetof(config_t, field)
static const option_t options[] = {
    {"PORT", OPT_INT, F(port), "8080", 1, 65535, "HTTP port"},
    /* loopback unless told: with no tokens set every route is open, and must not
     * be open to the network by accident; images and manifests (Dockerfile,
     * deploy/kubernetes) set BIND=0.0.0.0, where the platform's network is
     * the boundary */
    {"BIND", OPT_STR, F(bind), "127.0.0.1", 0, 0,
     "IPv4 or IPv6 address to listen on; 0.0.0.0 or :: for every interface"},
    {"REDIS_URL", OPT_STR, F(redis_url), "redis://127.0.0.1:6379/0", 0, 0,
     "redis://[:password@]host:port[/db] or unix:///path.sock[?db=N]"},
    {"REDIS_TIMEOUT_MS", OPT_INT, F(redis_timeout_ms), "500", 10, 60000,
     "Redis connect and command timeout"},
    {"KEY_PREFIX", OPT_STR, F(key_prefix), "", 0, 64,
     "prefix for every Redis key (no '{' or '}': those mark the hash tag)"},
    {"THREADS", OPT_INT, F(threads), "0", 0, 1024, "HTTP event loop threads (0: one per core)"},
    {"CLIENT_TIMEOUT_MS", OPT_INT, F(client_timeout_ms), "3000", 100, 86400000,
     "a client silent this long is removed"},
    {"CLEANUP_INTERVAL_MS", OPT_INT, F(cleanup_interval_ms), "2000", 10, 3600000,
     "how often inactive clients are removed"},
    {"PRESENCE_TTL_S", OPT_INT, F(presence_ttl_s), "300", 1, 86400 * 30,
     "an online user not refreshed this long is offline"},
    {"SESSION_TTL_S", OPT_INT, F(session_ttl_s), "3600", 1, 86400 * 30,
     "a session without heartbeat this long expires"},
    {"HEARTBEAT_TTL_S", OPT_INT, F(heartbeat_ttl_s), "300", 1, 86400 * 30,
     "how long a session's last heartbeat is kept"},
    {"TYPING_TTL_S", OPT_INT, F(typing_ttl_s), "10", 1, 3600,
     "a typing indicator not refreshed this long stops"},
    {"MESSAGE_CACHE_MAX", OPT_INT, F(message_cache_max), "100", 1, 10000,
     "newest messages kept per room"},
    {"MESSAGE_TTL_S", OPT_INT, F(message_ttl_s), "86400", 1, 86400 * 30,
     "how long a room's cached messages are kept"},
    {"OFFLINE_QUEUE_MAX", OPT_INT, F(offline_queue_max), "100", 1, 10000,
     "newest messages kept per offline user"},
    {"OFFLINE_QUEUE_TTL_S", OPT_INT, F(offline_queue_ttl_s), "604800", 1, 86400 * 365,
     "an offline queue untouched this long is dropped"},
    {"NOTIFICATION_MAX", OPT_INT, F(notification_max), "100", 1, 10000,
     "newest notifications kept per user"},
    {"NOTIFICATION_TTL_S", OPT_INT, F(notification_ttl_s), "604800", 1, 86400 * 365,
     "a notification list untouched this long is dropped"},
    {"NOTIFICATION_QUEUE_MAX", OPT_INT, F(notification_queue_max), "10000", 1, 1000000,
     "newest notifications kept per priority queue for the sender"},
    {"NOTIFICATION_QUEUE_TTL_S", OPT_INT, F(notification_queue_ttl_s), "604800", 1, 86400 * 365,
     "a notification queue nothing was pushed on this long is dropped"},
    {"ROOM_TTL_S", OPT_INT, F(room_ttl_s), "604800", 1, 86400 * 365,
     "a room with no join or message this long ends"},
    {"RATE_LIMIT_MESSAGES", OPT_INT, F(rate_limit_messages), "10", 1, 100000,
     "messages one sender may send per window"},
    {"RATE_LIMIT_WINDOW_S", OPT_INT, F(rate_limit_window_s), "60", 1, 86400,
     "the sliding window of the message rate limit"},
    {"FRIENDS_TTL_S", OPT_INT, F(friends_ttl_s), "7200", 1, 86400 * 30,
     "a user's friends list not PUT again this long is dropped"},
    {"EVENTS_RETAIN_PER_BUCKET", OPT_INT, F(events_retain_per_bucket), "10000", 100, 10000000,
     "events kept per bucket stream for resuming (16 buckets): the retention window"},
    {"EVENTS_MAX_LAG", OPT_INT, F(events_max_lag), "1024", 16, 65536,
     "events a /events subscriber may fall behind before it is dropped"},
    {"MAX_IMAGE_BYTES", OPT_LONG, F(max_image_bytes), "2097152", 1, 512L * 1024 * 1024,
     "largest accepted frame"},
    {"MAX_BODY_BYTES", OPT_LONG, F(max_body_bytes), "65536", 256, 64L * 1024 * 1024,
     "largest accepted JSON body (frames excepted)"},
    {"SERVICE_ID", OPT_STR, F(service_id), RTSTATE_NAME, 0, 128, "serviceId shown by /health"},
    {"METRICS_LEASE_MS", OPT_INT, F(metrics_lease_ms), "90000", 100, 3600000,
     "one instance exports the Redis-wide gauges of /metrics, for this long after its last "
     "scrape (at least twice the scrape interval)"},
    {"MONGODB_URI", OPT_STR, F(mongodb_uri), "", 0, 4096,
     "mongodb://host:port/db; empty disables persistence"},
    {"MONGODB_REQUIRED", OPT_INT, F(mongodb_required), "0", 0, 1,
     "1: /readyz fails while MongoDB is down"},
    {"MONGODB_TIMEOUT_MS", OPT_INT, F(mongodb_timeout_ms), "1000", 50, 60000,
     "MongoDB server selection and socket timeout"},
    {"MAX_BATCH_BYTES", OPT_LONG, F(max_batch_bytes), "1048576", 1024, 256L * 1024 * 1024,
     "largest accepted observation batch body"},
    {"LOG_LEVEL", OPT_STR, F(log_level), "info", 0, 8, "debug, info, warn or error"},
    {"LOG_FORMAT", OPT_STR, F(log_format), "json", 0, 8, "json (one object per line) or text"},
    {"LOG_FLUSH_MS", OPT_INT, F(log_flush_ms), "100", 0, 10000,
     "request log lines are written in batches at most this old (0: each at once)"},
    {"API_TOKEN", OPT_STR, F(api_token), "", 0, 4096,
     "Bearer token for every request that changes state"},
    {"API_TOKEN_FILE", OPT_STR, F(api_token_file), "", 0, 4096, "file holding API_TOKEN"},
    {"READ_TOKEN", OPT_STR, F(read_token), "", 0, 4096,
     "Bearer token for reads, /health and /metrics"},
    {"READ_TOKEN_FILE", OPT_STR, F(read_token_file), "", 0, 4096, "file holding READ_TOKEN"},
    {"ADMIN_TOKEN", OPT_STR, F(admin_token), "", 0, 4096, "Bearer token for /admin/*"},
    {"ADMIN_TOKEN_FILE", OPT_STR, F(admin_token_file), "", 0, 4096, "file holding ADMIN_TOKEN"},
    {"CORS_ORIGINS", OPT_STR, F(cors_origins), "", 0, 4096,
     "origins allowed to call from a browser: a comma list, or *"},
    {"MAX_HEADER_BYTES", OPT_LONG, F(max_header_bytes), "6144", 4096, 1024L * 1024,
     "memory for one connection's request line and headers"},
    {"MAX_CONNECTIONS", OPT_INT, F(max_connections), "1000", 1, 100000,
     "concurrent connections in all"},
    {"MAX_CONNECTIONS_PER_IP", OPT_INT, F(max_connections_per_ip), "100", 0, 100000,
     "concurrent connections from one address (0: no limit)"},
    {"IDLE_TIMEOUT_S", OPT_INT, F(idle_timeout_s), "30", 1, 3600,
     "a connection that sends nothing this long is closed"},
    {"HEADER_TIMEOUT_S", OPT_INT, F(header_timeout_s), "10", 1, 3600,
     "a request line and headers not complete this long after they began are cut off"},
    {"SHUTDOWN_DELAY_S", OPT_INT, F(shutdown_delay_s), "0", 0, 600,
     "after SIGTERM, keep accepting this long (the load balancer's delay)"},
    {"SHUTDOWN_GRACE_S", OPT_INT, F(shutdown_grace_s), "25", 0, 600,
     "then let requests in flight finish for at most this long"},
};
#undef F
#define NOPTIONS (sizeof options / sizeof options[0])

/* "REDIS_URL" -> "redis-url" */
static void flag_name(const char *env, char *out, size_t cap) {
    size_t i = 0;
    for (; env[i] && i + 1 < cap; i++)
        out[i] = env[i] == '_' ? '-' : (char)tolower((unsigned char)env[i]);
    out[i] = '\0';
}

static bool set_value(config_t *cfg, const option_t *o, const char *value, const char *origin,
                      FILE *err) {
    char *field = (char *)cfg + o->offset;
    if (o->type == OPT_STR) {
        if (o->max && (long)strlen(value) > o->max) {
            fprintf(err, "%s: %s is longer than %ld characters\n", origin, o->env, o->max);
            return false;
        }
        char **s = (char **)(void *)field;
        free(*s);
        *s = strdup(value);
        return *s != NULL;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    bool plain =
        isdigit((unsigned char)value[0]) || (value[0] == '-' && isdigit((unsigned char)value[1]));
    if (!plain || errno || end == value || *end || v < o->min || v > o->max) {
        fprintf(err, "%s: %s must be a whole number from %ld to %ld, not '%s'\n", origin, o->env,
                o->min, o->max, value);
        return false;
    }
    if (o->type == OPT_INT)
        *(int *)(void *)field = (int)v;
    else
        *(long *)(void *)field = v;
    return true;
}

static void usage(FILE *out) {
    fprintf(out, "Usage: " RTSTATE_NAME
                 " [--flag value]...\n"
                 "Real-time state service: HTTP API over Redis.\n\n"
                 "Every setting is an environment variable, overridden by its flag:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char flag[64];
        flag_name(options[i].env, flag, sizeof flag);
        fprintf(out, "  --%-22s %-20s %s (default: '%s')\n", flag, options[i].env, options[i].help,
                options[i].def);
    }
    fprintf(out,
            "  --migrate-keys                                move the keys of an older version to\n"
            "                                                today's layout, then exit\n"
            "  --help                                        this text\n"
            "  --version                                     print the version\n\n"
            "An unset token leaves its routes open. BIND is loopback unless set: on any\n"
            "other address (0.0.0.0 to listen on every interface) start-up warns of\n"
            "each class left open (reads, writes, admin) and the token that closes it.\n");
}

config_result_t config_load(config_t *cfg, int argc, char **argv, FILE *out, FILE *err) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *env = getenv(options[i].env);
        if (!set_value(cfg, &options[i], options[i].def, "default", err))
            return CONFIG_ERROR;
        if (env && !set_value(cfg, &options[i], env, "environment", err))
            return CONFIG_ERROR;
    }

    struct option longopts[NOPTIONS + 4];
    static char names[NOPTIONS][64];
    for (size_t i = 0; i < NOPTIONS; i++) {
        flag_name(options[i].env, names[i], sizeof names[i]);
        longopts[i] = (struct option){names[i], required_argument, NULL, (int)(1000 + i)};
    }
    longopts[NOPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[NOPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[NOPTIONS + 2] = (struct option){"migrate-keys", no_argument, NULL, 'M'};
    longopts[NOPTIONS + 3] = (struct option){0};

    /* 0, not 1: glibc and musl then also forget a half-read "-hV" from an earlier call. */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(out);
            return CONFIG_EXIT;
        }
        if (c == 'V') {
            fprintf(out, RTSTATE_NAME " " RTSTATE_VERSION "\n");
            return CONFIG_EXIT;
        }
        if (c == 'M') {
            cfg->migrate_keys = true;
            continue;
        }
        if (c >= 1000 && c < 1000 + (int)NOPTIONS) {
            if (!set_value(cfg, &options[c - 1000], optarg, "flag", err))
                return CONFIG_ERROR;
            continue;
        }
        fprintf(err, "unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
        return CONFIG_ERROR;
    }
    if (optind < argc) {
        fprintf(err, "unexpected argument '%s' (see --help)\n", argv[optind]);
        return CONFIG_ERROR;
    }
    /* the key layout's hash tags start at the first '{' after the prefix */
    if (strpbrk(cfg->key_prefix, "{}")) {
        fprintf(err, "KEY_PREFIX may not contain '{' or '}' (they mark Redis Cluster hash tags)\n");
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

void config_free(config_t *cfg) {
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].type == OPT_STR) {
            char **s = (char **)(void *)((char *)cfg + options[i].offset);
            free(*s);
            *s = NULL;
        }
    }
}
