/*
 * A sequential HTTP/1.1 client over one keep-alive loopback connection: it
 * fills the service with the bench's data through the real API (so what Redis
 * holds is what the service writes), times single requests (a cleanup pass),
 * and sends the fixed request sequence the instruction-count guard measures.
 * Every response's status is checked; a wrong one is an error.
 *
 *   httpseq PORT clients  PREFIX FIRST COUNT          POST /clients {"id"}
 *   httpseq PORT frames   PREFIX FIRST COUNT BYTES    PUT /clients/{id}/image (JPEG)
 *   httpseq PORT presence PREFIX FIRST COUNT          PUT /online-users/{id}
 *   httpseq PORT repeat   METHOD PATH COUNT STATUS    the same request COUNT times
 *   httpseq PORT probe    PATH RATE SECONDS           GET PATH at RATE per second
 *   httpseq PORT guard    ROUNDS                      the guard's fixed sequence
 *   httpseq PORT load     METHOD PATHS RATE SECONDS CONNS
 *                         METHOD of a random line of the file PATHS, at RATE
 *                         per second over CONNS connections; any 2xx is right
 *
 * A probe and a load are open-loop: request i is due at start + i / RATE, and
 * its latency counts from when it was due, so a slow answer that delays the
 * next request shows in the next one's latency too (no coordinated omission).
 * A load sends a due request on any idle connection; when all CONNS are busy
 * it waits, its latency still counting.
 * Ids are PREFIX followed by a 5-digit number. Prints one JSON object:
 * {"requests", "errors", "p50_ms", "p99_ms", "max_ms"}; exits 1 on any error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd = -1, port;
static unsigned rng = 1; /* rand_r state of a load's path choice */
static char *buf;        /* response bytes */
static size_t buf_cap = 1 << 20;
static double *lat_ms;
static size_t nreq, lat_cap, nerr;

static void die(const char *what) {
    fprintf(stderr, "httpseq: %s\n", what);
    exit(1);
}

