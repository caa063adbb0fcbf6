/*
 * The latest frame of each webcam client. Frames are stored as raw bytes
 * (binary-safe, no base64 in Redis). Each new frame replaces the previous
 * one, counts frame_number up by one, refreshes the client's last activity
 * and adds one to total_frames, all in one atomic step.
 */
#ifndef STORE_IMAGES_H
#define STORE_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/imagetype.h"
#include "../core/timefmt.h"
#include "status.h"

#define STORE_ETAG_MAX 48

typedef struct {
    core_img_t format;
    size_t size;
    char timestamp[CORE_ISO8601_LEN];
    long long frame_number;
    char etag[STORE_ETAG_MAX]; /* quoted, ready for the ETag header */
    /* Set by store_images_get only: the bytes, which live inside a Redis
     * reply owned by this struct until store_image_release. */
    const char *data;
    void *owner;
} store_image_t;

/* Stores a frame for client id. STORE_NOT_FOUND when the client does not
 * exist (nothing is written then). *out gets everything but data. */
store_status_t store_images_put(const char *id, const unsigned char *data, size_t n,
                                core_img_t format, int64_t now_ms, store_image_t *out);

/* Reads the frame of client id. STORE_NOT_FOUND when it has none. When
 * if_none_match (an If-None-Match header value, or NULL) matches the current
 * ETag, *not_modified is set and the bytes are not fetched. Otherwise the
 * caller owns out->data until store_image_release(out). */
store_status_t store_images_get(const char *id, const char *if_none_match, store_image_t *out,
                                bool *not_modified);

/* Frees the reply behind out->data (safe to call on any store_image_t). */
void store_image_release(store_image_t *img);

/* store_image_release with a void* argument, for response free callbacks. */
void store_image_owner_free(void *owner);

#endif
