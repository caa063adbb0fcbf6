/* Integration harness; see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>

#include "../../core/crc16.h"

void it_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

int it_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Every child ever spawned, so that a failed assertion (which skips the rest
 * of its test) cannot leave a server running after the test binary ends. */
static pid_t children[256];
static int nchildren;

static void kill_children(void) {
    for (int i = 0; i < nchildren; i++) {
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
            waitpid(children[i], NULL, 0);
    }
    nchildren = 0;
}

static pid_t spawn(char *const argv[], char *const envp[], const char *log) {
    static bool registered;
    if (!registered) {
        atexit(kill_children);
        registered = true;
    }
    pid_t pid = fork();
    if (pid > 0 && nchildren < (int)(sizeof children / sizeof children[0]))
        children[nchildren++] = pid;
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (envp)
        execvpe(argv[0], argv, envp);
    else
        execvp(argv[0], argv);
    _exit(127);
}

bool it_cluster_mode(void) {
    const char *m = getenv("IT_REDIS");
    return m && strcmp(m, "cluster") == 0;
}

void it_skip_in_cluster(const char *why) {
    if (!it_cluster_mode())
        return;
    printf("  skipped against a Redis Cluster: %s\n", why);
    fflush(stdout);
    skip();
}

/* The value after --requirepass in r's extra arguments, or NULL. */
static const char *redis_password(const it_redis_t *r) {
    for (int i = 0; r->extra && r->extra[i] && r->extra[i + 1]; i++)
        if (strcmp(r->extra[i], "--requirepass") == 0)
            return r->extra[i + 1];
    return NULL;
}

/* A connection to the one server r (a node, or a standalone server). */
static redisContext *node_connect(const it_redis_t *r) {
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    const char *pw = redis_password(r);
    redisReply *rep = c && pw ? redisCommand(c, "AUTH %s", pw) : NULL;
    if (rep)
        freeReplyObject(rep);
    rep = c && r->db ? redisCommand(c, "SELECT %d", r->db) : NULL;
    if (rep)
        freeReplyObject(rep);
    return c;
}

redisContext *it_redis_connect(const it_redis_t *r) {
    return node_connect(r->cluster ? &r->cluster->nodes[0] : r);
}

/* Runs a formatted command on one server. */
static redisReply *node_formatted(const it_redis_t *r, const char *cmd, size_t len) {
    redisContext *c = node_connect(r);
    if (!c)
        return NULL;
    void *reply = NULL;
    if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK ||
        redisGetReply(c, &reply) != REDIS_OK)
        reply = NULL;
    redisFree(c);
    return reply;
}

static redisReply *cluster_formatted(it_cluster_t *c, const char *cmd, size_t len);

redisReply *it_redis_vcmd(const it_redis_t *r, const char *fmt, va_list ap) {
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len <= 0)
        return NULL;
    redisReply *reply = r->cluster ? cluster_formatted(r->cluster, cmd, (size_t)len)
                                   : node_formatted(r, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return reply;
}

redisReply *it_redis_cmd(const it_redis_t *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = it_redis_vcmd(r, fmt, ap);
    va_end(ap);
    return reply;
}

int it_redis_select(it_redis_t *r, int db) {
    r->db = r->cluster ? 0 : db;
    return r->db;
}

static bool redis_launch(it_redis_t *r) {
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    char *argv[64] = {"redis-server",
                      "--port",
                      port,
                      "--bind",
                      "127.0.0.1",
                      "--dir",
                      r->dir,
                      "--save",
                      "",
                      "--appendonly",
                      "no",
                      "--daemonize",
                      "no",
                      "--enable-debug-command",
                      "local"};
    int n = 15;
    for (int i = 0; r->extra && r->extra[i] && n < 63; i++)
        argv[n++] = (char *)r->extra[i];
    argv[n] = NULL;
    r->pid = spawn(argv, NULL, log);
    for (int i = 0; i < 100; i++) {
        redisReply *rep = it_redis_cmd(r, "PING");
        if (rep) { /* any answer, NOAUTH included, means it is up */
            freeReplyObject(rep);
            return true;
        }
        it_sleep_ms(20);
    }
    return false;
}

