/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the qcow2 backend without qemu: data round trips against a
 * shadow buffer, COW, zero/discard, backing files, refcount table growth,
 * extensions, snapshots with machine state, header validation, dirty-image
 * repair. Spec: QEMU docs/interop/qcow2.txt.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "util/le.h"
#include "util/log.h"

static int failures;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static char dir[] = "/tmp/mq-qcow2-test-XXXXXX";
static char err[512];
static uint64_t rng_state = 0x1234567;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *tmp(const char *name)
{
    static char buf[8][256];
    static int n;
    char *p = buf[n++ & 7];

    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static struct mq_blockdev *open_ok(const char *path, unsigned flags)
{
    struct mq_blockdev *bd = NULL;
    int ret = mq_blockdev_open(path, NULL, flags, &bd, err, sizeof(err));

    if (ret < 0)
        fprintf(stderr, "open %s: %s\n", path, err);
    CHECK(ret == 0);
    return bd;
}

static void *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    off_t n = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;

    if (!buf || pread(fd, buf, (size_t)n, 0) != n)
        abort(); /* test setup */
    close(fd);
    *len = (size_t)n;
    return buf;
}

static void poke(const char *path, uint64_t off, const void *data, size_t len)
{
    int fd = open(path, O_RDWR);

    if (fd < 0 || pwrite(fd, data, len, (off_t)off) != (ssize_t)len)
        abort();
    close(fd);
}

static uint64_t peek64(const char *path, uint64_t off)
{
    uint8_t b[8];
    int fd = open(path, O_RDONLY);

    if (fd < 0 || pread(fd, b, 8, (off_t)off) != 8)
        abort();
    close(fd);
    return mq_get_be64(b);
}

static bool same_file(const void *a, size_t alen, const char *path)
{
    size_t blen;
    void *b = slurp(path, &blen);
    bool same = alen == blen && memcmp(a, b, alen) == 0;

    free(b);
    return same;
}

/* Random writes, discards and zeroes checked against a shadow buffer. */
static void random_ops(struct mq_blockdev *bd, uint8_t *shadow, unsigned nops, uint64_t unit)
{
    uint64_t size = bd->size;
    uint8_t *buf = malloc(4 * unit), *rd = malloc(size);

    for (unsigned i = 0; i < nops; i++) {
        uint64_t off = rng() % size, len = 1 + rng() % (3 * unit);
        unsigned kind = rng() % 10;
        if (rng() & 1) {
            off &= ~(unit - 1);
            len = (1 + rng() % 3) * unit;
        }
        if (len > size - off)
            len = size - off;
        if (kind < 7) {
            for (uint64_t j = 0; j < len; j++)
                buf[j] = (uint8_t)(rng() | 1);
            CHECK(mq_blockdev_pwrite(bd, buf, len, off) == 0);
            memcpy(shadow + off, buf, len);
        } else if (kind == 7) {
            CHECK(mq_blockdev_discard(bd, off, len) == 0);
            memset(shadow + off, 0, len);
        } else {
            CHECK(mq_blockdev_write_zeroes(bd, off, len, kind == 8) == 0);
            memset(shadow + off, 0, len);
        }
    }
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0);
    CHECK(memcmp(rd, shadow, size) == 0);
    free(buf);
    free(rd);
}

static void test_roundtrip(uint32_t cs)
{
    struct mq_qcow2_create_opts o = {.cluster_size = cs};
    uint64_t size = 8 << 20;
    uint8_t *shadow = calloc(1, size), *rd = malloc(size);
    struct mq_blockdev *bd;
    const char *p = tmp("rt.qcow2");

    CHECK(mq_qcow2_create(p, size, &o, err, sizeof(err)) == 0);
    bd = open_ok(p, 0);
    if (!bd)
        goto out;
    CHECK(strcmp(bd->ops->format, "qcow2") == 0 && bd->size == size);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0);
    CHECK(memcmp(rd, shadow, size) == 0);
    random_ops(bd, shadow, 300, cs);
    CHECK(mq_blockdev_pread(bd, rd, 1, size) == -EINVAL);
    CHECK(mq_blockdev_pwrite(bd, rd, 2, size - 1) == -EINVAL);
    mq_blockdev_close(bd);
    /* Everything is still there after reopening, read-only too. */
    bd = open_ok(p, MQ_BLOCKDEV_RDONLY);
    if (!bd)
        goto out;
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0);
    CHECK(memcmp(rd, shadow, size) == 0);
    CHECK(mq_blockdev_pwrite(bd, rd, 1, 0) == -EROFS);
    mq_blockdev_close(bd);
