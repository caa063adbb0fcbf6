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
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"

#define GENERATED_ID_TRIES 5

/* One client. Written, not built as a tree: a page holds up to 1 000. */
static void put_client(core_jsonw_t *w, const void *item) {
    const store_client_t *c = item;
    core_jsonw_object(w);
    core_jsonw_key(w, "id");
    core_jsonw_string(w, c->id);
    core_jsonw_key(w, "status");
    core_jsonw_string(w, c->status);
    core_jsonw_key(w, "connected_at");
    core_jsonw_string(w, c->connected_at);
    core_jsonw_key(w, "last_seen");
    core_jsonw_string(w, c->last_seen);
    core_jsonw_key(w, "has_image");
    core_jsonw_bool(w, c->has_image);
    core_jsonw_key(w, "frame_number");
    core_jsonw_int(w, c->frame_number);
    core_jsonw_end(w);
}

static void reply_client(api_req_t *r, unsigned status, const store_client_t *c) {
    core_jsonw_t w;
    core_jsonw_init(&w);
    put_client(&w, c);
    api_reply_jsonw(r, status, &w);
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
    reply_client(r, created ? 201 : 200, &c);
    char location[160];
    snprintf(location, sizeof location, "/clients/%s", id);
    api_reply_header(r, MHD_HTTP_HEADER_LOCATION, location);
}

void api_clients_list(api_req_t *r) {
    int limit;
    const char *cursor;
    if (!api_query_page(r, &limit, &cursor))
        return;
    store_page_t page;
    store_status_t st = store_clients_list(cursor, limit, &page);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the client list");
        return;
    }
    api_reply_page(r, page.items, page.n, sizeof(store_client_t), put_client, page.total,
                   page.next_cursor);
    store_page_free(&page);
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
    reply_client(r, 200, &c);
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