/* Starts redis-server on port (a free one when 0) in a fresh temp dir. */
static bool redis_start_at(it_redis_t *r, int port, const char *const *extra) {
    memset(r, 0, sizeof *r);
    r->extra = extra;
    snprintf(r->dir, sizeof r->dir, "%s/rtstate-it-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(r->dir))
        return false;
    r->port = port ? port : it_free_port();
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", r->port);
    return redis_launch(r);
}

static void kill_wait(pid_t pid, int sig) {
    if (pid <= 0)
        return;
    kill(pid, sig);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        it_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void node_kill(it_redis_t *r) {
    kill_wait(r->pid, SIGKILL);
    r->pid = 0;
}

static void node_stop(it_redis_t *r) {
    node_kill(r);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (r->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
}

void it_redis_kill(it_redis_t *r) {
    if (!r->cluster) {
        node_kill(r);
        return;
    }
    for (int i = 0; i < r->cluster->n; i++)
        node_kill(&r->cluster->nodes[i]);
    r->pid = 0;
}

bool it_redis_restart(it_redis_t *r) {
    it_redis_kill(r);
    if (!r->cluster)
        return redis_launch(r);
    /* the same nodes, from their nodes.conf: the same cluster, once they
     * have found each other again */
    it_cluster_t *c = r->cluster;
    for (int i = 0; i < c->n; i++)
        if (!redis_launch(&c->nodes[i]))
            return false;
    r->pid = c->nodes[0].pid;
    return it_cluster_wait(c, 30000);
}

void it_redis_stop(it_redis_t *r) {
    if (r->cluster) {
        it_cluster_stop(r->cluster);
        free(r->cluster);
        r->cluster = NULL;
        r->pid = 0;
        return;
    }
    node_stop(r);
}

/* ---- Redis Cluster ---- */

static const char *const cluster_args[] = {"--cluster-enabled",
                                           "yes",
                                           "--cluster-config-file",
                                           "nodes.conf", /* in the node's --dir */
                                           "--cluster-node-timeout",
                                           "1000",
                                           "--cluster-require-full-coverage",
                                           "no",
                                           NULL};

/* c->args: cluster_args, then extra; a password is also the replicas'
 * password for their masters. */
static void cluster_set_args(it_cluster_t *c, const char *const *extra) {
    int n = 0;
    for (int i = 0; cluster_args[i]; i++)
        c->args[n++] = cluster_args[i];
    for (int i = 0; extra && extra[i] && n < 36; i++) {
        c->args[n++] = extra[i];
        if (strcmp(extra[i], "--requirepass") == 0 && extra[i + 1]) {
            c->args[n++] = extra[++i];
            c->args[n++] = "--masterauth";
            c->args[n++] = extra[i];
        }
    }
    c->args[n] = NULL;
}

/* Whether op (bind: the port is free; connect: something listens) succeeds
 * on 127.0.0.1:port. */
static bool loopback(int port, int (*op)(int, const struct sockaddr *, socklen_t)) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && op(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A port for a cluster node: it and its bus port (+10000) free, both below
 * 32768 (the kernel's ephemeral range starts there by default, so no
 * outgoing connection takes one meanwhile), none of c's nodes using either. */
static int cluster_port(const it_cluster_t *c, int upto) {
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 1000; tries++) {
        int p = 20000 + (int)(rand_r(&seed) % 2700);
        bool taken = false;
        for (int i = 0; i < upto && !taken; i++)
            taken = abs(c->nodes[i].port - p) == 10000 || c->nodes[i].port == p;
        if (!taken && loopback(p, bind) && loopback(p + 10000, bind))
            return p;
    }
    return -1;
}

int it_cluster_node_at(const it_cluster_t *c, int port) {
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].port == port)
            return i;
    return -1;
}

redisReply *it_cluster_node_cmd(const it_cluster_t *c, int i, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = it_redis_vcmd(&c->nodes[i], fmt, ap);
    va_end(ap);
    return r;
}

/* Runs "redis-cli --cluster create" over every node; true when it exits 0. */
static bool cluster_create(const it_cluster_t *c, int replicas) {
    char *argv[IT_CLUSTER_MAX + 12], addr[IT_CLUSTER_MAX][32], reps[8], log[300];
    int n = 0;
    argv[n++] = "redis-cli";
    argv[n++] = "--cluster";
    argv[n++] = "create";
    for (int i = 0; i < c->n; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", c->nodes[i].port);
        argv[n++] = addr[i];
    }
    snprintf(reps, sizeof reps, "%d", replicas);
    argv[n++] = "--cluster-replicas";
    argv[n++] = reps;
    argv[n++] = "--cluster-yes";
    const char *pw = redis_password(&c->nodes[0]);
    if (pw) {
        argv[n++] = "-a";
        argv[n++] = (char *)pw;
        argv[n++] = "--no-auth-warning";
    }
    argv[n] = NULL;
    snprintf(log, sizeof log, "%s/create.log", c->nodes[0].dir);
    pid_t pid = spawn(argv, NULL, log);
    for (int i = 0; i < 6000; i++) { /* a minute at most */
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        it_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return false;
}

/* Whether running node i is ready: the cluster ok and all slots assigned
 * as it sees them; a replica in sync with its master. */
static bool node_ready(const it_cluster_t *c, int i) {
    redisReply *info = it_cluster_node_cmd(c, i, "CLUSTER INFO");
    bool ok = info && info->type == REDIS_REPLY_STRING && strstr(info->str, "cluster_state:ok") &&
              strstr(info->str, "cluster_slots_assigned:16384");
    if (info)
        freeReplyObject(info);
    redisReply *repl = ok ? it_cluster_node_cmd(c, i, "INFO replication") : NULL;
    if (repl && repl->type == REDIS_REPLY_STRING && strstr(repl->str, "role:slave"))
        ok = strstr(repl->str, "master_link_status:up") != NULL;
    if (repl)
        freeReplyObject(repl);
    return ok;
}

bool it_cluster_wait(const it_cluster_t *c, int ms) {
    for (int waited = 0; waited <= ms; waited += 50) {
        bool all = true;
        for (int i = 0; i < c->n && all; i++)
            all = c->nodes[i].pid <= 0 || node_ready(c, i);
        if (all)
            return true;
        it_sleep_ms(50);
    }
    return false;
}

/* it_cluster_start, each node with the extra redis-server arguments. */
static bool cluster_start_with(it_cluster_t *c, int masters, int replicas_per_master,
                               const char *const *extra) {
    memset(c, 0, sizeof *c);
    memset(c->owner, -1, sizeof c->owner);
    cluster_set_args(c, extra);
    int n = masters * (1 + replicas_per_master);
    if (n > IT_CLUSTER_MAX || masters < 3) /* redis-cli wants three masters at least */
        return false;
    size_t used = (size_t)snprintf(c->url, sizeof c->url, "redis://");
    for (int i = 0; i < n; i++) {
        int port = cluster_port(c, i);
        if (port < 0 || !redis_start_at(&c->nodes[i], port, c->args)) {
            c->n = i + 1;
            it_cluster_stop(c);
            return false;
        }
        used += (size_t)snprintf(c->url + used, sizeof c->url - used, "%s127.0.0.1:%d",
                                 i ? "," : "", port);
    }
    c->n = n;
    if (!cluster_create(c, replicas_per_master) || !it_cluster_wait(c, 30000)) {
        fprintf(stderr, "the cluster did not form; see %s/create.log\n", c->nodes[0].dir);
        return false;
    }
    return true;
}

bool it_cluster_start(it_cluster_t *c, int masters, int replicas_per_master) {
    return cluster_start_with(c, masters, replicas_per_master, NULL);
}

void it_cluster_stop(it_cluster_t *c) {
    for (int i = 0; i < c->n; i++)
        node_stop(&c->nodes[i]);
    c->n = 0;
}

void it_cluster_kill(it_cluster_t *c, int i) { node_kill(&c->nodes[i]); }

bool it_cluster_restart(it_cluster_t *c, int i) {
    node_kill(&c->nodes[i]);
    return redis_launch(&c->nodes[i]);
}

bool it_redis_start(it_redis_t *r) { return it_redis_start_with(r, NULL); }

bool it_redis_start_with(it_redis_t *r, const char *const *extra) {
    if (!it_cluster_mode())
        return redis_start_at(r, 0, extra);
    memset(r, 0, sizeof *r);
    it_cluster_t *c = malloc(sizeof *c);
    if (!c || !cluster_start_with(c, 3, 0, extra)) {
        if (c)
            it_cluster_stop(c);
        free(c);
        return false;
    }
    r->cluster = c;
    r->extra = extra;
    r->pid = c->nodes[0].pid;
    r->port = c->nodes[0].port;
    snprintf(r->dir, sizeof r->dir, "%s", c->nodes[0].dir);
    snprintf(r->url, sizeof r->url, "%s/0", c->url);
    return true;
}

/* The first running node, to ask about the cluster. */
static int any_node(const it_cluster_t *c) {
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].pid > 0)
            return i;
    return -1;
}

/* ---- a command on a cluster, routed as a client must ---- */

/* The words of a formatted command (a RESP array of bulk strings), pointing
 * into it. */
#define WORDS_MAX 64
typedef struct {
    int n;
    const char *v[WORDS_MAX];
    size_t len[WORDS_MAX];
} words_t;

static bool split_words(const char *cmd, size_t len, words_t *w) {
    const char *p = cmd, *end = cmd + len;
    char *next;
    if (p >= end || *p != '*')
        return false;
    long n = strtol(p + 1, &next, 10);
    if (n < 1 || n > WORDS_MAX)
        return false;
    w->n = (int)n;
    p = next + 2;
    for (int i = 0; i < w->n; i++) {
        if (p >= end || *p != '$')
            return false;
        long l = strtol(p + 1, &next, 10);
        w->v[i] = next + 2;
        w->len[i] = (size_t)l;
        p = w->v[i] + l + 2;
    }
    return p <= end;
}

static bool word_is(const words_t *w, int i, const char *s) {
    return i < w->n && w->len[i] == strlen(s) && strncasecmp(w->v[i], s, w->len[i]) == 0;
}

/* Which word is the command's key: -1 for a command without one (sent to
 * every master), -2 for SCAN. */
static int key_word(const words_t *w) {
    static const char *const keyless[] = {"FLUSHALL", "FLUSHDB",  "DBSIZE",   "KEYS",    "INFO",
                                          "SAVE",     "BGSAVE",   "CONFIG",   "DEBUG",   "CLIENT",
                                          "ECHO",     "PING",     "SCRIPT",   "ACL",     "AUTH",
                                          "CLUSTER",  "LASTSAVE", "FUNCTION", "MONITOR", NULL};
    for (int i = 0; keyless[i]; i++)
        if (word_is(w, 0, keyless[i]))
            return -1;
    if (word_is(w, 0, "SCAN"))
        return -2;
    if (word_is(w, 0, "EVAL") || word_is(w, 0, "EVALSHA"))
        return w->n > 3 && !(w->len[2] == 1 && w->v[2][0] == '0') ? 3 : -1;
    if (word_is(w, 0, "OBJECT") || word_is(w, 0, "MEMORY"))
        return 2;
    return w->n > 1 ? 1 : -1;
}

