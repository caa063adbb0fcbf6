/* What the resource handlers share; see handlers.h. */
#include "handlers.h"

#include <stdio.h>

#include "http/params.h"
#include "http/problem.h"

void api_id_then_204(api_req_t *r, const char *param, const char *noun,
                     store_status_t (*op)(const char *id)) {
    const char *id = api_param_id(r, 0, param);
    if (!id)
        return;
    store_status_t st = op(id);
    if (st != STORE_OK) {
        char what[192];
        snprintf(what, sizeof what, "%s '%s'", noun, id);
        api_problem_store(r, st, what);
        return;
    }
    api_reply_empty(r, 204);
}
