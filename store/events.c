/*
 * Events: the streams' helpers and the pump; see events.h.
 *
 * The pump is one thread with one reader per group of buckets: standalone,
 * one reader for all 16 (one XREAD names the 16 streams); in a cluster one
 * per bucket (XREAD's keys must share a slot), each connected to the
 * master of its bucket's slot. A reader's connection is its own (dialled
 * with store_link_dial, AUTH and SELECT done), never a request's: XREAD
 * BLOCK holds it. Each reader has at most one XREAD in flight; the thread
 * polls the readers' sockets, reads what arrived, hands the entries on, and
 * sends the next XREAD. An error, a reply that does not come within the
 * block time plus REDIS_TIMEOUT_MS, or a MOVED closes the reader's
 * connection; it dials again (looking the bucket's owner up again) after
 * RETRY_MS.
 *
 * Before its first XREAD a reader learns the current end of each of its
 * streams it does not know yet (XREVRANGE + - COUNT 1), so that a position
 * is always a real one: the pump never delivers an entry that was written
 * before it started.
 */
#define _GNU_SOURCE
#include "events.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/crc16.h"
#include "../core/log.h"
#include "../core/timefmt.h"
#include "cluster.h"
#include "conn.h"
#include "link.h"
#include "reply.h"

#define BLOCK_MS 1000 /* XREAD BLOCK: how long a reader waits for news */
#define READ_COUNT 512
#define RETRY_MS 200

static int retain = 10000;
static atomic_ulong read_total;

static int timeout_ms = 500;

void store_events_configure(int retain_per_bucket, int timeout) {
    retain = retain_per_bucket;
    timeout_ms = timeout;
}

void store_events_key(store_args_t *a, const char *id) { store_args_key(a, KEY_EVENTS, id); }

void store_events_index_key(store_args_t *a, int b) { store_args_index(a, KEY_EVENTS, b); }

void store_events_arg(store_args_t *a) { store_args_int(a, retain); }

unsigned long store_events_read_total(void) { return atomic_load(&read_total); }