/* The masters serving slots, as a running node's CLUSTER SLOTS has them,
 * in the order of c->nodes; returns how many. */
static int cluster_masters(const it_cluster_t *c, int *out) {
    bool is[IT_CLUSTER_MAX] = {0};
    for (int at = 0; at < c->n; at++) {
        if (c->nodes[at].pid <= 0)
            continue;
        redisReply *r = it_cluster_node_cmd(c, at, "CLUSTER SLOTS");
        bool ok = r && r->type == REDIS_REPLY_ARRAY;
        for (size_t i = 0; ok && i < r->elements; i++) {
            redisReply *e = r->element[i];
            int node = e->type == REDIS_REPLY_ARRAY && e->elements >= 3
                           ? it_cluster_node_at(c, (int)e->element[2]->element[1]->integer)
                           : -1;
            if (node >= 0)
                is[node] = true;
        }
        if (r)
            freeReplyObject(r);
        if (ok)
            break;
    }
    int n = 0;
    for (int i = 0; i < c->n; i++)
        if (is[i])
            out[n++] = i;
    return n;
}

/* Loads c->owner from CLUSTER SLOTS. */
static void cluster_load_map(it_cluster_t *c) {
    for (int at = 0; at < c->n; at++) {
        redisReply *r = c->nodes[at].pid > 0 ? it_cluster_node_cmd(c, at, "CLUSTER SLOTS") : NULL;
        bool ok = r && r->type == REDIS_REPLY_ARRAY;
        for (size_t i = 0; ok && i < r->elements; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
                continue;
            int node = it_cluster_node_at(c, (int)e->element[2]->element[1]->integer);
            for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
                __atomic_store_n(&c->owner[s], (signed char)node, __ATOMIC_RELAXED);
        }
        if (r)
            freeReplyObject(r);
        if (ok)
            return;
    }
}

/* A keyed command: to the slot's owner, following MOVED and ASK. */
static redisReply *cluster_keyed(it_cluster_t *c, const char *cmd, size_t len, int slot) {
    int at = __atomic_load_n(&c->owner[slot], __ATOMIC_RELAXED);
    if (at < 0 || c->nodes[at].pid <= 0) {
        cluster_load_map(c);
        at = __atomic_load_n(&c->owner[slot], __ATOMIC_RELAXED);
    }
    bool asking = false;
    for (int hop = 0; at >= 0 && hop < 8; hop++) {
        redisContext *ctx = node_connect(&c->nodes[at]);
        if (!ctx)
            return NULL;
        if (asking)
            redisAppendCommand(ctx, "ASKING");
        redisAppendFormattedCommand(ctx, cmd, len);
        void *got = NULL;
        if (asking && redisGetReply(ctx, &got) == REDIS_OK && got)
            freeReplyObject(got);
        got = NULL;
        if (redisGetReply(ctx, &got) != REDIS_OK)
            got = NULL;
        redisFree(ctx);
        redisReply *r = got;
        bool moved = r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "MOVED ", 6) == 0;
        asking = r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ASK ", 4) == 0;
        if (!moved && !asking)
            return r;
        at = it_cluster_node_at(c, atoi(strrchr(r->str, ':') + 1));
        if (moved)
            __atomic_store_n(&c->owner[slot], (signed char)at, __ATOMIC_RELAXED);
        freeReplyObject(r);
    }
    return NULL;
}

/* Moves b's elements (or text) to the end of a's; b keeps nothing. */
static bool join_replies(redisReply *a, redisReply *b) {
    if (a->type == REDIS_REPLY_ARRAY) {
        redisReply **e = realloc(a->element, (a->elements + b->elements) * sizeof *e + 1);
        if (!e)
            return false;
        memcpy(e + a->elements, b->element, b->elements * sizeof *e);
        a->element = e;
        a->elements += b->elements;
        b->elements = 0;
        return true;
    }
    if (b->len == a->len && memcmp(a->str, b->str, a->len) == 0)
        return true; /* the same answer from every master (ECHO) */
    char *t = realloc(a->str, a->len + b->len + 1);
    if (!t)
        return false;
    memcpy(t + a->len, b->str, b->len + 1);
    a->str = t;
    a->len += b->len;
    return true;
}

/* A command without a key: to every master at once, the answers merged. */
static redisReply *cluster_everywhere(it_cluster_t *c, const char *cmd, size_t len) {
    int m[IT_CLUSTER_MAX], n = cluster_masters(c, m);
    redisContext *ctx[IT_CLUSTER_MAX] = {0};
    redisReply *r[IT_CLUSTER_MAX] = {0};
    bool ok = n > 0;
    for (int i = 0; ok && i < n; i++) {
        ctx[i] = node_connect(&c->nodes[m[i]]);
        ok = ctx[i] && redisAppendFormattedCommand(ctx[i], cmd, len) == REDIS_OK;
        /* written now, so that every master works at once (DEBUG SLEEP) */
        int done = 0;
        while (ok && !done)
            ok = redisBufferWrite(ctx[i], &done) == REDIS_OK;
    }
    for (int i = 0; ok && i < n; i++) {
        void *got = NULL;
        ok = redisGetReply(ctx[i], &got) == REDIS_OK && got;
        r[i] = got;
        ok = ok && r[i]->type != REDIS_REPLY_ERROR && r[i]->type == r[0]->type;
    }
    for (int i = 1; ok && i < n; i++) {
        if (r[0]->type == REDIS_REPLY_INTEGER)
            r[0]->integer += r[i]->integer;
        else if (r[0]->type == REDIS_REPLY_ARRAY || r[0]->type == REDIS_REPLY_STRING)
            ok = join_replies(r[0], r[i]);
    }
    redisReply *out = NULL;
    for (int i = 0; i < n; i++) {
        /* an error answer is the answer; else the first, merged */
        if (!out && r[i] && (r[i]->type == REDIS_REPLY_ERROR || (ok && i == 0)))
            out = r[i];
        else if (r[i])
            freeReplyObject(r[i]);
        if (ctx[i])
            redisFree(ctx[i]);
    }
    return out;
}

/* SCAN over every master in turn: the cursor is "<node's cursor>.<master>". */
static redisReply *cluster_scan(it_cluster_t *c, const words_t *w) {
    int m[IT_CLUSTER_MAX], n = cluster_masters(c, m);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%.*s", (int)(w->n > 1 ? w->len[1] : 0), w->v[1]);
    char *dot = strchr(cursor, '.');
    int at = dot ? atoi(dot + 1) : 0;
    if (dot)
        *dot = '\0';
    if (w->n < 2 || at >= n)
        return NULL;
    const char *argv[WORDS_MAX];
    size_t lens[WORDS_MAX];
    for (int i = 0; i < w->n; i++) {
        argv[i] = w->v[i];
        lens[i] = w->len[i];
    }
    argv[1] = cursor;
    lens[1] = strlen(cursor);
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, w->n, argv, lens);
    redisReply *r = len > 0 ? node_formatted(&c->nodes[m[at]], cmd, (size_t)len) : NULL;
    if (len > 0)
        redisFreeCommand(cmd);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return r;
    redisReply *next = r->element[0];
    char joined[48];
    if (strcmp(next->str, "0") != 0)
        snprintf(joined, sizeof joined, "%s.%d", next->str, at);
    else if (at + 1 < n)
        snprintf(joined, sizeof joined, "0.%d", at + 1);
    else
        snprintf(joined, sizeof joined, "0");
    free(next->str);
    next->str = strdup(joined);
    next->len = strlen(joined);
    return r;
}

