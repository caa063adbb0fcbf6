/* HTTP/1.1 framing as an attacker writes it: exact bytes over a TCP socket.
 * A request whose body length is in doubt (RFC 9112, section 6.3) must get
 * one 400 and a closed connection, so that nothing behind a lax proxy can be
 * smuggled in as a second request; a query of hundreds of arguments an
 * immediate 414, not silence until the idle timeout; a request head trickled
 * a line at a time is cut off at HEADER_TIMEOUT_S; and an ordinary
 * kept-alive connection still serves request after request. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define HEAD_S 3 /* HEADER_TIMEOUT_S, far below IDLE_TIMEOUT_S */
/* clients are not reaped while a test waits (under valgrind too); the
 * target limits are checked at a 32 KiB pool (they derive from it: a
 * quarter for a target with a query, 64 arguments) */
static const char *const env[] = {"HEADER_TIMEOUT_S=3", "IDLE_TIMEOUT_S=30",
                                  "CLIENT_TIMEOUT_MS=600000", "MAX_HEADER_BYTES=32768", NULL};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to_service(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)it_fx.svc.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* What the server sent within ms: the bytes (NUL-terminated, caller frees),
 * and whether it closed the connection (EOF or reset) by then. */
typedef struct {
    char *data;
    size_t len;
    bool closed;
} got_t;

/* True once g holds a whole response (headers and Content-Length body). */
static bool whole_response(const got_t *g) {
    const char *end = strstr(g->data, "\r\n\r\n");
    const char *cl = strstr(g->data, "Content-Length: ");
    return end && cl && g->len >= (size_t)(end + 4 - g->data) + strtoul(cl + 16, NULL, 10);
}

/* Reads for ms, or until one whole response came when one_response. */
static got_t read_until(int fd, int ms, bool one_response) {
    got_t g = {calloc(1, 1), 0, false};
    double until = now_s() + ms / 1e3 * it_time_scale();
    while (!(one_response && whole_response(&g))) {
        int left = (int)((until - now_s()) * 1e3);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            g.closed = n == 0 || errno == ECONNRESET;
            break;
        }
        g.data = realloc(g.data, g.len + (size_t)n + 1);
        memcpy(g.data + g.len, buf, (size_t)n);
        g.len += (size_t)n;
        g.data[g.len] = '\0';
    }
    return g;
}

static got_t read_for(int fd, int ms) { return read_until(fd, ms, false); }

static got_t read_response(int fd, int ms) { return read_until(fd, ms, true); }

static int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Asserts g is exactly one problem+json response of status, with the
 * connection closed after it. */
static void assert_one_problem_then_closed(const got_t *g, int status) {
    char line[32];
    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    if (strncmp(g->data, line, strlen(line)) != 0)
        fail_msg("expected %s..., got:\n%s", line, g->data);
    assert_int_equal(count(g->data, "HTTP/1.1 "), 1); /* nothing answered after it */
    assert_non_null(strstr(g->data, "\r\nContent-Type: application/problem+json\r\n"));
    assert_non_null(strstr(g->data, "\r\nConnection: close\r\n"));
    const char *body = strstr(g->data, "\r\n\r\n");
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body + 4);
    assert_non_null(j);
    assert_int_equal((int)it_json_num(j, "status"), status);
    assert_non_null(it_json_str(j, "detail"));
    cJSON_Delete(j);
    assert_true(g->closed);
}

/* Sends req on a fresh connection and asserts one problem of status, the
 * connection closed, and nothing stored in Redis. */
static void refused(const char *req, int status) {
    int fd = connect_to_service();
    send_all(fd, req, strlen(req));
    got_t g = read_for(fd, 3000);
    assert_one_problem_then_closed(&g, status);
    free(g.data);
    close(fd);
    redisReply *n = it_redis_cmd(&it_fx.redis, "DBSIZE");
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
}

#define POST_CLIENTS "POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
/* a whole request: the one smuggled in a body, or an ordinary next one */
#define GET_LIVEZ "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"

static void two_content_lengths(void **state) {
    (void)state;
    /* the first length covers the JSON, the second the smuggled request too */
    refused(POST_CLIENTS
            "Content-Length: 10\r\nContent-Length: 42\r\n\r\n"
            "{\"id\":\"a\"}" GET_LIVEZ,
            400);
    refused(POST_CLIENTS
            "Content-Length: 42\r\nContent-Length: 10\r\n\r\n"
            "{\"id\":\"a\"}" GET_LIVEZ,
            400);
    /* equal values are refused too (RFC 9110 section 8.6 allows either) */
    refused(POST_CLIENTS "Content-Length: 10\r\nContent-Length: 10\r\n\r\n{\"id\":\"a\"}", 400);
}

static void content_length_with_chunked(void **state) {
    (void)state;
    refused(POST_CLIENTS
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            "a\r\n{\"id\":\"b\"}\r\n0\r\n\r\n" GET_LIVEZ,
            400);
    refused(POST_CLIENTS
            "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
            "a\r\n{\"id\":\"b\"}\r\n0\r\n\r\n",
            400);
    /* chunked not last, or named twice: the length cannot be known */
    refused(POST_CLIENTS
            "Transfer-Encoding: chunked, gzip\r\n\r\n"
            "a\r\n{\"id\":\"b\"}\r\n0\r\n\r\n",
            400);
    refused(POST_CLIENTS
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            "a\r\n{\"id\":\"b\"}\r\n0\r\n\r\n",
            400);
}