int store_event_pos_cmp(store_event_pos_t a, store_event_pos_t b) {
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

bool store_event_pos_parse(const char *s, size_t len, store_event_pos_t *out) {
    char buf[48];
    if (!s || len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *dash = strchr(buf, '-'), *end;
    if (!dash || dash == buf || !dash[1])
        return false;
    *dash = '\0';
    errno = 0;
    unsigned long long ms = strtoull(buf, &end, 10);
    if (errno || *end)
        return false;
    unsigned long long seq = strtoull(dash + 1, &end, 10);
    if (errno || *end)
        return false;
    out->ms = ms;
    out->seq = seq;
    return true;
}

static int pos_format(store_event_pos_t p, char *out, size_t cap) {
    return snprintf(out, cap, "%" PRIu64 "-%" PRIu64, p.ms, p.seq);
}

/* Calls fn for every entry of one stream's XRANGE/XREAD entry list, in
 * order; returns the position of the last one (or from, when none). */
static store_event_pos_t each_entry(int b, const redisReply *list, store_event_pos_t from,
                                    store_events_fn fn, void *arg) {
    store_event_pos_t last = from;
    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        const redisReply *e = list->element[i];
        const redisReply *id = store_reply_at(e, 0), *fields = store_reply_at(e, 1);
        store_event_t ev = {.bucket = b};
        if (!store_reply_is_str(id) || !store_event_pos_parse(id->str, id->len, &ev.pos))
            continue;
        for (size_t f = 0; fields && fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
             f += 2) {
            const redisReply *k = fields->element[f], *v = fields->element[f + 1];
            if (!store_reply_is_str(k) || !store_reply_is_str(v) || k->len != 1)
                continue;
            if (k->str[0] == 't') {
                ev.type = v->str;
                ev.type_len = v->len;
            } else if (k->str[0] == 'd') {
                ev.data = v->str;
                ev.data_len = v->len;
            }
        }
        last = ev.pos;
        if (ev.type && ev.data) /* someone else's entry otherwise: skipped, position kept */
            fn(&ev, arg);
    }
    return last;
}

/* ---- the pump ---- */

typedef struct {
    int buckets[STORE_BUCKETS], nbuckets;
    int node;
    redisContext *c;
    bool pending;       /* an XREAD is in flight */
    int64_t sent_ms;    /* when it was sent */
    int64_t retry_ms;   /* do not dial before */
    char down_why[128]; /* logged once per outage */
} reader_t;

static struct {
    pthread_t thread;
    bool running;
    atomic_bool stopping;
    store_events_fn fn;
    void (*sync)(void *);
    void *arg;
    reader_t readers[STORE_BUCKETS];
    int nreaders;
    bool cluster;
    store_event_pos_t pos[STORE_BUCKETS];
    bool known[STORE_BUCKETS];
    int timeout_ms;
} pump;

static pthread_mutex_t vec_lock = PTHREAD_MUTEX_INITIALIZER;
static store_event_vec_t published; /* the positions handed on so far (vec_lock) */
static bool all_known;

static void close_reader(reader_t *r, const char *why) {
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->pending = false;
    r->retry_ms = core_mono_ms() + RETRY_MS;
    if (why && !r->down_why[0]) {
        snprintf(r->down_why, sizeof r->down_why, "%s", why);
        log_event(LOG_WARN, "events: lost the stream of %d bucket(s) from bucket %d: %s",
                  r->nbuckets, r->buckets[0], why);
    }
}

/* The node serving bucket b's stream now, or -1. */
static int node_of(int b) {
    if (!pump.cluster)
        return 0;
    char key[STORE_KEY_MAX];
    size_t n = store_key_index(key, KEY_EVENTS, b);
    return store_cluster_owner(core_key_slot(key, n));
}

/* Learns, on r's fresh connection, the end of each of its streams whose
 * position is not known yet. */
static bool learn_ends(reader_t *r) {
    for (int i = 0; i < r->nbuckets; i++) {
        int b = r->buckets[i];
        if (pump.known[b])
            continue;
        char key[STORE_KEY_MAX];
        size_t n = store_key_index(key, KEY_EVENTS, b);
        const char *argv[] = {"XREVRANGE", key, "+", "-", "COUNT", "1"};
        size_t lens[] = {9, n, 1, 1, 5, 1};
        redisReply *rep = redisCommandArgv(r->c, 6, argv, lens);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            if (rep)
                freeReplyObject(rep);
            return false;
        }
        const redisReply *id = store_reply_at(store_reply_at(rep, 0), 0);
        store_event_pos_t p = {0, 0};
        if (store_reply_is_str(id))
            store_event_pos_parse(id->str, id->len, &p);
        pump.pos[b] = p;
        pump.known[b] = true;
        freeReplyObject(rep);
    }
    return true;
}

static bool dial(reader_t *r) {
    if (core_mono_ms() < r->retry_ms)
        return false;
    int node = node_of(r->buckets[0]);
    if (node < 0) {
        store_cluster_refresh_soon();
        close_reader(r, "no node serves the bucket's slot");
        return false;
    }
    char host[STORE_ADDR_MAX];
    int port;
    store_link_node_addr(node, host, sizeof host, &port);
    const char *why = NULL;
    r->c = store_link_dial(host, port, pump.timeout_ms, !pump.cluster, &why);
    r->node = node;
    if (!r->c || !learn_ends(r)) {
        close_reader(r, why ? why : "no answer");
        if (pump.cluster)
            store_cluster_refresh_soon();
        return false;
    }
    if (r->down_why[0])
        log_event(LOG_INFO, "events: following bucket %d's stream again", r->buckets[0]);
    r->down_why[0] = '\0';
    return true;
}

