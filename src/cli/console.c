/* SPDX-License-Identifier: MIT */
/*
 * `maquina console`: attach the terminal to the serial console of a VM
 * started with `maquina start` (its NAME.console socket), in raw mode with
 * the Ctrl-A escape keys of `maquina run` plus Ctrl-A d to detach.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"
#include "util/clock.h"

#define CTRL_A 0x01
#define DRAIN_MS 500

static struct termios saved;
static volatile sig_atomic_t raw_on;

static void console_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina console NAME|NAME.vm\n"
        "\n"
        "Attach this terminal to the serial console of a VM started with 'maquina\n"
        "start'. The terminal is put in raw mode; keys go to the guest except after\n"
        "Ctrl-A:\n"
        "  Ctrl-A d    detach (the VM runs on; attach again any time)\n"
        "  Ctrl-A x    stop the VM at once (like 'maquina stop NAME --force')\n"
        "  Ctrl-A h    help\n"
        "  Ctrl-A a    send Ctrl-A to the guest\n"
        "One terminal at a time is attached; what the guest prints meanwhile is in\n"
        "the console log ('maquina list' shows where).\n"
        "\n"
        "Example: maquina console web\n");
}

static void restore(void)
{
    if (raw_on) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        raw_on = 0;
    }
}

static void on_fatal(int sig)
{
    restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void enter_raw(void)
{
    struct termios raw;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0)
        return;
    raw = saved;
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    atexit(restore);
    signal(SIGTERM, on_fatal);
    signal(SIGHUP, on_fatal);
    signal(SIGSEGV, on_fatal);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
        raw_on = 1;
}

static void say(const char *msg)
{
    ssize_t r = write(STDERR_FILENO, msg, strlen(msg));
    (void)r;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

enum key_action { KEY_GO_ON, KEY_DETACH, KEY_STOP };

/* Escape handling: copy what goes to the guest into out; what to do next. */
static enum key_action keys(const char *in, size_t n, char *out, size_t *outlen, bool *esc)
{
    *outlen = 0;
    for (size_t i = 0; i < n; i++) {
        char b = in[i];
        if (!*esc) {
            if (b == CTRL_A)
                *esc = true;
            else
                out[(*outlen)++] = b;
            continue;
        }
        *esc = false;
        switch (b) {
        case 'd': case 'D': return KEY_DETACH;
        case 'x': case 'X': return KEY_STOP;
        case 'h': case 'H': case '?':
            say("\nmaquina console escape keys (Ctrl-A, then):\n"
                "  d    detach (the VM runs on)\n"
                "  x    stop the VM at once\n"
                "  h    this help\n"
                "  a    send Ctrl-A to the guest\n");
            break;
        case 'a': case CTRL_A: out[(*outlen)++] = CTRL_A; break;
        default: break;
        }
    }
    return KEY_GO_ON;
}

static int connect_console(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "console socket path too long: %.300s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    snprintf(err, errlen, "cannot reach the console at %.200s: %s (was the VM started with "
             "'maquina start'?)", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Copy between the terminal and the socket until detach, stop or the end of either. */
static enum key_action pump(int sock)
{
    char in[4096], out[4096];
    bool esc = false, stdin_open = true;
    uint64_t drain_until = 0;

    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                              {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
        ssize_t n;
        /* After the end of input, what the guest still says for a moment is shown. */
        int left = 0, r;
        if (!stdin_open) {
            uint64_t now = mq_clock_monotonic_ns();
            left = now >= drain_until ? 0 : (int)((drain_until - now) / 1000000u);
        }
        r = poll(p, 2, stdin_open ? -1 : left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (r == 0 && !stdin_open))
            return KEY_DETACH;
        if (p[0].revents) {
            n = recv(sock, in, sizeof(in), 0);
            if (n <= 0)
                return KEY_GO_ON; /* the VM ended or refused us */
            if (write_all(STDOUT_FILENO, in, (size_t)n) != 0)
                return KEY_DETACH;
        }
        if (p[1].revents) {
            size_t olen;
            enum key_action a;
            n = read(STDIN_FILENO, in, sizeof(in));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                stdin_open = false; /* end of input: detach soon, the VM runs on */
                drain_until = mq_clock_monotonic_ns() + DRAIN_MS * 1000000ull;
                continue;
            }
            a = keys(in, (size_t)n, out, &olen, &esc);
            if (olen && write_all(sock, out, olen) != 0)
                return KEY_GO_ON;
            if (a != KEY_GO_ON)
                return a;
        }
    }
}

int mq_cmd_console(int argc, char **argv)
{
    struct mq_vm_entry e;
    char err[512], code[64], path[4096], msg[256];
    enum key_action a;
    int sock;

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        console_usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        mq_cli_error("console", "expected one VM name (see 'maquina console --help')");
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_find(argv[1], &e, err, sizeof(err)) != 0 ||
        mq_ctl_runtime_path(e.name, ".console", path, sizeof(path), err, sizeof(err)) != 0 ||
        (sock = connect_console(path, err, sizeof(err))) < 0) {
        mq_cli_error("console", "%s", err);
        return MQ_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(msg, sizeof(msg), "maquina: attached to the console of %s (Ctrl-A d detaches, "
             "Ctrl-A h helps)\n", e.name);
    enter_raw();
    say(msg);
    a = pump(sock);
    close(sock);
    restore();
    if (a == KEY_STOP) {
        json_object *args = json_object_new_object(), *res = NULL;
        json_object_object_add(args, "force", json_object_new_boolean(true));
        if (mq_ctl_request(e.socket_path, "stop", args, 10000, &res, code, sizeof(code), err,
                           sizeof(err)) != 0) {
            json_object_put(args);
            mq_cli_error("console", "%s: stop: %s", e.name, err);
            return 1;
        }
        json_object_put(args);
        json_object_put(res);
        fprintf(stderr, "\nmaquina: %s stopped (Ctrl-A x)\n", e.name);
        return 0;
    }
    if (a == KEY_DETACH) {
        fprintf(stderr, "\nmaquina: detached from %s (it runs on; 'maquina console %s' "
                "attaches again)\n", e.name, e.name);
        return 0;
    }
    fprintf(stderr, "\nmaquina: the console of %s was closed (the VM ended, or another "
            "terminal is attached)\n", e.name);
    return 1;
}