/* GET /clients with n query arguments "aN=1" (caller frees). */
static char *with_args(int n, const char *tail) {
    char *req = malloc((size_t)n * 12 + 128);
    int used = sprintf(req, "GET /clients?");
    for (int i = 0; i < n; i++)
        used += sprintf(req + used, "%sa%d=1", i ? "&" : "", i);
    sprintf(req + used, " HTTP/1.1\r\nHost: x\r\n%s\r\n", tail);
    return req;
}

static void too_many_query_arguments(void **state) {
    (void)state;
    char *req = with_args(500, ""); /* 3.4 KB */
    double start = now_s();
    refused(req, 414);
    /* at once, not at the idle timeout */
    assert_true(now_s() - start < 2 * it_time_scale());
    free(req);
    /* a target with a query over 8 KiB (a quarter of MAX_HEADER_BYTES), however few
     * arguments */
    char *longer = malloc(9000 + 64);
    int n = sprintf(longer, "GET /clients?cursor=");
    memset(longer + n, 'x', 9000);
    sprintf(longer + n + 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    refused(longer, 414);
    free(longer);
    /* 64 arguments are still served, and the connection kept */
    req = with_args(64, "");
    int fd = connect_to_service();
    send_all(fd, req, strlen(req));
    got_t g = read_response(fd, 3000);
    assert_memory_equal(g.data, "HTTP/1.1 200 ", 13);
    assert_false(g.closed);
    free(g.data);
    close(fd);
    free(req);
}

/* Sends the request line, then one header line every interval_ms; returns
 * how long after the first byte the server closed the connection (or a
 * large number), asserting it answered nothing. */
static double trickle(int fd, int interval_ms) {
    static const char line[] = "GET /livez HTTP/1.1\r\n";
    double start = now_s();
    send_all(fd, line, sizeof line - 1);
    for (int i = 0; i < 4 * HEAD_S * 1000 / interval_ms; i++) {
        got_t g = read_for(fd, interval_ms);
        bool closed = g.closed;
        assert_int_equal(g.len, 0);
        free(g.data);
        if (closed)
            return now_s() - start;
        if (send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) != 11)
            return now_s() - start;
    }
    return 1e9;
}

/* HEADER_TIMEOUT_S after the head began, and not much later (one watchdog
 * tick, one trickle interval). */
static void assert_cut_off_in_time(double took) {
    if (took > 1e8)
        fail_msg("the trickled head was never cut off");
    if (took < HEAD_S - 0.1 || took > (HEAD_S + 2) * it_time_scale())
        fail_msg("the trickled head was cut off after %.1f s, not about %d s", took, HEAD_S);
}

static void trickled_head_is_cut_off(void **state) {
    (void)state;
    /* each line comes long before the idle timeout, the head never ends */
    int fd = connect_to_service();
    double took = trickle(fd, 1000);
    close(fd);
    assert_cut_off_in_time(took);
}

/* GET /livez on fd, answered 200 */
static void livez_on(int fd) {
    send_all(fd, GET_LIVEZ, strlen(GET_LIVEZ));
    got_t g = read_response(fd, 3000);
    assert_memory_equal(g.data, "HTTP/1.1 200 ", 13);
    free(g.data);
}

static void trickled_second_head_is_cut_off(void **state) {
    (void)state;
    int fd = connect_to_service();
    livez_on(fd);
    /* idle between requests for longer than HEADER_TIMEOUT_S: still open, as
     * only IDLE_TIMEOUT_S governs an idle connection */
    got_t g = read_for(fd, (HEAD_S + 1) * 1000);
    assert_false(g.closed);
    free(g.data);
    livez_on(fd);
    /* and the next head, trickled, is timed from its own first byte */
    it_sleep_ms(200);
    double took = trickle(fd, 1000);
    close(fd);
    assert_cut_off_in_time(took);
}

static void keep_alive_still_works(void **state) {
    (void)state;
    int fd = connect_to_service();
    /* two requests in one write (pipelined), then a third, one connection */
    static const char post[] = POST_CLIENTS "Content-Length: 10\r\n\r\n{\"id\":\"k\"}";
    char two[256];
    snprintf(two, sizeof two, "%s%s", post, GET_LIVEZ);
    send_all(fd, two, strlen(two));
    got_t g = read_for(fd, 1000);
    assert_memory_equal(g.data, "HTTP/1.1 201 ", 13);
    assert_int_equal(count(g.data, "HTTP/1.1 "), 2);
    assert_non_null(strstr(g.data, "HTTP/1.1 200 "));
    assert_null(strstr(g.data, "Connection: close"));
    assert_false(g.closed);
    free(g.data);
    send_all(fd, "DELETE /clients/k HTTP/1.1\r\nHost: x\r\n\r\n", 39);
    g = read_for(fd, 500);
    assert_memory_equal(g.data, "HTTP/1.1 204 ", 13);
    assert_false(g.closed);
    free(g.data);
    close(fd);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(two_content_lengths, it_flush),
        cmocka_unit_test_setup(content_length_with_chunked, it_flush),
        cmocka_unit_test_setup(too_many_query_arguments, it_flush),
        cmocka_unit_test_setup(keep_alive_still_works, it_flush),
        cmocka_unit_test(trickled_head_is_cut_off),
        cmocka_unit_test(trickled_second_head_is_cut_off),
    };
    return cmocka_run_group_tests_name("integration: framing", tests, it_group_setup,
                                       it_group_teardown);
}
