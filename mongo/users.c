/* The users collection; see users.h. */
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ids.h"
#include "../core/utf8.h"
#include "doc.h"
#include "pool.h"

#define COLLECTION "users"

/* A string field of 1 to cap-1 bytes of UTF-8, copied into out. */
static bool text_field(const bson_t *doc, const char *key, char *out, size_t cap) {
    const char *v = mongo_doc_str(doc, key);
    size_t len = v ? strlen(v) : 0;
    if (!v || len == 0 || len >= cap || !core_utf8_valid(v, len))
        return false;
    memcpy(out, v, len + 1);
    return true;
}

const char *mongo_user_from_bson(const bson_t *doc, mongo_user_t *out) {
    memset(out, 0, sizeof *out);
    if (!mongo_doc_oid(doc, out->id))
        return "'_id' is not an ObjectId";
    if (!text_field(doc, "username", out->username, sizeof out->username) ||
        !core_id_valid(out->username))
        return "'username' is missing or not a username (^[A-Za-z0-9._-]{1,64}$)";
    if (!text_field(doc, "name", out->name, sizeof out->name))
        return "'name' is missing or not a string of 1 to 256 bytes";
    if (!mongo_doc_absent(doc, "email") && !text_field(doc, "email", out->email, sizeof out->email))
        return "'email' is neither absent, null nor a string of up to 256 bytes";
    if (!mongo_doc_has_date(doc, "created_at", &out->created_at_ms))
        return "'created_at' is missing or not a date";
    if (!mongo_doc_has_date(doc, "updated_at", &out->updated_at_ms))
        return "'updated_at' is missing or not a date";
    return NULL;
}

static const char *read_user(const bson_t *doc, void *item) {
    return mongo_user_from_bson(doc, item);
}

/* After a duplicate key on insert: the user stored under oid by an earlier
 * attempt of the same request (STORE_OK), or someone else's username. */
static store_status_t earlier_attempt(mongo_op_t *op, const bson_oid_t *oid, const char *username,
                                      mongo_user_t *out) {
    bson_t *filter = BCON_NEW("_id", BCON_OID(oid));
    store_status_t st = mongo_find_one(op, filter, read_user, out, NULL);
    bson_destroy(filter);
    if (st == STORE_OK && strcmp(out->username, username) == 0)
        return STORE_OK;
    return st == STORE_OK || st == STORE_NOT_FOUND ? STORE_CONFLICT : st;
}

store_status_t mongo_users_create(const mongo_write_t *w, const char *username, const char *name,
                                  const char *email, mongo_user_t *out) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_oid_t oid;
    mongo_write_oid(w, "user", 0, &oid);
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_OID(&doc, "_id", &oid);
    BSON_APPEND_UTF8(&doc, "username", username);
    BSON_APPEND_UTF8(&doc, "name", name);
    if (email)
        BSON_APPEND_UTF8(&doc, "email", email);
    BSON_APPEND_DATE_TIME(&doc, "created_at", w->now_ms);
    BSON_APPEND_DATE_TIME(&doc, "updated_at", w->now_ms);
    bson_error_t e;
    if (mongoc_collection_insert_one(op.coll, &doc, NULL, NULL, &e))
        mongo_user_from_bson(&doc, out);
    else if (w->idem_key && mongo_error_duplicate(e.code))
        st = earlier_attempt(&op, &oid, username, out);
    else if (mongo_error_unconfirmed(&e))
        st = STORE_UNCONFIRMED;
    else
        st = mongo_error_status(&e);
    bson_destroy(&doc);
    mongo_op_end(&op);
    return st;
}

static void oid_filter(bson_t *filter, const char *id) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_init(filter);
    BSON_APPEND_OID(filter, "_id", &oid);
}

store_status_t mongo_users_get(const char *id, mongo_user_t *out, const char **why) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t filter;
    oid_filter(&filter, id);
    st = mongo_find_one(&op, &filter, read_user, out, why);
    bson_destroy(&filter);
    mongo_op_end(&op);
    return st;
}

store_status_t mongo_users_list(const char *cursor, int limit, mongo_user_page_t *out) {
    memset(out, 0, sizeof *out);
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t filter = BSON_INITIALIZER, gt;
    if (cursor) {
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, cursor);
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &gt);
        BSON_APPEND_OID(&gt, "$gt", &oid);
        bson_append_document_end(&filter, &gt);
    }
    bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
    bool more;
    st = mongo_find_page(&op, &filter, sort, limit, read_user, sizeof *out->items,
                         (void **)&out->items, &out->n, &more);
    if (st == STORE_OK && more)
        snprintf(out->next_cursor, sizeof out->next_cursor, "%s", out->items[out->n - 1].id);
    bson_destroy(sort);
    bson_destroy(&filter);
    mongo_op_end(&op);
    return st;
}

store_status_t mongo_users_update(const char *id, const char *name, const char *email,
                                  bool clear_email, int64_t now_ms, mongo_user_t *out,
                                  const char **why) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t filter, update = BSON_INITIALIZER, set, unset;
    oid_filter(&filter, id);
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (name)
        BSON_APPEND_UTF8(&set, "name", name);
    if (email)
        BSON_APPEND_UTF8(&set, "email", email);
    BSON_APPEND_DATE_TIME(&set, "updated_at", now_ms);
    bson_append_document_end(&update, &set);
    if (clear_email) {
        BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
        BSON_APPEND_UTF8(&unset, "email", "");
        bson_append_document_end(&update, &unset);
    }
    mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(fam, &update);
    mongoc_find_and_modify_opts_set_flags(fam, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    bson_t reply;
    bson_error_t e;
    if (!mongoc_collection_find_and_modify_with_opts(op.coll, &filter, fam, &reply, &e)) {
        st = mongo_error_status(&e);
    } else {
        bson_t value;
        const char *bad = NULL;
        if (!mongo_doc_value(&reply, &value))
            st = STORE_NOT_FOUND;
        else if ((bad = mongo_user_from_bson(&value, out)) != NULL) {
            mongo_schema_error(COLLECTION, &value, bad);
            st = STORE_BAD_DATA;
        }
        if (why)
            *why = bad;
    }
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);
    bson_destroy(&update);
    bson_destroy(&filter);
    mongo_op_end(&op);
    return st;
}

store_status_t mongo_users_delete(const char *id) {
    mongo_op_t op;
    store_status_t st = mongo_op_begin(&op, COLLECTION);
    if (st != STORE_OK)
        return st;
    bson_t filter, reply;
    oid_filter(&filter, id);
    bson_error_t e;
    if (!mongoc_collection_delete_one(op.coll, &filter, NULL, &reply, &e)) {
        st = mongo_error_status(&e);
    } else {
        bson_iter_t it;
        st = bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) > 0
                 ? STORE_OK
                 : STORE_NOT_FOUND;
    }
    bson_destroy(&reply);
    bson_destroy(&filter);
    mongo_op_end(&op);
    return st;
}

void mongo_user_page_free(mongo_user_page_t *p) {
    free(p->items);
    p->items = NULL;
    p->n = 0;
}
