/* Every list of the real-time state over HTTP, against one promise: one page
 * shape everywhere ({"items", "count", "total", "next_cursor"}), ?limit= and
 * ?cursor= on every list, and paging that lists each item once, in the
 * list's order, with the total the list documents (null where it does not
 * count itself). The lists of MongoDB data page the same way (test_mongo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "checks.h"
#include "harness.h"

static const char *const env[] = {"RATE_LIMIT_MESSAGES=1000", NULL};

#define AALBORG "{\"latitude\":57.64911,\"longitude\":10.40744}"

/* Five of everything: p0..p4 online, in room "big" and typing there; p0 in
 * "chat" with q (offline), and in r1..r3; five messages from p0 in chat
 * (queued for q), five sessions of p0 in one region, five notifications
 * for q, five clients. */
static void five_of_everything(void) {
    char path[128], body[256];
    for (int i = 0; i < 5; i++) {
        snprintf(body, sizeof body, "{\"id\":\"c%d\"}", i);
        cJSON_Delete(chk_json(&it_fx.svc, "POST", "/clients", body, 201));
        snprintf(path, sizeof path, "/online-users/p%d", i);
        cJSON_Delete(chk_json(&it_fx.svc, "PUT", path, NULL, 200));
        snprintf(path, sizeof path, "/rooms/big/participants/p%d", i);
        cJSON_Delete(chk_json(&it_fx.svc, "PUT", path, NULL, 201));
        snprintf(body, sizeof body,
                 "{\"socket_id\":\"s%d\",\"user_id\":\"p0\",\"location\":" AALBORG "}", i);
        cJSON_Delete(chk_json(&it_fx.svc, "POST", "/sessions", body, 201));
        snprintf(body, sizeof body, "{\"title\":\"n%d\",\"body\":\"b\"}", i);
        cJSON_Delete(chk_json(&it_fx.svc, "POST", "/users/q/notifications", body, 201));
    }
    cJSON_Delete(chk_json(&it_fx.svc, "PUT", "/rooms/chat/participants/p0", NULL, 201));
    cJSON_Delete(chk_json(&it_fx.svc, "PUT", "/rooms/chat/participants/q", NULL, 201));
    for (int i = 1; i <= 3; i++) {
        snprintf(path, sizeof path, "/rooms/r%d/participants/p0", i);
        cJSON_Delete(chk_json(&it_fx.svc, "PUT", path, NULL, 201));
    }
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/rooms/big/typing/p%d", 4 - i); /* not in id order */
        cJSON_Delete(chk_json(&it_fx.svc, "PUT", path, NULL, 200));
        snprintf(body, sizeof body, "{\"sender_id\":\"p0\",\"content\":\"m%d\"}", i);
        cJSON_Delete(chk_json(&it_fx.svc, "POST", "/rooms/chat/messages", body, 201));
    }
}

typedef struct {
    const char *path;   /* the list, without a query */
    const char *field;  /* the item's field that names it */
    const char *order;  /* the five names, in the list's order */
    long long total;    /* 5, or CHK_TOTAL_NULL */
    const char *cursor; /* a cursor of the wrong shape for this list */
} list_t;

static const list_t lists[] = {
    {"/clients", "id", "c0,c1,c2,c3,c4", 5, "a:b"},
    {"/online-users", "id", "p0,p1,p2,p3,p4", 5, "a:b"},
    {"/rooms", "id", "big,chat,r1,r2,r3", 5, "a:b"},
    {"/rooms/big/participants", "user_id", "p0,p1,p2,p3,p4", 5, "a:b"},
    {"/users/p0/rooms", "id", "big,chat,r1,r2,r3", CHK_TOTAL_NULL, "a:b"},
    {"/rooms/big/typing", "user_id", "p0,p1,p2,p3,p4", 5, "a:b"},
    {"/rooms/chat/messages", "content", "m4,m3,m2,m1,m0", 5, "not-a-message-id"},
    {"/users/q/offline-messages", "content", "m0,m1,m2,m3,m4", 5, "not-a-message-id"},
    {"/users/p0/sessions", "socket_id", "s0,s1,s2,s3,s4", CHK_TOTAL_NULL, "a:b"},
    {"/regions/u4pruy/members", "socket_id", "s0,s1,s2,s3,s4", CHK_TOTAL_NULL, "a:b"},
    {"/users/q/notifications", "title", "n4,n3,n2,n1,n0", 5, "a:b"},
};

