/*
 * MongoDB command monitoring; see monitor.h. The driver calls the two
 * callbacks below on the thread that ran the command, after it ended.
 */
#include "monitor.h"

#include <stdatomic.h>
#include <string.h>

#include "errors.h"

static const char *const names[MONGO_CMD_N] = {
    [MONGO_CMD_INSERT] = "insert",
    [MONGO_CMD_FIND] = "find",
    [MONGO_CMD_GET_MORE] = "getMore",
    [MONGO_CMD_UPDATE] = "update",
    [MONGO_CMD_DELETE] = "delete",
    [MONGO_CMD_FIND_AND_MODIFY] = "findAndModify",
    [MONGO_CMD_AGGREGATE] = "aggregate",
    [MONGO_CMD_COUNT] = "count",
    [MONGO_CMD_CREATE_INDEXES] = "createIndexes",
    [MONGO_CMD_PING] = "ping",
    [MONGO_CMD_OTHER] = "other",
};

static core_hist_t latency[MONGO_CMD_N];
static atomic_ulong failures[MONGO_CMD_N];

mongo_cmd_t mongo_cmd_of(const char *command_name) {
    for (int i = 0; command_name && i < MONGO_CMD_OTHER; i++)
        if (strcmp(names[i], command_name) == 0)
            return (mongo_cmd_t)i;
    return MONGO_CMD_OTHER;
}

static mongo_cmd_t known(mongo_cmd_t cmd) {
    return cmd >= 0 && cmd < MONGO_CMD_N ? cmd : MONGO_CMD_OTHER;
}

const char *mongo_cmd_name(mongo_cmd_t cmd) { return names[known(cmd)]; }

void mongo_monitor_record(mongo_cmd_t cmd, double seconds, bool failed) {
    cmd = known(cmd);
    core_hist_add(&latency[cmd], seconds);
    if (failed)
        atomic_fetch_add_explicit(&failures[cmd], 1, memory_order_relaxed);
}

const core_hist_t *mongo_monitor_latency(mongo_cmd_t cmd) { return &latency[known(cmd)]; }

unsigned long mongo_monitor_failures(mongo_cmd_t cmd) {
    return atomic_load_explicit(&failures[known(cmd)], memory_order_relaxed);
}

/* A reply with ok: 1 and write errors (a duplicate key on insert) is a
 * success to the driver's monitor already; a findAndModify that hits a
 * duplicate key fails with ok: 0, and is a conflict all the same. */
static void on_failed(const mongoc_apm_command_failed_t *event) {
    bson_error_t e;
    mongoc_apm_command_failed_get_error(event, &e);
    double secs = (double)mongoc_apm_command_failed_get_duration(event) / 1e6;
    mongo_monitor_record(mongo_cmd_of(mongoc_apm_command_failed_get_command_name(event)), secs,
                         !mongo_error_duplicate(e.code));
}

static void on_succeeded(const mongoc_apm_command_succeeded_t *event) {
    double secs = (double)mongoc_apm_command_succeeded_get_duration(event) / 1e6;
    mongo_monitor_record(mongo_cmd_of(mongoc_apm_command_succeeded_get_command_name(event)), secs,
                         false);
}

static mongoc_apm_callbacks_t *callbacks(void) {
    mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
    mongoc_apm_set_command_succeeded_cb(cb, on_succeeded);
    mongoc_apm_set_command_failed_cb(cb, on_failed);
    return cb;
}

void mongo_monitor_pool(mongoc_client_pool_t *pool) {
    mongoc_apm_callbacks_t *cb = callbacks();
    mongoc_client_pool_set_apm_callbacks(pool, cb, NULL); /* copies cb */
    mongoc_apm_callbacks_destroy(cb);
}

void mongo_monitor_client(mongoc_client_t *client) {
    mongoc_apm_callbacks_t *cb = callbacks();
    mongoc_client_set_apm_callbacks(client, cb, NULL);
    mongoc_apm_callbacks_destroy(cb);
}
