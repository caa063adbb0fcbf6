/*
 * What a MongoDB error means for the caller: a duplicate key, or a write that
 * may have been applied although it failed. Pure classification of the
 * driver's and the server's errors (no state), shared by every mongo/ file.
 */
#ifndef MONGO_ERRORS_H
#define MONGO_ERRORS_H

#include <stdbool.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

/* True when a failed write may still have been applied: the command was sent
 * and no answer came (a timeout, or the connection dropped mid-way). False
 * when it never left (server selection, connect) or the server refused it. */
bool mongo_error_unconfirmed(const bson_error_t *e);

/* True for a duplicate key error (E11000). */
bool mongo_error_duplicate(uint32_t code);

/* An error of the connection rather than of the server (the stream and
 * protocol domains): the command may have been sent. */
bool mongo_error_of_connection(const bson_error_t *e);

#endif
