/* The reaper; see reaper.h. */
#include "reaper.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/timefmt.h"
#include "batch.h"
#include "conn.h"
#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"
#include "sessions.h"

/* A pass sends its script calls in rounds, one round trip each, and Redis
 * runs nothing else while it works through one. The first round asks every
 * step of every bucket for one entry (what a pass costs when little has
 * expired: one round trip); each later round sends at most ROUND_CALLS of
 * the calls still to do, sharing ROUND_BUDGET entries among them (a call
 * that comes back full is to do again). 16 removals and 4 calls are about
 * 0.15 ms of Redis time: a request that arrives during a mass expiry waits
 * at most that long behind the reaper (a round of 16 buckets x 100, as
 * before, held Redis for about 11 ms). */
#define ROUND_BUDGET 16
#define ROUND_CALLS 4

/* Every step runs per bucket (keys.h): its index of bucket b, and the keys
 * of the things in it, which are bucket b's too, so each script is atomic
 * on one slot, and two instances never remove or count one thing twice.
 * So each expiry is announced once, by the script that removes it: its
 * last key is the bucket's event stream (store/events.h).
 * ARGV: the cutoff (ms), the batch size, then the step's names (heads and
 * tails of per-id keys in bucket b), then the retention. */

/* KEYS: clients:last_seen:{b}, clients:{b}, stats:{b}, events:{b}. ARGV 3,
 * 4: the client and image heads. Returns how many clients it removed. */
static store_script_t reap_clients = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('UNLINK', ARGV[3] .. id, ARGV[4] .. id)\n"
    "  emit('client.removed', {client_id = id, reason = 'timeout'})\n"
    "end\n"
    "if #ids > 0 then redis.call('HINCRBY', KEYS[3], 'removed_inactive', #ids) end\n"
    "return #ids\n");

/* KEYS: online_users:{b}, online_users:by_id:{b}, events:{b}: the users
 * whose last device expired go offline. */
static store_script_t prune_presence = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  emit('presence.offline', {user_id = id, reason = 'expired'})\n"
    "end\n"
    "return #ids\n");

/* KEYS: typing:expiry:{b}, events:{b}. ARGV 3, 4: the room typing index's
 * head and tail. Each indicator that ran out and was not announced yet
 * (its entry is still here: store/typing.c) is announced stopped, and
 * leaves its room's index if that is still there. */
static store_script_t prune_typing = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, m in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "  local room, user = string.match(m, '^(%S+) (%S+)$')\n"
    "  if room then\n"
    "    redis.call('ZREM', ARGV[3] .. room .. ARGV[4], user)\n"
    "    emit('typing.stopped', {room_id = room, user_id = user, reason = 'expired'})\n"
    "  end\n"
    "end\n"
    "return #ids\n");

/* KEYS: sessions:expiry:{b}, sessions:owner:{b}, events:{b}. ARGV 3, 4: the
 * session and heartbeat heads. A session whose key is still there (refreshed by an
 * instance whose clock is behind) is re-indexed by its real TTL instead.
 * The heartbeat key goes too, in case HEARTBEAT_TTL_S outlives
 * SESSION_TTL_S. Returns {examined, pruned, then for each pruned session
 * its id and owner "<user> <region>"}: the user's and region's sets are in
 * other slots, and the caller takes it out of them after this (their
 * entries have expired, so no reader shows them meanwhile). */
static store_script_t prune_sessions = STORE_SCRIPT(
    STORE_EVENTS_LUA
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "local out = {#ids, 0}\n"
    "for _, id in ipairs(ids) do\n"
    "  local pttl = redis.call('PTTL', ARGV[3] .. id)\n"
    "  if pttl > 0 then\n"
    "    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + pttl, id)\n"
    "  elseif pttl == -1 then\n" /* someone made it persistent: nothing will expire */
    "    redis.call('ZREM', KEYS[1], id)\n"
    "  else\n"
    "    local owner = redis.call('HGET', KEYS[2], id) or ''\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = owner\n"
    "    local user, region = string.match(owner, '^(%S*) ?(%S*)$')\n"
    "    emit('session.ended', {socket_id = id, user_id = user or '', region_id = region or '',\n"
    "                           reason = 'expired'})\n"
    "    redis.call('HDEL', KEYS[2], id)\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "    redis.call('DEL', ARGV[4] .. id)\n"
    "    out[2] = out[2] + 1\n"
    "  end\n"
    "end\n"
    "return out\n");

/* KEYS: rooms:expiry:{b}, rooms:active:{b}, events:{b}. ARGV 3..8: participants head,
 * tail, typing-index head, tail, messages head, tail. A room whose
 * participants set is still there was kept alive by a clock that is behind:
 * it is re-indexed by its real TTL; one someone made persistent stays listed
 * and is not looked at again. An ended room leaves both indexes, with its
 * typing index and message cache. Its participants' indexes of rooms keep an
 * entry that has ended and that no read shows; their next join drops it, or
 * the index's TTL does. Returns {examined, pruned}. */
