/* Bearer token checks; see auth.h. */
#include "auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/log.h"
#include "problem.h"

typedef enum { LEVEL_OPEN, LEVEL_READ, LEVEL_WRITE, LEVEL_ADMIN } level_t;

/* A token is kept only as its SHA-256: comparing digests of equal length
 * takes the same time whatever the candidate's length or content. */
typedef struct {
    bool set;
    unsigned char digest[SHA256_DIGEST_LENGTH];
} token_t;

static token_t tokens[4]; /* indexed by level; [LEVEL_OPEN] unused */

static bool load(token_t *t, const char *value, const char *file, const char **err) {
    char buf[4097];
    if (file && *file) {
        FILE *f = fopen(file, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        buf[n] = '\0';
        if (!n) {
            *err = "a token file is missing, unreadable or empty";
            return false;
        }
        value = buf;
    }
    t->set = value && *value;
    if (t->set)
        SHA256((const unsigned char *)value, strlen(value), t->digest);
    OPENSSL_cleanse(buf, sizeof buf);
    return true;
}

bool api_auth_init(const config_t *cfg, const char **err) {
    return load(&tokens[LEVEL_READ], cfg->read_token, cfg->read_token_file, err) &&
           load(&tokens[LEVEL_WRITE], cfg->api_token, cfg->api_token_file, err) &&
           load(&tokens[LEVEL_ADMIN], cfg->admin_token, cfg->admin_token_file, err);
}

static bool is_open_path(const char *pattern) {
    static const char *open[] = {"/livez", "/readyz", "/openapi.yaml", "/", "/dashboard"};
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        if (strcmp(pattern, open[i]) == 0)
            return true;
    return false;
}

static level_t required(const api_req_t *r) {
    if (!r->route || is_open_path(r->route->pattern))
        return LEVEL_OPEN;
    if (strncmp(r->route->pattern, "/admin/", 7) == 0)
        return LEVEL_ADMIN;
    return (r->method == API_GET || r->method == API_HEAD) ? LEVEL_READ : LEVEL_WRITE;
}

/* The level a presented token grants: the highest whose token it is. */
static level_t granted(const char *token) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), d);
    level_t best = LEVEL_OPEN;
    for (int l = LEVEL_READ; l <= LEVEL_ADMIN; l++) /* no early exit: same work for every token */
        if (tokens[l].set && CRYPTO_memcmp(d, tokens[l].digest, sizeof d) == 0)
            best = (level_t)l;
    return best;
}

/* Each door has its own token; admin falls back to the API token. */
static bool guarded(level_t need) {
    return need != LEVEL_OPEN &&
           (tokens[need].set || (need == LEVEL_ADMIN && tokens[LEVEL_WRITE].set));
}

bool api_auth_check(api_req_t *r) {
    level_t need = required(r);
    if (!guarded(need))
        return true;
    const char *h = api_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
    while (token && *token == ' ')
        token++;
    if (token && *token && granted(token) >= need)
        return true;
    api_problem(r, 401,
                token && *token ? "the bearer token is not valid for this request"
                                : "this request needs an 'Authorization: Bearer' token");
    api_reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                     token && *token ? "Bearer realm=\"rtstate\", error=\"invalid_token\""
                                     : "Bearer realm=\"rtstate\"");
    return false;
}

const char *api_auth_summary(char *out, unsigned cap) {
    snprintf(out, cap, "read token %s, api token %s, admin token %s",
             tokens[LEVEL_READ].set ? "set" : "unset", tokens[LEVEL_WRITE].set ? "set" : "unset",
             tokens[LEVEL_ADMIN].set ? "set" : "unset");
    return out;
}

bool api_auth_loopback(const char *addr) {
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return ntohl(a4.s_addr) >> 24 == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

void api_auth_log_open_doors(const char *bind) {
    static const struct {
        level_t level;
        const char *what, *routes, *token;
    } doors[] = {
        {LEVEL_READ, "reads", "GET and HEAD requests, /health and /metrics", "READ_TOKEN"},
        {LEVEL_WRITE, "writes", "requests that change state", "API_TOKEN"},
        {LEVEL_ADMIN, "admin routes", "/admin/* (which wipe state)", "ADMIN_TOKEN (or API_TOKEN)"},
    };
    bool loopback = api_auth_loopback(bind);
    char open[64] = "";
    for (size_t i = 0; i < sizeof doors / sizeof doors[0]; i++) {
        if (guarded(doors[i].level))
            continue;
        if (!loopback)
            log_event(LOG_WARN,
                      "%s are open to the network: %s need no token on %s, which is not a "
                      "loopback address; set %s to close them",
                      doors[i].what, doors[i].routes, bind, doors[i].token);
        size_t n = strlen(open);
        snprintf(open + n, sizeof open - n, "%s%s", n ? ", " : "", doors[i].what);
    }
    if (loopback && *open)
        log_event(LOG_INFO,
                  "%s need no token, but only this machine reaches them (BIND %s is loopback); "
                  "set the tokens before setting BIND to listen beyond it",
                  open, bind);
}
