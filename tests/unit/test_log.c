/* Unit tests for core/log.c and core/logsink.c: the request line as log
 * collectors read it, and the batching of lines on standard output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../core/log.h"
#include "../../core/logsink.h"
#include "../../core/utf8.h"

static const log_request_t sample = {.request_id = "abc123",
                                     .method = "POST",
                                     .route = "/clients/{id}/heartbeat",
                                     .status = 204,
                                     .duration_ms = 1.2344,
                                     .bytes = 0,
                                     .remote = "127.0.0.1"};

static void json_request_line(void **state) {
    (void)state;
    assert_true(log_configure("info", "json"));
    char line[1024];
    size_t n = log_request_format(&sample, line, sizeof line);
    assert_int_equal(n, strlen(line));
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "info");
    assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring, "request");
    assert_string_equal(cJSON_GetObjectItem(j, "request_id")->valuestring, "abc123");
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
    assert_string_equal(cJSON_GetObjectItem(j, "route")->valuestring, "/clients/{id}/heartbeat");
    assert_int_equal(cJSON_GetObjectItem(j, "status")->valueint, 204);
    assert_int_equal(cJSON_GetObjectItem(j, "bytes")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(j, "remote")->valuestring, "127.0.0.1");
    const char *t = cJSON_GetObjectItem(j, "time")->valuestring;
    assert_int_equal(strlen(t), 24); /* 2026-11-22T05:15:27.678Z */
    assert_int_equal(t[23], 'Z');
    cJSON_Delete(j);
    /* three decimals, as %.3f writes them */
    assert_non_null(strstr(line, "\"duration_ms\":1.234,"));
}

static void durations_and_sizes(void **state) {
    (void)state;
    assert_true(log_configure("info", "json"));
    static const struct {
        double ms;
        const char *text;
    } cases[] = {{0, "0.000"},     {0.0004, "0.000"},       {0.0006, "0.001"}, {0.9996, "1.000"},
                 {12.5, "12.500"}, {30000.25, "30000.250"}, {-1.0, "0.000"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        log_request_t r = sample;
        r.duration_ms = cases[i].ms;
        r.bytes = 18446744073709551615ULL;
        char line[1024], want[64];
        log_request_format(&r, line, sizeof line);
        snprintf(want, sizeof want, "\"duration_ms\":%s,", cases[i].text);
        if (!strstr(line, want))
            fail_msg("%g ms: expected %s in %s", cases[i].ms, want, line);
        assert_non_null(strstr(line, "\"bytes\":18446744073709551615,"));
    }
}

static void escaped_and_truncated(void **state) {
    (void)state;
    assert_true(log_configure("info", "json"));
    log_request_t r = sample;
    r.method = "GE\"T\\\n";
    char line[1024];
    log_request_format(&r, line, sizeof line);
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "GE\"T\\\n");
    cJSON_Delete(j);
    /* a small buffer: cut short, still terminated, never past cap */
    char small[40];
    memset(small, 'x', sizeof small);
    size_t n = log_request_format(&sample, small, sizeof small);
    assert_true(n < sizeof small);
    assert_int_equal(small[n], '\0');
}

/* No byte a client sends can make a line invalid: whatever the method (raw
 * bytes >= 0x80, ESC, a method of 4 kB), the JSON line parses and is valid
 * UTF-8, and the text line holds no control character. */
static void hostile_bytes_escaped(void **state) {
    (void)state;
    static char long_method[4096];
    memset(long_method, '\xff', sizeof long_method - 1);
    const char *methods[] = {"G\xff\xfeT", "\x1b[31mGET\x1b[0m", "GE\x85T\xc2\x9b", long_method,
                             "\xe2\x82"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        log_request_t r = sample;
        r.method = methods[i];
        char line[1024];
        assert_true(log_configure("info", "json"));
        size_t n = log_request_format(&r, line, sizeof line);
        assert_true(core_utf8_valid(line, n));
        cJSON *j = cJSON_Parse(line);
        if (!j)
            fail_msg("method %zu: not JSON: %s", i, line);
        assert_string_equal(cJSON_GetObjectItem(j, "remote")->valuestring, "127.0.0.1");
        cJSON_Delete(j);
        assert_true(log_configure("info", "text"));
        n = log_request_format(&r, line, sizeof line);
        assert_true(core_utf8_valid(line, n));
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f)
                fail_msg("method %zu: control byte 0x%02x in the text line %s", i, line[k], line);
        assert_null(strstr(line, "\xc2\x85"));
        assert_null(strstr(line, "\xc2\x9b"));
    }
    log_request_t r = sample;
    r.method = "G\xff\x1bT";
    char line[1024];
    log_request_format(&r, line, sizeof line);
    assert_non_null(strstr(line, " G\\xff\\x1bT /clients/{id}/heartbeat "));
    assert_true(log_configure("info", "json"));
    log_request_format(&r, line, sizeof line);
    assert_non_null(strstr(line, "\"method\":\"G\xef\xbf\xbd\\u001bT\""));
}

