/* EVALSHA with an EVAL fallback; see script.h.
 *
 * In a cluster each node has its own script cache: EVALSHA goes to the node
 * of the script's first key, and a NOSCRIPT from it is answered by EVAL,
 * routed the same way, so the source reaches exactly the nodes that need it. */
#include "script.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "reply.h"

static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *script_sha(store_script_t *s) {
    if (atomic_load_explicit(&s->ready, memory_order_acquire))
        return s->sha;
    pthread_mutex_lock(&sha_lock); /* once per script per process */
    if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
        unsigned char d[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)s->src, strlen(s->src), d);
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(s->sha + 2 * i, 3, "%02x", d[i]);
        atomic_store_explicit(&s->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&sha_lock);
    return s->sha;
}

/* Sends EVALSHA (or EVAL with the source) followed by args. */
static store_status_t send(const char *verb, const char *body, int nkeys, store_args_t *args,
                           redisReply **reply) {
    store_args_t full;
    store_args_init(&full);
    store_args_str(&full, verb);
    store_args_str(&full, body);
    store_args_int(&full, nkeys);
    store_args_route_as(&full, args); /* to the node of the script's first key */
    for (int i = 0; i < args->argc; i++)
        store_args_add(&full, args->argv[i], args->lens[i]);
    full.oom |= args->oom;
    store_status_t st = store_run_raw(1, &full, reply);
    store_args_free(&full);
    return st;
}

store_status_t store_eval(store_script_t *s, int nkeys, store_args_t *args, redisReply **reply) {
    store_status_t st = send("EVALSHA", script_sha(s), nkeys, args, reply);
    if (st == STORE_OK && (*reply)->type == REDIS_REPLY_ERROR &&
        strncmp((*reply)->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(*reply);
        st = send("EVAL", s->src, nkeys, args, reply);
    }
    if (st != STORE_OK)
        return st;
    if ((*reply)->type == REDIS_REPLY_ERROR) {
        st = store_error_status(*reply);
        log_event(LOG_WARN, "redis script error: %.200s", (*reply)->str);
        freeReplyObject(*reply);
        *reply = NULL;
    }
    return st;
}

store_status_t store_eval_found(store_script_t *s, int nkeys, store_args_t *args,
                                store_status_t absent, redisReply **reply) {
    store_status_t st = store_eval(s, nkeys, args, reply);
    store_args_free(args);
    if (st != STORE_OK) {
        *reply = NULL;
        return st;
    }
    if ((*reply)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*reply);
        *reply = NULL;
        return absent;
    }
    return STORE_OK;
}

store_status_t store_eval_count(store_script_t *s, int nkeys, store_args_t *args, long long min,
                                store_status_t absent) {
    redisReply *r;
    store_status_t st = store_eval(s, nkeys, args, &r);
    store_args_free(args);
    if (st != STORE_OK)
        return st;
    st = store_reply_int(r, min - 1) >= min ? STORE_OK : absent;
    freeReplyObject(r);
    return st;
}
