/* Unit tests for store/keys.c: the bucket tags and their slots, every key
 * name, the parser, and the property that makes a wipe under one prefix
 * safe for every other prefix (no two prefixes give the same key for two
 * different shapes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/crc16.h"
#include "../../store/keys.h"

static int no_prefix(void **state) {
    (void)state;
    store_keys_set_prefix("");
    return 0;
}

static int slot_of(const char *key) { return core_key_slot(key, strlen(key)); }

/* Asserts the name of k for id (and id2), and that the length is right. */
static void assert_key2(store_key_t k, const char *id, const char *id2, const char *want) {
    char out[STORE_KEY_MAX];
    memset(out, '#', sizeof out);
    size_t n = store_key2(out, k, id, id2);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void assert_key(store_key_t k, const char *id, const char *want) {
    assert_key2(k, id, "", want);
}

/* Every tag's slot lies in its bucket's sixteenth of the slot space, near
 * the middle, and the tag starts with the bucket's number. */
static void tag_slots_are_spread_evenly(void **state) {
    (void)state;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        const char *tag = store_bucket_tag(b);
        char num[3];
        snprintf(num, sizeof num, "%02d", b);
        assert_int_equal(strlen(tag), 4);
        assert_memory_equal(tag, num, 2);
        int slot = core_key_slot(tag, 4);
        int lo = b * (CORE_SLOTS / STORE_BUCKETS), mid = lo + CORE_SLOTS / STORE_BUCKETS / 2;
        if (slot < lo || slot >= lo + CORE_SLOTS / STORE_BUCKETS || abs(slot - mid) > 32)
            fail_msg("bucket %d's tag %s has slot %d, not near %d", b, tag, slot, mid);
        char index[STORE_KEY_MAX];
        store_key_index(index, KEY_CLIENTS, b);
        assert_int_equal(slot_of(index), slot);
    }
    assert_int_equal(core_key_slot("07sd", 4), 7668); /* the design's example */
}

static void bucket_of_an_id_is_its_crc_mod_16(void **state) {
    (void)state;
    const char *ids[] = {"cam-1", "alice", "r1", "u4pruy", "a", "Client-abcdefghi"};
    int seen[STORE_BUCKETS] = {0};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(store_key_bucket(ids[i]), core_crc16(ids[i], strlen(ids[i])) & 15);
    for (int i = 0; i < 1600; i++) {
        char id[16];
        snprintf(id, sizeof id, "user-%d", i);
        seen[store_key_bucket(id)]++;
    }
    for (int b = 0; b < STORE_BUCKETS; b++)
        assert_true(seen[b] > 60 && seen[b] < 140); /* 100 each, give or take */
}

