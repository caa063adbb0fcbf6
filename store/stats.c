/* PING, INFO and the counters; see stats.h. */
#include "stats.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "conn.h"
#include "keys.h"
#include "nodes.h"
#include "reply.h"

store_status_t store_ping(double *latency_ms) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int node;
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "PING");
    redisReply *r = NULL;
    /* a key-less command: to the first server that holds keys */
    store_status_t st =
        store_nodes_masters(&node, 1) == 1 ? store_nodes_run(node, 1, &a, &r) : STORE_UNAVAILABLE;
    store_args_free(&a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != STORE_OK)
        return st;
    freeReplyObject(r);
    *latency_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return STORE_OK;
}

/* The INFO fields store_stats_t takes: a string copied (cap > 0) or an
 * integer (0 when absent). */
#define FIELD(name, member, cap)                                                                   \
    { name, sizeof name - 1, offsetof(store_stats_t, member), cap }
#define TEXT(name, member) FIELD(name, member, sizeof((store_stats_t *)0)->member)
static const struct {
    const char *name;
    size_t len, offset, cap;
} info_fields[] = {
    TEXT("redis_version", version),
    TEXT("used_memory_human", used_memory_human),
    FIELD("uptime_in_seconds", uptime_s, 0),
    FIELD("connected_clients", connected_clients, 0),
    FIELD("used_memory", used_memory_bytes, 0),
    FIELD("instantaneous_ops_per_sec", ops_per_sec, 0),
    FIELD("keyspace_hits", keyspace_hits, 0),
    FIELD("keyspace_misses", keyspace_misses, 0),
};
#undef TEXT
#undef FIELD
#define NFIELDS (sizeof info_fields / sizeof info_fields[0])

static void take(size_t i, const char *v, size_t vlen, store_stats_t *out) {
    char *field = (char *)out + info_fields[i].offset;
    if (info_fields[i].cap) {
        if (vlen >= info_fields[i].cap)
            vlen = info_fields[i].cap - 1;
        memcpy(field, v, vlen);
        field[vlen] = '\0';
        return;
    }
    long long n = 0;
    bool neg = vlen > 0 && *v == '-';
    for (size_t k = neg; k < vlen && v[k] >= '0' && v[k] <= '9'; k++) {
        int d = v[k] - '0';
        if (n > (LLONG_MAX - d) / 10) {
            n = LLONG_MAX; /* saturates, as strtoll does */
            break;
        }
        n = n * 10 + d;
    }
    *(long long *)(void *)field = neg ? -n : n;
}

/* One pass over the text (INFO is about 5 kB; a search per field was a
 * quarter of the endpoint's instructions). The first line of a name wins. */
void store_stats_parse_info(const char *info, store_stats_t *out) {
    for (size_t i = 0; i < NFIELDS; i++)
        if (!info_fields[i].cap)
            *(long long *)(void *)((char *)out + info_fields[i].offset) = 0;
    unsigned seen = 0;
    for (const char *p = info; p && *p;) {
        /* strchr and memchr scan many bytes per step; a byte loop cost more */
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        const char *colon = memchr(p, ':', len);
        for (size_t i = 0; colon && i < NFIELDS; i++) {
            if (seen & (1u << i) || (size_t)(colon - p) != info_fields[i].len ||
                memcmp(p, info_fields[i].name, info_fields[i].len) != 0)
                continue;
            seen |= 1u << i;
            take(i, colon + 1, len - info_fields[i].len - 1, out);
            break;
        }
        p = eol ? eol + 1 : NULL;
    }
}

/* The application's counters of one bucket: what each command adds up. */
enum { ZCARD, ZCOUNT, HMGET, LLEN_HIGH, LLEN_NORMAL, SESSIONS, ROOMS, PER_BUCKET };

/* ZCOUNT <index> (now +inf: the entries of an index scored by expiry that
 * have not expired yet. */
