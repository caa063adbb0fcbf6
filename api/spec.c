/* /openapi.yaml: the spec, compiled into the binary so it always matches it. */
#include <pthread.h>

#include "embed.h"
#include "handlers.h"

/* The Makefile rebuilds this object when openapi.yaml changes. */
API_EMBED(rtstate_openapi, "openapi.yaml");

static api_shared_t *spec;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_spec(void) {
    spec = api_shared_response("application/yaml", rtstate_openapi_start,
                               (size_t)rtstate_openapi_size);
}

void api_spec_get(api_req_t *r) {
    pthread_once(&once, make_spec);
    if (spec)
        api_reply_shared(r, 200, spec);
}
