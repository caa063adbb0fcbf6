/*
 * The limit each Redis-backed endpoint is measured against: the very Redis
 * commands that endpoint sends (EVALSHA of the store's own script source,
 * copied from the store sources at build time by bench/extract-scripts.awk, with the
 * same keys and arguments), run bare over C connections, each keeping
 * DEPTH commands in flight (DEPTH 1: the service's shape, one command per
 * connection at a time; more: pipelined, the Redis-side ceiling).
 *
 *   redisbench [-s SOCK | -p PORT] [-c CONNS] [-d DEPTH] [-t SECONDS] [-n IDS]
 *              [-z FRAME_BYTES] [-l LIMIT] SCENARIO
 *   scenarios: heartbeat client image put presence stats ping
 *   redisbench [-s SOCK | -p PORT] [-a AGE_MS] load-clients PREFIX FIRST COUNT
 *
 * Ids are "<prefix><number, 5 digits>", "cam-" unless -i says otherwise; a
 * scenario picks them at random among the first IDS. Prints one JSON object:
 * {"ops": N, "seconds": S, "rps": R, "errors": E}, an op being what one HTTP
 * request costs (for stats: store_stats_get's INFO, DBSIZE and five commands
 * per bucket; for presence: a first page's range and count of every bucket,
 * then the two reads of each listed id, one round trip here where the
 * service makes two).
 */
#define _GNU_SOURCE
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/timefmt.h"
#include "../store/keys.h"
#include "scripts.h"

#define MAX_ARGS 16
#define MAX_CMDS 256 /* commands per op: a list page or stats, over 16 buckets */

typedef struct {
    int argc;
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    char buf[MAX_ARGS][STORE_KEY_MAX];
} cmd_t;

typedef struct {
    int n;
    cmd_t cmd[MAX_CMDS];
} op_t;

static const char *sock_path, *id_prefix = "cam-";
static int port = 6379, conns = 4, depth = 1, seconds = 5, nids = 10000, list_limit = 100;
static size_t frame_bytes = 40000;
static long long age_ms;
static unsigned char *frame;
static atomic_llong total_ops, total_errors;
static atomic_int stop;

static void die(const char *what) {
    fprintf(stderr, "redisbench: %s\n", what);
    exit(1);
}

static redisContext *connect_redis(void) {
    redisContext *c = sock_path ? redisConnectUnix(sock_path) : redisConnect("127.0.0.1", port);
    if (!c || c->err)
        die(c ? c->errstr : "out of memory");
    return c;
}

/* The SHA1 of a store script, as the service computes it (store/script.c). */
static void script_sha(const char *name, char sha[41]) {
    const char *src = NULL;
    for (size_t i = 0; i < sizeof bench_scripts / sizeof bench_scripts[0]; i++)
        if (strcmp(bench_scripts[i].name, name) == 0)
            src = bench_scripts[i].src;
    if (!src)
        die("no such script in the store sources");
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)src, strlen(src), d);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(sha + 2 * i, 3, "%02x", d[i]);
    /* SCRIPT LOAD what the service would send with EVAL on a NOSCRIPT. */
    redisContext *c = connect_redis();
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", src);
    if (!r || r->type != REDIS_REPLY_STRING || strcmp(r->str, sha) != 0)
        die("SCRIPT LOAD failed or answered another SHA");
    freeReplyObject(r);
    redisFree(c);
}

static void arg(cmd_t *c, const char *s, size_t n) {
    c->argv[c->argc] = s;
    c->lens[c->argc] = n;
    c->argc++;
}

static void arg_str(cmd_t *c, const char *s) { arg(c, s, strlen(s)); }

static void arg_fmt(cmd_t *c, const char *fmt, long long v) {
    char *b = c->buf[c->argc];
    int n = snprintf(b, STORE_KEY_MAX, fmt, v);
    arg(c, b, (size_t)n);
}

static void arg_key(cmd_t *c, store_key_t k, const char *id) {
    char *b = c->buf[c->argc];
    size_t n = store_key(b, k, id);
    arg(c, b, n);
}

static void arg_index(cmd_t *c, store_key_t k, int bucket) {
    char *b = c->buf[c->argc];
    size_t n = store_key_index(b, k, bucket);
    arg(c, b, n);
}

