/* Every byte a client sends is escaped before it reaches a log line or an
 * answer, as an outside tester found it was not: raw bytes >= 0x80, ESC and
 * C1 controls sent on a raw socket in the method, the path and headers, and
 * in a JSON body. The JSON log must stay one valid JSON object per line, in
 * valid UTF-8; the text log must hold nothing a terminal acts on (ESC, CR,
 * C1) and no ill-formed UTF-8; every problem+json answer, the 415 that quotes
 * a Content-Type of "text/\xff\xfe" among them, must be valid UTF-8 and JSON;
 * and a JSON body that is not UTF-8 is refused with 400 naming the field. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Well-formed UTF-8 (table 3-7 of the Unicode standard), written here again so
 * that the test does not trust the code it tests. */
static bool utf8_valid(const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return false;
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k < len; k++, lo = 0x80, hi = 0xBF)
            if (s[i + k] < lo || s[i + k] > hi)
                return false;
        i += len;
    }
    return true;
}

typedef struct {
    int status;
    char *head, *body; /* the answer split at the blank line (one allocation) */
    size_t body_len;
} raw_resp_t;

/* Sends len bytes on a new connection and reads the answer until the server
 * closes the connection (every request says Connection: close). */
static raw_resp_t raw(int port, const char *request, size_t len) {
    size_t cap = 65536;
    char *out = malloc(cap);
    size_t have = it_raw_exchange(port, request, len, out, cap, 5000);
    raw_resp_t r = {0, out, NULL, 0};
    char *blank = strstr(out, "\r\n\r\n");
    assert_non_null(blank);
    *blank = '\0';
    r.body = blank + 4;
    r.body_len = have - (size_t)(r.body - out);
    assert_memory_equal(out, "HTTP/1.1 ", 9);
    r.status = atoi(out + 9);
    return r;
}

/* A problem+json answer as a strict client reads it: valid UTF-8, one JSON
 * object with the status in it; returns the detail (caller frees). */
static char *problem_detail(const raw_resp_t *r) {
    if (!utf8_valid(r->body, r->body_len))
        fail_msg("a %d body is not valid UTF-8: %s", r->status, r->body);
    assert_non_null(strcasestr(r->head, "\r\nContent-Type: application/problem+json"));
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    if (!j)
        fail_msg("a %d body is not JSON: %s", r->status, r->body);
    assert_int_equal((int)it_json_num(j, "status"), r->status);
    char *detail = strdup(it_json_str(j, "detail"));
    cJSON_Delete(j);
    return detail;
}

#define CLOSE "Connection: close\r\n\r\n"

/* What an outside tester sent: bytes >= 0x80, ESC, C1 controls (CSI is 0x9b,
 * NEL 0x85) in the method, the path and the headers. */
static const struct {
    const char *request;
    int status;
} hostile[] = {
    {"G\xff\xfeT /clients HTTP/1.1\r\nHost: x\r\n" CLOSE, 405},
    {"\x1b[2J\x1b[31mGET /clients HTTP/1.1\r\nHost: x\r\n" CLOSE, 405},
    {"GE\xc2\x9bT\xc2\x85 /clients HTTP/1.1\r\nHost: x\r\n" CLOSE, 405},
    {"GET /clients/\xff\xfe\x1b HTTP/1.1\r\nHost: x\r\nX-Request-Id: \xff\x1b[2J\r\n"
     "User-Agent: \x1b]0;owned\x07\xff\r\n" CLOSE,
     400},
    {"GET /\xff\x1b[2J HTTP/1.1\r\nHost: x\r\n" CLOSE, 404},
    {"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: text/\xff\xfe\r\n"
     "Content-Length: 2\r\n" CLOSE "{}",
     415},
    {"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: text/\x1b[2J\x7f\xc2\x85\xe2\x82\r\n"
     "Content-Length: 2\r\n" CLOSE "{}",
     415},
    {"PUT /clients/cam/image HTTP/1.1\r\nHost: x\r\nContent-Type: image/\xff\x1b\r\n"
     "Content-Length: 4\r\n" CLOSE "\xff\xd8\xff\xe0",
     415},
};

