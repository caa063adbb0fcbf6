/*
 * libFuzzer: Redis replies into the store's structs (store/reply.c and
 * store_stats_parse_info in store/stats.c).
 *
 * The store trusts nothing that comes back from Redis: a key written by
 * another program can hold any shape. This feeds arbitrary RESP bytes through
 * hiredis's own reader (redisReaderFeed / redisReaderGetReply), the path
 * every reply takes, then walks each reply with the accessors the store uses
 * (store_reply_at, _is_str, _copy, _int) at every depth and index, including
 * out of range, and parses every string reply as INFO text. Proves none of it
 * crashes, reads out of bounds or leaks, and that copies are always
 * NUL-terminated within their buffers.
 *
 * Input: RESP bytes, possibly several replies, possibly truncated.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "../../store/reply.h"
#include "../../store/stats.h"

static void walk(const redisReply *r, int depth) {
    char small[4], big[256];
    bool str = store_reply_is_str(r);
    assert(store_reply_copy(r, small, sizeof small) == str);
    assert(memchr(small, '\0', sizeof small));
    assert(store_reply_copy(r, big, sizeof big) == str);
    assert(memchr(big, '\0', sizeof big));
    assert(!store_reply_copy(r, big, 0));
    long long v = store_reply_int(r, -7);
    if (!r)
        assert(v == -7);
    if (str) {
        store_stats_t st;
        memset(&st, 0, sizeof st);
        store_stats_parse_info(r->str, &st);
        assert(memchr(st.version, '\0', sizeof st.version));
        assert(memchr(st.used_memory_human, '\0', sizeof st.used_memory_human));
    }
    if (depth > 8)
        return;
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    for (size_t i = 0; i <= n + 1; i++) { /* one past the end, and two */
        const redisReply *e = store_reply_at(r, i);
        assert((e != NULL) == (r && i < n && r->element[i] != NULL));
        walk(e, depth + 1);
    }
}

/* hiredis 0.14 allocates a multi-bulk's element array as soon as it reads its
 * header ("*1555555555" is a 12 GB calloc), before any element arrives; its
 * maxelements limit came with hiredis 1.0. That is hiredis trusting Redis,
 * not the store's conversion under test, so counts and lengths stay small. */
static bool absurd_lengths(const uint8_t *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '*' && d[i] != '$')
            continue;
        long long v = 0;
        for (size_t j = i + 1; j < n && d[j] >= '0' && d[j] <= '9' && v <= 65536; j++)
            v = v * 10 + (d[j] - '0');
        if (v > 65536)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (absurd_lengths(data, size))
        return 0;
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    redisReaderFeed(rd, (const char *)data, size);
    for (int i = 0; i < 64; i++) {
        void *reply = NULL;
        if (redisReaderGetReply(rd, &reply) != REDIS_OK || !reply)
            break;
        walk(reply, 0);
        freeReplyObject(reply);
    }
    walk(NULL, 0);
    redisReaderFree(rd);
    return 0;
}
