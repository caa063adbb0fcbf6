/* The MongoDB client pool and the shape every operation shares; see pool.h. */
#include "pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "monitor.h"

static mongoc_client_pool_t *pool;
static mongoc_uri_t *pool_uri; /* kept for the background client */
static int configured_timeout_ms;
static char dbname[128];
static char redacted[512];
static atomic_int indexes_ready;
static atomic_int state = -1; /* -1 unknown, 0 down, 1 up: for logging transitions */

static void mark(int up, const char *why) {
    if (atomic_exchange(&state, up) == up)
        return;
    if (up)
        log_event(LOG_INFO, "mongodb up");
    else
        log_event(LOG_WARN, "mongodb down: %s", why);
}

static void set_default(mongoc_uri_t *uri, const char *option, int32_t value) {
    if (!mongoc_uri_has_option(uri, option))
        mongoc_uri_set_option_as_int32(uri, option, value);
}

static void redact(const mongoc_uri_t *uri) {
    size_t used = (size_t)snprintf(redacted, sizeof redacted, "mongodb://%s",
                                   mongoc_uri_get_username(uri) ? "***@" : "");
    for (const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri); h && used < sizeof redacted;
         h = h->next)
        used += (size_t)snprintf(redacted + used, sizeof redacted - used, "%s%s",
                                 h == mongoc_uri_get_hosts(uri) ? "" : ",", h->host_and_port);
    if (used < sizeof redacted)
        snprintf(redacted + used, sizeof redacted - used, "/%s", dbname);
}

/* The driver's own log lines go through ours, at debug level: they are
 * chatty (a server without endSessions warns on every client close). */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                       void *data) {
    (void)data;
    log_event(level <= MONGOC_LOG_LEVEL_ERROR ? LOG_ERROR : LOG_DEBUG, "mongoc %s: %s", domain,
              message);
}

bool mongo_init(const char *uri_text, int timeout_ms, int max_clients, const char **err) {
    if (!uri_text || !*uri_text)
        return true;
    /* The driver's performance counters live in a /dev/shm file per
     * process, which a killed process leaves behind; a later process given
     * the same pid cannot create its own, and the driver then writes a
     * warning straight to stderr, into our JSON log. Nothing here reads
     * the counters: they are off. The handler is set first, so that nothing
     * the driver says while it starts bypasses our log. */
    setenv("MONGOC_DISABLE_SHM", "1", 0);
    mongoc_log_set_handler(driver_log, NULL);
    mongoc_init();
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &e);
    if (!uri) {
        *err = "MONGODB_URI is not a valid mongodb:// URI";
        return false;
    }
    set_default(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, timeout_ms);
    set_default(uri, MONGOC_URI_CONNECTTIMEOUTMS, timeout_ms);
    set_default(uri, MONGOC_URI_SOCKETTIMEOUTMS, timeout_ms);
    set_default(uri, MONGOC_URI_HEARTBEATFREQUENCYMS, 1000);
    /* one client per worker thread at most, so popping one never waits */
    set_default(uri, MONGOC_URI_MAXPOOLSIZE, max_clients);
    const char *db = mongoc_uri_get_database(uri);
    snprintf(dbname, sizeof dbname, "%s", db && *db ? db : "rtstate");
    redact(uri);
    configured_timeout_ms = timeout_ms;
    pool = mongoc_client_pool_new(uri);
    if (!pool) {
        mongoc_uri_destroy(uri);
        *err = "cannot create the MongoDB client pool";
        return false;
    }
    pool_uri = uri;
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(pool, "rtstate");
    mongo_monitor_pool(pool);
    return true;
}

void mongo_shutdown(void) {
    if (!pool)
        return;
    mongoc_client_pool_destroy(pool);
    pool = NULL;
    mongoc_uri_destroy(pool_uri);
    pool_uri = NULL;
    mongoc_cleanup();
}

bool mongo_enabled(void) { return pool != NULL; }

bool mongo_up(void) { return pool && atomic_load(&state) == 1; }

const char *mongo_redacted_uri(void) { return redacted; }

int mongo_timeout_ms(void) { return configured_timeout_ms; }

const char *mongo_db_name(void) { return dbname; }

store_status_t mongo_error_status(const bson_error_t *e) {
    /* server codes that mean "not now" rather than "never": no primary, shutting down,
     * network trouble between servers */
    static const uint32_t unavailable[] = {6,     7,     89,    91,    189, 10107,
                                           11600, 11602, 13435, 13436, 9001};
    if (mongo_error_duplicate(e->code))
        return STORE_CONFLICT;
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++)
        if (e->code == unavailable[i]) {
            mark(0, e->message);
            return STORE_UNAVAILABLE;
        }
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION) { /* nobody answered at all */
        mark(0, e->message);
        return STORE_UNAVAILABLE;
    }
    if (mongo_error_of_connection(e)) {
        /* A timeout or a dropped connection fails this operation only: the
         * driver opens a new connection for the next one, and the server is
         * down only if that cannot be done (server selection above). */
        if (!mongo_error_unconfirmed(e))
            mark(0, e->message);
        return STORE_UNAVAILABLE;
    }
    return STORE_ERROR;
}

