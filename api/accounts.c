/*
 * /accounts: the people who exist, kept in MongoDB's users collection
 * (mongo/users.c). Usernames are unique; ids are ObjectIds, a space of their
 * own: the real-time user ids of /users/{userId}/... are another. POST takes
 * an Idempotency-Key (idempotency.h).
 */
#include <stdio.h>
#include <string.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../mongo/users.h"
#include "handlers.h"
#include "http/idempotency.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"

static cJSON *account_json(const mongo_user_t *u) {
    char ts[CORE_ISO8601_LEN];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", u->id);
    cJSON_AddStringToObject(o, "username", u->username);
    cJSON_AddStringToObject(o, "name", u->name);
    if (u->email[0])
        cJSON_AddStringToObject(o, "email", u->email);
    else
        cJSON_AddNullToObject(o, "email");
    core_iso8601(u->created_at_ms, ts);
    cJSON_AddStringToObject(o, "created_at", ts);
    core_iso8601(u->updated_at_ms, ts);
    cJSON_AddStringToObject(o, "updated_at", ts);
    return o;
}

/* A plausible address: one '@' with text on both sides, a dot in the domain,
 * no spaces. Deliverability is not this service's business. */
static bool email_ok(const char *e) {
    const char *at = strchr(e, '@');
    return at && at != e && !strchr(at + 1, '@') && strchr(at + 1, '.') && at[1] != '.' &&
           e[strlen(e) - 1] != '.' && !strpbrk(e, " \t\r\n<>()[],;:\"\\");
}

/* Reads name (required or not) and email (optional) from body. */
static bool read_profile(api_req_t *r, const cJSON *body, bool name_required, const char **name,
                         const char **email) {
    if (!api_field_string(r, body, "name", name_required, 1, 256, name) ||
        !api_field_string(r, body, "email", false, 3, 254, email))
        return false;
    if (*email && !email_ok(*email)) {
        api_problem(r, 400, "field 'email' is not an email address");
        return false;
    }
    return true;
}

static void reply_account(api_req_t *r, store_status_t st, const mongo_user_t *u, const char *id,
                          const char *why) {
    char what[64];
    snprintf(what, sizeof what, "account %s", id);
    if (st != STORE_OK) {
        api_problem_mongo_why(r, st, what, why);
        return;
    }
    api_reply_json(r, 200, account_json(u));
}

/* Validates the body of a POST; on false it has replied. */
static bool read_new_account(api_req_t *r, const cJSON *body, const char **username,
                             const char **name, const char **email) {
    if (!api_field_string(r, body, "username", true, 1, 64, username))
        return false;
    if (!core_id_valid(*username)) {
        api_problem(r, 400, "field 'username' must match ^[A-Za-z0-9._-]{1,64}$");
        return false;
    }
    return read_profile(r, body, true, name, email);
}

void api_accounts_create(api_req_t *r) {
    cJSON *body;
    if (!api_body_json(r, true, &body))
        return;
    const char *username, *name, *email;
    api_idem_t idem;
    if (!read_new_account(r, body, &username, &name, &email) || !api_idem_begin(r, &idem)) {
        cJSON_Delete(body);
        return;
    }
    mongo_user_t u;
    store_status_t st = mongo_users_create(&idem.write, username, name, email, &u);
    if (st != STORE_OK) {
        char what[128];
        snprintf(what, sizeof what, "an account named '%s'", username);
        api_problem_mongo(r, st, what);
    } else {
        char location[64];
        snprintf(location, sizeof location, "/accounts/%s", u.id);
        api_idem_reply_json(r, &idem, 201, account_json(&u), location);
    }
    api_idem_end(&idem);
    cJSON_Delete(body);
}

void api_accounts_get(api_req_t *r) {
    const char *id = api_param_oid(r, 0, "account id");
    if (!id)
        return;
    mongo_user_t u;
    const char *why = NULL;
    store_status_t st = mongo_users_get(id, &u, &why);
    reply_account(r, st, &u, id, why);
}

/* One account of a page. */
static void put_account(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, account_json(item));
}

void api_accounts_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &limit) ||
        !api_query_oid(r, "cursor", &cursor))
        return;
    mongo_user_page_t page;
    store_status_t st = mongo_users_list(cursor, limit, &page);
    if (st != STORE_OK) {
        api_problem_mongo(r, st, "the account list");
        return;
    }
    /* no total: counting a collection is a pass over its index */
    api_reply_page(r, page.items, page.n, sizeof(mongo_user_t), put_account, -1, page.next_cursor);
    mongo_user_page_free(&page);
}

void api_accounts_update(api_req_t *r) {
    const char *id = api_param_oid(r, 0, "account id");
    cJSON *body;
    if (!id || !api_body_json(r, true, &body))
        return;
    const char *name, *email;
    if (!read_profile(r, body, false, &name, &email)) {
        cJSON_Delete(body);
        return;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "email");
    bool clear_email = e && cJSON_IsNull(e);
    if (!name && !email && !clear_email) {
        cJSON_Delete(body);
        api_problem(r, 400, "nothing to change: give 'name' and/or 'email'");
        return;
    }
    mongo_user_t u;
    const char *why = NULL;
    store_status_t st = mongo_users_update(id, name, email, clear_email, core_now_ms(), &u, &why);
    cJSON_Delete(body);
    reply_account(r, st, &u, id, why);
}

void api_accounts_delete(api_req_t *r) {
    const char *id = api_param_oid(r, 0, "account id");
    if (!id)
        return;
    store_status_t st = mongo_users_delete(id);
    if (st != STORE_OK) {
        char what[64];
        snprintf(what, sizeof what, "account %s", id);
        api_problem_mongo(r, st, what);
        return;
    }
    api_reply_empty(r, 204);
}
