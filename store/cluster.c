/*
 * Mode detection, the slot map and its watcher; see cluster.h.
 *
 * Locks: detect_lock serialises the one-time detection (other threads do
 * not wait for it: they fail fast); reuse_lock serialises giving a table
 * entry to a new address when the table is full; watch_lock guards the
 * watcher's flags. Commands read the map (owner[]) without any lock.
 */
#include "cluster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/crc16.h"
#include "../core/log.h"
#include "../core/timefmt.h"
#include "reply.h"

#define RETRY_MS 100         /* between detection attempts while nothing answers */
#define REFRESH_MIN_MS 100   /* between two refreshes, however many are asked for */
#define REFRESH_DOWN_MS 250  /* while a node that serves slots is down, or a slot has no owner */
#define REFRESH_IDLE_MS 5000 /* otherwise */

static core_redis_url_t url;
static int timeout_ms;
static atomic_int mode; /* store_mode_t */
static atomic_short owner[CORE_SLOTS];

static pthread_mutex_t detect_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t detect_retry_at; /* monotonic ms; under detect_lock */
static char detect_error[128];  /* why the last detection failed; under detect_lock */
static bool detect_failed;      /* logged once per outage; under detect_lock */
static const char refused[] =
    "REDIS_URL names a database other than 0, but the server is a "
    "Redis Cluster node, which has only database 0";

static pthread_mutex_t reuse_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int last_good = -1; /* the node whose CLUSTER SLOTS was used last */

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static pthread_t watcher;
static bool watching, stopping; /* under watch_lock */
static atomic_bool wanted;

void store_cluster_configure(const core_redis_url_t *u, int t_ms) {
    url = *u;
    timeout_ms = t_ms;
    for (int s = 0; s < CORE_SLOTS; s++)
        atomic_store_explicit(&owner[s], -1, memory_order_relaxed);
    atomic_store(&mode, STORE_MODE_UNKNOWN);
    atomic_store(&last_good, -1);
    atomic_store(&wanted, false);
    pthread_mutex_lock(&detect_lock);
    detect_retry_at = 0;
    detect_failed = false;
    detect_error[0] = '\0';
    pthread_mutex_unlock(&detect_lock);
}

store_mode_t store_cluster_mode(void) {
    return (store_mode_t)atomic_load_explicit(&mode, memory_order_acquire);
}

int store_cluster_owner(int slot) {
    return atomic_load_explicit(&owner[slot], memory_order_relaxed);
}

/* ---- the node table, from the map's side ---- */

/* The index for host:port: found, added, or (table full) an entry that no
 * slot of the map nor of next (the map being built, or NULL) is routed to. */
static int node_for(const char *host, int port, const int16_t *next) {
    int i = store_link_node(host, port);
    if (i >= 0)
        return i;
    pthread_mutex_lock(&reuse_lock);
    i = store_link_node(host, port); /* another thread may have made room meanwhile */
    if (i < 0) {
        bool used[STORE_MAX_NODES] = {false};
        for (int s = 0; s < CORE_SLOTS; s++) {
            int o = store_cluster_owner(s);
            if (o >= 0)
                used[o] = true;
            if (next && next[s] >= 0)
                used[next[s]] = true;
        }
        char why[8];
        int64_t at;
        for (int pass = 0; pass < 2 && i < 0; pass++) /* a node that is not up first */
            for (int j = 0; j < STORE_MAX_NODES && i < 0; j++)
                if (!used[j] &&
                    (pass || store_link_node_state(j, why, sizeof why, &at) != STORE_NODE_UP))
                    i = j;
        if (i >= 0)
            store_link_node_reuse(i, host, port);
    }
    pthread_mutex_unlock(&reuse_lock);
    return i;
}

/* ---- the slot map ---- */

/* The host of an entry of CLUSTER SLOTS (or of a redirect): empty means the
 * host of the node that answered; "?" an endpoint it does not know. */
static bool endpoint_host(const char *s, size_t len, const char *asked, char *out, size_t cap) {
    if (len == 1 && s[0] == '?')
        return false;
    if (len == 0)
        snprintf(out, cap, "%s", asked);
    else
        snprintf(out, cap, "%.*s", (int)len, s);
    return out[0] != '\0';
}

