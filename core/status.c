/* Status names; see status.h. */
#include "status.h"

const char *store_status_name(store_status_t st) {
    switch (st) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_CONFLICT: return "conflict";
    case STORE_UNAVAILABLE: return "unavailable";
    case STORE_ERROR: return "error";
    case STORE_DISABLED: return "disabled";
    case STORE_RATE_LIMITED: return "rate limited";
    case STORE_BAD_DATA: return "stored data breaks the schema";
    case STORE_UNCONFIRMED: return "no answer to a write";
    }
    return "unknown";
}