static redisReply *cluster_formatted(it_cluster_t *c, const char *cmd, size_t len) {
    words_t w;
    if (!split_words(cmd, len, &w))
        return NULL;
    int k = key_word(&w);
    if (k == -2)
        return cluster_scan(c, &w);
    if (k < 0 || k >= w.n)
        return cluster_everywhere(c, cmd, len);
    return cluster_keyed(c, cmd, len, core_key_slot(w.v[k], w.len[k]));
}

redisReply *it_cluster_cmd(const it_cluster_t *c, const char *fmt, ...) {
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    /* the tests of the cluster itself move slots: the map is read afresh, so
     * that the test's own reads cause no MOVED (the cache is the harness's,
     * not the cluster's state) */
    cluster_load_map((it_cluster_t *)c);
    redisReply *r = len > 0 ? cluster_formatted((it_cluster_t *)c, cmd, (size_t)len) : NULL;
    if (cmd)
        redisFreeCommand(cmd);
    return r;
}

int it_redis_masters(const it_redis_t *r) {
    int m[IT_CLUSTER_MAX];
    return r->cluster ? cluster_masters(r->cluster, m) : 1;
}

redisContext *it_redis_connect_master(const it_redis_t *r, int i) {
    int m[IT_CLUSTER_MAX];
    if (!r->cluster)
        return i == 0 ? node_connect(r) : NULL;
    return i < cluster_masters(r->cluster, m) ? node_connect(&r->cluster->nodes[m[i]]) : NULL;
}

int it_cluster_owner(const it_cluster_t *c, int slot) {
    int at = any_node(c), owner = -1;
    redisReply *r = at >= 0 ? it_cluster_node_cmd(c, at, "CLUSTER SLOTS") : NULL;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 3 && e->element[0]->integer <= slot &&
            slot <= e->element[1]->integer && e->element[2]->type == REDIS_REPLY_ARRAY)
            owner = it_cluster_node_at(c, (int)e->element[2]->element[1]->integer);
    }
    if (r)
        freeReplyObject(r);
    return owner;
}

/* Node i's INFO replication (caller frees), or NULL. */
static redisReply *replication_info(const it_cluster_t *c, int i) {
    redisReply *r = c->nodes[i].pid > 0 ? it_cluster_node_cmd(c, i, "INFO replication") : NULL;
    if (r && r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

/* Node j's INFO replication when it is a running replica of node i (caller
 * frees), else NULL. */
static redisReply *replica_info(const it_cluster_t *c, int j, int i) {
    char want[32];
    snprintf(want, sizeof want, "master_port:%d\r", c->nodes[i].port);
    redisReply *r = j != i ? replication_info(c, j) : NULL;
    if (r && !(strstr(r->str, "role:slave") && strstr(r->str, want))) {
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

int it_cluster_replica_of(const it_cluster_t *c, int i) {
    int found = -1;
    for (int j = 0; j < c->n && found < 0; j++) {
        redisReply *r = replica_info(c, j, i);
        if (r && strstr(r->str, "master_link_status:up"))
            found = j;
        if (r)
            freeReplyObject(r);
    }
    return found;
}

/* The number after "\nname:" in an INFO text, or -1. */
static long long info_num(const char *info, const char *name) {
    char want[64];
    snprintf(want, sizeof want, "\n%s:", name);
    const char *p = info ? strstr(info, want) : NULL;
    return p ? atoll(p + strlen(want)) : -1;
}

/* Whether every running replica of node i (at least one) has processed the
 * stream up to offset. */
static bool replicas_at(const it_cluster_t *c, int i, long long offset) {
    int replicas = 0;
    bool all = true;
    for (int j = 0; j < c->n && all; j++) {
        redisReply *r = replica_info(c, j, i);
        if (r) {
            replicas++;
            all = strstr(r->str, "master_link_status:up") &&
                  info_num(r->str, "slave_repl_offset") >= offset;
            freeReplyObject(r);
        }
    }
    return all && replicas > 0;
}

bool it_cluster_replicated(const it_cluster_t *c, int i, int ms) {
    redisReply *r = replication_info(c, i);
    long long offset = r ? info_num(r->str, "master_repl_offset") : -1;
    if (r)
        freeReplyObject(r);
    for (int waited = 0; offset >= 0 && waited <= ms; waited += 20) {
        if (replicas_at(c, i, offset))
            return true;
        it_sleep_ms(20);
    }
    return false;
}

/* The master of slot in a CLUSTER SLOTS reply, as a node index ("?" when
 * none), into out. */
static void slot_master(const it_cluster_t *c, const redisReply *r, int slot, char out[16]) {
    snprintf(out, 16, "?");
    for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
        const redisReply *e = r->element[k];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 3 && e->element[0]->integer <= slot &&
            slot <= e->element[1]->integer && e->element[2]->type == REDIS_REPLY_ARRAY)
            snprintf(out, 16, "%d", it_cluster_node_at(c, (int)e->element[2]->element[1]->integer));
    }
}

/* it_cluster_describe's line for node i, into out. */
static void describe_node(const it_cluster_t *c, int i, int slot, const char *key, char *out,
                          size_t cap) {
    redisContext *ctx = c->nodes[i].pid > 0 ? node_connect(&c->nodes[i]) : NULL;
    if (!ctx) {
        snprintf(out, cap, "  node %d (port %d): %s\n", i, c->nodes[i].port,
                 c->nodes[i].pid > 0 ? "does not answer" : "not running");
        return;
    }
    redisReply *r[5] = {redisCommand(ctx, "READONLY"), redisCommand(ctx, "EXISTS %s", key),
                        redisCommand(ctx, "DBSIZE"), redisCommand(ctx, "INFO replication"),
                        redisCommand(ctx, "CLUSTER SLOTS")};
    const char *info = r[3] && r[3]->type == REDIS_REPLY_STRING ? r[3]->str : NULL;
    bool replica = info && strstr(info, "role:slave");
    char owner[16], role[64] = "master";
    slot_master(c, r[4], slot, owner);
    if (replica)
        snprintf(role, sizeof role, "replica of node %d (link %s)",
                 it_cluster_node_at(c, (int)info_num(info, "master_port")),
                 strstr(info, "master_link_status:up") ? "up" : "down");
    snprintf(out, cap,
             "  node %d (port %d): %s, replication offset %lld, processed %lld; slot %d's "
             "master: node %s; %s %s; dbsize %lld\n",
             i, c->nodes[i].port, role, info_num(info, "master_repl_offset"),
             replica ? info_num(info, "slave_repl_offset") : info_num(info, "master_repl_offset"),
             slot, owner,
             r[1] && r[1]->type == REDIS_REPLY_INTEGER && r[1]->integer ? "holds" : "lacks", key,
             r[2] && r[2]->type == REDIS_REPLY_INTEGER ? r[2]->integer : -1);
    for (int k = 0; k < 5; k++)
        if (r[k])
            freeReplyObject(r[k]);
    redisFree(ctx);
}

void it_cluster_describe(const it_cluster_t *c, int slot, const char *key, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < c->n && used + 1 < cap; i++) {
        describe_node(c, i, slot, key, out + used, cap - used);
        used += strlen(out + used);
    }
}

bool it_cluster_node_id(const it_cluster_t *c, int i, char out[41]) {
    redisReply *r = it_cluster_node_cmd(c, i, "CLUSTER MYID");
    bool ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;
    if (ok)
        memcpy(out, r->str, 41);
    if (r)
        freeReplyObject(r);
    return ok;
}

/* ---- MongoDB ---- */

static bool mongo_launch(it_mongo_t *m) {
    const char *bin = getenv("MONGO_SERVER_BIN");
    if (!bin || !*bin) {
        fprintf(stderr,
                "MONGO_SERVER_BIN is not set (make test sets it from "
                "scripts/mongo-server.sh)\n");
        return false;
    }
    char port[16], log[300], listen[64], sqlite[300];
    snprintf(port, sizeof port, "%d", m->port);
    snprintf(log, sizeof log, "%s/mongo.log", m->dir);
    snprintf(listen, sizeof listen, "--listen-addr=127.0.0.1:%d", m->port);
    snprintf(sqlite, sizeof sqlite, "--sqlite-url=file:%s/", m->dir);
    char state[300];
    snprintf(state, sizeof state, "--state-dir=%s", m->dir);
    const char *base = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
    if (strcmp(base, "mongod") == 0) {
        char *argv[] = {(char *)bin, "--port", port,      "--bind_ip",      "127.0.0.1",
                        "--dbpath",  m->dir,   "--quiet", "--nounixsocket", NULL};
        m->pid = spawn(argv, NULL, log);
    } else {
        /* --debug-addr=- and --telemetry=disable: no second fixed port, no reporting home */
        char *argv[] = {
            (char *)bin,           "--handler=sqlite", sqlite, state, listen, "--debug-addr=-",
            "--telemetry=disable", "--log-level=warn", NULL};
        m->pid = spawn(argv, NULL, log);
    }
    for (int i = 0; i < 500; i++) {
        if (loopback(m->port, connect))
            return true;
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = 0;
            return false;
        }
        it_sleep_ms(20);
    }
    return false;
}

