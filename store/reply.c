/* Reply accessors; see reply.h. */
#include "reply.h"

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

store_status_t store_reply_page(const redisReply *r, size_t stride, size_t item_size,
                                store_item_read_fn read, void **items, int *n, long long *total,
                                char *next, size_t cap) {
    *total = store_reply_int(store_reply_at(r, 0), 0);
    store_reply_copy(store_reply_at(r, 1), next, cap);
    size_t count = r->type == REDIS_REPLY_ARRAY && r->elements > 2 ? (r->elements - 2) / stride : 0;
    *n = 0;
    *items = count ? calloc(count, item_size) : NULL;
    if (count && !*items)
        return STORE_ERROR;
    for (size_t i = 0; i < count; i++)
        read(r, 2 + i * stride, (char *)*items + i * item_size);
    *n = (int)count;
    return STORE_OK;
}
