/*
 * The store's statuses (core/status.h, shared with mongo/), and their names
 * for logs.
 */
#ifndef STORE_STATUS_H
#define STORE_STATUS_H

#include "../core/status.h"

/* The enum's name ("STORE_UNAVAILABLE") for a log line; static. */
const char *store_status_name(store_status_t st);

#endif