static void names_without_prefix(void **state) {
    (void)state;
    int b = store_key_bucket("cam-1");
    char tag[8];
    snprintf(tag, sizeof tag, "{%s}", store_bucket_tag(b));
    char want[STORE_KEY_MAX];
#define WANT(fmt) (snprintf(want, sizeof want, fmt, tag), want)
    assert_key(KEY_CLIENTS, "cam-1", WANT("clients:%s"));
    assert_key(KEY_CLIENTS_LAST_SEEN, "cam-1", WANT("clients:last_seen:%s"));
    assert_key(KEY_CLIENT, "cam-1", WANT("client:%s:cam-1"));
    assert_key(KEY_IMAGE, "cam-1", WANT("image:%s:cam-1"));
    assert_key(KEY_STATS, "cam-1", WANT("stats:%s"));
    assert_key(KEY_ONLINE_USERS, "cam-1", WANT("online_users:%s"));
    assert_key(KEY_ONLINE_USERS_BY_ID, "cam-1", WANT("online_users:by_id:%s"));
    assert_key(KEY_PRESENCE, "cam-1", WANT("presence:%s:cam-1"));
    assert_key(KEY_SESSION, "cam-1", WANT("session:%s:cam-1"));
    assert_key(KEY_HEARTBEAT, "cam-1", WANT("heartbeat:%s:cam-1"));
    assert_key(KEY_USER_SESSIONS, "cam-1", WANT("user:%s:cam-1:sessions"));
    assert_key(KEY_REGION_MEMBERS, "cam-1", WANT("region:%s:cam-1:members"));
    assert_key(KEY_SESSIONS_EXPIRY, "cam-1", WANT("sessions:expiry:%s"));
    assert_key(KEY_SESSIONS_OWNER, "cam-1", WANT("sessions:owner:%s"));
    assert_key(KEY_ROOMS_ACTIVE, "cam-1", WANT("rooms:active:%s"));
    assert_key(KEY_ROOMS_EXPIRY, "cam-1", WANT("rooms:expiry:%s"));
    assert_key(KEY_ROOM_PARTICIPANTS, "cam-1", WANT("room:%s:cam-1:participants"));
    assert_key(KEY_ROOM_TYPING, "cam-1", WANT("room:%s:cam-1:typing"));
    assert_key(KEY_ROOM_MESSAGES, "cam-1", WANT("room:%s:cam-1:messages"));
    assert_key2(KEY_TYPING, "cam-1", "bob", WANT("typing:%s:cam-1:bob"));
    assert_key(KEY_USER_ROOMS, "cam-1", WANT("user:%s:cam-1:rooms"));
    assert_key(KEY_USER_OFFLINE, "cam-1", WANT("user:%s:cam-1:offline_messages"));
    assert_key(KEY_USER_NOTIFICATIONS, "cam-1", WANT("user:%s:cam-1:notifications"));
    assert_key(KEY_RATE_MESSAGES, "cam-1", WANT("ratelimit:messages:%s:cam-1"));
    assert_key(KEY_NOTIFY_QUEUE_HIGH, "cam-1", WANT("notification_queue:high:%s"));
    assert_key(KEY_NOTIFY_QUEUE_NORMAL, "cam-1", WANT("notification_queue:normal:%s"));
#undef WANT
}

static void names_with_prefix_and_index_keys(void **state) {
    (void)state;
    store_keys_set_prefix("rt:");
    char out[STORE_KEY_MAX];
    assert_int_equal(store_key_index(out, KEY_CLIENTS, 7), strlen("rt:clients:{07sd}"));
    assert_string_equal(out, "rt:clients:{07sd}");
    store_key_index(out, KEY_NOTIFY_QUEUE_HIGH, 15);
    assert_string_equal(out, "rt:notification_queue:high:{15tn}");
    store_key_index(out, KEY_STATS, 0);
    assert_string_equal(out, "rt:stats:{00td}");
    char want[STORE_KEY_MAX];
    snprintf(want, sizeof want, "rt:client:{%s}:x", store_bucket_tag(store_key_bucket("x")));
    assert_key(KEY_CLIENT, "x", want);
    /* an index named by an id is its bucket's */
    store_key(out, KEY_ONLINE_USERS, "alice");
    store_key_index(want, KEY_ONLINE_USERS, store_key_bucket("alice"));
    assert_string_equal(out, want);
}

static void prefix_is_copied_and_can_be_cleared(void **state) {
    (void)state;
    char p[8] = "one:";
    store_keys_set_prefix(p);
    strcpy(p, "two:");
    char out[STORE_KEY_MAX];
    store_key_index(out, KEY_STATS, 1);
    assert_string_equal(out, "one:stats:{01ud}");
    assert_string_equal(store_keys_prefix(), "one:");
    store_keys_set_prefix(NULL);
    store_key_index(out, KEY_STATS, 1);
    assert_string_equal(out, "stats:{01ud}");
}

/* Every id-derived key of an entity, and every index key of its bucket,
 * hash to one slot (the bucket tag's): a script over them is single-slot. */
static void an_entity_and_its_bucket_share_a_slot(void **state) {
    (void)state;
    store_keys_set_prefix("tA:");
    for (int i = 0; i < 200; i++) {
        char id[24], key[STORE_KEY_MAX];
        snprintf(id, sizeof id, "id-%d", i);
        int b = store_key_bucket(id);
        int want = core_key_slot(store_bucket_tag(b), 4);
        for (int k = 0; k < KEY__COUNT; k++) {
            store_key2(key, (store_key_t)k, id, "other-user");
            assert_int_equal(slot_of(key), want);
            store_key_index(key, (store_key_t)k, b);
            assert_int_equal(slot_of(key), want);
        }
    }
}

