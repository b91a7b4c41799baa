/* SPDX-License-Identifier: MIT */
/* Unit tests for the --net specification parser (net/net_spec.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_spec.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__,         \
                    __LINE__, cur_spec, #cond);                                \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static const char *cur_spec = "";

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct mq_net_spec spec;
static char err[256];

static int parse(const char *s)
{
    cur_spec = s;
    return mq_net_spec_parse(s, &spec, err, sizeof(err));
}

static void good(const char *s)
{
    if (parse(s) != 0) {
        fprintf(stderr, "FAIL: '%s' refused: %s\n", s, err);
        failures++;
    }
}

static void bad(const char *s, const char *want)
{
    int ret = parse(s);

    if (ret != -EINVAL) {
        fprintf(stderr, "FAIL: '%s' accepted (ret %d), expected error containing '%s'\n",
                s, ret, want);
        failures++;
        return;
    }
    if (!strstr(err, want) || strncmp(err, "--net", 5) != 0 || strchr(err, '\n')) {
        fprintf(stderr, "FAIL: '%s': error '%s' lacks '%s'\n", s, err, want);
        failures++;
    }
}

static void test_defaults(void)
{
    struct mq_net_user_spec *u = &spec.u.user;

    good("user");
    CHECK(spec.kind == MQ_NET_KIND_USER);
    CHECK(u->net == IP(10, 0, 2, 0));
    CHECK(u->mask == IP(255, 255, 255, 0));
    CHECK(u->host == IP(10, 0, 2, 2));
    CHECK(u->dns == IP(10, 0, 2, 3));
    CHECK(u->dhcp_start == IP(10, 0, 2, 15));
    CHECK(!u->restricted);
    CHECK(u->ipv6);
    CHECK(u->hostname[0] == '\0');
    CHECK(u->n_hostfwd == 0);
}

static void test_hostfwd(void)
{
    struct mq_net_user_spec *u = &spec.u.user;

    good("user,hostfwd=tcp:127.0.0.1:2222-:22");
    CHECK(u->n_hostfwd == 1);
    CHECK(!u->hostfwd[0].udp);
    CHECK(u->hostfwd[0].host_addr == IP(127, 0, 0, 1));
    CHECK(u->hostfwd[0].host_port == 2222);
    CHECK(u->hostfwd[0].guest_addr == IP(10, 0, 2, 15));
    CHECK(u->hostfwd[0].guest_port == 22);
    CHECK(strcmp(u->hostfwd[0].text, "hostfwd=tcp:127.0.0.1:2222-:22") == 0);

    /* No HOSTADDR: loopback, not every interface as in QEMU. */
    good("user,hostfwd=tcp::8080-10.0.2.20:80,hostfwd=udp::5353-:53");
    CHECK(u->n_hostfwd == 2);
    CHECK(u->hostfwd[0].host_addr == IP(127, 0, 0, 1));
    CHECK(u->hostfwd[0].guest_addr == IP(10, 0, 2, 20));
    CHECK(u->hostfwd[1].udp);
    CHECK(u->hostfwd[1].host_port == 5353);
    CHECK(u->hostfwd[1].guest_port == 53);

    /* An empty protocol is tcp (QEMU); explicit 0.0.0.0 is the user's choice. */
    good("user,hostfwd=:0.0.0.0:65535-:1");
    CHECK(!u->hostfwd[0].udp && u->hostfwd[0].host_addr == 0);
    CHECK(u->hostfwd[0].host_port == 65535 && u->hostfwd[0].guest_port == 1);

    /* Same port, different protocols or addresses: fine. */
    good("user,hostfwd=tcp::2222-:22,hostfwd=udp::2222-:22,hostfwd=tcp:127.0.0.2:2222-:22");
    CHECK(u->n_hostfwd == 3);

    /* Guest default follows dhcpstart, even when given after the rule. */
    good("user,hostfwd=tcp::2222-:22,net=192.168.76.0/24,dhcpstart=192.168.76.9");
    CHECK(u->hostfwd[0].guest_addr == IP(192, 168, 76, 9));

    bad("user,hostfwd=tcp:127.0.0.1:99999-:22",
        "--net user: hostfwd=tcp:127.0.0.1:99999-:22: host port 99999 is not 1-65535");
    bad("user,hostfwd=tcp::0-:22", "host port 0 is not 1-65535");
    bad("user,hostfwd=tcp::22-:0", "guest port 0 is not 1-65535");
    bad("user,hostfwd=tcp::22-:65536", "guest port 65536 is not 1-65535");
    bad("user,hostfwd=tcp::99999999999999999999-:22", "is not 1-65535");
    bad("user,hostfwd=tcp::-:22", "host port is missing");
    bad("user,hostfwd=tcp::22-:", "guest port is missing");
    bad("user,hostfwd=tcp::ssh-:22", "host port 'ssh' is not a number");
    bad("user,hostfwd=tcp::+22-:22", "is not a number");
    bad("user,hostfwd=sctp::22-:22", "protocol 'sctp' is not tcp or udp");
    bad("user,hostfwd=tcp:localhost:22-:22", "host address 'localhost' is not an IPv4");
    bad("user,hostfwd=tcp:1.2.3:22-:22", "host address");
    bad("user,hostfwd=tcp:1.2.3.256:22-:22", "host address");
    bad("user,hostfwd=tcp:1.2.3.4.5:22-:22", "host address");
    bad("user,hostfwd=tcp:1..3.4:22-:22", "host address");
    bad("user,hostfwd=tcp::22-10.0.3.15:22", "guest address 10.0.3.15 is not a host address");
    bad("user,hostfwd=tcp::22-10.0.2.255:22", "is not a host address");
    bad("user,hostfwd=tcp::22-10.0.2.0:22", "is not a host address");
    bad("user,hostfwd=tcp::22-10.0.2.2:22", "is the host or dns address");
    bad("user,hostfwd=tcp::22-x:22", "guest address 'x'");
    bad("user,hostfwd=tcp::2222", "expected hostfwd=tcp|udp:");
    bad("user,hostfwd=tcp:2222-:22", "expected hostfwd=tcp|udp:");
    bad("user,hostfwd=", "expected hostfwd=tcp|udp:");
    bad("user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23",
        "tcp host port 2222 is already forwarded by hostfwd=tcp::2222-:22");
    bad("user,hostfwd=tcp:0.0.0.0:2222-:22,hostfwd=tcp::2222-:23", "already forwarded");
    bad("user,hostfwd=tcp::2222-:0000000000000000000000000000000000000000000000000000000000022",
        "longer than");
}

