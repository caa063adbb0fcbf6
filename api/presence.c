/*
 * /online-users: presence. PUT marks a user online for PRESENCE_TTL_S (each
 * PUT refreshes it), DELETE marks them offline, GETs read one user or page
 * through everyone online. The state is store/presence.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/presence.h"
#include "handlers.h"
#include "input.h"
#include "problem.h"

static const char *const statuses[] = {"online", "away", "busy", NULL};

static cJSON *presence_json(const store_presence_t *p, bool detail) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    if (detail)
        cJSON_AddTrueToObject(o, "online");
    cJSON_AddStringToObject(o, "status", p->status);
    cJSON_AddStringToObject(o, "last_seen", p->last_seen);
    if (p->device_id[0])
        cJSON_AddStringToObject(o, "device_id", p->device_id);
    else
        cJSON_AddNullToObject(o, "device_id");
    if (detail) {
        char ts[CORE_ISO8601_LEN];
        core_iso8601(p->expires_at_ms, ts);
        cJSON_AddStringToObject(o, "expires_at", ts);
    }
    return o;
}

void api_presence_put(api_req_t *r) {
    const char *id = api_param_id(r, 0, "user id");
    cJSON *body;
    if (!id || !api_body_json(r, false, &body))
        return;
    const char *device = NULL, *status = NULL;
    bool ok = api_field_id(r, body, "device_id", false, &device) &&
              api_field_enum(r, body, "status", statuses, &status);
    if (!ok) {
        cJSON_Delete(body);
        return;
    }
    store_presence_t p;
    store_status_t st = store_presence_set(id, status ? status : "online", device, core_now_ms(),
                                           api_config()->presence_ttl_s, &p);
    cJSON_Delete(body);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the presence entry");
        return;
    }
    api_reply_json(r, 200, presence_json(&p, true));
}

void api_presence_delete(api_req_t *r) {
    const char *id = api_param_id(r, 0, "user id");
    if (!id)
        return;
    store_status_t st = store_presence_clear(id);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the presence entry");
        return;
    }
    api_reply_empty(r, 204);
}

void api_presence_get(api_req_t *r) {
    const char *id = api_param_id(r, 0, "user id");
    if (!id)
        return;
    store_presence_t p;
    store_status_t st = store_presence_get(id, core_now_ms(), &p);
    if (st == STORE_NOT_FOUND) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddFalseToObject(o, "online");
        api_reply_json(r, 200, o);
        return;
    }
    if (st != STORE_OK) {
        api_problem_store(r, st, "the presence entry");
        return;
    }
    api_reply_json(r, 200, presence_json(&p, true));
}

void api_presence_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_int(r, "limit", 100, 1, 1000, &limit) || !api_query_id(r, "cursor", &cursor))
        return;
    store_presence_page_t page;
    store_status_t st = store_presence_list(cursor, limit, core_now_ms(), &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the online user list");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)page.count);
    cJSON *arr = cJSON_AddArrayToObject(o, "users");
    for (int i = 0; i < page.n; i++)
        cJSON_AddItemToArray(arr, presence_json(&page.items[i], false));
    if (page.next_cursor[0])
        cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    else
        cJSON_AddNullToObject(o, "next_cursor");
    store_presence_page_free(&page);
    api_reply_json(r, 200, o);
}
