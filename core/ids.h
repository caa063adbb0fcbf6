/*
 * Identifiers that may become part of a Redis key: ^[A-Za-z0-9._-]{1,128}$,
 * and never "." or "..". Anything else is rejected before it reaches a store.
 */
#ifndef CORE_IDS_H
#define CORE_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define CORE_ID_MAX 128

/* True when s (NUL-terminated) is a valid id. NULL is not. */
bool core_id_valid(const char *s);

/* Writes prefix followed by n random alphanumerics (uniform, from the OS
 * CSPRNG) and a NUL into out, which holds cap bytes. Returns false when it
 * does not fit or no randomness could be had. */
bool core_random_id(char *out, size_t cap, const char *prefix, size_t n);

#endif