static void test_net(void)
{
    struct mq_net_user_spec *u = &spec.u.user;

    good("user,net=192.168.76.0/24");
    CHECK(u->net == IP(192, 168, 76, 0) && u->mask == IP(255, 255, 255, 0));
    CHECK(u->host == IP(192, 168, 76, 2));
    CHECK(u->dns == IP(192, 168, 76, 3));
    CHECK(u->dhcp_start == IP(192, 168, 76, 15));

    good("user,net=172.16.0.0/255.255.0.0,host=172.16.1.1,dns=172.16.1.1,dhcpstart=172.16.9.9");
    CHECK(u->mask == IP(255, 255, 0, 0));
    CHECK(u->host == IP(172, 16, 1, 1) && u->dns == IP(172, 16, 1, 1));
    CHECK(u->dhcp_start == IP(172, 16, 9, 9));

    good("user,net=10.0.0.0/8");
    CHECK(u->host == IP(10, 0, 0, 2));

    bad("user,net=10.0.2.0", "give the prefix length");
    bad("user,net=10.0.2.1/24", "host bits set (did you mean 10.0.2.0/24?)");
    bad("user,net=10.0.2.0/31", "prefix length 31 is not 1-30");
    bad("user,net=10.0.2.0/0", "is not 1-30");
    bad("user,net=10.0.2.0/255.0.255.0", "not a contiguous");
    bad("user,net=10.0.2.0/x", "neither a prefix length nor a netmask");
    bad("user,net=foo/24", "'foo' is not an IPv4 address");
    bad("user,net=127.0.0.0/8", "overlaps");
    bad("user,net=0.0.0.0/1", "overlaps");
    bad("user,net=224.0.0.0/24", "overlaps");
    bad("user,net=10.0.2.0/28", "dhcpstart 10.0.2.15 is not a host address of 10.0.2.0/28");
    bad("user,net=10.0.2.0/24,net=10.0.3.0/24", "net is given twice");
    bad("user,host=10.0.3.2", "host 10.0.3.2 is not a host address of 10.0.2.0/24");
    bad("user,dns=10.0.2.255", "dns 10.0.2.255 is not a host address");
    bad("user,dhcpstart=10.0.2.2", "dhcpstart 10.0.2.2 is also the host or dns");
    bad("user,dhcpstart=10.0.2.3", "also the host or dns");
    bad("user,host=1", "'1' is not an IPv4 address");
}

