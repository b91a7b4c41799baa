/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the --net specification parser (net/net_spec.h; option
 * syntax after QEMU's -netdev user). Input: the specification text (cut at
 * the first NUL). Checks: no crash, a result or a one-line "--net" error,
 * invariants of an accepted user spec, and byte-equal results on replay.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static bool usable(const struct mq_net_user_spec *u, uint32_t a)
{
    return (a & u->mask) == u->net && a != u->net && a != (u->net | ~u->mask);
}

static void check_user(const struct mq_net_user_spec *u)
{
    INVARIANT((u->net & ~u->mask) == 0);
    INVARIANT(usable(u, u->host) && usable(u, u->dns) && usable(u, u->dhcp_start));
    INVARIANT(u->dhcp_start != u->host && u->dhcp_start != u->dns);
    INVARIANT(strlen(u->hostname) <= MQ_NET_HOSTNAME_MAX);
    INVARIANT(u->n_hostfwd <= MQ_NET_MAX_HOSTFWD);
    for (unsigned i = 0; i < u->n_hostfwd; i++) {
        const struct mq_net_hostfwd *fw = &u->hostfwd[i];

        INVARIANT(fw->host_port != 0 && fw->guest_port != 0);
        INVARIANT(usable(u, fw->guest_addr));
        INVARIANT(strncmp(fw->text, "hostfwd=", 8) == 0);
        INVARIANT(strlen(fw->text) <= MQ_NET_HOSTFWD_TEXT_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Fixed-size results: static to keep the fuzzer's stack small. */
    static struct mq_net_spec a, b;
    char *spec = malloc(size + 1);
    char err_a[256], err_b[256];
    int ra, rb;

    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';

    ra = mq_net_spec_parse(spec, &a, err_a, sizeof(err_a));
    rb = mq_net_spec_parse(spec, &b, err_b, sizeof(err_b));
    INVARIANT(ra == rb);
    INVARIANT(ra == 0 || ra == -22 /* EINVAL */);
    if (ra == 0) {
        INVARIANT(memcmp(&a, &b, sizeof(a)) == 0);
        if (a.kind == MQ_NET_KIND_USER)
            check_user(&a.u.user);
        else if (a.kind == MQ_NET_KIND_SWITCH)
            INVARIANT(a.u.sw.name[0] != '\0');
        else
            INVARIANT(a.kind == MQ_NET_KIND_TAP && a.u.tap.ifname[0] != '\0');
    } else {
        INVARIANT(strcmp(err_a, err_b) == 0);
        INVARIANT(strncmp(err_a, "--net", 5) == 0);
        INVARIANT(strchr(err_a, '\n') == NULL);
    }
    free(spec);
    return 0;
}
