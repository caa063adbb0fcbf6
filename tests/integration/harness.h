/*
 * Integration test harness: real servers, real HTTP. It starts a throwaway
 * redis-server and the real rtstate binary on free loopback ports in a temp
 * dir, talks to the service with libcurl and to Redis with hiredis (to check
 * what was stored), and stops both at the end.
 *
 * The service binary is $RTSTATE_BIN, or build/rtstate, run under
 * $RTSTATE_WRAPPER when set (see it_time_scale).
 */
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../store/keys.h"

struct it_cluster;

/* A Redis the tests run against: one redis-server, or (IT_REDIS=cluster, see
 * it_cluster_mode) a Redis Cluster of three masters standing in for it, so
 * that every test runs unchanged against both. For a cluster, port, dir and
 * pid are the first node's, url names every master (a REDIS_URL the service
 * takes), and the it_redis_* calls below act on the whole cluster: a command
 * goes to the master of its key's slot, a command without a key to every
 * master (see it_redis_cmd), kill and restart take every node. */
typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char url[160];              /* redis://127.0.0.1:PORT/0, or every master's host:port then /0 */
    const char *const *extra;   /* more redis-server arguments, NULL-terminated */
    int db;                     /* the database the harness's commands use (it_redis_select) */
    struct it_cluster *cluster; /* the cluster this stands for, or NULL */
} it_redis_t;

/* A MongoDB-compatible server: $MONGO_SERVER_BIN (a mongod, or FerretDB on
 * SQLite, as scripts/mongo-server.sh picks), data in a temp dir. */
typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char uri[96]; /* mongodb://127.0.0.1:PORT/rtstate_test */
} it_mongo_t;

typedef struct {
    pid_t pid;
    int port;
    char base[64]; /* http://127.0.0.1:PORT */
    char log[300];
} it_service_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated (binary bodies too: body_len counts) */
    size_t body_len;
    char *headers; /* raw header block */
    double seconds;
} it_resp_t;

/* A free TCP port on 127.0.0.1. */
int it_free_port(void);

/* True when IT_REDIS=cluster: it_redis_start (and so every test group's
 * fixture) starts a three-master Redis Cluster instead of one server. */
bool it_cluster_mode(void);
/* In cluster mode, skips the running test (cmocka's skip) after printing
 * why it cannot apply to a cluster; does nothing otherwise. */
void it_skip_in_cluster(const char *why);

/* Starts redis-server on a free port in a fresh temp dir; waits for PING.
 * In cluster mode, a three-master cluster (it_cluster_start), each node run
 * with the same extra arguments. */
bool it_redis_start(it_redis_t *r);
/* Same, with more redis-server arguments (NULL-terminated, must outlive r).
 * With --requirepass, the harness's own connections authenticate. */
bool it_redis_start_with(it_redis_t *r, const char *const *extra);
/* Kills it (SIGKILL; a cluster: every node) without removing its dir:
 * it_redis_restart brings it back. */
void it_redis_kill(it_redis_t *r);
/* Kills it and removes its dir (a cluster: every node's). */
void it_redis_stop(it_redis_t *r);
/* Stops and starts it again on the same port (same data dir, nothing saved
 * but what SAVE wrote). A cluster: every node, then waits until it serves
 * every slot again. */
bool it_redis_restart(it_redis_t *r);
/* Makes the harness's commands on r use database db, and returns the
 * database a test should name in a URL: db for a server, 0 for a cluster
 * (which has no other). */
int it_redis_select(it_redis_t *r, int db);
/* A new hiredis connection to it (a cluster: to its first node; AUTH and
 * SELECT done as set up), caller frees with redisFree. */
redisContext *it_redis_connect(const it_redis_t *r);
/* How many masters hold its keys (1 for a server), and a connection to
 * master i (0 .. n - 1) as it_redis_connect makes them: for what must watch
 * every master (MONITOR). */
int it_redis_masters(const it_redis_t *r);
redisContext *it_redis_connect_master(const it_redis_t *r, int i);
/* Runs a command on a fresh connection and returns the reply (caller frees;
 * NULL when it could not be run). On a cluster, a command with a key goes to
 * the master of the key's slot (following MOVED and ASK); one without a key
 * (FLUSHALL, DBSIZE, KEYS, INFO, CONFIG, DEBUG, CLIENT, SAVE, ACL ...) to
 * every master at once, and the answers are merged: integers added, arrays
 * joined, different strings joined (INFO: the masters' texts one after
 * another), else the first; any error or missing answer wins. SCAN walks the
 * masters one after another behind one cursor ("<cursor>.<master>" until the
 * last, then "0"). */
