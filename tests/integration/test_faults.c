/*
 * Fault injection: what clients see while Redis dies, stalls, runs out of
 * memory or comes back, and while HTTP itself arrives malformed.
 *
 * - Redis killed (SIGKILL) while 8 client threads send frames and heartbeats:
 *   every request still answers, fast (well within the timeout), with 503
 *   problem+json and Retry-After, never a 500 or a hang; /livez stays 200 and
 *   /readyz goes 503. Redis restarted (from the snapshot it saved): every
 *   thread's requests succeed again within 1 s, and it is the same service
 *   process throughout, which still stops cleanly.
 * - Redis stalled (CLIENT PAUSE): every request returns within the command
 *   timeout (503 while paused; a cluster's masters stalled all at once: one
 *   timeout per master at most, see the test), /livez keeps answering, and
 *   all recovers.
 * - Redis out of memory: 503 (the retryable kind), not 500.
 * - Malformed HTTP over raw sockets: truncated requests, bad chunked encoding,
 *   header floods, a 1 MB header line, a 1 MB URL, pipelined garbage, a bad
 *   Content-Length: each gets a 4xx or a closed connection, nothing is
 *   stored, and a normal request succeeds after each. libmicrohttpd answers
 *   the requests it cannot parse itself (400, 413, 414, 431, with its own
 *   small HTML body and Connection: close) before any handler runs; the
 *   README says why that is accepted.
 *
 * Each test runs its own Redis and service with REDIS_TIMEOUT_MS=300. Time
 * bounds are multiplied by it_time_scale() (make valgrind).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define TIMEOUT_S 0.3
static const char *const env[] = {"REDIS_TIMEOUT_MS=300", "CLIENT_TIMEOUT_MS=60000", NULL};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void create_client(const it_service_t *s, const char *id) {
    char body[96];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    it_resp_t r = it_json_req(s, "POST", "/clients", body);
    assert_true(r.status == 201 || r.status == 200);
    it_resp_free(&r);
}

/* ---- client threads sending frames and heartbeats ---- */

/* A request counts for a phase when it started and ended in it; CHANGING
 * covers the moments of a kill or a restart themselves. */
enum { RUNNING, DOWN, BACK, NPHASES, CHANGING = NPHASES, STOP };
static atomic_int phase;
static double back_at; /* when the restarted Redis answered PING */

typedef struct {
    const it_service_t *svc;
    char id[32];
    int ok[NPHASES], unavailable[NPHASES];
    int other; /* any other status: a failure */
    long other_status;
    int bad_problems; /* 503s without problem+json or Retry-After */
    double slowest[NPHASES];
    double first_ok_back; /* seconds from back_at to this thread's first 2xx; -1 none */
} loader_t;

static void record(loader_t *l, const it_resp_t *r, int started_in) {
    int p = atomic_load(&phase);
    bool settled = p == started_in && p < NPHASES; /* no phase change mid-request */
    if (p < NPHASES && r->seconds > l->slowest[p])
        l->slowest[p] = r->seconds;
    if (r->status == 200 || r->status == 204) {
        if (settled)
            l->ok[p]++;
        if (p == BACK && settled && l->first_ok_back < 0)
            l->first_ok_back = now_s() - back_at;
    } else if (r->status == 503) {
        if (settled)
            l->unavailable[p]++;
        if (!it_is_unavailable(r))
            l->bad_problems++;
    } else {
        l->other++;
        l->other_status = r->status;
    }
}

static void *load(void *arg) {
    loader_t *l = arg;
    char path[96];
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    static const char frame[] = "\xff\xd8\xff\xe0 a frame";
    for (int p; (p = atomic_load(&phase)) != STOP;) {
        snprintf(path, sizeof path, "/clients/%s/image", l->id);
        it_resp_t r = it_http(l->svc, "PUT", path, h, frame, sizeof frame - 1);
        record(l, &r, p);
        it_resp_free(&r);
        p = atomic_load(&phase);
        snprintf(path, sizeof path, "/clients/%s/heartbeat", l->id);
        r = it_http(l->svc, "POST", path, NULL, NULL, 0);
        record(l, &r, p);
        it_resp_free(&r);
        it_sleep_ms(5);
    }
    return NULL;
}

