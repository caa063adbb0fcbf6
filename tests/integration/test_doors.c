/* Open doors, as an outside tester found them: `make run` listened on every
 * interface with no token set, so the admin routes (which wipe state) was open to
 * the network; with only READ_TOKEN set, writes and the admin routes were
 * open and only an info line said so.
 *
 * - `make run` (scripts/run.sh) listens on 127.0.0.1 unless BIND says
 *   otherwise: another address of this machine is refused, until BIND=0.0.0.0.
 * - On a non-loopback address, start-up warns once for each class of routes
 *   no token guards (reads, writes, admin), naming the variable that closes
 *   it, and each warning matches what the service then does (a request of
 *   that class without a token is served, not refused with 401). On loopback,
 *   or with every class guarded, there is no warning. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The whole of a log file (caller frees). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = malloc(1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* The messages of the log's JSON lines at level, joined by '\n' (caller frees). */
static char *messages_at(const char *log, const char *level, int *count) {
    char *text = slurp(log), *out = calloc(1, strlen(text) + 1);
    *count = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        const char *lv = j ? it_json_str(j, "level") : NULL; /* NULL: not one of our lines */
        if (lv && strcmp(lv, level) == 0) {
            strcat(out, it_json_str(j, "msg"));
            strcat(out, "\n");
            ++*count;
        }
        cJSON_Delete(j);
    }
    free(text);
    return out;
}

static long status_of(const it_service_t *s, const char *method, const char *path) {
    it_resp_t r = it_http(s, method, path, NULL, NULL, 0);
    long st = r.status;
    it_resp_free(&r);
    return st;
}

static void warnings_name_every_open_class(void **state) {
    (void)state;
    static const struct {
        const char *env[4];
        bool reads, writes, admin; /* open: a warning expected, and no 401 */
    } cases[] = {
        {{"BIND=0.0.0.0", NULL}, true, true, true},
        {{"BIND=0.0.0.0", "READ_TOKEN=r-secret", NULL}, false, true, true},
        {{"BIND=0.0.0.0", "API_TOKEN=a-secret", NULL}, true, false, false},
        {{"BIND=0.0.0.0", "ADMIN_TOKEN=x-secret", NULL}, true, true, false},
        {{"BIND=0.0.0.0", "READ_TOKEN=r-secret", "API_TOKEN=a-secret", NULL}, false, false, false},
        {{"BIND=0.0.0.0", "READ_TOKEN=r-secret", "ADMIN_TOKEN=x-secret", NULL}, false, true, false},
    };
    static const struct {
        const char *text, *token, *method, *path;
    } classes[] = {
        {"reads are open to the network", "set READ_TOKEN to close them", "GET", "/clients"},
        {"writes are open to the network", "set API_TOKEN to close them", "POST", "/clients"},
        {"admin routes are open to the network", "set ADMIN_TOKEN (or API_TOKEN) to close them",
         "POST", "/admin/cleanup"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_service_t s;
        assert_true(it_service_start(&s, it_fx.redis.url, cases[i].env));
        bool open[3] = {cases[i].reads, cases[i].writes, cases[i].admin};
        for (int c = 0; c < 3; c++) /* the warning tells the truth */
            assert_int_equal(status_of(&s, classes[c].method, classes[c].path) == 401, !open[c]);
        char log[sizeof s.log];
        memcpy(log, s.log, sizeof log);
        assert_int_equal(it_service_stop(&s), 0);
        int n, expected = 0;
        char *warns = messages_at(log, "warn", &n);
        for (int c = 0; c < 3; c++) {
            const char *w = strstr(warns, classes[c].text);
            if (open[c] != (w != NULL))
                fail_msg("case %zu: '%s' %s in the warnings:\n%s", i, classes[c].text,
                         open[c] ? "missing" : "wrongly", warns);
            if (w) {
                const char *eol = strchr(w, '\n');
                const char *t = strstr(w, classes[c].token);
                assert_true(t && t < eol);
                const char *addr = strstr(w, "0.0.0.0"); /* and the address */
                assert_true(addr && addr < eol);
                expected++;
            }
        }
        assert_int_equal(n, expected); /* one line per open class, no other warning */
        free(warns);
        unlink(log);
    }
}

/* On loopback, open classes are no warning (an info line names them), and
 * with every class guarded there is nothing to say. */
static void loopback_or_guarded_no_warning(void **state) {
    (void)state;
    static const char *const loopback[] = {"BIND=127.0.0.1", NULL};
    static const char *const guarded[] = {"BIND=0.0.0.0", "READ_TOKEN=r-secret",
                                          "API_TOKEN=a-secret", "ADMIN_TOKEN=x-secret", NULL};
    const char *const *envs[] = {loopback, guarded};
    for (int i = 0; i < 2; i++) {
        it_service_t s;
        assert_true(it_service_start(&s, it_fx.redis.url, envs[i]));
        assert_int_equal(status_of(&s, "POST", "/admin/cleanup"), i == 0 ? 200 : 401);
        char log[sizeof s.log];
        memcpy(log, s.log, sizeof log);
        assert_int_equal(it_service_stop(&s), 0);
        int n;
        char *warns = messages_at(log, "warn", &n);
        if (n != 0)
            fail_msg("case %d: unexpected warnings:\n%s", i, warns);
        free(warns);
        char *infos = messages_at(log, "info", &n);
        const char *said = strstr(infos,
                                  "reads, writes, admin routes need no token, but only "
                                  "this machine reaches them (BIND 127.0.0.1");
        assert_true(i == 0 ? said != NULL : strstr(infos, "need no token") == NULL);
        free(infos);
        unlink(log);
    }
}

/* An IPv4 address of this machine that is not loopback, or false. */
static bool outside_address(struct in_addr *out) {
    struct ifaddrs *all;
    if (getifaddrs(&all) != 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = all; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        struct in_addr a = ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
        if (ntohl(a.s_addr) >> 24 != 127) {
            *out = a;
            found = true;
        }
    }
    freeifaddrs(all);
    return found;
}

/* True when a TCP connection to addr:port is accepted (false: refused). */
static bool accepts(struct in_addr addr, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = addr};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Runs `make run`'s script (scripts/run.sh) with this Redis, a MongoDB URI (so
 * it starts no server of its own) and PORT, plus bind ("BIND=..." or NULL);
 * waits (5 s at most) until the service answers on 127.0.0.1, checks where
 * it listens, and stops it the way Ctrl-C does. */
