/* SHA-256 through OpenSSL's EVP interface; see digest.h. */
#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void core_sha256(const char *const *strings, const void *tail, size_t tail_len,
                 unsigned char out[CORE_SHA256_LEN]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (const char *const *s = strings; s && *s; s++)
        EVP_DigestUpdate(ctx, *s, strlen(*s) + 1);
    if (tail && tail_len)
        EVP_DigestUpdate(ctx, tail, tail_len);
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    memcpy(out, md, CORE_SHA256_LEN);
}

void core_sha256_hex(const char *const *strings, const void *tail, size_t tail_len,
                     char out[2 * CORE_SHA256_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[CORE_SHA256_LEN];
    core_sha256(strings, tail, tail_len, md);
    for (int i = 0; i < CORE_SHA256_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * CORE_SHA256_LEN] = '\0';
}