/* head .. id .. tail is the key's name, for every id of the bucket. */
static void parts_rebuild_the_name(void **state) {
    (void)state;
    const char *prefixes[] = {"", "rt:"};
    for (int p = 0; p < 2; p++) {
        store_keys_set_prefix(prefixes[p]);
        for (int k = 0; k < KEY__COUNT; k++) {
            if (store_key_ids((store_key_t)k) == 0)
                continue;
            const char *id = "r7";
            char head[STORE_KEY_MAX], tail[STORE_KEY_MAX], joined[2 * STORE_KEY_MAX],
                want[STORE_KEY_MAX];
            store_key_parts((store_key_t)k, store_key_bucket(id), "bob", head, tail);
            snprintf(joined, sizeof joined, "%s%s%s", head, id, tail);
            store_key2(want, (store_key_t)k, id, "bob");
            assert_string_equal(joined, want);
        }
    }
    char head[STORE_KEY_MAX], tail[STORE_KEY_MAX];
    store_key_parts(KEY_TYPING, 3, "bob", head, tail);
    assert_string_equal(head, "rt:typing:{03wd}:");
    assert_string_equal(tail, ":bob");
    store_key_parts(KEY_CLIENT, 3, NULL, head, tail);
    assert_string_equal(tail, "");
    store_key_parts(KEY_USER_SESSIONS, 3, NULL, head, tail);
    assert_string_equal(tail, ":sessions");
}

static void longest_prefix_and_ids_fit(void **state) {
    (void)state;
    char prefix[65], id[129], id2[129], want[STORE_KEY_MAX], out[STORE_KEY_MAX];
    memset(prefix, 'p', 64);
    prefix[64] = '\0';
    memset(id, 'i', 128);
    id[128] = '\0';
    memset(id2, 'j', 128);
    id2[128] = '\0';
    store_keys_set_prefix(prefix);
    const char *tag = store_bucket_tag(store_key_bucket(id));
    snprintf(want, sizeof want, "%styping:{%s}:%s:%s", prefix, tag, id, id2);
    assert_key2(KEY_TYPING, id, id2, want);
    snprintf(want, sizeof want, "%suser:{%s}:%s:offline_messages", prefix, tag, id);
    assert_key(KEY_USER_OFFLINE, id, want);
    snprintf(want, sizeof want, "%snotification_queue:normal:{00td}", prefix);
    store_key_index(out, KEY_NOTIFY_QUEUE_NORMAL, 0);
    assert_string_equal(out, want);
}

