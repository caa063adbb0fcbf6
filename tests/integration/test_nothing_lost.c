/*
 * Nothing acknowledged is lost, under concurrency.
 *
 * 16 writers each PUT frames to a client of their own, 16 more PUT frames to
 * one shared client, and 4 readers poll every client's latest frame, all at
 * once, each over its own keep-alive connections. What a user would see:
 *
 * - every PUT is acknowledged (200) with a frame_number, and no request of
 *   anyone gets a 5xx;
 * - an acknowledged frame is readable: a writer reading its own client right
 *   after an acknowledgement gets that very frame (bytes and number);
 * - readers never see a client's frame_number go backwards, never see a frame
 *   vanish once there was one, and always get bytes that belong to the number
 *   they are told (X-Frame-Number, ETag and body agree);
 * - at the end each own client's frame is the last one acknowledged; the
 *   shared client's frame_number equals the number of acknowledged PUTs, and
 *   the acknowledged numbers are exactly 1..N, each once (no lost or doubled
 *   increment); total_frames is the sum of all acknowledged PUTs.
 *
 * NOTHING_LOST_FRAMES sets the frames per writer: 500 (the full count) by
 * default, as make test runs it; scripts/valgrind.sh sets 40.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "harness.h"

#define OWN_WRITERS 16
#define SHARED_WRITERS 16
#define READERS 4
#define NCLIENTS (OWN_WRITERS + 1) /* own-0 .. own-15, then shared */

static const char *const env[] = {"CLIENT_TIMEOUT_MS=3600000", NULL};

static int frames; /* per writer */
static atomic_int writers_left;
static atomic_uchar *shared_acked; /* [n] = times frame number n was acknowledged */

/* Everything a thread found wrong, for the main thread to assert on. */
typedef struct {
    int server_errors; /* 5xx */
    int unexpected;    /* any other status or body that breaks a promise */
    char first[256];   /* what the first problem was */
} problems_t;