static void test_flags(void)
{
    struct mq_net_user_spec *u = &spec.u.user;

    good("user,restrict=on,ipv6=off,hostname=vm-1.example");
    CHECK(u->restricted && !u->ipv6);
    CHECK(strcmp(u->hostname, "vm-1.example") == 0);
    good("user,restrict=off");
    CHECK(!u->restricted);
    good("user,restrict=yes");
    CHECK(u->restricted);

    bad("user,restrict=maybe", "expected restrict=on|off");
    bad("user,restrict", "'restrict': expected key=value");
    bad("user,restrict=on,restrict=off", "restrict is given twice");
    bad("user,hostname=", "a host name is");
    bad("user,hostname=-x", "a host name is");
    bad("user,hostname=a_b", "a host name is");
    good("user,hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 32: libslirp's limit */
    bad("user,hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a host name is 1-32");
    bad("user,foo=bar", "--net user: foo=bar: unknown option");
    bad("user,id=net0", "unknown option");
    bad("user,", "empty option");
    bad("user,x\n=\033[2J", "x?=?[2J: unknown option"); /* quoted text stays one line */
    bad("user,,restrict=on", "empty option");
}

static void test_kinds(void)
{
    good("switch=lan0");
    CHECK(spec.kind == MQ_NET_KIND_SWITCH);
    CHECK(strcmp(spec.u.sw.name, "lan0") == 0 && !spec.u.sw.has_mac);
    good("switch=lab_2.b,mac=52:54:00:AB:cd:01");
    CHECK(spec.u.sw.has_mac && spec.u.sw.mac[0] == 0x52 && spec.u.sw.mac[3] == 0xab &&
          spec.u.sw.mac[5] == 0x01);
    good("tap=tap0");
    CHECK(spec.kind == MQ_NET_KIND_TAP && strcmp(spec.u.tap.ifname, "tap0") == 0);

    bad("", "empty specification");
    bad("slirp", "unknown backend 'slirp'");
    bad("user=1", "unknown backend");
    bad("User", "unknown backend");
    bad("switch=", "a switch name is");
    bad("switch=../x", "a switch name is");
    bad("switch=a,mac=01:00:5e:00:00:01", "unicast MAC");
    bad("switch=a,mac=00:00:00:00:00:00", "unicast MAC");
    bad("switch=a,mac=52:54:00:12:34", "unicast MAC");
    bad("switch=a,mac=52:54:00:12:34:5g", "unicast MAC");
    bad("switch=a,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac is given twice");
    bad("switch=a,vlan=1", "unknown option");
    bad("tap=", "an interface name");
    bad("tap=a/b", "an interface name");
    bad("tap=0123456789abcdef", "an interface name");
    bad("tap=tap0,vhost=on", "tap takes no options");
}

static void test_limits(void)
{
    size_t n = MQ_NET_SPEC_MAX_LEN + 10;
    char *s = malloc(n + 1), *p;

    if (!s)
        abort();
    memset(s, 'a', n);
    s[n] = '\0';
    bad(s, "longer than 4096");

    /* 33 rules: one too many. */
    p = s;
    p += sprintf(p, "user");
    for (int i = 0; i < MQ_NET_MAX_HOSTFWD + 1; i++)
        p += sprintf(p, ",hostfwd=tcp::%d-:22", 10000 + i);
    bad(s, "more than 32 hostfwd rules");
    /* Exactly the limit is fine. */
    *strrchr(s, ',') = '\0';
    good(s);
    CHECK(spec.u.user.n_hostfwd == MQ_NET_MAX_HOSTFWD);
    free(s);

    /* Errors are cut to the buffer, never overrun; a NULL buffer is allowed. */
    {
        char small[8];
        memset(small, 'x', sizeof(small));
        CHECK(mq_net_spec_parse("nope", &spec, small, sizeof(small)) == -EINVAL);
        CHECK(small[7] == '\0');
        CHECK(mq_net_spec_parse("nope", &spec, NULL, 0) == -EINVAL);
    }
}

/* The error text the brief promises for a backend that is not written yet. */
static void test_create_not_yet(void)
{
    struct mq_net_backend *nb = (struct mq_net_backend *)&spec;

    char dir[] = "/tmp/net_spec_test.XXXXXX";

    /* An empty runtime directory: the network does not exist. (No tap here:
     * as root that would create a host interface.) */
    CHECK(mkdtemp(dir) != NULL);
    setenv("XDG_RUNTIME_DIR", dir, 1);
    cur_spec = "switch=lan0";
    CHECK(mq_net_backend_create("switch=lan0", &nb, err, sizeof(err)) == -ENOENT);
    CHECK(nb == NULL);
    CHECK(strstr(err, "maquina net create lan0") != NULL);
    rmdir(dir);
    cur_spec = "user,bogus=1";
    CHECK(mq_net_backend_create("user,bogus=1", &nb, err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "bogus") != NULL);
}

int main(void)
{
    test_defaults();
    test_hostfwd();
    test_net();
    test_flags();
    test_kinds();
    test_limits();
    test_create_not_yet();
    if (failures) {
        fprintf(stderr, "net_spec_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("net_spec_test: ok\n");
    return 0;
}
