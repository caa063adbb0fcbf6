/* Integration harness; see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

void it_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

int it_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Every child ever spawned, so that a failed assertion (which skips the rest
 * of its test) cannot leave a server running after the test binary ends. */
static pid_t children[256];
static int nchildren;

static void kill_children(void) {
    for (int i = 0; i < nchildren; i++) {
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
            waitpid(children[i], NULL, 0);
    }
    nchildren = 0;
}

static pid_t spawn(char *const argv[], char *const envp[], const char *log) {
    static bool registered;
    if (!registered) {
        atexit(kill_children);
        registered = true;
    }
    pid_t pid = fork();
    if (pid > 0 && nchildren < (int)(sizeof children / sizeof children[0]))
        children[nchildren++] = pid;
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (envp)
        execvpe(argv[0], argv, envp);
    else
        execvp(argv[0], argv);
    _exit(127);
}

redisContext *it_redis_connect(const it_redis_t *r) {
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

redisReply *it_redis_cmd(const it_redis_t *r, const char *fmt, ...) {
    redisContext *c = it_redis_connect(r);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return reply;
}

static bool redis_launch(it_redis_t *r) {
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    char *argv[64] = {"redis-server",
                      "--port",
                      port,
                      "--bind",
                      "127.0.0.1",
                      "--dir",
                      r->dir,
                      "--save",
                      "",
                      "--appendonly",
                      "no",
                      "--daemonize",
                      "no",
                      "--enable-debug-command",
                      "local"};
    int n = 15;
    for (int i = 0; r->extra && r->extra[i] && n < 63; i++)
        argv[n++] = (char *)r->extra[i];
    argv[n] = NULL;
    r->pid = spawn(argv, NULL, log);
    for (int i = 0; i < 100; i++) {
        redisReply *rep = it_redis_cmd(r, "PING");
        if (rep) { /* any answer, NOAUTH included, means it is up */
            freeReplyObject(rep);
            return true;
        }
        it_sleep_ms(20);
    }
    return false;
}

bool it_redis_start(it_redis_t *r) { return it_redis_start_with(r, NULL); }

bool it_redis_start_with(it_redis_t *r, const char *const *extra) {
    memset(r, 0, sizeof *r);
    r->extra = extra;
    snprintf(r->dir, sizeof r->dir, "%s/rtstate-it-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(r->dir))
        return false;
    r->port = it_free_port();
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", r->port);
    return redis_launch(r);
}

static void kill_wait(pid_t pid, int sig) {
    if (pid <= 0)
        return;
    kill(pid, sig);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        it_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void it_redis_kill(it_redis_t *r) {
    kill_wait(r->pid, SIGKILL);
    r->pid = 0;
}

bool it_redis_restart(it_redis_t *r) {
    it_redis_kill(r);
    return redis_launch(r);
}

void it_redis_stop(it_redis_t *r) {
    it_redis_kill(r);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (r->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
}

/* ---- the service ---- */

static const char *service_bin(void) {
    const char *b = getenv("RTSTATE_BIN");
    return b && *b ? b : "build/rtstate";
}

bool it_service_start(it_service_t *s, const char *redis_url, const char *const *extra) {
    memset(s, 0, sizeof *s);
    s->port = it_free_port();
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof s->log, "%s/rtstate-it-%d.log",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", s->port);
    char port[32], url[300], bind[] = "BIND=127.0.0.1";
    snprintf(port, sizeof port, "PORT=%d", s->port);
    snprintf(url, sizeof url, "REDIS_URL=%s", redis_url);
    char *envp[64];
    int n = 0;
    envp[n++] = port;
    envp[n++] = url;
    envp[n++] = bind;
    envp[n++] = "THREADS=4";
    for (int i = 0; extra && extra[i] && n < 62; i++)
        envp[n++] = (char *)extra[i];
    const char *path = getenv("PATH");
    char pathenv[4096];
    snprintf(pathenv, sizeof pathenv, "PATH=%s", path ? path : "/usr/bin:/bin");
    envp[n++] = pathenv;
    envp[n] = NULL;
    char *argv[] = {(char *)service_bin(), NULL};
    s->pid = spawn(argv, envp, s->log);
    for (int i = 0; i < 250; i++) {
        it_resp_t r = it_http(s, "GET", "/livez", NULL, NULL, 0);
        long st = r.status;
        it_resp_free(&r);
        if (st == 200)
            return true;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return false;
        }
        it_sleep_ms(20);
    }
    return false;
}

int it_service_stop(it_service_t *s) {
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int status = -1;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        it_sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

/* ---- HTTP ---- */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t collect(char *p, size_t size, size_t n, void *userdata) {
    buf_t *b = userdata;
    size_t add = size * n;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

it_resp_t it_http(const it_service_t *s, const char *method, const char *path,
                  const char *const *headers, const void *body, size_t len) {
    it_resp_t out = {0};
    CURL *c = curl_easy_init();
    if (!c)
        return out;
    char url[4096 + 64];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    buf_t b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out.seconds);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    out.body = b.data ? b.data : calloc(1, 1);
    out.body_len = b.len;
    out.headers = h.data ? h.data : calloc(1, 1);
    return out;
}

it_resp_t it_json_req(const it_service_t *s, const char *method, const char *path,
                      const char *json) {
    const char *h[] = {"Content-Type: application/json", NULL};
    return it_http(s, method, path, h, json, json ? strlen(json) : 0);
}

void it_resp_free(it_resp_t *r) {
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

bool it_header(const it_resp_t *r, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol ? eol + 2 : NULL;
    }
    if (cap)
        out[0] = '\0';
    return false;
}

cJSON *it_body_json(const it_resp_t *r) { return r->body ? cJSON_Parse(r->body) : NULL; }

const char *it_json_str(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double it_json_num(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1e300;
}

void it_assert_problem(const it_resp_t *r, long status, const char *detail_part) {
    char ct[128];
    if (r->status != status)
        fprintf(stderr, "expected %ld, got %ld: %s\n", status, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_true(it_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/problem+json");
    cJSON *j = it_body_json(r);
    assert_non_null(j);
    assert_non_null(it_json_str(j, "type"));
    assert_non_null(it_json_str(j, "title"));
    assert_int_equal((long)it_json_num(j, "status"), status);
    const char *detail = it_json_str(j, "detail");
    assert_non_null(detail);
    if (detail_part && !strstr(detail, detail_part)) {
        fprintf(stderr, "detail '%s' does not mention '%s'\n", detail, detail_part);
        fail();
    }
    cJSON_Delete(j);
}

/* ---- fixture ---- */

it_fixture_t it_fx;
const char *const *it_fixture_env;

int it_global_setup(void **state) {
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int it_global_teardown(void **state) {
    (void)state;
    curl_global_cleanup();
    return 0;
}

int it_group_setup(void **state) {
    it_global_setup(state);
    if (!it_redis_start(&it_fx.redis)) {
        fprintf(stderr, "cannot start redis-server (is it installed?)\n");
        return -1;
    }
    if (!it_service_start(&it_fx.svc, it_fx.redis.url, it_fixture_env)) {
        fprintf(stderr, "cannot start the service; see %s\n", it_fx.svc.log);
        it_redis_stop(&it_fx.redis);
        return -1;
    }
    return 0;
}

int it_group_teardown(void **state) {
    (void)state;
    int rc = it_service_stop(&it_fx.svc);
    it_redis_stop(&it_fx.redis);
    if (rc != 0)
        fprintf(stderr, "service exited with %d; log: %s\n", rc, it_fx.svc.log);
    else
        unlink(it_fx.svc.log);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

int it_flush(void **state) {
    (void)state;
    redisReply *r = it_redis_cmd(&it_fx.redis, "FLUSHALL");
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}