static void problem(problems_t *p, bool server_error, const char *fmt, ...) {
    if (server_error)
        p->server_errors++;
    else
        p->unexpected++;
    if (p->first[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->first, sizeof p->first, fmt, ap);
    va_end(ap);
}

/* ---- one keep-alive HTTP connection per handle ---- */

typedef struct {
    CURL *c;
    char base[64];
    char *body;
    size_t len, cap;
    long frame_number; /* X-Frame-Number of the last response, or -1 */
    char etag[64];
} conn_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    conn_t *c = arg;
    size_t add = size * n;
    if (c->len + add + 1 > c->cap) {
        size_t cap = (c->len + add + 1) * 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return 0;
        c->body = b;
        c->cap = cap;
    }
    memcpy(c->body + c->len, p, add);
    c->len += add;
    c->body[c->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
    conn_t *c = arg;
    size_t len = size * n;
    if (len > 16 && strncasecmp(p, "X-Frame-Number:", 15) == 0)
        c->frame_number = strtol(p + 15, NULL, 10);
    if (len > 6 && strncasecmp(p, "ETag:", 5) == 0)
        sscanf(p + 5, " %63s", c->etag);
    return len;
}

static void conn_open(conn_t *c, const it_service_t *s) {
    memset(c, 0, sizeof *c);
    c->c = curl_easy_init();
    snprintf(c->base, sizeof c->base, "%s", s->base);
    curl_easy_setopt(c->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->c, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->c, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->c, CURLOPT_TIMEOUT_MS, (long)(10000 * it_time_scale()));
    curl_easy_setopt(c->c, CURLOPT_NOSIGNAL, 1L);
}

static void conn_close(conn_t *c) {
    curl_easy_cleanup(c->c);
    free(c->body);
}

/* GET path; returns the status (0: no answer). */
static long conn_get(conn_t *c, const char *path) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", c->base, path);
    c->len = 0;
    c->frame_number = -1;
    c->etag[0] = '\0';
    curl_easy_setopt(c->c, CURLOPT_URL, url);
    curl_easy_setopt(c->c, CURLOPT_HTTPGET, 1L);
    long status = 0;
    if (curl_easy_perform(c->c) == CURLE_OK)
        curl_easy_getinfo(c->c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* PUTs a JPEG frame to path; returns the status (0: no answer). */
static long conn_put_frame(conn_t *c, const char *path, const char *data, size_t n) {
    static struct curl_slist *jpeg; /* made before any thread starts */
    if (!c) {
        jpeg = curl_slist_append(curl_slist_append(NULL, "Content-Type: image/jpeg"), "Expect:");
        return 0;
    }
    char url[256];
    snprintf(url, sizeof url, "%s%s", c->base, path);
    c->len = 0;
    curl_easy_setopt(c->c, CURLOPT_URL, url);
    curl_easy_setopt(c->c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c->c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c->c, CURLOPT_POSTFIELDSIZE, (long)n);
    curl_easy_setopt(c->c, CURLOPT_HTTPHEADER, jpeg);
    long status = 0;
    if (curl_easy_perform(c->c) == CURLE_OK)
        curl_easy_getinfo(c->c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The frame_number in a PUT's JSON answer, or -1. */
static long acked_number(const conn_t *c) {
    cJSON *j = c->len ? cJSON_Parse(c->body) : NULL;
    long n = j ? (long)it_json_num(j, "frame_number") : -1;
    cJSON_Delete(j);
    return n;
}

/* ---- writers and readers ---- */

typedef struct {
    const it_service_t *svc;
    int index;
    bool shared;
    long last_ack; /* own writers: the last frame_number acknowledged */
    int acks;
    problems_t p;
} writer_t;

static int make_frame(char *out, size_t cap, const char *client, int writer, int seq) {
    /* JPEG magic, then text saying whose frame it is */
    return snprintf(out, cap, "\xff\xd8\xff\xe0 client=%s writer=%d seq=%d", client, writer, seq);
}

static void *write_frames(void *arg) {
    writer_t *w = arg;
    conn_t put, get;
    conn_open(&put, w->svc);
    conn_open(&get, w->svc);
    char id[32], path[64], frame[96];
    snprintf(id, sizeof id, w->shared ? "shared" : "own-%d", w->index);
    snprintf(path, sizeof path, "/clients/%s/image", id);
    for (int seq = 1; seq <= frames; seq++) {
        int n = make_frame(frame, sizeof frame, id, w->index, seq);
        long st = conn_put_frame(&put, path, frame, (size_t)n);
        if (st != 200) {
            problem(&w->p, st >= 500, "PUT %s #%d: HTTP %ld", id, seq, st);
            continue;
        }
        long num = acked_number(&put);
        w->acks++;
        if (w->shared) {
            if (num < 1 || num > SHARED_WRITERS * frames)
                problem(&w->p, false, "shared ack number %ld out of range", num);
            else
                atomic_fetch_add(&shared_acked[num], 1);
            continue;
        }
        if (num != seq) /* nobody else writes this client */
            problem(&w->p, false, "%s #%d acknowledged as frame %ld", id, seq, num);
        w->last_ack = num;
        if (seq % 4 == 0) { /* read-your-write: the acknowledged frame is the one served */
            long gst = conn_get(&get, path);
            if (gst != 200 || get.frame_number != num || get.len != (size_t)n ||
                memcmp(get.body, frame, (size_t)n) != 0)
                problem(&w->p, gst >= 500, "%s: frame %ld acknowledged, read back HTTP %ld #%ld",
                        id, num, gst, get.frame_number);
        }
    }
    conn_close(&put);
    conn_close(&get);
    atomic_fetch_sub(&writers_left, 1);
    return NULL;
}

typedef struct {
    const it_service_t *svc;
    int index;
    long seen[NCLIENTS]; /* highest frame_number seen per client; 0: none yet */
    int reads;
    problems_t p;
} reader_t;

static void check_read(reader_t *r, int c, const conn_t *conn, long st) {
    const char *id_fmt = c < OWN_WRITERS ? "own-%d" : "shared";
    char id[32];
    snprintf(id, sizeof id, id_fmt, c);
    if (st == 404 && r->seen[c] == 0)
        return; /* no frame yet */
    if (st != 200) {
        problem(&r->p, st >= 500, "GET %s: HTTP %ld after frame %ld", id, st, r->seen[c]);
        return;
    }
    long num = conn->frame_number;
    if (num < r->seen[c])
        problem(&r->p, false, "%s went back from frame %ld to %ld", id, r->seen[c], num);
    long etag_num = -1;
    sscanf(conn->etag, "\"%ld-", &etag_num);
    if (etag_num != num)
        problem(&r->p, false, "%s: X-Frame-Number %ld but ETag %s", id, num, conn->etag);
    char want[48];
    snprintf(want, sizeof want, "client=%s ", id);
    if (conn->len < 4 || !strstr(conn->body + 4, want))
        problem(&r->p, false, "%s: the bytes served are not its frame", id);
    if (c < OWN_WRITERS) { /* own clients: the bytes say which frame they are */
        const char *s = strstr(conn->body + 4, "seq=");
        if (!s || strtol(s + 4, NULL, 10) != num)
            problem(&r->p, false, "%s: frame %ld served with the bytes of %s", id, num,
                    s ? s : "none");
    }
    if (num > r->seen[c])
        r->seen[c] = num;
    r->reads++;
}

static void *read_frames(void *arg) {
    reader_t *r = arg;
    conn_t conn;
    conn_open(&conn, r->svc);
    for (int i = r->index; atomic_load(&writers_left) > 0; i++) {
        int c = i % NCLIENTS;
        char path[64];
        if (c < OWN_WRITERS)
            snprintf(path, sizeof path, "/clients/own-%d/image", c);
        else
            snprintf(path, sizeof path, "/clients/shared/image");
        check_read(r, c, &conn, conn_get(&conn, path));
    }
    conn_close(&conn);
    return NULL;
}

static void assert_no_problems(const char *who, int i, const problems_t *p) {
    if (p->server_errors || p->unexpected)
        fail_msg("%s %d: %d 5xx, %d other problems; first: %s", who, i, p->server_errors,
                 p->unexpected, p->first);
}

static long client_frame_number(const char *id) {
    char path[64];
    snprintf(path, sizeof path, "/clients/%s", id);
    it_resp_t r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    long n = (long)it_json_num(j, "frame_number");
    cJSON_Delete(j);
    it_resp_free(&r);
    return n;
}

static void acknowledged_frames_are_never_lost(void **state) {
    (void)state;
    const char *f = getenv("NOTHING_LOST_FRAMES");
    frames = f && atoi(f) > 0 ? atoi(f) : 500;
    for (int i = 0; i < OWN_WRITERS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"id\":\"own-%d\"}", i);
        it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", body);
        assert_int_equal(r.status, 201);
        it_resp_free(&r);
    }
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", "{\"id\":\"shared\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);

    shared_acked = calloc((size_t)(SHARED_WRITERS * frames + 1), sizeof *shared_acked);
    conn_put_frame(NULL, NULL, NULL, 0);
    static writer_t w[OWN_WRITERS + SHARED_WRITERS];
    static reader_t rd[READERS];
    pthread_t wt[OWN_WRITERS + SHARED_WRITERS], rt[READERS];
    atomic_store(&writers_left, OWN_WRITERS + SHARED_WRITERS);
    for (int i = 0; i < OWN_WRITERS + SHARED_WRITERS; i++) {
        w[i] = (writer_t){.svc = &it_fx.svc, .index = i % OWN_WRITERS, .shared = i >= OWN_WRITERS};
        pthread_create(&wt[i], NULL, write_frames, &w[i]);
    }
    for (int i = 0; i < READERS; i++) {
        rd[i] = (reader_t){.svc = &it_fx.svc, .index = i};
        pthread_create(&rt[i], NULL, read_frames, &rd[i]);
    }
    for (int i = 0; i < OWN_WRITERS + SHARED_WRITERS; i++)
        pthread_join(wt[i], NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);

    long shared_acks = 0, all_acks = 0;
    for (int i = 0; i < OWN_WRITERS + SHARED_WRITERS; i++) {
        assert_no_problems(w[i].shared ? "shared writer" : "own writer", w[i].index, &w[i].p);
        assert_int_equal(w[i].acks, frames);
        all_acks += w[i].acks;
        shared_acks += w[i].shared ? w[i].acks : 0;
    }
    int reads = 0;
    for (int i = 0; i < READERS; i++) {
        assert_no_problems("reader", i, &rd[i].p);
        assert_true(rd[i].reads > 0);
        reads += rd[i].reads;
    }
    printf("  %ld frames acknowledged (%d per writer), %d reads checked\n", all_acks, frames,
           reads);

    /* each own client ends on its last acknowledged frame, bytes and all */
    for (int i = 0; i < OWN_WRITERS; i++) {
        char id[32], path[64], want[96];
        snprintf(id, sizeof id, "own-%d", i);
        assert_int_equal(client_frame_number(id), w[i].last_ack);
        snprintf(path, sizeof path, "/clients/%s/image", id);
        r = it_http(&it_fx.svc, "GET", path, NULL, NULL, 0);
        int n = make_frame(want, sizeof want, id, i, frames);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, n);
        assert_memory_equal(r.body, want, (size_t)n);
        it_resp_free(&r);
    }
    /* the shared counter counted every acknowledged PUT exactly once */
    assert_int_equal(client_frame_number("shared"), shared_acks);
    for (long n = 1; n <= shared_acks; n++) {
        if (atomic_load(&shared_acked[n]) != 1)
            fail_msg("shared frame number %ld acknowledged %d times", n,
                     (int)atomic_load(&shared_acked[n]));
    }
    free(shared_acked);
    r = it_http(&it_fx.svc, "GET", "/redis/stats", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    assert_int_equal((long)it_json_num(cJSON_GetObjectItem(j, "app"), "total_frames"), all_acks);
    cJSON_Delete(j);
    it_resp_free(&r);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(acknowledged_frames_are_never_lost, it_flush),
    };
    return cmocka_run_group_tests_name("integration: nothing lost", tests, it_group_setup,
                                       it_group_teardown);
}
