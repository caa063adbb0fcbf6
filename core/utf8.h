/*
 * UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. cJSON passes bytes through unchecked, so every text field that is
 * stored goes through here first.
 */
#ifndef CORE_UTF8_H
#define CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the n bytes at s are valid UTF-8 (NUL bytes included, as U+0000). */
bool core_utf8_valid(const char *s, size_t n);

#endif
