/*
 * Standard base64 (RFC 4648, with padding), strict on the way in: no
 * whitespace, no missing padding, nothing after the padding. The encoding
 * itself is OpenSSL's.
 */
#ifndef CORE_BASE64_H
#define CORE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t core_b64_encoded_len(size_t n);

/* Encodes n bytes into out, which holds core_b64_encoded_len(n) + 1 bytes;
 * out is NUL-terminated. Returns the encoded length. */
size_t core_b64_encode(const unsigned char *in, size_t n, char *out);

/* Decodes len characters of s. On success returns a malloc'd buffer the
 * caller frees, with *out_len set; NULL on invalid input or no memory. */
unsigned char *core_b64_decode(const char *s, size_t len, size_t *out_len);

#endif
