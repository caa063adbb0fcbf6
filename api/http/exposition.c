/* Writing the text forms of Prometheus metrics; see exposition.h. */
#include "exposition.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"

api_expo_form_t api_expo_negotiate(const char *accept) {
    return api_accept_quality(accept, "application/openmetrics-text") >
                   api_accept_quality(accept, "text/plain")
               ? API_EXPO_OPENMETRICS
               : API_EXPO_TEXT;
}

void api_expo_init(api_expo_t *x, api_expo_form_t form) {
    memset(x, 0, sizeof *x);
    x->form = form;
}

static bool reserve(api_expo_t *x, size_t more) {
    if (x->failed)
        return false;
    if (x->len + more < x->cap)
        return true;
    size_t cap = x->cap ? x->cap : 16384;
    while (cap <= x->len + more)
        cap *= 2;
    char *b = realloc(x->buf, cap);
    if (!b) {
        x->failed = true;
        return false;
    }
    x->buf = b;
    x->cap = cap;
    return true;
}

void api_expo_put(api_expo_t *x, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(x, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(x->buf + x->len, x->cap - x->len, fmt, ap);
    va_end(ap);
    x->len += (size_t)n;
}

void api_expo_family(api_expo_t *x, const char *name, const char *type, const char *help) {
    int n = (int)strlen(name);
    static const char total[] = "_total";
    if (x->form == API_EXPO_OPENMETRICS && strcmp(type, "counter") == 0 && n > (int)strlen(total) &&
        strcmp(name + n - strlen(total), total) == 0)
        n -= (int)strlen(total);
    api_expo_put(x, "# HELP %.*s %s\n# TYPE %.*s %s\n", n, name, help, n, name, type);
}

/* A bound as the form wants it: "0.0005", "1" (text) or "1.0" (OpenMetrics). */
static void bound(const api_expo_t *x, double le, char out[32]) {
    snprintf(out, 32, "%g", le);
    if (x->form == API_EXPO_OPENMETRICS && !strpbrk(out, ".eE"))
        strcat(out, ".0");
}

void api_expo_histogram(api_expo_t *x, const char *name, const char *labels,
                        const core_hist_read_t *h) {
    const char *sep = labels[0] ? "," : "";
    for (int b = 0; b < CORE_HIST_BOUNDS; b++) {
        char le[32];
        bound(x, core_hist_bounds[b], le);
        api_expo_put(x, "%s_bucket{%s%sle=\"%s\"} %lu\n", name, labels, sep, le, h->le[b]);
    }
    api_expo_put(x, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, labels, sep, h->count);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    api_expo_put(x, "%s_sum%s%s%s %.6f\n", name, open, labels, close, h->sum);
    api_expo_put(x, "%s_count%s%s%s %lu\n", name, open, labels, close, h->count);
}

const char *api_expo_label(const char *v, char *out, size_t cap) {
    size_t n = 0;
    for (; *v && n + 2 < cap; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n')
            out[n++] = '\\';
        out[n++] = *v == '\n' ? 'n' : *v;
    }
    out[n] = '\0';
    return out;
}

char *api_expo_finish(api_expo_t *x, size_t *len) {
    if (x->form == API_EXPO_OPENMETRICS)
        api_expo_put(x, "# EOF\n");
    if (x->failed || !x->buf) {
        free(x->buf);
        memset(x, 0, sizeof *x);
        return NULL;
    }
    char *text = x->buf;
    *len = x->len;
    memset(x, 0, sizeof *x);
    return text;
}
