/*
 * Idempotency keys (the IETF httpapi Idempotency-Key draft): the
 * "idempotency" collection, one record per key,
 *   {_id: key, fingerprint: "<sha-256 hex of the request>", created_at: date,
 *    lease_until: date, owner: "<24 hex>", status?, body?, location?}
 * kept in MongoDB beside the data it protects, so nothing that loses Redis
 * can make a retry store rows twice.
 *
 * No transaction covers a record and the rows it guards, so the writes
 * themselves are idempotent: with a key, every stored document's _id is
 * derived from the key, the row's index and the first attempt's clock
 * (mongo_idem_oid), and a retry that inserts it again meets a duplicate key,
 * which counts as "already stored". The record only adds the replay of a
 * finished answer, the refusal of a different request under the same key, and
 * a lease that tells a concurrent duplicate (409) from a retry after a crash
 * (which takes the work over when the lease has run out). Correctness never
 * depends on the lease: two attempts that run at once store the same ids.
 *
 * Records are deleted 24 h after their first attempt by the background
 * thread (mongo/aggregator.c): FerretDB has no TTL indexes.
 */
#ifndef MONGO_IDEMPOTENCY_H
#define MONGO_IDEMPOTENCY_H

#include <bson/bson.h>
#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

#define MONGO_IDEM_KEY_MAX 255
#define MONGO_IDEM_TTL_MS (24LL * 3600 * 1000)

/* How a write names what it stores: with an idempotency key, ids are derived
 * from it; now_ms is the request's clock (on a retry, the first attempt's, so
 * a retry writes the very same documents). */
typedef struct {
    const char *idem_key; /* NULL: fresh ObjectIds */
    int64_t now_ms;
} mongo_write_t;

typedef enum {
    MONGO_IDEM_NEW,         /* first use of the key: this request owns it */
    MONGO_IDEM_TAKEN_OVER,  /* an earlier attempt stopped without an answer: this one goes on */
    MONGO_IDEM_DONE,        /* answered before: replay status, body, location */
    MONGO_IDEM_MISMATCH,    /* the key was used for a different request */
    MONGO_IDEM_IN_PROGRESS, /* another attempt holds the lease for lease_left_ms more */
} mongo_idem_state_t;

typedef struct {
    mongo_idem_state_t state;
    int64_t created_ms;    /* the first attempt's clock */
    char owner[25];        /* NEW / TAKEN_OVER: this attempt's lease token */
    int64_t lease_left_ms; /* IN_PROGRESS */
    int status;            /* DONE: the answer */
    char *body;            /* DONE: owned, free with mongo_idem_free */
    size_t body_len;
    char location[160]; /* DONE: "" when the answer had none */
} mongo_idem_t;

/* Claims key for a request whose fingerprint (64 hex digits) is given, at
 * now_ms. On STORE_OK, out->state says what to do. A failure (MongoDB away)
 * has stored nothing. */
store_status_t mongo_idem_begin(const char *key, const char *fingerprint, int64_t now_ms,
                                mongo_idem_t *out);

/* Keeps the lease of a long request alive (between the chunks of a batch). */
store_status_t mongo_idem_extend(const char *key, int64_t now_ms);

/* Stores the final answer of the request (body is len bytes; location may be
 * NULL): later attempts replay it. */
store_status_t mongo_idem_finish(const char *key, int status, const char *body, size_t len,
                                 const char *location);

/* Gives the key up without an answer (an error, a partial result), so that a
 * retry goes on at once instead of waiting for the lease. The fingerprint
 * stays: the key still belongs to this request. */
store_status_t mongo_idem_release(const char *key);

void mongo_idem_free(mongo_idem_t *r);

/* The _id of the index-th document of kind ("observation", "user") stored
 * under key: its first 4 bytes are the first attempt's time in seconds (as in
 * any ObjectId), the other 8 a SHA-256 of kind, key and index. */
void mongo_idem_oid(const char *key, int64_t created_ms, const char *kind, long index,
                    bson_oid_t *out);

/* The _id of a new document: derived as above when w has a key, else fresh. */
void mongo_write_oid(const mongo_write_t *w, const char *kind, long index, bson_oid_t *out);

/* Deletes the records created before older_than_ms, on client c (the
 * background thread's). Returns how many, or -1 on failure. */
long mongo_idem_reap(mongoc_client_t *c, int64_t older_than_ms);

#endif
