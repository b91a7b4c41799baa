/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the qcow2 parser: the input is an image file. It is
 * opened read-only from a memfd and read through (disk, snapshots, machine
 * state, extensions); then a copy is opened read-write and written to
 * (data, zeroes, discard, snapshots, extensions), then read again.
 * Spec: QEMU docs/interop/qcow2.txt.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHUNK 65536u
#define PROBES 32u

static uint8_t buf[CHUNK];

static int memfd_with(const uint8_t *data, size_t size, char *path, size_t plen)
{
    int fd = memfd_create("fuzz_qcow2", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(path, plen, "/proc/self/fd/%d", fd);
    return fd;
}

/* Read a bounded sample of the disk: the start and PROBES spread-out spots. */
static void read_through(struct mq_blockdev *bd)
{
    uint64_t size = bd->size;

    for (unsigned i = 0; i <= PROBES; i++) {
        uint64_t off = i == 0 ? 0 : (size / PROBES) * (i - 1) + (i * 4093u) % CHUNK;
        uint64_t len;

        if (off >= size)
            continue;
        len = size - off < CHUNK ? size - off : CHUNK;
        (void)mq_blockdev_pread(bd, buf, len, off);
    }
}

static void read_snapshots(struct mq_blockdev *bd)
{
    struct mq_qcow2_snapshot_info *info;
    unsigned n;
    size_t len;

    (void)mq_qcow2_get_extension(bd, 0x6d710001, buf, sizeof(buf), &len);
    if (mq_qcow2_snapshot_list(bd, &info, &n) < 0)
        return;
    for (unsigned i = 0; i < n && i < 8; i++) {
        uint64_t l = info[i].vm_state_size < CHUNK ? info[i].vm_state_size : CHUNK;
        (void)mq_qcow2_snapshot_read_vmstate(bd, info[i].id, buf, l, 0);
    }
    mq_qcow2_snapshot_list_free(info, n);
}

static uint64_t mix(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < size; i += 1 + size / 64)
        h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

static void write_through(struct mq_blockdev *bd, uint64_t h)
{
    uint64_t size = bd->size;

    if (!size)
        return;
    memset(buf, 0xa5, sizeof(buf));
    for (unsigned i = 0; i < 6; i++) {
        uint64_t off = (h >> (i * 7)) % size, len = 1 + ((h >> (i * 5)) % (2 * CHUNK / 3));
        if (len > size - off)
            len = size - off;
        switch ((h >> (i * 3)) & 3) {
        case 0:
            (void)mq_blockdev_pwrite(bd, buf, len, off);
            break;
        case 1:
            (void)mq_blockdev_discard(bd, off, len);
            break;
        case 2:
            (void)mq_blockdev_write_zeroes(bd, off, len, (h >> i) & 1);
            break;
        default:
            (void)mq_blockdev_pwrite(bd, buf, len, off & ~511ull);
            break;
        }
    }
    if (h & 0x100) {
        (void)mq_qcow2_snapshot_create(bd, "fuzz", buf, 4096);
        (void)mq_blockdev_pwrite(bd, buf, 1, 0);
        (void)mq_qcow2_snapshot_apply(bd, "fuzz");
        (void)mq_qcow2_snapshot_delete(bd, (h & 0x200) ? "fuzz" : "1");
    }
    if (h & 0x400)
        (void)mq_qcow2_set_extension(bd, 0x6d710001, "fuzz", 4);
    (void)mq_blockdev_flush(bd);
    read_through(bd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    struct mq_blockdev *bd;
    char path[64], err[256];
    int fd;

    if (!quiet) {
        mq_log_set_level(MQ_LOG_ERROR);
        quiet = true;
    }
    fd = memfd_with(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    /* Backing files are never followed: the name comes from the input. */
    if (mq_blockdev_open(path, "qcow2", MQ_BLOCKDEV_RDONLY | MQ_BLOCKDEV_NO_BACKING, &bd, err,
                         sizeof(err)) == 0) {
        read_through(bd);
        read_snapshots(bd);
        mq_blockdev_close(bd);
    }
    close(fd);

    fd = memfd_with(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (mq_blockdev_open(path, "qcow2", MQ_BLOCKDEV_NO_BACKING, &bd, err, sizeof(err)) == 0) {
        if (!bd->read_only)
            write_through(bd, mix(data, size));
        mq_blockdev_close(bd);
    }
    close(fd);
    return 0;
}
