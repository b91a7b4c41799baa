/* SPDX-License-Identifier: MIT */
/*
 * `maquina net`: virtual networks between VMs (docs/networking.md). A
 * network is a switch process (net/switchd.h) started detached by
 * `net create`, found through the per-user runtime directory
 * (net/netdir.h); VMs join with `--net switch=NAME`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "net/net_spec.h"
#include "net/netdir.h"
#include "net/switchd.h"

#define MAX_NETS 256
/* A number from a switch's status for JSON; a missing one (older switch) is 0. */
#define NUM(s) ((s)[0] ? (s) : "0")

struct netinfo {
    char name[MQ_NET_SWITCH_NAME_MAX + 1];
    char subnet[24], dhcp[4], nat[4], pid[16], ports[16], leases[16];
    char frames[24], full[24], bad[24];
};

static void net_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina net create NAME [--subnet ADDR/PREFIX] [--dhcp] [--nat]\n"
        "       maquina net list [--json]\n"
        "       maquina net delete NAME\n"
        "\n"
        "Virtual networks between VMs. A network is a learning Ethernet switch in a\n"
        "process of its own (no root needed); VMs join it with --net switch=NAME\n"
        "(maquina run). Networks live in $XDG_RUNTIME_DIR/maquina/net (else in\n"
        "/tmp/maquina-$UID/net) and end with 'net delete' or a reboot.\n"
        "\n"
        "create NAME           start network NAME (1-63 letters, digits, '-', '_', '.')\n"
        "  --subnet A.B.C.D/P  its IPv4 subnet, prefix 8 to 27 (default: the first free\n"
        "                      10.0.N.0/24, N >= 5). The DHCP server is .1, the NAT\n"
        "                      gateway .2 and its DNS forwarder .3; leases from .10.\n"
        "  --dhcp              answer DHCP on the network (leases by MAC address)\n"
        "  --nat               an uplink to the host through libslirp: VMs reach the\n"
        "                      host's 127.0.0.1 at .2 and the outside through NAT.\n"
        "                      Without --dhcp, libslirp's DHCP serves (from .15).\n"
        "list                  networks: name, subnet, dhcp, nat, pid, VM ports\n"
        "  --json              the same as a JSON array\n"
        "delete NAME           stop network NAME (connected VMs keep retrying)\n"
        "-h, --help            this help\n"
        "\n"
        "Examples:\n"
        "  maquina net create lan0 --subnet 10.0.5.0/24 --dhcp\n"
        "  maquina run --kernel Image --initrd initrd.gz --net switch=lan0,mac=52:54:00:00:05:01\n"
        "  maquina net list\n"
        "  maquina net delete lan0\n");
}

/* The runtime directory, locked (flock) against concurrent create/delete/list. */
static int lock_dir(char *dir, size_t len, bool create, int *lockfd)
{
    char err[512], path[512];
    int ret = mq_netdir_get(dir, len, create, err, sizeof(err));

    *lockfd = -1;
    if (ret) {
        if (ret != -ENOENT || create)
            mq_cli_error("net", "%s", strncmp(err, "net: ", 5) ? err : err + 5);
        return ret;
    }
    snprintf(path, sizeof(path), "%s/.lock", dir);
    *lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*lockfd < 0 || flock(*lockfd, LOCK_EX) < 0) {
        mq_cli_error("net", "%s: %s", path, strerror(errno));
        if (*lockfd >= 0)
            close(*lockfd);
        return -EIO;
    }
    return 0;
}

static void unlock_dir(int lockfd)
{
    if (lockfd >= 0) {
        flock(lockfd, LOCK_UN);
        close(lockfd);
    }
}

static void remove_files(const char *dir, const char *name)
{
    static const char *const suffixes[] = {".sock", ".state", ".log"};
    char path[512];

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffixes[i]);
        unlink(path);
    }
}