static store_script_t prune_rooms = STORE_SCRIPT(
    STORE_EVENTS_LUA
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
    "    emit('room.ended', {room_id = id, reason = 'expired'})\n"
    "    pruned = pruned + 1\n"
    "  end\n"
    "end\n"
    "return {#ids, pruned}\n");

/* A name a script builds from the ids it finds: the head alone (the id is
 * appended) or, with tail, the head and the tail around the id. */
typedef struct {
    store_key_t key;
    bool tail;
} name_t;

/* One step of a pass: a batch script over the expired end of the index that
 * is its first key. Its cutoff is now, or for the clients (by_last_seen)
 * now minus the client timeout. */
typedef struct {
    store_script_t *script;
    bool by_last_seen;
    int nkeys, nnames; /* the keys before the event stream, which every step has last */
    store_key_t keys[3];
    name_t names[3];
} step_t;

#define HEAD(k)                                                                                    \
    { .key = (k), .tail = false }
#define PARTS(k)                                                                                   \
    { .key = (k), .tail = true }
static const step_t steps[] = {
    {.script = &reap_clients,
     .by_last_seen = true,
     .nkeys = 3,
     .keys = {KEY_CLIENTS_LAST_SEEN, KEY_CLIENTS, KEY_STATS},
     .nnames = 2,
     .names = {HEAD(KEY_CLIENT), HEAD(KEY_IMAGE)}},
    {.script = &prune_presence, .nkeys = 2, .keys = {KEY_ONLINE_USERS, KEY_ONLINE_USERS_BY_ID}},
    {.script = &prune_sessions,
     .nkeys = 2,
     .keys = {KEY_SESSIONS_EXPIRY, KEY_SESSIONS_OWNER},
     .nnames = 2,
     .names = {HEAD(KEY_SESSION), HEAD(KEY_HEARTBEAT)}},
    {.script = &prune_rooms,
     .nkeys = 2,
     .keys = {KEY_ROOMS_EXPIRY, KEY_ROOMS_ACTIVE},
     .nnames = 3,
     .names = {PARTS(KEY_ROOM_PARTICIPANTS), PARTS(KEY_ROOM_TYPING), PARTS(KEY_ROOM_MESSAGES)}},
    {.script = &prune_typing,
     .nkeys = 1,
     .keys = {KEY_TYPING_EXPIRY},
     .nnames = 1,
     .names = {PARTS(KEY_ROOM_TYPING)}},
};
#undef HEAD
#undef PARTS
#define NSTEPS (int)(sizeof steps / sizeof steps[0])
#define NCALLS (NSTEPS * STORE_BUCKETS)

/* Adds to the call cmd of step s its keys and arguments for bucket b. */
static void build_call(store_args_t *cmd, const step_t *s, int b, int64_t cutoff_ms, int limit) {
    for (int i = 0; i < s->nkeys; i++)
        store_args_index(cmd, s->keys[i], b);
    store_events_index_key(cmd, b);
    store_args_int(cmd, cutoff_ms);
    store_args_int(cmd, limit);
    for (int i = 0; i < s->nnames; i++) {
        char head[STORE_KEY_MAX], tail[STORE_KEY_MAX];
        store_key_parts(s->names[i].key, b, NULL, head, tail);
        store_args_copy(cmd, head, strlen(head));
        if (s->names[i].tail)
            store_args_copy(cmd, tail, strlen(tail));
    }
    store_events_arg(cmd);
}

/* Takes the sessions a prune_sessions reply names out of their user's and
 * region's sets. */
static void unindex_sessions(const redisReply *r) {
    int n = r->type == REDIS_REPLY_ARRAY && r->elements > 2 ? (int)(r->elements - 2) / 2 : 0;
    char(*ids)[CORE_ID_MAX + 1] = calloc((size_t)n + 1, sizeof *ids);
    char(*owners)[2 * CORE_ID_MAX + 2] = calloc((size_t)n + 1, sizeof *owners);
    const char **p = calloc((size_t)n * 3 + 1, sizeof *p);
    for (int i = 0; ids && owners && p && i < n; i++) {
        store_reply_copy(r->element[2 + 2 * i], ids[i], sizeof ids[i]);
        store_reply_copy(r->element[3 + 2 * i], owners[i], sizeof owners[i]);
        char *region = strchr(owners[i], ' ');
        if (region)
            *region++ = '\0';
        p[i] = ids[i];
        p[n + i] = core_id_valid(owners[i]) ? owners[i] : NULL;
        p[2 * n + i] = region && core_id_valid(region) ? region : NULL;
    }
    if (ids && owners && p && n > 0)
        store_sessions_unindex(n, p, p + n, p + 2 * n);
    free(ids);
    free(owners);
    free(p);
}