/* Copies a string into the command's own buffer (ids, times). */
static void arg_copy(cmd_t *c, const char *s) {
    char *b = c->buf[c->argc];
    snprintf(b, STORE_KEY_MAX, "%s", s);
    arg_str(c, b);
}

static void evalsha(cmd_t *c, const char *sha, int nkeys) {
    c->argc = 0;
    arg_str(c, "EVALSHA");
    arg_str(c, sha);
    arg_fmt(c, "%lld", nkeys);
}

typedef enum { S_HEARTBEAT, S_CLIENT, S_IMAGE, S_PUT, S_PRESENCE, S_STATS, S_PING } scenario_t;

static const char *const scenario_names[] = {"heartbeat", "client", "image", "put",
                                             "presence",  "stats",  "ping"};
static scenario_t scenario;
static char sha[41];

/* Builds the commands of one request of the scenario, as the store does. */
static void build_op(op_t *op, unsigned *seed) {
    char id[64], now[CORE_ISO8601_LEN];
    snprintf(id, sizeof id, "%s%05d", id_prefix, (int)(rand_r(seed) % (unsigned)nids));
    int64_t ms = core_now_ms();
    core_iso8601(ms, now);
    cmd_t *c = &op->cmd[0];
    op->n = 1;
    switch (scenario) {
    case S_HEARTBEAT: /* store_clients_heartbeat: ZADD XX, then ZSCORE says it exists */
        op->n = 2;
        c->argc = op->cmd[1].argc = 0;
        arg_str(c, "ZADD");
        arg_key(c, KEY_CLIENTS_LAST_SEEN, id);
        arg_str(c, "XX");
        arg_fmt(c, "%lld", ms);
        arg_copy(c, id);
        arg_str(&op->cmd[1], "ZSCORE");
        arg_key(&op->cmd[1], KEY_CLIENTS_LAST_SEEN, id);
        arg_copy(&op->cmd[1], id);
        break;
    case S_CLIENT: /* store_clients_get: HMGET, ZSCORE, HGET */
        op->n = 3;
        for (int i = 0; i < 3; i++)
            op->cmd[i].argc = 0;
        arg_str(c, "HMGET");
        arg_key(c, KEY_CLIENT, id);
        arg_str(c, "status");
        arg_str(c, "connected_at");
        arg_str(&op->cmd[1], "ZSCORE");
        arg_key(&op->cmd[1], KEY_CLIENTS_LAST_SEEN, id);
        arg_copy(&op->cmd[1], id);
        arg_str(&op->cmd[2], "HGET");
        arg_key(&op->cmd[2], KEY_IMAGE, id);
        arg_str(&op->cmd[2], "frame_number");
        break;
    case S_IMAGE: /* store_images_get, no If-None-Match */
        evalsha(c, sha, 1);
        arg_key(c, KEY_IMAGE, id);
        arg_str(c, "");
        break;
    case S_PUT: /* store_images_put */
        evalsha(c, sha, 4);
        arg_key(c, KEY_CLIENT, id);
        arg_key(c, KEY_IMAGE, id);
        arg_key(c, KEY_CLIENTS_LAST_SEEN, id);
        arg_key(c, KEY_STATS, id);
        arg(c, (const char *)frame, frame_bytes);
        arg_fmt(c, "%lld", (long long)frame_bytes);
        arg_str(c, "jpeg");
        arg_copy(c, now);
        arg_fmt(c, "%lld", ms);
        arg_copy(c, id);
        arg_fmt(c, "%llx", ms);
        break;
    case S_PRESENCE: { /* store_presence_list, first page (store/page.c) */
        int limit = list_limit < (MAX_CMDS - 2 * STORE_BUCKETS) / 2
                        ? list_limit
                        : (MAX_CMDS - 2 * STORE_BUCKETS) / 2;
        op->n = 0;
        for (int b = 0; b < STORE_BUCKETS; b++) {
            cmd_t *r = &op->cmd[op->n++], *n = &op->cmd[op->n++];
            r->argc = n->argc = 0;
            arg_str(r, "ZRANGEBYLEX");
            arg_index(r, KEY_ONLINE_USERS_BY_ID, b);
            arg_str(r, "-");
            arg_str(r, "+");
            arg_str(r, "LIMIT");
            arg_str(r, "0");
            arg_fmt(r, "%lld", (limit + 1) / 8 + 4);
            arg_str(n, "ZCOUNT");
            arg_index(n, KEY_ONLINE_USERS, b);
            arg_fmt(n, "(%lld", ms);
            arg_str(n, "+inf");
        }
        for (int i = 0; i < limit; i++) {
            char user[64];
            snprintf(user, sizeof user, "%s%05d", id_prefix, i);
            cmd_t *z = &op->cmd[op->n++], *h = &op->cmd[op->n++];
            z->argc = h->argc = 0;
            arg_str(z, "ZSCORE");
            arg_key(z, KEY_ONLINE_USERS, user);
            arg_copy(z, user);
            arg_str(h, "HMGET");
            arg_key(h, KEY_PRESENCE, user);
            arg_str(h, "status");
            arg_str(h, "device_id");
            arg_str(h, "last_seen");
        }
        break;
    }
    case S_STATS: /* store_stats_get: INFO, DBSIZE, five commands per bucket */
        op->n = 2;
        op->cmd[0].argc = op->cmd[1].argc = 0;
        arg_str(&op->cmd[0], "INFO");
        arg_str(&op->cmd[1], "DBSIZE");
        for (int b = 0; b < STORE_BUCKETS; b++) {
            cmd_t *q = &op->cmd[op->n];
            for (int i = 0; i < 5; i++)
                q[i].argc = 0;
            op->n += 5;
            arg_str(&q[0], "ZCARD");
            arg_index(&q[0], KEY_CLIENTS, b);
            arg_str(&q[1], "ZCOUNT");
            arg_index(&q[1], KEY_ONLINE_USERS, b);
            arg_fmt(&q[1], "(%lld", ms);
            arg_str(&q[1], "+inf");
            arg_str(&q[2], "HMGET");
            arg_index(&q[2], KEY_STATS, b);
            arg_str(&q[2], "total_frames");
            arg_str(&q[2], "removed_inactive");
            arg_str(&q[3], "LLEN");
            arg_index(&q[3], KEY_NOTIFY_QUEUE_HIGH, b);
            arg_str(&q[4], "LLEN");
            arg_index(&q[4], KEY_NOTIFY_QUEUE_NORMAL, b);
        }
        break;
    case S_PING: /* store_ping: /readyz and /health without MongoDB */
        c->argc = 0;
        arg_str(c, "PING");
        break;
    }
}

