/* The reaper; see reaper.h. */
#include "reaper.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "../core/log.h"
#include "../core/timefmt.h"
#include "conn.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* One script call removes at most BATCH clients, and Redis runs nothing else
 * meanwhile: 100 is about 0.7 ms of Redis time (500 was 2.6 ms), so a mass
 * expiry costs the requests that arrive during it well under a millisecond. */
#define BATCH 100

/* KEYS: clients:last_seen, clients, clients:by_id, stats.
 * ARGV: cutoff ms, batch size, client key stem, image key stem.
 * Returns how many clients it removed (at most the batch size). */
static store_script_t reap_clients = STORE_SCRIPT(
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('SREM', KEYS[2], id)\n"
    "  redis.call('ZREM', KEYS[3], id)\n"
    "  redis.call('UNLINK', ARGV[3] .. id, ARGV[4] .. id)\n"
    "end\n"
    "if #ids > 0 then redis.call('HINCRBY', KEYS[4], 'removed_inactive', #ids) end\n"
    "return #ids\n");

/* KEYS: online_users, online_users:by_id. ARGV: now ms, batch size. */
static store_script_t prune_presence = STORE_SCRIPT(
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "end\n"
    "return #ids\n");

/* KEYS: sessions:expiry, sessions:owner. ARGV: now ms, batch size, session
 * stem, heartbeat stem, user-sessions head, tail, region-members head, tail.
 * A session whose key is still there (refreshed by an instance whose clock
 * is behind) is re-indexed by its real TTL instead. The heartbeat key goes
 * too, in case HEARTBEAT_TTL_S outlives SESSION_TTL_S. Returns {examined,
 * pruned}. */
static store_script_t prune_sessions = STORE_SCRIPT(
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "local pruned = 0\n"
    "for _, id in ipairs(ids) do\n"
    "  local pttl = redis.call('PTTL', ARGV[3] .. id)\n"
    "  if pttl > 0 then\n"
    "    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + pttl, id)\n"
    "  elseif pttl == -1 then\n" /* someone made it persistent: nothing will expire */
    "    redis.call('ZREM', KEYS[1], id)\n"
    "  else\n"
    "    local owner = redis.call('HGET', KEYS[2], id) or ''\n"
    "    local user, region = string.match(owner, '^(%S+) ?(%S*)$')\n"
    "    if user then redis.call('SREM', ARGV[5] .. user .. ARGV[6], id) end\n"
    "    if region and region ~= '' then\n"
    "      redis.call('SREM', ARGV[7] .. region .. ARGV[8], id)\n"
    "    end\n"
    "    redis.call('HDEL', KEYS[2], id)\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "    redis.call('DEL', ARGV[4] .. id)\n"
    "    pruned = pruned + 1\n"
    "  end\n"
    "end\n"
    "return {#ids, pruned}\n");

/* KEYS: rooms:expiry, rooms:active. ARGV: now ms, batch size, participants
 * head, tail, typing-index head, tail, messages head, tail. A room whose
 * participants set is still there was kept alive by a clock that is behind:
 * it is re-indexed by its real TTL; one someone made persistent stays listed
 * and is not looked at again. An ended room leaves both indexes, with its
 * typing index and message cache. Its participants' sets of rooms keep an
 * entry that no read shows; each user's next join drops it, or the set's TTL
 * does. Returns {examined, pruned}. */
static store_script_t prune_rooms = STORE_SCRIPT(
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "local pruned = 0\n"
    "for _, id in ipairs(ids) do\n"
    "  local pttl = redis.call('PTTL', ARGV[3] .. id .. ARGV[4])\n"
    "  if pttl > 0 then\n"
    "    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + pttl, id)\n"
    "  elseif pttl == -1 then\n"
    "    redis.call('ZADD', KEYS[1], '+inf', id)\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "    redis.call('ZREM', KEYS[2], id)\n"
    "    redis.call('UNLINK', ARGV[5] .. id .. ARGV[6], ARGV[7] .. id .. ARGV[8])\n"
    "    pruned = pruned + 1\n"
    "  end\n"
    "end\n"
    "return {#ids, pruned}\n");

/* Runs a batch script until a batch comes back short; adds what it removed
 * to *total. A script answers the number it removed, or {examined, removed}
 * when it may look at entries it keeps. */
static store_status_t drain(store_script_t *s, store_args_t *a, int nkeys, long long *total) {
    for (;;) {
        redisReply *r;
        store_status_t st = store_eval(s, nkeys, a, &r);
        if (st != STORE_OK)
            return st;
        bool pair = r->type == REDIS_REPLY_ARRAY;
        long long seen = store_reply_int(pair ? store_reply_at(r, 0) : r, 0);
        long long n = pair ? store_reply_int(store_reply_at(r, 1), 0) : seen;
        freeReplyObject(r);
        *total += n;
        if (seen < BATCH)
            return STORE_OK;
    }
}