redisReply *it_redis_cmd(const it_redis_t *r, const char *fmt, ...);
redisReply *it_redis_vcmd(const it_redis_t *r, const char *fmt, va_list ap);

/* Key names, from store/keys.c itself (tests never spell one out): under
 * the prefix of it_key_prefix ("" until set; set it to the KEY_PREFIX the
 * service under test runs with). Each answer is a static buffer, one of 16
 * used in turn: a call may use up to 16 names at once. */
void it_key_prefix(const char *prefix);
const char *it_key(store_key_t k, const char *id);                   /* store_key */
const char *it_key2(store_key_t k, const char *id, const char *id2); /* store_key2 */
const char *it_index(store_key_t k, int bucket);                     /* store_key_index */
/* The name the layout before buckets gave key k (store_legacy_key). */
const char *it_legacy_key(store_legacy_key_t k, const char *id, const char *id2);
/* The sum over the 16 buckets of index k of what cmd ("ZCARD %s", "HGET %s
 * total_frames": one %s, the key) answers (an integer, or a string holding
 * one; nil counts 0), on Redis r. */
long long it_index_sum(const it_redis_t *r, const char *cmd, store_key_t k);

/* DBSIZE of Redis r without the event streams (events:{<tag>}, one per
 * bucket, KEY_EVENTS): the keys the state itself takes. The streams are
 * bounded by their MAXLEN, and test_events.c checks them. */
long long it_state_keys(const it_redis_t *r);

/* A Redis Cluster on loopback: masters * (1 + replicas) redis-servers, each
 * in a temp dir of its own, on ports below the ephemeral range whose port +
 * 10000 (the cluster bus) is free too, made a cluster by `redis-cli
 * --cluster create`. Nodes run with --cluster-node-timeout 1000 (a failure
 * is noticed within about a second) and --cluster-require-full-coverage no
 * (the slots of the other masters keep being served while one master is
 * down: the setting a deployment wants, see README). */
#define IT_CLUSTER_MAX 12
typedef struct it_cluster {
    int n;
    it_redis_t nodes[IT_CLUSTER_MAX];
    char url[IT_CLUSTER_MAX * 24]; /* redis://127.0.0.1:P1,127.0.0.1:P2,... (every node) */
    const char *args[40];          /* every node's extra redis-server arguments */
    signed char owner[16384];      /* slot -> node, as last learnt (-1: ask) */
} it_cluster_t;

/* Starts the nodes, creates the cluster, waits for it (it_cluster_wait). */
bool it_cluster_start(it_cluster_t *c, int masters, int replicas_per_master);
/* Kills every node and removes their dirs. */
void it_cluster_stop(it_cluster_t *c);
/* Kills node i (SIGKILL), keeping its dir and nodes.conf. */
void it_cluster_kill(it_cluster_t *c, int i);
/* Starts node i again on its port with its nodes.conf: it rejoins. */
bool it_cluster_restart(it_cluster_t *c, int i);
/* Waits up to ms for every running node to say cluster_state:ok with all
 * 16384 slots assigned, and every running replica's link to its master to
 * be up. (Up is not caught up: after a full sync a master holds its stream
 * back until the replica's first REPLCONF ACK it sees once the sync is
 * done, which can be the replica's next once-a-second ACK; see
 * it_cluster_replicated.) */
bool it_cluster_wait(const it_cluster_t *c, int ms);
/* Runs a command on the cluster, following MOVED and ASK as a client
 * must (the test's own view of what is stored); caller frees the reply. */
redisReply *it_cluster_cmd(const it_cluster_t *c, const char *fmt, ...);
/* Runs a command on node i only; caller frees the reply. */
redisReply *it_cluster_node_cmd(const it_cluster_t *c, int i, const char *fmt, ...);
/* The index of the node listening on port, or -1. */
int it_cluster_node_at(const it_cluster_t *c, int port);
/* The index of the master serving slot (as a running node sees it), or -1. */
int it_cluster_owner(const it_cluster_t *c, int slot);
/* The index of a replica of node i whose link to it is up, or -1. */
int it_cluster_replica_of(const it_cluster_t *c, int i);
/* Waits up to ms until every running replica of node i (at least one) has
 * processed the replication stream node i had written when called (its
 * master_repl_offset then): a failover to any of them keeps every write
 * node i acknowledged before the call. (WAIT on a connection of the test's
 * own cannot say that: it waits for that connection's writes only, so with
 * none it answers at once, whatever the replicas have.) */
