/* /clients/{id}/image over HTTP: raw and JSON uploads, type checks, limits,
 * conditional and JSON downloads, and concurrent writers. MAX_IMAGE_BYTES is
 * 4096 here so the limit is cheap to cross. */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/base64.h"
#include "checks.h"
#include "harness.h"

#define LIMIT 4096

static const char *const env[] = {"MAX_IMAGE_BYTES=4096", NULL};

/* A JPEG-looking frame of n bytes with NULs and high bytes inside, seeded. */
static unsigned char *frame(size_t n, unsigned seed) {
    unsigned char *b = malloc(n);
    b[0] = 0xFF;
    b[1] = 0xD8;
    b[2] = 0xFF;
    for (size_t i = 3; i < n; i++)
        b[i] = (unsigned char)((i * 31 + seed * 7) & 0xFF);
    return b;
}

static void create(const char *id) {
    char body[128];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    it_resp_t r = it_json_req(&it_fx.svc, "POST", "/clients", body);
    assert_true(r.status == 201 || r.status == 200);
    it_resp_free(&r);
}

static it_resp_t put_raw(const char *id, const char *ctype, const void *data, size_t n) {
    char path[160], h[128];
    snprintf(path, sizeof path, "/clients/%s/image", id);
    snprintf(h, sizeof h, "Content-Type: %s", ctype);
    const char *hs[] = {h, NULL};
    return it_http(&it_fx.svc, "PUT", path, hs, data, n);
}

static redisReply *image_field(const char *id, const char *field) {
    return it_redis_cmd(&it_fx.redis, "HGET %s %s", it_key(KEY_IMAGE, id), field);
}

static void raw_upload_is_stored_binary_safe(void **state) {
    (void)state;
    create("cam");
    unsigned char *img = frame(3000, 1);
    it_resp_t r = put_raw("cam", "image/jpeg", img, 3000);
    assert_int_equal(r.status, 200);
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "id"), "cam");
    assert_int_equal((int)it_json_num(j, "size"), 3000);
    assert_string_equal(it_json_str(j, "format"), "jpeg");
    assert_int_equal((int)it_json_num(j, "frame_number"), 1);
    assert_non_null(it_json_str(j, "timestamp"));
    char etag[64];
    assert_true(it_header(&r, "ETag", etag, sizeof etag));
    assert_int_equal(etag[0], '"');
    cJSON_Delete(j);
    it_resp_free(&r);

    redisReply *data = image_field("cam", "data");
    assert_int_equal(data->type, REDIS_REPLY_STRING);
    assert_int_equal(data->len, 3000); /* raw bytes, not base64 */
    assert_memory_equal(data->str, img, 3000);
    freeReplyObject(data);
    redisReply *fmt = image_field("cam", "format");
    assert_string_equal(fmt->str, "jpeg");
    freeReplyObject(fmt);
    redisReply *total =
        it_redis_cmd(&it_fx.redis, "HGET %s total_frames", it_key(KEY_STATS, "cam"));
    assert_string_equal(total->str, "1");
    freeReplyObject(total);
    free(img);
}

/* Frames around the sizes where the path changes: a command over 16 KiB is
 * written straight from the body to Redis's socket, a body over 64 KiB
 * outgrows the buffer its Content-Length reserved. Byte for byte in Redis
 * and back over HTTP. */
static void large_frames_byte_for_byte(void **state) {
    (void)state;
    const char *big[] = {"MAX_IMAGE_BYTES=4194304", NULL};
    it_service_t svc;
    assert_true(it_service_start(&svc, it_fx.redis.url, big));
    static const size_t sizes[] = {4000, 16383, 16384, 40000, 65535, 65536, 100000, 3000000};
    it_resp_t r = it_json_req(&svc, "POST", "/clients", "{\"id\":\"big\"}");
    assert_int_equal(r.status, 201);
    it_resp_free(&r);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *img = frame(n, (unsigned)i + 3);
        const char *hs[] = {"Content-Type: image/jpeg", NULL};
        r = it_http(&svc, "PUT", "/clients/big/image", hs, img, n);
        assert_int_equal(r.status, 200);
        cJSON *j = it_body_json(&r);
        assert_int_equal((long long)it_json_num(j, "size"), (long long)n);
        assert_int_equal((int)it_json_num(j, "frame_number"), (int)i + 1);
        cJSON_Delete(j);
        it_resp_free(&r);
        redisReply *data = image_field("big", "data");
        assert_int_equal(data->type, REDIS_REPLY_STRING);
        assert_int_equal((size_t)data->len, n);
        assert_memory_equal(data->str, img, n);
        freeReplyObject(data);
        const char *raw[] = {"Accept: image/jpeg", NULL};
        r = it_http(&svc, "GET", "/clients/big/image", raw, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, n);
        assert_memory_equal(r.body, img, n);
        it_resp_free(&r);
        free(img);
    }
    /* and the service still answers small commands on the same connection */
    r = it_http(&svc, "POST", "/clients/big/heartbeat", NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    it_resp_free(&r);
    assert_int_equal(it_service_stop(&svc), 0);
}