bool it_mongo_start(it_mongo_t *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "%s/rtstate-mongo-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(m->dir))
        return false;
    m->port = it_free_port();
    snprintf(m->uri, sizeof m->uri, "mongodb://127.0.0.1:%d/rtstate_test", m->port);
    return mongo_launch(m);
}

void it_mongo_kill(it_mongo_t *m) {
    kill_wait(m->pid, SIGKILL);
    m->pid = 0;
}

bool it_mongo_restart(it_mongo_t *m) {
    it_mongo_kill(m);
    return mongo_launch(m);
}

void it_mongo_stop(it_mongo_t *m) {
    it_mongo_kill(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (m->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", m->dir);
}

/* Runs fn on coll with a fresh client; the test's own view of the database. */
static mongoc_collection_t *mongo_coll(const it_mongo_t *m, const char *coll,
                                       mongoc_client_t **client) {
    static bool inited;
    if (!inited) {
        setenv("MONGOC_DISABLE_SHM", "1", 0); /* no /dev/shm file left behind: see mongo/pool.c */
        mongoc_init();
        mongoc_log_set_handler(NULL, NULL); /* FerretDB lacks endSessions: quiet the driver */
        inited = true;
    }
    *client = mongoc_client_new(m->uri);
    return *client ? mongoc_client_get_collection(*client, "rtstate_test", coll) : NULL;
}

long it_mongo_count(const it_mongo_t *m, const char *coll, const char *filter_json) {
    mongoc_client_t *client;
    mongoc_collection_t *c = mongo_coll(m, coll, &client);
    bson_t *filter = bson_new_from_json((const uint8_t *)filter_json, -1, NULL);
    long n = c && filter
                 ? (long)mongoc_collection_count_documents(c, filter, NULL, NULL, NULL, NULL)
                 : -1;
    bson_destroy(filter);
    if (c)
        mongoc_collection_destroy(c);
    if (client)
        mongoc_client_destroy(client);
    return n;
}

char *it_mongo_find_one(const it_mongo_t *m, const char *coll, const char *filter_json) {
    mongoc_client_t *client;
    mongoc_collection_t *c = mongo_coll(m, coll, &client);
    bson_t *filter = bson_new_from_json((const uint8_t *)filter_json, -1, NULL);
    char *out = NULL;
    if (c && filter) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, NULL, NULL);
        const bson_t *doc;
        if (mongoc_cursor_next(cur, &doc)) {
            char *json = bson_as_relaxed_extended_json(doc, NULL);
            out = strdup(json);
            bson_free(json);
        }
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(filter);
    if (c)
        mongoc_collection_destroy(c);
    if (client)
        mongoc_client_destroy(client);
    return out;
}

bool it_mongo_clear(const it_mongo_t *m, const char *coll) {
    mongoc_client_t *client;
    mongoc_collection_t *c = mongo_coll(m, coll, &client);
    bson_t empty = BSON_INITIALIZER;
    bool ok = c && mongoc_collection_delete_many(c, &empty, NULL, NULL, NULL);
    if (c)
        mongoc_collection_destroy(c);
    if (client)
        mongoc_client_destroy(client);
    return ok;
}

bool it_mongo_insert(const it_mongo_t *m, const char *coll, const char *doc_json) {
    mongoc_client_t *client;
    mongoc_collection_t *c = mongo_coll(m, coll, &client);
    bson_error_t e;
    bson_t *doc = bson_new_from_json((const uint8_t *)doc_json, -1, &e);
    bool ok = c && doc && mongoc_collection_insert_one(c, doc, NULL, NULL, &e);
    if (!ok)
        fprintf(stderr, "it_mongo_insert %s: %s\n", coll, e.message);
    bson_destroy(doc);
    if (c)
        mongoc_collection_destroy(c);
    if (client)
        mongoc_client_destroy(client);
    return ok;
}

char *it_mongo_command(const it_mongo_t *m, const char *cmd_json) {
    mongoc_client_t *client;
    mongoc_collection_t *c = mongo_coll(m, "unused", &client);
    bson_error_t e;
    bson_t *cmd = bson_new_from_json((const uint8_t *)cmd_json, -1, &e), reply;
    char *out = NULL;
    if (cmd && client &&
        mongoc_client_command_simple(client, "rtstate_test", cmd, NULL, &reply, &e)) {
        char *json = bson_as_relaxed_extended_json(&reply, NULL);
        out = strdup(json);
        bson_free(json);
    } else {
        fprintf(stderr, "it_mongo_command %s: %s\n", cmd_json, e.message);
    }
    if (cmd)
        bson_destroy(&reply);
    bson_destroy(cmd);
    if (c)
        mongoc_collection_destroy(c);
    if (client)
        mongoc_client_destroy(client);
    return out;
}

bool it_mongo_is_ferretdb(const it_mongo_t *m) {
    char *info = it_mongo_command(m, "{\"buildInfo\": 1}");
    bool ferret = info && strstr(info, "ferretdbVersion");
    free(info);
    return ferret;
}

/* Observations per cell, as read from the observations collection. */
typedef struct {
    char cell[16];
    long count;
    double sum;
} it_cell_t;

static int cmp_it_cell(const void *a, const void *b) {
    return strcmp(((const it_cell_t *)a)->cell, ((const it_cell_t *)b)->cell);
}

/* Reads every observation's cell and quality, summed per cell (sorted). */
static it_cell_t *observed_cells(mongoc_collection_t *obs, long *n) {
    size_t cap = 1024, used = 0;
    it_cell_t *all = malloc(cap * sizeof *all);
    bson_t filter = BSON_INITIALIZER;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(obs, &filter, NULL, NULL);
    const bson_t *doc;
    bson_iter_t it;
    while (all && mongoc_cursor_next(cur, &doc)) {
        if (used == cap) {
            it_cell_t *more = realloc(all, (cap *= 2) * sizeof *all);
            if (!more) {
                free(all);
                all = NULL;
                break;
            }
            all = more;
        }
        it_cell_t *c = &all[used++];
        memset(c, 0, sizeof *c);
        if (bson_iter_init_find(&it, doc, "geohash") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(c->cell, sizeof c->cell, "%s", bson_iter_utf8(&it, NULL));
        c->count = 1;
        if (bson_iter_init_find(&it, doc, "quality") && BSON_ITER_HOLDS_NUMBER(&it))
            c->sum = bson_iter_as_double(&it);
    }
    mongoc_cursor_destroy(cur);
    if (!all)
        return NULL;
    qsort(all, used, sizeof *all, cmp_it_cell);
    size_t k = 0;
    for (size_t i = 0; i < used; i++) {
        if (k > 0 && strcmp(all[k - 1].cell, all[i].cell) == 0) {
            all[k - 1].count++;
            all[k - 1].sum += all[i].sum;
        } else {
            all[k++] = all[i];
        }
    }
    *n = (long)k;
    return all;
}

/* Compares each segment with its cell's observations; marks cells seen
 * (count set to -1). False with why at the first difference. */
static bool compare_segments(mongoc_collection_t *segs, it_cell_t *cells, long n, char *why,
                             size_t cap) {
    bson_t filter = BSON_INITIALIZER;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(segs, &filter, NULL, NULL);
    const bson_t *doc;
    bson_iter_t it;
    bool ok = true;
    while (ok && mongoc_cursor_next(cur, &doc)) {
        it_cell_t key = {.count = 0};
        double count = -1, sum = -1;
        if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(key.cell, sizeof key.cell, "%s", bson_iter_utf8(&it, NULL));
        if (bson_iter_init_find(&it, doc, "count") && BSON_ITER_HOLDS_NUMBER(&it))
            count = bson_iter_as_double(&it);
        if (bson_iter_init_find(&it, doc, "quality_sum") && BSON_ITER_HOLDS_NUMBER(&it))
            sum = bson_iter_as_double(&it);
        it_cell_t *c = bsearch(&key, cells, (size_t)n, sizeof *cells, cmp_it_cell);
        double off = c ? sum - c->sum : 0;
        if (!c || c->count < 0) {
            snprintf(why, cap, "segment %s has no observations", key.cell);
            ok = false;
        } else if (count != (double)c->count || off > 1e-9 || off < -1e-9) {
            snprintf(why, cap, "segment %s: count %g, quality_sum %g; its observations: %ld, %g",
                     key.cell, count, sum, c->count, c->sum);
            ok = false;
        } else {
            c->count = -1;
        }
    }
    mongoc_cursor_destroy(cur);
    for (long i = 0; ok && i < n; i++)
        if (cells[i].count >= 0) {
            snprintf(why, cap, "cell %s has %ld observations and no segment", cells[i].cell,
                     cells[i].count);
            ok = false;
        }
    return ok;
}

bool it_mongo_segments_match(const it_mongo_t *m, long *cells, char *why, size_t cap) {
    mongoc_client_t *client;
    mongoc_collection_t *obs = mongo_coll(m, "observations", &client);
    mongoc_collection_t *segs =
        client ? mongoc_client_get_collection(client, "rtstate_test", "road_segments") : NULL;
    long n = 0;
    it_cell_t *all = obs ? observed_cells(obs, &n) : NULL;
    bool ok = all && compare_segments(segs, all, n, why, cap);
    if (!all)
        snprintf(why, cap, "cannot read the observations");
    if (cells)
        *cells = n;
    free(all);
    if (segs)
        mongoc_collection_destroy(segs);
    if (obs)
        mongoc_collection_destroy(obs);
    if (client)
        mongoc_client_destroy(client);
    return ok;
}

it_mongo_t it_mongo;
static char mongo_uri_env[160];
const char *it_mongo_env[] = {mongo_uri_env, "MONGODB_TIMEOUT_MS=800", NULL};

int it_mongo_group_setup(void **state) {
    if (!it_mongo_start(&it_mongo)) {
        fprintf(stderr, "cannot start the MongoDB-compatible server ($MONGO_SERVER_BIN)\n");
        return -1;
    }
    snprintf(mongo_uri_env, sizeof mongo_uri_env, "MONGODB_URI=%s", it_mongo.uri);
    it_fixture_env = it_mongo_env;
    return it_group_setup(state);
}

int it_mongo_group_teardown(void **state) {
    int rc = it_group_teardown(state);
    it_mongo_stop(&it_mongo);
    return rc;
}

int it_mongo_clear_all(void **state) {
    (void)state;
    for (int i = 0; i < 100 && it_mongo_count(&it_mongo, "segment_queue", "{}") > 0; i++)
        it_sleep_ms(50);
    static const char *const colls[] = {"users", "observations", "road_segments", "segment_queue",
                                        "idempotency"};
    for (size_t i = 0; i < sizeof colls / sizeof colls[0]; i++)
        if (!it_mongo_clear(&it_mongo, colls[i]))
            return -1;
    return 0;
}

void it_mongo_segments_settle(long *cells) {
    char why[256] = "";
    for (int i = 0; i < 100 * it_time_scale(); i++) {
        if (it_mongo_segments_match(&it_mongo, cells, why, sizeof why))
            return;
        it_sleep_ms(50);
    }
    fail_msg("segments do not match their observations 5 s after the write: %s", why);
}

bool it_file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* ---- the service ---- */

static const char *service_bin(void) {
    const char *b = getenv("RTSTATE_BIN");
    return b && *b ? b : "build/rtstate";
}

double it_time_scale(void) {
    const char *v = getenv("RTSTATE_TIME_SCALE");
    double f = v ? atof(v) : 1;
    return f >= 1 ? f : 1;
}

/* The service's argv: the words of RTSTATE_WRAPPER (split at spaces; e.g.
 * "valgrind --leak-check=full"), then the binary. words holds the copy. */
static void service_argv(char **argv, int cap, char *words, size_t wcap) {
    const char *w = getenv("RTSTATE_WRAPPER");
    snprintf(words, wcap, "%s", w ? w : "");
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(words, " ", &save); t && n < cap - 2; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n++] = (char *)service_bin();
    argv[n] = NULL;
}

/* Starts the service (argv: the wrapper's words, the binary, then args)
 * with the environment the tests give it, its output into s->log. */
static void service_spawn(it_service_t *s, const char *redis_url, const char *const *extra,
                          const char *const *args) {
    char port[32], url[300], bind[] = "BIND=127.0.0.1";
    snprintf(port, sizeof port, "PORT=%d", s->port);
    snprintf(url, sizeof url, "REDIS_URL=%s", redis_url);
    char *envp[64];
    int n = 0;
    envp[n++] = port;
    envp[n++] = url;
    bool bind_given = false; /* getenv takes the first: an extra BIND replaces this one */
    for (int i = 0; extra && extra[i]; i++)
        bind_given = bind_given || strncmp(extra[i], "BIND=", 5) == 0;
    if (!bind_given)
        envp[n++] = bind;
    envp[n++] = "THREADS=4";
    /* sanitizer settings reach a sanitized service (make sanitize) */
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char passenv[3][512];
    for (int i = 0; i < 3; i++) {
        if (getenv(passed[i])) {
            snprintf(passenv[i], sizeof passenv[i], "%s=%s", passed[i], getenv(passed[i]));
            envp[n++] = passenv[i];
        }
    }
    for (int i = 0; extra && extra[i] && n < 62; i++)
        envp[n++] = (char *)extra[i];
    const char *path = getenv("PATH");
    char pathenv[4096];
    snprintf(pathenv, sizeof pathenv, "PATH=%s", path ? path : "/usr/bin:/bin");
    envp[n++] = pathenv;
    envp[n] = NULL;
    char *argv[32], words[1024];
    service_argv(argv, 24, words, sizeof words);
    int argc = 0;
    while (argv[argc])
        argc++;
    for (int i = 0; args && args[i] && argc < 31; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    s->pid = spawn(argv, envp, s->log);
}

bool it_service_start(it_service_t *s, const char *redis_url, const char *const *extra) {
    memset(s, 0, sizeof *s);
    s->port = it_free_port();
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof s->log, "%s/rtstate-it-%d.log",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", s->port);
    /* the log is named by port: one left by an earlier run on the same port
     * (a failed test keeps its log) would otherwise be read as this one's */
    unlink(s->log);
    service_spawn(s, redis_url, extra, NULL);
    for (int i = 0; i < 250 * it_time_scale(); i++) {
        it_resp_t r = it_http(s, "GET", "/livez", NULL, NULL, 0);
        long st = r.status;
        it_resp_free(&r);
        if (st == 200)
            return true;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return false;
        }
        it_sleep_ms(20);
    }
    return false;
}

int it_service_run(const char *redis_url, const char *const *env, const char *const *args,
                   char *out, size_t cap) {
    it_service_t s;
    memset(&s, 0, sizeof s);
    s.port = it_free_port(); /* it listens on nothing; the port only names the log */
    snprintf(s.log, sizeof s.log, "%s/rtstate-it-run-%d-%d.log",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), s.port);
    service_spawn(&s, redis_url, env, args);
    int status = -1;
    for (int i = 0; i < 3000 * it_time_scale() && s.pid; i++) {
        if (waitpid(s.pid, &status, WNOHANG) == s.pid)
            s.pid = 0;
        else
            it_sleep_ms(20);
    }
    if (s.pid) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
        status = -1;
    }
    size_t n = 0;
    FILE *f = fopen(s.log, "r");
    if (f) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
    unlink(s.log);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int it_service_stop(it_service_t *s) {
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int status = -1;
    for (int i = 0; i < 1000 * it_time_scale(); i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            /* 0 is a clean stop; a sanitizer or valgrind error exits non-zero */
            if (rc != 0)
                fprintf(stderr, "service exited with %d on SIGTERM; its log: %s\n", rc, s->log);
            return rc;
        }
        it_sleep_ms(10);
    }
    fprintf(stderr, "service did not stop on SIGTERM; killed; its log: %s\n", s->log);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