static void add_live_count(store_batch_t *batch, store_key_t index, int b, const char *min,
                           size_t minlen) {
    store_args_t *q = store_batch_add(batch);
    store_args_str(q, "ZCOUNT");
    store_args_index(q, index, b);
    store_args_add(q, min, minlen);
    store_args_str(q, "+inf");
}

static void add_bucket(store_batch_t *batch, int b, const char *min, size_t minlen) {
    store_args_t *q = store_batch_add(batch);
    store_args_str(q, "ZCARD");
    store_args_index(q, KEY_CLIENTS, b);
    add_live_count(batch, KEY_ONLINE_USERS, b, min, minlen);
    q = store_batch_add(batch);
    store_args_str(q, "HMGET");
    store_args_index(q, KEY_STATS, b);
    store_args_str(q, "total_frames");
    store_args_str(q, "removed_inactive");
    q = store_batch_add(batch);
    store_args_str(q, "LLEN");
    store_args_index(q, KEY_NOTIFY_QUEUE_HIGH, b);
    q = store_batch_add(batch);
    store_args_str(q, "LLEN");
    store_args_index(q, KEY_NOTIFY_QUEUE_NORMAL, b);
    /* what listing and counting filter on, so an expired one not yet pruned is not counted */
    add_live_count(batch, KEY_SESSIONS_EXPIRY, b, min, minlen);
    add_live_count(batch, KEY_ROOMS_EXPIRY, b, min, minlen);
}

static void sum_bucket(const store_batch_t *batch, int b, store_stats_t *out) {
    const redisReply *const *r = (const redisReply *const *)batch->replies + b * PER_BUCKET;
    out->total_clients += store_reply_int(r[ZCARD], 0);
    out->online_users += store_reply_int(r[ZCOUNT], 0);
    out->total_frames += store_reply_int(store_reply_at(r[HMGET], 0), 0);
    out->removed_inactive += store_reply_int(store_reply_at(r[HMGET], 1), 0);
    out->notification_queue_high += store_reply_int(r[LLEN_HIGH], 0);
    out->notification_queue_normal += store_reply_int(r[LLEN_NORMAL], 0);
    out->active_sessions += store_reply_int(r[SESSIONS], 0);
    out->active_rooms += store_reply_int(r[ROOMS], 0);
}

/* Adds DBSIZE (and, with info, INFO) to batch. */
static void add_server(store_batch_t *batch, bool info) {
    store_args_str(store_batch_add(batch), "DBSIZE");
    if (info)
        store_args_str(store_batch_add(batch), "INFO");
}

/* What add_server asked, from the replies at i. */
static void take_server(const store_batch_t *batch, int i, bool info, store_stats_t *out) {
    out->keys += store_reply_int(store_batch_reply(batch, i), 0);
    const redisReply *r = store_batch_reply(batch, i + 1);
    if (info && store_reply_is_str(r))
        store_stats_parse_info(r->str, out);
}

void store_stats_human_bytes(long long bytes, char *out, size_t cap) {
    static const char units[] = "BKMGTPE";
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && units[u + 1]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%lldB", bytes);
    else
        snprintf(out, cap, "%.2f%c", v, units[u]);
}

/* Master node's INFO and DBSIZE, parsed into *one, its share copied into
 * *m; false when it did not answer. */
static bool master_stats(int node, store_stats_master_t *m, store_stats_t *one) {
    store_batch_t b;
    store_batch_init(&b, 2);
    add_server(&b, true);
    store_status_t st = b.failed ? STORE_ERROR : store_nodes_run(node, b.n, b.cmds, b.replies);
    memset(one, 0, sizeof *one);
    if (st == STORE_OK)
        take_server(&b, 0, true, one);
    store_batch_free(&b); /* a failed run left no replies */
    m->up = st == STORE_OK;
    memcpy(m->version, one->version, sizeof m->version);
    m->uptime_s = one->uptime_s;
    m->connected_clients = one->connected_clients;
    m->used_memory_bytes = one->used_memory_bytes;
    m->ops_per_sec = one->ops_per_sec;
    m->keys = one->keys;
    return m->up;
}

