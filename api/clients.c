/*
 * /clients: webcam clients register (POST), heartbeat, are listed and read,
 * and are deleted. Parsing and validation here; the state is store/clients.c.
 */
#include <stdio.h>
#include <string.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../store/clients.h"
#include "handlers.h"
#include "input.h"
#include "problem.h"

#define GENERATED_ID_TRIES 5

static cJSON *client_json(const store_client_t *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "status", c->status);
    cJSON_AddStringToObject(o, "connected_at", c->connected_at);
    cJSON_AddStringToObject(o, "last_seen", c->last_seen);
    cJSON_AddBoolToObject(o, "has_image", c->has_image);
    cJSON_AddNumberToObject(o, "frame_number", (double)c->frame_number);
    return o;
}

static void what(char *out, size_t cap, const char *id) { snprintf(out, cap, "client '%s'", id); }

void api_clients_create(api_req_t *r) {
    cJSON *body;
    const char *given;
    if (!api_body_json(r, false, &body))
        return;
    if (!api_field_id(r, body, "id", false, &given)) {
        cJSON_Delete(body);
        return;
    }
    char id[CORE_ID_MAX + 1];
    store_client_t c;
    bool created = false;
    store_status_t st;
    if (given) {
        snprintf(id, sizeof id, "%s", given);
        st = store_clients_connect(id, false, core_now_ms(), &c, &created);
    } else {
        /* A generated id must be new: retry on the (astronomically rare) collision. */
        st = STORE_CONFLICT;
        for (int i = 0; i < GENERATED_ID_TRIES && st == STORE_CONFLICT; i++) {
            if (!core_random_id(id, sizeof id, "Client-", 9)) {
                st = STORE_ERROR;
                break;
            }
            st = store_clients_connect(id, true, core_now_ms(), &c, &created);
        }
    }
    cJSON_Delete(body);
    if (st != STORE_OK) {
        char w[160];
        what(w, sizeof w, id);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, created ? 201 : 200, client_json(&c));
    char location[160];
    snprintf(location, sizeof location, "/clients/%s", id);
    api_reply_header(r, MHD_HTTP_HEADER_LOCATION, location);
}

void api_clients_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_int(r, "limit", 100, 1, 1000, &limit) || !api_query_id(r, "cursor", &cursor))
        return;
    store_client_page_t page;
    store_status_t st = store_clients_list(cursor, limit, &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the client list");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)page.total);
    cJSON *arr = cJSON_AddArrayToObject(o, "clients");
    for (int i = 0; i < page.count; i++)
        cJSON_AddItemToArray(arr, client_json(&page.items[i]));
    if (page.next_cursor[0])
        cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    else
        cJSON_AddNullToObject(o, "next_cursor");
    store_client_page_free(&page);
    api_reply_json(r, 200, o);
}

void api_clients_get(api_req_t *r) {
    const char *id = api_param_id(r, 0, "client id");
    if (!id)
        return;
    store_client_t c;
    store_status_t st = store_clients_get(id, &c);
    if (st != STORE_OK) {
        char w[160];
        what(w, sizeof w, id);
        api_problem_store(r, st, w);
        return;
    }
    api_reply_json(r, 200, client_json(&c));
}

static store_status_t heartbeat_now(const char *id) {
    return store_clients_heartbeat(id, core_now_ms());
}

void api_clients_heartbeat(api_req_t *r) {
    api_id_then_204(r, "client id", "client", heartbeat_now);
}

void api_clients_delete(api_req_t *r) {
    api_id_then_204(r, "client id", "client", store_clients_delete);
}
