/* Path and query parameters, checked; see params.h. */
#include "params.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/ids.h"
#include "../../core/timefmt.h"
#include "problem.h"

const char *api_param_id(api_req_t *r, int i, const char *what) {
    const char *id = api_param(r, i);
    if (core_id_valid(id))
        return id;
    api_problem(r, 400, "%s must match ^[A-Za-z0-9._-]{1,128}$ and not be '.' or '..'", what);
    return NULL;
}

static bool oid_hex(const char *s) {
    return s && strlen(s) == 24 && strspn(s, "0123456789abcdefABCDEF") == 24;
}

void api_oid_lower(char *hex) {
    for (; *hex; hex++)
        if (*hex >= 'A' && *hex <= 'F')
            *hex = (char)(*hex - 'A' + 'a');
}

const char *api_param_oid(api_req_t *r, int i, const char *what) {
    const char *id = api_param(r, i);
    if (oid_hex(id))
        return id;
    api_problem(r, 400, "%s must be a 24-hex-digit ObjectId", what);
    return NULL;
}

bool api_query_int(api_req_t *r, const char *name, int def, int min, int max, int *out) {
    const char *v = api_query(r, name);
    if (!v && !api_query_has(r, name)) {
        *out = def;
        return true;
    }
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !isdigit((unsigned char)v[0]) || *end || n < min || n > max) {
        api_problem(r, 400, "query parameter '%s' must be a whole number from %d to %d", name, min,
                    max);
        return false;
    }
    *out = (int)n;
    return true;
}

bool api_query_oid(api_req_t *r, const char *name, const char **out) {
    const char *v = api_query(r, name);
    *out = NULL;
    if (!v && !api_query_has(r, name))
        return true;
    if (!oid_hex(v)) {
        api_problem(r, 400, "query parameter '%s' must be a 24-hex-digit ObjectId", name);
        return false;
    }
    *out = v;
    return true;
}

bool api_query_id(api_req_t *r, const char *name, const char **out) {
    const char *v = api_query(r, name);
    if (!v && !api_query_has(r, name)) {
        *out = NULL;
        return true;
    }
    if (!core_id_valid(v)) {
        api_problem(r, 400, "query parameter '%s' is not a valid cursor", name);
        return false;
    }
    *out = v;
    return true;
}

bool api_query_page(api_req_t *r, int *limit, const char **cursor) {
    return api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, limit) &&
           api_query_id(r, "cursor", cursor);
}

/* Parses a whole string as a finite double. */
static bool parse_double(const char *s, double *out) {
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

bool api_query_bool(api_req_t *r, const char *name, bool *out) {
    const char *v = api_query(r, name);
    *out = false;
    if (!v && !api_query_has(r, name))
        return true;
    if (v && strcmp(v, "true") == 0) {
        *out = true;
        return true;
    }
    if (v && strcmp(v, "false") == 0)
        return true;
    api_problem(r, 400, "query parameter '%s' must be true or false", name);
    return false;
}

bool api_query_time(api_req_t *r, const char *name, bool *has, int64_t *ms) {
    const char *v = api_query(r, name);
    *has = v || api_query_has(r, name);
    if (!*has || core_iso8601_parse(v, ms))
        return true;
    api_problem(r, 400, "query parameter '%s' must be an ISO 8601 date-time", name);
    return false;
}

bool api_query_bbox(api_req_t *r, bool *has, double *min_lon, double *min_lat, double *max_lon,
                    double *max_lat) {
    const char *v = api_query(r, "bbox");
    *has = v || api_query_has(r, "bbox");
    if (!*has)
        return true;
    double c[4];
    int n = 0;
    for (const char *p = v ? v : ""; n < 4; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char part[64];
        if (len == 0 || len >= sizeof part)
            break;
        memcpy(part, p, len);
        part[len] = '\0';
        if (!parse_double(part, &c[n]) || (n < 3) != (comma != NULL))
            break;
        p = comma ? comma + 1 : p + len;
    }
    if (n != 4) {
        api_problem(r, 400, "query parameter 'bbox' must be minLon,minLat,maxLon,maxLat");
        return false;
    }
    if (c[0] < -180 || c[0] > 180 || c[2] < -180 || c[2] > 180) {
        api_problem(r, 400, "bbox longitudes must be from -180 to 180");
        return false;
    }
    if (c[1] < -90 || c[1] > 90 || c[3] < -90 || c[3] > 90 || c[1] > c[3]) {
        api_problem(r, 400, "bbox latitudes must be from -90 to 90, minLat <= maxLat");
        return false;
    }
    *min_lon = c[0];
    *min_lat = c[1];
    *max_lon = c[2];
    *max_lat = c[3];
    return true;
}
