/*
 * Integers in decimal, written by hand: nearly every request writes a few
 * (Redis command arguments and their protocol headers, JSON numbers, the
 * request log), and snprintf("%lld") cost about ten times as much.
 */
#ifndef CORE_DECIMAL_H
#define CORE_DECIMAL_H

#include <stddef.h>

#define CORE_DECIMAL_MAX 21 /* "-9223372036854775808": 20 characters, and room for a NUL */

/* Writes v at out (no NUL); returns how many characters. */
size_t core_decimal_u(unsigned long long v, char *out);

/* Writes v at out, with '-' when negative (no NUL); returns how many
 * characters. */
size_t core_decimal(long long v, char *out);

#endif