static void overlong_id_is_cut_not_overflowed(void **state) {
    (void)state;
    /* ids are validated before they get here; even so the buffer is never overrun */
    char id[500];
    memset(id, 'i', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    char out[STORE_KEY_MAX + 8];
    memset(out, '#', sizeof out);
    size_t n = store_key2(out, KEY_TYPING, id, id);
    assert_int_equal(n, STORE_KEY_MAX - 1);
    assert_int_equal(strlen(out), STORE_KEY_MAX - 1);
    for (size_t i = STORE_KEY_MAX; i < sizeof out; i++)
        assert_int_equal(out[i], '#');
}

/* Builds a key of shape k (ids picked for it) into out. */
static void sample(store_key_t k, int variant, char out[STORE_KEY_MAX], int *bucket) {
    const char *ids[] = {"cam-1", "alice", "r.7_x-Y", "u4pruy", "msg-1-a"};
    const char *id = ids[variant % 5];
    if (store_key_ids(k) == 0) {
        *bucket = (variant * 5 + k) % STORE_BUCKETS;
        store_key_index(out, k, *bucket);
    } else {
        *bucket = store_key_bucket(id);
        store_key2(out, k, id, ids[(variant + 1) % 5]);
    }
}

/* Every shape reads back as itself, with its bucket and ids. */
static void parse_round_trips_every_shape(void **state) {
    (void)state;
    const char *prefixes[] = {"", "rt:", "t*[x]:", "tA:sub:"};
    for (int p = 0; p < 4; p++) {
        store_keys_set_prefix(prefixes[p]);
        for (int k = 0; k < KEY__COUNT; k++) {
            for (int v = 0; v < 5; v++) {
                char key[STORE_KEY_MAX];
                int b;
                sample((store_key_t)k, v, key, &b);
                store_key_parsed_t got;
                if (!store_key_parse(key, strlen(key), &got))
                    fail_msg("'%s' does not parse", key);
                assert_int_equal(got.kind, k);
                assert_int_equal(got.bucket, b);
                char again[STORE_KEY_MAX];
                if (store_key_ids((store_key_t)k) == 0)
                    store_key_index(again, got.kind, got.bucket);
                else
                    store_key2(again, got.kind, got.id, got.id2);
                assert_string_equal(again, key);
            }
        }
    }
}

static void parse_rejects_foreign_keys(void **state) {
    (void)state;
    store_keys_set_prefix("tA:");
    char cam[STORE_KEY_MAX];
    store_key(cam, KEY_CLIENT, "cam"); /* tA:client:{tag}:cam */
    const char *tag = store_bucket_tag(store_key_bucket("cam"));
    const char *other = store_bucket_tag((store_key_bucket("cam") + 1) % STORE_BUCKETS);
    char wrong_tag[STORE_KEY_MAX], extra[STORE_KEY_MAX], unknown[STORE_KEY_MAX];
    snprintf(wrong_tag, sizeof wrong_tag, "tA:client:{%s}:cam", other);
    snprintf(extra, sizeof extra, "%s:x", cam);
    snprintf(unknown, sizeof unknown, "tA:camera:{%s}:cam", tag);
    char bad_id[STORE_KEY_MAX], no_id[STORE_KEY_MAX], id_on_index[STORE_KEY_MAX];
    snprintf(bad_id, sizeof bad_id, "tA:user:{%s}:..:rooms", tag);
    snprintf(no_id, sizeof no_id, "tA:user:{%s}:rooms", tag);
    snprintf(id_on_index, sizeof id_on_index, "tA:clients:{%s}:cam", tag);
    const char *foreign[] = {
        cam + 3,             /* no prefix */
        wrong_tag,           /* a tag that is not the id's bucket */
        extra,               /* more after the shape */
        unknown,             /* no such name */
        bad_id,              /* not a valid id */
        no_id,               /* a per-id shape without its id */
        id_on_index,         /* an index with an id */
        "tA:clients",        /* the legacy names */
        "tA:client:cam",     /* */
        "tA:clients:{zzzz}", /* not a bucket's tag */
        "tA:clients:{07sd",
        "tA:clients{07sd}",
        "tA:{07sd}",
        "tA:",
        "",
        "tA:clients:{07sd}}",
        "tB:clients:{07sd}",
    };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        store_key_parsed_t got;
        if (store_key_parse(foreign[i], strlen(foreign[i]), &got))
            fail_msg("'%s' should not parse under 'tA:'", foreign[i]);
    }
    store_key_parsed_t got;
    assert_true(store_key_parse(cam, strlen(cam), &got));
    assert_false(store_key_parse(cam, strlen(cam) - 1, &got)); /* the length counts */
}

/* The name part of k (what sits between the prefix and "{"), and its tail. */
static void head_and_tail(store_key_t k, char head[STORE_KEY_MAX], char tail[STORE_KEY_MAX]) {
    char h[STORE_KEY_MAX];
    store_key_parts(k, 0, "x", h, tail);
    char *brace = strchr(h, '{');
    *brace = '\0';
    snprintf(head, STORE_KEY_MAX, "%s", h);
}

/* The design's rule over the whole table: no shape's head ("<name>:") is a
 * proper suffix of another's head when the parts after the tag could read
 * the same (same number of ids, same tail). */
static void no_head_is_a_suffix_of_another(void **state) {
    (void)state;
    for (int a = 0; a < KEY__COUNT; a++) {
        for (int b = 0; b < KEY__COUNT; b++) {
            char ha[STORE_KEY_MAX], ta[STORE_KEY_MAX], hb[STORE_KEY_MAX], tb[STORE_KEY_MAX];
            head_and_tail((store_key_t)a, ha, ta);
            head_and_tail((store_key_t)b, hb, tb);
            size_t la = strlen(ha), lb = strlen(hb);
            bool same_rest = store_key_ids((store_key_t)a) == store_key_ids((store_key_t)b) &&
                             strcmp(ta, tb) == 0;
            if (a != b && same_rest && strcmp(ha, hb) == 0)
                fail_msg("shapes %d and %d are the same", a, b);
            if (same_rest && lb < la && strcmp(ha + la - lb, hb) == 0)
                fail_msg("head '%s' is a suffix of '%s'", hb, ha);
        }
    }
}

