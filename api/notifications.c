/*
 * /users/{userId}/notifications and /notifications/queue/pop: notifications
 * are kept per user and queued by priority for a sender process, which pops
 * them (high before normal). The state is store/notifications.c.
 */
#include <stdio.h>
#include <string.h>

#include "../core/ids.h"
#include "../core/timefmt.h"
#include "../store/notifications.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

static const char *const priorities[] = {"high", "normal", NULL};

static cJSON *notification_json(const store_notification_t *n) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", n->id);
    cJSON_AddStringToObject(o, "user_id", n->user_id);
    cJSON_AddStringToObject(o, "title", n->title);
    cJSON_AddStringToObject(o, "body", n->body);
    cJSON_AddStringToObject(o, "priority", n->priority);
    cJSON_AddStringToObject(o, "created_at", n->created_at);
    return o;
}

/* One notification of a page. */
static void put_notification(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, notification_json(item));
}

/* Replies a page of notifications (or the failure) and frees it. */
static void reply_list(api_req_t *r, store_status_t st, store_notification_list_t *l,
                       const char *w) {
    if (st != STORE_OK) {
        api_problem_store(r, st, w);
        return;
    }
    api_reply_page(r, l->items, l->n, sizeof(store_notification_t), put_notification, l->total,
                   l->next_cursor);
    store_notification_list_free(l);
}

void api_notifications_create(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id");
    cJSON *body;
    if (!user || !api_body_json(r, true, &body))
        return;
    const char *title, *text, *priority = NULL;
    if (!api_field_string(r, body, "title", true, 1, STORE_TITLE_MAX, &title) ||
        !api_field_string(r, body, "body", true, 1, STORE_BODY_MAX, &text) ||
        !api_field_enum(r, body, "priority", priorities, &priority)) {
        cJSON_Delete(body);
        return;
    }
    store_notification_t n = {.body = (char *)text};
    snprintf(n.user_id, sizeof n.user_id, "%s", user);
    snprintf(n.title, sizeof n.title, "%s", title);
    snprintf(n.priority, sizeof n.priority, "%s", priority ? priority : "normal");
    core_iso8601(core_now_ms(), n.created_at);
    const config_t *cfg = api_config();
    store_notification_limits_t lim = {cfg->notification_max, cfg->notification_ttl_s,
                                       cfg->notification_queue_max, cfg->notification_queue_ttl_s};
    store_status_t st = core_random_id(n.id, sizeof n.id, "ntf-", 20)
                            ? store_notifications_create(&n, &lim)
                            : STORE_ERROR;
    if (st != STORE_OK) {
        api_problem_store(r, st, "the notification");
        cJSON_Delete(body);
        return;
    }
    cJSON *o = notification_json(&n);
    cJSON_Delete(body); /* n.body pointed into it */
    api_reply_json(r, 201, o);
}

void api_notifications_of_user(api_req_t *r) {
    const char *user = api_param_id(r, 0, "user id"), *cursor;
    int limit;
    if (!user || !api_query_page(r, &limit, &cursor))
        return;
    store_notification_list_t l;
    store_status_t st = store_notifications_of_user(user, cursor, limit, &l);
    reply_list(r, st, &l, "the user's notifications");
}

void api_notifications_pop(api_req_t *r) {
    int limit;
    if (api_query_has(r, "count")) { /* renamed: every list says limit */
        api_problem(r, 400, "query parameter 'count' is now 'limit'");
        return;
    }
    if (!api_query_int(r, "limit", 10, 1, API_PAGE_MAX, &limit))
        return;
    const char *priority = api_query(r, "priority");
    if ((priority || api_query_has(r, "priority")) &&
        (!priority || (strcmp(priority, "high") != 0 && strcmp(priority, "normal") != 0))) {
        api_problem(r, 400, "query parameter 'priority' must be 'high' or 'normal'");
        return;
    }
    store_notification_list_t l;
    store_status_t st = store_notifications_pop(priority, limit, &l);
    reply_list(r, st, &l, "the notification queues");
}
