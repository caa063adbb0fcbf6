/*
 * The MongoDB connection: one mongoc_client_pool_t for the process, made from
 * MONGODB_URI (the database is the URI's, "rtstate" when it names none).
 * Server selection, connect and socket timeouts are MONGODB_TIMEOUT_MS, so a
 * dead MongoDB costs a request about that long, never a hang. Indexes are
 * created on the first successful use, and again after a failure, so a
 * MongoDB that was down at start-up gets them when it comes up.
 *
 * "Down" (mongo_up false, the "mongodb down" log line) means the server could
 * not be reached: server selection or connecting failed, or the server said
 * it is shutting down. One operation that times out on a connection that
 * works is not that: it fails alone, and the requests around it carry on.
 *
 * Every command any client of the pool (or the background client) sends is
 * timed by the driver's command monitoring, by operation (mongo/monitor.h).
 *
 * Every operation has the same shape:
 *     mongo_op_t op;
 *     if ((st = mongo_op_begin(&op, "users")) != STORE_OK) return st;
 *     ... use op.coll ...
 *     mongo_op_end(&op);
 */
#ifndef MONGO_POOL_H
#define MONGO_POOL_H

#include <mongoc/mongoc.h>
#include <stdbool.h>

#include "../core/status.h"
#include "errors.h"

typedef struct {
    mongoc_client_t *client;
    mongoc_collection_t *coll;
} mongo_op_t;

/* Creates the pool from uri; "" or NULL leaves persistence disabled.
 * max_clients (unless the URI sets maxPoolSize) should cover every thread
 * that may hold a client at once, so that taking one never blocks. Returns
 * false with *err set (a static message) when the URI is invalid. */
bool mongo_init(const char *uri, int timeout_ms, int max_clients, const char **err);

/* Destroys the pool (after every request has finished). */
void mongo_shutdown(void);

/* False when MONGODB_URI was empty. */
bool mongo_enabled(void);

/* True unless the last attempt to reach the server failed (see above). */
bool mongo_up(void);

/* MONGODB_TIMEOUT_MS as configured (the URI's options may still override
 * the driver's timeouts). */
int mongo_timeout_ms(void);

/* The database every collection lives in. */
const char *mongo_db_name(void);

/* A client of its own for background work (the segment aggregator), outside
 * the request pool, whose socket timeout is at least socket_timeout_ms: a
 * pass over many documents may take longer than a request may wait. NULL
 * when persistence is disabled. Free with mongoc_client_destroy. */
mongoc_client_t *mongo_client_new_background(int socket_timeout_ms);

/* Creates the indexes (once per process; see above) on client c. */
store_status_t mongo_ensure_indexes(mongoc_client_t *c);

/* Takes a client from the pool and opens collection name on it. STORE_DISABLED
 * when persistence is off; STORE_UNAVAILABLE when indexes could not be made
 * because the server is unreachable. On STORE_OK, call mongo_op_end. */
store_status_t mongo_op_begin(mongo_op_t *op, const char *collection);

/* Another collection on op's client (the caller destroys it). */
mongoc_collection_t *mongo_op_collection(const mongo_op_t *op, const char *collection);

/* Releases what mongo_op_begin took. Safe on a zeroed op. */
void mongo_op_end(mongo_op_t *op);

/* Runs {ping: 1}; *latency_ms is its round trip on success. */
store_status_t mongo_ping(double *latency_ms);

/* Maps a driver or server error to a status: duplicate key -> CONFLICT,
 * server selection / socket / connection errors -> UNAVAILABLE, else ERROR.
 * Only an unreachable server marks MongoDB down (see above). */
store_status_t mongo_error_status(const bson_error_t *e);

/* The redacted URI (credentials as "***") for logs and stats. */
const char *mongo_redacted_uri(void);

#endif
