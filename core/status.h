/*
 * What every store and mongo function returns: ok, or why not. The api
 * layer maps these to HTTP statuses in exactly one place (api/http/problem.c).
 * It lives in core/ so that mongo/ and store/ share it without one
 * including the other; the names keep their historical STORE_ prefix.
 */
#ifndef CORE_STATUS_H
#define CORE_STATUS_H

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* the thing asked for does not exist */
    STORE_CONFLICT,    /* it exists already, or the change collides */
    STORE_UNAVAILABLE, /* Redis could not be reached, timed out, or is not serving */
    STORE_ERROR,       /* Redis answered with an error, or memory ran out */
    STORE_DISABLED,    /* the backing store is not configured (MONGODB_URI unset) */
    /* the caller is over a rate limit: nothing was changed */
    STORE_RATE_LIMITED,
    /* a stored document breaks its schema (written by another tool): it is
     * not read with invented values */
    STORE_BAD_DATA,
    /* a write was sent and no answer came: it may or may not have been done */
    STORE_UNCONFIRMED,
} store_status_t;

/* A status's name for a log line ("unavailable"); a static string. */
const char *store_status_name(store_status_t st);

#endif
