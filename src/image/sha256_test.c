/* SPDX-License-Identifier: MIT */
/* SHA-256 against the FIPS 180-4 / NIST example vectors, fed in odd pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/sha256.h"

static int check(const char *msg, size_t repeat, const char *want)
{
    struct mq_sha256 s;
    uint8_t d[MQ_SHA256_LEN];
    char hex[65];
    size_t len = strlen(msg);

    mq_sha256_init(&s);
    for (size_t r = 0; r < repeat; r++) {
        /* Uneven pieces exercise the partial-block path. */
        for (size_t off = 0; off < len;) {
            size_t n = (off * 7 + r) % 13 + 1;

            n = n > len - off ? len - off : n;
            mq_sha256_update(&s, msg + off, n);
            off += n;
        }
    }
    mq_sha256_final(&s, d);
    mq_sha256_hex(d, hex);
    if (strcmp(hex, want)) {
        printf("FAIL sha256(\"%.20s\" x%zu) = %s, want %s\n", msg, repeat, hex, want);
        return 1;
    }
    return 0;
}

int main(void)
{
    int fails = 0;

    fails += check("", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fails += check("abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fails += check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
                   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    fails += check("a", 1000000,
                   "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    if (!fails)
        printf("sha256: 4 vectors ok\n");
    return fails ? EXIT_FAILURE : EXIT_SUCCESS;
}
