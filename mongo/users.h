/*
 * Users, the source of truth for who exists: the "users" collection,
 *   {_id: ObjectId, username (unique), name, email?, created_at: date, updated_at: date}
 */
#ifndef MONGO_USERS_H
#define MONGO_USERS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/status.h"
#include "idempotency.h"

#define MONGO_OID_HEX 25 /* 24 hex digits and a NUL */

typedef struct {
    char id[MONGO_OID_HEX];
    char username[65];
    char name[257];
    char email[257]; /* "" when none */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} mongo_user_t;

typedef struct {
    int n;
    mongo_user_t *items;             /* owned: mongo_user_page_free */
    char next_cursor[MONGO_OID_HEX]; /* "" on the last page */
} mongo_user_page_t;

/* Inserts a user created at w->now_ms; STORE_CONFLICT when the username is
 * taken, STORE_UNCONFIRMED when MongoDB did not answer (it may be stored).
 * *out is the stored user. email may be NULL. With an idempotency key
 * the _id is derived from it, and finding that very user already stored (an
 * earlier attempt of the request) is success. */
store_status_t mongo_users_create(const mongo_write_t *w, const char *username, const char *name,
                                  const char *email, mongo_user_t *out);

/* id is 24 hex digits. STORE_BAD_DATA when the stored document breaks the
 * schema; *why (may be NULL) then says how. */
store_status_t mongo_users_get(const char *id, mongo_user_t *out, const char **why);

/* Up to limit users in _id order after cursor (NULL = from the start). */
store_status_t mongo_users_list(const char *cursor, int limit, mongo_user_page_t *out);

/* Sets name and/or email (NULL leaves a field as it is; clear_email removes
 * the email); *out is the user afterwards. STORE_NOT_FOUND when absent;
 * STORE_BAD_DATA (the change made, *why saying what else breaks the schema)
 * when the document was not a valid user. why may be NULL. */
store_status_t mongo_users_update(const char *id, const char *name, const char *email,
                                  bool clear_email, int64_t now_ms, mongo_user_t *out,
                                  const char **why);

/* STORE_NOT_FOUND when absent. */
store_status_t mongo_users_delete(const char *id);

void mongo_user_page_free(mongo_user_page_t *p);

/* Reads a users document into *out. Returns NULL, or what breaks the schema
 * (a required field missing or of the wrong type; a static text). */
const char *mongo_user_from_bson(const bson_t *doc, mongo_user_t *out);

#endif
