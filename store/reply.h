/*
 * Reading hiredis replies safely: every accessor checks the type and bounds,
 * so a reply of an unexpected shape (someone else's data under our key)
 * degrades to "missing" instead of a crash.
 */
#ifndef STORE_REPLY_H
#define STORE_REPLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* Element i of an array reply, or NULL. */
const redisReply *store_reply_at(const redisReply *r, size_t i);

/* True when r is a string (or status) reply. */
bool store_reply_is_str(const redisReply *r);

/* Copies a string reply into out (cap bytes, truncated, NUL-terminated).
 * Returns false (out = "") when r is not a string. */
bool store_reply_copy(const redisReply *r, char *out, size_t cap);

/* Copies an id (at most CORE_ID_MAX bytes are taken) into out, which holds
 * CORE_ID_MAX + 1: cheaper than snprintf on the paths that copy many. */
void store_reply_id(const char *id, char *out);

/* Integer reply, or a string reply holding a decimal integer; else def. */
long long store_reply_int(const redisReply *r, long long def);

#endif
