/* SPDX-License-Identifier: MIT */
/* storage/sha256.h - SHA-256 (FIPS 180-4) for image blob digests. Pure computation: no I/O, no
 * allocation, no globals, never fails. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN     32 /* bytes of a digest */
#define SHA256_HEX_LEN 64 /* hex digits of a digest */

struct storage_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t buf[64];
    size_t buf_len;
};

/* Start a digest. */
void storage_sha256_init(struct storage_sha256 *s);
/* Hash LEN more bytes of DATA (any chunking gives the same digest). */
void storage_sha256_update(struct storage_sha256 *s, const void *data, size_t len);
/* Finish: write the SHA256_LEN byte digest to OUT. S must be initialised again before reuse. */
void storage_sha256_final(struct storage_sha256 *s, uint8_t out[SHA256_LEN]);
/* Write the digest as SHA256_HEX_LEN lower-case hex digits and a NUL to HEX. */
void storage_sha256_hex(const uint8_t digest[SHA256_LEN], char hex[SHA256_HEX_LEN + 1]);
