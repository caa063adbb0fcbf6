/*
 * Path and query parameters as handlers read them: each checked, and on a
 * bad value a 400 problem+json naming the parameter is replied and the
 * reader returns NULL or false (the handler just returns). The raw values
 * are request.h's api_param and api_query.
 */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "request.h"

/* Path parameter i checked with core_id_valid; on failure replies 400 naming
 * what (e.g. "client id") and returns NULL. */
const char *api_param_id(api_req_t *r, int i, const char *what);

/* Path parameter i checked as a 24-hex-digit ObjectId; on failure replies
 * 400 naming what and returns NULL. */
const char *api_param_oid(api_req_t *r, int i, const char *what);

/* The items of a page (api_reply_page) that are at most this many. */
#define API_PAGE_MAX 1000
#define API_PAGE_DEFAULT 100

/* An integer query argument in [min, max], def when absent. On a bad value
 * replies 400 naming it and returns false. */
bool api_query_int(api_req_t *r, const char *name, int def, int min, int max, int *out);

/* An optional id-shaped query argument ("cursor"); NULL when absent. On a bad
 * value replies 400 naming it and returns false. */
bool api_query_id(api_req_t *r, const char *name, const char **out);

/* Lower-cases the hex digits of an ObjectId in place: ids are stored and
 * compared in the canonical lower-case form. */
void api_oid_lower(char *hex);

/* An optional ObjectId query argument (24 hex digits); NULL when absent. */
bool api_query_oid(api_req_t *r, const char *name, const char **out);

/* An ISO 8601 time query argument; *has = false when absent; 400 when bad. */
bool api_query_time(api_req_t *r, const char *name, bool *has, int64_t *ms);

/* "bbox=minLon,minLat,maxLon,maxLat" (degrees; minLon > maxLon crosses the
 * antimeridian); *has = false when absent; 400 naming the problem when bad. */
bool api_query_bbox(api_req_t *r, bool *has, double *min_lon, double *min_lat, double *max_lon,
                    double *max_lat);

/* An optional boolean query argument, "true" or "false"; false when absent.
 * On any other value replies 400 naming it and returns false. */
bool api_query_bool(api_req_t *r, const char *name, bool *out);

/* ?limit= (1 to 1000, 100 when absent) and ?cursor= (an id, NULL when
 * absent): the paging arguments of every list whose cursor is an id. On a
 * bad value replies 400 naming it and returns false. */
bool api_query_page(api_req_t *r, int *limit, const char **cursor);

#endif
