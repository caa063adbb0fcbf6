/*
 * What every MongoDB command this process sends costs, by operation: the
 * driver's command monitoring (APM) reports each command's round trip, and
 * this module adds it to one latency histogram per operation and counts the
 * failures. Recording is lock-free (core/histogram.h); api/metrics.c reads
 * the figures for /metrics.
 *
 * An operation is the command's name, from a fixed set (mongo_cmd_t), so
 * the label values stay bounded; any other command counts as "other". A
 * failure is a command that was sent and failed: the server refused it, it
 * timed out, or the connection broke. A duplicate key is not one (the
 * service answers it 409 as a conflict), nor is a command that was never
 * sent because no server could be selected (mongodb_up says that).
 */
#ifndef MONGO_MONITOR_H
#define MONGO_MONITOR_H

#include <mongoc/mongoc.h>
#include <stdbool.h>

#include "../core/histogram.h"

typedef enum {
    MONGO_CMD_INSERT,
    MONGO_CMD_FIND,
    MONGO_CMD_GET_MORE,
    MONGO_CMD_UPDATE,
    MONGO_CMD_DELETE,
    MONGO_CMD_FIND_AND_MODIFY,
    MONGO_CMD_AGGREGATE,
    MONGO_CMD_COUNT,
    MONGO_CMD_CREATE_INDEXES,
    MONGO_CMD_PING,
    MONGO_CMD_OTHER,
    MONGO_CMD_N
} mongo_cmd_t;

/* The operation a command name counts as ("findAndModify" ->
 * MONGO_CMD_FIND_AND_MODIFY; anything unknown, or NULL -> MONGO_CMD_OTHER). */
mongo_cmd_t mongo_cmd_of(const char *command_name);

/* The command name an operation stands for ("findAndModify", "other"): a
 * static string, the label value of /metrics. */
const char *mongo_cmd_name(mongo_cmd_t cmd);

/* Monitors every client of pool (call before its first client is taken), or
 * one client of its own (not from a pool). */
void mongo_monitor_pool(mongoc_client_pool_t *pool);
void mongo_monitor_client(mongoc_client_t *client);

/* Records one command directly (what the monitor calls for each reported
 * command): its round trip in seconds, and whether it failed (see above). */
void mongo_monitor_record(mongo_cmd_t cmd, double seconds, bool failed);

/* The latency of cmd's commands so far (borrowed; lives as long as the
 * process), and how many of them failed. */
const core_hist_t *mongo_monitor_latency(mongo_cmd_t cmd);
unsigned long mongo_monitor_failures(mongo_cmd_t cmd);

#endif
