/* Unit tests for store/cluster.c's redirect handling and store/link.c's node
 * table, without a server: the addresses in MOVED and ASK replies (IPv4,
 * IPv6, a hostname, an empty host meaning the answering node's), the map
 * corrected by MOVED only, and malformed replies refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/crc16.h"
#include "../../store/cluster.h"
#include "../../store/link.h"

static int setup(void **state) {
    (void)state;
    core_redis_url_t u;
    assert_true(core_redis_url_parse("redis://10.0.0.1:7000,10.0.0.2:7000", &u, NULL));
    store_link_configure(&u, 300);
    store_cluster_configure(&u, 300);
    return 0;
}

static int redirect(const char *text, int from, bool moved) {
    return store_cluster_redirect(text, strlen(text), from, moved);
}

static void name_of(int i, const char *want) {
    char name[STORE_ADDR_MAX];
    store_link_node_name(i, name);
    assert_string_equal(name, want);
}

static void moved_names_a_node_and_takes_the_slot(void **state) {
    (void)state;
    int a = store_link_node("10.0.0.1", 7000);
    assert_int_equal(a, 0);
    assert_int_equal(store_cluster_owner(3999), -1);
    int b = redirect("3999 10.0.0.2:7001", a, true);
    assert_int_equal(b, 1);
    name_of(b, "10.0.0.2:7001");
    assert_int_equal(store_cluster_owner(3999), b);
    /* the same address again: the same index, no new entry */
    assert_int_equal(redirect("4000 10.0.0.2:7001", a, true), b);
    assert_int_equal(store_link_nodes(), 2);
    /* ASK names a node but leaves the map alone */
    int c = redirect("5000 10.0.0.3:7002", a, false);
    assert_int_equal(c, 2);
    assert_int_equal(store_cluster_owner(5000), -1);
    int nodes[8];
    assert_int_equal(store_cluster_masters(nodes, 8), 1); /* only b serves slots */
    assert_int_equal(nodes[0], b);
}

static void hosts_of_every_shape(void **state) {
    (void)state;
    int a = store_link_node("10.0.0.1", 7000);
    /* an empty host is the answering node's */
    int same = redirect("1 :7005", a, true);
    name_of(same, "10.0.0.1:7005");
    /* IPv6: the port follows the last ':' */
    int v6 = redirect("2 2001:db8::7:6379", a, true);
    name_of(v6, "[2001:db8::7]:6379");
    char host[64];
    int port;
    store_link_node_addr(v6, host, sizeof host, &port);
    assert_string_equal(host, "2001:db8::7");
    assert_int_equal(port, 6379);
    int named = redirect("16383 redis-2.redis.svc:6379", a, true);
    name_of(named, "redis-2.redis.svc:6379");
    assert_int_equal(store_cluster_owner(16383), named);
    assert_int_equal(store_cluster_owner(1), same);
    assert_int_equal(store_cluster_owner(2), v6);
}

static void malformed_redirects_are_refused(void **state) {
    (void)state;
    int a = store_link_node("10.0.0.1", 7000);
    int before = store_link_nodes();
    static const char *const bad[] = {
        "",
        "3999",
        "3999 ",
        "x 10.0.0.2:7001",
        "16384 h:1",
        "-1 h:1",
        "3999 h",
        "3999 h:0",
        "3999 h:65536",
        "3999 h:x",
        "3999 ?:7001" /* an endpoint the node does not know */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (redirect(bad[i], a, true) != -1)
            fail_msg("'%s' was taken", bad[i]);
    assert_int_equal(store_link_nodes(), before);
    for (int s = 0; s < CORE_SLOTS; s++)
        assert_int_equal(store_cluster_owner(s), -1);
}

static void nodes_start_unused(void **state) {
    (void)state;
    int a = store_link_node("/run/redis.sock", 0);
    name_of(a, "/run/redis.sock");
    char why[64] = "x";
    int64_t at = -1;
    assert_int_equal(store_link_node_state(a, why, sizeof why, &at), STORE_NODE_UNUSED);
    assert_string_equal(why, "");
    assert_int_equal(at, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(moved_names_a_node_and_takes_the_slot, setup),
        cmocka_unit_test_setup(hosts_of_every_shape, setup),
        cmocka_unit_test_setup(malformed_redirects_are_refused, setup),
        cmocka_unit_test_setup(nodes_start_unused, setup),
    };
    return cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
}
