/*
 * Frames. The ETag is "<frame_number>-<ms of upload, hex>": it changes with
 * every frame and differs between two lives of one client id, without hashing
 * megabytes of image on the hot path.
 *
 * A frame is written in one round trip of three commands: a plain HSET of the
 * bytes (with size, format and time) into an upload key of its own
 * (upload:{b}:<id>:<random>, keys.h), a PEXPIRE of that key, and one script
 * that makes it the frame: the client must exist; the new frame number and
 * ETag are added to the upload, which is RENAMEd over the image (the bytes
 * never pass through Lua), and the client's copy of the number, its last
 * activity, the frame counter and the event change in the same step. Until
 * the script runs nothing a reader sees has changed; an upload whose script
 * never runs (a lost connection) is gone at its TTL, UPLOAD_TTL_MS. Why: Lua
 * costs Redis about 1.1 us per kB of an argument it is handed, so the former
 * single script with the bytes as ARGV cost Redis ~85 us per 40 kB frame, the
 * three commands ~37 us (bench/README). The upload key is random per upload,
 * so two uploads for one client at once never mix their bytes and numbers.
 *
 * Frames are read by plain commands: one HMGET of every field, the bytes
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

#include "../core/ids.h"
#include "../core/log.h"
#include "events.h"
#include "keys.h"
#include "reply.h"
#include "script.h"

/* What an upload key lives at most: twice the longest a call may take
 * (REDIS_TIMEOUT_MS is at most 60 s), so its script always finds it. */
#define UPLOAD_TTL_MS 120000

/* KEYS: client, image, clients:last_seen:{b}, stats:{b}, events:{b}, the
 * upload. ARGV: size, format, now (ISO 8601), now (ms), id, the ETag's time
 * part, the retention. Reads first, then the upload gets its number and ETag
 * (the first write: refused under OOM before anything changed), then it
 * becomes the image. The frame's event (never its bytes) is appended in the
 * same step (store/events.h; spelled out, as in clients.c). Answers nil
 * when the client does not exist (the upload deleted), and 0 when the upload
 * is not there (its HSET failed, or a wipe came between): nothing written. */
static store_script_t put_script = STORE_SCRIPT(
    "if redis.call('EXISTS', KEYS[6]) == 0 then return 0 end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  redis.call('DEL', KEYS[6])\n"
    "  return false\n"
    "end\n"
    "local fn = (tonumber(redis.call('HGET', KEYS[2], 'frame_number')) or 0) + 1\n"
    "local etag = '\"' .. fn .. '-' .. ARGV[6] .. '\"'\n"
    "redis.call('HSET', KEYS[6], 'frame_number', fn, 'etag', etag)\n"
    "redis.call('RENAME', KEYS[6], KEYS[2])\n"
    "redis.call('PERSIST', KEYS[2])\n"
    "redis.call('HSET', KEYS[1], 'frame_number', fn)\n"
    "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])\n"
    "redis.call('HINCRBY', KEYS[4], 'total_frames', 1)\n"
    "redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 't', 'client.frame', 'd',\n"
    "           cjson.encode({client_id = ARGV[5], frame_number = fn, etag = etag,\n"
    "                         size = tonumber(ARGV[1]), format = ARGV[2], timestamp = ARGV[3]}))\n"
    "return {fn, etag}\n");

store_status_t store_images_put(const char *id, const unsigned char *data, size_t n,
                                core_img_t format, int64_t now_ms, store_image_t *out) {
    char ts[CORE_ISO8601_LEN], stamp[24], upload[24];
    core_iso8601(now_ms, ts);
    snprintf(stamp, sizeof stamp, "%llx", (unsigned long long)now_ms);
    if (!core_random_id(upload, sizeof upload, "", 16))
        return STORE_ERROR;
    char ukey[STORE_KEY_MAX]; /* named by all three commands */
    size_t ulen = store_key2(ukey, KEY_UPLOAD, id, upload);
    store_args_t c[3];
    for (int i = 0; i < 3; i++)
        store_args_init(&c[i]);
    store_args_str(&c[0], "HSET");
    store_args_keyname(&c[0], ukey, ulen);
    store_args_str(&c[0], "data");
    store_args_add(&c[0], (const char *)data, n);
    store_args_str(&c[0], "size");
    store_args_int(&c[0], (long long)n);
    store_args_str(&c[0], "format");
    store_args_str(&c[0], core_img_name(format));
    store_args_str(&c[0], "timestamp");
    store_args_str(&c[0], ts);
    store_args_str(&c[1], "PEXPIRE");
    store_args_keyname(&c[1], ukey, ulen);
    store_args_int(&c[1], UPLOAD_TTL_MS);
    store_script_call(&c[2], &put_script, 6);
    store_args_key(&c[2], KEY_CLIENT, id);
    store_args_key(&c[2], KEY_IMAGE, id);
    store_args_key(&c[2], KEY_CLIENTS_LAST_SEEN, id);
    store_args_key(&c[2], KEY_STATS, id);
    store_events_key(&c[2], id);
    store_args_keyname(&c[2], ukey, ulen);
    store_args_int(&c[2], (long long)n);
    store_args_str(&c[2], core_img_name(format));
    store_args_str(&c[2], ts);
    store_args_int(&c[2], now_ms);
    store_args_str(&c[2], id);
    store_args_str(&c[2], stamp);
    store_events_arg(&c[2]);
    store_script_t *const scripts[3] = {NULL, NULL, &put_script};
    redisReply *r[3];
    store_status_t st = store_run_scripts(3, c, scripts, r);
    for (int i = 0; i < 3; i++)
        store_args_free(&c[i]);
    if (st != STORE_OK)
        return st;
    if (r[2]->type != REDIS_REPLY_ARRAY) {
        /* nil: no such client (the upload deleted); 0: no upload to take,
         * nothing written, worth a retry */
        st = r[2]->type == REDIS_REPLY_INTEGER ? STORE_UNAVAILABLE : STORE_NOT_FOUND;
        if (st == STORE_UNAVAILABLE)
            log_event(LOG_WARN, "frame of client %s: its upload was gone when its script ran", id);
        store_replies_free(3, r);
        return st;
    }
    memset(out, 0, sizeof *out);
    out->format = format;
    out->size = n;
    memcpy(out->timestamp, ts, sizeof ts);
    out->frame_number = store_reply_int(store_reply_at(r[2], 0), 0);
    store_reply_copy(store_reply_at(r[2], 1), out->etag, sizeof out->etag);
    store_replies_free(3, r);
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
