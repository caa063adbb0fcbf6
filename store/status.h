/*
 * The store's statuses: core/status.h, shared with mongo/ (which must not
 * include store/). Kept so store/ files include their own layer's header.
 */
#ifndef STORE_STATUS_H
#define STORE_STATUS_H

#include "../core/status.h"

#endif
