/* Concurrent requests share Redis round trips (issue 13): the commands that
 * the requests of one event loop queue during a turn reach Redis in one
 * write, so Redis reads fewer times than it gets requests (INFO stats
 * total_reads_processed), while every answer stays each request's own. A
 * blocking worker per request read exactly once per request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CLIENTS 32
#define EACH 50

typedef struct {
    int port, n;
    int ok;      /* 204s */
    char id[16]; /* the client this connection beats for */
} beater_t;

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One keep-alive connection sending heartbeats one after the other; each
 * answer (a 204 has no body) read up to its blank line. */
static void *beat(void *arg) {
    beater_t *b = arg;
    int fd = dial(b->port);
    char req[128], buf[1024];
    int len = snprintf(
        req, sizeof req,
        "POST /clients/%s/heartbeat HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", b->id);
    for (int i = 0; fd >= 0 && i < b->n; i++) {
        if (send(fd, req, (size_t)len, 0) != len)
            break;
        size_t got = 0;
        while (got < sizeof buf - 1) {
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[got] = '\0';
        if (strncmp(buf, "HTTP/1.1 204 ", 13) != 0 || !strstr(buf, "\r\n\r\n"))
            break;
        b->ok++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static long long info_stat(const char *name) {
    redisReply *r = it_redis_cmd(&it_fx.redis, "INFO stats");
    assert_non_null(r);
    const char *p = strstr(r->str, name);
    long long v = p ? atoll(p + strlen(name) + 1) : -1;
    freeReplyObject(r);
    return v;
}

static void concurrent_requests_share_round_trips(void **state) {
    (void)state;
    for (int i = 0; i < CLIENTS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"id\":\"cam-p%02d\"}", i);
        it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", body);
        assert_int_equal(r.status, 201);
        it_resp_free(&r);
    }
    it_sleep_ms(5); /* so that a heartbeat's time differs from the creation's */
    long long reads0 = info_stat("total_reads_processed");
    beater_t b[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        b[i] = (beater_t){.port = it_fx.svc.port, .n = EACH};
        snprintf(b[i].id, sizeof b[i].id, "cam-p%02d", i);
        assert_int_equal(pthread_create(&t[i], NULL, beat, &b[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        ok += b[i].ok;
    }
    /* two INFO calls of this test's own are in the count */
    long long reads = info_stat("total_reads_processed") - reads0 - 1;
    printf("  %d heartbeats answered 204, Redis read %lld times (%.2f per request)\n", ok, reads,
           (double)reads / ok);
    assert_int_equal(ok, CLIENTS * EACH);
    assert_true(reads < (long long)ok * 3 / 4);
    /* and each heartbeat was its own: every client's last_seen moved on */
    for (int i = 0; i < CLIENTS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/clients/cam-p%02d", i);
        it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r);
        assert_string_not_equal(it_json_str(j, "last_seen"), it_json_str(j, "connected_at"));
        cJSON_Delete(j);
        it_resp_free(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(concurrent_requests_share_round_trips, it_flush),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
