/*
 * REDIS_URL, parsed and redacted:
 *   redis://[[user]:password@]host[:port][/db]      (host may be [ipv6])
 *   unix://[[user]:password@]/path/to/redis.sock[?db=N]
 * User and password may be percent-encoded. A password is never printed:
 * core_redis_url_redact shows it as "***".
 */
#ifndef CORE_REDIS_URL_H
#define CORE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool is_unix;
    char host[256];
    int port;
    char path[108]; /* sun_path's size */
    char user[128];
    char password[256];
    int db;
} core_redis_url_t;

/* Parses url into *out. On failure returns false and points *err at a
 * static message naming what is wrong. */
bool core_redis_url_parse(const char *url, core_redis_url_t *out, const char **err);

/* Writes the URL with any credentials replaced by "***" into out (cap bytes). */
void core_redis_url_redact(const core_redis_url_t *u, char *out, size_t cap);

#endif