static void make_run_listens(const char *bind, const char *want) {
    assert_int_equal(access("scripts/run.sh", X_OK), 0); /* tests run from the repository */
    const char *bin = getenv("RTSTATE_BIN") ? getenv("RTSTATE_BIN") : "build/rtstate";
    it_service_t s = {.port = it_free_port()};
    snprintf(s.base, sizeof s.base, "http://127.0.0.1:%d", s.port);
    snprintf(s.log, sizeof s.log, "%s/rtstate-run-%d.log",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", s.port);
    char port[32], redis[320], path[4096];
    snprintf(port, sizeof port, "PORT=%d", s.port);
    snprintf(redis, sizeof redis, "REDIS_URL=%s", it_fx.redis.url);
    snprintf(path, sizeof path, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    char *envp[] = {port,        redis,        path, "MONGODB_URI=mongodb://127.0.0.1:9/rtstate",
                    "THREADS=2", (char *)bind, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* the script and the service: one group, stopped together */
        int fd = open(s.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execle("/bin/bash", "bash", "scripts/run.sh", bin, (char *)NULL, envp);
        _exit(127);
    }
    assert_true(pid > 0);
    setpgid(pid, pid);
    bool up = false;
    for (int i = 0; !up && i < 250 * it_time_scale(); i++) {
        up = status_of(&s, "GET", "/livez") == 200;
        if (!up)
            it_sleep_ms(20);
    }
    struct in_addr outside;
    bool have_outside = up && outside_address(&outside);
    bool reached = have_outside && accepts(outside, s.port);
    kill(pid, SIGTERM); /* run.sh passes it on to the service, as on Ctrl-C */
    bool stopped = false;
    for (int i = 0; !stopped && i < 500 * it_time_scale(); i++) {
        stopped = waitpid(pid, NULL, WNOHANG) == pid;
        if (!stopped)
            it_sleep_ms(10);
    }
    if (!stopped) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    char *text = slurp(s.log);
    if (!up)
        fail_msg("make run's service did not come up:\n%s", text);
    char line[128];
    snprintf(line, sizeof line, "listening on %s:%d ", want, s.port);
    if (!strstr(text, line))
        fail_msg("expected '%s' in:\n%s", line, text);
    free(text);
    unlink(s.log);
    if (!have_outside) {
        fprintf(stderr, "note: no non-loopback IPv4 address here; checked the log only\n");
        return;
    }
    assert_int_equal(reached, strcmp(want, "127.0.0.1") != 0);
}

static void make_run_binds_loopback_unless_told(void **state) {
    (void)state;
    make_run_listens(NULL, "127.0.0.1");
    make_run_listens("BIND=0.0.0.0", "0.0.0.0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(warnings_name_every_open_class),
        cmocka_unit_test(loopback_or_guarded_no_warning),
        cmocka_unit_test(make_run_binds_loopback_unless_told),
    };
    return cmocka_run_group_tests_name("integration: open doors", tests, it_group_setup,
                                       it_group_teardown);
}