/* Applies a CLUSTER SLOTS reply (asked: the host that answered). False when
 * it routes no slot (a node that has not joined a cluster). */
static bool apply_slots(const redisReply *r, const char *asked) {
    static int16_t next[CORE_SLOTS]; /* only the watcher or the detecting thread applies */
    static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return false;
    pthread_mutex_lock(&apply_lock);
    memset(next, 0xff, sizeof next); /* -1 everywhere */
    int routed = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *m = store_reply_at(e, 2);
        long long lo = store_reply_int(store_reply_at(e, 0), -1);
        long long hi = store_reply_int(store_reply_at(e, 1), -1);
        const redisReply *h = store_reply_at(m, 0);
        long long port = store_reply_int(store_reply_at(m, 1), 0);
        char host[256];
        if (lo < 0 || hi >= CORE_SLOTS || lo > hi || !store_reply_is_str(h) || port <= 0 ||
            port > 65535 || !endpoint_host(h->str, h->len, asked, host, sizeof host))
            continue;
        int node = node_for(host, (int)port, next);
        for (long long s = lo; node >= 0 && s <= hi; s++, routed++)
            next[s] = (int16_t)node;
    }
    int changed = 0;
    for (int s = 0; routed > 0 && s < CORE_SLOTS; s++)
        if (atomic_exchange_explicit(&owner[s], next[s], memory_order_relaxed) != next[s])
            changed++;
    pthread_mutex_unlock(&apply_lock);
    if (changed)
        log_event(LOG_INFO, "redis cluster map: %d slots routed, %d changed owner", routed,
                  changed);
    return routed > 0;
}

int store_cluster_redirect(const char *text, size_t len, int from_node, bool moved) {
    /* "<slot> <host>:<port>"; the host may be an IPv6 address, so the port
     * follows the last ':' */
    char buf[STORE_ADDR_MAX];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *sp = strchr(buf, ' '), *colon = strrchr(buf, ':');
    if (!sp || !colon || colon < sp)
        return -1;
    char *end;
    long slot = strtol(buf, &end, 10), port = strtol(colon + 1, NULL, 10);
    if (end != sp || slot < 0 || slot >= CORE_SLOTS || port <= 0 || port > 65535)
        return -1;
    char asked[256], host[256];
    int asked_port;
    store_link_node_addr(from_node, asked, sizeof asked, &asked_port);
    if (!endpoint_host(sp + 1, (size_t)(colon - sp - 1), asked, host, sizeof host))
        return -1;
    int node = node_for(host, (int)port, NULL);
    if (node >= 0 && moved) {
        atomic_store_explicit(&owner[slot], (int16_t)node, memory_order_relaxed);
        store_cluster_refresh_soon();
    }
    return node;
}

int store_cluster_masters(int *nodes, int cap) {
    if (store_cluster_mode() == STORE_MODE_STANDALONE) {
        if (cap > 0)
            nodes[0] = 0;
        return 1;
    }
    bool serves[STORE_MAX_NODES] = {false};
    for (int s = 0; s < CORE_SLOTS; s++) {
        int o = store_cluster_owner(s);
        if (o >= 0)
            serves[o] = true;
    }
    int n = 0;
    for (int i = 0; i < STORE_MAX_NODES; i++)
        if (serves[i]) {
            if (n < cap)
                nodes[n] = i;
            n++;
        }
    return n;
}

/* ---- asking nodes ---- */

/* Sends the commands (each "WORD WORD") to node over this thread's link and
 * reads their replies into r[] (the caller frees them). False: the node
 * could not be used (r[] all NULL). */
