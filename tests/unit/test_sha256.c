/* SPDX-License-Identifier: MIT */
/* tests/unit/test_sha256.c - storage/sha256: the FIPS 180-4 / NIST example vectors, and the
 * same digest whatever the chunking of the input. */
#include "storage/sha256.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

static const char *hex_of(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
    struct storage_sha256 s;
    uint8_t d[SHA256_LEN];

    storage_sha256_init(&s);
    storage_sha256_update(&s, data, len);
    storage_sha256_final(&s, d);
    storage_sha256_hex(d, hex);
    return hex;
}

int main(void)
{
    char hex[SHA256_HEX_LEN + 1];
    static const struct {
        const char *msg, *want;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        ok(strcmp(hex_of(v[i].msg, strlen(v[i].msg), hex), v[i].want) == 0,
           "vector %zu (%zu bytes): %s", i, strlen(v[i].msg), hex);

    size_t n = 1000000;
    char *a = malloc(n);
    if (!a)
        return 1;
    memset(a, 'a', n);
    static const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    ok(strcmp(hex_of(a, n, hex), million) == 0, "a million 'a's in one update");

    static const size_t chunks[] = {1, 3, 7, 55, 56, 63, 64, 65, 127, 1000, 4099};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct storage_sha256 s;
        uint8_t d[SHA256_LEN];
        storage_sha256_init(&s);
        for (size_t off = 0; off < n; off += chunks[c])
            storage_sha256_update(&s, a + off, n - off < chunks[c] ? n - off : chunks[c]);
        storage_sha256_final(&s, d);
        storage_sha256_hex(d, hex);
        ok(strcmp(hex, million) == 0, "a million 'a's in chunks of %zu", chunks[c]);
    }
    /* lengths around the padding boundary: one update equals byte-by-byte updates */
    for (size_t len = 50; len <= 130; len++) {
        char one[SHA256_HEX_LEN + 1];
        struct storage_sha256 s;
        uint8_t d[SHA256_LEN];
        hex_of(a, len, one);
        storage_sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            storage_sha256_update(&s, a + i, 1);
        storage_sha256_final(&s, d);
        storage_sha256_hex(d, hex);
        if (strcmp(hex, one) != 0) {
            ok(0, "length %zu: byte-by-byte differs", len);
            break;
        }
        if (len == 130)
            ok(1, "lengths 50..130: byte-by-byte equals one update");
    }
    free(a);
    return done();
}
