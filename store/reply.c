/* Reply accessors; see reply.h. */
#include "reply.h"

#include "../core/ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const redisReply *store_reply_at(const redisReply *r, size_t i) {
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return NULL;
    return r->element[i];
}

bool store_reply_is_str(const redisReply *r) {
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

bool store_reply_copy(const redisReply *r, char *out, size_t cap) {
    if (cap == 0)
        return false;
    if (!store_reply_is_str(r)) {
        out[0] = '\0';
        return false;
    }
    size_t n = r->len < cap - 1 ? r->len : cap - 1;
    memcpy(out, r->str, n);
    out[n] = '\0';
    return true;
}

void store_reply_id(const char *id, char *out) {
    size_t n = strnlen(id, CORE_ID_MAX);
    memcpy(out, id, n);
    out[n] = '\0';
}

long long store_reply_int(const redisReply *r, long long def) {
    if (!r)
        return def;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (!store_reply_is_str(r) || r->len == 0 || r->len > 20)
        return def;
    char buf[24], *end;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    return (errno || *end) ? def : v;
}
