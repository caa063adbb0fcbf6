/*
 * The image formats a client may upload, told apart by their magic numbers.
 */
#ifndef CORE_IMAGETYPE_H
#define CORE_IMAGETYPE_H

#include <stddef.h>

typedef enum { CORE_IMG_NONE = 0, CORE_IMG_JPEG, CORE_IMG_PNG, CORE_IMG_WEBP } core_img_t;

/* The format whose magic number starts these bytes, or CORE_IMG_NONE. */
core_img_t core_img_sniff(const unsigned char *b, size_t n);

/* "image/jpeg" (parameters after ';' ignored, case-insensitive) -> format. */
core_img_t core_img_from_mime(const char *content_type);

/* "jpeg" / "jpg" / "png" / "webp" -> format. */
core_img_t core_img_from_name(const char *name);

/* Static strings: "image/jpeg" and "jpeg" for CORE_IMG_JPEG, NULL for NONE. */
const char *core_img_mime(core_img_t t);
const char *core_img_name(core_img_t t);

#endif