static void *worker(void *p) {
    unsigned seed = (unsigned)(uintptr_t)p * 7919u + 1;
    redisContext *c = connect_redis();
    op_t *ops = calloc((size_t)depth, sizeof *ops);
    if (!ops)
        die("out of memory");
    long long done = 0, errors = 0;
    while (!atomic_load(&stop)) {
        for (int i = 0; i < depth; i++) {
            build_op(&ops[i], &seed);
            for (int j = 0; j < ops[i].n; j++)
                redisAppendCommandArgv(c, ops[i].cmd[j].argc, ops[i].cmd[j].argv,
                                       ops[i].cmd[j].lens);
        }
        for (int i = 0; i < depth; i++) {
            for (int j = 0; j < ops[i].n; j++) {
                redisReply *r;
                if (redisGetReply(c, (void **)&r) != REDIS_OK)
                    die(c->errstr);
                /* nil where the id's own entry is read: it is not registered (a
                 * bench set-up fault); a client without a frame has no frame number */
                bool missing = r->type == REDIS_REPLY_NIL && scenario != S_PRESENCE &&
                               j == (scenario == S_HEARTBEAT);
                if (r->type == REDIS_REPLY_ERROR || missing) {
                    if (errors++ == 0)
                        fprintf(stderr, "redisbench: %s: %s\n", scenario_names[scenario],
                                missing ? "no such id" : r->str);
                }
                freeReplyObject(r);
            }
            done++;
        }
    }
    atomic_fetch_add(&total_ops, done);
    atomic_fetch_add(&total_errors, errors);
    free(ops);
    redisFree(c);
    return NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Registers COUNT clients with the store's own connect script, pipelined,
 * last seen AGE_MS ago (so that they expire when the bench wants). */
static int load_clients(const char *prefix, int first, int count) {
    char s[41];
    script_sha("clients.connect_script", s);
    redisContext *c = connect_redis();
    int64_t ms = core_now_ms() - age_ms;
    char now[CORE_ISO8601_LEN];
    core_iso8601(ms, now);
    cmd_t cmd;
    enum { BATCH = 256 };
    for (int done = 0; done < count;) {
        int n = count - done < BATCH ? count - done : BATCH;
        for (int i = 0; i < n; i++) {
            char id[64];
            snprintf(id, sizeof id, "%s%05d", prefix, first + done + i);
            evalsha(&cmd, s, 4);
            arg_key(&cmd, KEY_CLIENT, id);
            arg_key(&cmd, KEY_IMAGE, id);
            arg_key(&cmd, KEY_CLIENTS, id);
            arg_key(&cmd, KEY_CLIENTS_LAST_SEEN, id);
            arg_copy(&cmd, id);
            arg_copy(&cmd, now);
            arg_fmt(&cmd, "%lld", ms);
            arg_str(&cmd, "0");
            redisAppendCommandArgv(c, cmd.argc, cmd.argv, cmd.lens);
        }
        for (int i = 0; i < n; i++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK)
                die(c->errstr);
            if (r->type == REDIS_REPLY_ERROR)
                die(r->str);
            freeReplyObject(r);
        }
        done += n;
    }
    redisFree(c);
    printf("{\"registered\": %d}\n", count);
    return 0;
}