/* Every index the collections need. Keys are JSON so the list reads as it
 * would in the shell. What uses each is in the README (Collections). */
typedef struct {
    const char *coll, *key, *name;
    bool unique;
} index_t;

static const index_t indexes[] = {
    {"users", "{\"username\": 1}", "username_1", true},
    {"observations", "{\"user_id\": 1, \"recorded_at\": -1}", "user_id_1_recorded_at_-1", false},
    {"observations", "{\"recorded_at\": -1, \"_id\": -1}", "recorded_at_-1__id_-1", false},
    {"observations", "{\"location.latitude\": 1, \"location.longitude\": 1}",
     "location.latitude_1_location.longitude_1", false},
    {"observations", "{\"geohash\": 1, \"quality\": 1, \"_id\": 1}", "geohash_1_quality_1__id_1",
     false},
    {"road_segments", "{\"center.latitude\": 1, \"center.longitude\": 1}",
     "center.latitude_1_center.longitude_1", false},
    {"idempotency", "{\"created_at\": 1}", "created_at_1", false},
};

/* One index: {createIndexes: coll, indexes: [{key, name, unique?}]}. */
static bool create_index(mongoc_client_t *c, const index_t *ix, bson_error_t *e) {
    bson_t *key = bson_new_from_json((const uint8_t *)ix->key, -1, e);
    if (!key)
        return false;
    bson_t cmd = BSON_INITIALIZER, list, index;
    BSON_APPEND_UTF8(&cmd, "createIndexes", ix->coll);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
    BSON_APPEND_DOCUMENT_BEGIN(&list, "0", &index);
    BSON_APPEND_DOCUMENT(&index, "key", key);
    BSON_APPEND_UTF8(&index, "name", ix->name);
    if (ix->unique)
        BSON_APPEND_BOOL(&index, "unique", true);
    bson_append_document_end(&list, &index);
    bson_append_array_end(&cmd, &list);
    bool ok = mongoc_client_write_command_with_opts(c, dbname, &cmd, NULL, NULL, e);
    bson_destroy(&cmd);
    bson_destroy(key);
    return ok;
}

store_status_t mongo_ensure_indexes(mongoc_client_t *c) {
    if (atomic_load(&indexes_ready))
        return STORE_OK;
    bson_error_t e;
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        if (!create_index(c, &indexes[i], &e)) {
            store_status_t st = mongo_error_status(&e);
            log_event(LOG_WARN, "mongodb: cannot create index %s on %s: %s", indexes[i].name,
                      indexes[i].coll, e.message);
            return st == STORE_CONFLICT ? STORE_ERROR : st;
        }
    }
    atomic_store(&indexes_ready, 1);
    mark(1, NULL);
    log_event(LOG_INFO, "mongodb: indexes ready");
    return STORE_OK;
}

mongoc_client_t *mongo_client_new_background(int socket_timeout_ms) {
    if (!pool)
        return NULL;
    mongoc_uri_t *uri = mongoc_uri_copy(pool_uri);
    if (mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 0) < socket_timeout_ms)
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, socket_timeout_ms);
    mongoc_client_t *c = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    if (c) {
        mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
        mongoc_client_set_appname(c, "rtstate-background");
        mongo_monitor_client(c);
    }
    return c;
}

store_status_t mongo_op_begin(mongo_op_t *op, const char *collection) {
    memset(op, 0, sizeof *op);
    if (!pool)
        return STORE_DISABLED;
    op->client = mongoc_client_pool_pop(pool);
    if (!op->client)
        return STORE_ERROR;
    store_status_t st = mongo_ensure_indexes(op->client);
    if (st != STORE_OK) {
        mongo_op_end(op);
        return st;
    }
    op->coll = mongoc_client_get_collection(op->client, dbname, collection);
    return STORE_OK;
}

mongoc_collection_t *mongo_op_collection(const mongo_op_t *op, const char *collection) {
    return mongoc_client_get_collection(op->client, dbname, collection);
}

void mongo_op_end(mongo_op_t *op) {
    if (op->coll)
        mongoc_collection_destroy(op->coll);
    if (op->client)
        mongoc_client_pool_push(pool, op->client);
    memset(op, 0, sizeof *op);
}

store_status_t mongo_ping(double *latency_ms) {
    if (!pool)
        return STORE_DISABLED;
    mongoc_client_t *c = mongoc_client_pool_pop(pool);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t e;
    bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bson_destroy(cmd);
    mongoc_client_pool_push(pool, c);
    if (!ok) {
        store_status_t st = mongo_error_status(&e);
        return st == STORE_ERROR ? STORE_UNAVAILABLE : st;
    }
    mark(1, NULL);
    *latency_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return STORE_OK;
}
