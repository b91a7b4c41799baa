/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtual network's DHCP server (net/dhcp_server.h).
 * Input: a sequence of frames, each a 2-byte big-endian length then that
 * many bytes (a short last one is cut to what is left), all fed to one
 * server, the i-th at second i * 7 so leases expire along the way; then
 * the whole input once more as a single frame. Checks: no crash, replies
 * fit the buffer and look like ARP or IPv4/UDP frames from the server,
 * the lease table stays bounded, and a second run gives the same replies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dhcp_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static const uint8_t SRV_MAC[6] = {0x02, 0x6d, 0x71, 0x00, 0x05, 0x01};

static uint64_t run(const uint8_t *data, size_t size)
{
    struct mq_dhcp_server_config c = {
        .net = 0x0a000500u, .mask = 0xffffff00u, .server_ip = 0x0a000501u,
        .router = 0x0a000502u, .dns = 0x0a000503u,
        .pool_start = 0x0a00050au, .pool_end = 0x0a000520u, .lease_secs = 60,
    };
    static uint8_t out[MQ_DHCP_SERVER_REPLY_MAX + 16];
    struct mq_dhcp_server *s;
    uint64_t digest = 1469598103934665603ull;
    size_t off = 0;
    uint64_t t = 0;
    int n;

    memcpy(c.server_mac, SRV_MAC, 6);
    s = mq_dhcp_server_new(&c);
    if (!s)
        return 0;
    while (off < size) {
        size_t len = off + 2 <= size ? (size_t)data[off] << 8 | data[off + 1] : 0;

        off += 2;
        if (off > size)
            break;
        if (len > size - off)
            len = size - off;
        n = mq_dhcp_server_input(s, data + off, len, t, out, sizeof(out));
        INVARIANT(n >= -22 && n <= (int)MQ_DHCP_SERVER_REPLY_MAX);
        if (n > 0) {
            INVARIANT(n >= 42 && memcmp(out + 6, SRV_MAC, 6) == 0);
            INVARIANT((out[12] == 0x08 && (out[13] == 0x00 || out[13] == 0x06)));
            for (int i = 0; i < n; i++)
                digest = (digest ^ out[i]) * 1099511628211ull;
        }
        INVARIANT(mq_dhcp_server_lease_count(s, t) <= 0x20 - 0x0a + 1);
        off += len;
        t += 7;
    }
    n = mq_dhcp_server_input(s, data, size, t, out, sizeof(out));
    INVARIANT(n >= -22 && n <= (int)MQ_DHCP_SERVER_REPLY_MAX);
    mq_dhcp_server_free(s);
    return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    INVARIANT(run(data, size) == run(data, size));
    return 0;
}