/* A name a script builds from the ids it finds: the stem ("client:", to
 * which the id is appended) or, with parts, the head and tail around the id. */
typedef struct {
    store_key_t key;
    bool parts;
} name_t;

/* One step of a pass: a batch script over the expired end of the index that
 * is its first key. Its ARGV are the cutoff (ms): now, or for the clients
 * (by_last_seen) now minus the client timeout; the batch size; then its
 * names, in order. */
typedef struct {
    store_script_t *script;
    bool by_last_seen;
    int nkeys, nnames;
    store_key_t keys[4];
    name_t names[4];
} step_t;

#define NAME(k)                                                                                    \
    { .key = (k), .parts = false }
#define PARTS(k)                                                                                   \
    { .key = (k), .parts = true }
static const step_t steps[] = {
    {.script = &reap_clients,
     .by_last_seen = true,
     .nkeys = 4,
     .keys = {KEY_CLIENTS_LAST_SEEN, KEY_CLIENTS, KEY_CLIENTS_BY_ID, KEY_STATS},
     .nnames = 2,
     .names = {NAME(KEY_CLIENT), NAME(KEY_IMAGE)}},
    {.script = &prune_presence, .nkeys = 2, .keys = {KEY_ONLINE_USERS, KEY_ONLINE_USERS_BY_ID}},
    {.script = &prune_sessions,
     .nkeys = 2,
     .keys = {KEY_SESSIONS_EXPIRY, KEY_SESSIONS_OWNER},
     .nnames = 4,
     .names = {NAME(KEY_SESSION), NAME(KEY_HEARTBEAT), PARTS(KEY_USER_SESSIONS),
               PARTS(KEY_REGION_MEMBERS)}},
    {.script = &prune_rooms,
     .nkeys = 2,
     .keys = {KEY_ROOMS_EXPIRY, KEY_ROOMS_ACTIVE},
     .nnames = 3,
     .names = {PARTS(KEY_ROOM_PARTICIPANTS), PARTS(KEY_ROOM_TYPING), PARTS(KEY_ROOM_MESSAGES)}},
};
#undef NAME
#undef PARTS

/* Runs step until its index has nothing left at or before cutoff_ms; adds
 * what it removed to *total. */
static store_status_t run_step(const step_t *step, int64_t cutoff_ms, long long *total) {
    char names[8][STORE_KEY_MAX];
    store_args_t a;
    store_args_init(&a);
    for (int i = 0; i < step->nkeys; i++)
        store_args_key(&a, step->keys[i], NULL);
    store_args_int(&a, cutoff_ms);
    store_args_int(&a, BATCH);
    int n = 0;
    for (int i = 0; i < step->nnames; i++) {
        if (step->names[i].parts) {
            store_key_parts(step->names[i].key, NULL, names[n], names[n + 1]);
            n += 2;
        } else {
            store_key(names[n++], step->names[i].key, "");
        }
    }
    for (int i = 0; i < n; i++)
        store_args_str(&a, names[i]);
    store_status_t st = drain(step->script, &a, step->nkeys, total);
    store_args_free(&a);
    return st;
}

store_status_t store_reaper_pass(int64_t now_ms, int client_timeout_ms, store_reap_result_t *out) {
    long long *totals[] = {&out->clients_removed, &out->presence_pruned, &out->sessions_pruned,
                           &out->rooms_pruned};
    _Static_assert(sizeof totals / sizeof totals[0] == sizeof steps / sizeof steps[0],
                   "one total per step");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        *totals[i] = 0;
        int64_t cutoff = steps[i].by_last_seen ? now_ms - client_timeout_ms : now_ms;
        store_status_t st = run_step(&steps[i], cutoff, totals[i]);
        if (st != STORE_OK)
            return st;
    }
    return STORE_OK;
}

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping;
static int interval_ms, timeout_ms;

static void *loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec until = core_mono_deadline(interval_ms);
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) != ETIMEDOUT) {
        }
        if (stopping)
            break;
        pthread_mutex_unlock(&lock);
        store_reap_result_t res;
        if (store_reaper_pass(core_now_ms(), timeout_ms, &res) == STORE_OK &&
            res.clients_removed > 0)
            log_event(LOG_INFO, "reaper removed %lld inactive clients", res.clients_removed);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    store_conn_close_thread();
    return NULL;
}

int store_reaper_start(int interval, int client_timeout) {
    interval_ms = interval;
    timeout_ms = client_timeout;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&wake);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    stopping = false;
    int rc = pthread_create(&thread, NULL, loop, NULL);
    running = rc == 0;
    return rc;
}

void store_reaper_stop(void) {
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
