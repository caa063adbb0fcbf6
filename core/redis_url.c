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

static bool parse_tcp(const char *p, core_redis_url_t *u, const char **err) {
    const char *end = p + strlen(p);
    const char *slash = strchr(p, '/');
    const char *auth_end = slash ? slash : end;
    if (!parse_userinfo(&p, auth_end, u, err))
        return false;
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (!rb) {
            *err = "unterminated [ipv6] host in REDIS_URL";
            return false;
        }
        host = p + 1;
        host_end = rb;
        if (rb + 1 < auth_end) {
            if (rb[1] != ':') {
                *err = "unexpected text after ] in REDIS_URL";
                return false;
            }
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host_end = colon ? colon : auth_end;
        if (colon)
            port = colon + 1;
    }
    size_t hn = (size_t)(host_end - host);
    if (hn == 0) {
        *err = "REDIS_URL has no host";
        return false;
    }
    if (hn >= sizeof u->host) {
        *err = "REDIS_URL host too long";
        return false;
    }
    memcpy(u->host, host, hn);
    u->host[hn] = '\0';
    u->port = 6379;
    if (port && !parse_int(port, (size_t)(auth_end - port), 1, 65535, &u->port)) {
        *err = "REDIS_URL port must be 1-65535";
        return false;
    }
    if (slash && slash[1] && !parse_int(slash + 1, strlen(slash + 1), 0, 1 << 20, &u->db)) {
        *err = "REDIS_URL database must be a number";
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
    const char *cred = (u->password[0] || u->user[0]) ? "***@" : "";
    if (u->is_unix) {
        snprintf(out, cap, "unix://%s%s?db=%d", cred, u->path, u->db);
    } else {
        bool v6 = strchr(u->host, ':') != NULL;
        snprintf(out, cap, "redis://%s%s%s%s:%d/%d", cred, v6 ? "[" : "", u->host, v6 ? "]" : "",
                 u->port, u->db);
    }
}
