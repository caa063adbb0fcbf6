/*
 * SCAN MATCH <prefix>* with the prefix's glob characters escaped (keys.c), so
 * a prefix such as "t*[1]:" matches itself only; each batch the cursor
 * returns is unlinked before the next SCAN. SCAN may return a key twice; the
 * second UNLINK finds nothing and counts nothing.
 */
#include "keyspace.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "keys.h"
#include "reply.h"

#define SCAN_COUNT 1000

/* UNLINKs the keys of a SCAN batch (an array of strings); adds to *deleted. */
static store_status_t unlink_batch(const redisReply *keys, long long *deleted) {
    if (!keys || keys->type != REDIS_REPLY_ARRAY || keys->elements == 0)
        return STORE_OK;
    store_args_t a;
    store_args_init(&a);
    store_args_str(&a, "UNLINK");
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (store_reply_is_str(k))
            store_args_add(&a, k->str, k->len);
    }
    redisReply *r;
    store_status_t st = store_cmd(&a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    *deleted += store_reply_int(r, 0);
    freeReplyObject(r);
    return STORE_OK;
}

store_status_t store_keyspace_delete_all(long long *deleted) {
    *deleted = 0;
    if (!store_keys_prefix()[0])
        return STORE_CONFLICT;
    char pattern[STORE_KEY_MAX], cursor[32] = "0";
    store_keys_glob(pattern);
    do {
        store_args_t a;
        store_args_init(&a);
        store_args_str(&a, "SCAN");
        store_args_str(&a, cursor);
        store_args_str(&a, "MATCH");
        store_args_str(&a, pattern);
        store_args_str(&a, "COUNT");
        store_args_int(&a, SCAN_COUNT);
        redisReply *r;
        store_status_t st = store_cmd(&a, &r);
        store_args_free(&a);
        if (st != STORE_OK)
            return st;
        if (!store_reply_copy(store_reply_at(r, 0), cursor, sizeof cursor)) {
            freeReplyObject(r);
            return STORE_ERROR;
        }
        st = unlink_batch(store_reply_at(r, 1), deleted);
        freeReplyObject(r);
        if (st != STORE_OK)
            return st;
    } while (strcmp(cursor, "0") != 0);
    return STORE_OK;
}