static bool send_xread(reader_t *r) {
    const char *argv[6 + 2 * STORE_BUCKETS];
    size_t lens[6 + 2 * STORE_BUCKETS];
    char keys[STORE_BUCKETS][STORE_KEY_MAX], ids[STORE_BUCKETS][48], count[16], block[16];
    int argc = 0;
    argv[argc] = "XREAD";
    lens[argc++] = 5;
    argv[argc] = "COUNT";
    lens[argc++] = 5;
    lens[argc] = (size_t)snprintf(count, sizeof count, "%d", READ_COUNT);
    argv[argc++] = count;
    argv[argc] = "BLOCK";
    lens[argc++] = 5;
    lens[argc] = (size_t)snprintf(block, sizeof block, "%d", BLOCK_MS);
    argv[argc++] = block;
    argv[argc] = "STREAMS";
    lens[argc++] = 7;
    for (int i = 0; i < r->nbuckets; i++) {
        lens[argc] = store_key_index(keys[i], KEY_EVENTS, r->buckets[i]);
        argv[argc++] = keys[i];
    }
    for (int i = 0; i < r->nbuckets; i++) {
        lens[argc] = (size_t)pos_format(pump.pos[r->buckets[i]], ids[i], sizeof ids[i]);
        argv[argc++] = ids[i];
    }
    int done = 0;
    if (redisAppendCommandArgv(r->c, argc, argv, lens) != REDIS_OK)
        return false;
    while (!done)
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return false;
    r->pending = true;
    r->sent_ms = core_mono_ms();
    return true;
}

static void publish_positions(void) {
    pthread_mutex_lock(&vec_lock);
    bool all = true;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        published.at[b] = pump.pos[b];
        all &= pump.known[b];
    }
    all_known = all;
    pthread_mutex_unlock(&vec_lock);
}

/* The bucket whose stream key is name, or -1. */
static int bucket_of_key(const redisReply *name) {
    store_key_parsed_t k;
    if (!store_reply_is_str(name) || !store_key_parse(name->str, name->len, &k) ||
        k.kind != KEY_EVENTS)
        return -1;
    return k.bucket;
}

/* One XREAD reply: entries handed on, positions moved. False: r must be
 * closed (an error reply). */
static bool take_reply(reader_t *r, redisReply *rep) {
    r->pending = false;
    if (rep->type == REDIS_REPLY_ERROR) {
        if (strncmp(rep->str, "MOVED ", 6) == 0)
            store_cluster_redirect(rep->str + 6, rep->len - 6, r->node, true);
        else if (pump.cluster)
            store_cluster_refresh_soon();
        close_reader(r, rep->str);
        return false;
    }
    size_t got = 0;
    for (size_t s = 0; rep->type == REDIS_REPLY_ARRAY && s < rep->elements; s++) {
        const redisReply *stream = rep->element[s];
        int b = bucket_of_key(store_reply_at(stream, 0));
        const redisReply *list = store_reply_at(stream, 1);
        if (b < 0 || !list)
            continue;
        got += list->type == REDIS_REPLY_ARRAY ? list->elements : 0;
        pump.pos[b] = each_entry(b, list, pump.pos[b], pump.fn, pump.arg);
    }
    atomic_fetch_add(&read_total, got);
    if (got) {
        publish_positions();
        if (pump.sync)
            pump.sync(pump.arg);
    }
    return true;
}

static void read_ready(reader_t *r) {
    if (redisBufferRead(r->c) != REDIS_OK) {
        close_reader(r, r->c->errstr[0] ? r->c->errstr : "connection lost");
        return;
    }
    void *rep = NULL;
    while (r->c && redisGetReplyFromReader(r->c, &rep) == REDIS_OK && rep) {
        bool ok = take_reply(r, rep);
        freeReplyObject(rep);
        rep = NULL;
        if (!ok)
            return;
    }
    if (r->c && r->c->err)
        close_reader(r, r->c->errstr);
}

static void *pump_main(void *arg) {
    (void)arg;
    struct pollfd fds[STORE_BUCKETS];
    int of[STORE_BUCKETS];
    while (!atomic_load(&pump.stopping)) {
        int n = 0;
        bool learnt = false;
        for (int i = 0; i < pump.nreaders; i++) {
            reader_t *r = &pump.readers[i];
            if (!r->c) {
                if (!dial(r))
                    continue;
                learnt = true;
            }
            if (!r->pending && !send_xread(r)) {
                close_reader(r, "cannot send");
                continue;
            }
            if (core_mono_ms() - r->sent_ms > BLOCK_MS + pump.timeout_ms) {
                close_reader(r, "no answer in time");
                continue;
            }
            fds[n] = (struct pollfd){.fd = r->c->fd, .events = POLLIN};
            of[n++] = i;
        }
        if (learnt) {
            publish_positions();
            if (pump.sync)
                pump.sync(pump.arg);
        }
        int ready = poll(fds, (nfds_t)n, n ? 100 : RETRY_MS / 2);
        for (int j = 0; ready > 0 && j < n; j++)
            if (fds[j].revents)
                read_ready(&pump.readers[of[j]]);
    }
    for (int i = 0; i < pump.nreaders; i++)
        close_reader(&pump.readers[i], NULL);
    return NULL;
}

