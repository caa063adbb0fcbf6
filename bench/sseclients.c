/*
 * Many Server-Sent Events subscribers at once, for make bench (BENCH_ONLY=events).
 *
 *   sseclients hold PORT N PID        opens N GET /events streams (topic clients),
 *                                     waits until each has its first bytes, and
 *                                     prints the service's (PID) RSS before and
 *                                     after, per subscriber; then closes them
 *   sseclients fanout PORT N COUNT    N streams on topic notifications:fanout; COUNT
 *                                     times (20 ms apart) POSTs a notification and
 *                                     times until every one of the N has it:
 *                                     p50 / p99 / max of that fan-out latency
 *
 * One thread, non-blocking sockets on epoll; every load is bounded in count
 * and time (a stream not ready in 60 s, or an event not everywhere in 5 s,
 * fails the run). Prints one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "sseclients: %s (%s)\n", what, strerror(errno));
    exit(1);
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        s += w;
        n -= (size_t)w;
    }
}

/* N streams, each sent its request; the sockets then non-blocking on ep. */
static int *open_streams(int n, const char *topics, int ep) {
    int *fds = calloc((size_t)n, sizeof *fds);
    char req[256];
    int len = snprintf(req, sizeof req,
                       "GET /events?topics=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Accept: text/event-stream\r\n\r\n",
                       topics);
    for (int i = 0; i < n; i++) {
        fds[i] = dial();
        send_all(fds[i], req, (size_t)len);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            die("epoll_ctl");
    }
    return fds;
}

/* Reads what is there on stream i; returns whether it holds needle (a
 * stream's data is only looked for the needle, not kept). */
static bool drain(int fd, const char *needle) {
    char buf[65536];
    bool found = false;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return found;
        if (r <= 0) {
            fprintf(stderr, "sseclients: a stream ended\n");
            exit(1);
        }
        buf[r] = '\0';
        if (needle && strstr(buf, needle))
            found = true;
    }
}

/* Waits until every stream has sent something (its headers and retry:). */
static void wait_ready(int n, const int *fds, int ep) {
    char *ready = calloc((size_t)n, 1);
    int left = n;
    double until = now_s() + 60;
    struct epoll_event evs[256];
    while (left > 0) {
        if (now_s() > until)
            die("streams not ready in 60 s");
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            drain(fds[i], NULL);
            if (!ready[i]) {
                ready[i] = 1;
                left--;
            }
        }
    }
    free(ready);
}

static long rss_kb(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void raise_fd_limit(int n) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = (rlim_t)n + 64;
        if (rl.rlim_max < rl.rlim_cur)
            rl.rlim_max = rl.rlim_cur;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            die("setrlimit");
    }
}

static int hold(int n, int pid) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long before = rss_kb(pid);
    double t0 = now_s();
    int *fds = open_streams(n, "clients", ep);
    wait_ready(n, fds, ep);
    double took = now_s() - t0;
    struct timespec settle = {1, 0};
    nanosleep(&settle, NULL);
    long after = rss_kb(pid);
    printf(
        "{\"subscribers\": %d, \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, "
        "\"bytes_per_subscriber\": %.0f, \"connect_s\": %.2f}\n",
        n, before, after, (double)(after - before) * 1024.0 / n, took);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    close(ep);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fanout(int n, int count) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int *fds = open_streams(n, "notifications:fanout", ep);
    wait_ready(n, fds, ep);
    int writer = dial();
    double *lat = calloc((size_t)count, sizeof *lat);
    char *got = calloc((size_t)n, 1);
    struct epoll_event evs[256];
    for (int c = 0; c < count; c++) {
        char body[96], req[512], needle[64], resp[4096];
        int blen = snprintf(body, sizeof body, "{\"title\":\"t\",\"body\":\"mark-%d-\"}", c);
        int len = snprintf(req, sizeof req,
                           "POST /users/fanout/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           blen, body);
        snprintf(needle, sizeof needle, "mark-%d-", c);
        memset(got, 0, (size_t)n);
        int left = n;
        double t0 = now_s();
        send_all(writer, req, (size_t)len);
        if (read(writer, resp, sizeof resp) <= 0) /* the 201 (small: one read) */
            die("write request");
        while (left > 0) {
            if (now_s() - t0 > 5)
                die("an event did not reach every subscriber in 5 s");
            int k = epoll_wait(ep, evs, 256, 100);
            for (int j = 0; j < k; j++) {
                int i = (int)evs[j].data.u32;
                if (drain(fds[i], needle) && !got[i]) {
                    got[i] = 1;
                    left--;
                }
            }
        }
        lat[c] = (now_s() - t0) * 1e3;
        struct timespec gap = {0, 20 * 1000000};
        nanosleep(&gap, NULL);
    }
    qsort(lat, (size_t)count, sizeof *lat, cmp_double);
    printf(
        "{\"subscribers\": %d, \"events\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"max_ms\": %.3f}\n",
        n, count, lat[count / 2], lat[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1],
        lat[count - 1]);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    close(writer);
    free(fds);
    free(lat);
    free(got);
    close(ep);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: sseclients hold PORT N PID | fanout PORT N COUNT\n");
        return 2;
    }
    port = atoi(argv[2]);
    int n = atoi(argv[3]);
    raise_fd_limit(n + 8);
    if (strcmp(argv[1], "hold") == 0)
        return hold(n, atoi(argv[4]));
    if (strcmp(argv[1], "fanout") == 0)
        return fanout(n, atoi(argv[4]));
    fprintf(stderr, "sseclients: unknown mode %s\n", argv[1]);
    return 2;
}
