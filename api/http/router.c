/*
 * Route matching by segments: the path is split once, then compared with each
 * template segment by segment. The table is small (tens of routes), so a
 * linear scan over pre-split segments beats anything cleverer.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

static const struct {
    api_method_t m;
    const char *name;
} methods[] = {
    {API_GET, "GET"},       {API_HEAD, "HEAD"},   {API_POST, "POST"},       {API_PUT, "PUT"},
    {API_DELETE, "DELETE"}, {API_PATCH, "PATCH"}, {API_OPTIONS, "OPTIONS"},
};

api_method_t api_method_parse(const char *s) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(s, methods[i].name) == 0)
            return methods[i].m;
    return 0;
}

void api_methods_format(unsigned mask, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (!(mask & methods[i].m))
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", methods[i].name);
        if (n < 0 || (size_t)n >= cap - used) {
            out[used] = '\0'; /* drop the partial name: a list of whole names or less */
            return;
        }
        used += (size_t)n;
    }
}

/* Splits "/a/b/c" into {"a","b","c"}. Fails on a path that is not absolute,
 * has an empty segment ("//", trailing '/') or too many segments. "/" is zero
 * segments. */
static int split(char *path, char **segs) {
    if (path[0] != '/')
        return -1;
    if (path[1] == '\0')
        return 0;
    int n = 0;
    char *p = path + 1;
    for (;;) {
        if (n == API_MAX_SEGMENTS)
            return -1;
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p == '\0')
            return -1;
        segs[n++] = p;
        if (!slash)
            return n;
        p = slash + 1;
    }
}

/* Compares one template against the split path; fills params on a match.
 * Returns 0 for no match, else 1 + the number of literal segments matched:
 * the more literal a template, the more specific its match. */
static int template_match(const char *pattern, char **segs, int nsegs, api_match_t *out) {
    const char *p = pattern;
    int i = 0, np = 0, literal = 0;
    while (*p == '/') {
        p++;
        if (*p == '\0')
            break;
        /* Every request scans the whole table, and most templates differ from
         * the path in a segment's first letter: reject those before measuring. */
        if (i >= nsegs || (p[0] != '{' && p[0] != segs[i][0]))
            return 0;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (p[0] == '{') {
            if (np == API_MAX_PARAMS)
                return 0;
            out->params[np++] = segs[i];
        } else if (strlen(segs[i]) != len || strncmp(segs[i], p, len) != 0) {
            return 0;
        } else {
            literal++;
        }
        i++;
        p += len;
    }
    if (i != nsegs)
        return 0;
    out->nparams = np;
    return 1 + literal;
}

api_match_status_t api_router_match(const api_route_t *routes, size_t n, api_method_t method,
                                    char *path, api_match_t *out) {
    char *segs[API_MAX_SEGMENTS];
    memset(out, 0, sizeof *out);
    int nsegs = split(path, segs);
    if (nsegs < 0)
        return API_MATCH_NOT_FOUND;
    api_method_t want = method == API_HEAD ? API_GET : method;
    api_match_t m = {0}; /* template_match sets nparams and the params it fills */
    /* Only the most specific templates count: /observations/batch, not
     * /observations/{id}, is what "/observations/batch" names, so a GET there
     * is a 405, not a request for an observation called "batch". */
    int best = 0;
    for (size_t i = 0; i < n; i++) {
        int spec = template_match(routes[i].pattern, segs, nsegs, &m);
        if (spec < best || spec == 0)
            continue;
        if (spec > best) {
            best = spec;
            memset(out, 0, sizeof *out);
        }
        out->allowed |= routes[i].method;
        if (!out->path_route)
            out->path_route = &routes[i];
        if (routes[i].method == want && !out->route) {
            *out = (api_match_t){.route = &routes[i],
                                 .path_route = out->path_route,
                                 .nparams = m.nparams,
                                 .allowed = out->allowed};
            memcpy(out->params, m.params, sizeof m.params);
        }
    }
    if (out->allowed & API_GET)
        out->allowed |= API_HEAD;
    if (out->allowed)
        out->allowed |= API_OPTIONS;
    if (out->route)
        return API_MATCH_FOUND;
    return out->allowed ? API_MATCH_BAD_METHOD : API_MATCH_NOT_FOUND;
}
