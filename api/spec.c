/* /openapi.yaml: the spec, compiled into the binary so it always matches it. */
#include <pthread.h>

#include "handlers.h"

/* The assembler embeds the file; the Makefile rebuilds this object when it changes. */
__asm__(
    ".section .rodata\n"
    ".global rtstate_openapi_start\n"
    "rtstate_openapi_start:\n"
    ".incbin \"openapi.yaml\"\n"
    "rtstate_openapi_end:\n"
    ".byte 0\n"
    ".balign 8\n"
    ".global rtstate_openapi_size\n"
    "rtstate_openapi_size:\n"
    ".quad rtstate_openapi_end - rtstate_openapi_start\n"
    ".previous\n");
extern const char rtstate_openapi_start[];
extern const unsigned long long rtstate_openapi_size;

static struct MHD_Response *spec;
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
