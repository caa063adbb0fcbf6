/* Argument vectors for Redis commands; see args.h. */
#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/decimal.h"
#ifdef STORE_CHECK_SLOTS
#include "../core/crc16.h"
#endif

struct store_chunk {
    store_chunk_t *next;
    char data[];
};

void store_args_init(store_args_t *a) {
    a->argc = 0;
    a->cap = STORE_ARGS_INLINE;
    a->argv = a->argv_inline;
    a->lens = a->lens_inline;
    a->arena_used = 0;
    a->chunks = NULL;
    a->route = NULL;
    a->route_len = 0;
    a->oom = false;
#ifdef STORE_CHECK_SLOTS
    a->slot = -1;
#endif
}

void store_args_free(store_args_t *a) {
    if (a->argv != a->argv_inline) {
        free(a->argv);
        free(a->lens);
    }
    while (a->chunks) {
        store_chunk_t *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
    store_args_init(a);
}

static bool grow(store_args_t *a) {
    if (a->argc < a->cap)
        return true;
    int cap = a->cap * 2;
    const char **argv = malloc(sizeof *argv * (size_t)cap);
    size_t *lens = malloc(sizeof *lens * (size_t)cap);
    if (!argv || !lens) {
        free(argv);
        free(lens);
        a->oom = true;
        return false;
    }
    memcpy(argv, a->argv, sizeof *argv * (size_t)a->argc);
    memcpy(lens, a->lens, sizeof *lens * (size_t)a->argc);
    if (a->argv != a->argv_inline) {
        free(a->argv);
        free(a->lens);
    }
    a->argv = argv;
    a->lens = lens;
    a->cap = cap;
    return true;
}

/* Room for n bytes that stays put until store_args_free. */
static char *reserve(store_args_t *a, size_t n) {
    if (a->arena_used + n <= sizeof a->arena) {
        char *p = a->arena + a->arena_used;
        a->arena_used += n;
        return p;
    }
    store_chunk_t *c = malloc(sizeof *c + n);
    if (!c) {
        a->oom = true;
        return NULL;
    }
    c->next = a->chunks;
    a->chunks = c;
    return c->data;
}

void store_args_add(store_args_t *a, const char *s, size_t len) {
    if (!grow(a))
        return;
    a->argv[a->argc] = s;
    a->lens[a->argc] = len;
    a->argc++;
}

void store_args_str(store_args_t *a, const char *s) { store_args_add(a, s, strlen(s)); }

void store_args_copy(store_args_t *a, const char *s, size_t len) {
    char *p = reserve(a, len);
    if (!p)
        return;
    memcpy(p, s, len);
    store_args_add(a, p, len);
}

void store_args_int(store_args_t *a, long long v) {
    char *p = reserve(a, 24); /* CORE_DECIMAL_MAX, rounded up to keep the arena aligned */
    if (!p)
        return;
    size_t n = core_decimal(v, p);
    p[n] = '\0';
    store_args_add(a, p, n);
}

#ifdef STORE_CHECK_SLOTS
/* A command whose keys are in two slots cannot run in a Redis Cluster (and
 * a script over them is not atomic there): stop at once, naming them. */
static void check_slot(store_args_t *a, const char *name, size_t len) {
    int slot = core_key_slot(name, len);
    if (a->slot < 0) {
        a->slot = slot;
        return;
    }
    if (slot == a->slot)
        return;
    fprintf(stderr,
            "STORE_CHECK_SLOTS: key '%.*s' (slot %d) in a command whose keys are in slot %d:",
            (int)len, name, slot, a->slot);
    for (int i = 0; i < a->argc; i++)
        fprintf(stderr, " %.*s", (int)(a->lens[i] > 80 ? 80 : a->lens[i]), a->argv[i]);
    fprintf(stderr, "\n");
    abort();
}
#endif

/* Copies a key name into the arena as the next argument; the first is the
 * routing key. */
void store_args_keyname(store_args_t *a, const char *name, size_t len) {
#ifdef STORE_CHECK_SLOTS
    check_slot(a, name, len);
#endif
    char *p = reserve(a, len);
    if (!p)
        return;
    memcpy(p, name, len);
    store_args_add(a, p, len);
    if (!a->route) {
        a->route = p;
        a->route_len = len;
    }
}

void store_args_key2(store_args_t *a, store_key_t k, const char *id, const char *id2) {
    char key[STORE_KEY_MAX];
    size_t n = store_key2(key, k, id, id2);
    store_args_keyname(a, key, n);
}

void store_args_key(store_args_t *a, store_key_t k, const char *id) {
    char key[STORE_KEY_MAX];
    size_t n = store_key(key, k, id);
    store_args_keyname(a, key, n);
}

void store_args_index(store_args_t *a, store_key_t k, int b) {
    char key[STORE_KEY_MAX];
    size_t n = store_key_index(key, k, b);
    store_args_keyname(a, key, n);
}

void store_args_route_as(store_args_t *a, const store_args_t *from) {
    a->route = from->route;
    a->route_len = from->route_len;
}