static const char *script_of(scenario_t s) {
    switch (s) {
    case S_IMAGE: return "images.get_script";
    case S_PUT: return "images.put_script";
    default: return NULL;
    }
}

int main(int argc, char **argv) {
    int o;
    while ((o = getopt(argc, argv, "s:p:c:d:t:n:z:l:a:i:")) != -1) {
        switch (o) {
        case 's': sock_path = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 't': seconds = atoi(optarg); break;
        case 'n': nids = atoi(optarg); break;
        case 'z': frame_bytes = (size_t)atol(optarg); break;
        case 'l': list_limit = atoi(optarg); break;
        case 'a': age_ms = atoll(optarg); break;
        case 'i': id_prefix = optarg; break;
        default: die("see the comment at the top of bench/redisbench.c for usage");
        }
    }
    if (optind >= argc || conns < 1 || depth < 1 || seconds < 1 || nids < 1)
        die("usage: redisbench [options] SCENARIO (see bench/redisbench.c)");
    if (strcmp(argv[optind], "load-clients") == 0) {
        if (optind + 3 >= argc)
            die("usage: redisbench load-clients PREFIX FIRST COUNT");
        return load_clients(argv[optind + 1], atoi(argv[optind + 2]), atoi(argv[optind + 3]));
    }
    int found = -1;
    for (int i = 0; i < (int)(sizeof scenario_names / sizeof scenario_names[0]); i++)
        if (strcmp(argv[optind], scenario_names[i]) == 0)
            found = i;
    if (found < 0)
        die("unknown scenario");
    scenario = (scenario_t)found;
    if (script_of(scenario))
        script_sha(script_of(scenario), sha);
    frame = malloc(frame_bytes);
    if (!frame)
        die("out of memory");
    for (size_t i = 0; i < frame_bytes; i++)
        frame[i] = (unsigned char)(i * 131 + 7);
    memcpy(frame, "\xFF\xD8\xFF\xE0", frame_bytes < 4 ? frame_bytes : 4);

    pthread_t *t = calloc((size_t)conns, sizeof *t);
    double t0 = now_s();
    for (int i = 0; i < conns; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    sleep((unsigned)seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    double el = now_s() - t0;
    long long ops = atomic_load(&total_ops);
    printf("{\"ops\": %lld, \"seconds\": %.3f, \"rps\": %.1f, \"errors\": %lld}\n", ops, el,
           (double)ops / el, atomic_load(&total_errors));
    free(t);
    free(frame);
    return 0;
}