bool store_events_start(store_events_fn fn, void (*sync)(void *), void *arg,
                        store_event_vec_t *start) {
    pump.fn = fn;
    pump.sync = sync;
    pump.arg = arg;
    pump.timeout_ms = timeout_ms;
    const char *why = NULL;
    store_cluster_detect(&why);
    pump.cluster = store_cluster_mode() == STORE_MODE_CLUSTER;
    pump.nreaders = pump.cluster ? STORE_BUCKETS : 1;
    for (int i = 0; i < pump.nreaders; i++) {
        reader_t *r = &pump.readers[i];
        *r = (reader_t){.nbuckets = pump.cluster ? 1 : STORE_BUCKETS};
        for (int k = 0; k < r->nbuckets; k++)
            r->buckets[k] = pump.cluster ? i : k;
    }
    /* the ends now, through the store, so that a subscriber can start at once */
    store_args_t cmds[STORE_BUCKETS];
    redisReply *reps[STORE_BUCKETS];
    store_status_t each[STORE_BUCKETS];
    for (int b = 0; b < STORE_BUCKETS; b++) {
        store_args_init(&cmds[b]);
        store_args_str(&cmds[b], "XREVRANGE");
        store_events_index_key(&cmds[b], b);
        store_args_str(&cmds[b], "+");
        store_args_str(&cmds[b], "-");
        store_args_str(&cmds[b], "COUNT");
        store_args_str(&cmds[b], "1");
    }
    store_run_each(STORE_BUCKETS, cmds, reps, each);
    for (int b = 0; b < STORE_BUCKETS; b++) {
        store_args_free(&cmds[b]);
        pump.known[b] = each[b] == STORE_OK;
        pump.pos[b] = (store_event_pos_t){0, 0};
        const redisReply *id = store_reply_at(store_reply_at(reps[b], 0), 0);
        if (pump.known[b] && store_reply_is_str(id))
            store_event_pos_parse(id->str, id->len, &pump.pos[b]);
        if (reps[b])
            freeReplyObject(reps[b]);
    }
    publish_positions();
    if (start)
        *start = published;
    atomic_store(&pump.stopping, false);
    pump.running = pthread_create(&pump.thread, NULL, pump_main, NULL) == 0;
    return pump.running;
}

void store_events_stop(void) {
    if (!pump.running)
        return;
    atomic_store(&pump.stopping, true);
    pthread_join(pump.thread, NULL);
    pump.running = false;
}

bool store_events_positions(store_event_vec_t *out) {
    pthread_mutex_lock(&vec_lock);
    *out = published;
    bool all = all_known;
    pthread_mutex_unlock(&vec_lock);
    return all;
}

/* ---- replay ---- */