/* Sends every hostile request, and one with a method of 3 000 bytes >= 0x80;
 * checks each status, and each answer as a strict client reads it when
 * check_bodies; returns how many requests were sent. */
static int send_hostile(int port, bool check_bodies) {
    static char longer[3200];
    memset(longer, '\xff', 3000);
    strcpy(longer + 3000, " /clients HTTP/1.1\r\nHost: x\r\n" CLOSE);
    size_t n = sizeof hostile / sizeof hostile[0];
    for (size_t i = 0; i <= n; i++) {
        const char *req = i < n ? hostile[i].request : longer;
        raw_resp_t r = raw(port, req, strlen(req));
        int want = i < n ? hostile[i].status : 405;
        if (r.status != want)
            fail_msg("request %zu: %d, expected %d", i, r.status, want);
        if (check_bodies)
            free(problem_detail(&r));
        free(r.head);
    }
    return (int)n + 1;
}

/* The service's log, once it holds at least lines request lines (each is
 * written after its answer; LOG_FLUSH_MS=0 writes them at once). Caller
 * frees; *len is its length. */
static char *log_with_requests(const char *path, int lines, size_t *len) {
    for (int waited = 0;; waited += 20) {
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char *text = malloc(1 << 20);
        *len = fread(text, 1, (1 << 20) - 1, f);
        fclose(f);
        text[*len] = '\0';
        int found = 0;
        for (const char *p = text; (p = strstr(p, "\"msg\":\"request\"")); p++)
            found++;
        for (const char *p = text; (p = strstr(p, " info request ")); p++)
            found++;
        if (found >= lines)
            return text;
        if (waited > 15000 * it_time_scale())
            fail_msg("%d of the %d request lines reached the log in time", found, lines);
        free(text);
        it_sleep_ms(20);
    }
}

/* LOG_FORMAT=json: every line is a JSON object in valid UTF-8, and the
 * method comes back as the bytes sent, ill-formed ones as U+FFFD. */
static void json_log_lines_valid(void **state) {
    (void)state;
    int sent = send_hostile(it_fx.svc.port, false);
    size_t len;
    char *text = log_with_requests(it_fx.svc.log, sent, &len);
    assert_true(utf8_valid(text, len));
    int lines = 0, requests = 0;
    bool esc_method = false, replaced_method = false;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl); /* every line whole */
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        if (!cJSON_IsObject(j))
            fail_msg("log line %d is not a JSON object: %s", lines + 1, line);
        lines++;
        if (strcmp(it_json_str(j, "msg"), "request") == 0) {
            requests++;
            const char *m = it_json_str(j, "method");
            esc_method = esc_method || strcmp(m, "\x1b[2J\x1b[31mGET") == 0;
            replaced_method = replaced_method || strcmp(m, "G\xef\xbf\xbd\xef\xbf\xbdT") == 0;
            assert_non_null(it_json_str(j, "remote"));
        }
        cJSON_Delete(j);
    }
    assert_true(requests >= sent);
    assert_true(esc_method);      /* escaped as \u001b, read back as ESC */
    assert_true(replaced_method); /* \xff\xfe: one U+FFFD each */
    free(text);
}

/* Every answer to them is problem+json in valid UTF-8: the 405s quote the
 * method, the 415s the Content-Type. */
static void answers_quoting_client_bytes_are_utf8(void **state) {
    (void)state;
    send_hostile(it_fx.svc.port, true);
}

/* The 415 that quotes a Content-Type of "text/\xff\xfe": valid UTF-8 and JSON,
 * with the bytes shown as U+FFFD. */
static void problem_quoting_a_header_is_utf8(void **state) {
    (void)state;
    static const char req[] =
        "POST /clients HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: text/\xff\xfe\r\nContent-Length: 2\r\n" CLOSE "{}";
    raw_resp_t r = raw(it_fx.svc.port, req, sizeof req - 1);
    assert_int_equal(r.status, 415);
    char *detail = problem_detail(&r);
    assert_string_equal(
        detail, "Content-Type must be application/json, not 'text/\xef\xbf\xbd\xef\xbf\xbd'");
    free(detail);
    free(r.head);
}

