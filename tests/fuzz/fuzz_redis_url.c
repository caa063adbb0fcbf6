/*
 * libFuzzer: REDIS_URL parsing and redaction (core/redis_url.c).
 *
 * Proves that any string either parses into bounded, NUL-terminated fields
 * (1 to 16 hosts, each with a port 1-65535; db 0-2^20, and 0 with several
 * hosts; an absolute socket path for unix://) or fails
 * with a message, never overflowing a field; and that the redacted form of a
 * URL with credentials always shows "***@" and is the same whatever the user
 * name and password are: nothing of them can reach a log line.
 *
 * Input: the URL (NUL-terminated copy).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/redis_url.h"

#define TERMINATED(field) assert(memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    core_redis_url_t u;
    const char *err = NULL;
    if (core_redis_url_parse(s, &u, &err)) {
        TERMINATED(u.path);
        TERMINATED(u.user);
        TERMINATED(u.password);
        assert(u.db >= 0 && u.db <= (1 << 20));
        if (u.is_unix) {
            assert(u.path[0] == '/');
            assert(u.nhosts == 0);
        } else {
            assert(u.nhosts >= 1 && u.nhosts <= CORE_REDIS_URL_MAX_HOSTS);
            assert(u.nhosts == 1 || u.db == 0);
            for (int i = 0; i < u.nhosts; i++) {
                TERMINATED(u.hosts[i].host);
                assert(u.hosts[i].host[0] != '\0');
                assert(u.hosts[i].port >= 1 && u.hosts[i].port <= 65535);
            }
        }
        char red[1024];
        core_redis_url_redact(&u, red, sizeof red);
        if (u.password[0] || u.user[0])
            assert(strstr(red, "***@"));
        /* the redaction depends on whether there are credentials, never on what they are */
        char other[1024];
        core_redis_url_t v = u;
        snprintf(v.password, sizeof v.password, "%s", u.password[0] ? "x" : "");
        snprintf(v.user, sizeof v.user, "%s", u.user[0] ? "y" : "");
        core_redis_url_redact(&v, other, sizeof other);
        assert(strcmp(red, other) == 0);
    } else {
        assert(err && *err);
    }
    free(s);
    return 0;
}