/* A value of a flat field/value reply (XINFO STREAM), or NULL. */
static const redisReply *field(const redisReply *r, const char *name) {
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (store_reply_is_str(r->element[i]) && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

static store_event_pos_t pos_of(const redisReply *r) {
    store_event_pos_t p = {0, 0};
    if (store_reply_is_str(r))
        store_event_pos_parse(r->str, r->len, &p);
    return p;
}

store_status_t store_events_check(const store_event_vec_t *from, const store_event_vec_t *upto,
                                  store_events_kept_t kept[STORE_BUCKETS]) {
    store_args_t cmds[STORE_BUCKETS];
    redisReply *reps[STORE_BUCKETS];
    int which[STORE_BUCKETS], n = 0;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        kept[b] = STORE_EVENTS_KEPT;
        if (store_event_pos_cmp(from->at[b], upto->at[b]) >= 0)
            continue;
        store_args_init(&cmds[n]);
        store_args_str(&cmds[n], "XINFO");
        store_args_str(&cmds[n], "STREAM");
        store_events_index_key(&cmds[n], b);
        which[n++] = b;
    }
    store_status_t st = n ? store_run_raw(n, cmds, reps) : STORE_OK;
    for (int i = 0; i < n; i++) {
        store_args_free(&cmds[i]);
        if (st != STORE_OK)
            continue;
        int b = which[i];
        const redisReply *r = reps[i];
        store_event_pos_t p = from->at[b];
        if (r->type == REDIS_REPLY_ERROR) { /* no such key: the stream was deleted */
            kept[b] = STORE_EVENTS_LOST;
        } else {
            /* The trim (MAXLEN ~) moves the first entry on; XDEL moves
             * max-deleted-entry-id. Either past p: something after p may be
             * gone. (So is p's own entry when the first is after it: reset,
             * to be sure. A stream deleted and made anew, by a wipe, also
             * starts after p.) */
            store_event_pos_t deleted = pos_of(field(r, "max-deleted-entry-id"));
            store_event_pos_t first = pos_of(field(r, "recorded-first-entry-id"));
            bool from_start = !p.ms && !p.seq; /* the client saw nothing of b */
            long long added = store_reply_int(field(r, "entries-added"), 0);
            long long length = store_reply_int(field(r, "length"), 0);
            if (store_event_pos_cmp(deleted, p) > 0 ||
                (from_start ? added > length : store_event_pos_cmp(first, p) > 0))
                kept[b] = STORE_EVENTS_LOST;
        }
        freeReplyObject(reps[i]);
    }
    return st;
}

typedef struct {
    int b;
    const redisReply *list;
    size_t next;
} cursor_t;

static void one(const store_event_t *ev, void *arg) { *(store_event_t *)arg = *ev; }

store_status_t store_events_range(const store_event_vec_t *from, const store_event_vec_t *upto,
                                  int max_per_bucket, store_events_fn fn, void *arg, bool *more) {
    store_args_t cmds[STORE_BUCKETS];
    redisReply *reps[STORE_BUCKETS];
    int which[STORE_BUCKETS], n = 0;
    *more = false;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        if (store_event_pos_cmp(from->at[b], upto->at[b]) >= 0)
            continue;
        char lo[56], hi[48];
        lo[0] = '(';
        int lolen = 1 + pos_format(from->at[b], lo + 1, sizeof lo - 1);
        int hilen = pos_format(upto->at[b], hi, sizeof hi);
        store_args_init(&cmds[n]);
        store_args_str(&cmds[n], "XRANGE");
        store_events_index_key(&cmds[n], b);
        store_args_copy(&cmds[n], lo, (size_t)lolen);
        store_args_copy(&cmds[n], hi, (size_t)hilen);
        store_args_str(&cmds[n], "COUNT");
        store_args_int(&cmds[n], max_per_bucket + 1);
        which[n++] = b;
    }
    store_status_t st = n ? store_run(n, cmds, reps) : STORE_OK;
    for (int i = 0; i < n; i++)
        store_args_free(&cmds[i]);
    if (st != STORE_OK)
        return st;
    /* merged across buckets by position, so the replay reads like the live stream */
    cursor_t cur[STORE_BUCKETS];
    for (int i = 0; i < n; i++) {
        cur[i] = (cursor_t){which[i], reps[i], 0};
        if (reps[i]->type == REDIS_REPLY_ARRAY && (int)reps[i]->elements > max_per_bucket)
            *more = true;
    }
    for (;;) {
        int best = -1;
        store_event_t ev, best_ev = {0};
        for (int i = 0; i < n; i++) {
            const redisReply *l = cur[i].list;
            while (l->type == REDIS_REPLY_ARRAY && cur[i].next < l->elements &&
                   (int)cur[i].next < max_per_bucket) {
                redisReply tmp = *l;
                tmp.element = &l->element[cur[i].next];
                tmp.elements = 1;
                ev.type = NULL;
                each_entry(cur[i].b, &tmp, from->at[cur[i].b], one, &ev);
                if (ev.type)
                    break;
                cur[i].next++; /* not an event of ours */
            }
            if (l->type != REDIS_REPLY_ARRAY || cur[i].next >= l->elements ||
                (int)cur[i].next >= max_per_bucket)
                continue;
            if (best < 0 || store_event_pos_cmp(ev.pos, best_ev.pos) < 0) {
                best = i;
                best_ev = ev;
            }
        }
        if (best < 0)
            break;
        fn(&best_ev, arg);
        cur[best].next++;
    }
    store_replies_free(n, reps);
    return STORE_OK;
}