/* What that rule buys: cut any key of any shape at any point before its
 * '{', take the part before the cut as a prefix: the key parses under that
 * prefix only when it is the key's own. So an instance whose prefix is
 * "tA:" never takes a key of "tA:sub:" (or of any other prefix) for one of
 * its own, and a wipe deletes only its own keys. */
static void no_other_prefix_reads_a_key_as_its_own(void **state) {
    (void)state;
    const char *prefixes[] = {"", "tA:", "tA:sub:", "user:", "room:x:", "clients:"};
    for (int p = 0; p < 6; p++) {
        for (int k = 0; k < KEY__COUNT; k++) {
            for (int v = 0; v < 5; v++) {
                char key[STORE_KEY_MAX];
                int b;
                store_keys_set_prefix(prefixes[p]);
                sample((store_key_t)k, v, key, &b);
                size_t brace = (size_t)(strchr(key, '{') - key);
                for (size_t cut = 0; cut <= brace; cut++) {
                    char other[STORE_KEY_MAX];
                    memcpy(other, key, cut);
                    other[cut] = '\0';
                    store_keys_set_prefix(other);
                    store_key_parsed_t got;
                    bool own = strcmp(other, prefixes[p]) == 0;
                    if (store_key_parse(key, strlen(key), &got) != own)
                        fail_msg("'%s' %s under prefix '%s'", key,
                                 own ? "does not parse" : "parses", other);
                }
            }
        }
    }
}

static void glob_escapes_the_prefix(void **state) {
    (void)state;
    char out[STORE_KEY_MAX];
    assert_int_equal(store_keys_glob(out), 1);
    assert_string_equal(out, "*"); /* no prefix: everything */
    store_keys_set_prefix("rt:");
    store_keys_glob(out);
    assert_string_equal(out, "rt:*");
    store_keys_set_prefix("t*[x]?\\:");
    store_keys_glob(out);
    assert_string_equal(out, "t\\*\\[x\\]\\?\\\\:*");
    char prefix[65];
    memset(prefix, '*', 64); /* every character escaped still fits */
    prefix[64] = '\0';
    store_keys_set_prefix(prefix);
    assert_int_equal(store_keys_glob(out), 129);
}

