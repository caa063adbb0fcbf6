/* Key schema; the table of names is in keys.h. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

static char prefix[65];

static const struct {
    const char *name;
    int per_id;
} patterns[KEY__COUNT] = {
    [KEY_CLIENTS] = {"clients", 0},
    [KEY_CLIENTS_BY_ID] = {"clients:by_id", 0},
    [KEY_CLIENTS_LAST_SEEN] = {"clients:last_seen", 0},
    [KEY_CLIENT] = {"client:", 1},
    [KEY_IMAGE] = {"image:", 1},
    [KEY_STATS] = {"stats", 0},
    [KEY_ONLINE_USERS] = {"online_users", 0},
    [KEY_ONLINE_USERS_BY_ID] = {"online_users:by_id", 0},
    [KEY_PRESENCE] = {"presence:", 1},
};

void store_keys_set_prefix(const char *p) { snprintf(prefix, sizeof prefix, "%s", p ? p : ""); }

size_t store_key(char out[STORE_KEY_MAX], store_key_t k, const char *id) {
    int n = snprintf(out, STORE_KEY_MAX, "%s%s%s", prefix, patterns[k].name,
                     patterns[k].per_id && id ? id : "");
    return n < STORE_KEY_MAX ? (size_t)n : STORE_KEY_MAX - 1;
}
