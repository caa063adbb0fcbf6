/* The segment aggregator thread and its lease; see aggregator.h. */
#include "aggregator.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/timefmt.h"
#include "doc.h"
#include "idempotency.h"
#include "pool.h"
#include "segments.h"

#define LEASES "leases"
#define LEASE_NAME "segments"
/* A pass reads whole cells, which may take longer than a request may wait. */
#define BACKGROUND_SOCKET_TIMEOUT_MS 30000
#define REAP_INTERVAL_MS (60 * 1000)

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool running, stopping, woken;

/* The lease, touched by the thread only. */
static char owner[25];
static long long my_epoch; /* 0: not held */
static int64_t my_until;

/* The newest lease document: its epoch, owner and expiry. False when none. */
static bool latest_lease(mongoc_collection_t *leases, long long *epoch, char *who, size_t cap,
                         int64_t *until) {
    bson_t *filter = BCON_NEW("name", BCON_UTF8(LEASE_NAME));
    bson_t *opts = BCON_NEW("sort", "{", "epoch", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(leases, filter, opts, NULL);
    const bson_t *doc;
    bool found = mongoc_cursor_next(cur, &doc);
    double e = 0;
    if (found) {
        mongo_doc_number(doc, "epoch", &e);
        mongo_doc_utf8(doc, "owner", who, cap);
        if (!mongo_doc_has_date(doc, "until", until))
            *until = 0;
    }
    *epoch = (long long)e;
    bson_error_t err;
    if (mongoc_cursor_error(cur, &err)) {
        mongo_error_status(&err);
        found = false;
        *epoch = -1; /* unknown: do not take anything over */
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return found;
}

/* The _id of lease document epoch. */
static void lease_id(long long epoch, char out[48]) {
    snprintf(out, 48, LEASE_NAME ":%lld", epoch);
}

/* Sets the expiry of lease document epoch; true when done. */
static bool renew(mongoc_collection_t *leases, long long epoch, int64_t until) {
    char id[48];
    lease_id(epoch, id);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *update = BCON_NEW("$set", "{", "until", BCON_DATE_TIME(until), "}");
    bool ok = mongoc_collection_update_one(leases, filter, update, NULL, NULL, NULL);
    bson_destroy(filter);
    bson_destroy(update);
    return ok;
}

/* Inserts lease document epoch as ours; false when another instance did first. */
static bool take(mongoc_collection_t *leases, long long epoch, int64_t until) {
    char id[48];
    lease_id(epoch, id);
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(id), "name", BCON_UTF8(LEASE_NAME), "epoch", BCON_INT64(epoch),
                 "owner", BCON_UTF8(owner), "until", BCON_DATE_TIME(until));
    bool ok = mongoc_collection_insert_one(leases, doc, NULL, NULL, NULL);
    bson_destroy(doc);
    if (ok) { /* the documents of old epochs are history only */
        bson_t *old = BCON_NEW("name", BCON_UTF8(LEASE_NAME), "epoch", "{", "$lt",
                               BCON_INT64(epoch - 4), "}");
        mongoc_collection_delete_many(leases, old, NULL, NULL, NULL);
        bson_destroy(old);
    }
    return ok;
}

/* Holds the lease: renews ours when half of it is gone, or takes an expired
 * one over. True while this instance may write segments. */
static bool hold(mongoc_client_t *c) {
    int64_t now = core_now_ms();
    if (my_epoch && my_until - now > MONGO_AGG_LEASE_MS / 2)
        return true;
    mongoc_collection_t *leases = mongoc_client_get_collection(c, mongo_db_name(), LEASES);
    long long epoch;
    char who[32] = "";
    int64_t until = 0;
    bool found = latest_lease(leases, &epoch, who, sizeof who, &until);
    bool held = false;
    if (epoch < 0) {
        held = false;
    } else if (found && my_epoch == epoch && strcmp(who, owner) == 0 && until > now) {
        held = renew(leases, epoch, now + MONGO_AGG_LEASE_MS);
    } else if (!found || until <= now) {
        held = take(leases, epoch + 1, now + MONGO_AGG_LEASE_MS);
        if (held) {
            my_epoch = epoch + 1;
            log_event(LOG_INFO, "segment aggregator: took lease %lld", my_epoch);
        }
    }
    if (held)
        my_until = now + MONGO_AGG_LEASE_MS;
    else
        my_epoch = 0;
    mongoc_collection_destroy(leases);
    return held;
}

/* Gives the lease up (a clean stop): the next instance need not wait. */
static void release(mongoc_client_t *c) {
    if (!my_epoch)
        return;
    mongoc_collection_t *leases = mongoc_client_get_collection(c, mongo_db_name(), LEASES);
    renew(leases, my_epoch, 0);
    mongoc_collection_destroy(leases);
    my_epoch = 0;
}

/* Passes until the queue is empty, the lease is lost, or something fails. */
static void work(mongoc_client_t *c) {
    static store_status_t last = STORE_OK;
    bool more = true;
    while (more && hold(c)) {
        pthread_mutex_lock(&mu);
        bool stop = stopping;
        pthread_mutex_unlock(&mu);
        if (stop)
            return;
        int done = 0;
        store_status_t st = mongo_segments_pass(c, MONGO_AGG_PAGE, hold, &done, &more);
        if (st != last) /* one line per change, not one per second */
            log_event(st == STORE_OK ? LOG_INFO : LOG_WARN, "segment aggregator: %s",
                      st == STORE_OK ? "passes succeed again" : store_status_name(st));
        last = st;
        if (st != STORE_OK)
            return;
        if (done == 0)
            return; /* only entries whose observations have not come yet */
    }
}

static void *run(void *arg) {
    (void)arg;
    mongoc_client_t *c = NULL;
    int64_t next_reap = 0;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        if (!woken) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += MONGO_AGG_INTERVAL_MS / 1000;
            until.tv_nsec += (MONGO_AGG_INTERVAL_MS % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&cv, &mu, &until);
        }
        woken = false;
        if (stopping)
            break;
        pthread_mutex_unlock(&mu);
        if (!c)
            c = mongo_client_new_background(BACKGROUND_SOCKET_TIMEOUT_MS);
        if (c && mongo_ensure_indexes(c) == STORE_OK && hold(c)) {
            work(c);
            int64_t now = core_now_ms();
            if (now >= next_reap) {
                mongo_idem_reap(c, now - MONGO_IDEM_TTL_MS);
                next_reap = now + REAP_INTERVAL_MS;
            }
        }
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    if (c) {
        release(c);
        mongoc_client_destroy(c);
    }
    return NULL;
}

bool mongo_aggregator_start(void) {
    if (!mongo_enabled())
        return true;
    bson_oid_t token;
    bson_oid_init(&token, NULL);
    bson_oid_to_string(&token, owner);
    stopping = false;
    woken = true; /* a first pass at once: work a crash left behind */
    if (pthread_create(&thread, NULL, run, NULL) != 0)
        return false;
    running = true;
    return true;
}

void mongo_aggregator_stop(void) {
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    running = false;
}

void mongo_aggregator_wake(void) {
    pthread_mutex_lock(&mu);
    woken = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}
