/*
 * A Redis command's arguments, built without a format string so any byte
 * sequence (an image, an id) travels as one binary-safe argument.
 *
 * Strings added with store_args_add are borrowed: they must outlive the call
 * that sends the command. Keys, numbers and copies live in the args' own
 * arena. Everything is released by store_args_free, by the caller that
 * made the args: every function that sends args borrows them.
 *
 * Keys are added with the store_args_key family, never as plain strings, so
 * that every key of a command is known. The first key added is the
 * command's routing key: in a Redis Cluster the command goes to the master
 * of that key's hash slot (store/conn.c), so every key of one command must
 * share that slot (keys.h: an entity and its bucket's indexes do). A build
 * with -DSTORE_CHECK_SLOTS (make sanitize) checks that as each key is added
 * and aborts, naming the keys, when one does not. A command without a key
 * (PING, INFO, SCAN...) goes to the only server of a standalone Redis; in a
 * cluster it must name its node (store_run_node).
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
#ifdef STORE_CHECK_SLOTS
    int slot; /* the first key's slot, or -1 before any key */
#endif
} store_args_t;

void store_args_init(store_args_t *a);
void store_args_free(store_args_t *a);

/* Borrowed bytes. */
void store_args_add(store_args_t *a, const char *s, size_t len);
/* Borrowed NUL-terminated string. */
void store_args_str(store_args_t *a, const char *s);
/* Copied: len bytes. */
void store_args_copy(store_args_t *a, const char *s, size_t len);
/* Copied: a decimal integer. */
void store_args_int(store_args_t *a, long long v);
/* Copied: the key name store_key(k, id); the routing key if it is the first. */
void store_args_key(store_args_t *a, store_key_t k, const char *id);
/* Copied: the key name store_key2(k, id, id2); the routing key if it is the first. */
void store_args_key2(store_args_t *a, store_key_t k, const char *id, const char *id2);
/* Copied: the key name store_key_index(k, b); the routing key if it is the first. */
void store_args_index(store_args_t *a, store_key_t k, int b);
/* Copied: a key name the caller has (len bytes: one SCAN found, or keys.c
 * built); the routing key if it is the first key. */
void store_args_keyname(store_args_t *a, const char *name, size_t len);
/* Routes a like from, whatever keys a has: for a command that carries
 * another's arguments. The key is borrowed from from, which must outlive
 * the sending of a. */
void store_args_route_as(store_args_t *a, const store_args_t *from);

#endif
