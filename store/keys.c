/* Key schema; the table of names is in keys.h. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "../core/crc16.h"

static char prefix[65];
static size_t prefix_len;

/* Each bucket's hash tag: its number, then the two letters (the first pair
 * in a search of aa..zz) that put its slot nearest the middle of
 * [b * 1024, (b + 1) * 1024). tests/unit/test_keys.c recomputes the slots. */
static const char bucket_tags[STORE_BUCKETS][5] = {
    "00td", "01ud", "02vd", "03wd", "04pd", "05qd", "06rd", "07sd",
    "08ca", "09ba", "10qn", "11pn", "12bl", "13cl", "14un", "15tn",
};

typedef struct {
    const char *name; /* before ":{tag}" */
    int ids;          /* 0 (an index: one key per bucket), 1 or 2, each after a ':' */
    const char *tail; /* after the ids */
} shape_t;

static const shape_t shapes[KEY__COUNT] = {
    [KEY_CLIENTS] = {"clients", 0, ""},
    [KEY_CLIENTS_LAST_SEEN] = {"clients:last_seen", 0, ""},
    [KEY_CLIENT] = {"client", 1, ""},
    [KEY_IMAGE] = {"image", 1, ""},
    [KEY_STATS] = {"stats", 0, ""},
    [KEY_ONLINE_USERS] = {"online_users", 0, ""},
    [KEY_ONLINE_USERS_BY_ID] = {"online_users:by_id", 0, ""},
    [KEY_PRESENCE] = {"presence", 1, ""},
    [KEY_SESSION] = {"session", 1, ""},
    [KEY_HEARTBEAT] = {"heartbeat", 1, ""},
    [KEY_USER_SESSIONS] = {"user", 1, ":sessions"},
    [KEY_REGION_MEMBERS] = {"region", 1, ":members"},
    [KEY_SESSIONS_EXPIRY] = {"sessions:expiry", 0, ""},
    [KEY_SESSIONS_OWNER] = {"sessions:owner", 0, ""},
    [KEY_ROOMS_ACTIVE] = {"rooms:active", 0, ""},
    [KEY_ROOMS_EXPIRY] = {"rooms:expiry", 0, ""},
    [KEY_ROOM_PARTICIPANTS] = {"room", 1, ":participants"},
    [KEY_ROOM_TYPING] = {"room", 1, ":typing"},
    [KEY_ROOM_MESSAGES] = {"room", 1, ":messages"},
    [KEY_TYPING] = {"typing", 2, ""},
    [KEY_USER_ROOMS] = {"user", 1, ":rooms"},
    [KEY_USER_OFFLINE] = {"user", 1, ":offline_messages"},
    [KEY_USER_NOTIFICATIONS] = {"user", 1, ":notifications"},
    [KEY_RATE_MESSAGES] = {"ratelimit:messages", 1, ""},
    [KEY_NOTIFY_QUEUE_HIGH] = {"notification_queue:high", 0, ""},
    [KEY_NOTIFY_QUEUE_NORMAL] = {"notification_queue:normal", 0, ""},
    [KEY_EVENTS] = {"events", 0, ""},
    [KEY_TYPING_EXPIRY] = {"typing:expiry", 0, ""},
    [KEY_FRIENDS] = {"friends", 1, ""},
    [KEY_METRICS_EXPORTER] = {"metrics:exporter", 0, ""},
    [KEY_UPLOAD] = {"upload", 2, ""},
};

void store_keys_set_prefix(const char *p) {
    snprintf(prefix, sizeof prefix, "%s", p ? p : "");
    prefix_len = strlen(prefix);
}

const char *store_keys_prefix(void) { return prefix; }

int store_key_bucket(const char *id) { return core_crc16(id, strlen(id)) & (STORE_BUCKETS - 1); }

const char *store_bucket_tag(int b) { return bucket_tags[b & (STORE_BUCKETS - 1)]; }

int store_key_ids(store_key_t k) { return shapes[k].ids; }

/* Appends len bytes of s at out + n, cut where the name must end. */
static size_t put(char *out, size_t n, const char *s, size_t len) {
    if (len > STORE_KEY_MAX - 1 - n)
        len = STORE_KEY_MAX - 1 - n;
    memcpy(out + n, s, len);
    return n + len;
}

/* prefix name ":{" tag "}": everything before the ids. */
static size_t head(char *out, store_key_t k, int b) {
    size_t n = put(out, 0, prefix, prefix_len);
    n = put(out, n, shapes[k].name, strlen(shapes[k].name));
    n = put(out, n, ":{", 2);
    n = put(out, n, bucket_tags[b], 4);
    return put(out, n, "}", 1);
}

/* Appends what follows the head of shape s: ":" id [":" id2], the tail,
 * and the NUL; returns the length. */
