/*
 * A Redis command's arguments, built without a format string so any byte
 * sequence (an image, an id) travels as one binary-safe argument.
 *
 * Strings added with store_args_add are borrowed: they must outlive the call
 * that sends the command. Keys, numbers and copies live in the args' own
 * arena. Everything is released by store_args_free.
 *
 * The first key added with store_args_key or store_args_keyname is the
 * command's routing key: in a Redis Cluster the command goes to the master
 * of that key's hash slot (store/conn.c), so every key of one command must
 * share that slot. A command without one (PING, INFO, SCAN...) goes to the
 * only server of a standalone Redis; in a cluster it must name its node
 * (store_run_node).
 */
#ifndef STORE_ARGS_H
#define STORE_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

#define STORE_ARGS_INLINE 24

typedef struct store_chunk store_chunk_t;

typedef struct {
    int argc, cap;
    const char **argv;
    size_t *lens;
    const char *argv_inline[STORE_ARGS_INLINE];
    size_t lens_inline[STORE_ARGS_INLINE];
    char arena[1024];
    size_t arena_used;
    store_chunk_t *chunks;
    const char *route; /* the routing key (see above), or NULL */
    size_t route_len;
    bool oom; /* an allocation failed: sending these args reports STORE_ERROR */
} store_args_t;

void store_args_init(store_args_t *a);
void store_args_free(store_args_t *a);

/* Borrowed bytes. */
void store_args_add(store_args_t *a, const char *s, size_t len);
/* Borrowed NUL-terminated string. */
void store_args_str(store_args_t *a, const char *s);
/* Copied: a decimal integer. */
void store_args_int(store_args_t *a, long long v);
/* Copied: the key name store_key(k, id); the routing key if it is the first. */
void store_args_key(store_args_t *a, store_key_t k, const char *id);
/* Copied: a key name the caller built (len bytes, from store/keys.c); the
 * routing key if it is the first key. */
void store_args_keyname(store_args_t *a, const char *name, size_t len);
/* Routes a like from, whatever keys a has: for a command that carries
 * another's arguments (EVALSHA and a script's keys). The key is borrowed
 * from from, which must outlive the sending of a. */
void store_args_route_as(store_args_t *a, const store_args_t *from);

#endif
