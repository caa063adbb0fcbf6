/* Commands sent together; see batch.h. */
#include "batch.h"

#include <stdlib.h>

/* what an add beyond the room builds on: never sent */
static _Thread_local store_args_t scratch_tl;

void store_batch_init(store_batch_t *b, int cap) {
    b->n = 0;
    b->cap = cap > 0 ? cap : 0;
    b->failed = false;
    if (b->cap <= STORE_BATCH_INLINE) { /* most batches: no allocation at all */
        b->cmds = b->cmds_inline;
        b->scripts = b->scripts_inline;
        b->replies = b->replies_inline;
    } else {
        /* commands not zeroed: each is made by store_batch_add (1.5 kB apiece) */
        b->cmds = malloc(sizeof *b->cmds * (size_t)b->cap);
        b->scripts = malloc(sizeof *b->scripts * (size_t)b->cap);
        b->replies = malloc(sizeof *b->replies * (size_t)b->cap);
        b->failed = !b->cmds || !b->scripts || !b->replies;
    }
    if (b->failed)
        b->cap = 0;
}

store_args_t *store_batch_add(store_batch_t *b) {
    if (b->n == b->cap) {
        b->failed = true;
        store_args_free(&scratch_tl); /* whatever the last overflow built */
        return &scratch_tl;
    }
    b->scripts[b->n] = NULL;
    b->replies[b->n] = NULL;
    store_args_t *a = &b->cmds[b->n++];
    store_args_init(a);
    return a;
}

store_args_t *store_batch_call(store_batch_t *b, store_script_t *s, int nkeys) {
    store_args_t *a = store_batch_add(b);
    if (a != &scratch_tl)
        b->scripts[b->n - 1] = s;
    store_script_call(a, s, nkeys);
    return a;
}

store_status_t store_batch_run(store_batch_t *b) {
    if (b->failed)
        return STORE_ERROR;
    if (b->n == 0)
        return STORE_OK;
    return store_run_scripts(b->n, b->cmds, b->scripts, b->replies);
}

store_status_t store_batch_run_each(store_batch_t *b, store_status_t *each) {
    for (int i = 0; i < b->n; i++)
        each[i] = STORE_ERROR;
    if (b->failed)
        return STORE_ERROR;
    if (b->n == 0)
        return STORE_OK;
    return store_run_each(b->n, b->cmds, b->replies, each);
}

const redisReply *store_batch_reply(const store_batch_t *b, int i) {
    return i >= 0 && i < b->n && b->replies ? b->replies[i] : NULL;
}

redisReply *store_batch_take(store_batch_t *b, int i) {
    if (i < 0 || i >= b->n || !b->replies)
        return NULL;
    redisReply *r = b->replies[i];
    b->replies[i] = NULL;
    return r;
}

void store_batch_free(store_batch_t *b) {
    for (int i = 0; i < b->n; i++) {
        store_args_free(&b->cmds[i]);
        if (b->replies[i])
            freeReplyObject(b->replies[i]);
    }
    if (b->cmds != b->cmds_inline) {
        free(b->cmds);
        free(b->scripts);
        free(b->replies);
    }
    if (b->failed)
        store_args_free(&scratch_tl);
    b->cmds = NULL;
    b->scripts = NULL;
    b->replies = NULL;
    b->n = b->cap = 0;
}
