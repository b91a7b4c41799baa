/* SPDX-License-Identifier: MIT */
/* A one-request client of the control API (docs/api.md). */
#include "cli/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

/* Replies are small; a status or stats reply is a few KiB. */
#define REPLY_MAX (1u << 20)

static int connect_to(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot reach the VM at %s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Bytes received and not yet consumed as lines. */
struct line_reader {
    int fd;
    size_t npending;
    char pending[4096];
};

/* Read one newline-terminated line into a malloc'ed string. */
static int read_line(struct line_reader *lr, char **out, uint64_t deadline_ns, char *err,
                     size_t errlen)
{
    char *pending = lr->pending;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        char *nl;
        if (lr->npending) {
            nl = memchr(pending, '\n', lr->npending);
            size_t take = nl ? (size_t)(nl - pending) + 1 : lr->npending;
            if (len + take + 1 > cap) {
                char *nb;
                cap = (len + take + 1) * 2;
                if (cap > REPLY_MAX || !(nb = realloc(buf, cap))) {
                    free(buf);
                    snprintf(err, errlen, "reply from the VM too long");
                    return -EMSGSIZE;
                }
                buf = nb;
            }
            memcpy(buf + len, pending, take);
            len += take;
            memmove(pending, pending + take, lr->npending - take);
            lr->npending -= take;
            if (nl) {
                buf[len - 1] = 0;
                *out = buf;
                return 0;
            }
        }
        uint64_t now = mq_clock_monotonic_ns();
        struct pollfd p = {.fd = lr->fd, .events = POLLIN};
        int left = now >= deadline_ns ? 0 : (int)((deadline_ns - now) / 1000000) + 1;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            snprintf(err, errlen, "the VM did not answer in time");
            return -ETIMEDOUT;
        }
        ssize_t n = recv(lr->fd, pending, sizeof(lr->pending), 0);
        if (n <= 0) {
            free(buf);
            snprintf(err, errlen, "the VM closed the connection");
            return -ECONNRESET;
        }
        lr->npending = (size_t)n;
    }
}

static int parse_reply(const char *line, json_object **result, char *code, size_t codelen,
                       char *err, size_t errlen)
{
    json_object *root = json_tokener_parse(line), *ok, *res, *e, *msg, *c;

    if (!root || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "ok", &ok)) {
        json_object_put(root);
        snprintf(err, errlen, "the VM sent a reply that is not JSON");
        return -EPROTO;
    }
    if (json_object_get_boolean(ok)) {
        *result = json_object_object_get_ex(root, "result", &res) ? json_object_get(res) : NULL;
        json_object_put(root);
        return 0;
    }
    if (json_object_object_get_ex(root, "error", &e) &&
        json_object_object_get_ex(e, "message", &msg))
        snprintf(err, errlen, "%s", json_object_get_string(msg));
    else
        snprintf(err, errlen, "the VM refused the request");
    if (code)
        snprintf(code, codelen, "%s",
                 json_object_object_get_ex(e, "code", &c) ? json_object_get_string(c) : "failed");
    json_object_put(root);
    return -EREMOTEIO;
}

int mq_ctl_request(const char *socket_path, const char *cmd, json_object *args,
                   int timeout_ms, json_object **result, char *code, size_t codelen,
                   char *err, size_t errlen)
{
    uint64_t deadline = mq_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    json_object *req = json_object_new_object();
    const char *text;
    int fd, ret;

    *result = NULL;
    if (code && codelen)
        code[0] = 0;
    if (!req)
        return -ENOMEM;
    json_object_object_add(req, "id", json_object_new_int(1));
    json_object_object_add(req, "cmd", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "args", json_object_get(args));
    fd = connect_to(socket_path, err, errlen);
    if (fd < 0) {
        json_object_put(req);
        return fd;
    }
    text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    ret = send_all(fd, text, strlen(text));
    if (!ret)
        ret = send_all(fd, "\n", 1);
    json_object_put(req);
    if (ret) {
        snprintf(err, errlen, "cannot send to the VM: %s", strerror(-ret));
        close(fd);
        return ret;
    }
    struct line_reader lr = {.fd = fd};
    for (;;) {
        char *line;
        ret = read_line(&lr, &line, deadline, err, errlen);
        if (ret)
            break;
        /* Events may come before the reply: they carry "event", not "ok". */
        if (strstr(line, "\"event\"") && !strstr(line, "\"ok\"")) {
            free(line);
            continue;
        }
        ret = parse_reply(line, result, code, codelen, err, errlen);
        free(line);
        break;
    }
    close(fd);
    return ret;
}