out:
    free(shadow);
    free(rd);
}

static void test_refcount_growth(void)
{
    struct mq_qcow2_create_opts o = {.cluster_size = 512};
    uint64_t size = 16 << 20;
    uint8_t *shadow = calloc(1, size);
    struct mq_blockdev *bd;
    const char *p = tmp("grow.qcow2");
    uint8_t hdr[60];
    size_t len;
    uint8_t *file;

    CHECK(mq_qcow2_create(p, size, &o, err, sizeof(err)) == 0);
    bd = open_ok(p, 0);
    if (!bd)
        goto out;
    /* 12 MiB of 512-byte clusters outgrows one refcount table cluster (8 MiB). */
    memset(shadow, 0x77, 12 << 20);
    CHECK(mq_blockdev_pwrite(bd, shadow, 12 << 20, 0) == 0);
    random_ops(bd, shadow, 100, 512);
    mq_blockdev_close(bd);
    file = slurp(p, &len);
    memcpy(hdr, file, sizeof(hdr));
    free(file);
    CHECK(mq_get_be32(hdr + 56) > 1);
    bd = open_ok(p, MQ_BLOCKDEV_RDONLY);
    if (bd) {
        uint8_t *rd = malloc(size);
        CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, shadow, size) == 0);
        free(rd);
        mq_blockdev_close(bd);
    }
out:
    free(shadow);
}

static void test_backing(void)
{
    struct mq_qcow2_create_opts o = {.backing_file = "base.raw", .backing_format = "raw"};
    uint64_t size = 4 << 20;
    uint8_t *base = malloc(size), *rd = malloc(size);
    struct mq_blockdev *bd;
    int fd;
    size_t blen;
    void *before;

    memset(base, 0x5a, size);
    fd = open(tmp("base.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, base, size) != (ssize_t)size)
        abort();
    close(fd);
    before = slurp(tmp("base.raw"), &blen);
    /* Size 0 takes the backing file's size. */
    CHECK(mq_qcow2_create(tmp("ovl.qcow2"), 0, &o, err, sizeof(err)) == 0);
    bd = open_ok(tmp("ovl.qcow2"), 0);
    if (!bd)
        goto out;
    CHECK(bd->size == size);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, base, size) == 0);
    /* Partial write: the rest of the cluster comes from the backing file. */
    CHECK(mq_blockdev_pwrite(bd, "hello", 5, 70000) == 0);
    memcpy(base + 70000, "hello", 5);
    CHECK(mq_blockdev_write_zeroes(bd, 1 << 20, 65536, true) == 0);
    memset(base + (1 << 20), 0, 65536);
    CHECK(mq_blockdev_discard(bd, 2 << 20, 100000) == 0);
    memset(base + (2 << 20), 0, 100000);
    random_ops(bd, base, 100, 65536);
    mq_blockdev_close(bd);
    CHECK(same_file(before, blen, tmp("base.raw")));
out:
    free(before);
    free(base);
    free(rd);
}

