/*
 * The limit each Redis-backed endpoint is measured against: the cheapest
 * plain Redis commands that give the endpoint's answer (no script of the
 * store's), on the keys the service writes (named by the store's own key
 * builder, store/keys.c, linked in), run bare over C connections, each
 * keeping DEPTH requests' commands in flight (DEPTH 1: one request at a
 * time per connection; more: pipelined, the Redis-side ceiling).
 *
 *   redisbench [-s SOCK | -p PORT] [-c CONNS] [-d DEPTH] [-t SECONDS] [-n IDS]
 *              [-z FRAME_BYTES] [-l LIMIT] SCENARIO
 *   redisbench [-s SOCK | -p PORT] [-a AGE_MS] load-clients PREFIX FIRST COUNT
 *   redisbench keys KIND PREFIX FIRST COUNT     one key name a line (KIND: client,
 *                                               image, presence), for the bench's URLs
 *
 * One request's commands, by scenario (bench/README.md says why each is the floor):
 *   heartbeat  ZADD clients:last_seen XX CH <ms> <id>       records it; 0: unknown id
 *   client     HMGET client:<id> status connected_at frame_number
 *              + ZSCORE clients:last_seen:{b} <id>          one round trip
 *              (a heartbeat is one ZADD on the index, so the last-seen time
 *              is there, not in the hash: two keys, two commands)
 *   image      HMGET image:<id> etag format timestamp frame_number data
 *   put        ZADD XX CH, HINCRBY frame_number, HSET of the frame and its fields,
 *              HSET client last_seen, HINCRBY stats total_frames   one round trip
 *   presence   every bucket's ZCOUNT + ZRANGEBYLEX LIMIT, then one HMGET
 *              per id of the merged page                    two round trips
 *   stats      INFO, DBSIZE and every bucket's seven counters   one round trip
 * The lists and the stats span every bucket (keys.h: the one key schema of
 * both modes), so their limits read every bucket, as the answer needs.
 *   ping       PING
 * KEY_PREFIX in the environment is the service's, as in core/config.c.
 *
 * Ids are "<prefix><number, 5 digits>", "cam-" unless -i says otherwise; a
 * scenario picks them at random among the first IDS. Prints one JSON object:
 * {"ops": N, "seconds": S, "rps": R, "errors": E}, an op being what one HTTP
 * request costs. load-clients registers clients with the store's own connect
 * script (copied from store/clients.c at build time by extract-scripts.awk).
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

typedef struct {
    int argc;
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    char buf[MAX_ARGS][STORE_KEY_MAX];
} cmd_t;

/* One request in flight: what its later round trips need from the earlier. */
typedef struct {
    char id[64], now[CORE_ISO8601_LEN];
    long long ms;
    redisReply *page[STORE_BUCKETS]; /* presence: each bucket's ids (phase 0's ZRANGEBYLEX) */
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

/* An index's key of one bucket (keys.h). */
static void arg_index(cmd_t *c, store_key_t k, int bucket) {
    char *b = c->buf[c->argc];
    size_t n = store_key_index(b, k, bucket);
    arg(c, b, n);
}

/* Starts a command: its name, then the given fields (NULL-terminated). */
static void cmd_start(cmd_t *c, const char *name) {
    c->argc = 0;
    arg_str(c, name);
}

static void args(cmd_t *c, const char *const *fields) {
    for (; *fields; fields++)
        arg_str(c, *fields);
}

static void send_cmd(redisContext *ctx, cmd_t *c) {
    redisAppendCommandArgv(ctx, c->argc, c->argv, c->lens);
}

typedef enum { S_HEARTBEAT, S_CLIENT, S_IMAGE, S_PUT, S_PRESENCE, S_STATS, S_PING } scenario_t;

static const char *const scenario_names[] = {"heartbeat", "client", "image", "put",
                                             "presence",  "stats",  "ping"};
static scenario_t scenario;

static const char *const client_fields[] = {"status", "connected_at", "frame_number", NULL};
static const char *const image_fields[] = {"etag",         "format", "timestamp",
                                           "frame_number", "data",   NULL};
static const char *const presence_fields[] = {"status", "device_id", "last_seen", "expires_at",
                                              NULL};

/* ZADD clients:last_seen XX CH <ms> <id>: a heartbeat's record and answer. */
static void zadd_seen(redisContext *ctx, const op_t *op) {
    cmd_t c;
    cmd_start(&c, "ZADD");
    arg_key(&c, KEY_CLIENTS_LAST_SEEN, op->id); /* an index: the id's part of it, if split */
    arg_str(&c, "XX");
    arg_str(&c, "CH");
    arg_fmt(&c, "%lld", op->ms);
    arg_str(&c, op->id);
    send_cmd(ctx, &c);
}

static int by_id(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The presence page's second round trip: the first LIMIT ids of all
 * buckets' in id order, one HMGET each (the hash holds the expiry too). */
static int presence_details(redisContext *ctx, const op_t *op) {
    size_t all = 0;
    for (int b = 0; b < STORE_BUCKETS; b++)
        all += op->page[b] ? op->page[b]->elements : 0;
    const char **ids = malloc((all + 1) * sizeof *ids);
    if (!ids)
        die("out of memory");
    size_t n = 0;
    for (int b = 0; b < STORE_BUCKETS; b++)
        for (size_t i = 0; op->page[b] && i < op->page[b]->elements; i++)
            ids[n++] = op->page[b]->element[i]->str;
    qsort(ids, n, sizeof *ids, by_id);
    if (n > (size_t)list_limit)
        n = (size_t)list_limit;
    for (size_t i = 0; i < n; i++) {
        cmd_t c;
        cmd_start(&c, "HMGET");
        arg_key(&c, KEY_PRESENCE, ids[i]);
        args(&c, presence_fields);
        send_cmd(ctx, &c);
    }
    free(ids);
    return (int)n;
}

/* One bucket's seven counters of store_stats_get (store/stats.c). */
static void stats_bucket(redisContext *ctx, const op_t *op, int b) {
    cmd_t c;
    cmd_start(&c, "ZCARD");
    arg_index(&c, KEY_CLIENTS, b);
    send_cmd(ctx, &c);
    const store_key_t live[] = {KEY_ONLINE_USERS, KEY_SESSIONS_EXPIRY, KEY_ROOMS_EXPIRY};
    for (size_t k = 0; k < sizeof live / sizeof live[0]; k++) {
        cmd_start(&c, "ZCOUNT");
        arg_index(&c, live[k], b);
        arg_fmt(&c, "(%lld", op->ms);
        arg_str(&c, "+inf");
        send_cmd(ctx, &c);
    }
    cmd_start(&c, "HMGET");
    arg_index(&c, KEY_STATS, b);
    args(&c, (const char *const[]){"total_frames", "removed_inactive", NULL});
    send_cmd(ctx, &c);
    cmd_start(&c, "LLEN");
    arg_index(&c, KEY_NOTIFY_QUEUE_HIGH, b);
    send_cmd(ctx, &c);
    cmd_start(&c, "LLEN");
    arg_index(&c, KEY_NOTIFY_QUEUE_NORMAL, b);
    send_cmd(ctx, &c);
}

/* Sends round trip PHASE of one request; returns how many replies to read
 * (0: the request has no such round trip). */
static int send_phase(redisContext *ctx, op_t *op, int phase) {
    cmd_t c;
    if (phase > 0)
        return scenario == S_PRESENCE && phase == 1 ? presence_details(ctx, op) : 0;
    switch (scenario) {
    case S_HEARTBEAT: zadd_seen(ctx, op); return 1;
    case S_CLIENT:
        cmd_start(&c, "HMGET");
        arg_key(&c, KEY_CLIENT, op->id);
        args(&c, client_fields);
        send_cmd(ctx, &c);
        cmd_start(&c, "ZSCORE");
        arg_key(&c, KEY_CLIENTS_LAST_SEEN, op->id);
        arg_str(&c, op->id);
        send_cmd(ctx, &c);
        return 2;
    case S_IMAGE:
        cmd_start(&c, "HMGET");
        arg_key(&c, KEY_IMAGE, op->id);
        args(&c, image_fields);
        send_cmd(ctx, &c);
        return 1;
    case S_PUT:
        zadd_seen(ctx, op);
        cmd_start(&c, "HINCRBY");
        arg_key(&c, KEY_IMAGE, op->id);
        arg_str(&c, "frame_number");
        arg_str(&c, "1");
        send_cmd(ctx, &c);
        cmd_start(&c, "HSET");
        arg_key(&c, KEY_IMAGE, op->id);
        arg_str(&c, "data");
        arg(&c, (const char *)frame, frame_bytes);
        arg_str(&c, "size");
        arg_fmt(&c, "%lld", (long long)frame_bytes);
        arg_str(&c, "format");
        arg_str(&c, "jpeg");
        arg_str(&c, "timestamp");
        arg_str(&c, op->now);
        arg_str(&c, "etag");
        arg_fmt(&c, "\"%llx\"", op->ms);
        send_cmd(ctx, &c);
        cmd_start(&c, "HSET");
        arg_key(&c, KEY_CLIENT, op->id);
        arg_str(&c, "last_seen");
        arg_str(&c, op->now);
        send_cmd(ctx, &c);
        cmd_start(&c, "HINCRBY");
        arg_key(&c, KEY_STATS, op->id);
        arg_str(&c, "total_frames");
        arg_str(&c, "1");
        send_cmd(ctx, &c);
        return 5;
    case S_PRESENCE: /* each bucket's count and first ids (store/page.c) */
        for (int b = 0; b < STORE_BUCKETS; b++) {
            cmd_start(&c, "ZCOUNT");
            arg_index(&c, KEY_ONLINE_USERS, b);
            arg_fmt(&c, "(%lld", op->ms);
            arg_str(&c, "+inf");
            send_cmd(ctx, &c);
            cmd_start(&c, "ZRANGEBYLEX");
            arg_index(&c, KEY_ONLINE_USERS_BY_ID, b);
            args(&c, (const char *const[]){"-", "+", "LIMIT", "0", NULL});
            arg_fmt(&c, "%lld", list_limit + 1);
            send_cmd(ctx, &c);
        }
        return 2 * STORE_BUCKETS;
    case S_STATS: /* store_stats_get on one server */
        cmd_start(&c, "INFO");
        send_cmd(ctx, &c);
        cmd_start(&c, "DBSIZE");
        send_cmd(ctx, &c);
        for (int b = 0; b < STORE_BUCKETS; b++)
            stats_bucket(ctx, op, b);
        return 2 + 7 * STORE_BUCKETS;
    case S_PING:
        cmd_start(&c, "PING");
        send_cmd(ctx, &c);
        return 1;
    }
    return 0;
}

/* Whether reply J of round trip PHASE says the id is unknown: a bench set-up
 * fault (the data is not where the key builder says). A heartbeat's 0 is not
 * one: the same id twice in one millisecond changes nothing either. */
static bool missing(int phase, int j, const redisReply *r) {
    if (phase > 0 || r->type != REDIS_REPLY_ARRAY)
        return false;
    if (scenario == S_CLIENT && j == 0)
        return r->elements < 2 || r->element[1]->type == REDIS_REPLY_NIL;
    if (scenario == S_IMAGE)
        return r->elements < 5 || r->element[4]->type == REDIS_REPLY_NIL;
    return false;
}

static void new_op(op_t *op, unsigned *seed) {
    snprintf(op->id, sizeof op->id, "%s%05d", id_prefix, (int)(rand_r(seed) % (unsigned)nids));
    op->ms = core_now_ms();
    core_iso8601(op->ms, op->now);
}

static void *worker(void *p) {
    unsigned seed = (unsigned)(uintptr_t)p * 7919u + 1;
    redisContext *c = connect_redis();
    op_t *ops = calloc((size_t)depth, sizeof *ops);
    int *nreplies = calloc((size_t)depth, sizeof *nreplies);
    if (!ops || !nreplies)
        die("out of memory");
    long long done = 0, errors = 0, unchanged = 0;
    while (!atomic_load(&stop)) {
        for (int i = 0; i < depth; i++)
            new_op(&ops[i], &seed);
        for (int phase = 0;; phase++) {
            int sent = 0;
            for (int i = 0; i < depth; i++)
                sent += nreplies[i] = send_phase(c, &ops[i], phase);
            if (sent == 0)
                break;
            for (int i = 0; i < depth; i++) {
                for (int b = 0; b < STORE_BUCKETS; b++)
                    if (ops[i].page[b]) {
                        freeReplyObject(ops[i].page[b]);
                        ops[i].page[b] = NULL;
                    }
                for (int j = 0; j < nreplies[i]; j++) {
                    redisReply *r;
                    if (redisGetReply(c, (void **)&r) != REDIS_OK)
                        die(c->errstr);
                    bool gone = missing(phase, j, r);
                    if (r->type == REDIS_REPLY_ERROR || gone) {
                        if (errors++ == 0)
                            fprintf(stderr, "redisbench: %s: %s\n", scenario_names[scenario],
                                    gone ? "no such id" : r->str);
                    }
                    if (scenario == S_HEARTBEAT && r->type == REDIS_REPLY_INTEGER &&
                        r->integer == 0)
                        unchanged++;
                    if (scenario == S_PRESENCE && phase == 0 && j % 2 == 1 &&
                        r->type == REDIS_REPLY_ARRAY)
                        ops[i].page[j / 2] = r; /* phase 1 names these ids */
                    else
                        freeReplyObject(r);
                }
            }
        }
        done += depth;
    }
    /* most heartbeats unchanged: the ids are not in the index (a set-up fault) */
    if (unchanged * 2 > done) {
        fprintf(stderr, "redisbench: heartbeat: %lld of %lld ZADDs changed nothing\n", unchanged,
                done);
        errors += unchanged;
    }
    atomic_fetch_add(&total_ops, done);
    atomic_fetch_add(&total_errors, errors);
    free(ops);
    free(nreplies);
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
            cmd_start(&cmd, "EVALSHA");
            arg_str(&cmd, s);
            arg_str(&cmd, "5");
            arg_key(&cmd, KEY_CLIENT, id);
            arg_key(&cmd, KEY_IMAGE, id);
            arg_key(&cmd, KEY_CLIENTS, id);
            arg_key(&cmd, KEY_CLIENTS_LAST_SEEN, id);
            arg_key(&cmd, KEY_EVENTS, id); /* each new client is an event (store/events.h) */
            arg_str(&cmd, id);
            arg_str(&cmd, now);
            arg_fmt(&cmd, "%lld", ms);
            arg_str(&cmd, "0");
            arg_str(&cmd, "10000"); /* the retention, EVENTS_RETAIN_PER_BUCKET's default */
            send_cmd(c, &cmd);
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

/* Prints the key name of kind KIND for each id, one a line: what the service
 * names that id's data (the bench builds the peers' URLs from them). */
static int print_keys(const char *kind, const char *prefix, int first, int count) {
    static const struct {
        const char *name;
        store_key_t key;
    } kinds[] = {{"client", KEY_CLIENT},
                 {"image", KEY_IMAGE},
                 {"presence", KEY_PRESENCE},
                 {"lastseen", KEY_CLIENTS_LAST_SEEN}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (strcmp(kind, kinds[k].name) != 0)
            continue;
        for (int i = first; i < first + count; i++) {
            char id[64], key[STORE_KEY_MAX];
            snprintf(id, sizeof id, "%s%05d", prefix, i);
            store_key(key, kinds[k].key, id);
            puts(key);
        }
        return 0;
    }
    die("keys: KIND is client, image, presence or lastseen");
    return 1;
}

int main(int argc, char **argv) {
    int o;
    store_keys_set_prefix(getenv("KEY_PREFIX"));
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
    if (strcmp(argv[optind], "keys") == 0) {
        if (optind + 4 >= argc)
            die("usage: redisbench keys KIND PREFIX FIRST COUNT");
        return print_keys(argv[optind + 1], argv[optind + 2], atoi(argv[optind + 3]),
                          atoi(argv[optind + 4]));
    }
    int found = -1;
    for (int i = 0; i < (int)(sizeof scenario_names / sizeof scenario_names[0]); i++)
        if (strcmp(argv[optind], scenario_names[i]) == 0)
            found = i;
    if (found < 0)
        die("unknown scenario");
    scenario = (scenario_t)found;
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