static size_t rest(char *out, size_t n, const shape_t *s, const char *id, size_t idlen,
                   const char *id2) {
    if (s->ids > 0) {
        n = put(out, n, ":", 1);
        n = put(out, n, id, idlen);
    }
    if (s->ids > 1) {
        n = put(out, n, ":", 1);
        n = put(out, n, id2, strlen(id2));
    }
    n = put(out, n, s->tail, strlen(s->tail));
    out[n] = '\0';
    return n;
}

/* Copied piece by piece, not with snprintf: every command names a key or
 * two, and a "%s%s%s%s%s%s" format cost over a thousand instructions each. */
size_t store_key2(char out[STORE_KEY_MAX], store_key_t k, const char *id, const char *id2) {
    size_t idlen = strlen(id);
    size_t n = head(out, k, core_crc16(id, idlen) & (STORE_BUCKETS - 1));
    return rest(out, n, &shapes[k], id, idlen, id2);
}

size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id) {
    return store_key2(out, k, id, "");
}

size_t store_key_index(char out[STORE_KEY_MAX], store_key_t k, int b) {
    size_t n = head(out, k, b & (STORE_BUCKETS - 1));
    out[n] = '\0';
    return n;
}

void store_key_parts(store_key_t k, int b, const char *id2, char h[STORE_KEY_MAX],
                     char tail[STORE_KEY_MAX]) {
    size_t n = head(h, k, b & (STORE_BUCKETS - 1));
    n = put(h, n, ":", 1);
    h[n] = '\0';
    if (shapes[k].ids == 2)
        snprintf(tail, STORE_KEY_MAX, ":%s%s", id2 ? id2 : "", shapes[k].tail);
    else
        snprintf(tail, STORE_KEY_MAX, "%s", shapes[k].tail);
}

/* Reads ids ":" id [":" id2] from rest (len bytes) followed by exactly tail;
 * each id valid. Returns false when rest is not of that form. */
static bool parse_ids(const char *rest, size_t len, int ids, const char *tail,
                      store_key_parsed_t *out) {
    size_t tlen = strlen(tail);
    if (len < tlen || memcmp(rest + len - tlen, tail, tlen) != 0)
        return false;
    len -= tlen;
    char *dst[2] = {out->id, out->id2};
    for (int i = 0; i < ids; i++) {
        if (len == 0 || rest[0] != ':')
            return false;
        rest++;
        len--;
        size_t n = 0;
        while (n < len && rest[n] != ':')
            n++;
        if (n > CORE_ID_MAX || (i == ids - 1 && n != len))
            return false;
        memcpy(dst[i], rest, n);
        dst[i][n] = '\0';
        if (!core_id_valid(dst[i]))
            return false;
        rest += n;
        len -= n;
    }
    return len == 0;
}

/* The bucket whose tag the 6 bytes "{tag}" at p are, or -1. */
static int tag_bucket(const char *p) {
    if (p[0] != '{' || p[5] != '}')
        return -1;
    for (int b = 0; b < STORE_BUCKETS; b++)
        if (memcmp(p + 1, bucket_tags[b], 4) == 0)
            return b;
    return -1;
}

