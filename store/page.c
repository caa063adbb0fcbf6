/* The merged page over the buckets; see page.h. */
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "reply.h"

typedef char page_id_t[CORE_ID_MAX + 1];

/* What has been fetched from one bucket and not taken yet. */
typedef struct {
    page_id_t *ids; /* k of them at most */
    int len, pos;
    bool more; /* the last fetch filled the batch: the bucket may hold more */
} bucket_t;

/* The state of one page being read. */
typedef struct {
    const store_page_spec_t *spec;
    int k, limit;
    bucket_t b[STORE_BUCKETS];
    char *items; /* limit + 1 of them: the extra one says there is a next page */
    int accepted;
    char after[32]; /* "(<count_after_ms>": ZCOUNT's exclusive minimum */
    size_t after_len;
} pager_t;

/* The per-bucket batch a page fetches for a limit. */
static int page_batch(int limit) {
    /* ids spread evenly over the buckets: a full page needs (limit + 1) / 16
     * of each, and twice that and a few more is enough for nearly every
     * page in one round; never more than a page */
    int k = (limit + 1) / (STORE_BUCKETS / 2) + 4;
    return k < limit + 1 ? k : limit + 1;
}

/* Adds ZRANGEBYLEX index_b (after + LIMIT 0 k to cmd; after "" from the start. */
static void add_range(store_args_t *cmd, const pager_t *p, int b, const char *after) {
    store_args_str(cmd, "ZRANGEBYLEX");
    store_args_index(cmd, p->spec->index, b);
    if (after && *after) {
        char start[CORE_ID_MAX + 2];
        start[0] = '(';
        size_t n = strlen(after);
        memcpy(start + 1, after, n);
        store_args_copy(cmd, start, n + 1);
    } else {
        store_args_str(cmd, "-");
    }
    store_args_str(cmd, "+");
    store_args_str(cmd, "LIMIT");
    store_args_str(cmd, "0");
    store_args_int(cmd, p->k);
}

/* Adds the command that counts bucket b for the total. */
static void add_count(store_args_t *cmd, const pager_t *p, int b) {
    const store_page_spec_t *spec = p->spec;
    store_args_str(cmd, spec->count_after_ms > 0 ? "ZCOUNT" : "ZCARD");
    store_args_index(cmd, spec->count_index, b);
    if (spec->count_after_ms > 0) {
        store_args_add(cmd, p->after, p->after_len);
        store_args_str(cmd, "+inf");
    }
}

/* Takes a ZRANGEBYLEX reply as bucket b's new batch. */
static void take_batch(pager_t *p, int b, const redisReply *r) {
    bucket_t *bk = &p->b[b];
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    bk->len = bk->pos = 0;
    for (size_t i = 0; i < n && bk->len < p->k; i++)
        if (store_reply_copy(r->element[i], bk->ids[bk->len], sizeof(page_id_t)) &&
            bk->ids[bk->len][0])
            bk->len++;
    bk->more = (int)n >= p->k;
}

/* Fetches the next batch of every bucket in want (after its last id, or
 * after the cursor on the first round, when counts also gets each bucket's
 * count). */
static store_status_t fetch(pager_t *p, const bool *want, const char *cursor, long long *total) {
    store_batch_t batch;
    store_batch_init(&batch, 2 * STORE_BUCKETS);
    int which[2 * STORE_BUCKETS];
    for (int b = 0; b < STORE_BUCKETS; b++) {
        if (!want[b])
            continue;
        const bucket_t *bk = &p->b[b];
        which[batch.n] = b;
        add_range(store_batch_add(&batch), p, b, total ? cursor : bk->ids[bk->len - 1]);
        if (total) {
            which[batch.n] = -1 - b;
            add_count(store_batch_add(&batch), p, b);
        }
    }
    store_status_t st = store_batch_run(&batch);
    for (int i = 0; st == STORE_OK && i < batch.n; i++) {
        if (which[i] >= 0)
            take_batch(p, which[i], store_batch_reply(&batch, i));
        else
            *total += store_reply_int(store_batch_reply(&batch, i), 0);
    }
    store_batch_free(&batch);
    return st;
}

/* The smallest last id among the buckets that may hold more: every id up
 * to it has been fetched. NULL when no bucket holds more. */
static const char *frontier(const pager_t *p) {
    const char *f = NULL;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        const bucket_t *bk = &p->b[b];
        if (bk->more && (!f || strcmp(bk->ids[bk->len - 1], f) < 0))
            f = bk->ids[bk->len - 1];
    }
    return f;
}

/* Takes up to want fetched ids in id order, none past the frontier, into
 * ids[]; returns how many. */
static int merge(pager_t *p, const char **ids, int want) {
    const char *f = frontier(p);
    int m = 0;
    while (m < want) {
        int best = -1;
        for (int b = 0; b < STORE_BUCKETS; b++) {
            const bucket_t *bk = &p->b[b];
            if (bk->pos == bk->len || (f && strcmp(bk->ids[bk->pos], f) > 0))
                continue;
            if (best < 0 || strcmp(bk->ids[bk->pos], p->b[best].ids[p->b[best].pos]) < 0)
                best = b;
        }
        if (best < 0)
            break;
        ids[m++] = p->b[best].ids[p->b[best].pos++];
    }
    return m;
}

