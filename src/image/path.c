/* SPDX-License-Identifier: MIT */
/*
 * Path handling for the files a .vm names: extra disks relative to the
 * .vm's directory, absolute boot images, and the qcow2 backing file name
 * (QEMU docs/interop/qcow2.txt, header bytes 8..19).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_int.h"
#include "util/le.h"

void mq_image_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int mq_image_realpath(const char *path, char **out)
{
    *out = realpath(path, NULL);
    return *out ? 0 : -errno;
}

int mq_image_dir_of(const char *path, char **out)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int ret;

    if (!slash)
        return mq_image_realpath(".", out);
    if (slash == path)
        return mq_image_realpath("/", out);
    dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -ENOMEM;
    ret = mq_image_realpath(dir, out);
    free(dir);
    return ret;
}

int mq_image_disk_store_path(const char *user_path, const char *vm_dir, char **out)
{
    size_t n = strlen(vm_dir);
    char *abs;
    int ret;

    ret = mq_image_realpath(user_path, &abs);
    if (ret)
        return ret;
    /* Below the .vm's directory: keep it relative so the pair can move. */
    if (!strncmp(abs, vm_dir, n) && (abs[n] == '/' || (n == 1 && vm_dir[0] == '/'))) {
        *out = strdup(abs + (n == 1 ? 1 : n + 1));
        free(abs);
        return *out ? 0 : -ENOMEM;
    }
    *out = abs;
    return 0;
}

int mq_image_join(const char *vm_dir, const char *stored, char **out)
{
    if (stored[0] == '/')
        *out = strdup(stored);
    else if (asprintf(out, "%s/%s", vm_dir, stored) < 0)
        *out = NULL;
    return *out ? 0 : -ENOMEM;
}

int mq_image_detect_format(const char *path, const char **format)
{
    unsigned char magic[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = pread(fd, magic, sizeof(magic), 0);
    close(fd);
    if (n < 0)
        return -errno;
    *format = n == 4 && !memcmp(magic, "QFI\xfb", 4) ? "qcow2" : "raw";
    return 0;
}

bool mq_image_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;

    if (!s || !isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return false;
    switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'K': mult = 1ull << 10; break;
    case 'M': mult = 1ull << 20; break;
    case 'G': mult = 1ull << 30; break;
    case 'T': mult = 1ull << 40; break;
    default: return false;
    }
    if (*end) {
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return false;
    }
    if (v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

int mq_image_qcow2_backing_name(const char *path, char **out)
{
    uint8_t hdr[20];
    uint64_t off;
    uint32_t len;
    char *name;
    int fd, ret = 0;
    ssize_t n;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = pread(fd, hdr, sizeof(hdr), 0);
    if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, "QFI\xfb", 4)) {
        ret = n < 0 ? -errno : -EINVAL;
        goto out;
    }
    off = mq_get_be64(hdr + 8);
    len = mq_get_be32(hdr + 16);
    /* The spec bounds the name to 1023 bytes inside the first cluster. */
    if (!off || !len)
        goto out;
    if (len > 1023 || off > (2u << 20)) {
        ret = -EINVAL;
        goto out;
    }
    name = calloc(1, len + 1);
    if (!name) {
        ret = -ENOMEM;
        goto out;
    }
    n = pread(fd, name, len, (off_t)off);
    if (n != (ssize_t)len || memchr(name, 0, len)) {
        free(name);
        ret = n < 0 ? -errno : -EINVAL;
        goto out;
    }
    *out = name;
out:
    close(fd);
    return ret;
}

bool mq_image_is_zero(const void *p, size_t len)
{
    const unsigned char *b = p;

    /* Compare the buffer with itself shifted by one: one pass, libc speed. */
    return !len || (b[0] == 0 && !memcmp(b, b + 1, len - 1));
}