/* 0: live (info filled); -ECONNREFUSED/-ENOENT: stale or absent; other -errno. */
static int query(const char *name, struct netinfo *ni, char *err, size_t errlen)
{
    char reply[MQ_NETDIR_MSG_MAX];
    int fd, ret = mq_netdir_connect(name, "status", &fd, reply, sizeof(reply), err, errlen);

    if (ret)
        return ret;
    close(fd);
    memset(ni, 0, sizeof(*ni));
    snprintf(ni->name, sizeof(ni->name), "%s", name);
    mq_netdir_kv(reply, "subnet", ni->subnet, sizeof(ni->subnet));
    mq_netdir_kv(reply, "dhcp", ni->dhcp, sizeof(ni->dhcp));
    mq_netdir_kv(reply, "nat", ni->nat, sizeof(ni->nat));
    mq_netdir_kv(reply, "pid", ni->pid, sizeof(ni->pid));
    mq_netdir_kv(reply, "ports", ni->ports, sizeof(ni->ports));
    mq_netdir_kv(reply, "leases", ni->leases, sizeof(ni->leases));
    mq_netdir_kv(reply, "frames", ni->frames, sizeof(ni->frames));
    mq_netdir_kv(reply, "dropped_queue_full", ni->full, sizeof(ni->full));
    mq_netdir_kv(reply, "dropped_malformed", ni->bad, sizeof(ni->bad));
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct netinfo *)a)->name, ((const struct netinfo *)b)->name);
}

/* Live networks into nets (sorted); stale entries are removed. Dir locked by the caller. */
static int collect(const char *dir, struct netinfo *nets, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0, ret;

    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max) {
        char name[MQ_NET_SWITCH_NAME_MAX + 8], err[512];
        char *dot = strrchr(e->d_name, '.');

        if (!dot || (size_t)(dot - e->d_name) >= sizeof(name))
            continue;
        memcpy(name, e->d_name, (size_t)(dot - e->d_name));
        name[dot - e->d_name] = '\0';
        if (!mq_net_switch_name_valid(name))
            continue;
        if (!strcmp(dot, ".state")) {
            /* A state file without its socket: the process died after unlinking it. */
            char path[512];

            snprintf(path, sizeof(path), "%s/%s.sock", dir, name);
            if (access(path, F_OK) != 0 && errno == ENOENT)
                remove_files(dir, name);
            continue;
        }
        if (strcmp(dot, ".sock") != 0)
            continue;
        ret = query(name, &nets[n], err, sizeof(err));
        if (ret == 0) {
            n++;
        } else if (ret == -ECONNREFUSED) {
            /* No process behind the socket. */
            struct stat st;
            char path[512];

            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
                remove_files(dir, name);
                fprintf(stderr, "maquina: net: removed stale network %s (its switch process "
                        "is gone)\n", name);
            }
        }
    }
    closedir(d);
    qsort(nets, (size_t)n, sizeof(*nets), cmp_name);
    return n;
}

/* ---- create ---- */

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    char c = (char)sig;
    ssize_t r = write(stop_pipe[1], &c, 1);

    (void)r;
}

/* The detached switch process: never returns. */
static void child_main(struct mq_switchd_config *cfg, int lockfd, const char *log_path)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    char err[512];
    int fd;

    close(lockfd);
    setsid();
    /* Do not keep the caller's directory busy. */
    if (chdir("/") < 0)
        _exit(1);
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        close(fd);
    }
    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        cfg->stop_fd = stop_pipe[0];
    }
    _exit(mq_switchd_run(cfg, err, sizeof(err)) ? 1 : 0);
}

/* Wait for the child's "ok" (or its error line) on the ready pipe. */
static int wait_ready(int rfd, pid_t pid, char *msg, size_t len)
{
    struct pollfd p = {.fd = rfd, .events = POLLIN};
    size_t got = 0;

    msg[0] = '\0';
    while (got + 1 < len && poll(&p, 1, 15000) > 0) {
        ssize_t n = read(rfd, msg + got, len - 1 - got);

        if (n <= 0)
            break;
        got += (size_t)n;
        msg[got] = '\0';
        if (strchr(msg, '\n'))
            break;
    }
    msg[strcspn(msg, "\n")] = '\0';
    if (!strcmp(msg, "ok"))
        return 0;
    if (!msg[0]) {
        kill(pid, SIGKILL);
        snprintf(msg, len, "the switch process did not start");
    }
    waitpid(pid, NULL, 0);
    return -1;
}

/* The first 10.0.N.0/24, N >= 5, no live network uses. */
static void default_subnet(const struct netinfo *nets, int n, char *out, size_t len)
{
    for (int k = 5; k < 255; k++) {
        bool used = false;

        snprintf(out, len, "10.0.%d.0/24", k);
        for (int i = 0; i < n && !used; i++)
            used = !strcmp(nets[i].subnet, out);
        if (!used)
            return;
    }
}

