/*
 * The two text forms of Prometheus metrics, written front to back: the
 * classic text exposition format 0.0.4 and OpenMetrics 1.0.0, which differ in
 * what a scrape sees as follows (everything else is written alike):
 * - a counter's family is named without its "_total" in OpenMetrics
 *   ("# TYPE http_requests counter", then http_requests_total samples), with
 *   it in the text form, where family and sample share one name;
 * - OpenMetrics writes a histogram bound as a float ("1.0", not "1");
 * - OpenMetrics ends with "# EOF".
 * Pure: no HTTP (api/metrics.c serves it), so the unit tests read it whole.
 */
#ifndef API_EXPOSITION_H
#define API_EXPOSITION_H

#include <stdbool.h>
#include <stddef.h>

#include "../../core/histogram.h"

typedef enum { API_EXPO_TEXT, API_EXPO_OPENMETRICS } api_expo_form_t;

/* The Content-Type of each form. */
#define API_EXPO_TEXT_TYPE "text/plain; version=0.0.4"
#define API_EXPO_OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The form an Accept header asks for: OpenMetrics when it prefers
 * application/openmetrics-text to text/plain (as Prometheus's scrapes do),
 * else the text form (also for an absent header, or one that accepts
 * neither: metrics are better than a 406 to a curl). */
api_expo_form_t api_expo_negotiate(const char *accept);

typedef struct {
    char *buf; /* NUL-terminated while not failed */
    size_t len, cap;
    api_expo_form_t form;
    bool failed; /* memory ran out: api_expo_finish gives NULL */
} api_expo_t;

/* An empty exposition in form. */
void api_expo_init(api_expo_t *x, api_expo_form_t form);

/* Appends text (a sample line, its newline included), formatted. */
void api_expo_put(api_expo_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Begins a family: its HELP and TYPE lines. name is the sample name of the
 * text form (a counter's ends in "_total"); type is "counter", "gauge" or
 * "histogram"; help has no backslash, quote or newline. */
void api_expo_family(api_expo_t *x, const char *name, const char *type, const char *help);

/* The samples of one histogram series: a _bucket per bound and +Inf, _sum and
 * _count. labels is the series' other labels, already escaped
 * ('route="/x",method="GET"'), or "" for none. */
void api_expo_histogram(api_expo_t *x, const char *name, const char *labels,
                        const core_hist_read_t *h);

/* Escapes a label value (backslash, quote, newline) into out (cap bytes,
 * truncated to fit); returns out. */
const char *api_expo_label(const char *value, char *out, size_t cap);

/* Ends the exposition (OpenMetrics' "# EOF") and hands over its text: the
 * caller frees it; *len is its length. NULL (everything freed) when memory
 * ran out. */
char *api_expo_finish(api_expo_t *x, size_t *len);

#endif