/* Runs up to max_calls of the calls still to do (todo[i]) in one round
 * trip, sharing ROUND_BUDGET among them; a call whose batch came back full
 * is to do again. Adds what each removed to the total of its step. */
static store_status_t round_of_calls(bool *todo, int max_calls, const int64_t *cutoff,
                                     long long **totals) {
    int ncalls = 0;
    for (int i = 0; i < NCALLS; i++)
        ncalls += todo[i];
    if (ncalls > max_calls)
        ncalls = max_calls;
    int limit = ROUND_BUDGET / ncalls > 1 ? ROUND_BUDGET / ncalls : 1;
    store_batch_t b;
    store_batch_init(&b, ncalls);
    int which[NCALLS] = {0}; /* of the calls sent: their index in todo */
    for (int i = 0; i < NCALLS && b.n < ncalls; i++) {
        if (!todo[i])
            continue;
        const step_t *s = &steps[i / STORE_BUCKETS];
        which[b.n] = i;
        build_call(store_batch_call(&b, s->script, s->nkeys + 1), s, i % STORE_BUCKETS,
                   cutoff[i / STORE_BUCKETS], limit);
    }
    store_status_t st = store_batch_run(&b);
    for (int j = 0; st == STORE_OK && j < b.n; j++) {
        const redisReply *r = store_batch_reply(&b, j);
        int step = which[j] / STORE_BUCKETS;
        /* a script answers the number it removed, or {examined, removed, ...}
         * when it may look at entries it keeps */
        bool pair = r->type == REDIS_REPLY_ARRAY;
        long long seen = store_reply_int(pair ? store_reply_at(r, 0) : r, 0);
        *totals[step] += pair ? store_reply_int(store_reply_at(r, 1), 0) : seen;
        if (steps[step].script == &prune_sessions)
            unindex_sessions(r);
        todo[which[j]] = seen >= limit;
    }
    store_batch_free(&b);
    return st;
}

/* Waits between two rounds of the background thread's pass (false: the
 * reaper is stopping). Defined with the thread, below. */
static bool pause_between_rounds(int64_t round_us);

static int64_t mono_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* A pass; paced: with pauses between rounds, for the background thread. */
static store_status_t pass(int64_t now_ms, int client_timeout_ms, bool paced,
                           store_reap_result_t *out) {
    long long *totals[] = {&out->clients_removed, &out->presence_pruned, &out->sessions_pruned,
                           &out->rooms_pruned, &out->typing_pruned};
    _Static_assert(sizeof totals / sizeof totals[0] == sizeof steps / sizeof steps[0],
                   "one total per step");
    int64_t cutoff[NSTEPS];
    bool todo[NCALLS];
    for (int s = 0; s < NSTEPS; s++) {
        *totals[s] = 0;
        cutoff[s] = steps[s].by_last_seen ? now_ms - client_timeout_ms : now_ms;
    }
    for (int i = 0; i < NCALLS; i++)
        todo[i] = true;
    for (int max_calls = NCALLS, any = true; any; max_calls = ROUND_CALLS) {
        int64_t started = mono_us();
        store_status_t st = round_of_calls(todo, max_calls, cutoff, totals);
        if (st != STORE_OK)
            return st;
        any = false;
        for (int i = 0; i < NCALLS; i++)
            any |= todo[i];
        if (any && paced && !pause_between_rounds(mono_us() - started))
            break;
    }
    return STORE_OK;
}

store_status_t store_reaper_pass(int64_t now_ms, int client_timeout_ms, store_reap_result_t *out) {
    return pass(now_ms, client_timeout_ms, false, out);
}

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping;
static int interval_ms, timeout_ms;

/* Sleeps until the monotonic time until, or until the reaper is stopped;
 * false when it is stopping. Both of the thread's waits, the interval and
 * the pause between rounds, are this one. */
static bool sleep_until(struct timespec until) {
    pthread_mutex_lock(&lock);
    while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) != ETIMEDOUT) {
    }
    bool go_on = !stopping;
    pthread_mutex_unlock(&lock);
    return go_on;
}

static void *loop(void *arg) {
    (void)arg;
    while (sleep_until(core_mono_deadline(interval_ms))) {
        store_reap_result_t res;
        if (pass(core_now_ms(), timeout_ms, true, &res) == STORE_OK && res.clients_removed > 0)
            log_event(LOG_INFO, "reaper removed %lld inactive clients", res.clients_removed);
    }
    store_conn_close_thread();
    return NULL;
}

/* Twice as long as the round took: a mass expiry takes at most about a
 * third of Redis's time and of a core, so requests keep their latency while
 * it is cleared (10 000 clients: well under a second, against the two
 * intervals it may take). */
static bool pause_between_rounds(int64_t round_us) {
    int64_t at = mono_us() + 2 * round_us;
    return sleep_until((struct timespec){.tv_sec = (time_t)(at / 1000000),
                                         .tv_nsec = (long)(at % 1000000) * 1000});
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
