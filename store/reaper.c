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

static store_status_t prune_expired_sessions(int64_t now_ms, long long *pruned) {
    char stems[2][STORE_KEY_MAX], parts[4][STORE_KEY_MAX];
    store_key(stems[0], KEY_SESSION, "");
    store_key(stems[1], KEY_HEARTBEAT, "");
    store_key_parts(KEY_USER_SESSIONS, NULL, parts[0], parts[1]);
    store_key_parts(KEY_REGION_MEMBERS, NULL, parts[2], parts[3]);
    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_SESSIONS_EXPIRY, NULL);
    store_args_key(&a, KEY_SESSIONS_OWNER, NULL);
    store_args_int(&a, now_ms);
    store_args_int(&a, BATCH);
    store_args_str(&a, stems[0]);
    store_args_str(&a, stems[1]);
    for (int i = 0; i < 4; i++)
        store_args_str(&a, parts[i]);
    store_status_t st = drain(&prune_sessions, &a, 2, pruned);
    store_args_free(&a);
    return st;
}

store_status_t store_reaper_pass(int64_t now_ms, int client_timeout_ms, store_reap_result_t *out) {
    char client_stem[STORE_KEY_MAX], image_stem[STORE_KEY_MAX];
    store_key(client_stem, KEY_CLIENT, "");
    store_key(image_stem, KEY_IMAGE, "");
    out->clients_removed = out->presence_pruned = out->sessions_pruned = 0;

    store_args_t a;
    store_args_init(&a);
    store_args_key(&a, KEY_CLIENTS_LAST_SEEN, NULL);
    store_args_key(&a, KEY_CLIENTS, NULL);
    store_args_key(&a, KEY_CLIENTS_BY_ID, NULL);
    store_args_key(&a, KEY_STATS, NULL);
    store_args_int(&a, now_ms - client_timeout_ms);
    store_args_int(&a, BATCH);
    store_args_str(&a, client_stem);
    store_args_str(&a, image_stem);
    store_status_t st = drain(&reap_clients, &a, 4, &out->clients_removed);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;

    store_args_init(&a);
    store_args_key(&a, KEY_ONLINE_USERS, NULL);
    store_args_key(&a, KEY_ONLINE_USERS_BY_ID, NULL);
    store_args_int(&a, now_ms);
    store_args_int(&a, BATCH);
    st = drain(&prune_presence, &a, 2, &out->presence_pruned);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    return prune_expired_sessions(now_ms, &out->sessions_pruned);
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
