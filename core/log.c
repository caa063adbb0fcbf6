/* The log; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "timefmt.h"

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

size_t log_json_escape(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (; s && *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return o;
}

static void emit(char *line, int n, size_t cap) {
    if (n < 0)
        return;
    if ((size_t)n > cap - 2)
        n = (int)cap - 2;
    line[n++] = '\n';
    ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
    (void)w;
}

void log_event(log_level_t level, const char *fmt, ...) {
    if (level < min_level)
        return;
    char msg[1024], line[2304], ts[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n;
    if (json) {
        char esc[2048];
        log_json_escape(msg, esc, sizeof esc);
        n = snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}", ts,
                     names[level], esc);
    } else {
        n = snprintf(line, sizeof line, "%s %s %s", ts, names[level], msg);
    }
    emit(line, n, sizeof line);
}

void log_request(const log_request_t *r) {
    if (LOG_INFO < min_level)
        return;
    char line[1024], ts[CORE_ISO8601_LEN];
    core_iso8601(core_now_ms(), ts);
    int n;
    if (json) {
        char id[300], route[300], method[64];
        log_json_escape(r->request_id, id, sizeof id);
        log_json_escape(r->route, route, sizeof route);
        log_json_escape(r->method, method, sizeof method);
        n = snprintf(
            line, sizeof line,
            "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
            "\"method\":\"%s\",\"route\":\"%s\",\"status\":%u,\"duration_ms\":%.3f,"
            "\"bytes\":%zu,\"remote\":\"%s\"}",
            ts, id, method, route, r->status, r->duration_ms, r->bytes, r->remote);
    } else {
        n = snprintf(line, sizeof line, "%s info request %s %s %s %u %.3fms %zuB %s", ts,
                     r->request_id, r->method, r->route, r->status, r->duration_ms, r->bytes,
                     r->remote);
    }
    emit(line, n, sizeof line);
}
