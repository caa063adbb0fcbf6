/*
 * rtstate --migrate-keys: moves a deployment's keys from the layout before
 * buckets (the legacy names of keys.h) to today's, under KEY_PREFIX. Run it
 * once, with the old version stopped, before starting this one.
 *
 * It SCANs for every key under the prefix that is a legacy name, and moves
 * each in Lua scripts that read the old key and write the new ones in one
 * step, so a run that stops anywhere (a crash, Redis going away) leaves
 * every key, or every batch of a big index, either wholly moved or not at
 * all, and the next run goes on from there; a run with nothing left to move
 * changes nothing:
 *
 *   - a key of one entity (client:<id>, session:<id>, room:<id>:messages ...)
 *     is renamed to its new name, with its TTL; a client also gets its
 *     entries in clients:{b} and clients:last_seen:{b} (the latter only
 *     where the old index had none: "seen now", so the reaper still ends
 *     it), and its hash a copy of its frame's number (from the frame's hash,
 *     old or already moved); a presence hash gets its expiry (its TTL);
 *   - the user's and the region's sets of sessions, and the user's set of
 *     rooms, become sorted sets, each member scored with the set's own
 *     expiry (which was at least its session's or room's; readers check
 *     each entry against the session or room anyway);
 *   - a global index (clients, clients:by_id, clients:last_seen,
 *     online_users ..., sessions:expiry, sessions:owner, rooms:active,
 *     rooms:expiry) is split, a batch of members at a time, each member into
 *     the index of its own bucket, and taken out of the old one in the same
 *     script; the notification queues likewise, oldest first, each
 *     notification onto the queue of its user's bucket, with the TTL;
 *   - stats goes into stats:{00..} (the sum over buckets is what is read),
 *     and the old hash goes in the same script, so it is never added twice.
 *
 * A legacy name holding another type than the old layout wrote there is
 * someone else's: it is left alone, and counted as skipped.
 *
 * Those scripts name an old key and new keys of other slots together: that
 * works on one server only, which is where the old layout ever ran (its
 * own scripts were multi-key). In a Redis Cluster the migration refuses as
 * soon as it finds a legacy key, and does nothing when there is none. The
 * names go to Redis as plain arguments, not as keys (args.h), for that
 * reason.
 */
#include "migrate.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "conn.h"
#include "keys.h"
#include "nodes.h"
#include "reply.h"
#include "script.h"

#define BATCH 1000

/* KEYS: the old key, the new one, and for a client clients:{b},
 * clients:last_seen:{b}, and its frame's old and new hash. ARGV: the type
 * the old layout wrote there, the conversion ('rename', 'client',
 * 'presence' or 'zset'), the id, now (ms), the expiry (ms) for members of a
 * set that had no TTL. Returns 0 when there is no old key, -1 when it is of
 * another type, 1 when moved. */
static store_script_t move_script = STORE_SCRIPT(
    "local t = redis.call('TYPE', KEYS[1]).ok\n"
    "if t == 'none' then return 0 end\n"
    "if t ~= ARGV[1] then return -1 end\n"
    "if ARGV[2] == 'zset' then\n"
    "  local pttl = redis.call('PTTL', KEYS[1])\n"
    "  local score = ARGV[5]\n"
    "  if pttl > 0 then score = string.format('%.0f', tonumber(ARGV[4]) + pttl) end\n"
    "  for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "    redis.call('ZADD', KEYS[2], score, m)\n"
    "  end\n"
    "  redis.call('PEXPIREAT', KEYS[2], score)\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return 1\n"
    "end\n"
    "local pttl = redis.call('PTTL', KEYS[1])\n"
    "redis.call('RENAME', KEYS[1], KEYS[2])\n"
    "if ARGV[2] == 'client' then\n"
    "  redis.call('ZADD', KEYS[3], 0, ARGV[3])\n"
    "  redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[3])\n"
    "  local fn = redis.call('HGET', KEYS[5], 'frame_number') or\n"
    "             redis.call('HGET', KEYS[6], 'frame_number')\n"
    "  if fn then redis.call('HSET', KEYS[2], 'frame_number', fn) end\n"
    "elseif ARGV[2] == 'presence' and pttl > 0 then\n"
    "  redis.call('HSET', KEYS[2], 'expires_at', string.format('%.0f', tonumber(ARGV[4]) + pttl))\n"
    "end\n"
    "return 1\n");

