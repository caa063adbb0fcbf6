/*
 * SHA-256 of a few strings and some bytes: what two requests have in common
 * (api/http/idempotency.c), or the _id a key derives (mongo/idempotency.c). Each
 * string is hashed with its terminating NUL, so no list of strings runs into
 * another ("ab","c" and "a","bc" differ); the tail is hashed as it is.
 */
#ifndef CORE_DIGEST_H
#define CORE_DIGEST_H

#include <stddef.h>

#define CORE_SHA256_LEN 32

/* strings: a NULL-terminated list (may be empty); tail: tail_len bytes, or
 * NULL. out receives the 32-byte digest. */
void core_sha256(const char *const *strings, const void *tail, size_t tail_len,
                 unsigned char out[CORE_SHA256_LEN]);

/* The same as 64 lower-case hex digits and a NUL. */
void core_sha256_hex(const char *const *strings, const void *tail, size_t tail_len,
                     char out[2 * CORE_SHA256_LEN + 1]);

#endif