void it_service_kill(it_service_t *s) {
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* ---- HTTP ---- */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t collect(char *p, size_t size, size_t n, void *userdata) {
    buf_t *b = userdata;
    size_t add = size * n;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

it_resp_t it_http(const it_service_t *s, const char *method, const char *path,
                  const char *const *headers, const void *body, size_t len) {
    it_resp_t out = {0};
    CURL *c = curl_easy_init();
    if (!c)
        return out;
    size_t ulen = strlen(s->base) + strlen(path) + 1; /* any length: tests send 1 MB paths */
    char *url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(c);
        return out;
    }
    snprintf(url, ulen, "%s%s", s->base, path);
    buf_t b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out.seconds);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    out.body = b.data ? b.data : calloc(1, 1);
    out.body_len = b.len;
    out.headers = h.data ? h.data : calloc(1, 1);
    return out;
}

it_resp_t it_json_req(const it_service_t *s, const char *method, const char *path,
                      const char *json) {
    const char *h[] = {"Content-Type: application/json", NULL};
    return it_http(s, method, path, h, json, json ? strlen(json) : 0);
}

void it_resp_free(it_resp_t *r) {
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* The value of the next header line named name at or after *p (its length in
 * *vlen), or NULL; *p moves past that line. */
static const char *next_header(const char **p, const char *name, size_t *vlen) {
    size_t n = strlen(name);
    while (*p && **p) {
        const char *line = *p;
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        *p = eol ? eol + 2 : NULL;
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            *vlen = len - (size_t)(v - line);
            return v;
        }
    }
    return NULL;
}