static int spawn(struct mq_switchd_config *cfg, int lockfd, const char *log_path)
{
    char msg[600];
    int rp[2];
    pid_t pid;

    if (pipe2(rp, O_CLOEXEC) < 0) {
        mq_cli_error("net", "create %s: pipe: %s", cfg->name, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        mq_cli_error("net", "create %s: fork: %s", cfg->name, strerror(errno));
        close(rp[0]);
        close(rp[1]);
        return -1;
    }
    if (pid == 0) {
        close(rp[0]);
        cfg->ready_fd = rp[1];
        child_main(cfg, lockfd, log_path);
    }
    close(rp[1]);
    close(cfg->listen_fd);
    if (wait_ready(rp[0], pid, msg, sizeof(msg)) < 0) {
        close(rp[0]);
        mq_cli_error("net", "create %s: %s", cfg->name, msg);
        return -1;
    }
    close(rp[0]);
    return (int)pid;
}

static int net_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"subnet", required_argument, NULL, 's'},
        {"dhcp", no_argument, NULL, 'd'},
        {"nat", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct mq_switchd_config cfg;
    static struct netinfo nets[MAX_NETS];
    const char *subnet = NULL;
    char dir[256], log_path[512], sub[24], err[512], a[16];
    struct netinfo ni;
    int c, n, lockfd, pid, ret = MQ_EXIT_USAGE;

    memset(&cfg, 0, sizeof(cfg));
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': net_usage(stdout); return 0;
        case 's': subnet = optarg; break;
        case 'd': cfg.dhcp = true; break;
        case 'n': cfg.nat = true; break;
        default:
            mq_cli_error("net", "create: %s '%s' (see 'maquina net --help')",
                         c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        mq_cli_error("net", "create: give one NAME (see 'maquina net --help')");
        return MQ_EXIT_USAGE;
    }
    if (!mq_net_switch_name_valid(argv[optind])) {
        mq_cli_error("net", "create %.80s: a network name is 1-%d letters, digits, '-', '_' "
                     "or '.', not starting with '.' or '-'", argv[optind],
                     MQ_NET_SWITCH_NAME_MAX);
        return MQ_EXIT_USAGE;
    }
    snprintf(cfg.name, sizeof(cfg.name), "%s", argv[optind]);
    if (lock_dir(dir, sizeof(dir), true, &lockfd))
        return MQ_EXIT_USAGE;
    n = collect(dir, nets, MAX_NETS);
    if (query(cfg.name, &ni, err, sizeof(err)) == 0) {
        mq_cli_error("net", "create %s: the network exists already (pid %s, subnet %s); "
                     "'maquina net delete %s' first", cfg.name, ni.pid, ni.subnet, cfg.name);
        goto out;
    }
    remove_files(dir, cfg.name); /* a stale entry, if any */
    if (!subnet) {
        default_subnet(nets, n, sub, sizeof(sub));
        subnet = sub;
    }
    if (mq_switchd_parse_subnet(subnet, &cfg.net, &cfg.mask, err, sizeof(err))) {
        mq_cli_error("net", "create %s: %s", cfg.name, err);
        goto out;
    }
    if (mq_netdir_file(dir, cfg.name, ".sock", cfg.sock_path, sizeof(cfg.sock_path), err,
                       sizeof(err)) ||
        mq_netdir_file(dir, cfg.name, ".state", cfg.state_path, sizeof(cfg.state_path), err,
                       sizeof(err)) ||
        mq_switchd_listen(cfg.sock_path, &cfg.listen_fd, err, sizeof(err))) {
        mq_cli_error("net", "create %s: %s", cfg.name, strncmp(err, "net: ", 5) ? err : err + 5);
        goto out;
    }
    snprintf(log_path, sizeof(log_path), "%s/%s.log", dir, cfg.name);
    cfg.stop_fd = -1;
    pid = spawn(&cfg, lockfd, log_path);
    if (pid < 0) {
        remove_files(dir, cfg.name);
        goto out;
    }
    printf("network %s created: subnet %s/%d, dhcp %s, nat %s, pid %d\n", cfg.name,
           mq_net_ipv4_str(cfg.net, a), __builtin_popcount(cfg.mask), cfg.dhcp ? "on" : "off",
           cfg.nat ? "on" : "off", pid);
    ret = 0;
out:
    unlock_dir(lockfd);
    return ret;
}

/* ---- list, delete ---- */