/* KEYS: the old index, then the new index of bucket 0 .. 15. ARGV: the
 * operation ('zadd', 'hset' or 'hincr'), the old key's type, then triples
 * (bucket or '-' to drop, member, score or value). Moves each member and
 * takes it out of the old key ('hincr': adds, and deletes the old key).
 * Returns how many members it took, or -1 for another type. */
static store_script_t split_script = STORE_SCRIPT(
    "local t = redis.call('TYPE', KEYS[1]).ok\n"
    "if t == 'none' then return 0 end\n"
    "if t ~= ARGV[2] then return -1 end\n"
    "local n = 0\n"
    "for i = 3, #ARGV, 3 do\n"
    "  local m, v = ARGV[i + 1], ARGV[i + 2]\n"
    "  if ARGV[i] ~= '-' then\n"
    "    local key = KEYS[tonumber(ARGV[i]) + 2]\n"
    "    if ARGV[1] == 'zadd' then redis.call('ZADD', key, v, m)\n"
    "    elseif ARGV[1] == 'hset' then redis.call('HSET', key, m, v)\n"
    "    else redis.call('HINCRBY', key, m, v) end\n"
    "  end\n"
    "  if t == 'zset' then redis.call('ZREM', KEYS[1], m)\n"
    "  elseif t == 'set' then redis.call('SREM', KEYS[1], m)\n"
    "  elseif ARGV[1] == 'hset' then redis.call('HDEL', KEYS[1], m) end\n"
    "  n = n + 1\n"
    "end\n"
    "if ARGV[1] == 'hincr' then redis.call('DEL', KEYS[1]) end\n"
    "return n\n");

/* KEYS: the old queue, then the new queue of bucket 0 .. 15. ARGV: pairs
 * (bucket, notification), oldest first: they must be the old queue's tail
 * (else -2: read again). Pushes each onto its bucket's queue with the old
 * queue's TTL and trims them off the old one. Returns how many, or -1. */
static store_script_t queue_script = STORE_SCRIPT(
    "local t = redis.call('TYPE', KEYS[1]).ok\n"
    "if t == 'none' then return 0 end\n"
    "if t ~= 'list' then return -1 end\n"
    "local n = #ARGV / 2\n"
    "local tail = redis.call('LRANGE', KEYS[1], -n, -1)\n"
    "if #tail ~= n then return -2 end\n"
    "for j = 1, n do\n"
    "  if tail[n - j + 1] ~= ARGV[2 * j] then return -2 end\n"
    "end\n"
    "local pttl = redis.call('PTTL', KEYS[1])\n"
    "for j = 1, n do\n"
    "  local key = KEYS[tonumber(ARGV[2 * j - 1]) + 2]\n"
    "  redis.call('LPUSH', key, ARGV[2 * j])\n"
    "  if pttl > 0 then redis.call('PEXPIRE', key, pttl) end\n"
    "end\n"
    "redis.call('LTRIM', KEYS[1], 0, -(n + 1))\n"
    "return n\n");

/* What the old layout wrote under each legacy name: its type, and how it
 * moves. */
