/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the .vm configuration record: defaults, encode/decode round
 * trip, refusals with their messages, key editing, identity generation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/vm_config.h"

static int fails;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                \
            fails++;                                                           \
        }                                                                      \
    } while (0)

static void base(struct mq_vm_config *c)
{
    mq_vm_config_init(c);
    c->name = strdup("t");
    strcpy(c->uuid, "00112233-4455-4677-8899-aabbccddeeff");
    c->created = 1700000000;
}

static void round_trip(void)
{
    struct mq_vm_config a, b;
    char *j1, *j2, err[256];
    size_t l1, l2;

    base(&a);
    a.harts = 3;
    a.memory = 3ull << 30;
    a.kernel = strdup("/boot/Image");
    a.cmdline = strdup("console=ttyS0 quiet");
    a.disks[0].path = strdup("data.raw");
    a.disks[0].format = strdup("raw");
    a.disks[0].read_only = true;
    a.disks[0].serial = strdup("S1");
    a.ndisks = 1;
    a.nics[0].net = strdup("user,hostfwd=tcp::2222-:22");
    CHECK(mq_vm_random_mac(a.nics[0].mac) == 0);
    CHECK((a.nics[0].mac[0] & 3) == 2);
    a.nnics = 1;
    CHECK(mq_vm_config_encode(&a, &j1, &l1, err, sizeof(err)) == 0);
    CHECK(strlen(j1) == l1 && !strchr(j1, '\n'));
    CHECK(mq_vm_config_decode(j1, l1, &b, err, sizeof(err)) == 0);
    CHECK(b.harts == 3 && b.memory == 3ull << 30 && b.ndisks == 1 && b.nnics == 1);
    CHECK(!memcmp(a.nics[0].mac, b.nics[0].mac, 6) && b.disks[0].read_only);
    CHECK(mq_vm_config_encode(&b, &j2, &l2, err, sizeof(err)) == 0);
    CHECK(l1 == l2 && !memcmp(j1, j2, l1));
    free(j1);
    free(j2);
    mq_vm_config_free(&a);
    mq_vm_config_free(&b);
}

static void refuse(const char *json, int want, const char *word)
{
    struct mq_vm_config c;
    char err[256] = "";
    int ret = mq_vm_config_decode(json, strlen(json), &c, err, sizeof(err));

    if (ret != want || !strstr(err, word)) {
        printf("FAIL decode %s: %d '%s' (want %d, '%s')\n", json, ret, err, want, word);
        fails++;
    }
    if (!ret)
        mq_vm_config_free(&c);
}

static void refusals(void)
{
    const char *head = "{\"version\":1,\"name\":\"t\",\"uuid\":"
                       "\"00112233-4455-4677-8899-aabbccddeeff\",\"created\":1,";
    char buf[512];

    refuse("{\"version\":2}", -EPROTONOSUPPORT, "newer");
    refuse("{}", -EINVAL, "version is missing");
    refuse("{\"version\":1", -EINVAL, "truncated");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":16777216}", head);
    refuse(buf, 0, "");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":16777217}", head);
    refuse(buf, -EINVAL, "memory");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":18446744073709551615}", head);
    refuse(buf, -EINVAL, "memory");
    snprintf(buf, sizeof(buf), "%s\"harts\":1.0,\"memory\":16777216}", head);
    refuse(buf, -EINVAL, "harts must be an integer");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":16777216,\"x\\n\":1}", head);
    refuse(buf, -EINVAL, "unknown key \"x?\"");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":16777216,\"boot\":{\"initrd\":\"/i\"}}",
             head);
    refuse(buf, -EINVAL, "without boot.kernel");
    snprintf(buf, sizeof(buf), "%s\"harts\":1,\"memory\":16777216} x", head);
    refuse(buf, -EINVAL, "not valid JSON");
}

static void editing(void)
{
    struct mq_vm_config c;
    char err[256], *v;

    base(&c);
    CHECK(mq_vm_config_set(&c, "memory=1536", "/tmp/x.vm", err, sizeof(err)) == 0);
    CHECK(c.memory == 1536ull << 20);
    CHECK(mq_vm_config_get(&c, "memory", &v, err, sizeof(err)) == 0 && !strcmp(v, "1536M"));
    free(v);
    CHECK(mq_vm_config_set(&c, "smp=0", "/tmp/x.vm", err, sizeof(err)) == -EINVAL);
    CHECK(mq_vm_config_set(&c, "net+=user", "/tmp/x.vm", err, sizeof(err)) == 0);
    CHECK(mq_vm_config_set(&c, "net+=bogus", "/tmp/x.vm", err, sizeof(err)) == -EINVAL);
    CHECK(c.nnics == 1);
    CHECK(mq_vm_config_set(&c, "net-=0", "/tmp/x.vm", err, sizeof(err)) == 0 && c.nnics == 0);
    CHECK(mq_vm_config_set(&c, "firmware=", "/tmp/x.vm", err, sizeof(err)) == -EINVAL);
    CHECK(mq_vm_config_set(&c, "name", "/tmp/x.vm", err, sizeof(err)) == -EINVAL);
    CHECK(mq_vm_config_get(&c, "nope", &v, err, sizeof(err)) == -ENOENT);
    CHECK(mq_vm_config_new_identity(&c) == 0 && strcmp(c.uuid, "00112233-4455-4677-8899-aabbccddeeff"));
    CHECK(c.uuid[14] == '4' && mq_vm_config_validate(&c, err, sizeof(err)) == 0);
    mq_vm_config_free(&c);
}

int main(void)
{
    round_trip();
    refusals();
    editing();
    if (!fails)
        printf("vm_config: ok\n");
    return fails ? EXIT_FAILURE : EXIT_SUCCESS;
}