bool it_cluster_replicated(const it_cluster_t *c, int i, int ms);
/* For a failure message: a line per node into out (cap bytes): its role,
 * its replication offsets and link, the master of slot as it sees it, and
 * whether it holds key (asked with READONLY, so a replica answers too). */
void it_cluster_describe(const it_cluster_t *c, int slot, const char *key, char *out, size_t cap);
/* Node i's id (CLUSTER MYID) into out (41 bytes). */
bool it_cluster_node_id(const it_cluster_t *c, int i, char out[41]);

/* Starts the server on a free port; waits until it accepts connections. */
bool it_mongo_start(it_mongo_t *m);
/* Kills it, keeping its data: it_mongo_restart brings it back on the same port. */
void it_mongo_kill(it_mongo_t *m);
bool it_mongo_restart(it_mongo_t *m);
/* Kills it and removes its data. */
void it_mongo_stop(it_mongo_t *m);
/* Documents in collection coll matching filter (extended JSON; "{}" for all), or -1. */
long it_mongo_count(const it_mongo_t *m, const char *coll, const char *filter_json);
/* The first matching document as relaxed extended JSON (caller frees), or NULL. */
char *it_mongo_find_one(const it_mongo_t *m, const char *coll, const char *filter_json);
/* Deletes every document of coll (indexes stay). */
bool it_mongo_clear(const it_mongo_t *m, const char *coll);
/* Inserts one document given as extended JSON, as another tool would. */
bool it_mongo_insert(const it_mongo_t *m, const char *coll, const char *doc_json);
/* Runs a database command given as extended JSON; the reply as relaxed
 * extended JSON (caller frees), or NULL with the error on stderr. */
char *it_mongo_command(const it_mongo_t *m, const char *cmd_json);
/* True when the server is FerretDB (its buildInfo says so), not mongod. */
bool it_mongo_is_ferretdb(const it_mongo_t *m);
/* The road-segment invariant, read from both collections: every cell that
 * holds observations has a segment whose count and quality_sum are those of
 * its observations, and no segment has none. On false, why says the first
 * difference. *cells (may be NULL) is how many cells hold observations. */
bool it_mongo_segments_match(const it_mongo_t *m, long *cells, char *why, size_t cap);

/* The fixture of the persistence suites: one MongoDB-compatible server
 * (it_mongo), then it_group_setup with it_mongo_env: MONGODB_URI and
 * MONGODB_TIMEOUT_MS=800 (NULL-terminated; for more services against it). */
extern it_mongo_t it_mongo;
extern const char *it_mongo_env[];
int it_mongo_group_setup(void **state);
int it_mongo_group_teardown(void **state);
/* Per test: lets the segment aggregator finish what the last test left (up
 * to 5 s: its queue empties at the end of a pass, so no pass writes after
 * the wipe), then empties every collection the service writes. */
int it_mongo_clear_all(void **state);
/* Waits up to the documented 5 s until it_mongo_segments_match holds, and
 * fails the test with the difference otherwise. *cells (may be NULL): see
 * it_mongo_segments_match. */
void it_mongo_segments_settle(long *cells);

/* True when a line of the file at path contains needle. */
bool it_file_contains(const char *path, const char *needle);

/* Starts the service against redis_url with extra environment entries
 * ("NAME=value", NULL-terminated list, may be NULL); waits for /livez. It
 * listens on 127.0.0.1 unless an entry sets BIND. */
bool it_service_start(it_service_t *s, const char *redis_url, const char *const *env);
/* Runs the service binary to its end with the arguments args (NULL-
 * terminated, after the binary's name) and the environment of
 * it_service_start; its output (stdout and stderr) goes into out (cap bytes,
 * NUL-terminated). Returns the exit status, or -1 when it did not exit
 * within 60 s (it is killed). */
int it_service_run(const char *redis_url, const char *const *env, const char *const *args,
                   char *out, size_t cap);
/* SIGTERM, waits; returns the exit status (or -1). 0 is a clean stop. */
int it_service_stop(it_service_t *s);
/* SIGKILL, as a crash: nothing runs after it. */
void it_service_kill(it_service_t *s);
/* RTSTATE_WRAPPER="valgrind ..." runs the service under that command (make
 * valgrind); RTSTATE_TIME_SCALE (>= 1, default 1) says how much slower it then
 * is: start/stop waits, and tests' own time bounds, are multiplied by it. */