static bool ask_node(int node, int n, const char *const *cmds, redisReply **r) {
    for (int i = 0; i < n; i++)
        r[i] = NULL;
    store_link_t *l = store_link_open(node, timeout_ms);
    if (!l)
        return false;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        store_args_t a;
        store_args_init(&a);
        const char *sp = strchr(cmds[i], ' ');
        store_args_add(&a, cmds[i], sp ? (size_t)(sp - cmds[i]) : strlen(cmds[i]));
        if (sp)
            store_args_str(&a, sp + 1);
        ok = store_link_write(l, &a);
        store_args_free(&a);
    }
    for (int i = 0; i < n && ok; i++)
        ok = store_link_read(l, &r[i]);
    if (!ok) {
        store_link_fail(l, store_link_error(l, "no reply"));
        for (int i = 0; i < n; i++)
            if (r[i]) {
                freeReplyObject(r[i]);
                r[i] = NULL;
            }
        return false;
    }
    store_link_answered(l);
    return true;
}

/* One refresh of the map: the node that answered last, then nodes that are
 * up, then the others, then the seeds. True when a node's map was used. */
static bool refresh(void) {
    static const char *const slots_cmd[] = {"CLUSTER SLOTS"};
    int n = store_link_nodes(), order[STORE_MAX_NODES], k = 0;
    int first = atomic_load(&last_good);
    if (first >= 0)
        order[k++] = first;
    char why[8];
    int64_t at;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if (i != first &&
                (store_link_node_state(i, why, sizeof why, &at) == STORE_NODE_UP) == (pass == 0))
                order[k++] = i;
    for (int i = 0; i < k; i++) {
        redisReply *r;
        char host[256];
        int port;
        if (!ask_node(order[i], 1, slots_cmd, &r))
            continue;
        store_link_node_addr(order[i], host, sizeof host, &port);
        bool ok = apply_slots(r, host);
        freeReplyObject(r);
        if (ok) {
            atomic_store(&last_good, order[i]);
            return true;
        }
    }
    for (int i = 0; i < url.nhosts; i++) {
        const char *why_not;
        redisContext *c =
            store_link_dial(url.hosts[i].host, url.hosts[i].port, timeout_ms, false, &why_not);
        redisReply *r = c ? redisCommand(c, "CLUSTER SLOTS") : NULL;
        bool ok = apply_slots(r, url.hosts[i].host);
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (ok)
            return true;
    }
    return false;
}

/* Whether a slot has no owner, or its owner is down. */
static bool degraded(void) {
    char why[8];
    int64_t at;
    bool down[STORE_MAX_NODES];
    for (int i = 0; i < STORE_MAX_NODES; i++)
        down[i] = i < store_link_nodes() &&
                  store_link_node_state(i, why, sizeof why, &at) == STORE_NODE_DOWN;
    for (int s = 0; s < CORE_SLOTS; s++) {
        int o = store_cluster_owner(s);
        if (o < 0 || down[o])
            return true;
    }
    return false;
}

/* Asks every master that is down whether it answers again (PING), so that
 * health reports the truth even when no command needs it. */
static void probe_down_masters(void) {
    static const char *const ping[] = {"PING"};
    int masters[STORE_MAX_NODES], n = store_cluster_masters(masters, STORE_MAX_NODES);
    char why[8];
    int64_t at;
    for (int i = 0; i < n && i < STORE_MAX_NODES; i++) {
        redisReply *r;
        if (store_link_node_state(masters[i], why, sizeof why, &at) == STORE_NODE_DOWN &&
            ask_node(masters[i], 1, ping, &r))
            freeReplyObject(r);
    }
}

/* ---- the watcher ---- */

static void *watch(void *arg) {
    (void)arg;
    int64_t last = core_mono_ms();
    pthread_mutex_lock(&watch_lock);
    while (!stopping) {
        struct timespec until = core_mono_deadline(degraded() ? REFRESH_DOWN_MS : REFRESH_IDLE_MS);
        while (!stopping && !atomic_load(&wanted))
            if (pthread_cond_timedwait(&watch_cond, &watch_lock, &until) != 0)
                break; /* the period is over */
        if (stopping)
            break;
        pthread_mutex_unlock(&watch_lock);
        int64_t since = core_mono_ms() - last;
        if (since < REFRESH_MIN_MS) {
            struct timespec pause = {0, (long)(REFRESH_MIN_MS - since) * 1000000};
            nanosleep(&pause, NULL);
        }
        atomic_store(&wanted, false);
        probe_down_masters();
        refresh();
        last = core_mono_ms();
        pthread_mutex_lock(&watch_lock);
    }
    pthread_mutex_unlock(&watch_lock);
    store_link_close_thread();
    return NULL;
}