typedef enum {
    MOVE_RENAME,
    MOVE_CLIENT,
    MOVE_PRESENCE,
    MOVE_TO_ZSET,
    SPLIT,
    SPLIT_QUEUE,
    SPLIT_STATS
} how_t;
static const struct {
    const char *type;
    how_t how;
} legacy[LEGACY__COUNT] = {
    [LEGACY_CLIENTS] = {"set", SPLIT},
    [LEGACY_CLIENTS_BY_ID] = {"zset", SPLIT},
    [LEGACY_CLIENTS_LAST_SEEN] = {"zset", SPLIT},
    [LEGACY_CLIENT] = {"hash", MOVE_CLIENT},
    [LEGACY_IMAGE] = {"hash", MOVE_RENAME},
    [LEGACY_STATS] = {"hash", SPLIT_STATS},
    [LEGACY_ONLINE_USERS] = {"zset", SPLIT},
    [LEGACY_ONLINE_USERS_BY_ID] = {"zset", SPLIT},
    [LEGACY_PRESENCE] = {"hash", MOVE_PRESENCE},
    [LEGACY_SESSION] = {"string", MOVE_RENAME},
    [LEGACY_HEARTBEAT] = {"string", MOVE_RENAME},
    [LEGACY_USER_SESSIONS] = {"set", MOVE_TO_ZSET},
    [LEGACY_REGION_MEMBERS] = {"set", MOVE_TO_ZSET},
    [LEGACY_SESSIONS_EXPIRY] = {"zset", SPLIT},
    [LEGACY_SESSIONS_OWNER] = {"hash", SPLIT},
    [LEGACY_ROOMS_ACTIVE] = {"zset", SPLIT},
    [LEGACY_ROOMS_EXPIRY] = {"zset", SPLIT},
    [LEGACY_ROOM_PARTICIPANTS] = {"set", MOVE_RENAME},
    [LEGACY_ROOM_TYPING] = {"zset", MOVE_RENAME},
    [LEGACY_ROOM_MESSAGES] = {"zset", MOVE_RENAME},
    [LEGACY_TYPING] = {"string", MOVE_RENAME},
    [LEGACY_USER_ROOMS] = {"set", MOVE_TO_ZSET},
    [LEGACY_USER_OFFLINE] = {"list", MOVE_RENAME},
    [LEGACY_USER_NOTIFICATIONS] = {"list", MOVE_RENAME},
    [LEGACY_RATE_MESSAGES] = {"zset", MOVE_RENAME},
    [LEGACY_NOTIFY_QUEUE_HIGH] = {"list", SPLIT_QUEUE},
    [LEGACY_NOTIFY_QUEUE_NORMAL] = {"list", SPLIT_QUEUE},
};

typedef struct {
    const store_migrate_opts_t *opts;
    store_migrate_result_t *out;
    bool cluster;
} run_t;

/* Runs call a of script s (freed), answering its integer. */
static store_status_t eval_int(store_script_t *s, store_args_t *a, long long *v) {
    redisReply *r;
    store_status_t st = store_eval(s, a, &r);
    store_args_free(a);
    if (st != STORE_OK)
        return st;
    *v = store_reply_int(r, 0);
    freeReplyObject(r);
    return STORE_OK;
}

/* Adds a key name made here as a plain argument: see the top comment. */
static void add_name(store_args_t *a, const char *name, size_t len) {
    store_args_copy(a, name, len);
}

static store_status_t move_entity(run_t *run, store_legacy_key_t kind, const char *old,
                                  size_t oldlen, const store_key_parsed_t *p) {
    char name[STORE_KEY_MAX];
    how_t how = legacy[kind].how;
    int64_t fallback =
        run->opts->now_ms +
        (int64_t)(kind == LEGACY_USER_ROOMS ? run->opts->room_ttl_s : run->opts->session_ttl_s) *
            1000;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &move_script, how == MOVE_CLIENT ? 6 : 2);
    add_name(&a, old, oldlen);
    size_t n = store_key2(name, p->kind, p->id, p->id2);
    add_name(&a, name, n);
    if (how == MOVE_CLIENT) {
        n = store_key(name, KEY_CLIENTS, p->id);
        add_name(&a, name, n);
        n = store_key(name, KEY_CLIENTS_LAST_SEEN, p->id);
        add_name(&a, name, n);
        n = store_legacy_key(name, LEGACY_IMAGE, p->id, "");
        add_name(&a, name, n);
        n = store_key(name, KEY_IMAGE, p->id);
        add_name(&a, name, n);
    }
    store_args_str(&a, legacy[kind].type);
    static const char *const conversion[] = {[MOVE_RENAME] = "rename",
                                             [MOVE_CLIENT] = "client",
                                             [MOVE_PRESENCE] = "presence",
                                             [MOVE_TO_ZSET] = "zset"};
    store_args_str(&a, conversion[how]);
    store_args_str(&a, p->id);
    store_args_int(&a, run->opts->now_ms);
    store_args_int(&a, fallback);
    long long v;
    store_status_t st = eval_int(&move_script, &a, &v);
    if (st == STORE_OK) {
        run->out->moved += v > 0;
        run->out->skipped += v < 0;
    }
    return st;
}

/* Starts a call of s on the old key and the 16 new ones of kind k. */
static void split_call(store_args_t *a, store_script_t *s, const char *old, size_t oldlen,
                       store_key_t k) {
    store_script_call(a, s, 1 + STORE_BUCKETS);
    add_name(a, old, oldlen);
    for (int b = 0; b < STORE_BUCKETS; b++) {
        char name[STORE_KEY_MAX];
        size_t n = store_key_index(name, k, b);
        add_name(a, name, n);
    }
}

