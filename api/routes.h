/* The route table: every path the service answers, and its handler. */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const api_route_t api_routes[];
extern const size_t api_routes_count;

#endif
