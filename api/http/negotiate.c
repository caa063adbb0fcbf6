/* Accept header matching; see negotiate.h. */
#include "negotiate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trims spaces and tabs around s[0..*n) in place. */
static const char *trim(const char *s, size_t *n) {
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* How specifically range (n chars) matches type: 3 exact, 2 type/x, 1 x/x, 0 not. */
static int specificity(const char *range, size_t n, const char *type) {
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : strlen(type);
    if (n == 3 && strncmp(range, "*/*", 3) == 0)
        return 1;
    if (n == major + 2 && strncasecmp(range, type, major) == 0 && range[major] == '/' &&
        range[major + 1] == '*')
        return 2;
    if (n == strlen(type) && strncasecmp(range, type, n) == 0)
        return 3;
    return 0;
}

/* The q parameter among ";a=b;q=0.5" (n chars), or 1. */
static double quality(const char *params, size_t n) {
    const char *end = params + n;
    for (const char *p = params; p < end;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *next = semi ? semi : end;
        size_t len = (size_t)(next - p);
        const char *t = trim(p, &len);
        if (len >= 2 && (t[0] == 'q' || t[0] == 'Q') && t[1] == '=') {
            char buf[16];
            size_t vl = len - 2 < sizeof buf - 1 ? len - 2 : sizeof buf - 1;
            memcpy(buf, t + 2, vl);
            buf[vl] = '\0';
            char *e;
            double q = strtod(buf, &e);
            if (e != buf && *e == '\0' && q >= 0 && q <= 1)
                return q;
            return 1;
        }
        p = semi ? semi + 1 : end;
    }
    return 1;
}

double api_accept_quality(const char *accept, const char *type) {
    if (!accept)
        return 1;
    int best = 0;
    double q = 0;
    bool any = false;
    const char *end = accept + strlen(accept);
    for (const char *p = accept; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *next = comma ? comma : end;
        const char *semi = memchr(p, ';', (size_t)(next - p));
        size_t rn = (size_t)((semi ? semi : next) - p);
        const char *range = trim(p, &rn);
        if (rn)
            any = true;
        int s = specificity(range, rn, type);
        if (s > best) {
            best = s;
            q = semi ? quality(semi + 1, (size_t)(next - semi - 1)) : 1;
        }
        p = comma ? comma + 1 : end;
    }
    return any ? q : 1;
}
