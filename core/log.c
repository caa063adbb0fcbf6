/* The log; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "decimal.h"
#include "logsink.h"
#include "timefmt.h"
#include "utf8.h"

static log_level_t min_level = LOG_INFO;
static bool json = true;
static const char *names[] = {"debug", "info", "warn", "error"};

bool log_configure(const char *level, const char *format) {
    int l = -1;
    for (int i = 0; i < 4; i++)
        if (level && strcmp(level, names[i]) == 0)
            l = i;
    bool j = format && strcmp(format, "json") == 0, t = format && strcmp(format, "text") == 0;
    if (l < 0 || (!j && !t))
        return false;
    min_level = (log_level_t)l;
    json = j;
    return true;
}

void log_set_level(log_level_t level) { min_level = level; }

bool log_enabled(log_level_t level) { return level >= min_level; }

/* A line being built; appends stop at the capacity (less room for '\n'). */
typedef struct {
    char *p;
    size_t n, cap;
} line_t;

static void put(line_t *l, const char *s, size_t n) {
    if (n > l->cap - 1 - l->n)
        n = l->cap - 1 - l->n;
    memcpy(l->p + l->n, s, n);
    l->n += n;
}

static void put_s(line_t *l, const char *s) { put(l, s, strlen(s)); }

/* Text from outside (a client, a server's error reply, a library's message)
 * through the one escaper, as a JSON string's inside or as terminal text:
 * never more than limit bytes, and always room left for tail bytes after it,
 * so the rest of the line (a JSON object's closing) is never cut off. */
static void put_esc(line_t *l, const char *s, size_t limit, size_t tail) {
    size_t room = l->cap - 1 - l->n;
    room = room > tail ? room - tail : 0;
    if (s)
        l->n += core_utf8_escape(s, strlen(s), json ? CORE_UTF8_JSON : CORE_UTF8_TEXT, l->p + l->n,
                                 limit < room ? limit : room, NULL);
}

static void put_u(line_t *l, unsigned long long v) {
    char d[CORE_DECIMAL_MAX];
    size_t n = core_decimal_u(v, d);
    put(l, d, n);
}

/* milliseconds with three decimals, as printf's %.3f writes them */
static void put_ms(line_t *l, double ms) {
    unsigned long long us = ms > 0 ? (unsigned long long)(ms * 1000.0 + 0.5) : 0;
    put_u(l, us / 1000);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                    (char)('0' + us % 10)};
    put(l, frac, 4);
}

static void put_time(line_t *l) {
    char ts[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), ts);
    put_s(l, ts);
}

static void finish(line_t *l, bool now) {
    l->p[l->n++] = '\n';
    log_sink_put(l->p, l->n, now);
}

size_t log_event_format(log_level_t level, const char *msg, char *out, size_t cap) {
    line_t l = {out, 0, cap};
    if (json) {
        put_s(&l, "{\"time\":\"");
        put_time(&l);
        put_s(&l, "\",\"level\":\"");
        put_s(&l, names[level]);
        put_s(&l, "\",\"msg\":\"");
        put_esc(&l, msg, SIZE_MAX, 2);
        put_s(&l, "\"}");
    } else {
        put_time(&l);
        put_s(&l, " ");
        put_s(&l, names[level]);
        put_s(&l, " ");
        put_esc(&l, msg, SIZE_MAX, 0);
    }
    l.p[l.n] = '\0';
    return l.n;
}

void log_event(log_level_t level, const char *fmt, ...) {
    if (level < min_level)
        return;
    char msg[1024], out[2304];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    line_t l = {out, log_event_format(level, msg, out, sizeof out), sizeof out};
    finish(&l, true);
}

/* The most a request line's strings take, escaped: a method has no business
 * being longer (a client's 10 kB method is cut short); the line's fixed text
 * (about 200 bytes) and these always fit log_request's buffer, so the line is
 * never cut off before its closing brace. */
#define METHOD_MAX 64
#define FIELD_MAX 160

size_t log_request_format(const log_request_t *r, char *out, size_t cap) {
    line_t l = {out, 0, cap};
    if (json) {
        put_s(&l, "{\"time\":\"");
        put_time(&l);
        put_s(&l, "\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"");
        put_esc(&l, r->request_id, FIELD_MAX, 0);
        put_s(&l, "\",\"method\":\"");
        put_esc(&l, r->method, METHOD_MAX, 0);
        put_s(&l, "\",\"route\":\"");
        put_esc(&l, r->route, FIELD_MAX, 0);
        put_s(&l, "\",\"status\":");
        put_u(&l, r->status);
        put_s(&l, ",\"duration_ms\":");
        put_ms(&l, r->duration_ms);
        put_s(&l, ",\"bytes\":");
        put_u(&l, r->bytes);
        put_s(&l, ",\"remote\":\"");
        put_esc(&l, r->remote, FIELD_MAX, 0);
        put_s(&l, "\"}");
    } else {
        put_time(&l);
        put_s(&l, " info request ");
        put_esc(&l, r->request_id, FIELD_MAX, 0);
        put_s(&l, " ");
        put_esc(&l, r->method, METHOD_MAX, 0);
        put_s(&l, " ");
        put_esc(&l, r->route, FIELD_MAX, 0);
        put_s(&l, " ");
        put_u(&l, r->status);
        put_s(&l, " ");
        put_ms(&l, r->duration_ms);
        put_s(&l, "ms ");
        put_u(&l, r->bytes);
        put_s(&l, "B ");
        put_esc(&l, r->remote, FIELD_MAX, 0);
    }
    l.p[l.n] = '\0';
    return l.n;
}

void log_request(const log_request_t *r) {
    if (LOG_INFO < min_level)
        return;
    char out[1024];
    line_t l = {out, log_request_format(r, out, sizeof out), sizeof out};
    finish(&l, false);
}

void log_lines_dropped(unsigned long lines) {
    log_event(LOG_WARN, "log: %lu lines dropped: standard output did not take them in time", lines);
}