static int open_connection(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        die("cannot connect to the service");
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

static void connect_service(void) {
    if (fd >= 0)
        close(fd);
    fd = open_connection();
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void send_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            die("the service closed the connection while sending");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one response; returns its status. */
static int read_response(bool head) {
    size_t used = 0;
    char *end = NULL;
    while (!end) {
        if (used + 1 >= buf_cap)
            die("response headers too large");
        ssize_t r = recv(fd, buf + used, buf_cap - used - 1, 0);
        if (r <= 0)
            die("the service closed the connection");
        used += (size_t)r;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        die("not an HTTP response");
    size_t hdr = (size_t)(end - buf) + 4, len = 0;
    bool keep = true;
    for (char *line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            len = strtoul(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
            die("chunked responses are not expected");
        else if (strncasecmp(line, "Connection: close", 17) == 0)
            keep = false;
    }
    if (head || status == 204 || status == 304)
        len = 0;
    while (used < hdr + len) {
        if (used + 1 >= buf_cap) { /* keep only what is left to count */
            len -= used - hdr;
            used = hdr;
        }
        ssize_t r = recv(fd, buf + used, buf_cap - used - 1, 0);
        if (r <= 0)
            die("the service closed the connection in a body");
        used += (size_t)r;
    }
    if (!keep)
        connect_service();
    return status;
}

static double due_ms; /* when the next request was due (probe), or 0: now */

/* One request; counts it, its latency, and an error when the status is not want. */
/* Records one answer's latency (from t0) and whether its status was wanted
 * (want 0: any 2xx). */
static void record(const char *method, const char *path, double t0, int status, int want) {
    if (nreq == lat_cap) {
        lat_cap = lat_cap ? 2 * lat_cap : 1024;
        lat_ms = realloc(lat_ms, lat_cap * sizeof *lat_ms);
        if (!lat_ms)
            die("out of memory");
    }
    lat_ms[nreq++] = now_ms() - t0;
    if (want ? status != want : status / 100 != 2) {
        if (nerr++ < 5)
            fprintf(stderr, "httpseq: %s %s: %d, expected %d\n", method, path, status, want);
    }
}

static void request(const char *method, const char *path, const char *extra, const char *ctype,
                    const void *body, size_t len, int want) {
    char head[1024];
    int n =
        snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s", method, path,
                 extra, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    double t0 = due_ms > 0 ? due_ms : now_ms();
    send_all(head, (size_t)n);
    if (len)
        send_all(body, len);
    record(method, path, t0, read_response(strcmp(method, "HEAD") == 0), want);
}

static void json_request(const char *method, const char *path, const char *json, int want) {
    request(method, path, "", "application/json", json, strlen(json), want);
}

static unsigned char *jpeg(size_t n) {
    unsigned char *f = malloc(n < 4 ? 4 : n);
    if (!f)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        f[i] = (unsigned char)(i * 131 + 7);
    memcpy(f, "\xFF\xD8\xFF\xE0", 4);
    return f;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p) {
    if (!nreq)
        return 0;
    size_t i = (size_t)(p * (double)(nreq - 1) + 0.5);
    return lat_ms[i];
}

static void for_ids(const char *what, const char *prefix, int first, int count, size_t bytes) {
    unsigned char *frame = bytes ? jpeg(bytes) : NULL;
    for (int i = first; i < first + count; i++) {
        char path[256], body[256];
        if (strcmp(what, "clients") == 0) {
            snprintf(body, sizeof body, "{\"id\":\"%s%05d\"}", prefix, i);
            json_request("POST", "/clients", body, 201);
        } else if (strcmp(what, "frames") == 0) {
            snprintf(path, sizeof path, "/clients/%s%05d/image", prefix, i);
            request("PUT", path, "", "image/jpeg", frame, bytes, 200);
        } else {
            snprintf(path, sizeof path, "/online-users/%s%05d", prefix, i);
            json_request("PUT", path, "{\"status\":\"online\"}", 200);
        }
    }
    free(frame);
}

/* The guard's sequence: every main endpoint, in a fixed order, with fixed
 * data, on a fresh Redis. Its instruction count must not depend on timing. */
static void guard(int rounds) {
    enum { IDS = 20 };
    unsigned char *frame = jpeg(40000);
    char path[256], body[256];
    for (int i = 0; i < IDS; i++) {
        snprintf(body, sizeof body, "{\"id\":\"guard-%02d\"}", i);
        json_request("POST", "/clients", body, 201);
        snprintf(path, sizeof path, "/clients/guard-%02d/image", i);
        request("PUT", path, "", "image/jpeg", frame, 40000, 200);
        snprintf(path, sizeof path, "/online-users/user-%02d", i);
        json_request("PUT", path, "{\"status\":\"online\",\"device_id\":\"phone\"}", 200);
    }
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < IDS; i++) {
            snprintf(path, sizeof path, "/clients/guard-%02d/heartbeat", i);
            request("POST", path, "", NULL, NULL, 0, 204);
            snprintf(path, sizeof path, "/clients/guard-%02d", i);
            request("GET", path, "", NULL, NULL, 0, 200);
            snprintf(path, sizeof path, "/clients/guard-%02d/image", i);
            request("GET", path, "", NULL, NULL, 0, 200);
            request("GET", path, "If-None-Match: *\r\n", NULL, NULL, 0, 304);
            request("GET", "/livez", "", NULL, NULL, 0, 200);
        }
        request("GET", "/online-users?limit=100", "", NULL, NULL, 0, 200);
        request("GET", "/online-users/user-00", "", NULL, NULL, 0, 200);
        request("GET", "/clients?limit=20", "", NULL, NULL, 0, 200);
        request("GET", "/readyz", "", NULL, NULL, 0, 200);
        request("GET", "/health", "", NULL, NULL, 0, 200);
        request("GET", "/redis/stats", "", NULL, NULL, 0, 200);
        request("GET", "/no/such/path", "", NULL, NULL, 0, 404);
        request("GET", "/clients/bad%20id", "", NULL, NULL, 0, 400);
        request("POST", "/clients/nobody/heartbeat", "", NULL, NULL, 0, 404);
    }
    for (int i = 0; i < IDS; i++) {
        snprintf(path, sizeof path, "/clients/guard-%02d", i);
        request("DELETE", path, "", NULL, NULL, 0, 204);
    }
    free(frame);
}

/* One connection of a load: its request in flight and the answer so far. */
typedef struct {
    int fd;
    bool busy;
    double due; /* when its request was due */
    const char *path;
    size_t used; /* header bytes gathered */
    long left;   /* body bytes still to come; -1 while in the headers */
    int status;
    char head[8192];
} lconn_t;

static char **read_lines(const char *file, size_t *n) {
    FILE *f = fopen(file, "r");
    if (!f)
        die("cannot read the paths file");
    char **lines = NULL, line[4096];
    size_t cap = 0;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **grown = realloc(lines, cap * sizeof *lines);
            if (!grown)
                die("out of memory");
            lines = grown;
        }
        if (!(lines[*n] = strdup(line)))
            die("out of memory");
        (*n)++;
    }
    fclose(f);
    if (!*n)
        die("the paths file is empty");
    return lines;
}

