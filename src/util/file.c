/* SPDX-License-Identifier: MIT */
/* Whole-file reads with clear errors. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mq_read_file(const char *path, uint64_t max_len, uint8_t **data, size_t *len,
                 char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t done = 0;
    int fd, ret;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return ret;
    }
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        ret = -EISDIR;
        snprintf(err, errlen, "%s: is a directory", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        snprintf(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > max_len) {
        ret = -EFBIG;
        snprintf(err, errlen, "%s: file of %lld bytes is larger than %llu bytes", path,
                 (long long)st.st_size, (unsigned long long)max_len);
        goto fail;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        ret = -ENOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            snprintf(err, errlen, "%s: read failed: %s", path,
                     n < 0 ? strerror(errno) : "file shrank while reading");
            goto fail;
        }
        done += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = done;
    return 0;
fail:
    free(buf);
    close(fd);
    return ret;
}
