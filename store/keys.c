/* Key schema; the table of names is in keys.h. */
#include "keys.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static char prefix[65];

/* A name is the prefix, name, per_id ids (0, 1, or 2 joined by ':'), then tail. */
static const struct {
    const char *name;
    int per_id;
    const char *tail;
} patterns[KEY__COUNT] = {
    [KEY_CLIENTS] = {"clients", 0, ""},
    [KEY_CLIENTS_BY_ID] = {"clients:by_id", 0, ""},
    [KEY_CLIENTS_LAST_SEEN] = {"clients:last_seen", 0, ""},
    [KEY_CLIENT] = {"client:", 1, ""},
    [KEY_IMAGE] = {"image:", 1, ""},
    [KEY_STATS] = {"stats", 0, ""},
    [KEY_ONLINE_USERS] = {"online_users", 0, ""},
    [KEY_ONLINE_USERS_BY_ID] = {"online_users:by_id", 0, ""},
    [KEY_PRESENCE] = {"presence:", 1, ""},
    [KEY_SESSION] = {"session:", 1, ""},
    [KEY_HEARTBEAT] = {"heartbeat:", 1, ""},
    [KEY_USER_SESSIONS] = {"user:", 1, ":sessions"},
    [KEY_REGION_MEMBERS] = {"region:", 1, ":members"},
    [KEY_SESSIONS_EXPIRY] = {"sessions:expiry", 0, ""},
    [KEY_SESSIONS_OWNER] = {"sessions:owner", 0, ""},
    [KEY_ROOMS_ACTIVE] = {"rooms:active", 0, ""},
    [KEY_ROOMS_EXPIRY] = {"rooms:expiry", 0, ""},
    [KEY_ROOM_PARTICIPANTS] = {"room:", 1, ":participants"},
    [KEY_ROOM_TYPING] = {"room:", 1, ":typing"},
    [KEY_ROOM_MESSAGES] = {"room:", 1, ":messages"},
    [KEY_TYPING] = {"typing:", 2, ""},
    [KEY_USER_ROOMS] = {"user:", 1, ":rooms"},
    [KEY_USER_OFFLINE] = {"user:", 1, ":offline_messages"},
    [KEY_USER_NOTIFICATIONS] = {"user:", 1, ":notifications"},
    [KEY_RATE_MESSAGES] = {"ratelimit:messages:", 1, ""},
    [KEY_NOTIFY_QUEUE_HIGH] = {"notification_queue:high", 0, ""},
    [KEY_NOTIFY_QUEUE_NORMAL] = {"notification_queue:normal", 0, ""},
};

void store_keys_set_prefix(const char *p) { snprintf(prefix, sizeof prefix, "%s", p ? p : ""); }

size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id) {
    return store_key2(out, k, id, NULL);
}

/* Appends s at out + n, cut where snprintf would cut the whole name. */
static size_t put(char *out, size_t n, const char *s) {
    size_t len = strlen(s);
    if (len > STORE_KEY_MAX - 1 - n)
        len = STORE_KEY_MAX - 1 - n;
    memcpy(out + n, s, len);
    return n + len;
}

/* Copied piece by piece, not with snprintf: every command names a key or
 * two, and a "%s%s%s%s%s%s" format cost over a thousand instructions each. */
size_t store_key2(char out[STORE_KEY_MAX], store_key_t k, const char *id, const char *id2) {
    int ids = patterns[k].per_id;
    bool whole = ids && id && *id && (ids < 2 || (id2 && *id2));
    size_t n = put(out, 0, prefix);
    n = put(out, n, patterns[k].name);
    if (whole) {
        n = put(out, n, id);
        if (ids == 2) {
            n = put(out, n, ":");
            n = put(out, n, id2);
        }
        n = put(out, n, patterns[k].tail);
    }
    out[n] = '\0';
    return n;
}

void store_key_parts(store_key_t k, const char *id2, char head[STORE_KEY_MAX],
                     char tail[STORE_KEY_MAX]) {
    snprintf(head, STORE_KEY_MAX, "%s%s", prefix, patterns[k].name);
    if (patterns[k].per_id == 2)
        snprintf(tail, STORE_KEY_MAX, ":%s%s", id2 ? id2 : "", patterns[k].tail);
    else
        snprintf(tail, STORE_KEY_MAX, "%s", patterns[k].tail);
}

size_t store_keys_glob(char out[STORE_KEY_MAX]) {
    size_t n = 0;
    for (const char *p = prefix; *p && n + 3 < STORE_KEY_MAX; p++) {
        if (strchr("*?[]\\", *p))
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n++] = '*';
    out[n] = '\0';
    return n;
}

const char *store_keys_prefix(void) { return prefix; }