/* The next batch of a global index: members (and scores or values, every
 * second element) in *r. */
static store_status_t read_batch(store_legacy_key_t kind, const char *old, size_t oldlen,
                                 redisReply **r) {
    store_args_t a;
    store_args_init(&a);
    const char *type = legacy[kind].type;
    bool stats = legacy[kind].how == SPLIT_STATS;
    store_args_str(&a, stats                   ? "HGETALL"
                       : !strcmp(type, "zset") ? "ZRANGE"
                       : !strcmp(type, "set")  ? "SRANDMEMBER"
                                               : "HRANDFIELD");
    add_name(&a, old, oldlen);
    if (!strcmp(type, "zset")) {
        store_args_str(&a, "0");
        store_args_int(&a, BATCH - 1);
        store_args_str(&a, "WITHSCORES");
    } else if (!stats) {
        store_args_int(&a, BATCH);
        if (!strcmp(type, "hash"))
            store_args_str(&a, "WITHVALUES");
    }
    store_status_t st = store_cmd(&a, r);
    store_args_free(&a);
    return st;
}

/* TYPE of the key: "none" when there is none. */
static store_status_t key_type(const char *name, size_t len, char type[16]) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "TYPE");
    add_name(&a, name, len);
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    store_reply_copy(r, type, 16);
    freeReplyObject(r);
    return STORE_OK;
}

/* Whether the old key is there and of the type the old layout wrote:
 * counts it as skipped when it is another's. */
static store_status_t check_type(run_t *run, store_legacy_key_t kind, const char *old,
                                 size_t oldlen, bool *ours) {
    char type[16];
    store_status_t st = key_type(old, oldlen, type);
    *ours = st == STORE_OK && strcmp(type, legacy[kind].type) == 0;
    if (st == STORE_OK && !*ours && strcmp(type, "none") != 0)
        run->out->skipped++;
    return st;
}

/* Adds one member of a batch to a split call: its bucket ('-': drop it,
 * not an id), itself, its score or value. */
static void add_member(store_args_t *a, const redisReply *m, const redisReply *v, bool stats) {
    bool valid = store_reply_is_str(m) && core_id_valid(m->str);
    char b[4];
    int len = snprintf(b, sizeof b, "%d", stats || !valid ? 0 : store_key_bucket(m->str));
    if (valid || stats)
        store_args_copy(a, b, (size_t)len);
    else
        store_args_str(a, "-");
    store_args_add(a, m->str, m->len);
    if (v)
        store_args_add(a, v->str, v->len);
    else
        store_args_str(a, "0");
}

/* Moves a global index to the indexes of the buckets, a batch at a time. */
static store_status_t split(run_t *run, store_legacy_key_t kind, const char *old, size_t oldlen,
                            store_key_t k) {
    bool ours, pairs = strcmp(legacy[kind].type, "set") != 0; /* member, score or value */
    bool stats = legacy[kind].how == SPLIT_STATS;
    store_status_t st = check_type(run, kind, old, oldlen, &ours);
    while (st == STORE_OK && ours) {
        redisReply *r;
        st = read_batch(kind, old, oldlen, &r);
        if (st != STORE_OK)
            return st;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / (pairs ? 2 : 1) : 0;
        if (n == 0) {
            freeReplyObject(r);
            break;
        }
        store_args_t a;
        store_args_init(&a);
        split_call(&a, &split_script, old, oldlen, k);
        store_args_str(&a, stats ? "hincr" : !strcmp(legacy[kind].type, "hash") ? "hset" : "zadd");
        store_args_str(&a, legacy[kind].type);
        for (size_t i = 0; i < n; i++)
            add_member(&a, r->element[pairs ? 2 * i : i], pairs ? r->element[2 * i + 1] : NULL,
                       stats);
        long long moved = 0;
        st = eval_int(&split_script, &a, &moved);
        freeReplyObject(r);
        if (st == STORE_OK && moved < 0) { /* replaced by another type meanwhile */
            run->out->skipped++;
            return STORE_OK;
        }
        run->out->entries += stats ? 0 : moved;
        if (stats || moved == 0)
            break;
    }
    if (st == STORE_OK && ours)
        run->out->moved++;
    return st;
}

