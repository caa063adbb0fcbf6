/*
 * Errors as RFC 9457 problem details (application/problem+json):
 * {"type","title","status","detail"}. This file is the one place where a
 * store status becomes an HTTP status.
 */
#ifndef API_PROBLEM_H
#define API_PROBLEM_H

#include "../../core/status.h"
#include "request.h"

/* Replies status with a problem whose detail is the formatted text. The
 * detail may quote what a client sent (a Content-Type, a method, a field's
 * name), cut short anywhere: it is written through the one escaper
 * (core/utf8.h), so the body is valid UTF-8 and valid JSON whatever the bytes. */
void api_problem(api_req_t *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replies the problem for a failed store call: NOT_FOUND 404 ("<what> not
 * found"), CONFLICT 409 ("<what> already exists"), UNAVAILABLE 503 with
 * Retry-After, RATE_LIMITED 429 with Retry-After: 1, ERROR 500. what names the
 * resource: "client 'cam-1'". */
void api_problem_store(api_req_t *r, store_status_t st, const char *what);

/* api_problem_store, where a RATE_LIMITED status (429) says when to retry:
 * Retry-After is retry_after_s (at least 1). */
void api_problem_store_after(api_req_t *r, store_status_t st, const char *what, int retry_after_s);

/* The same for a failed mongo call; DISABLED (no MONGODB_URI) is a 503 too,
 * UNCONFIRMED a 503 that says the write may have been done, and BAD_DATA (a
 * stored document that breaks the schema) a 500. */
void api_problem_mongo(api_req_t *r, store_status_t st, const char *what);

/* api_problem_mongo, where a BAD_DATA detail says what breaks the document
 * (why, from the mongo call; may be NULL). */
void api_problem_mongo_why(api_req_t *r, store_status_t st, const char *what, const char *why);

/* The problem+json text api_problem replies, for status and detail (any
 * bytes), in a malloc()ed buffer the caller frees, its length in *len; NULL
 * when memory ran out. */
char *api_problem_text(unsigned status, const char *detail, size_t *len);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *api_status_title(unsigned status);

#endif