bool it_header(const it_resp_t *r, const char *name, char *out, size_t cap) {
    const char *p = r->headers;
    size_t vl;
    const char *v = next_header(&p, name, &vl);
    if (!v) {
        if (cap)
            out[0] = '\0';
        return false;
    }
    if (vl >= cap)
        vl = cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return true;
}

int it_header_count(const it_resp_t *r, const char *name) {
    int count = 0;
    size_t vl;
    for (const char *p = r->headers; next_header(&p, name, &vl);)
        count++;
    return count;
}

cJSON *it_body_json(const it_resp_t *r) { return r->body ? cJSON_Parse(r->body) : NULL; }

const char *it_json_str(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double it_json_num(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1e300;
}

void it_assert_problem(const it_resp_t *r, long status, const char *detail_part) {
    char ct[128];
    if (r->status != status)
        fprintf(stderr, "expected %ld, got %ld: %s\n", status, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_true(it_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/problem+json");
    cJSON *j = it_body_json(r);
    assert_non_null(j);
    assert_non_null(it_json_str(j, "type"));
    assert_non_null(it_json_str(j, "title"));
    assert_int_equal((long)it_json_num(j, "status"), status);
    const char *detail = it_json_str(j, "detail");
    assert_non_null(detail);
    if (detail_part && !strstr(detail, detail_part)) {
        fprintf(stderr, "detail '%s' does not mention '%s'\n", detail, detail_part);
        fail();
    }
    cJSON_Delete(j);
}

bool it_is_unavailable(const it_resp_t *r) {
    char ct[64], ra[16];
    if (r->status != 503 || !it_header(r, "Content-Type", ct, sizeof ct) ||
        strcmp(ct, "application/problem+json") != 0 || !it_header(r, "Retry-After", ra, sizeof ra))
        return false;
    cJSON *j = it_body_json(r);
    bool ok = j && (int)it_json_num(j, "status") == 503 && it_json_str(j, "detail");
    cJSON_Delete(j);
    return ok;
}

size_t it_raw_exchange(int port, const void *request, size_t len, char *out, size_t cap,
                       int idle_ms) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    ssize_t sent = send(fd, request, len, MSG_NOSIGNAL);
    (void)sent; /* the server may answer and close before taking it all */
    size_t have = 0;
    for (int waited = 0; have + 1 < cap && waited < idle_ms;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) {
            waited += 50;
            continue;
        }
        ssize_t n = recv(fd, out + have, cap - 1 - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    out[have] = '\0';
    close(fd);
    return have;
}

/* ---- fixture ---- */

it_fixture_t it_fx;
const char *const *it_fixture_env;

/* cmocka 1.1.5 prints a failed group teardown but still exits 0. A service
 * that did not stop cleanly (a sanitizer or valgrind report makes it exit
 * non-zero) must fail the run, so the exit status is corrected at exit. */
static bool teardown_failed;

static void fail_if_teardown_failed(void) {
    if (!teardown_failed)
        return;
    fprintf(stderr, "a group teardown failed (see above): exiting 1\n");
    fflush(NULL);
    kill_children();
    _exit(1);
}

int it_global_setup(void **state) {
    (void)state;
    static bool registered;
    if (!registered)
        registered = atexit(fail_if_teardown_failed) == 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int it_global_teardown(void **state) {
    (void)state;
    curl_global_cleanup();
    return 0;
}

int it_group_setup(void **state) {
    it_global_setup(state);
    if (!it_redis_start(&it_fx.redis)) {
        fprintf(stderr, "cannot start redis-server (is it installed?)\n");
        return -1;
    }
    if (!it_service_start(&it_fx.svc, it_fx.redis.url, it_fixture_env)) {
        fprintf(stderr, "cannot start the service; see %s\n", it_fx.svc.log);
        it_redis_stop(&it_fx.redis);
        return -1;
    }
    return 0;
}

int it_group_teardown(void **state) {
    (void)state;
    int rc = it_service_stop(&it_fx.svc);
    it_redis_stop(&it_fx.redis);
    if (rc != 0)
        teardown_failed = true;
    else
        unlink(it_fx.svc.log);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

int it_flush(void **state) {
    (void)state;
    redisReply *r = it_redis_cmd(&it_fx.redis, "FLUSHALL");
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* ---- key names ---- */

static char key_names[16][STORE_KEY_MAX];
static int key_next;

static char *next_key_buffer(void) {
    char *b = key_names[key_next];
    key_next = (key_next + 1) % 16;
    return b;
}

void it_key_prefix(const char *prefix) { store_keys_set_prefix(prefix); }

const char *it_key(store_key_t k, const char *id) { return it_key2(k, id, ""); }

const char *it_key2(store_key_t k, const char *id, const char *id2) {
    char *b = next_key_buffer();
    store_key2(b, k, id, id2);
    return b;
}

const char *it_index(store_key_t k, int bucket) {
    char *b = next_key_buffer();
    store_key_index(b, k, bucket);
    return b;
}

const char *it_legacy_key(store_legacy_key_t k, const char *id, const char *id2) {
    char *b = next_key_buffer();
    store_legacy_key(b, k, id, id2);
    return b;
}

long long it_index_sum(const it_redis_t *r, const char *cmd, store_key_t k) {
    long long sum = 0;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        redisReply *rep = it_redis_cmd(r, cmd, it_index(k, b));
        if (rep && rep->type == REDIS_REPLY_INTEGER)
            sum += rep->integer;
        else if (rep && rep->type == REDIS_REPLY_STRING)
            sum += atoll(rep->str);
        if (rep)
            freeReplyObject(rep);
    }
    return sum;
}

long long it_state_keys(const it_redis_t *r) {
    redisReply *n = it_redis_cmd(r, "DBSIZE");
    long long keys = n && n->type == REDIS_REPLY_INTEGER ? n->integer : -1;
    if (n)
        freeReplyObject(n);
    for (int b = 0; b < STORE_BUCKETS; b++) {
        redisReply *e = it_redis_cmd(r, "EXISTS %s", it_index(KEY_EVENTS, b));
        keys -= e && e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
        if (e)
            freeReplyObject(e);
    }
    return keys;
}

/* ---- Server-Sent Events ---- */

static int64_t sse_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads what the socket has within timeout_ms into s->raw; false at the
 * end of the stream or on time out with nothing read. */
static bool sse_read(it_sse_t *s, int timeout_ms) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (s->ended || poll(&p, 1, timeout_ms) <= 0)
        return false;
    char buf[16384];
    ssize_t n = recv(s->fd, buf, sizeof buf, 0);
    if (n <= 0) {
        s->ended = true;
        return false;
    }
    s->raw = realloc(s->raw, s->raw_len + (size_t)n + 1);
    memcpy(s->raw + s->raw_len, buf, (size_t)n);
    s->raw_len += (size_t)n;
    s->raw[s->raw_len] = '\0';
    return true;
}

static void sse_consume_raw(it_sse_t *s, size_t n) {
    memmove(s->raw, s->raw + n, s->raw_len - n);
    s->raw_len -= n;
}

static void sse_append_text(it_sse_t *s, const char *p, size_t n) {
    s->text = realloc(s->text, s->text_len + n + 1);
    memcpy(s->text + s->text_len, p, n);
    s->text_len += n;
    s->text[s->text_len] = '\0';
}

/* Moves decoded body bytes from raw to text (chunked or not). */
static void sse_decode(it_sse_t *s) {
    if (!s->chunked) {
        sse_append_text(s, s->raw, s->raw_len);
        s->raw_len = 0;
        return;
    }
    for (;;) {
        if (s->chunk_left < 0) {
            char *eol = s->raw_len ? memmem(s->raw, s->raw_len, "\r\n", 2) : NULL;
            if (!eol)
                return;
            long size = strtol(s->raw, NULL, 16);
            sse_consume_raw(s, (size_t)(eol - s->raw) + 2);
            if (size == 0) {
                s->ended = true;
                return;
            }
            s->chunk_left = size;
        }
        size_t take = s->raw_len < (size_t)s->chunk_left ? s->raw_len : (size_t)s->chunk_left;
        sse_append_text(s, s->raw, take);
        sse_consume_raw(s, take);
        s->chunk_left -= (long)take;
        if (s->chunk_left > 0 || s->raw_len < 2)
            return;
        sse_consume_raw(s, 2); /* the chunk's CRLF */
        s->chunk_left = -1;
    }
}

bool it_sse_open(it_sse_t *s, int port, const char *path, const char *const *headers, int rcvbuf) {
    memset(s, 0, sizeof *s);
    s->chunk_left = -1;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return false;
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n", path);
    for (int i = 0; headers && headers[i]; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    if (send(s->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return false;
    int64_t until = sse_now_ms() + (int64_t)(5000 * it_time_scale());
    char *end = NULL;
    while (!(end = s->raw_len ? memmem(s->raw, s->raw_len, "\r\n\r\n", 4) : NULL)) {
        int left = (int)(until - sse_now_ms());
        if (left <= 0 || !sse_read(s, left))
            return false;
    }
    size_t hl = (size_t)(end - s->raw) + 4;
    snprintf(s->head, sizeof s->head, "%.*s", (int)hl, s->raw);
    s->status = strtol(s->head + 9, NULL, 10);
    s->chunked = strcasestr(s->head, "\r\nTransfer-Encoding: chunked") != NULL;
    sse_consume_raw(s, hl);
    return true;
}

/* One event out of s->text, if a whole one (ended by a blank line) is there. */
static bool sse_parse(it_sse_t *s, it_sse_event_t *ev) {
    for (;;) {
        char *end = s->text_len ? strstr(s->text, "\n\n") : NULL;
        if (!end)
            return false;
        *end = '\0';
        memset(ev, 0, sizeof *ev);
        snprintf(ev->type, sizeof ev->type, "message");
        bool any = false;
        for (char *save = NULL, *line = strtok_r(s->text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == ':') {
                s->comments++;
                continue;
            }
            char *v = strchr(line, ':');
            v = v ? v + 1 + (v[1] == ' ') : line + strlen(line);
            if (strncmp(line, "id:", 3) == 0)
                snprintf(ev->id, sizeof ev->id, "%s", v);
            else if (strncmp(line, "event:", 6) == 0)
                snprintf(ev->type, sizeof ev->type, "%s", v);
            else if (strncmp(line, "retry:", 6) == 0)
                s->retry_ms = strtol(v, NULL, 10);
            else if (strncmp(line, "data:", 5) == 0) {
                free(ev->data);
                ev->data = strdup(v);
            }
            any |= strncmp(line, "data:", 5) == 0;
        }
        size_t used = (size_t)(end - s->text) + 2;
        memmove(s->text, s->text + used, s->text_len - used + 1);
        s->text_len -= used;
        if (any)
            return true;
        free(ev->data);
    }
}

bool it_sse_next(it_sse_t *s, it_sse_event_t *ev, int timeout_ms) {
    int64_t until = sse_now_ms() + (int64_t)(timeout_ms * it_time_scale());
    for (;;) {
        sse_decode(s);
        if (sse_parse(s, ev))
            return true;
        int left = (int)(until - sse_now_ms());
        if (!sse_read(s, left > 0 ? left : 0)) /* with no time left, what is there */
            return false;
    }
}

bool it_sse_wait(it_sse_t *s, const char *type, it_sse_event_t *ev, int timeout_ms) {
    int64_t until = sse_now_ms() + (int64_t)(timeout_ms * it_time_scale());
    while (it_sse_next(s, ev, (int)(until - sse_now_ms()))) {
        if (strcmp(ev->type, type) == 0)
            return true;
        it_sse_event_free(ev);
    }
    return false;
}

void it_sse_event_free(it_sse_event_t *ev) {
    free(ev->data);
    ev->data = NULL;
}

void it_sse_close(it_sse_t *s) {
    if (s->fd >= 0)
        close(s->fd);
    free(s->raw);
    free(s->text);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}