static void frames_count_up_and_replace(void **state) {
    (void)state;
    create("cam");
    for (unsigned i = 1; i <= 3; i++) {
        unsigned char *img = frame(100 + i, i);
        it_resp_t r = put_raw("cam", "image/jpeg", img, 100 + i);
        cJSON *j = it_body_json(&r);
        assert_int_equal((int)it_json_num(j, "frame_number"), (int)i);
        cJSON_Delete(j);
        it_resp_free(&r);
        free(img);
    }
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/cam/image", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 103);
    unsigned char *last = frame(103, 3);
    assert_memory_equal(r.body, last, 103);
    free(last);
    char v[128];
    assert_true(it_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "image/jpeg");
    assert_true(it_header(&r, "X-Frame-Number", v, sizeof v));
    assert_string_equal(v, "3");
    assert_true(it_header(&r, "Cache-Control", v, sizeof v));
    assert_string_equal(v, "no-cache");
    assert_true(it_header(&r, "Last-Modified", v, sizeof v));
    assert_non_null(strstr(v, " GMT"));
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/clients/cam", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "has_image")));
    assert_int_equal((int)it_json_num(j, "frame_number"), 3);
    cJSON_Delete(j);
    it_resp_free(&r);
}

static void etag_and_not_modified(void **state) {
    (void)state;
    create("cam");
    it_resp_t r = put_raw("cam", "image/png", "\x89PNG\r\n\x1a\n1234", 12);
    char etag[64], h[100];
    assert_true(it_header(&r, "ETag", etag, sizeof etag));
    it_resp_free(&r);
    snprintf(h, sizeof h, "If-None-Match: %s", etag);
    const char *hs[] = {h, NULL};
    r = it_http(&it_fx.svc, "GET", "/clients/cam/image", hs, NULL, 0);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    char got[64];
    assert_true(it_header(&r, "ETag", got, sizeof got));
    assert_string_equal(got, etag);
    it_resp_free(&r);
    /* a new frame changes the ETag: the old one no longer matches */
    r = put_raw("cam", "image/png", "\x89PNG\r\n\x1a\n5678", 12);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/clients/cam/image", hs, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 12);
    assert_memory_equal(r.body + 8, "5678", 4);
    it_resp_free(&r);
}

static void json_upload_and_download(void **state) {
    (void)state;
    create("cam");
    unsigned char *img = frame(600, 9);
    char b64[1024], body[1200];
    core_b64_encode(img, 600, b64);
    snprintf(body, sizeof body, "{\"data\":\"%s\",\"format\":\"jpeg\"}", b64);
    it_resp_t r = it_json_req(&it_fx.svc, "PUT", "/clients/cam/image", body);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    const char *hs[] = {"Accept: application/json", NULL};
    r = it_http(&it_fx.svc, "GET", "/clients/cam/image", hs, NULL, 0);
    assert_int_equal(r.status, 200);
    char ct[64];
    it_header(&r, "Content-Type", ct, sizeof ct);
    assert_string_equal(ct, "application/json");
    cJSON *j = it_body_json(&r);
    assert_string_equal(it_json_str(j, "data"), b64);
    assert_int_equal((int)it_json_num(j, "size"), 600);
    assert_string_equal(it_json_str(j, "format"), "jpeg");
    assert_int_equal((int)it_json_num(j, "frame_number"), 1);
    cJSON_Delete(j);
    it_resp_free(&r);
    redisReply *data = image_field("cam", "data");
    assert_int_equal(data->len, 600);
    assert_memory_equal(data->str, img, 600);
    freeReplyObject(data);
    free(img);
}

