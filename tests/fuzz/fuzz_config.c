/*
 * libFuzzer: configuration from the command line (core/config.c).
 *
 * Proves that config_load, fed any argument vector (any flags, values, '='
 * forms, missing values, --help/--version), either fills every setting within
 * its documented bounds or reports an error or an exit, never crashing, and
 * that config_free releases everything it allocated (LeakSanitizer checks).
 *
 * Input: NUL-separated arguments (at most 16), after argv[0].
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[18] = {"rtstate"};
    int argc = 1;
    for (char *p = buf; p < buf + size && argc < 17; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    config_t cfg;
    config_result_t res = config_load(&cfg, argc, argv, devnull, devnull);
    if (res == CONFIG_OK) {
        assert(cfg.port >= 1 && cfg.port <= 65535);
        assert(cfg.bind && cfg.redis_url && cfg.key_prefix && cfg.service_id);
        assert(strlen(cfg.key_prefix) <= 64 && strlen(cfg.service_id) <= 128);
        assert(cfg.redis_timeout_ms >= 10 && cfg.redis_timeout_ms <= 60000);
        assert(cfg.threads >= 0 && cfg.threads <= 1024);
        assert(cfg.presence_ttl_s >= 1);
        assert(cfg.max_image_bytes >= 1 && cfg.max_body_bytes >= 256);
    }
    config_free(&cfg);
    free(buf);
    return 0;
}