static int net_list(int argc, char **argv)
{
    static struct netinfo nets[MAX_NETS];
    bool json = false;
    char dir[256];
    int lockfd, n;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            net_usage(stdout);
            return 0;
        } else {
            mq_cli_error("net", "list: unknown option '%s' (see 'maquina net --help')", argv[i]);
            return MQ_EXIT_USAGE;
        }
    }
    n = lock_dir(dir, sizeof(dir), false, &lockfd);
    if (n && n != -ENOENT)
        return MQ_EXIT_USAGE;
    n = n ? 0 : collect(dir, nets, MAX_NETS);
    unlock_dir(lockfd);
    if (json) {
        printf("[");
        for (int i = 0; i < n; i++)
            printf("%s\n  {\"name\": \"%s\", \"subnet\": \"%s\", \"dhcp\": %s, \"nat\": %s, "
                   "\"pid\": %s, \"ports\": %s, \"leases\": %s, \"frames\": %s, "
                   "\"dropped_queue_full\": %s, \"dropped_malformed\": %s}", i ? "," : "",
                   nets[i].name, nets[i].subnet, !strcmp(nets[i].dhcp, "on") ? "true" : "false",
                   !strcmp(nets[i].nat, "on") ? "true" : "false", NUM(nets[i].pid),
                   NUM(nets[i].ports), NUM(nets[i].leases), NUM(nets[i].frames), NUM(nets[i].full),
                   NUM(nets[i].bad));
        printf("%s]\n", n ? "\n" : "");
        return 0;
    }
    printf("%-16s %-18s %-5s %-5s %-8s %s\n", "NAME", "SUBNET", "DHCP", "NAT", "PID", "PORTS");
    for (int i = 0; i < n; i++)
        printf("%-16s %-18s %-5s %-5s %-8s %s\n", nets[i].name, nets[i].subnet, nets[i].dhcp,
               nets[i].nat, nets[i].pid, nets[i].ports);
    return 0;
}

static bool gone(const char *name, pid_t pid)
{
    struct netinfo ni;
    char err[512];

    return query(name, &ni, err, sizeof(err)) != 0 && (pid <= 0 || kill(pid, 0) < 0);
}

static int net_delete(int argc, char **argv)
{
    struct netinfo ni;
    char dir[256], err[512], reply[MQ_NETDIR_MSG_MAX];
    const char *name;
    int lockfd, fd, ret;
    pid_t pid;

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        net_usage(stdout);
        return 0;
    }
    if (argc != 2 || !mq_net_switch_name_valid(argv[1])) {
        mq_cli_error("net", "delete: give one network NAME (see 'maquina net --help')");
        return MQ_EXIT_USAGE;
    }
    name = argv[1];
    ret = lock_dir(dir, sizeof(dir), false, &lockfd);
    if (ret == -ENOENT) {
        mq_cli_error("net", "delete %s: no such network", name);
        return MQ_EXIT_USAGE;
    }
    if (ret)
        return MQ_EXIT_USAGE;
    ret = query(name, &ni, err, sizeof(err));
    if (ret == -ECONNREFUSED) {
        remove_files(dir, name);
        printf("network %s: removed a stale entry (its switch process was gone)\n", name);
        unlock_dir(lockfd);
        return 0;
    }
    if (ret) {
        mq_cli_error("net", "delete %s: %s", name, ret == -ENOENT ? "no such network" : err);
        unlock_dir(lockfd);
        return MQ_EXIT_USAGE;
    }
    pid = (pid_t)atoi(ni.pid);
    if (mq_netdir_connect(name, "stop", &fd, reply, sizeof(reply), err, sizeof(err)) == 0)
        close(fd);
    for (int i = 0; i < 50 && !gone(name, pid); i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    if (!gone(name, pid) && pid > 0) {
        /* pid came from the network's own socket: it is the switch process. */
        kill(pid, SIGKILL);
        remove_files(dir, name);
    }
    /* The log goes with the network. */
    snprintf(reply, sizeof(reply), "%s/%s.log", dir, name);
    unlink(reply);
    unlock_dir(lockfd);
    printf("network %s deleted (%s VM port%s were connected)\n", name, ni.ports,
           strcmp(ni.ports, "1") ? "s" : "");
    return 0;
}

int mq_cmd_net(int argc, char **argv)
{
    if (argc < 2) {
        net_usage(stderr);
        return MQ_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        net_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "create"))
        return net_create(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls"))
        return net_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "delete") || !strcmp(argv[1], "rm"))
        return net_delete(argc - 1, argv + 1);
    mq_cli_error("net", "unknown subcommand '%s' (create, list or delete; see 'maquina net "
                 "--help')", argv[1]);
    return MQ_EXIT_USAGE;
}