/* Walks the list two at a time; returns the names seen, comma-separated,
 * into out, checking every page's shape and total on the way. */
static int walk(const list_t *l, char *out, size_t cap) {
    char path[256];
    snprintf(path, sizeof path, "%s?limit=2", l->path);
    out[0] = '\0';
    for (int pages = 1;; pages++) {
        cJSON *j = chk_json(&it_fx.svc, "GET", path, NULL, 200), *item;
        cJSON_ArrayForEach(item, chk_page(j, l->total)) {
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                     it_json_str(item, l->field));
        }
        const char *next = chk_next(j);
        if (next) {
            assert_int_equal((int)it_json_num(j, "count"), 2); /* only a full page has a next */
            snprintf(path, sizeof path, "%s?limit=2&cursor=%s", l->path, next);
        }
        cJSON_Delete(j);
        if (!next)
            return pages;
    }
}

static void every_list_pages_in_one_shape(void **state) {
    (void)state;
    five_of_everything();
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        char got[256];
        int pages = walk(&lists[i], got, sizeof got);
        if (strcmp(got, lists[i].order) != 0)
            fail_msg("%s listed %s, not %s", lists[i].path, got, lists[i].order);
        assert_int_equal(pages, 3);
        /* one page of all of them, and the default limit */
        cJSON *j = chk_json(&it_fx.svc, "GET", lists[i].path, NULL, 200);
        assert_int_equal(cJSON_GetArraySize(chk_page(j, lists[i].total)), 5);
        assert_null(chk_next(j));
        cJSON_Delete(j);
    }
}

static void every_list_refuses_bad_paging(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        char path[256];
        const char *limits[] = {"0", "1001", "x", ""};
        for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
            snprintf(path, sizeof path, "%s?limit=%s", lists[i].path, limits[k]);
            chk_problem("GET", path, NULL, 400, "limit");
        }
        snprintf(path, sizeof path, "%s?cursor=%s", lists[i].path, lists[i].cursor);
        chk_problem("GET", path, NULL, 400, "cursor");
    }
}

/* The two takes answer a page too: what was taken, with total what was
 * queued when the take began, and no next page (the next take starts at
 * the head of what is left). */
static void takes_answer_a_page(void **state) {
    (void)state;
    five_of_everything();
    const struct {
        const char *path, *field, *want;
        long long total;
    } takes[] = {
        {"/users/q/offline-messages/consume?limit=2", "content", "m0,m1", 5},
        {"/users/q/offline-messages/consume?limit=2", "content", "m2,m3", 3},
        {"/users/q/offline-messages/consume", "content", "m4", 1},
        {"/users/q/offline-messages/consume", "content", "", 0},
        {"/notifications/queue/pop?limit=2", "title", "n0,n1", 5},
        {"/notifications/queue/pop", "title", "n2,n3,n4", 3},
        {"/notifications/queue/pop", "title", "", 0},
    };
    for (size_t i = 0; i < sizeof takes / sizeof takes[0]; i++) {
        cJSON *j = chk_json(&it_fx.svc, "POST", takes[i].path, NULL, 200), *item;
        char got[128] = "";
        cJSON_ArrayForEach(item, chk_page(j, takes[i].total)) {
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", got[0] ? "," : "",
                     it_json_str(item, takes[i].field));
        }
        assert_null(chk_next(j));
        cJSON_Delete(j);
        if (strcmp(got, takes[i].want) != 0)
            fail_msg("POST %s took %s, not %s", takes[i].path, got, takes[i].want);
    }
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_list_pages_in_one_shape, it_flush),
        cmocka_unit_test_setup(every_list_refuses_bad_paging, it_flush),
        cmocka_unit_test_setup(takes_answer_a_page, it_flush),
    };
    return cmocka_run_group_tests_name("integration: lists", tests, it_group_setup,
                                       it_group_teardown);
}
