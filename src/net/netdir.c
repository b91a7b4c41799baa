/* SPDX-License-Identifier: MIT */
/* The runtime directory of virtual networks and the switch handshake (net/netdir.h). */
#include "net/netdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/net_spec.h"

/* One level we own: create it (0700) if asked, then insist it is ours and private. */
static int own_dir(const char *path, bool create, char *err, size_t errlen)
{
    struct stat st;

    if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        mq_net_errf(err, errlen, "net: cannot create %s: %s", path, strerror(e));
        return -e;
    }
    if (lstat(path, &st) < 0) {
        int e = errno;
        if (e != ENOENT || create)
            mq_net_errf(err, errlen, "net: %s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISDIR(st.st_mode)) {
        mq_net_errf(err, errlen, "net: %s is not a directory (a symbolic link?): refusing it",
                    path);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        mq_net_errf(err, errlen, "net: %s belongs to user %u, not to you (%u): refusing it",
                    path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (st.st_mode & 077) {
        mq_net_errf(err, errlen, "net: %s is open to other users (mode %03o; want 0700): "
                    "refusing it", path, (unsigned)(st.st_mode & 0777));
        return -EPERM;
    }
    return 0;
}

int mq_netdir_get(char *dir, size_t len, bool create, char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n, ret;

    if (xdg && xdg[0] == '/') {
        n = snprintf(dir, len, "%s/maquina", xdg);
    } else {
        n = snprintf(dir, len, "/tmp/maquina-%u", (unsigned)geteuid());
    }
    if (n < 0 || (size_t)n + 5 > len) {
        mq_net_errf(err, errlen, "net: the runtime directory path is too long");
        return -ENAMETOOLONG;
    }
    ret = own_dir(dir, create, err, errlen);
    if (ret)
        return ret;
    strcat(dir, "/net");
    return own_dir(dir, create, err, errlen);
}

int mq_netdir_file(const char *dir, const char *name, const char *suffix, char *buf,
                   size_t len, char *err, size_t errlen)
{
    size_t max = MQ_MIN(len, sizeof(((struct sockaddr_un *)0)->sun_path));
    int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);

    if (n < 0 || (size_t)n >= max) {
        mq_net_errf(err, errlen, "net: %s/%s%s is longer than a socket path may be (%zu); "
                    "set XDG_RUNTIME_DIR to a shorter directory", dir, name, suffix, max - 1);
        return -ENAMETOOLONG;
    }
    return 0;
}

int mq_netdir_connect(const char *name, const char *verb, int *fd, char *reply,
                      size_t rlen, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 5};
    char dir[256], msg[64];
    ssize_t n;
    int s, ret;

    *fd = -1;
    ret = mq_netdir_get(dir, sizeof(dir), false, err, errlen);
    if (ret == -ENOENT) {
        mq_net_errf(err, errlen, "net: no network '%s' (create it with: maquina net create %s)",
                    name, name);
        return -ENOENT;
    }
    if (ret)
        return ret;
    ret = mq_netdir_file(dir, name, ".sock", sa.sun_path, sizeof(sa.sun_path), err, errlen);
    if (ret)
        return ret;
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "net: socket: %s", strerror(errno));
        return ret;
    }
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        if (ret == -ENOENT)
            mq_net_errf(err, errlen, "net: no network '%s' (create it with: maquina net "
                        "create %s)", name, name);
        else if (ret == -ECONNREFUSED)
            mq_net_errf(err, errlen, "net: network '%s' has no switch process (a stale entry; "
                        "'maquina net list' cleans it up)", name);
        else
            mq_net_errf(err, errlen, "net: %s: connect: %s", sa.sun_path, strerror(-ret));
        goto fail;
    }
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    snprintf(msg, sizeof(msg), "%s %s", MQ_NETDIR_MAGIC, verb);
    if (send(s, msg, strlen(msg), MSG_NOSIGNAL) < 0 ||
        (n = recv(s, reply, rlen - 1, 0)) < 0) {
        ret = -errno;
        mq_net_errf(err, errlen, "net: network '%s' does not answer: %s", name, strerror(-ret));
        goto fail;
    }
    reply[n] = '\0';
    if (strncmp(reply, MQ_NETDIR_MAGIC " ok", 8) != 0) {
        mq_net_errf(err, errlen, "net: network '%s' refused '%s': %.200s", name, verb,
                    n ? reply : "(connection closed)");
        ret = -EPROTO;
        goto fail;
    }
    tv.tv_sec = 0;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *fd = s;
    return 0;
fail:
    close(s);
    return ret;
}

bool mq_netdir_kv(const char *text, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t n = strcspn(v, "\n");

            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}