static void start_watcher(void) {
    pthread_mutex_lock(&watch_lock);
    if (!watching) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&watch_cond, &attr);
        pthread_condattr_destroy(&attr);
        stopping = false;
        watching = pthread_create(&watcher, NULL, watch, NULL) == 0;
        if (!watching)
            log_event(LOG_ERROR,
                      "cannot start the redis cluster watcher: the slot map is "
                      "refreshed only when a MOVED reply corrects it");
    }
    pthread_mutex_unlock(&watch_lock);
}

void store_cluster_refresh_soon(void) {
    if (atomic_load_explicit(&wanted, memory_order_relaxed) || atomic_exchange(&wanted, true))
        return;
    pthread_mutex_lock(&watch_lock);
    if (watching)
        pthread_cond_signal(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
}

void store_cluster_stop(void) {
    pthread_mutex_lock(&watch_lock);
    bool was = watching;
    stopping = true;
    if (was)
        pthread_cond_signal(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
    if (!was)
        return;
    pthread_join(watcher, NULL);
    pthread_mutex_lock(&watch_lock);
    watching = false;
    pthread_cond_destroy(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
}

/* ---- detection ---- */

/* What the server at host:port is; the connection c answered INFO. */
static store_status_t learn(redisContext *c, const char *host, int port, const char **why) {
    redisReply *r = redisCommand(c, "INFO cluster");
    if (!r)
        return STORE_UNAVAILABLE;
    bool cluster = store_reply_is_str(r) && strstr(r->str, "cluster_enabled:1");
    if (r->type == REDIS_REPLY_ERROR)
        log_event(LOG_WARN, "redis refused INFO cluster (%.100s): taken as a standalone server",
                  r->str);
    freeReplyObject(r);
    char name[STORE_ADDR_MAX];
    if (!cluster) {
        int node = store_link_node(host, port); /* the first entry: node 0 */
        store_link_node_name(node, name);
        if (url.nhosts > 1)
            log_event(LOG_WARN,
                      "redis %s is not a cluster node: using it alone, not the other "
                      "hosts of REDIS_URL",
                      name);
        log_event(LOG_INFO, "redis %s: a standalone server", name);
        atomic_store_explicit(&mode, STORE_MODE_STANDALONE, memory_order_release);
        return STORE_OK;
    }
    if (url.db != 0) {
        log_event(LOG_ERROR, "%s: every Redis command fails until REDIS_URL is fixed", refused);
        atomic_store_explicit(&mode, STORE_MODE_REFUSED, memory_order_release);
        *why = refused;
        return STORE_ERROR;
    }
    r = redisCommand(c, "CLUSTER SLOTS");
    bool mapped = apply_slots(r, host);
    if (r)
        freeReplyObject(r);
    int masters[1], n = store_cluster_masters(masters, 1);
    log_event(mapped ? LOG_INFO : LOG_WARN, "redis: a cluster (seed %s:%d), %d masters serve slots",
              host, port, n);
    atomic_store_explicit(&mode, STORE_MODE_CLUSTER, memory_order_release);
    start_watcher();
    return STORE_OK;
}

/* Asks the seeds in turn; under detect_lock. */
static store_status_t detect_now(const char **why) {
    int n = url.is_unix ? 1 : url.nhosts;
    for (int i = 0; i < n; i++) {
        const char *host = url.is_unix ? url.path : url.hosts[i].host;
        int port = url.is_unix ? 0 : url.hosts[i].port;
        const char *fail = NULL;
        redisContext *c = store_link_dial(host, port, timeout_ms, false, &fail);
        store_status_t st = c ? learn(c, host, port, why) : STORE_UNAVAILABLE;
        if (!fail && st == STORE_UNAVAILABLE)
            fail = c && c->errstr[0] ? c->errstr : "no answer to INFO";
        if (st == STORE_UNAVAILABLE)
            snprintf(detect_error, sizeof detect_error, "%s%s%s", url.is_unix ? "" : host,
                     url.is_unix ? "" : ": ", fail);
        if (c)
            redisFree(c);
        if (st != STORE_UNAVAILABLE) {
            detect_failed = false;
            return st;
        }
    }
    if (!detect_failed)
        log_event(LOG_WARN, "redis down: %s", detect_error);
    detect_failed = true;
    return STORE_UNAVAILABLE;
}

store_status_t store_cluster_detect(const char **why) {
    static const char *dummy;
    if (!why)
        why = &dummy;
    switch (store_cluster_mode()) {
    case STORE_MODE_STANDALONE:
    case STORE_MODE_CLUSTER: return STORE_OK;
    case STORE_MODE_REFUSED: *why = refused; return STORE_ERROR;
    case STORE_MODE_UNKNOWN: break;
    }
    /* one thread asks; the others fail fast rather than wait for its timeout */
    if (pthread_mutex_trylock(&detect_lock) != 0)
        return STORE_UNAVAILABLE;
    store_status_t st = STORE_UNAVAILABLE;
    if (store_cluster_mode() != STORE_MODE_UNKNOWN) {
        st = store_cluster_mode() == STORE_MODE_REFUSED ? STORE_ERROR : STORE_OK;
        *why = refused;
    } else if (core_mono_ms() >= detect_retry_at) {
        st = detect_now(why);
        if (st == STORE_UNAVAILABLE)
            detect_retry_at = core_mono_ms() + RETRY_MS;
    }
    pthread_mutex_unlock(&detect_lock);
    return st;
}

/* ---- health ---- */

/* The value of "name:" in an INFO-style text, as a number (0 if absent). */
static long info_long(const char *text, const char *name) {
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtol(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

static void take_info(const redisReply *r, store_cluster_info_t *out) {
    if (!store_reply_is_str(r))
        return;
    out->have_info = true;
    const char *st = strstr(r->str, "cluster_state:");
    if (st)
        sscanf(st + 14, "%7[a-z]", out->state);
    out->slots_assigned = info_long(r->str, "cluster_slots_assigned");
    out->slots_ok = info_long(r->str, "cluster_slots_ok");
    out->slots_pfail = info_long(r->str, "cluster_slots_pfail");
    out->slots_fail = info_long(r->str, "cluster_slots_fail");
    out->known_nodes = info_long(r->str, "cluster_known_nodes");
    out->size = info_long(r->str, "cluster_size");
}

/* One line of CLUSTER NODES: "<id> <ip:port@cport[,host]> <flags> ..." */
static void take_node_line(const char *line, size_t len, store_cluster_info_t *out) {
    char addr[STORE_ADDR_MAX], flags[128];
    char copy[512];
    snprintf(copy, sizeof copy, "%.*s", (int)(len < sizeof copy ? len : sizeof copy - 1), line);
    if (sscanf(copy, "%*s %299s %127s", addr, flags) != 2)
        return;
    char *at = strchr(addr, '@'), *colon;
    if (at)
        *at = '\0';
    colon = strrchr(addr, ':');
    if (!colon || colon == addr || strstr(flags, "noaddr"))
        return;
    char name[STORE_ADDR_MAX];
    *colon = '\0';
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(name, sizeof name, "%s%s%s:%s", v6 ? "[" : "", addr, v6 ? "]" : "", colon + 1);
    store_node_info_t *n = NULL;
    for (int i = 0; i < out->nnodes && !n; i++)
        if (strcmp(out->nodes[i].addr, name) == 0)
            n = &out->nodes[i];
    if (!n) {
        if (out->nnodes == STORE_MAX_NODES)
            return;
        n = &out->nodes[out->nnodes++];
        memset(n, 0, sizeof *n);
        snprintf(n->addr, sizeof n->addr, "%s", name);
        n->state = STORE_NODE_UNUSED;
    }
    n->listed = true;
    snprintf(n->role, sizeof n->role, "%s",
             strstr(flags, "master")  ? "master"
             : strstr(flags, "slave") ? "replica"
                                      : "");
    /* "fail" and "fail?" (pfail) as whole flags; "nofailover" is not one */
    char *save = NULL;
    for (char *f = strtok_r(flags, ",", &save); f; f = strtok_r(NULL, ",", &save))
        if (strcmp(f, "fail") == 0 || strcmp(f, "fail?") == 0)
            n->failing = true;
}

static void take_nodes(const redisReply *r, store_cluster_info_t *out) {
    if (!store_reply_is_str(r))
        return;
    for (const char *p = r->str; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        take_node_line(p, len, out);
        p += len + (eol != NULL);
    }
}

/* The table's nodes with this instance's view, and the map's slot counts. */
static void own_view(store_cluster_info_t *out) {
    int count[STORE_MAX_NODES] = {0};
    bool standalone = out->mode == STORE_MODE_STANDALONE;
    for (int s = 0; !standalone && s < CORE_SLOTS; s++) {
        int o = store_cluster_owner(s);
        if (o < 0)
            out->slots_unrouted++;
        else
            count[o]++;
    }
    if (standalone)
        count[0] = CORE_SLOTS;
    out->nnodes = store_link_nodes();
    for (int i = 0; i < out->nnodes; i++) {
        store_node_info_t *n = &out->nodes[i];
        store_link_node_name(i, n->addr);
        n->state = store_link_node_state(i, n->last_error, sizeof n->last_error, &n->failed_at_ms);
        n->slots = count[i];
        if (n->state == STORE_NODE_DOWN)
            out->slots_down += count[i];
        else
            out->slots_up += count[i];
    }
}

/* Before any server answered: the seeds, with the reason detection failed. */
static void seeds_view(store_cluster_info_t *out) {
    int n = url.is_unix ? 1 : url.nhosts;
    pthread_mutex_lock(&detect_lock);
    for (int i = 0; i < n; i++) {
        store_node_info_t *node = &out->nodes[out->nnodes++];
        if (url.is_unix)
            snprintf(node->addr, sizeof node->addr, "%s", url.path);
        else
            snprintf(node->addr, sizeof node->addr, "%s%s%s:%d",
                     strchr(url.hosts[i].host, ':') ? "[" : "", url.hosts[i].host,
                     strchr(url.hosts[i].host, ':') ? "]" : "", url.hosts[i].port);
        node->state = detect_failed ? STORE_NODE_DOWN : STORE_NODE_UNUSED;
        snprintf(node->last_error, sizeof node->last_error, "%s", detect_error);
    }
    pthread_mutex_unlock(&detect_lock);
    out->slots_unrouted = CORE_SLOTS;
}

store_status_t store_cluster_info(store_cluster_info_t *out) {
    memset(out, 0, sizeof *out);
    store_cluster_detect(NULL);
    out->mode = store_cluster_mode();
    if (out->mode == STORE_MODE_UNKNOWN || out->mode == STORE_MODE_REFUSED) {
        seeds_view(out);
        return STORE_UNAVAILABLE;
    }
    own_view(out);
    if (out->mode == STORE_MODE_CLUSTER) {
        static const char *const cmds[] = {"CLUSTER INFO", "CLUSTER NODES"};
        int masters[STORE_MAX_NODES], n = store_cluster_masters(masters, STORE_MAX_NODES);
        for (int i = 0; i < n && i < STORE_MAX_NODES && !out->have_info; i++) {
            redisReply *r[2];
            if (out->nodes[masters[i]].state == STORE_NODE_DOWN ||
                !ask_node(masters[i], 2, cmds, r))
                continue;
            take_info(r[0], out);
            take_nodes(r[1], out);
            freeReplyObject(r[0]);
            freeReplyObject(r[1]);
        }
    }
    bool ok = out->slots_down == 0 && out->slots_unrouted == 0 &&
              (out->mode == STORE_MODE_STANDALONE || (out->have_info && !strcmp(out->state, "ok")));
    return ok ? STORE_OK : STORE_UNAVAILABLE;
}