bool store_key_parse(const char *key, size_t len, store_key_parsed_t *out) {
    if (len < prefix_len || memcmp(key, prefix, prefix_len) != 0)
        return false;
    const char *p = key + prefix_len, *end = key + len;
    const char *brace = memchr(p, '{', (size_t)(end - p));
    /* name ":" then "{tag}" */
    if (!brace || brace == p || brace[-1] != ':' || end - brace < 6)
        return false;
    int b = tag_bucket(brace);
    if (b < 0)
        return false;
    size_t namelen = (size_t)(brace - 1 - p);
    const char *rest = brace + 6;
    for (int k = 0; k < KEY__COUNT; k++) {
        const shape_t *s = &shapes[k];
        if (strlen(s->name) != namelen || memcmp(s->name, p, namelen) != 0)
            continue;
        out->id[0] = out->id2[0] = '\0';
        if (!parse_ids(rest, (size_t)(end - rest), s->ids, s->tail, out))
            continue;
        if (s->ids > 0 && store_key_bucket(out->id) != b)
            return false; /* a tag that is not its id's: never written here */
        out->kind = (store_key_t)k;
        out->bucket = b;
        return true;
    }
    return false;
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

/* ---- legacy names ---- */

static const struct {
    shape_t shape; /* name with its ':' before the ids, as the names were built */
    store_key_t successor;
} legacy[LEGACY__COUNT] = {
    [LEGACY_CLIENTS] = {{"clients", 0, ""}, KEY_CLIENTS},
    [LEGACY_CLIENTS_BY_ID] = {{"clients:by_id", 0, ""}, KEY_CLIENTS},
    [LEGACY_CLIENTS_LAST_SEEN] = {{"clients:last_seen", 0, ""}, KEY_CLIENTS_LAST_SEEN},
    [LEGACY_CLIENT] = {{"client", 1, ""}, KEY_CLIENT},
    [LEGACY_IMAGE] = {{"image", 1, ""}, KEY_IMAGE},
    [LEGACY_STATS] = {{"stats", 0, ""}, KEY_STATS},
    [LEGACY_ONLINE_USERS] = {{"online_users", 0, ""}, KEY_ONLINE_USERS},
    [LEGACY_ONLINE_USERS_BY_ID] = {{"online_users:by_id", 0, ""}, KEY_ONLINE_USERS_BY_ID},
    [LEGACY_PRESENCE] = {{"presence", 1, ""}, KEY_PRESENCE},
    [LEGACY_SESSION] = {{"session", 1, ""}, KEY_SESSION},
    [LEGACY_HEARTBEAT] = {{"heartbeat", 1, ""}, KEY_HEARTBEAT},
    [LEGACY_USER_SESSIONS] = {{"user", 1, ":sessions"}, KEY_USER_SESSIONS},
    [LEGACY_REGION_MEMBERS] = {{"region", 1, ":members"}, KEY_REGION_MEMBERS},
    [LEGACY_SESSIONS_EXPIRY] = {{"sessions:expiry", 0, ""}, KEY_SESSIONS_EXPIRY},
    [LEGACY_SESSIONS_OWNER] = {{"sessions:owner", 0, ""}, KEY_SESSIONS_OWNER},
    [LEGACY_ROOMS_ACTIVE] = {{"rooms:active", 0, ""}, KEY_ROOMS_ACTIVE},
    [LEGACY_ROOMS_EXPIRY] = {{"rooms:expiry", 0, ""}, KEY_ROOMS_EXPIRY},
    [LEGACY_ROOM_PARTICIPANTS] = {{"room", 1, ":participants"}, KEY_ROOM_PARTICIPANTS},
    [LEGACY_ROOM_TYPING] = {{"room", 1, ":typing"}, KEY_ROOM_TYPING},
    [LEGACY_ROOM_MESSAGES] = {{"room", 1, ":messages"}, KEY_ROOM_MESSAGES},
    [LEGACY_TYPING] = {{"typing", 2, ""}, KEY_TYPING},
    [LEGACY_USER_ROOMS] = {{"user", 1, ":rooms"}, KEY_USER_ROOMS},
    [LEGACY_USER_OFFLINE] = {{"user", 1, ":offline_messages"}, KEY_USER_OFFLINE},
    [LEGACY_USER_NOTIFICATIONS] = {{"user", 1, ":notifications"}, KEY_USER_NOTIFICATIONS},
    [LEGACY_RATE_MESSAGES] = {{"ratelimit:messages", 1, ""}, KEY_RATE_MESSAGES},
    [LEGACY_NOTIFY_QUEUE_HIGH] = {{"notification_queue:high", 0, ""}, KEY_NOTIFY_QUEUE_HIGH},
    [LEGACY_NOTIFY_QUEUE_NORMAL] = {{"notification_queue:normal", 0, ""}, KEY_NOTIFY_QUEUE_NORMAL},
};

size_t store_legacy_key(char out[STORE_KEY_MAX], store_legacy_key_t k, const char *id,
                        const char *id2) {
    const shape_t *s = &legacy[k].shape;
    size_t n = put(out, 0, prefix, prefix_len);
    n = put(out, n, s->name, strlen(s->name));
    return rest(out, n, s, id ? id : "", id ? strlen(id) : 0, id2 ? id2 : "");
}

store_key_t store_legacy_successor(store_legacy_key_t k) { return legacy[k].successor; }

bool store_legacy_parse(const char *key, size_t len, store_legacy_key_t *kind,
                        store_key_parsed_t *out) {
    if (len < prefix_len || memcmp(key, prefix, prefix_len) != 0 ||
        memchr(key + prefix_len, '{', len - prefix_len))
        return false;
    const char *p = key + prefix_len;
    size_t rest = len - prefix_len;
    for (int k = 0; k < LEGACY__COUNT; k++) {
        const shape_t *s = &legacy[k].shape;
        size_t namelen = strlen(s->name);
        if (rest < namelen || memcmp(p, s->name, namelen) != 0)
            continue;
        out->id[0] = out->id2[0] = '\0';
        if (!parse_ids(p + namelen, rest - namelen, s->ids, s->tail, out))
            continue;
        *kind = (store_legacy_key_t)k;
        out->kind = legacy[k].successor;
        out->bucket = s->ids > 0 ? store_key_bucket(out->id) : -1;
        return true;
    }
    return false;
}
