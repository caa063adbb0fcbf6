/* A lease held by one instance at a time; see lease.h. */
#include "lease.h"

#include <hiredis/hiredis.h>

#include "args.h"
#include "reply.h"
#include "script.h"

/* KEYS[1] the lease; ARGV[1] the holder asking, ARGV[2] the lease's length
 * (ms). 1: the asker holds it (renewed, or taken because nobody did); 0:
 * someone else does. */
static store_script_t hold = STORE_SCRIPT(
    "local h = redis.call('GET', KEYS[1])\n"
    "if h == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if h then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n");

store_status_t store_lease_hold(store_key_t k, const char *holder, int ttl_ms, bool *held) {
    *held = false;
    store_args_t a;
    store_args_init(&a);
    store_script_call(&a, &hold, 1);
    store_args_index(&a, k, 0);
    store_args_str(&a, holder);
    store_args_int(&a, ttl_ms);
    redisReply *r = NULL;
    store_status_t st = store_eval(&hold, &a, &r);
    store_args_free(&a);
    if (st != STORE_OK)
        return st;
    *held = store_reply_int(r, 0) == 1;
    freeReplyObject(r);
    return STORE_OK;
}
