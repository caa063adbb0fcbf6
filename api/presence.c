/*
 * /online-users: presence. PUT marks a user online on a device for
 * PRESENCE_TTL_S (each PUT refreshes that device), DELETE marks them offline
 * (on every device, or on one: /devices/{deviceId}), GETs read one user with
 * their devices or page through everyone online. The state is
 * store/presence.c.
 */
#include <stdio.h>

#include "../core/timefmt.h"
#include "../store/presence.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

static const char *const statuses[] = {"online", "away", "busy", NULL};

/* One entry; detail adds "online" and "expires_at" (the single-user
 * answers), devices (when not NULL) the devices. Written, not built as a
 * tree: a page holds up to 1 000. */
static void put_presence(core_jsonw_t *w, const store_presence_t *p, bool detail,
                         const store_device_list_t *devices) {
    core_jsonw_object(w);
    core_jsonw_key(w, "id");
    core_jsonw_string(w, p->id);
    if (detail) {
        core_jsonw_key(w, "online");
        core_jsonw_bool(w, true);
    }
    core_jsonw_key(w, "status");
    core_jsonw_string(w, p->status);
    core_jsonw_key(w, "last_seen");
    core_jsonw_string(w, p->last_seen);
    core_jsonw_key(w, "device_id");
    core_jsonw_string_or_null(w, p->device_id);
    if (detail) {
        char ts[CORE_ISO8601_LEN];
        core_iso8601(p->expires_at_ms, ts);
        core_jsonw_key(w, "expires_at");
        core_jsonw_string(w, ts);
    }
    if (devices) {
        core_jsonw_key(w, "devices");
        core_jsonw_array(w);
        for (int i = 0; i < devices->n; i++) {
            const store_device_t *d = &devices->items[i];
            char ts[CORE_ISO8601_LEN];
            core_iso8601(d->expires_at_ms, ts);
            core_jsonw_object(w);
            core_jsonw_key(w, "device_id");
            core_jsonw_string(w, d->device_id);
            core_jsonw_key(w, "status");
            core_jsonw_string(w, d->status);
            core_jsonw_key(w, "last_seen");
            core_jsonw_string(w, d->last_seen);
            core_jsonw_key(w, "expires_at");
            core_jsonw_string(w, ts);
            core_jsonw_end(w);
        }
        core_jsonw_end(w);
    }
    core_jsonw_end(w);
}

/* One entry of a page. */
static void put_listed(core_jsonw_t *w, const void *item) { put_presence(w, item, false, NULL); }

/* The user's entry with their devices, read again: the answer to a GET and
 * to a PUT. */
static void reply_presence(api_req_t *r, const char *id) {
    store_presence_t p;
    store_device_list_t devices;
    store_status_t st = store_presence_devices(id, core_now_ms(), &p, &devices);
    core_jsonw_t w;
    core_jsonw_init(&w);
    if (st == STORE_NOT_FOUND) { /* offline is a state, not a missing resource */
        core_jsonw_object(&w);
        core_jsonw_key(&w, "id");
        core_jsonw_string(&w, id);
        core_jsonw_key(&w, "online");
        core_jsonw_bool(&w, false);
        core_jsonw_key(&w, "devices");
        core_jsonw_array(&w);
        core_jsonw_end(&w);
        core_jsonw_end(&w);
    } else if (st == STORE_OK) {
        put_presence(&w, &p, true, &devices);
    } else {
        core_jsonw_discard(&w);
        api_problem_store(r, st, "the presence entry");
        return;
    }
    api_reply_jsonw(r, 200, &w);
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
    reply_presence(r, id);
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
    if (id)
        reply_presence(r, id);
}

void api_presence_delete_device(api_req_t *r) {
    const char *id = api_param_id(r, 0, "user id");
    const char *device = id ? api_param_id(r, 1, "device id") : NULL;
    if (!device)
        return;
    store_status_t st = store_presence_clear_device(id, device);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the user's presence on that device");
        return;
    }
    api_reply_empty(r, 204);
}

void api_presence_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_presence_list(cursor, limit, core_now_ms(), &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the online user list");
        return;
    }
    api_reply_page(r, page.items, page.n, sizeof(store_presence_t), put_listed, page.total,
                   page.next_cursor);
    store_page_free(&page);
}