static void accept_negotiation(void **state) {
    (void)state;
    create("cam");
    it_resp_t r = put_raw("cam", "image/png", "\x89PNG\r\n\x1a\nabcd", 12);
    it_resp_free(&r);
    struct {
        const char *accept, *want;
    } cases[] = {
        {"Accept: image/png, application/json;q=0.5", "image/png"},
        {"Accept: application/json, image/*;q=0", "application/json"},
        {"Accept: application/json;q=0.9, image/*;q=0.8", "application/json"},
        {"Accept: */*", "image/png"},
        {"Accept: application/jsonx, image/png", "image/png"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *hs[] = {cases[i].accept, NULL};
        r = it_http(&it_fx.svc, "GET", "/clients/cam/image", hs, NULL, 0);
        assert_int_equal(r.status, 200);
        char ct[64];
        it_header(&r, "Content-Type", ct, sizeof ct);
        assert_string_equal(ct, cases[i].want);
        it_resp_free(&r);
    }
    const char *html[] = {"Accept: text/html", NULL};
    r = it_http(&it_fx.svc, "GET", "/clients/cam/image", html, NULL, 0);
    it_assert_problem(&r, 406, "image/png");
    char v[64];
    assert_false(it_header(&r, "ETag", v, sizeof v)); /* frame headers only on a frame */
    it_resp_free(&r);
}

static void bad_uploads_store_nothing(void **state) {
    (void)state;
    create("cam");
    struct {
        const char *ct;
        const char *body;
        size_t len;
        long status;
        const char *detail;
    } cases[] = {
        {"image/jpeg", "\x89PNG\r\n\x1a\nxxxx", 12, 415, "jpeg"},
        {"image/png", "\xff\xd8\xff\xe0", 4, 415, "png"},
        {"image/gif", "GIF89a", 6, 415, "Content-Type"},
        {"text/plain", "hello", 5, 415, "Content-Type"},
        {"image/webp", "", 0, 400, "empty"},
        {"application/json", "{\"data\":\"@@@@\"}", 15, 400, "base64"},
        {"application/json", "{\"data\":\"aGVsbG8=\"}", 19, 400, "data"},
        {"application/json", "{\"format\":\"png\"}", 16, 400, "data"},
        {"application/json", "{\"data\":\"/9j/4A==\",\"format\":\"png\"}", 34, 400, "format"},
        {"application/json", "{\"data\":\"/9j/4A==\",\"format\":\"bmp\"}", 34, 400, "format"},
        {"application/json", "not json", 8, 400, "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_resp_t r = put_raw("cam", cases[i].ct, cases[i].body, cases[i].len);
        it_assert_problem(&r, cases[i].status, cases[i].detail);
        it_resp_free(&r);
    }
    redisReply *e = it_redis_cmd(&it_fx.redis, "EXISTS %s", it_key(KEY_IMAGE, "cam"));
    assert_int_equal(e->integer, 0);
    freeReplyObject(e);
}

static void over_the_limit_is_413(void **state) {
    (void)state;
    create("cam");
    unsigned char *img = frame(LIMIT + 1, 2);
    it_resp_t r = put_raw("cam", "image/jpeg", img, LIMIT + 1);
    it_assert_problem(&r, 413, NULL);
    it_resp_free(&r);
    char *b64 = malloc(core_b64_encoded_len(LIMIT + 1) + 64), *body = malloc(LIMIT * 2 + 64);
    core_b64_encode(img, LIMIT + 1, b64);
    sprintf(body, "{\"data\":\"%s\"}", b64);
    r = it_json_req(&it_fx.svc, "PUT", "/clients/cam/image", body);
    it_assert_problem(&r, 413, "limit");
    it_resp_free(&r);
    /* exactly the limit is fine */
    r = put_raw("cam", "image/jpeg", img, LIMIT);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    redisReply *fn = image_field("cam", "frame_number");
    assert_string_equal(fn->str, "1");
    freeReplyObject(fn);
    free(img);
    free(b64);
    free(body);
}

static void unknown_client_and_missing_frame(void **state) {
    (void)state;
    it_resp_t r = put_raw("ghost", "image/jpeg", "\xff\xd8\xff\xe0", 4);
    it_assert_problem(&r, 404, "ghost");
    it_resp_free(&r);
    redisReply *n = it_redis_cmd(&it_fx.redis, "DBSIZE");
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
    create("blank");
    r = it_http(&it_fx.svc, "GET", "/clients/blank/image", NULL, NULL, 0);
    it_assert_problem(&r, 404, "frame");
    it_resp_free(&r);
}

static void head_has_headers_no_body(void **state) {
    (void)state;
    create("cam");
    it_resp_t r = put_raw("cam", "image/webp", "RIFF\x04\0\0\0WEBPVP8 ", 16);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "HEAD", "/clients/cam/image", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    char v[64];
    assert_true(it_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "image/webp");
    assert_true(it_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(v, "16");
    it_resp_free(&r);
}

#define WRITERS 2
#define PER_WRITER 50
/* Writer 0 sends 6-byte JPEGs, writer 1 12-byte PNGs: a frame whose bytes
 * came from one upload and its size or format from another shows. */
static const struct {
    const char *ctype, *bytes, *format;
    size_t n;
} kinds[WRITERS] = {{"image/jpeg", "\xff\xd8\xff\xe0zz", "jpeg", 6},
                    {"image/png", "\x89PNG\r\n\x1a\nabcd", "png", 12}};
static atomic_bool writing;

static void *writer(void *arg) {
    int k = (int)(intptr_t)arg, ok = 0;
    for (int i = 0; i < PER_WRITER; i++) {
        it_resp_t r = put_raw("shared", kinds[k].ctype, kinds[k].bytes, kinds[k].n);
        ok += r.status == 200;
        it_resp_free(&r);
    }
    return (void *)(intptr_t)ok;
}

/* Reads the frame as JSON while the writers write: returns how many reads
 * showed a frame, each checked to be one upload's bytes, size and format. */
static void *reader(void *arg) {
    (void)arg;
    const char *hs[] = {"Accept: application/json", NULL};
    int seen = 0;
    while (atomic_load(&writing)) {
        it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/shared/image", hs, NULL, 0);
        if (r.status == 200) {
            cJSON *j = it_body_json(&r);
            const char *b64 = it_json_str(j, "data");
            size_t n = 0;
            unsigned char *bytes = core_b64_decode(b64, strlen(b64), &n);
            assert_non_null(bytes);
            int k = n == kinds[1].n; /* which writer's bytes */
            assert_int_equal(n, kinds[k].n);
            assert_memory_equal(bytes, kinds[k].bytes, n);
            free(bytes);
            assert_int_equal((int)it_json_num(j, "size"), (int)n);
            assert_string_equal(it_json_str(j, "format"), kinds[k].format);
            cJSON_Delete(j);
            seen++;
        }
        it_resp_free(&r);
    }
    return (void *)(intptr_t)seen;
}

static void upload_key_seen(const char *key, void *unused) {
    (void)unused;
    fail_msg("an upload key was left behind: %s", key);
}

static void concurrent_writers_count_exactly(void **state) {
    (void)state;
    create("shared");
    pthread_t t[WRITERS], rd;
    atomic_store(&writing, true);
    pthread_create(&rd, NULL, reader, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
    int acknowledged = 0;
    for (int i = 0; i < WRITERS; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        acknowledged += (int)(intptr_t)ok;
    }
    atomic_store(&writing, false);
    void *seen;
    pthread_join(rd, &seen);
    assert_true((intptr_t)seen > 0);
    assert_int_equal(acknowledged, WRITERS * PER_WRITER);
    it_resp_t r = it_http(&it_fx.svc, "GET", "/clients/shared", NULL, NULL, 0);
    cJSON *j = it_body_json(&r);
    assert_int_equal((int)it_json_num(j, "frame_number"), WRITERS * PER_WRITER);
    cJSON_Delete(j);
    it_resp_free(&r);
    r = it_http(&it_fx.svc, "GET", "/redis/stats", NULL, NULL, 0);
    j = it_body_json(&r);
    assert_int_equal((int)it_json_num(cJSON_GetObjectItem(j, "app"), "total_frames"),
                     WRITERS * PER_WRITER);
    cJSON_Delete(j);
    it_resp_free(&r);
    /* each upload's own key (store/images.c) is gone once it is the frame */
    assert_int_equal(chk_each_key("*upload:{*", upload_key_seen, NULL), 0);
    redisReply *fn = image_field("shared", "frame_number");
    assert_string_equal(fn->str, "100");
    freeReplyObject(fn);
}

int main(void) {
    it_fixture_env = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(raw_upload_is_stored_binary_safe, it_flush),
        cmocka_unit_test_setup(large_frames_byte_for_byte, it_flush),
        cmocka_unit_test_setup(frames_count_up_and_replace, it_flush),
        cmocka_unit_test_setup(etag_and_not_modified, it_flush),
        cmocka_unit_test_setup(json_upload_and_download, it_flush),
        cmocka_unit_test_setup(accept_negotiation, it_flush),
        cmocka_unit_test_setup(bad_uploads_store_nothing, it_flush),
        cmocka_unit_test_setup(over_the_limit_is_413, it_flush),
        cmocka_unit_test_setup(unknown_client_and_missing_frame, it_flush),
        cmocka_unit_test_setup(head_has_headers_no_body, it_flush),
        cmocka_unit_test_setup(concurrent_writers_count_exactly, it_flush),
    };
    return cmocka_run_group_tests_name("integration: images", tests, it_group_setup,
                                       it_group_teardown);
}
