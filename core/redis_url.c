/* REDIS_URL parsing; see redis_url.h. */
#include "redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n chars of s into out (cap bytes). False if it does not fit,
 * an escape is malformed, or it decodes to a NUL. */
static bool pct_decode(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static bool parse_int(const char *s, size_t n, int lo, int hi, int *out) {
    if (n == 0 || n > 9)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Splits "[user]:password@" off the front of *p (up to end). */
static bool parse_userinfo(const char **p, const char *end, core_redis_url_t *u, const char **err) {
    /* The last '@' ends the credentials, so an unencoded '@' in a password still works. */
    const char *at = NULL;
    for (const char *q = *p; q < end; q++)
        if (*q == '@')
            at = q;
    if (!at)
        return true;
    const char *colon = memchr(*p, ':', (size_t)(at - *p));
    const char *user_end = colon ? colon : at;
    if (!pct_decode(*p, (size_t)(user_end - *p), u->user, sizeof u->user)) {
        *err = "bad user name in REDIS_URL";
        return false;
    }
    if (colon &&
        !pct_decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof u->password)) {
        *err = "bad password in REDIS_URL";
        return false;
    }
    if (!colon && u->user[0]) {
        /* "redis://secret@host": a lone userinfo is the password, as redis-cli reads it. */
        memcpy(u->password, u->user, sizeof u->user);
        u->user[0] = '\0';
    }
    *p = at + 1;
    return true;
}

static bool parse_unix(const char *p, core_redis_url_t *u, const char **err) {
    const char *end = p + strlen(p);
    const char *q = strchr(p, '?');
    const char *path_end = q ? q : end;
    /* Credentials end where the path begins: an '@' inside the path is the path's. */
    const char *slash = memchr(p, '/', (size_t)(path_end - p));
    if (!parse_userinfo(&p, slash ? slash : path_end, u, err))
        return false;
    size_t n = (size_t)(path_end - p);
    if (n == 0 || *p != '/') {
        *err = "unix:// URL needs an absolute socket path";
        return false;
    }
    if (n >= sizeof u->path) {
        *err = "unix socket path too long";
        return false;
    }
    memcpy(u->path, p, n);
    u->path[n] = '\0';
    if (q) {
        const char *arg = q + 1;
        if (strncmp(arg, "db=", 3) != 0 ||
            !parse_int(arg + 3, strlen(arg + 3), 0, 1 << 20, &u->db)) {
            *err = "unix:// URL accepts only ?db=N";
            return false;
        }
    }
    return true;
}

/* Parses one "host[:port]" or "[v6][:port]" of n chars at p into *h. */
static bool parse_host(const char *p, size_t n, core_redis_host_t *h, const char **err) {
    const char *end = p + n, *host = p, *host_end, *port = NULL;
    if (n > 0 && *p == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb) {
            *err = "unterminated [ipv6] host in REDIS_URL";
            return false;
        }
        host = p + 1;
        host_end = rb;
        if (rb + 1 < end) {
            if (rb[1] != ':') {
                *err = "unexpected text after ] in REDIS_URL";
                return false;
            }
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', n);
        host_end = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    size_t hn = (size_t)(host_end - host);
    if (hn == 0) {
        *err = "REDIS_URL has no host";
        return false;
    }
    if (hn >= sizeof h->host) {
        *err = "REDIS_URL host too long";
        return false;
    }
    memcpy(h->host, host, hn);
    h->host[hn] = '\0';
    h->port = 6379;
    if (port && !parse_int(port, (size_t)(end - port), 1, 65535, &h->port)) {
        *err = "REDIS_URL port must be 1-65535";
        return false;
    }
    return true;
}

static bool parse_tcp(const char *p, core_redis_url_t *u, const char **err) {
    const char *end = p + strlen(p);
    const char *slash = strchr(p, '/');
    const char *auth_end = slash ? slash : end;
    if (!parse_userinfo(&p, auth_end, u, err))
        return false;
    /* hosts are separated by ','; no host (not even an IPv6 literal) holds one */
    for (const char *h = p;;) {
        if (u->nhosts == CORE_REDIS_URL_MAX_HOSTS) {
            *err = "REDIS_URL lists more than 16 hosts";
            return false;
        }
        const char *comma = memchr(h, ',', (size_t)(auth_end - h));
        const char *h_end = comma ? comma : auth_end;
        if (!parse_host(h, (size_t)(h_end - h), &u->hosts[u->nhosts++], err))
            return false;
        if (!comma)
            break;
        h = comma + 1;
    }
    if (slash && slash[1] && !parse_int(slash + 1, strlen(slash + 1), 0, 1 << 20, &u->db)) {
        *err = "REDIS_URL database must be a number";
        return false;
    }
    if (u->nhosts > 1 && u->db != 0) {
        *err = "REDIS_URL with several hosts (a Redis Cluster) must use database 0";
        return false;
    }
    return true;
}

bool core_redis_url_parse(const char *url, core_redis_url_t *out, const char **err) {
    static const char *dummy;
    if (!err)
        err = &dummy;
    memset(out, 0, sizeof *out);
    if (!url || !*url) {
        *err = "REDIS_URL is empty";
        return false;
    }
    if (strncmp(url, "redis://", 8) == 0)
        return parse_tcp(url + 8, out, err);
    if (strncmp(url, "unix://", 7) == 0) {
        out->is_unix = true;
        return parse_unix(url + 7, out, err);
    }
    *err = "REDIS_URL must start with redis:// or unix://";
    return false;
}

void core_redis_url_redact(const core_redis_url_t *u, char *out, size_t cap) {
    if (cap == 0)
        return;
    const char *cred = (u->password[0] || u->user[0]) ? "***@" : "";
    if (u->is_unix) {
        snprintf(out, cap, "unix://%s%s?db=%d", cred, u->path, u->db);
        return;
    }
    /* snprintf answers the length it wanted: once `used` reaches cap - 1 the
     * text has been cut, and nothing more is written */
    size_t used = 0;
    used += (size_t)snprintf(out, cap, "redis://%s", cred);
    for (int i = 0; i < u->nhosts && used < cap - 1; i++) {
        const core_redis_host_t *h = &u->hosts[i];
        bool v6 = strchr(h->host, ':') != NULL;
        used += (size_t)snprintf(out + used, cap - used, "%s%s%s%s:%d", i ? "," : "", v6 ? "[" : "",
                                 h->host, v6 ? "]" : "", h->port);
    }
    if (used < cap - 1)
        snprintf(out + used, cap - used, "/%d", u->db);
}