static void load_open(int ep, lconn_t *c) {
    c->fd = open_connection();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        die("epoll_ctl");
}

/* Takes in what the connection has; returns true when its answer is whole. */
static bool load_read(int ep, lconn_t *c, const char *method) {
    ssize_t r = recv(c->fd, buf, buf_cap, MSG_DONTWAIT);
    if (r <= 0)
        die("the service closed a connection of the load");
    if (c->left >= 0) {
        c->left -= r;
        return c->left <= 0;
    }
    size_t take =
        (size_t)r < sizeof c->head - 1 - c->used ? (size_t)r : sizeof c->head - 1 - c->used;
    memcpy(c->head + c->used, buf, take);
    c->used += take;
    c->head[c->used] = '\0';
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
        if (c->used == sizeof c->head - 1)
            die("response headers too large");
        return false;
    }
    if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1)
        die("not an HTTP response");
    long len = 0;
    bool keep = true;
    for (char *line = strstr(c->head, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            len = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "Connection: close", 17) == 0)
            keep = false;
    }
    if (strcmp(method, "HEAD") == 0 || c->status == 204 || c->status == 304)
        len = 0;
    size_t hdr = (size_t)(end - c->head) + 4;
    c->left = len - (long)((size_t)r - (hdr - (c->used - take)));
    if (!keep) {
        close(c->fd);
        load_open(ep, c);
    }
    return c->left <= 0;
}

