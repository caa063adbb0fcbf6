/* The running service's facts; see service.h. */
#include "service.h"

#include <stdatomic.h>

#include "../../core/timefmt.h"

static const config_t *config;
static int64_t started_ms;
static atomic_bool draining;

const config_t *api_config(void) { return config; }

int64_t api_started_ms(void) { return started_ms; }

bool api_draining(void) { return atomic_load(&draining); }

void api_service_begin(const config_t *cfg) {
    config = cfg;
    started_ms = core_now_ms();
}

void api_service_drain(void) { atomic_store(&draining, true); }
