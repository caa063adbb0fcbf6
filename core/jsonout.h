/*
 * JSON text out, compact (no whitespace), in one of two ways: a writer that
 * the caller drives value by value, front to back, or a cJSON tree printed as
 * cJSON_PrintUnformatted prints it. Both share one number printer and the
 * service's one escaper (core/utf8.h): every string comes out as valid UTF-8
 * whatever bytes it held (cJSON copies them as they are), each ill-formed
 * sequence as U+FFFD, and DEL and the C1 controls escaped as \u00XX besides
 * what cJSON escapes.
 *
 * The writer is for answers too large to build as a tree first: a page of
 * 1 000 online users cost three allocations per field as cJSON nodes, all
 * freed again after printing, about half of the page's instructions. The
 * tree printer is for the rest, for less than cJSON's own: cJSON 1.7.15
 * prints every number with sprintf("%1.15g") and reads it back with sscanf
 * (about 3 000 instructions each). Integral numbers (every count, size and
 * millisecond time this service sends) are written here digit by digit; the
 * others as cJSON writes them, except that 17 digits are written whenever 15
 * do not read back exactly (cJSON accepts 15 within an epsilon, so
 * 9007199254740992 came out as 9.00719925474099e+15). NaN and infinities are
 * written as null, as cJSON writes them.
 */
#ifndef CORE_JSONOUT_H
#define CORE_JSONOUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays: past cJSON's own parsing limit
 * (1 000), so any tree cJSON parsed can be printed. */
#define CORE_JSONW_DEPTH 1024

/* A text being written. Commas are the writer's business: the caller only
 * opens and closes containers, names keys and gives values. A key must come
 * before every value inside an object, and never elsewhere. */
typedef struct {
    char *p;
    size_t n, cap;
    bool failed;                               /* out of memory or misused: finish returns NULL */
    bool after_key;                            /* the next value follows a key: no comma */
    int depth;                                 /* open containers */
    uint64_t has_item[CORE_JSONW_DEPTH / 64];  /* bit d: the container at depth d holds an item */
    uint64_t is_object[CORE_JSONW_DEPTH / 64]; /* bit d: it is an object (else an array) */
} core_jsonw_t;

void core_jsonw_init(core_jsonw_t *w);
void core_jsonw_object(core_jsonw_t *w); /* opens { */
void core_jsonw_array(core_jsonw_t *w);  /* opens [ */
void core_jsonw_end(core_jsonw_t *w);    /* closes the innermost */
void core_jsonw_key(core_jsonw_t *w, const char *key);
void core_jsonw_string(core_jsonw_t *w, const char *s); /* NULL writes "" */
void core_jsonw_int(core_jsonw_t *w, long long v);
void core_jsonw_number(core_jsonw_t *w, double v);
void core_jsonw_bool(core_jsonw_t *w, bool v);
void core_jsonw_null(core_jsonw_t *w);
/* s, or null when s is NULL or empty (an absent device id, the last page's
 * cursor) */
void core_jsonw_string_or_null(core_jsonw_t *w, const char *s);

/* Writes the tree item (a value, with its members) where a value may come,
 * then frees it (cJSON_Delete): the items of a list built as trees. A NULL
 * item (out of memory while building it) fails the writer. */
void core_jsonw_take_tree(core_jsonw_t *w, cJSON *item);

/* The text, NUL-terminated, in a malloc()ed buffer the caller frees with
 * free(), its length (without the NUL) in *len when len is not NULL; the
 * writer is spent. NULL (and everything freed) when memory ran out, a
 * container is still open, or the writer was misused. */
char *core_jsonw_finish(core_jsonw_t *w, size_t *len);

/* Frees what a writer holds without making text (an error path). */
void core_jsonw_discard(core_jsonw_t *w);

/* The tree as text, on the same terms as core_jsonw_finish; NULL for a NULL
 * item. */
char *core_json_print(const cJSON *item, size_t *len);

#endif