static void test_backing_loop(void)
{
    struct mq_qcow2_create_opts oa = {.backing_file = "loop_b.qcow2"};
    struct mq_qcow2_create_opts ob = {.backing_file = "loop_a.qcow2"};
    struct mq_blockdev *bd = NULL;

    CHECK(mq_qcow2_create(tmp("loop_a.qcow2"), 1 << 20, &oa, err, sizeof(err)) == 0);
    CHECK(mq_qcow2_create(tmp("loop_b.qcow2"), 1 << 20, &ob, err, sizeof(err)) == 0);
    CHECK(mq_blockdev_open(tmp("loop_a.qcow2"), NULL, 0, &bd, err, sizeof(err)) == -ELOOP);
    CHECK(strstr(err, "loop") != NULL);
    /* Without following backing files the image opens (read-only). */
    CHECK(mq_blockdev_open(tmp("loop_a.qcow2"), NULL, MQ_BLOCKDEV_NO_BACKING, &bd, err,
                           sizeof(err)) == 0);
    if (bd) {
        CHECK(bd->read_only);
        mq_blockdev_close(bd);
    }
}

static void test_extensions(void)
{
    const char cfg[] = "cpus=4";
    struct mq_qcow2_ext ext = {0x6d710001, cfg, sizeof(cfg)};
    struct mq_qcow2_create_opts o = {.exts = &ext, .n_exts = 1};
    struct mq_blockdev *bd;
    char buf[256], *big;
    size_t len = 0;

    CHECK(mq_qcow2_create(tmp("ext.qcow2"), 1 << 20, &o, err, sizeof(err)) == 0);
    bd = open_ok(tmp("ext.qcow2"), 0);
    if (!bd)
        return;
    CHECK(mq_qcow2_get_extension(bd, 0x6d710001, buf, sizeof(buf), &len) == 0);
    CHECK(len == sizeof(cfg) && memcmp(buf, cfg, len) == 0);
    CHECK(mq_qcow2_get_extension(bd, 0x6d710001, buf, 2, &len) == -ERANGE && len == sizeof(cfg));
    CHECK(mq_qcow2_get_extension(bd, 0x6d710009, buf, sizeof(buf), &len) == -ENOENT);
    CHECK(mq_qcow2_set_extension(bd, 0xe2792aca, "raw", 3) == -EINVAL);
    CHECK(mq_qcow2_set_extension(bd, 0, "x", 1) == -EINVAL);
    CHECK(mq_qcow2_set_extension(bd, 0x6d710002, "second", 6) == 0);
    CHECK(mq_qcow2_set_extension(bd, 0x6d710001, "cpus=8", 6) == 0);
    big = calloc(1, 1 << 17);
    CHECK(mq_qcow2_set_extension(bd, 0x6d710003, big, 1 << 17) == -EFBIG);
    free(big);
    CHECK(mq_blockdev_pwrite(bd, "data", 4, 0) == 0);
    mq_blockdev_close(bd);
    bd = open_ok(tmp("ext.qcow2"), 0);
    if (!bd)
        return;
    CHECK(mq_qcow2_get_extension(bd, 0x6d710001, buf, sizeof(buf), &len) == 0);
    CHECK(len == 6 && memcmp(buf, "cpus=8", 6) == 0);
    CHECK(mq_qcow2_get_extension(bd, 0x6d710002, buf, sizeof(buf), &len) == 0 && len == 6);
    CHECK(mq_qcow2_set_extension(bd, 0x6d710002, NULL, 0) == 0);
    CHECK(mq_qcow2_get_extension(bd, 0x6d710002, buf, sizeof(buf), &len) == -ENOENT);
    CHECK(mq_blockdev_pread(bd, buf, 4, 0) == 0 && memcmp(buf, "data", 4) == 0);
    mq_blockdev_close(bd);
    bd = open_ok(tmp("ext.qcow2"), MQ_BLOCKDEV_RDONLY);
    if (bd) {
        CHECK(mq_qcow2_set_extension(bd, 0x6d710004, "x", 1) == -EROFS);
        mq_blockdev_close(bd);
    }
}