/* The bucket of the user a queued notification is for (0 when it names none). */
static int notification_bucket(const redisReply *json) {
    cJSON *o = store_reply_is_str(json) ? cJSON_ParseWithLength(json->str, json->len) : NULL;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "user_id");
    int b =
        cJSON_IsString(u) && core_id_valid(u->valuestring) ? store_key_bucket(u->valuestring) : 0;
    cJSON_Delete(o);
    return b;
}

/* Moves a notification queue onto the queues of the buckets, oldest first. */
static store_status_t split_queue(run_t *run, store_legacy_key_t kind, const char *old,
                                  size_t oldlen, store_key_t k) {
    bool ours;
    store_status_t first = check_type(run, kind, old, oldlen, &ours);
    if (first != STORE_OK || !ours)
        return first;
    for (int tries = 0; tries < 100;) {
        store_args_t a;
        store_args_init(&a);
        store_args_str(&a, "LRANGE");
        add_name(&a, old, oldlen);
        store_args_int(&a, -BATCH);
        store_args_str(&a, "-1");
        redisReply *r;
        store_status_t st = store_cmd(&a, &r);
        store_args_free(&a);
        if (st != STORE_OK)
            return st;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        store_args_init(&a);
        split_call(&a, &queue_script, old, oldlen, k);
        for (size_t i = n; i-- > 0;) { /* the tail end is the oldest */
            char b[4];
            int len = snprintf(b, sizeof b, "%d", notification_bucket(r->element[i]));
            store_args_copy(&a, b, (size_t)len);
            store_args_add(&a, r->element[i]->str, r->element[i]->len);
        }
        long long moved = 0;
        st = eval_int(&queue_script, &a, &moved);
        freeReplyObject(r);
        if (st != STORE_OK)
            return st;
        if (moved == -1) {
            run->out->skipped++;
            return STORE_OK;
        }
        if (moved == -2) { /* changed under us: read again */
            tries++;
            continue;
        }
        run->out->entries += moved;
        if (moved == 0) {
            run->out->moved++;
            return STORE_OK;
        }
    }
    return STORE_CONFLICT; /* someone keeps pushing onto the old queue */
}

/* Moves one key SCAN found, if it is a legacy name. */
static store_status_t migrate_key(run_t *run, const redisReply *key) {
    store_legacy_key_t kind;
    store_key_parsed_t p;
    if (!store_reply_is_str(key) || !store_legacy_parse(key->str, key->len, &kind, &p))
        return STORE_OK;
    run->out->found++;
    if (run->cluster)
        return STORE_OK; /* counted only: the caller refuses */
    switch (legacy[kind].how) {
    case MOVE_RENAME:
    case MOVE_CLIENT:
    case MOVE_PRESENCE:
    case MOVE_TO_ZSET: return move_entity(run, kind, key->str, key->len, &p);
    case SPLIT:
    case SPLIT_STATS: return split(run, kind, key->str, key->len, p.kind);
    case SPLIT_QUEUE: return split_queue(run, kind, key->str, key->len, p.kind);
    }
    return STORE_OK;
}

static store_status_t scan_batch(int node, const redisReply *keys, void *ctx) {
    (void)node;
    for (size_t i = 0; i < keys->elements; i++) {
        store_status_t st = migrate_key(ctx, keys->element[i]);
        if (st != STORE_OK)
            return st;
    }
    return STORE_OK;
}

store_status_t store_migrate_keys(const store_migrate_opts_t *opts, store_migrate_result_t *out,
                                  const char **why) {
    memset(out, 0, sizeof *out);
    *why = NULL;
    run_t run = {.opts = opts, .out = out, .cluster = store_nodes_cluster()};
    char pattern[STORE_KEY_MAX];
    store_keys_glob(pattern);
    store_status_t st = store_nodes_scan(pattern, scan_batch, &run);
    if (st == STORE_OK && run.cluster && out->found > 0) {
        *why =
            "keys of the old layout in a Redis Cluster: the old layout ran on one server only; "
            "migrate there, then move the data into the cluster";
        return STORE_CONFLICT;
    }
    if (st == STORE_CONFLICT)
        *why = "a notification queue of the old layout kept changing: stop the old version first";
    return st;
}
