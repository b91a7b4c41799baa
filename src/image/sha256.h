/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), streaming, for the checksums of export archives.
 * Not constant-time; integrity checking only. Thread-safe on distinct
 * contexts.
 */
#ifndef MQ_IMAGE_SHA256_H
#define MQ_IMAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define MQ_SHA256_LEN 32

struct mq_sha256 {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;
};

MQ_PUBLIC void mq_sha256_init(struct mq_sha256 *s);
MQ_PUBLIC void mq_sha256_update(struct mq_sha256 *s, const void *data, size_t len);
MQ_PUBLIC void mq_sha256_final(struct mq_sha256 *s, uint8_t out[MQ_SHA256_LEN]);
/* Lowercase hex of a digest into out (65 bytes). */
MQ_PUBLIC void mq_sha256_hex(const uint8_t d[MQ_SHA256_LEN], char out[65]);

#endif