#define LOADERS 8

static void start_loaders(const it_service_t *s, loader_t *l, pthread_t *t) {
    for (int i = 0; i < LOADERS; i++) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].svc = s;
        l[i].first_ok_back = -1;
        snprintf(l[i].id, sizeof l[i].id, "cam-%d", i);
        create_client(s, l[i].id);
    }
    atomic_store(&phase, RUNNING);
    for (int i = 0; i < LOADERS; i++)
        pthread_create(&t[i], NULL, load, &l[i]);
}

static void stop_loaders(loader_t *l, pthread_t *t) {
    atomic_store(&phase, STOP);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < LOADERS; i++) {
        if (l[i].other)
            fail_msg("%s got HTTP %ld", l[i].id, l[i].other_status);
        assert_int_equal(l[i].bad_problems, 0);
    }
}

static void probe(const it_service_t *s, const char *path, long want, double max_s) {
    it_resp_t r = it_http(s, "GET", path, NULL, NULL, 0);
    if (r.status != want || r.seconds > max_s)
        fail_msg("GET %s: %ld in %.3f s (want %ld within %.3f s)", path, r.status, r.seconds, want,
                 max_s);
    it_resp_free(&r);
}

static void redis_killed_under_load_then_restarted(void **state) {
    (void)state;
    double k = it_time_scale();
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    pid_t pid = svc.pid;
    loader_t l[LOADERS];
    pthread_t t[LOADERS];
    start_loaders(&svc, l, t);
    it_sleep_ms(300);

    atomic_store(&phase, CHANGING);
    redisReply *saved = it_redis_cmd(&redis, "SAVE"); /* the restart comes back with the clients */
    assert_non_null(saved);
    freeReplyObject(saved);
    it_redis_kill(&redis);
    atomic_store(&phase, DOWN);
    for (int i = 0; i < 10; i++) {
        probe(&svc, "/livez", 200, 0.2 * k);
        probe(&svc, "/readyz", 503, (TIMEOUT_S + 0.5) * k);
        it_sleep_ms(100);
    }

    atomic_store(&phase, CHANGING);
    assert_true(it_redis_restart(&redis));
    back_at = now_s();
    atomic_store(&phase, BACK);
    double ready = -1;
    while (ready < 0 && now_s() - back_at < 2 * k) {
        it_resp_t r = it_http(&svc, "GET", "/readyz", NULL, NULL, 0);
        if (r.status == 200)
            ready = now_s() - back_at;
        it_resp_free(&r);
    }
    it_sleep_ms((int)(1200 * k));
    stop_loaders(l, t);

    for (int i = 0; i < LOADERS; i++) {
        printf("  %s: ok %d/%d/%d, 503 %d/%d/%d, slowest %.3f/%.3f/%.3f s, back after %.3f s\n",
               l[i].id, l[i].ok[RUNNING], l[i].ok[DOWN], l[i].ok[BACK], l[i].unavailable[RUNNING],
               l[i].unavailable[DOWN], l[i].unavailable[BACK], l[i].slowest[RUNNING],
               l[i].slowest[DOWN], l[i].slowest[BACK], l[i].first_ok_back);
        assert_true(l[i].ok[RUNNING] > 0);
        assert_int_equal(l[i].unavailable[RUNNING], 0);
        /* down: nothing but fast 503s */
        assert_true(l[i].unavailable[DOWN] > 0);
        assert_int_equal(l[i].ok[DOWN], 0);
        assert_true(l[i].slowest[DOWN] < (TIMEOUT_S + 0.2) * k);
        /* back: every thread succeeds again within 1 s */
        assert_true(l[i].first_ok_back >= 0 && l[i].first_ok_back <= 1.0 * k);
    }
    assert_true(ready >= 0 && ready <= 1.0 * k);
    /* the same process served throughout, and stops cleanly */
    assert_int_equal(svc.pid, pid);
    assert_int_equal(kill(pid, 0), 0);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void *pause_redis(void *arg) {
    redisReply *r = it_redis_cmd(arg, "CLIENT PAUSE 1500 ALL");
    if (r)
        freeReplyObject(r);
    return NULL;
}

static void redis_stall_is_bounded_by_the_timeout(void **state) {
    (void)state;
    double k = it_time_scale();
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    loader_t l[LOADERS];
    pthread_t t[LOADERS];
    start_loaders(&svc, l, t);
    it_sleep_ms(200);

    pthread_t pauser;
    atomic_store(&phase, CHANGING);
    pthread_create(&pauser, NULL, pause_redis, &redis);
    pthread_join(pauser, NULL);
    atomic_store(&phase, DOWN);
    double paused_at = now_s(), livez_max = 0;
    int livez_n = 0;
    while (now_s() - paused_at < 1.2) {
        it_resp_t r = it_http(&svc, "GET", "/livez", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        if (r.seconds > livez_max)
            livez_max = r.seconds;
        livez_n++;
        it_resp_free(&r);
        it_sleep_ms(50);
    }
    atomic_store(&phase, CHANGING);
    it_sleep_ms(500); /* the pause is over */
    back_at = now_s();
    atomic_store(&phase, BACK);
    it_sleep_ms((int)(1000 * k));
    stop_loaders(l, t);

    /* A stalled server costs a request the command timeout, and then fails
     * fast for every worker but the one that tries it again. A cluster's
     * masters are tried again each on its own: a worker thread that took
     * several requests at once may try one stalled master for the first and
     * another for the next, so the next waits behind one timeout per
     * stalled master at most (event loops, which park a waiting request,
     * would not). */
    double bound = (it_redis_masters(&redis) * TIMEOUT_S + 0.2) * k;
    printf("  /livez while stalled: %d probes, slowest %.3f s\n", livez_n, livez_max);
    for (int i = 0; i < LOADERS; i++) {
        printf("  %s: 503 %d while stalled, slowest %.3f s, back after %.3f s\n", l[i].id,
               l[i].unavailable[DOWN], l[i].slowest[DOWN], l[i].first_ok_back);
        assert_true(l[i].unavailable[DOWN] > 0);
        assert_true(l[i].slowest[DOWN] < bound);
        assert_true(l[i].first_ok_back >= 0 && l[i].first_ok_back <= 1.0 * k);
    }
    /* with every worker waiting on Redis, /livez waits at most for them */
    assert_true(livez_max < bound);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

static void redis_out_of_memory_is_503_not_500(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    create_client(&svc, "cam");
    redisReply *r = it_redis_cmd(&redis, "CONFIG SET maxmemory 1");
    freeReplyObject(r);
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    it_resp_t resp = it_http(&svc, "PUT", "/clients/cam/image", h, "\xff\xd8\xff\xe0", 4);
    assert_true(it_is_unavailable(&resp));
    it_resp_free(&resp);
    resp = it_json_req(&svc, "POST", "/clients", "{\"id\":\"new\"}");
    assert_true(it_is_unavailable(&resp));
    it_resp_free(&resp);
    probe(&svc, "/livez", 200, 0.2 * it_time_scale());
    r = it_redis_cmd(&redis, "CONFIG SET maxmemory 0");
    freeReplyObject(r);
    resp = it_http(&svc, "PUT", "/clients/cam/image", h, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(resp.status, 200);
    it_resp_free(&resp);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

/* ---- malformed HTTP over raw sockets ---- */

typedef struct {
    int status;  /* of the first response; 0 when none came */
    bool closed; /* the server closed the connection */
    char head[256];
} raw_t;

static int raw_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends len bytes (the server may close before taking them all), then reads
 * until the server closes or wait_ms pass. */
static raw_t raw_exchange(int port, const void *data, size_t len, int wait_ms) {
    raw_t out = {0};
    int fd = raw_connect(port);
    assert_true(fd >= 0);
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, (const char *)data + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server stopped reading: closed on us */
        sent += (size_t)n;
    }
    char buf[4096];
    size_t have = 0;
    double until = now_s() + wait_ms / 1000.0;
    while (now_s() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n <= 0) {
            out.closed = true;
            break;
        }
        have += (size_t)n;
        if (have == sizeof buf - 1)
            have = 0; /* only the first response's head matters */
    }
    buf[have] = '\0';
    close(fd);
    if (sscanf(buf, "HTTP/1.%*d %d", &out.status) != 1)
        out.status = 0;
    snprintf(out.head, sizeof out.head, "%s", buf);
    return out;
}

/* The service still serves everyone else, correctly. */
static void assert_still_serving(const it_service_t *s) {
    it_resp_t r = it_http(s, "GET", "/livez", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    r = it_http(s, "GET", "/clients/known", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

static void assert_4xx_or_closed(const char *what, raw_t r) {
    if (!(r.status == 0 || (r.status >= 400 && r.status < 500)) || !r.closed)
        fail_msg("%s: status %d, %s:\n%s", what, r.status, r.closed ? "closed" : "left open",
                 r.head);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail) {
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * times + tl + 1), *p = s;
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < times; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static void malformed_http_gets_4xx_or_close(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    create_client(&svc, "known");
    int port = svc.port;
    int wait = (int)(2000 * it_time_scale());
    static const struct {
        const char *what, *req;
        int status; /* what libmicrohttpd answers */
    } cases[] = {
        {"bad chunk size",
         "POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
         400},
        {"huge chunk size",
         "POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n",
         413},
        {"bad Content-Length",
         "POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: "
         "application/json\r\nContent-Length: -1\r\n\r\n{}",
         400},
        {"no HTTP version", "GET /livez\r\n\r\n", 400},
        {"pipelined garbage", "GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_t r = raw_exchange(port, cases[i].req, strlen(cases[i].req), wait);
        if (r.status != cases[i].status || !r.closed)
            fail_msg("%s: %d (%s), want %d and a close", cases[i].what, r.status,
                     r.closed ? "closed" : "open", cases[i].status);
        assert_still_serving(&svc);
    }

    /* pipelined binary garbage after a good request: it is answered, then 400 */
    char pipelined[512];
    int n = snprintf(pipelined, sizeof pipelined, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int c = 1; c < 256; c++)
        pipelined[n++] = c == '\n' || c == '\r' ? 'x' : (char)c;
    memcpy(pipelined + n, "\r\n\r\n", 4);
    raw_t r = raw_exchange(port, pipelined, (size_t)n + 4, wait);
    assert_int_equal(r.status, 200);
    assert_true(r.closed);
    assert_still_serving(&svc);

    /* header floods: 10000 headers, one 1 MB header line, a 1 MB URL */
    char *flood = repeat("GET /livez HTTP/1.1\r\nHost: x\r\n", "X-Flood: 1\r\n", 10000, "\r\n");
    char *line = repeat("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", 1 << 20, "\r\n\r\n");
    char *url = repeat("GET /clients/", "a", 1 << 20, " HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *floods[] = {flood, line, url};
    for (int i = 0; i < 3; i++) {
        r = raw_exchange(port, floods[i], strlen(floods[i]), wait);
        assert_4xx_or_closed(i == 0 ? "header flood" : i == 1 ? "1 MB header" : "1 MB URL", r);
        assert_still_serving(&svc);
    }
    free(flood);
    free(line);
    free(url);

    /* a truncated body: the client goes away; nothing is stored */
    static const char part[] =
        "PUT /clients/known/image HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: image/jpeg\r\nContent-Length: 100\r\n\r\n\xff\xd8\xff";
    r = raw_exchange(port, part, sizeof part - 1, 200);
    assert_int_equal(r.status, 0);
    assert_still_serving(&svc);
    redisReply *e = it_redis_cmd(&redis, "EXISTS %s", it_key(KEY_IMAGE, "known"));
    assert_int_equal(e->integer, 0);
    freeReplyObject(e);

    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

/* Truncated requests held open (slow or dead clients) wait for their
 * connection timeout; meanwhile everyone else is served as fast as ever. */
static void truncated_requests_do_not_starve_others(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    create_client(&svc, "known");
    enum { HELD = 64 };
    static const char *const parts[] = {
        "GET /liv",
        "GET /livez HTTP/1.1\r\nHost: x\r\n",
        "PUT /clients/known/image HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n\xff",
        "POST /clients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{",
    };
    int fds[HELD];
    for (int i = 0; i < HELD; i++) {
        fds[i] = raw_connect(svc.port);
        assert_true(fds[i] >= 0);
        const char *p = parts[i % 4];
        assert_true(send(fds[i], p, strlen(p), MSG_NOSIGNAL) == (ssize_t)strlen(p));
    }
    it_sleep_ms(100);
    for (int i = 0; i < 20; i++) {
        it_resp_t r = it_http(&svc, "GET", "/clients/known", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_true(r.seconds < 0.5 * it_time_scale());
        it_resp_free(&r);
    }
    for (int i = 0; i < HELD; i++)
        close(fds[i]);
    assert_still_serving(&svc);
    redisReply *e = it_redis_cmd(&redis, "EXISTS %s", it_key(KEY_IMAGE, "known"));
    assert_int_equal(e->integer, 0);
    freeReplyObject(e);
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

/* Clients that reset their connection while their request waits for Redis
 * (paused): at once (the handler waits with its connection in the server's
 * ready list) and after a few ms (suspended by then). The handlers finish
 * on their own, nothing they touch is freed under them (ASan and valgrind
 * runs of this test say so at the service's exit), and the service serves
 * on. */
static void clients_gone_while_their_handler_waits(void **state) {
    (void)state;
    it_redis_t redis;
    it_service_t svc;
    assert_true(it_redis_start(&redis));
    assert_true(it_service_start(&svc, redis.url, env));
    create_client(&svc, "known");
    redisReply *p = it_redis_cmd(&redis, "CLIENT PAUSE %d ALL", (int)(400 * it_time_scale()));
    assert_non_null(p);
    freeReplyObject(p);
    static const char req[] = "GET /clients/known HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 40; i++) {
        int fd = raw_connect(svc.port);
        assert_true(fd >= 0);
        assert_true(send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1));
        if (i % 2)
            it_sleep_ms(5); /* past the few ms after which a waiting request is suspended */
        struct linger reset = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        close(fd); /* a reset, not a polite close */
    }
    it_sleep_ms((int)(600 * it_time_scale())); /* the pause is over, the handlers done */
    for (int i = 0; i < 10; i++) {
        it_resp_t r = it_http(&svc, "GET", "/clients/known", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    assert_int_equal(it_service_stop(&svc), 0);
    it_redis_stop(&redis);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clients_gone_while_their_handler_waits),
        cmocka_unit_test(redis_killed_under_load_then_restarted),
        cmocka_unit_test(redis_stall_is_bounded_by_the_timeout),
        cmocka_unit_test(redis_out_of_memory_is_503_not_500),
        cmocka_unit_test(malformed_http_gets_4xx_or_close),
        cmocka_unit_test(truncated_requests_do_not_starve_others),
    };
    return cmocka_run_group_tests_name("integration: faults", tests, it_global_setup,
                                       it_global_teardown);
}
