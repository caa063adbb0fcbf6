/*
 * CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection) and the
 * Redis Cluster hash slot of a key, which is that CRC of the key's hash tag
 * (or of the whole key) modulo 16384.
 *
 * The hash-tag rule is Redis's: the first '{' in the key, then the first '}'
 * after it; when at least one byte lies between them, only those bytes are
 * hashed. "{user1000}.following" and "{user1000}.followers" share a slot;
 * "foo{}{bar}" hashes whole (the first pair is empty); "foo{{bar}}" hashes
 * "{bar".
 */
#ifndef CORE_CRC16_H
#define CORE_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define CORE_SLOTS 16384

/* CRC16-XMODEM of len bytes at buf ("123456789" gives 0x31C3). */
uint16_t core_crc16(const char *buf, size_t len);

/* The cluster hash slot (0 to CORE_SLOTS - 1) of the len-byte key, with
 * the hash-tag rule above: what CLUSTER KEYSLOT answers for it. */
int core_key_slot(const char *key, size_t len);

#endif