double it_time_scale(void);

/* One request. headers: NULL-terminated "Name: value" list or NULL. */
it_resp_t it_http(const it_service_t *s, const char *method, const char *path,
                  const char *const *headers, const void *body, size_t len);
/* Shorthand: JSON body with Content-Type: application/json (body may be NULL). */
it_resp_t it_json_req(const it_service_t *s, const char *method, const char *path,
                      const char *json);
void it_resp_free(it_resp_t *r);

/* Raw bytes, for what libcurl will not send (bytes >= 0x80 or ESC in a method,
 * malformed framing): sends len bytes on a new connection to 127.0.0.1:port
 * and reads the answer into out (cap - 1 bytes at most, NUL-terminated) until
 * the server closes the connection or idle_ms pass with nothing to read.
 * Returns the bytes read. */
size_t it_raw_exchange(int port, const void *request, size_t len, char *out, size_t cap,
                       int idle_ms);

/* A response header's value (case-insensitive name), copied into out. */
bool it_header(const it_resp_t *r, const char *name, char *out, size_t cap);
/* How many header lines the response has with this name (case-insensitive):
 * a browser refuses some headers when they come twice. */
int it_header_count(const it_resp_t *r, const char *name);
/* The body parsed as JSON (caller frees), or NULL. */
cJSON *it_body_json(const it_resp_t *r);

/* Asserts the response is problem+json with the given status, the four
 * RFC 9457 members, and a detail containing detail_part (if not NULL). */
void it_assert_problem(const it_resp_t *r, long status, const char *detail_part);

/* True when r is the 503 the API promises when a store is unavailable:
 * problem+json (status 503, a detail) with Retry-After. */
bool it_is_unavailable(const it_resp_t *r);

/* JSON helpers for assertions. */
const char *it_json_str(const cJSON *o, const char *name);
double it_json_num(const cJSON *o, const char *name);

/* Sleeps ms milliseconds. */
void it_sleep_ms(int ms);

/* A Server-Sent Events subscriber (GET /events) on a raw socket, HTTP/1.1
 * with its chunked body decoded: what a browser's EventSource reads. */
typedef struct {
    int fd;
    long status;
    char head[4096]; /* the status line and headers */
    char *raw;       /* bytes read, not yet decoded */
    size_t raw_len;
    char *text; /* decoded body not yet parsed into events */
    size_t text_len;
    long chunk_left;     /* bytes of the current chunk still to come; -1: a size line */
    bool chunked, ended; /* ended: the server closed the stream */
    int comments;        /* comment lines (": ping") seen */
    long retry_ms;       /* the last retry: field, 0 none */
} it_sse_t;

typedef struct {
    char id[512];  /* "" when the event had none */
    char type[64]; /* "message" when it had no event: field */
    char *data;    /* owned: it_sse_event_free */
} it_sse_event_t;

/* Opens a stream: GET path with headers (NULL-terminated "Name: value", may
 * be NULL) on 127.0.0.1:port, and reads the response head (up to 5 s). True
 * when a head came; s->status and s->head tell which. rcvbuf > 0 sets the
 * socket's receive buffer first (a client that reads slowly). */
bool it_sse_open(it_sse_t *s, int port, const char *path, const char *const *headers, int rcvbuf);
/* The next event, waiting up to timeout_ms: true with *ev filled, false on
 * time out or the end of the stream (s->ended). */
bool it_sse_next(it_sse_t *s, it_sse_event_t *ev, int timeout_ms);
/* Waits up to timeout_ms for the next event of type (others are skipped
 * and freed); true when it came. */
bool it_sse_wait(it_sse_t *s, const char *type, it_sse_event_t *ev, int timeout_ms);
void it_sse_event_free(it_sse_event_t *ev);
void it_sse_close(it_sse_t *s);

/* Shared cmocka fixture: one redis + one service per test group, with extra
 * service environment from it_fixture_env (NULL-terminated, set before the
 * group runs). it_fx is the running fixture. */
typedef struct {
    it_redis_t redis;
    it_service_t svc;
} it_fixture_t;
extern it_fixture_t it_fx;
extern const char *const *it_fixture_env;
int it_group_setup(void **state);
/* For groups that run their own servers: library set-up only. */
int it_global_setup(void **state);
int it_global_teardown(void **state);
int it_group_teardown(void **state);
/* Per-test: FLUSHALL, so each test starts from an empty Redis. */
int it_flush(void **state);

#endif
