/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the raw backend and format detection in blockdev.c.
 * Spec: flat images; qcow2 magic per QEMU docs/interop/qcow2.txt "Header".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "util/log.h"

static int failures;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static char dir[] = "/tmp/mq-raw-test-XXXXXX";

static char *path_in_dir(const char *name)
{
    static char buf[4][256];
    static int n;
    char *p = buf[n++ & 3];

    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void make_file(const char *path, size_t size, int byte)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(size);

    memset(buf, byte, size);
    if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
        abort(); /* test setup, not file contents */
    close(fd);
    free(buf);
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v)
            return false;
    }
    return true;
}

static void test_rw(void)
{
    char err[256];
    struct mq_blockdev *bd;
    uint8_t buf[8192];
    const char *p = path_in_dir("a.raw");

    make_file(p, 1 << 20, 0x11);
    CHECK(mq_blockdev_open(p, NULL, 0, &bd, err, sizeof(err)) == 0);
    CHECK(strcmp(bd->ops->format, "raw") == 0);
    CHECK(bd->size == 1 << 20);
    memset(buf, 0x22, sizeof(buf));
    CHECK(mq_blockdev_pwrite(bd, buf, 5000, 1000) == 0);
    CHECK(mq_blockdev_pread(bd, buf, sizeof(buf), 0) == 0);
    CHECK(all(buf, 1000, 0x11) && all(buf + 1000, 5000, 0x22) && all(buf + 6000, 2192, 0x11));
    /* Past the end: -EINVAL, never a short transfer. */
    CHECK(mq_blockdev_pread(bd, buf, 2, (1 << 20) - 1) == -EINVAL);
    CHECK(mq_blockdev_pwrite(bd, buf, 1, 1 << 20) == -EINVAL);
    CHECK(mq_blockdev_pread(bd, buf, 1, UINT64_MAX) == -EINVAL);
    /* Discard and write_zeroes read back as zeroes, with and without unmap. */
    CHECK(mq_blockdev_discard(bd, 4096, 8192) == 0);
    CHECK(mq_blockdev_pread(bd, buf, 8192, 4096) == 0 && all(buf, 8192, 0));
    CHECK(mq_blockdev_write_zeroes(bd, 100, 50, false) == 0);
    CHECK(mq_blockdev_write_zeroes(bd, 200000, 70000, true) == 0);
    CHECK(mq_blockdev_pread(bd, buf, 50, 100) == 0 && all(buf, 50, 0));
    CHECK(mq_blockdev_pread(bd, buf, 8192, 200000) == 0 && all(buf, 8192, 0));
    CHECK(mq_blockdev_pread(bd, buf, 1, 270000) == 0 && buf[0] == 0x11);
    CHECK(mq_blockdev_flush(bd) == 0);
    mq_blockdev_close(bd);
}

static void test_readonly(void)
{
    char err[256];
    struct mq_blockdev *bd;
    uint8_t b = 0;
    const char *p = path_in_dir("a.raw");

    CHECK(mq_blockdev_open(p, "raw", MQ_BLOCKDEV_RDONLY, &bd, err, sizeof(err)) == 0);
    CHECK(bd->read_only);
    CHECK(mq_blockdev_pwrite(bd, &b, 1, 0) == -EROFS);
    CHECK(mq_blockdev_discard(bd, 0, 512) == -EROFS);
    CHECK(mq_blockdev_write_zeroes(bd, 0, 512, true) == -EROFS);
    CHECK(mq_blockdev_pread(bd, &b, 1, 0) == 0 && b == 0x11);
    mq_blockdev_close(bd);
}

static void test_detection(void)
{
    char err[256] = "";
    struct mq_blockdev *bd;
    uint8_t magic[4];
    const char *q = path_in_dir("d.qcow2");

    CHECK(mq_qcow2_create(q, 1 << 20, NULL, err, sizeof(err)) == 0);
    CHECK(mq_blockdev_open(q, NULL, MQ_BLOCKDEV_RDONLY, &bd, err, sizeof(err)) == 0);
    CHECK(strcmp(bd->ops->format, "qcow2") == 0 && bd->size == 1 << 20);
    mq_blockdev_close(bd);
    /* Explicit raw wins over detection (with a warning): the guest sees the header. */
    CHECK(mq_blockdev_open(q, "raw", MQ_BLOCKDEV_RDONLY, &bd, err, sizeof(err)) == 0);
    CHECK(strcmp(bd->ops->format, "raw") == 0);
    CHECK(mq_blockdev_pread(bd, magic, 4, 0) == 0 && memcmp(magic, "QFI\xfb", 4) == 0);
    mq_blockdev_close(bd);
    /* A raw file opened as qcow2 fails with the reason. */
    CHECK(mq_blockdev_open(path_in_dir("a.raw"), "qcow2", MQ_BLOCKDEV_RDONLY, &bd, err,
                           sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "magic") != NULL);
    CHECK(mq_blockdev_open(q, "vmdk", 0, &bd, err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "vmdk") != NULL);
    CHECK(mq_blockdev_open(path_in_dir("missing"), NULL, 0, &bd, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "missing") != NULL);
    /* An empty file is raw of size 0. */
    make_file(path_in_dir("empty"), 0, 0);
    CHECK(mq_blockdev_open(path_in_dir("empty"), NULL, 0, &bd, err, sizeof(err)) == 0);
    CHECK(bd->size == 0 && strcmp(bd->ops->format, "raw") == 0);
    mq_blockdev_close(bd);
    mq_blockdev_close(NULL);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    if (!mkdtemp(dir))
        return 1;
    test_rw();
    test_readonly();
    test_detection();
    if (system(NULL)) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", dir);
    }
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
