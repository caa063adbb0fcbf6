/*
 * Frames. The ETag is "<frame_number>-<ms of upload, hex>": it changes with
 * every frame and differs between two lives of one client id, without hashing
 * megabytes of image on the hot path.
 *
 * A frame is written by one script (the client must exist; the frame, the
 * client's copy of its number, its last activity and the frame counter change
 * together), and read by plain commands: one HMGET of every field, the bytes
 * included, when the request names no ETag; with If-None-Match, first an
 * HMGET of the small fields, then, only when the ETag differs, the same HMGET
 * with the bytes. Both answers of that second read come from one command, so
 * a frame written in between is never shown with another frame's ETag. A
 * script here cost Redis three to four times the plain read (bench/README).
 *
 * The frame, the client's hash (its copy of the frame number, which a client
 * read shows) and last activity, and the counter of frames all live in the
 * client id's bucket (keys.h): one slot, so the put script is atomic in a
 * cluster too. total_frames is kept per bucket (stats:{b}); store/stats.c adds
 * the buckets up.
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
    "redis.call('HSET', KEYS[1], 'frame_number', fn)\n"
    "redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])\n"
    "redis.call('HINCRBY', KEYS[4], 'total_frames', 1)\n"
    "redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 't', 'client.frame', 'd',\n"
    "           cjson.encode({client_id = ARGV[6], frame_number = fn, etag = etag,\n"
    "                         size = tonumber(ARGV[2]), format = ARGV[3], timestamp = ARGV[4]}))\n"
    "return {fn, etag}\n");

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

/* True when an If-None-Match value names etag (or is "*"). */
static bool etag_matches(const char *inm, const char *etag) {
    return inm && (strcmp(inm, "*") == 0 || (*etag && strstr(inm, etag)));
}

/* One HMGET of the frame's fields, the bytes last when with_data. */
static store_status_t read_frame(const char *id, bool with_data, redisReply **r) {
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "HMGET");
    store_args_key(&a, KEY_IMAGE, id);
    store_args_str(&a, "etag");
    store_args_str(&a, "format");
    store_args_str(&a, "timestamp");
    store_args_str(&a, "frame_number");
    store_args_str(&a, "size");
    if (with_data)
        store_args_str(&a, "data");
    store_status_t st = store_cmd(&a, r);
    store_args_free(&a);
    if (st == STORE_OK && !store_reply_is_str(store_reply_at(*r, 0))) {
        freeReplyObject(*r); /* no etag: no frame (or not one of ours) */
        *r = NULL;
        return STORE_NOT_FOUND;
    }
    return st;
}

store_status_t store_images_get(const char *id, const char *if_none_match, store_image_t *out,
                                bool *not_modified) {
    memset(out, 0, sizeof *out);
    *not_modified = false;
    redisReply *r;
    store_status_t st = read_frame(id, !if_none_match, &r);
    if (st != STORE_OK)
        return st;
    char fmt[16];
    for (;;) {
        store_reply_copy(store_reply_at(r, 0), out->etag, sizeof out->etag);
        store_reply_copy(store_reply_at(r, 1), fmt, sizeof fmt);
        store_reply_copy(store_reply_at(r, 2), out->timestamp, sizeof out->timestamp);
        out->format = core_img_from_name(fmt);
        out->frame_number = store_reply_int(store_reply_at(r, 3), 0);
        out->size = (size_t)store_reply_int(store_reply_at(r, 4), 0);
        if (r->elements > 5)
            break;
        freeReplyObject(r);
        if (etag_matches(if_none_match, out->etag)) {
            *not_modified = true;
            return STORE_OK;
        }
        if ((st = read_frame(id, true, &r)) != STORE_OK)
            return st; /* the frame went in between: gone is gone */
    }
    const redisReply *data = store_reply_at(r, 5);
    if (!store_reply_is_str(data)) { /* a hash without bytes: not a frame */
        freeReplyObject(r);
        return STORE_NOT_FOUND;
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
