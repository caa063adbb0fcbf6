/* The store's nodes, and SCAN over them; see nodes.h. */
#include "nodes.h"

#include <string.h>

#include "conn.h"
#include "link.h"
#include "reply.h"

#define SCAN_COUNT 1000

bool store_nodes_cluster(void) { return store_conn_is_cluster(); }

int store_nodes_masters(int *nodes, int cap) {
    int n = store_masters(nodes, cap);
    return n < cap ? n : cap;
}

void store_nodes_name(int node, char *out) { store_link_node_name(node, out); }

store_status_t store_nodes_info(store_cluster_info_t *info) {
    if (store_cluster_mode() != STORE_MODE_STANDALONE)
        return store_cluster_info(info);
    info->mode = STORE_MODE_STANDALONE;
    info->slots_up = 16384;
    info->slots_down = info->slots_unrouted = 0;
    info->have_info = false;
    info->state[0] = '\0';
    info->slots_assigned = info->slots_ok = info->slots_pfail = info->slots_fail = 0;
    info->known_nodes = info->size = 0;
    info->nnodes = 0;
    return STORE_OK;
}

store_status_t store_nodes_run(int node, int n, store_args_t *cmds, redisReply **replies) {
    return store_run_node(node, n, cmds, replies);
}

/* SCANs one node to the end. */
static store_status_t scan_node(int node, const char *match, store_nodes_batch_fn fn, void *ctx) {
    char cursor[32] = "0";
    do {
        store_args_t a;
        store_args_init(&a);
        store_args_str(&a, "SCAN");
        store_args_str(&a, cursor);
        store_args_str(&a, "MATCH");
        store_args_str(&a, match);
        store_args_str(&a, "COUNT");
        store_args_int(&a, SCAN_COUNT);
        redisReply *r;
        store_status_t st = store_nodes_run(node, 1, &a, &r);
        store_args_free(&a);
        if (st != STORE_OK)
            return st;
        const redisReply *keys = store_reply_at(r, 1);
        if (!store_reply_copy(store_reply_at(r, 0), cursor, sizeof cursor) || !keys ||
            keys->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return STORE_ERROR;
        }
        st = fn(node, keys, ctx);
        freeReplyObject(r);
        if (st != STORE_OK)
            return st;
    } while (strcmp(cursor, "0") != 0);
    return STORE_OK;
}

store_status_t store_nodes_scan(const char *match, store_nodes_batch_fn fn, void *ctx) {
    int nodes[STORE_NODES_MAX];
    int n = store_nodes_masters(nodes, STORE_NODES_MAX);
    for (int i = 0; i < n; i++) {
        store_status_t st = scan_node(nodes[i], match, fn, ctx);
        if (st != STORE_OK)
            return st;
    }
    return STORE_OK;
}
