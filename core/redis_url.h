/*
 * REDIS_URL, parsed and redacted:
 *   redis://[[user]:password@]host[:port][,host[:port]...][/db]
 *   unix://[[user]:password@]/path/to/redis.sock[?db=N]
 * A host may be an [ipv6] literal; each host's port defaults to 6379. Several
 * hosts are seed nodes of a Redis Cluster: the store asks the first one that
 * answers for the cluster's layout, and whether a server is a cluster node
 * at all is learnt from the server (INFO cluster), so one host works for a
 * standalone server and for a cluster alike. A cluster has only database 0:
 * a database number with several hosts is refused here, with one host by the
 * store once it sees a cluster. User and password may be percent-encoded. A
 * password is never printed: core_redis_url_redact shows it as "***".
 */
#ifndef CORE_REDIS_URL_H
#define CORE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define CORE_REDIS_URL_MAX_HOSTS 16

typedef struct {
    char host[256]; /* without the brackets of an IPv6 literal */
    int port;
} core_redis_host_t;

typedef struct {
    bool is_unix;
    int nhosts; /* redis://: 1 to CORE_REDIS_URL_MAX_HOSTS, in the URL's order; unix://: 0 */
    core_redis_host_t hosts[CORE_REDIS_URL_MAX_HOSTS];
    char path[108]; /* sun_path's size */
    char user[128];
    char password[256];
    int db;
} core_redis_url_t;

/* Parses url into *out. On failure returns false and points *err at a
 * static message naming what is wrong. */
bool core_redis_url_parse(const char *url, core_redis_url_t *out, const char **err);

/* Writes the URL, every host included, with any credentials replaced by
 * "***" into out (cap bytes; truncated, always NUL-terminated). */
void core_redis_url_redact(const core_redis_url_t *u, char *out, size_t cap);

#endif