static void load_send(lconn_t *c, const char *method, const char *path, double due) {
    char head[4200];
    bool body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
                     body ? "Content-Length: 0\r\n" : "");
    if (send(c->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        die("a request of the load did not go out whole");
    c->busy = true;
    c->due = due;
    c->path = path;
    c->used = 0;
    c->left = -1;
}

static void load(const char *method, const char *file, double rate, double seconds, int nconn) {
    size_t npaths;
    char **paths = read_lines(file, &npaths);
    int ep = epoll_create1(0);
    lconn_t *conns = calloc((size_t)nconn, sizeof *conns);
    lconn_t **idle = calloc((size_t)nconn, sizeof *idle);
    struct epoll_event *evs = calloc((size_t)nconn, sizeof *evs);
    if (ep < 0 || !conns || !idle || !evs)
        die("out of memory");
    int nidle = 0;
    for (int i = 0; i < nconn; i++) {
        load_open(ep, &conns[i]);
        idle[nidle++] = &conns[i];
    }
    long total = (long)(rate * seconds), next = 0;
    double start = now_ms(), deadline = start + seconds * 1e3 + 5e3;
    while (next < total || nidle < nconn) {
        double now = now_ms();
        if (now > deadline)
            break;
        for (; next < total && nidle > 0; next++) {
            double due = start + (double)next * 1e3 / rate;
            if (due > now)
                break;
            load_send(idle[--nidle], method, paths[rand_r(&rng) % npaths], due);
        }
        double wait = deadline - now; /* all busy, or all sent: until an answer */
        if (next < total && nidle > 0)
            wait = start + (double)next * 1e3 / rate - now;
        struct timespec ts = {(time_t)(wait / 1e3), (long)(fmod(wait, 1e3) * 1e6)};
        int n = epoll_pwait2(ep, evs, nconn, wait > 0 ? &ts : &(struct timespec){0, 0}, NULL);
        for (int i = 0; i < n; i++) {
            lconn_t *c = evs[i].data.ptr;
            if (c->busy && load_read(ep, c, method)) {
                record(method, c->path, c->due, c->status, 0);
                c->busy = false;
                idle[nidle++] = c;
            }
        }
    }
    nerr += (size_t)(total - next) + (size_t)(nconn - nidle); /* never sent, or never answered */
    printf("{\"rps\": %.1f, ", (double)nreq * 1e3 / (now_ms() - start));
    for (int i = 0; i < nconn; i++)
        close(conns[i].fd);
    close(ep);
    free(conns);
    free(idle);
    free(evs);
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
}

static void probe(const char *path, double rate, double seconds) {
    double start = now_ms();
    for (long i = 0; i < (long)(rate * seconds); i++) {
        due_ms = start + (double)i * 1e3 / rate;
        double wait = due_ms - now_ms();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1e3), (long)(fmod(wait, 1e3) * 1e6)};
            nanosleep(&ts, NULL);
        }
        request("GET", path, "", NULL, NULL, 0, 200);
    }
    due_ms = 0;
    printf("{\"rps\": %.1f, ", (double)nreq * 1e3 / (now_ms() - start));
}

int main(int argc, char **argv) {
    if (argc < 3)
        die("usage: see the comment at the top of bench/httpseq.c");
    port = atoi(argv[1]);
    const char *cmd = argv[2];
    buf = malloc(buf_cap);
    if (!buf)
        die("out of memory");
    if (strcmp(cmd, "load") != 0)
        connect_service();
    if ((strcmp(cmd, "clients") == 0 || strcmp(cmd, "presence") == 0) && argc == 6)
        for_ids(cmd, argv[3], atoi(argv[4]), atoi(argv[5]), 0);
    else if (strcmp(cmd, "frames") == 0 && argc == 7)
        for_ids(cmd, argv[3], atoi(argv[4]), atoi(argv[5]), (size_t)atol(argv[6]));
    else if (strcmp(cmd, "repeat") == 0 && argc == 7)
        for (int i = 0; i < atoi(argv[5]); i++)
            request(argv[3], argv[4], "", NULL, NULL, 0, atoi(argv[6]));
    else if (strcmp(cmd, "probe") == 0 && argc == 6)
        probe(argv[3], atof(argv[4]), atof(argv[5]));
    else if (strcmp(cmd, "load") == 0 && argc == 8)
        load(argv[3], argv[4], atof(argv[5]), atof(argv[6]), atoi(argv[7]));
    else if (strcmp(cmd, "guard") == 0 && argc == 4)
        guard(atoi(argv[3]));
    else
        die("usage: see the comment at the top of bench/httpseq.c");
    if (fd >= 0)
        close(fd);
    qsort(lat_ms, nreq, sizeof *lat_ms, cmp);
    printf(
        "%s\"requests\": %zu, \"errors\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"p999_ms\": %.3f, \"max_ms\": %.3f}\n",
        strcmp(cmd, "probe") == 0 || strcmp(cmd, "load") == 0 ? "" : "{", nreq, nerr, pct(0.5),
        pct(0.99), pct(0.999), nreq ? lat_ms[nreq - 1] : 0.0);
    free(lat_ms);
    free(buf);
    return nerr ? 1 : 0;
}