static void test_snapshots(void)
{
    uint64_t size = 4 << 20, vmlen = 300001;
    uint8_t *disk0 = calloc(1, size), *disk1, *rd = malloc(size), *vm = malloc(vmlen);
    struct mq_qcow2_snapshot_info *info = NULL;
    struct mq_blockdev *bd;
    unsigned n = 0;
    const char *p = tmp("snap.qcow2");

    CHECK(mq_qcow2_create(p, size, NULL, err, sizeof(err)) == 0);
    bd = open_ok(p, 0);
    if (!bd)
        goto out;
    random_ops(bd, disk0, 100, 65536);
    for (uint64_t i = 0; i < vmlen; i++)
        vm[i] = (uint8_t)(i * 7 + (i >> 9));
    memset(vm + 65536, 0, 3 * 65536); /* zero clusters in the state are skipped */
    CHECK(mq_qcow2_snapshot_create_ex(bd, "one", vm, vmlen, 123456789) == 0);
    CHECK(mq_qcow2_snapshot_create(bd, "one", NULL, 0) == -EEXIST);
    CHECK(mq_qcow2_snapshot_create(bd, "", NULL, 0) == -EINVAL);
    disk1 = malloc(size);
    memcpy(disk1, disk0, size);
    random_ops(bd, disk1, 100, 65536);
    CHECK(mq_qcow2_snapshot_create(bd, "two", NULL, 0) == 0);
    CHECK(mq_qcow2_snapshot_list(bd, &info, &n) == 0);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(!strcmp(info[0].id, "1") && !strcmp(info[0].name, "one"));
        CHECK(info[0].vm_state_size == vmlen && info[0].disk_size == size);
        CHECK(info[0].vm_clock_ns == 123456789);
        CHECK(!strcmp(info[1].id, "2") && info[1].vm_state_size == 0);
    }
    mq_qcow2_snapshot_list_free(info, n);
    /* Machine state reads back whole and in pieces; past its end fails. */
    memset(rd, 0, vmlen);
    CHECK(mq_qcow2_snapshot_read_vmstate(bd, "one", rd, vmlen, 0) == 0);
    CHECK(memcmp(rd, vm, vmlen) == 0);
    CHECK(mq_qcow2_snapshot_read_vmstate(bd, "1", rd, 1000, 70000) == 0);
    CHECK(memcmp(rd, vm + 70000, 1000) == 0);
    CHECK(mq_qcow2_snapshot_read_vmstate(bd, "one", rd, 2, vmlen - 1) == -EINVAL);
    CHECK(mq_qcow2_snapshot_read_vmstate(bd, "nope", rd, 1, 0) == -ENOENT);
    /* The vmstate is not part of the disk. */
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, disk1, size) == 0);

    random_ops(bd, rd, 50, 65536);
    CHECK(mq_qcow2_snapshot_apply(bd, "one") == 0);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, disk0, size) == 0);
    /* Writes after apply must not leak into the snapshot (COW). */
    random_ops(bd, rd, 100, 65536);
    CHECK(mq_qcow2_snapshot_apply(bd, "one") == 0);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, disk0, size) == 0);
    CHECK(mq_qcow2_snapshot_apply(bd, "2") == 0);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, disk1, size) == 0);
    CHECK(mq_qcow2_snapshot_apply(bd, "three") == -ENOENT);
    CHECK(mq_qcow2_snapshot_delete(bd, "one") == 0);
    CHECK(mq_qcow2_snapshot_delete(bd, "one") == -ENOENT);
    CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, disk1, size) == 0);
    mq_blockdev_close(bd);

    bd = open_ok(p, MQ_BLOCKDEV_RDONLY);
    if (!bd)
        goto out;
    CHECK(mq_qcow2_snapshot_list(bd, &info, &n) == 0 && n == 1);
    mq_qcow2_snapshot_list_free(info, n);
    CHECK(mq_qcow2_snapshot_create(bd, "ro", NULL, 0) == -EROFS);
    CHECK(mq_qcow2_snapshot_delete(bd, "two") == -EROFS);
    mq_blockdev_close(bd);
    free(disk1);
out:
    free(disk0);
    free(rd);
    free(vm);
}