/* Reads the m candidates and appends those the list keeps. */
static store_status_t read_candidates(pager_t *p, const char **ids, int m,
                                      page_id_t *accepted_ids) {
    size_t size = p->spec->item_size;
    char *tmp = calloc((size_t)m, size);
    bool *keep = calloc((size_t)m, sizeof *keep);
    store_status_t st = tmp && keep ? p->spec->read(m, ids, tmp, keep, p->spec->ctx) : STORE_ERROR;
    for (int i = 0; st == STORE_OK && i < m; i++) {
        if (!keep[i])
            continue;
        memcpy(p->items + (size_t)p->accepted * size, tmp + (size_t)i * size, size);
        strcpy(accepted_ids[p->accepted++], ids[i]);
    }
    free(tmp);
    free(keep);
    return st;
}

/* Fills the page: merges, reads, and fetches more from the buckets that
 * may hold more, until limit + 1 items are kept or every bucket is done. */
static store_status_t fill(pager_t *p, page_id_t *accepted_ids) {
    const char **ids = malloc(sizeof *ids * (size_t)(p->limit + 1));
    store_status_t st = ids ? STORE_OK : STORE_ERROR;
    while (st == STORE_OK && p->accepted < p->limit + 1) {
        int m = merge(p, ids, p->limit + 1 - p->accepted);
        if (m > 0) {
            st = read_candidates(p, ids, m, accepted_ids);
            continue;
        }
        bool want[STORE_BUCKETS], any = false;
        for (int b = 0; b < STORE_BUCKETS; b++) {
            want[b] = p->b[b].more && p->b[b].pos == p->b[b].len;
            any |= want[b];
        }
        if (!any)
            break; /* every bucket is done */
        st = fetch(p, want, NULL, NULL);
    }
    free(ids);
    return st;
}

/* Allocates what a page of limit items needs; false when out of memory. */
static bool pager_alloc(pager_t *p, page_id_t **accepted_ids) {
    *accepted_ids = malloc(sizeof **accepted_ids * ((size_t)p->limit + 1));
    p->items = malloc(p->spec->item_size * ((size_t)p->limit + 1));
    return *accepted_ids && p->items;
}

/* Hands the page over to out (on success) and frees the rest. */
static store_status_t pager_finish(pager_t *p, page_id_t *accepted_ids, store_status_t st,
                                   store_page_t *out) {
    if (st == STORE_OK) {
        out->n = p->accepted < p->limit ? p->accepted : p->limit;
        if (p->accepted > p->limit)
            strcpy(out->next_cursor, accepted_ids[p->limit - 1]);
        out->items = p->items;
        p->items = NULL;
    }
    free(accepted_ids);
    free(p->items);
    if (st != STORE_OK)
        memset(out, 0, sizeof *out);
    return st;
}

store_status_t store_page_read(const store_page_spec_t *spec, const char *cursor, int limit,
                               store_page_t *out) {
    memset(out, 0, sizeof *out);
    pager_t p = {.spec = spec, .k = page_batch(limit), .limit = limit};
    p.after_len =
        (size_t)snprintf(p.after, sizeof p.after, "(%lld", (long long)spec->count_after_ms);
    /* not zeroed: each is written before it is read */
    page_id_t *store = malloc(sizeof *store * (size_t)(STORE_BUCKETS * p.k));
    page_id_t *accepted_ids;
    store_status_t st = pager_alloc(&p, &accepted_ids) && store ? STORE_OK : STORE_ERROR;
    bool all[STORE_BUCKETS];
    for (int b = 0; b < STORE_BUCKETS; b++) {
        p.b[b].ids = store ? store + b * p.k : NULL;
        all[b] = true;
    }
    if (st == STORE_OK)
        st = fetch(&p, all, cursor, &out->total);
    if (st == STORE_OK)
        st = fill(&p, accepted_ids);
    free(store);
    return pager_finish(&p, accepted_ids, st, out);
}

static int by_id(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

store_status_t store_page_ids(const store_page_spec_t *spec, int n, const char **ids,
                              const char *cursor, int limit, long long total, store_page_t *out) {
    memset(out, 0, sizeof *out);
    pager_t p = {.spec = spec, .limit = limit};
    page_id_t *accepted_ids;
    store_status_t st = pager_alloc(&p, &accepted_ids) ? STORE_OK : STORE_ERROR;
    qsort(ids, (size_t)n, sizeof *ids, by_id);
    int next = 0;
    while (next < n && cursor && *cursor && strcmp(ids[next], cursor) <= 0)
        next++;
    while (st == STORE_OK && next < n && p.accepted < limit + 1) {
        int m = limit + 1 - p.accepted;
        m = m < n - next ? m : n - next;
        st = read_candidates(&p, ids + next, m, accepted_ids);
        next += m;
    }
    out->total = total;
    return pager_finish(&p, accepted_ids, st, out);
}

int store_page_start(const void *items, int n, size_t item_size, const char *cursor, bool restart) {
    if (!cursor || !*cursor)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp((const char *)items + (size_t)i * item_size, cursor) == 0)
            return i + 1;
    return restart ? 0 : n;
}

void store_page_cut(void *items, int *n, size_t item_size, int start, int limit,
                    void (*drop)(void *item), char *next_cursor, size_t cursor_cap) {
    char *base = items;
    int keep = *n - start < limit ? *n - start : limit;
    for (int i = 0; drop && i < *n; i++)
        if (i < start || i >= start + keep)
            drop(base + (size_t)i * item_size);
    if (keep > 0)
        memmove(base, base + (size_t)start * item_size, item_size * (size_t)keep);
    next_cursor[0] = '\0';
    if (keep > 0 && start + keep < *n)
        snprintf(next_cursor, cursor_cap, "%s", base + (size_t)(keep - 1) * item_size);
    *n = keep;
}

void store_page_free(store_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}
