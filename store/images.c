/*
 * Frames. The ETag is "<frame_number>-<ms of upload, hex>": it changes with
 * every frame and differs between two lives of one client id, without hashing
 * megabytes of image on the hot path.
 *
 * The get script compares the ETag inside Redis, so a poll whose
 * If-None-Match still matches costs one round trip and no image bytes.
 *
 * The frame, the client's hash (its last_seen and its copy of the frame
 * number, which a client read shows) and last activity, and the counter of
 * frames all live in the client id's bucket (keys.h): one slot, so the put
 * script is atomic in a cluster too. total_frames is kept per bucket
 * (stats:{b}); store/stats.c adds the buckets up.
 */
#include "images.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* KEYS: client, image, clients:last_seen:{b}, stats:{b}, events:{b}. ARGV:
 * the bytes, size, format, now (ISO 8601), now (ms), id, the ETag's time
 * part, the retention. The frame's event (never its bytes) is appended in
 * the same step (store/events.h; spelled out, as in clients.c). */
static store_script_t put_script = STORE_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return false end\n"
    "local fn = redis.call('HINCRBY', KEYS[2], 'frame_number', 1)\n"
    "local etag = '\"' .. fn .. '-' .. ARGV[7] .. '\"'\n"
    "redis.call('HSET', KEYS[2], 'data', ARGV[1], 'size', ARGV[2], 'format', ARGV[3],\n"
    "           'timestamp', ARGV[4], 'etag', etag)\n"
    "redis.call('HSET', KEYS[1], 'last_seen', ARGV[4], 'frame_number', fn)\n"
    "redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])\n"
    "redis.call('HINCRBY', KEYS[4], 'total_frames', 1)\n"
    "redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 't', 'client.frame', 'd',\n"
    "           cjson.encode({client_id = ARGV[6], frame_number = fn, etag = etag,\n"
    "                         size = tonumber(ARGV[2]), format = ARGV[3], timestamp = ARGV[4]}))\n"
    "return {fn, etag}\n");

/* Returns {etag, format, timestamp, frame_number, size[, data]}: data only
 * when ARGV[1] (If-None-Match) does not name the current ETag. */
static store_script_t get_script = STORE_SCRIPT(
    "local m = redis.call('HMGET', KEYS[1], 'etag', 'format', 'timestamp', 'frame_number', "
    "'size')\n"
    "if not m[1] then return false end\n"
    "local out = {m[1], m[2] or '', m[3] or '', m[4] or '0', m[5] or '0'}\n"
    "local inm = ARGV[1]\n"
    "if inm == '*' or (inm ~= '' and string.find(inm, m[1], 1, true)) then return out end\n"
    "out[6] = redis.call('HGET', KEYS[1], 'data') or ''\n"
    "return out\n");

store_status_t store_images_put(const char *id, const unsigned char *data, size_t n,
                                core_img_t format, int64_t now_ms, store_image_t *out) {
    char ts[CORE_ISO8601_LEN], stamp[24];
    core_iso8601(now_ms, ts);
    snprintf(stamp, sizeof stamp, "%llx", (unsigned long long)now_ms);
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &put_script, 5);
    store_args_key(&a, KEY_CLIENT, id);
    store_args_key(&a, KEY_IMAGE, id);
    store_args_key(&a, KEY_CLIENTS_LAST_SEEN, id);
    store_args_key(&a, KEY_STATS, id);
    store_events_key(&a, id);
    store_args_add(&a, (const char *)data, n);
    store_args_int(&a, (long long)n);
    store_args_str(&a, core_img_name(format));
    store_args_str(&a, ts);
    store_args_int(&a, now_ms);
    store_args_str(&a, id);
    store_args_str(&a, stamp);
    store_events_arg(&a);
    redisReply *r;
    store_status_t st = store_eval_found(&put_script, &a, STORE_NOT_FOUND, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->format = format;
    out->size = n;
    memcpy(out->timestamp, ts, sizeof ts);
    out->frame_number = store_reply_int(store_reply_at(r, 0), 0);
    store_reply_copy(store_reply_at(r, 1), out->etag, sizeof out->etag);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_images_get(const char *id, const char *if_none_match, store_image_t *out,
                                bool *not_modified) {
    memset(out, 0, sizeof *out);
    *not_modified = false;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &get_script, 1);
    store_args_key(&a, KEY_IMAGE, id);
    store_args_str(&a, if_none_match ? if_none_match : "");
    redisReply *r;
    store_status_t st = store_eval_found(&get_script, &a, STORE_NOT_FOUND, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    if (r->elements < 5) {
        freeReplyObject(r);
        return STORE_NOT_FOUND;
    }
    char fmt[16];
    store_reply_copy(store_reply_at(r, 0), out->etag, sizeof out->etag);
    store_reply_copy(store_reply_at(r, 1), fmt, sizeof fmt);
    store_reply_copy(store_reply_at(r, 2), out->timestamp, sizeof out->timestamp);
    out->format = core_img_from_name(fmt);
    out->frame_number = store_reply_int(store_reply_at(r, 3), 0);
    out->size = (size_t)store_reply_int(store_reply_at(r, 4), 0);
    const redisReply *data = store_reply_at(r, 5);
    if (!store_reply_is_str(data)) {
        *not_modified = true;
        freeReplyObject(r);
        return STORE_OK;
    }
    out->data = data->str;
    out->size = data->len;
    out->owner = r;
    if (out->format == CORE_IMG_NONE) /* written by someone else: trust the bytes */
        out->format = core_img_sniff((const unsigned char *)data->str, data->len);
    return STORE_OK;
}

void store_image_owner_free(void *owner) {
    if (owner)
        freeReplyObject(owner);
}

void store_image_release(store_image_t *img) {
    store_image_owner_free(img->owner);
    img->owner = NULL;
    img->data = NULL;
}
