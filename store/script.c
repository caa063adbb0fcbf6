/* EVALSHA with an EVAL fallback; see script.h.
 *
 * In a cluster each node has its own script cache: EVALSHA goes to the node
 * of the script's first key, and a NOSCRIPT from it is answered by EVAL,
 * routed the same way, so the source reaches exactly the nodes that need it. */
#include "script.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

void store_script_call(store_args_t *cmd, store_script_t *s, int nkeys) {
    store_args_str(cmd, "EVALSHA");
    store_args_str(cmd, script_sha(s));
    store_args_int(cmd, nkeys);
}

/* Whether r is Redis saying it does not know the script. */
static bool noscript(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Sends again, as EVAL with the source, every script call Redis answered
 * NOSCRIPT, in one round; their replies replace the NOSCRIPT ones. The
 * commands are changed in place for the round (EVAL and the source instead
 * of EVALSHA and the SHA1), then put back. */
static store_status_t resend_unknown(int n, store_args_t *cmds, store_script_t *const *scripts,
                                     redisReply **replies) {
    int m = 0;
    for (int i = 0; i < n; i++)
        m += scripts[i] && noscript(replies[i]);
    if (m == 0)
        return STORE_OK;
    store_args_t *again = malloc(sizeof *again * (size_t)m);
    redisReply **r = malloc(sizeof *r * (size_t)m);
    int *idx = malloc(sizeof *idx * (size_t)m);
    store_status_t st = STORE_ERROR;
    if (again && r && idx) {
        m = 0;
        for (int i = 0; i < n; i++) {
            if (!scripts[i] || !noscript(replies[i]))
                continue;
            cmds[i].argv[0] = "EVAL";
            cmds[i].lens[0] = 4;
            cmds[i].argv[1] = scripts[i]->src;
            cmds[i].lens[1] = strlen(scripts[i]->src);
            again[m] = cmds[i]; /* shallow: the same argument arrays */
            idx[m++] = i;
        }
        st = store_run_raw(m, again, r);
        for (int j = 0; j < m; j++) {
            store_args_t *c = &cmds[idx[j]];
            c->argv[0] = "EVALSHA";
            c->lens[0] = 7;
            c->argv[1] = scripts[idx[j]]->sha;
            c->lens[1] = 40;
            if (st == STORE_OK) {
                freeReplyObject(replies[idx[j]]);
                replies[idx[j]] = r[j];
            }
        }
    }
    free(again);
    free(r);
    free(idx);
    return st;
}

store_status_t store_run_scripts(int n, store_args_t *cmds, store_script_t *const *scripts,
                                 redisReply **replies) {
    store_status_t st = store_run_raw(n, cmds, replies);
    if (st == STORE_OK)
        st = resend_unknown(n, cmds, scripts, replies);
    for (int i = 0; st == STORE_OK && i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            st = store_error_status(replies[i]);
            log_event(LOG_WARN, "redis %s error: %.200s", scripts[i] ? "script" : "command",
                      replies[i]->str);
        }
    }
    if (st != STORE_OK)
        store_replies_free(n, replies);
    return st;
}

store_status_t store_eval(store_script_t *s, store_args_t *args, redisReply **reply) {
    return store_run_scripts(1, args, &s, reply);
}

store_status_t store_eval_found(store_script_t *s, store_args_t *args, store_status_t absent,
                                redisReply **reply) {
    store_status_t st = store_eval(s, args, reply);
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

store_status_t store_eval_count(store_script_t *s, store_args_t *args, long long min,
                                store_status_t absent) {
    redisReply *r;
    store_status_t st = store_eval(s, args, &r);
    if (st != STORE_OK)
        return st;
    st = store_reply_int(r, min - 1) >= min ? STORE_OK : absent;
    freeReplyObject(r);
    return st;
}