/* Adds a master's figures (one) to the cluster's (out). */
static void add_master(const store_stats_t *one, store_stats_t *out) {
    if (!out->version[0])
        memcpy(out->version, one->version, sizeof out->version);
    if (out->uptime_s == 0 || one->uptime_s < out->uptime_s)
        out->uptime_s = one->uptime_s;
    out->connected_clients += one->connected_clients;
    out->used_memory_bytes += one->used_memory_bytes;
    out->ops_per_sec += one->ops_per_sec;
    out->keyspace_hits += one->keyspace_hits;
    out->keyspace_misses += one->keyspace_misses;
    out->keys += one->keys;
}

/* In a cluster, each master's INFO and DBSIZE, one master after another
 * (one that is down answers at once: see link.h), added up. STORE_OK when
 * at least one answered. */
static store_status_t cluster_stats(store_stats_t *out) {
    int nodes[STORE_NODES_MAX];
    int n = store_nodes_masters(nodes, STORE_NODES_MAX);
    store_stats_t *one = malloc(sizeof *one);
    if (!one)
        return STORE_ERROR;
    out->cluster = true;
    for (int i = 0; i < n && i < STORE_STATS_MASTERS; i++) {
        store_stats_master_t *m = &out->masters[out->nmasters++];
        store_nodes_name(nodes[i], m->addr);
        if (master_stats(nodes[i], m, one))
            add_master(one, out);
        else
            out->masters_down++;
    }
    free(one);
    store_stats_human_bytes(out->used_memory_bytes, out->used_memory_human,
                            sizeof out->used_memory_human);
    return out->nmasters > out->masters_down ? STORE_OK : STORE_UNAVAILABLE;
}

/* Adds up the buckets whose commands all succeeded; counts the others. */
static void sum_buckets(const store_batch_t *batch, const store_status_t *each,
                        store_stats_t *out) {
    for (int b = 0; b < STORE_BUCKETS; b++) {
        bool all = true;
        for (int i = 0; i < PER_BUCKET; i++)
            all &= each[b * PER_BUCKET + i] == STORE_OK;
        if (all)
            sum_bucket(batch, b, out);
        else
            out->buckets_missing++;
    }
}

static store_status_t stats_get(int64_t now_ms, store_stats_t *out);

store_status_t store_stats_get(int64_t now_ms, store_stats_t *out, store_cluster_info_t *info) {
    store_status_t st = stats_get(now_ms, out);
    if (info)
        store_nodes_info(info);
    return st;
}

static store_status_t stats_get(int64_t now_ms, store_stats_t *out) {
    memset(out, 0, sizeof *out);
    /* one server: INFO and DBSIZE go with the counters, one round trip */
    bool single = !store_nodes_cluster();
    store_status_t st = single ? STORE_OK : cluster_stats(out);
    if (st != STORE_OK)
        return st;
    char min[32];
    size_t minlen = (size_t)snprintf(min, sizeof min, "(%lld", (long long)now_ms);
    store_batch_t batch;
    store_batch_init(&batch, STORE_BUCKETS * PER_BUCKET + 2);
    for (int b = 0; b < STORE_BUCKETS; b++)
        add_bucket(&batch, b, min, minlen);
    if (single) {
        add_server(&batch, true);
        st = store_batch_run(&batch);
        for (int b = 0; st == STORE_OK && b < STORE_BUCKETS; b++)
            sum_bucket(&batch, b, out);
        if (st == STORE_OK)
            take_server(&batch, STORE_BUCKETS * PER_BUCKET, true, out);
    } else {
        /* a master that is down costs its buckets only */
        store_status_t each[STORE_BUCKETS * PER_BUCKET];
        store_batch_run_each(&batch, each);
        sum_buckets(&batch, each, out);
        st = batch.failed ? STORE_ERROR : STORE_OK;
    }
    store_batch_free(&batch);
    return st;
}
