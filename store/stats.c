/* PING, INFO and the counters; see stats.h. */
#include "stats.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "keys.h"
#include "reply.h"

store_status_t store_ping(double *latency_ms) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "PING");
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != STORE_OK)
        return st;
    freeReplyObject(r);
    *latency_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return STORE_OK;
}

/* Copies the value of "name:" on its own line of info into out. */
static bool info_field(const char *info, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "\r\n");
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

static long long info_int(const char *info, const char *name) {
    char buf[32];
    return info_field(info, name, buf, sizeof buf) ? atoll(buf) : 0;
}

void store_stats_parse_info(const char *info, store_stats_t *out) {
    info_field(info, "redis_version", out->version, sizeof out->version);
    info_field(info, "used_memory_human", out->used_memory_human, sizeof out->used_memory_human);
    out->uptime_s = info_int(info, "uptime_in_seconds");
    out->connected_clients = info_int(info, "connected_clients");
    out->used_memory_bytes = info_int(info, "used_memory");
    out->ops_per_sec = info_int(info, "instantaneous_ops_per_sec");
    out->keyspace_hits = info_int(info, "keyspace_hits");
    out->keyspace_misses = info_int(info, "keyspace_misses");
}

store_status_t store_stats_get(int64_t now_ms, store_stats_t *out) {
    enum { INFO, DBSIZE, SCARD, ZCOUNT, HMGET, LLEN_HIGH, LLEN_NORMAL, N };
    store_args_t cmds[N];
    for (int i = 0; i < N; i++)
        store_args_init(&cmds[i]);
    store_args_str(&cmds[INFO], "INFO");
    store_args_str(&cmds[DBSIZE], "DBSIZE");
    store_args_str(&cmds[SCARD], "SCARD");
    store_args_key(&cmds[SCARD], KEY_CLIENTS, NULL);
    char min[32];
    snprintf(min, sizeof min, "(%lld", (long long)now_ms);
    store_args_str(&cmds[ZCOUNT], "ZCOUNT");
    store_args_key(&cmds[ZCOUNT], KEY_ONLINE_USERS, NULL);
    store_args_str(&cmds[ZCOUNT], min);
    store_args_str(&cmds[ZCOUNT], "+inf");
    store_args_str(&cmds[HMGET], "HMGET");
    store_args_key(&cmds[HMGET], KEY_STATS, NULL);
    store_args_str(&cmds[HMGET], "total_frames");
    store_args_str(&cmds[HMGET], "removed_inactive");
    store_args_str(&cmds[LLEN_HIGH], "LLEN");
    store_args_key(&cmds[LLEN_HIGH], KEY_NOTIFY_QUEUE_HIGH, NULL);
    store_args_str(&cmds[LLEN_NORMAL], "LLEN");
    store_args_key(&cmds[LLEN_NORMAL], KEY_NOTIFY_QUEUE_NORMAL, NULL);
    redisReply *r[N];
    store_status_t st = store_run(N, cmds, r);
    for (int i = 0; i < N; i++)
        store_args_free(&cmds[i]);
    if (st != STORE_OK)
        return st;
    memset(out, 0, sizeof *out);
    if (store_reply_is_str(r[INFO]))
        store_stats_parse_info(r[INFO]->str, out);
    out->keys = store_reply_int(r[DBSIZE], 0);
    out->total_clients = store_reply_int(r[SCARD], 0);
    out->online_users = store_reply_int(r[ZCOUNT], 0);
    out->total_frames = store_reply_int(store_reply_at(r[HMGET], 0), 0);
    out->removed_inactive = store_reply_int(store_reply_at(r[HMGET], 1), 0);
    out->notification_queue_high = store_reply_int(r[LLEN_HIGH], 0);
    out->notification_queue_normal = store_reply_int(r[LLEN_NORMAL], 0);
    store_replies_free(N, r);
    return STORE_OK;
}
