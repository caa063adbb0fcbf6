/*
 * Webcam clients. A client is four entries in its id's bucket (keys.h): its
 * hash, its membership of clients:{b} (paging in id order, counting) and its
 * score in clients:last_seen:{b} (its last activity in ms, which the reaper
 * reads by age). All four share one slot, so the scripts that create and
 * delete a client change them in one atomic step: no reader sees a half-made
 * or half-removed client, and a delete racing a reconnect of the same id
 * cannot strip the new client's index entries.
 *
 * The hash holds status, connected_at and a copy of the latest frame's number
 * (the frame's own hash has it too, written in the same script); the last
 * activity is the index's score alone. So a heartbeat, the most frequent
 * write, is one plain command, ZADD XX CH on the index: XX updates only a
 * client that exists (creating nothing for an unknown id), atomically, with
 * no script (which cost Redis three times as much, bench/README). Reading a
 * client, alone or on a page, is an HMGET and a ZSCORE in one round trip.
 *
 * A new client and a deleted one are events (store/events.h), appended to
 * the bucket's stream by the same script: its last key and argument. (The
 * XADD is spelled out rather than taken from STORE_EVENTS_LUA, so that the
 * scripts stay plain literals that bench/extract-scripts.awk can copy.)
 */
#include "clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "events.h"
#include "keys.h"
#include "page.h"
#include "reply.h"
#include "script.h"

/* KEYS: client, image, clients:{b}, clients:last_seen:{b}, events:{b}.
 * ARGV: id, now (ISO 8601), now (ms), create only ('1'), the retention.
 * Returns false for an existing id when create only, else
 * {1 when new, status, connected_at, frame_number ('' without a frame)}.
 * A client another program wrote (a hash without frame_number, no index
 * entries) is adopted: it gets them all. */
static store_script_t connect_script = STORE_SCRIPT(
    "local exists = redis.call('EXISTS', KEYS[1]) == 1\n"
    "if exists and ARGV[4] == '1' then return false end\n"
    "if not exists then\n"
    "  redis.call('HSET', KEYS[1], 'connected_at', ARGV[2], 'status', 'connected')\n"
    "end\n"
    "local fn = redis.call('HGET', KEYS[2], 'frame_number')\n"
    "if fn then redis.call('HSET', KEYS[1], 'frame_number', fn) end\n"
    "redis.call('ZADD', KEYS[3], 0, ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])\n"
    "local c = redis.call('HMGET', KEYS[1], 'status', 'connected_at')\n"
    "if not exists then\n"
    "  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 't', 'client.registered',\n"
    "             'd', cjson.encode({client_id = ARGV[1], connected_at = c[2]}))\n"
    "end\n"
    "return {exists and 0 or 1, c[1] or '', c[2] or '', fn or ''}\n");

/* KEYS: as connect. ARGV: id, the retention. Returns how many of the hash
 * and the clients entry it removed. */
static store_script_t delete_script = STORE_SCRIPT(
    "local n = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('UNLINK', KEYS[2])\n"
    "redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "if n > 0 then\n"
    "  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', 't', 'client.removed',\n"
    "             'd', cjson.encode({client_id = ARGV[1], reason = 'request'}))\n"
    "end\n"
    "return n\n");

/* The keys of the connect and delete scripts, for client id. */
static void add_client_keys(store_args_t *a, const char *id) {
    store_args_key(a, KEY_CLIENT, id);
    store_args_key(a, KEY_IMAGE, id);
    store_args_key(a, KEY_CLIENTS, id);
    store_args_key(a, KEY_CLIENTS_LAST_SEEN, id);
    store_events_key(a, id);
}

/* Reads n clients by id, an HMGET and a ZSCORE each, all in one round trip:
 * c[i] filled and found[i] true for each that exists (its hash has
 * connected_at). A client without an index score (written by another
 * program, not yet adopted) shows the hash's own last_seen, if any. */