static void text_request_line(void **state) {
    (void)state;
    assert_true(log_configure("info", "text"));
    char line[1024];
    log_request_format(&sample, line, sizeof line);
    const char *rest = strchr(line, ' ');
    assert_non_null(rest);
    assert_string_equal(
        rest, " info request abc123 POST /clients/{id}/heartbeat 204 1.234ms 0B 127.0.0.1");
    assert_true(log_configure("info", "json"));
}

/* Standard output redirected to a file for the sink tests. */
static int saved_stdout = -1;
static char out_path[64];

static void capture(void) {
    snprintf(out_path, sizeof out_path, "/tmp/rtstate-test-log-XXXXXX");
    int fd = mkstemp(out_path);
    assert_true(fd >= 0);
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    close(fd);
}

static char *captured(void) {
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    static char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void release(void) {
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    unlink(out_path);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void request_lines_batched_events_at_once(void **state) {
    (void)state;
    assert_true(log_configure("info", "json"));
    capture();
    assert_true(log_sink_start(300, log_lines_dropped));
    log_request(&sample);
    log_request(&sample);
    /* buffered: nothing written yet */
    assert_string_equal(captured(), "");
    /* an event goes out at once, after the lines logged before it */
    log_event(LOG_WARN, "something %s", "happened");
    char *text = captured();
    char *first = strstr(text, "\"request_id\":\"abc123\"");
    char *event = strstr(text, "something happened");
    assert_non_null(first);
    assert_non_null(event);
    assert_true(first < event);
    assert_non_null(strstr(first + 1, "\"request_id\":\"abc123\""));
    /* a line alone is written by the flusher within flush_ms */
    size_t before = strlen(captured());
    long t0 = now_ms();
    log_request(&sample);
    while (strlen(captured()) == before && now_ms() - t0 < 3000)
        sleep_ms(20);
    assert_true(strlen(captured()) > before);
    assert_true(now_ms() - t0 >= 299); /* not before its time */
    /* stop writes what is left */
    log_request(&sample);
    before = strlen(captured());
    log_sink_stop();
    assert_true(strlen(captured()) > before);
    /* after stop, lines are written at once */
    before = strlen(captured());
    log_request(&sample);
    assert_true(strlen(captured()) > before);
    /* every line whole, one JSON object each */
    int lines = 0;
    for (char *l = captured(); *l;) {
        char *nl = strchr(l, '\n');
        assert_non_null(nl);
        *nl = '\0';
        cJSON *j = cJSON_Parse(l);
        assert_non_null(j);
        cJSON_Delete(j);
        lines++;
        l = nl + 1;
    }
    assert_int_equal(lines, 6);
    release();
}

/* An event's message may quote what came from outside (a Redis error reply, a
 * library's message): one line each, escaped in both formats, and a message
 * that escapes to more than the line holds is cut short, not the line. */
static void events_escaped(void **state) {
    (void)state;
    static char many[1000];
    memset(many, '\x01', sizeof many - 1);
    capture();
    assert_true(log_configure("info", "json"));
    log_event(LOG_WARN, "reply: %s", "bad\r\n{\"level\":\"error\"}\x1b[2J\xff");
    log_event(LOG_WARN, "many: %s", many);
    assert_true(log_configure("info", "text"));
    log_event(LOG_WARN, "reply: %s", "bad\r\nforged line\x1b[2J\xff\xc2\x9b");
    char *text = captured();
    assert_true(core_utf8_valid(text, strlen(text)));
    char *lines[4] = {NULL};
    int n = 0;
    for (char *l = text, *nl; n < 4 && (nl = strchr(l, '\n')); l = nl + 1) {
        *nl = '\0';
        lines[n++] = l;
    }
    assert_int_equal(n, 3); /* three lines, no more */
    cJSON *j = cJSON_Parse(lines[0]);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring,
                        "reply: bad\r\n{\"level\":\"error\"}\x1b[2J\xef\xbf\xbd");
    cJSON_Delete(j);
    j = cJSON_Parse(lines[1]);
    assert_non_null(j);
    const char *msg = cJSON_GetObjectItem(j, "msg")->valuestring;
    assert_memory_equal(msg, "many: \x01\x01", 8);
    assert_true(strlen(msg) > 300);
    cJSON_Delete(j);
    assert_non_null(strstr(lines[2], " warn reply: bad\\r\\nforged line\\x1b[2J\\xff\\u009b"));
    for (const char *p = lines[2]; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    release();
    assert_true(log_configure("info", "json"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_request_line),
        cmocka_unit_test(durations_and_sizes),
        cmocka_unit_test(escaped_and_truncated),
        cmocka_unit_test(hostile_bytes_escaped),
        cmocka_unit_test(text_request_line),
        cmocka_unit_test(request_lines_batched_events_at_once),
        cmocka_unit_test(events_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
