/* SPDX-License-Identifier: MIT */
/* A one-request client of the control API (docs/api.md). */
#include "cli/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
