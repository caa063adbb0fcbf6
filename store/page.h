/*
 * Paging in id order over an index kept per bucket (keys.h): the one page
 * reader of every list (clients, online users, rooms).
 *
 * The index is a sorted set per bucket, every member scored 0, so
 * ZRANGEBYLEX reads it in id order from any point. A page merges the
 * buckets: one round fetches, per bucket, the next k ids after the cursor
 * and the bucket's count (the total is their sum); the merged ids are
 * exact up to the smallest last id among the buckets that returned k (a
 * bucket that returned fewer has nothing more); more ids are fetched only
 * from those buckets, and only when the page is not full yet. Each id is
 * then read (and checked) by the list's own reader, which may drop it (an
 * index entry whose entity is gone, or expired), and the page fills on.
 *
 * The cursor is the last id of the page, and the next page starts after it
 * whether or not that id still exists: items added or removed between two
 * pages never make a page skip an item that existed throughout, nor repeat
 * one.
 *
 * The small lists of one entity (a user's sessions, a room's participants,
 * who types in a room) are read whole as ids, then paged the same way by
 * store_page_ids: in id order after the cursor, each id read by the list's
 * reader, which may drop it, and the page fills on. Every list answers the
 * same store_page_t.
 */
#ifndef STORE_PAGE_H
#define STORE_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/ids.h"
#include "args.h"
#include "keys.h"
#include "status.h"

/* A page of any list. */
typedef struct {
    long long total;                   /* every item of the list, not just this page; -1
                                          for a list that cannot count itself cheaply */
    int n;                             /* items on this page */
    void *items;                       /* n items of the list's type; owned: store_page_free */
    char next_cursor[CORE_ID_MAX + 1]; /* "" on the last page */
} store_page_t;

/* What one list is (store_page_ids uses item_size, read and ctx only). */
typedef struct {
    store_key_t index; /* per bucket: the ids, each scored 0 */
    size_t item_size;  /* the list's item type */
    /* What the total counts, per bucket: every entry of count_index
     * (ZCARD), or with count_after_ms > 0 those scored after it (ZCOUNT). */
    store_key_t count_index;
    int64_t count_after_ms;
    /* Reads the items of n ids (in id order) into items[0 .. n-1] (each set
     * to zero before), and keep[i] false for an id not to list. */
    store_status_t (*read)(int n, const char *const *ids, void *items, bool *keep, const void *ctx);
    const void *ctx; /* passed to read */
} store_page_spec_t;

/* Up to limit (>= 1) items after cursor ("" or NULL: from the start) into
 * *out. On success the caller frees the page with store_page_free; on
 * failure *out is empty. */
store_status_t store_page_read(const store_page_spec_t *spec, const char *cursor, int limit,
                               store_page_t *out);

/* The same over ids the caller read whole (n of them, each NUL-terminated
 * and at most CORE_ID_MAX bytes; any order, and ids is sorted in place):
 * up to limit items after cursor, in id order. total is what out->total
 * says (-1: unknown). The ids stay the caller's. */
store_status_t store_page_ids(const store_page_spec_t *spec, int n, const char **ids,
                              const char *cursor, int limit, long long total, store_page_t *out);

/* In a list read whole (n items of item_size bytes, each starting with its
 * NUL-terminated id), the index of the first item after the one whose id is
 * cursor: 0 for no cursor (NULL or ""). A cursor no list item has gives 0
 * when restart (the list lost its oldest items, the cursor's among them, and
 * the rest come after it), else n (the list lost its items past the cursor). */
int store_page_start(const void *items, int n, size_t item_size, const char *cursor, bool restart);

/* Cuts a list read whole (*n items as for store_page_start) down to a page
 * in place: up to limit items from index start on move to the front, drop
 * (when not NULL) releases what each other item owns, and *n becomes the
 * page's size. next_cursor (cursor_cap bytes) gets the page's last id when
 * more items follow it, else "". */
void store_page_cut(void *items, int *n, size_t item_size, int start, int limit,
                    void (*drop)(void *item), char *next_cursor, size_t cursor_cap);

void store_page_free(store_page_t *p);

#endif