/* Each corruption gives a clear error naming the field and leaves the file alone. */
static void test_validation(void)
{
    struct {
        const char *name;
        uint64_t off;
        uint8_t len;
        uint64_t val;
        const char *word;
    } cases[] = {
        {"magic", 0, 4, 0x514649fc, "magic"},
        {"version", 4, 4, 7, "version"},
        {"cluster_bits", 20, 4, 30, "cluster_bits"},
        {"l1 offset", 40, 8, 1ull << 45, "l1_table_offset"},
        {"l1 over header", 40, 8, 512, "l1_table_offset"},
        {"rct offset", 48, 8, 1ull << 45, "refcount_table_offset"},
        {"rct over header", 48, 8, 0, "refcount_table_offset"},
        {"snapshots", 60, 4, 3, "snapshots_offset"},
        {"incompat", 72, 8, 1ull << 33, "incompatible"},
        {"refcount_order", 96, 4, 9, "refcount_order"},
        {"header_length", 100, 4, 100, "header_length"},
    };
    const char *good = tmp("valid.qcow2"), *bad = tmp("bad.qcow2");
    struct mq_blockdev *bd = NULL;

    CHECK(mq_qcow2_create(good, 1 << 20, NULL, err, sizeof(err)) == 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        uint8_t *img = slurp(good, &len), be[8];
        int fd;

        if (cases[i].len == 4)
            mq_put_be32(be, (uint32_t)cases[i].val);
        else
            mq_put_be64(be, cases[i].val);
        memcpy(img + cases[i].off, be, cases[i].len);
        fd = open(bad, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, img, len) != (ssize_t)len)
            abort();
        close(fd);
        err[0] = 0;
        CHECK(mq_blockdev_open(bad, "qcow2", 0, &bd, err, sizeof(err)) < 0);
        if (!strstr(err, cases[i].word) || strchr(err, '\n'))
            fprintf(stderr, "case %s: unclear error '%s'\n", cases[i].name, err);
        CHECK(strstr(err, cases[i].word) != NULL);
        CHECK(same_file(img, len, bad));
        free(img);
    }
}

static void test_dirty_repair(void)
{
    const char *p = tmp("dirty.qcow2");
    uint64_t size = 2 << 20, rct, blk;
    uint8_t *shadow = calloc(1, size), *rd = malloc(size), be[8];
    struct mq_blockdev *bd;

    CHECK(mq_qcow2_create(p, size, NULL, err, sizeof(err)) == 0);
    bd = open_ok(p, 0);
    if (!bd)
        goto out;
    random_ops(bd, shadow, 100, 65536);
    CHECK(mq_qcow2_snapshot_create(bd, "s", NULL, 0) == 0);
    random_ops(bd, shadow, 50, 65536);
    mq_blockdev_close(bd);
    /* Dirty bit plus a wrong refcount (cluster 5 claims 9 references). */
    mq_put_be64(be, 1);
    poke(p, 72, be, 8);
    rct = peek64(p, 48);
    blk = peek64(p, rct);
    poke(p, blk + 10, "\x00\x09", 2);
    /* Read-only works without touching the file. */
    bd = open_ok(p, MQ_BLOCKDEV_RDONLY);
    if (bd) {
        CHECK(mq_blockdev_pread(bd, rd, size, 0) == 0 && memcmp(rd, shadow, size) == 0);
        mq_blockdev_close(bd);
    }
    bd = open_ok(p, 0);
    if (!bd)
        goto out;
    CHECK(peek64(p, 72) == 0);
    random_ops(bd, shadow, 100, 65536);
    CHECK(mq_qcow2_snapshot_delete(bd, "s") == 0);
    random_ops(bd, shadow, 50, 65536);
    mq_blockdev_close(bd);
out:
    free(shadow);
    free(rd);
}

int main(void)
{
    mq_log_set_level(MQ_LOG_ERROR);
    if (!mkdtemp(dir))
        return 1;
    test_roundtrip(65536);
    test_roundtrip(4096);
    test_roundtrip(512);
    test_refcount_growth();
    test_backing();
    test_backing_loop();
    test_extensions();
    test_snapshots();
    test_validation();
    test_dirty_repair();
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", dir);
    }
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
