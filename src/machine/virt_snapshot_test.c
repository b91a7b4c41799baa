/* SPDX-License-Identifier: MIT */
/*
 * Whole-machine snapshots of the virt board: a firmware loop counting in
 * a register and in RAM is saved into a qcow2 disk, runs on, and is
 * loaded back; refused snapshots (another machine, garbage, missing tags)
 * leave the machine exactly as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "hw/hw_test.h"
#include "machine/virt.h"
#include "machine/virt_int.h"
#include "util/le.h"

/*
 * 0x80000000: auipc t1, 0        t1 = RAM base
 *             addi  t0, t0, 1    loop: count
 *             sd    t0, 256(t1)  and store the count in RAM
 *             j     loop
 */
static const uint32_t counter_fw[] = {0x00000317, 0x00128293, 0x10533023, 0xff9ff06f};
#define COUNT_ADDR (MQ_VIRT_RAM_BASE + 256)

static char fw_path[64], disk_path[64];

static void make_files(void)
{
    uint8_t code[sizeof(counter_fw)];
    FILE *f;
    int fd;

    for (size_t i = 0; i < sizeof(counter_fw) / 4; i++)
        mq_put_le32(code + 4 * i, counter_fw[i]);
    snprintf(fw_path, sizeof(fw_path), "/tmp/mq-snaptest-fw-XXXXXX");
    fd = mkstemp(fw_path);
    CHECK(fd >= 0);
    f = fdopen(fd, "wb");
    CHECK(f && fwrite(code, 1, sizeof(code), f) == sizeof(code));
    fclose(f);
    snprintf(disk_path, sizeof(disk_path), "/tmp/mq-snaptest-disk-XXXXXX");
    fd = mkstemp(disk_path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(mq_qcow2_create(disk_path, 1 << 20, NULL, NULL, 0), 0);
}

static struct mq_virt *make_board(unsigned nharts, bool rng)
{
    struct mq_virt_config c = {
        .ram_size = 32ull << 20,
        .nharts = nharts,
        .firmware = fw_path,
        .ndisks = 1,
        .no_rng = !rng,
    };
    struct mq_virt *m = NULL;
    char err[512];

    c.disks[0].path = disk_path;
    c.disks[0].format = "qcow2";
    if (mq_virt_create(&c, &m, err, sizeof(err))) {
        fprintf(stderr, "board: %s\n", err);
        CHECK(0);
    }
    return m;
}

static uint64_t ram_count(struct mq_virt *m)
{
    uint64_t v = 0;

    CHECK_EQ(mq_guest_mem_read(&m->ram, COUNT_ADDR, &v, 8), 0);
    return v;
}

static void run(struct mq_virt *m, uint64_t n)
{
    for (unsigned i = 0; i < mq_virt_nharts(m); i++)
        rv_hart_run(mq_virt_hart(m, i), n);
}

struct moment {
    uint64_t t0, pc, ram;
};

static struct moment now(struct mq_virt *m)
{
    struct rv_hart *h = mq_virt_hart(m, 0);

    return (struct moment){rv_hart_get_xreg(h, 5), rv_hart_get_pc(h), ram_count(m)};
}

static void check_same(struct moment a, struct moment b)
{
    CHECK_EQ(a.t0, b.t0);
    CHECK_EQ(a.pc, b.pc);
    CHECK_EQ(a.ram, b.ram);
}

static void test_round_trip(void)
{
    struct mq_virt *m = make_board(1, true);
    struct moment saved, later, again;
    char err[512];

    if (!m)
        return;
    run(m, 10000);
    saved = now(m);
    CHECK(saved.t0 > 1000);
    CHECK_EQ(mq_virt_snapshot_save(m, "s1", err, sizeof(err)), 0);
    run(m, 5000);
    later = now(m);
    CHECK(later.t0 > saved.t0);
    CHECK_EQ(mq_virt_snapshot_load(m, "s1", err, sizeof(err)), 0);
    check_same(now(m), saved);
    /* The restored machine goes on exactly as the original did. */
    run(m, 5000);
    again = now(m);
    check_same(again, later);
    /* Name rules. */
    CHECK_EQ(mq_virt_snapshot_save(m, "s1", err, sizeof(err)), -EEXIST);
    CHECK_EQ(mq_virt_snapshot_load(m, "nope", err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "nope") != NULL);
    mq_virt_destroy(m);
}

static void test_other_machine_refused(void)
{
    /* 2 harts, and no rng: the saved stream does not fit. */
    struct mq_virt *m = make_board(2, true);
    struct moment before;
    char err[512];

    if (!m)
        return;
    run(m, 3000);
    before = now(m);
    CHECK_EQ(mq_virt_snapshot_load(m, "s1", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "harts") != NULL);
    check_same(now(m), before);
    mq_virt_destroy(m);

    m = make_board(1, false);
    if (!m)
        return;
    run(m, 3000);
    before = now(m);
    /* Fails at the rng's virtio slot, after earlier devices were loaded: undone. */
    CHECK(mq_virt_snapshot_load(m, "s1", err, sizeof(err)) < 0);
    CHECK(strstr(err, "unchanged") != NULL);
    check_same(now(m), before);
    run(m, 100);
    CHECK(now(m).t0 > before.t0);
    mq_virt_destroy(m);
}

static void test_garbage_refused(void)
{
    struct mq_virt *m = make_board(1, true);
    struct mq_blockdev *bd;
    struct moment before;
    char err[512], why[256];
    uint8_t junk[4096];

    if (!m)
        return;
    run(m, 2000);
    before = now(m);
    /* A snapshot whose machine state is garbage, written behind the board's back. */
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    memcpy(junk, "MQSTATE", 8);
    CHECK_EQ(mq_blockdev_open(disk_path, "qcow2", 0, &bd, why, sizeof(why)), 0);
    CHECK_EQ(mq_qcow2_snapshot_create(bd, "junk", junk, sizeof(junk)), 0);
    CHECK_EQ(mq_qcow2_snapshot_create(bd, "diskonly", NULL, 0), 0);
    /* s1's real machine state with one bit flipped in the middle. */
    {
        struct mq_qcow2_snapshot_info *list;
        unsigned n;
        uint64_t len = 0;
        CHECK_EQ(mq_qcow2_snapshot_list(bd, &list, &n), 0);
        for (unsigned i = 0; i < n; i++)
            if (!strcmp(list[i].name, "s1"))
                len = list[i].vm_state_size;
        mq_qcow2_snapshot_list_free(list, n);
        uint8_t *state = len ? malloc(len) : NULL;
        CHECK(state != NULL);
        if (state) {
            CHECK_EQ(mq_qcow2_snapshot_read_vmstate(bd, "s1", state, len, 0), 0);
            state[len / 2] ^= 0x10;
            CHECK_EQ(mq_qcow2_snapshot_create(bd, "flipped", state, len), 0);
            free(state);
        }
    }
    mq_blockdev_close(bd);
    /* The board's qcow2 state is stale now: reopen it. */
    mq_virt_destroy(m);
    m = make_board(1, true);
    if (!m)
        return;
    run(m, 2000);
    before = now(m);
    CHECK(mq_virt_snapshot_load(m, "junk", err, sizeof(err)) < 0);
    CHECK(strstr(err, "refused") != NULL);
    check_same(now(m), before);
    CHECK(mq_virt_snapshot_load(m, "flipped", err, sizeof(err)) < 0);
    CHECK(strstr(err, "checksum") != NULL);
    check_same(now(m), before);
    CHECK_EQ(mq_virt_snapshot_load(m, "diskonly", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "disk state only") != NULL);
    check_same(now(m), before);
    CHECK_EQ(mq_virt_snapshot_delete(m, "junk", err, sizeof(err)), 0);
    CHECK_EQ(mq_virt_snapshot_delete(m, "junk", err, sizeof(err)), -ENOENT);
    mq_virt_destroy(m);
}

static void test_raw_disk_refused(void)
{
    struct mq_virt_config c = {
        .ram_size = 32ull << 20, .nharts = 1, .firmware = fw_path, .ndisks = 1, .no_rng = true};
    struct mq_virt *m = NULL;
    char err[512];

    c.disks[0].path = fw_path; /* any file, opened raw */
    c.disks[0].format = "raw";
    c.disks[0].read_only = true;
    CHECK_EQ(mq_virt_create(&c, &m, err, sizeof(err)), 0);
    if (!m)
        return;
    CHECK_EQ(mq_virt_snapshot_save(m, "x", err, sizeof(err)), -EOPNOTSUPP);
    CHECK(strstr(err, "qcow2") != NULL);
    mq_virt_destroy(m);
}

static void test_clock_stops(void)
{
    struct mq_virt *m = make_board(1, false);
    uint64_t t;

    if (!m)
        return;
    mq_virt_clock_stop(m);
    t = mq_virt_guest_ns(m);
    usleep(20000);
    CHECK_EQ(mq_virt_guest_ns(m), t);
    mq_virt_clock_start(m);
    usleep(20000);
    CHECK(mq_virt_guest_ns(m) > t);
    /* It went on from where it stopped, not from host time. */
    CHECK(mq_virt_guest_ns(m) < t + 1000000000ull);
    mq_virt_destroy(m);
}

int main(void)
{
    make_files();
    RUN(test_round_trip);
    RUN(test_other_machine_refused);
    RUN(test_garbage_refused);
    RUN(test_raw_disk_refused);
    RUN(test_clock_stops);
    unlink(fw_path);
    unlink(disk_path);
    printf("%s\n", hw_test_failures ? "FAILED" : "all passed");
    return hw_test_failures ? 1 : 0;
}