/* ---- helpers shared by the lifecycle commands ---- */

int mq_ctl_find(const char *target, struct mq_vm_entry *e, char *err, size_t errlen)
{
    size_t n = strlen(target);

    if (n > 3 && !strcmp(target + n - 3, ".vm")) {
        int ret = mq_vm_registry_find_path(target, e, err, errlen);
        if (ret == -ENOENT)
            snprintf(err, errlen, "%s is not running (see 'maquina list')", target);
        return ret;
    }
    return mq_vm_registry_find(target, e, err, errlen);
}

int mq_ctl_runtime_path(const char *name, const char *suffix, char *buf, size_t len,
                        char *err, size_t errlen)
{
    char dir[4096];
    int ret = mq_vm_registry_dir(dir, sizeof(dir), err, errlen);

    if (ret)
        return ret;
    if (!mq_vm_name_ok(name)) {
        snprintf(err, errlen, "'%s' is not a legal VM name", name);
        return -EINVAL;
    }
    if (snprintf(buf, len, "%s/%s%s", dir, name, suffix) >= (int)len) {
        snprintf(err, errlen, "path of %s%s too long", name, suffix);
        return -ENAMETOOLONG;
    }
    return 0;
}

int mq_ctl_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Dead, or a zombie nobody reaped yet. */
static bool pid_gone(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;

    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
    fclose(f);
    return p && (p[2] == 'Z' || p[2] == 'X');
}

bool mq_ctl_wait_pid_gone(pid_t pid, int pidfd, int timeout_ms)
{
    uint64_t deadline = mq_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;

    for (;;) {
        uint64_t now = mq_clock_monotonic_ns();
        if (pid_gone(pid))
            return true;
        if (now >= deadline)
            return false;
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            uint64_t left = (deadline - now) / 1000000ull + 1;
            if (poll(&p, 1, left > 200 ? 200 : (int)left) == 1)
                return true;
        } else {
            usleep(50000);
        }
    }
}

void mq_ctl_format_size(uint64_t bytes, char *buf, size_t len)
{
    if (bytes && bytes % (1ull << 30) == 0)
        snprintf(buf, len, "%lluG", (unsigned long long)(bytes >> 30));
    else if (bytes % (1ull << 20) == 0)
        snprintf(buf, len, "%lluM", (unsigned long long)(bytes >> 20));
    else
        snprintf(buf, len, "%lluK", (unsigned long long)(bytes >> 10));
}

void mq_ctl_format_duration(uint64_t sec, char *buf, size_t len)
{
    unsigned long long d = sec / 86400, h = sec / 3600 % 24, m = sec / 60 % 60, s = sec % 60;

    if (d)
        snprintf(buf, len, "%llud %02llu:%02llu:%02llu", d, h, m, s);
    else
        snprintf(buf, len, "%llu:%02llu:%02llu", h, m, s);
}

void mq_ctl_print_tail(const char *title, const char *path, size_t max)
{
    char buf[4096], *line, *save = NULL;
    FILE *f = fopen(path, "r");
    long size;
    size_t n;

    if (!f)
        return;
    if (max >= sizeof(buf))
        max = sizeof(buf) - 1;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > (long)max)
        fseek(f, size - (long)max, SEEK_SET);
    else
        fseek(f, 0, SEEK_SET);
    n = fread(buf, 1, max, f);
    fclose(f);
    buf[n] = 0;
    if (!n)
        return;
    fprintf(stderr, "%s (%s):\n", title, path);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[l - 1] = 0;
        fprintf(stderr, "  | %s\n", line);
    }
}