/* The names of the layout before buckets, which only the migration reads. */
static void legacy_names(void **state) {
    (void)state;
    store_keys_set_prefix("p:");
    const struct {
        store_legacy_key_t k;
        const char *id, *id2, *name;
        store_key_t successor;
    } rows[] = {
        {LEGACY_CLIENTS, "", "", "p:clients", KEY_CLIENTS},
        {LEGACY_CLIENTS_BY_ID, "", "", "p:clients:by_id", KEY_CLIENTS},
        {LEGACY_CLIENTS_LAST_SEEN, "", "", "p:clients:last_seen", KEY_CLIENTS_LAST_SEEN},
        {LEGACY_CLIENT, "cam", "", "p:client:cam", KEY_CLIENT},
        {LEGACY_IMAGE, "cam", "", "p:image:cam", KEY_IMAGE},
        {LEGACY_STATS, "", "", "p:stats", KEY_STATS},
        {LEGACY_ONLINE_USERS, "", "", "p:online_users", KEY_ONLINE_USERS},
        {LEGACY_ONLINE_USERS_BY_ID, "", "", "p:online_users:by_id", KEY_ONLINE_USERS_BY_ID},
        {LEGACY_PRESENCE, "u", "", "p:presence:u", KEY_PRESENCE},
        {LEGACY_SESSION, "s", "", "p:session:s", KEY_SESSION},
        {LEGACY_HEARTBEAT, "s", "", "p:heartbeat:s", KEY_HEARTBEAT},
        {LEGACY_USER_SESSIONS, "u", "", "p:user:u:sessions", KEY_USER_SESSIONS},
        {LEGACY_REGION_MEMBERS, "g", "", "p:region:g:members", KEY_REGION_MEMBERS},
        {LEGACY_SESSIONS_EXPIRY, "", "", "p:sessions:expiry", KEY_SESSIONS_EXPIRY},
        {LEGACY_SESSIONS_OWNER, "", "", "p:sessions:owner", KEY_SESSIONS_OWNER},
        {LEGACY_ROOMS_ACTIVE, "", "", "p:rooms:active", KEY_ROOMS_ACTIVE},
        {LEGACY_ROOMS_EXPIRY, "", "", "p:rooms:expiry", KEY_ROOMS_EXPIRY},
        {LEGACY_ROOM_PARTICIPANTS, "r", "", "p:room:r:participants", KEY_ROOM_PARTICIPANTS},
        {LEGACY_ROOM_TYPING, "r", "", "p:room:r:typing", KEY_ROOM_TYPING},
        {LEGACY_ROOM_MESSAGES, "r", "", "p:room:r:messages", KEY_ROOM_MESSAGES},
        {LEGACY_TYPING, "r", "u", "p:typing:r:u", KEY_TYPING},
        {LEGACY_USER_ROOMS, "u", "", "p:user:u:rooms", KEY_USER_ROOMS},
        {LEGACY_USER_OFFLINE, "u", "", "p:user:u:offline_messages", KEY_USER_OFFLINE},
        {LEGACY_USER_NOTIFICATIONS, "u", "", "p:user:u:notifications", KEY_USER_NOTIFICATIONS},
        {LEGACY_RATE_MESSAGES, "u", "", "p:ratelimit:messages:u", KEY_RATE_MESSAGES},
        {LEGACY_NOTIFY_QUEUE_HIGH, "", "", "p:notification_queue:high", KEY_NOTIFY_QUEUE_HIGH},
        {LEGACY_NOTIFY_QUEUE_NORMAL, "", "", "p:notification_queue:normal",
         KEY_NOTIFY_QUEUE_NORMAL},
    };
    _Static_assert(sizeof rows / sizeof rows[0] == LEGACY__COUNT, "every legacy name");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[STORE_KEY_MAX];
        assert_int_equal(store_legacy_key(out, rows[i].k, rows[i].id, rows[i].id2),
                         strlen(rows[i].name));
        assert_string_equal(out, rows[i].name);
        assert_int_equal(store_legacy_successor(rows[i].k), rows[i].successor);
        store_legacy_key_t kind;
        store_key_parsed_t got;
        assert_true(store_legacy_parse(out, strlen(out), &kind, &got));
        assert_int_equal(kind, rows[i].k);
        assert_int_equal(got.kind, rows[i].successor);
        assert_string_equal(got.id, rows[i].id);
        assert_string_equal(got.id2, rows[i].id2);
        assert_int_equal(got.bucket, rows[i].id[0] ? store_key_bucket(rows[i].id) : -1);
        assert_false(store_key_parse(out, strlen(out), &got)); /* not today's */
        /* and no key of today's layout reads as a legacy one */
        int b;
        sample(rows[i].successor, (int)i, out, &b);
        assert_false(store_legacy_parse(out, strlen(out), &kind, &got));
    }
    store_legacy_key_t kind;
    store_key_parsed_t got;
    assert_false(store_legacy_parse("p:clients:x", 11, &kind, &got));
    assert_false(store_legacy_parse("clients", 7, &kind, &got));
    assert_false(store_legacy_parse("p:user:u", 8, &kind, &got));
}

#define T(name) cmocka_unit_test_setup_teardown(name, no_prefix, no_prefix)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(tag_slots_are_spread_evenly),
        T(bucket_of_an_id_is_its_crc_mod_16),
        T(names_without_prefix),
        T(names_with_prefix_and_index_keys),
        T(prefix_is_copied_and_can_be_cleared),
        T(an_entity_and_its_bucket_share_a_slot),
        T(parts_rebuild_the_name),
        T(longest_prefix_and_ids_fit),
        T(overlong_id_is_cut_not_overflowed),
        T(parse_round_trips_every_shape),
        T(parse_rejects_foreign_keys),
        T(no_head_is_a_suffix_of_another),
        T(no_other_prefix_reads_a_key_as_its_own),
        T(glob_escapes_the_prefix),
        T(legacy_names),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