/* RFC 8259: JSON is UTF-8. A body whose text is not is refused with 400
 * naming the field, in a name or a value, however deep; nothing is stored. */
static void json_body_not_utf8_refused(void **state) {
    (void)state;
    static const struct {
        const char *method, *path, *body, *field;
    } cases[] = {
        {"POST", "/clients", "{\"id\":\"cam-1\",\"label\":\"caf\xe9\"}", "label"},
        {"POST", "/clients",
         "{\"id\":\"cam-1\",\"la\xff"
         "bel\":\"x\"}",
         "la\xef\xbf\xbd"
         "bel"},
        {"PUT", "/online-users/u1",
         "{\"status\":\"online\",\"meta\":{\"tags\":[\"ok\",\"\xc0\xaf\"]}}", "meta.tags[1]"},
        {"POST", "/rooms/r1/messages", "{\"sender_id\":\"u1\",\"content\":\"hi \xed\xa0\x80\"}",
         "content"},
        {"PUT", "/online-users/u1", "{\"status\":\"online\",\"device_id\":\"d\xc3\"}", "device_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[512];
        int n = snprintf(req, sizeof req,
                         "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n" CLOSE "%s",
                         cases[i].method, cases[i].path, strlen(cases[i].body), cases[i].body);
        raw_resp_t r = raw(it_fx.svc.port, req, (size_t)n);
        if (r.status != 400)
            fail_msg("case %zu: %d, expected 400: %s", i, r.status, r.body);
        char *detail = problem_detail(&r), want[128];
        snprintf(want, sizeof want, "field '%s' is not valid UTF-8", cases[i].field);
        assert_string_equal(detail, want);
        free(detail);
        free(r.head);
    }
    redisReply *keys = it_redis_cmd(&it_fx.redis, "KEYS *");
    assert_int_equal(keys->elements, 0);
    freeReplyObject(keys);
}

/* LOG_FORMAT=text: what a terminal shows. No ESC, no CR, no C1, no byte
 * that is not UTF-8 reaches it; the escapes show what was sent. */
static void text_log_has_no_controls(void **state) {
    (void)state;
    const char *env[] = {"LOG_FORMAT=text", "LOG_FLUSH_MS=0", "LOG_LEVEL=debug", NULL};
    it_service_t s;
    assert_true(it_service_start(&s, it_fx.redis.url, env));
    int sent = send_hostile(s.port, false);
    size_t len;
    char *text = log_with_requests(s.log, sent, &len);
    char log[sizeof s.log];
    memcpy(log, s.log, sizeof log);
    assert_int_equal(it_service_stop(&s), 0);
    assert_true(utf8_valid(text, len));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            fail_msg("byte 0x%02x in the text log at %zu: %.200s", c, i,
                     text + (i > 80 ? i - 80 : 0));
        if (c == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] <= 0x9f)
            fail_msg("a C1 control in the text log at %zu", i);
    }
    assert_non_null(strstr(text, " info request "));
    assert_non_null(strstr(text, " \\x1b[2J\\x1b[31mGET /clients 405 "));
    assert_non_null(strstr(text, " G\\xff\\xfeT /clients 405 "));
    assert_non_null(strstr(text, " GE\\u009bT\\u0085 /clients 405 "));
    free(text);
    unlink(log);
}

int main(void) {
    static const char *const env[] = {"LOG_FLUSH_MS=0", "LOG_LEVEL=debug", NULL};
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_log_lines_valid, it_flush),
        cmocka_unit_test_setup(answers_quoting_client_bytes_are_utf8, it_flush),
        cmocka_unit_test_setup(problem_quoting_a_header_is_utf8, it_flush),
        cmocka_unit_test_setup(json_body_not_utf8_refused, it_flush),
        cmocka_unit_test_setup(text_log_has_no_controls, it_flush),
    };
    return cmocka_run_group_tests_name("integration: escaping", tests, it_group_setup,
                                       it_group_teardown);
}
