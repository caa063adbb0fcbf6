/*
 * /admin: maintenance on demand. POST /admin/cleanup runs one cleanup pass
 * now (what the reaper does every CLEANUP_INTERVAL_MS) and says what it
 * removed; DELETE /admin/ephemeral?confirm=true deletes every key under
 * KEY_PREFIX and nothing else.
 *
 * With an empty KEY_PREFIX the service cannot tell its keys from those of
 * the programs that share its documented layout (or anything else in the
 * database), so the delete is refused with 409 rather than wiping the
 * database; FLUSHDB is there for an operator who means that.
 */
#include "../core/timefmt.h"
#include "../store/keyspace.h"
#include "../store/reaper.h"
#include "handlers.h"
#include "http/problem.h"
#include "http/params.h"
#include "http/service.h"

void api_admin_cleanup(api_req_t *r) {
    store_reap_result_t res;
    store_status_t st = store_reaper_pass(core_now_ms(), api_config()->client_timeout_ms, &res);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the cleanup pass");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "clients_removed", (double)res.clients_removed);
    cJSON_AddNumberToObject(o, "presence_pruned", (double)res.presence_pruned);
    cJSON_AddNumberToObject(o, "sessions_pruned", (double)res.sessions_pruned);
    cJSON_AddNumberToObject(o, "rooms_pruned", (double)res.rooms_pruned);
    api_reply_json(r, 200, o);
}

void api_admin_ephemeral(api_req_t *r) {
    bool confirm;
    if (!api_query_bool(r, "confirm", &confirm))
        return;
    if (!confirm) {
        api_problem(r, 400, "deleting every key under KEY_PREFIX needs ?confirm=true");
        return;
    }
    if (!api_config()->key_prefix[0]) {
        api_problem(r, 409,
                    "KEY_PREFIX is empty, so every key in the database would match; "
                    "set KEY_PREFIX to use this endpoint (or FLUSHDB by hand)");
        return;
    }
    long long deleted;
    store_status_t st = store_keyspace_delete_all(&deleted);
    if (st != STORE_OK) {
        api_problem_store(r, st, "the service's keys");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "deleted", (double)deleted);
    api_reply_json(r, 200, o);
}