static store_status_t read_clients(int n, const char *const *ids, store_client_t *c, bool *found) {
    store_batch_t b;
    store_batch_init(&b, 2 * n);
    for (int i = 0; i < n; i++) {
        store_args_t *q = store_batch_add(&b);
        store_args_str(q, "HMGET");
        store_args_key(q, KEY_CLIENT, ids[i]);
        store_args_str(q, "status");
        store_args_str(q, "connected_at");
        store_args_str(q, "frame_number");
        store_args_str(q, "last_seen");
        q = store_batch_add(&b);
        store_args_str(q, "ZSCORE");
        store_args_key(q, KEY_CLIENTS_LAST_SEEN, ids[i]);
        store_args_str(q, ids[i]);
    }
    store_status_t st = store_batch_run(&b);
    for (int i = 0; st == STORE_OK && i < n; i++) {
        const redisReply *h = store_batch_reply(&b, 2 * i);
        const redisReply *seen = store_batch_reply(&b, 2 * i + 1);
        found[i] = store_reply_is_str(store_reply_at(h, 1));
        store_reply_id(ids[i], c[i].id);
        store_reply_copy(store_reply_at(h, 0), c[i].status, sizeof c[i].status);
        store_reply_copy(store_reply_at(h, 1), c[i].connected_at, sizeof c[i].connected_at);
        c[i].frame_number = store_reply_int(store_reply_at(h, 2), 0);
        c[i].has_image = c[i].frame_number > 0;
        long long ms = store_reply_int(seen, -1);
        if (ms >= 0)
            core_iso8601(ms, c[i].last_seen);
        else
            store_reply_copy(store_reply_at(h, 3), c[i].last_seen, sizeof c[i].last_seen);
    }
    store_batch_free(&b);
    return st;
}

store_status_t store_clients_connect(const char *id, bool create_only, int64_t now_ms,
                                     store_client_t *out, bool *created) {
    char now[CORE_ISO8601_LEN];
    core_iso8601(now_ms, now);
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &connect_script, 5);
    add_client_keys(&a, id);
    store_args_str(&a, id);
    store_args_str(&a, now);
    store_args_int(&a, now_ms);
    store_args_str(&a, create_only ? "1" : "0");
    store_events_arg(&a);
    redisReply *r;
    store_status_t st = store_eval_found(&connect_script, &a, STORE_CONFLICT, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    *created = store_reply_int(store_reply_at(r, 0), 0) == 1;
    store_reply_copy(store_reply_at(r, 1), out->status, sizeof out->status);
    store_reply_copy(store_reply_at(r, 2), out->connected_at, sizeof out->connected_at);
    memcpy(out->last_seen, now, sizeof now);
    out->frame_number = store_reply_int(store_reply_at(r, 3), 0);
    out->has_image = out->frame_number > 0;
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_clients_get(const char *id, store_client_t *out) {
    memset(out, 0, sizeof *out);
    bool found = false;
    store_status_t st = read_clients(1, &id, out, &found);
    return st == STORE_OK && !found ? STORE_NOT_FOUND : st;
}

/* One ZADD ... XX CH, or its score after it; reply as store_cmd. */
static store_status_t touch(const char *id, bool score_only, long long now_ms, redisReply **r) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, score_only ? "ZSCORE" : "ZADD");
    store_args_key(&a, KEY_CLIENTS_LAST_SEEN, id);
    if (!score_only) {
        store_args_str(&a, "XX");
        store_args_str(&a, "CH");
        store_args_int(&a, now_ms);
    }
    store_args_str(&a, id);
    store_status_t st = store_cmd(&a, r);
    store_args_free(&a);
    return st;
}

store_status_t store_clients_heartbeat(const char *id, int64_t now_ms) {
    redisReply *r;
    store_status_t st = touch(id, false, now_ms, &r);
    if (st != STORE_OK)
        return st;
    bool changed = store_reply_int(r, 0) == 1;
    freeReplyObject(r);
    if (changed)
        return STORE_OK;
    /* 0: an unknown client, or one already seen this very millisecond */
    if ((st = touch(id, true, now_ms, &r)) != STORE_OK)
        return st;
    st = store_reply_is_str(r) ? STORE_OK : STORE_NOT_FOUND;
    freeReplyObject(r);
    return st;
}

store_status_t store_clients_delete(const char *id) {
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &delete_script, 5);
    add_client_keys(&a, id);
    store_args_str(&a, id);
    store_events_arg(&a);
    store_status_t st = store_eval_count(&delete_script, &a, 1, STORE_NOT_FOUND);
    store_args_free(&a);
    return st;
}

static store_status_t read_page(int n, const char *const *ids, void *items, bool *keep,
                                const void *ctx) {
    (void)ctx;
    return read_clients(n, ids, items, keep);
}

store_status_t store_clients_list(const char *cursor, int limit, store_page_t *out) {
    const store_page_spec_t spec = {.index = KEY_CLIENTS,
                                    .item_size = sizeof(store_client_t),
                                    .count_index = KEY_CLIENTS,
                                    .read = read_page};
    return store_page_read(&spec, cursor, limit, out);
}
