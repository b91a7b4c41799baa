/* SPDX-License-Identifier: MIT */
/*
 * Whole-machine snapshots of the virt board. The machine state (every
 * hart, every device on the bus, the RAM) is one machine-state stream
 * (util/state.h), stored as the vmstate of a qcow2 internal snapshot of
 * the system disk (vda) together with the disk state; the other writable
 * qcow2 disks get a disk-only snapshot of the same name, as QEMU's savevm
 * does. Layout of the stream: docs/file-format.md.
 *
 * Consistency: the caller parks the harts. The board then quiesces every
 * virtio device (no buffer is taken or completed: a NIC's backend keeps
 * its frames) so RAM, rings and device state describe one instant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "machine/virt.h"
#include "machine/virt_int.h"
#include "util/log.h"
#include "util/state.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_dev.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net.h"

#define BOARD_SECTION "virt"
#define BOARD_VERSION 1u
#define RAM_SECTION "ram"
#define RAM_VERSION 1u
/* How long a save waits for devices to finish work handed to backends. */
#define DRAIN_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
#define DRAIN_RETRY_NS (2 * 1000 * 1000)

/* ---- the guest clock ---- */

void mq_virt_clock_stop(struct mq_virt *m)
{
    if (m->clock_stopped)
        return;
    m->stopped_mtime = mq_timebase_read(&m->timebase);
    m->clock_stopped = true;
}

void mq_virt_clock_start(struct mq_virt *m)
{
    if (!m->clock_stopped)
        return;
    mq_timebase_set(&m->timebase, m->stopped_mtime);
    m->clock_stopped = false;
}

static uint64_t guest_mtime(const struct mq_virt *m)
{
    return m->clock_stopped ? m->stopped_mtime : mq_timebase_read(&m->timebase);
}

uint64_t mq_virt_guest_ns(const struct mq_virt *m)
{
    uint64_t t = guest_mtime(m);

    /* 10 MHz timebase: 100 ns a tick. */
    return t * (1000000000ull / MQ_VIRT_TIMEBASE_HZ);
}

/* ---- the stream ---- */

static void region_section_name(const struct mq_bus_region *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%llx", r->ops->name, (unsigned long long)r->base);
}

int mq_virt_save_state(struct mq_virt *m, struct mq_state_writer *w)
{
    char name[MQ_STATE_NAME_MAX + 1];

    mq_state_begin_section(w, BOARD_SECTION);
    mq_state_set_version(w, BOARD_VERSION);
    mq_state_put_u32(w, m->nharts);
    mq_state_put_u64(w, m->ram.size);
    mq_state_put_u64(w, guest_mtime(m));
    mq_state_end_section(w);
    /* Devices first: a busy device fails the save before RAM is compressed. */
    for (unsigned i = 0; i < m->bus.nregions; i++) {
        const struct mq_bus_region *r = &m->bus.regions[i];
        if (!r->ops->save)
            continue; /* the ROM: rebuilt from the configuration */
        region_section_name(r, name, sizeof(name));
        mq_state_begin_section(w, name);
        r->ops->save(r->dev, w);
        mq_state_end_section(w);
    }
    for (unsigned i = 0; i < m->nharts && !mq_state_writer_error(w); i++) {
        snprintf(name, sizeof(name), "hart.%u", i);
        mq_state_begin_section(w, name);
        rv_hart_save(m->harts[i], w);
        mq_state_end_section(w);
    }
    if (mq_state_writer_error(w))
        return mq_state_writer_error(w);
    mq_state_begin_section(w, RAM_SECTION);
    mq_state_set_version(w, RAM_VERSION);
    mq_state_put_ram(w, m->ram.host, m->ram.size);
    return mq_state_end_section(w);
}

static int load_board_section(struct mq_virt *m, struct mq_state_reader *r)
{
    uint32_t nharts;
    uint64_t ram, mtime;

    if (mq_state_open_section(r, BOARD_SECTION) == -ENOENT) {
        mq_state_reader_fail(r, -EBADMSG, "the stream has no '%s' section: not a virt machine",
                             BOARD_SECTION);
        return -EBADMSG;
    }
    mq_state_expect_version(r, BOARD_VERSION, BOARD_VERSION);
    nharts = mq_state_get_u32(r);
    ram = mq_state_get_u64(r);
    mtime = mq_state_get_u64(r);
    if (!mq_state_reader_error(r) && nharts != m->nharts)
        mq_state_reader_fail(r, -EINVAL, "the snapshot has %u harts, this machine %u", nharts,
                             m->nharts);
    if (!mq_state_reader_error(r) && ram != m->ram.size)
        mq_state_reader_fail(r, -EINVAL,
                             "the snapshot has %llu MiB of RAM, this machine %llu MiB",
                             (unsigned long long)(ram >> 20),
                             (unsigned long long)(m->ram.size >> 20));
    if (mq_state_close_section(r))
        return mq_state_reader_error(r);
    /* Before the CLINT and the harts load: their deadlines are in mtime. */
    mq_timebase_set(&m->timebase, mtime);
    m->stopped_mtime = mtime;
    return 0;
}

static int open_or_fail(struct mq_state_reader *r, const char *name)
{
    if (mq_state_open_section(r, name) == -ENOENT) {
        mq_state_reader_fail(r, -EBADMSG,
                             "the snapshot has no state for %s (taken on another machine "
                             "configuration?)",
                             name);
        return -EBADMSG;
    }
    return mq_state_reader_error(r);
}

static int load_stream(struct mq_virt *m, struct mq_state_reader *r)
{
    char name[MQ_STATE_NAME_MAX + 1];

    if (load_board_section(m, r))
        return mq_state_reader_error(r);
    for (unsigned i = 0; i < m->bus.nregions; i++) {
        const struct mq_bus_region *reg = &m->bus.regions[i];
        if (!reg->ops->load)
            continue;
        region_section_name(reg, name, sizeof(name));
        if (open_or_fail(r, name))
            return mq_state_reader_error(r);
        reg->ops->load(reg->dev, r);
        if (mq_state_close_section(r))
            return mq_state_reader_error(r);
    }
    for (unsigned i = 0; i < m->nharts; i++) {
        snprintf(name, sizeof(name), "hart.%u", i);
        if (open_or_fail(r, name))
            return mq_state_reader_error(r);
        rv_hart_load(m->harts[i], r);
        if (mq_state_close_section(r))
            return mq_state_reader_error(r);
    }
    if (open_or_fail(r, RAM_SECTION))
        return mq_state_reader_error(r);
    mq_state_expect_version(r, RAM_VERSION, RAM_VERSION);
    mq_state_get_ram(r, m->ram.host, m->ram.size);
    /* Every decoded instruction may be stale now. */
    mq_guest_mem_written(&m->ram, m->ram.base, m->ram.size);
    if (mq_state_close_section(r))
        return mq_state_reader_error(r);
    return mq_state_check_all_opened(r);
}

int mq_virt_load_state(struct mq_virt *m, const void *data, size_t len, char *err,
                       size_t errlen)
{
    struct mq_state_reader *r = NULL;
    int ret = mq_state_reader_open(data, len, &r);

    if (ret == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return ret;
    }
    if (!ret)
        ret = load_stream(m, r);
    if (ret)
        snprintf(err, errlen, "%s", mq_state_reader_errmsg(r));
    mq_state_reader_free(r);
    return ret;
}

/* ---- quiescing the devices ---- */

static void quiesce_all(struct mq_virt *m, bool on)
{
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++)
        if (m->virtio[i])
            mq_virtio_dev_quiesce(mq_virtio_mmio_dev(m->virtio[i]), on);
}

/* Release the devices and kick their queues: buffers may be waiting. */
static void release_all(struct mq_virt *m)
{
    quiesce_all(m, false);
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++)
        if (m->virtio[i])
            mq_virtio_dev_resume(mq_virtio_mmio_dev(m->virtio[i]));
}

static void sleep_ns(long ns)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};

    nanosleep(&ts, NULL);
}

/*
 * The machine state as a finished stream in *out (free with
 * mq_state_writer_free). Devices must be quiesced. A device still holding
 * work in a backend (-EBUSY) is released for a moment to finish it.
 */
static int save_drained(struct mq_virt *m, struct mq_state_writer **out, char *err,
                        size_t errlen)
{
    uint64_t deadline = mq_clock_monotonic_ns() + DRAIN_TIMEOUT_NS;

    for (;;) {
        struct mq_state_writer *w;
        const void *data;
        size_t len;
        int ret = mq_state_writer_create(&w);

        if (ret) {
            snprintf(err, errlen, "out of memory");
            return ret;
        }
        ret = mq_virt_save_state(m, w);
        if (!ret)
            ret = mq_state_writer_finish(w, &data, &len);
        if (!ret) {
            *out = w;
            return 0;
        }
        if (ret != -EBUSY || mq_clock_monotonic_ns() > deadline) {
            snprintf(err, errlen, "%s", mq_state_writer_errmsg(w));
            mq_state_writer_free(w);
            return ret;
        }
        mq_state_writer_free(w);
        release_all(m);
        sleep_ns(DRAIN_RETRY_NS);
        quiesce_all(m, true);
    }
}

/* ---- disks ---- */

static bool disk_is_qcow2(const struct mq_virt *m, unsigned i)
{
    return m->disks[i] && !strcmp(m->disks[i]->ops->format, "qcow2");
}

/* Does disk i have a snapshot with this id or name? 0 or -ENOENT. */
static int disk_find(struct mq_virt *m, unsigned i, const char *tag, uint64_t *vm_state_size)
{
    return mq_qcow2_snapshot_find(m->disks[i], tag, vm_state_size);
}

/* Every disk that takes part in a snapshot is writable qcow2; others refuse. */
static int check_disks(struct mq_virt *m, char *err, size_t errlen)
{
    if (m->cfg.ndisks == 0 || !disk_is_qcow2(m, 0) || m->disks[0]->read_only) {
        snprintf(err, errlen,
                 "machine snapshots are kept in the system disk, which must be a writable "
                 "qcow2 image (a .vm file is one)%s%s",
                 m->cfg.ndisks ? ": vda is " : "", m->cfg.ndisks ? m->cfg.disks[0].path : "");
        return -EOPNOTSUPP;
    }
    for (unsigned i = 1; i < m->cfg.ndisks; i++) {
        if (!m->disks[i]->read_only && !disk_is_qcow2(m, i)) {
            snprintf(err, errlen,
                     "disk vd%c (%s) is writable but raw, so its state cannot be "
                     "snapshotted: give it as ro or convert it to qcow2",
                     'a' + i, m->cfg.disks[i].path);
            return -EOPNOTSUPP;
        }
    }
    return 0;
}

static bool disk_takes_part(const struct mq_virt *m, unsigned i)
{
    return !m->disks[i]->read_only;
}

static int create_disk_snapshots(struct mq_virt *m, const char *tag, const void *data,
                                 size_t len, char *err, size_t errlen)
{
    unsigned done;
    int ret = 0;

    for (done = 0; done < m->cfg.ndisks; done++) {
        if (!disk_takes_part(m, done))
            continue;
        ret = done == 0 ? mq_qcow2_snapshot_create_ex(m->disks[0], tag, data, len,
                                                      mq_virt_guest_ns(m))
                        : mq_qcow2_snapshot_create(m->disks[done], tag, NULL, 0);
        if (ret) {
            snprintf(err, errlen, "cannot create snapshot '%s' in %s: %s", tag,
                     m->cfg.disks[done].path, strerror(-ret));
            break;
        }
    }
    if (!ret)
        return 0;
    while (done-- > 0)
        if (disk_takes_part(m, done))
            mq_qcow2_snapshot_delete(m->disks[done], tag);
    return ret;
}

int mq_virt_snapshot_save(struct mq_virt *m, const char *tag, char *err, size_t errlen)
{
    struct mq_state_writer *w = NULL;
    const void *data;
    size_t len;
    int ret;

    if (!tag[0] || strlen(tag) > 1023) {
        snprintf(err, errlen, "a snapshot name has 1 to 1023 bytes");
        return -EINVAL;
    }
    ret = check_disks(m, err, errlen);
    if (ret)
        return ret;
    for (unsigned i = 0; i < m->cfg.ndisks; i++) {
        if (disk_takes_part(m, i) && disk_find(m, i, tag, NULL) == 0) {
            snprintf(err, errlen, "%s already has a snapshot '%s' (delete it first)",
                     m->cfg.disks[i].path, tag);
            return -EEXIST;
        }
    }
    quiesce_all(m, true);
    ret = save_drained(m, &w, err, errlen);
    if (!ret) {
        mq_state_writer_finish(w, &data, &len);
        ret = create_disk_snapshots(m, tag, data, len, err, errlen);
    }
    mq_state_writer_free(w);
    release_all(m);
    return ret;
}

/* The largest vmstate a load reads: all RAM incompressible, plus devices. */
static uint64_t vmstate_limit(const struct mq_virt *m)
{
    return m->ram.size + m->ram.size / 64 + (64ull << 20);
}

static int read_vmstate(struct mq_virt *m, const char *tag, void **data, size_t *len,
                        char *err, size_t errlen)
{
    uint64_t vm_state_size = 0;
    int ret = check_disks(m, err, errlen);

    if (ret)
        return ret;
    ret = disk_find(m, 0, tag, &vm_state_size);
    if (ret) {
        snprintf(err, errlen, "%s has no snapshot '%s'", m->cfg.disks[0].path, tag);
        return ret;
    }
    if (vm_state_size == 0) {
        snprintf(err, errlen,
                 "snapshot '%s' holds the disk state only (taken while the VM was stopped); "
                 "apply it to the stopped VM with 'maquina snapshot FILE load %s'",
                 tag, tag);
        return -EINVAL;
    }
    if (vm_state_size > vmstate_limit(m)) {
        snprintf(err, errlen, "snapshot '%s' has %llu bytes of machine state, more than "
                 "a machine of %llu MiB can have: refused",
                 tag, (unsigned long long)vm_state_size,
                 (unsigned long long)(m->ram.size >> 20));
        return -EFBIG;
    }
    for (unsigned i = 1; i < m->cfg.ndisks; i++) {
        if (disk_takes_part(m, i) && disk_find(m, i, tag, NULL)) {
            snprintf(err, errlen, "disk vd%c (%s) has no snapshot '%s'", 'a' + i,
                     m->cfg.disks[i].path, tag);
            return -ENOENT;
        }
    }
    *len = vm_state_size;
    *data = malloc(*len);
    if (!*data) {
        snprintf(err, errlen, "out of memory for %zu bytes of machine state", *len);
        return -ENOMEM;
    }
    ret = mq_qcow2_snapshot_read_vmstate(m->disks[0], tag, *data, *len, 0);
    if (ret) {
        snprintf(err, errlen, "cannot read the machine state of snapshot '%s': %s", tag,
                 strerror(-ret));
        free(*data);
        *data = NULL;
    }
    return ret;
}

static int apply_disks(struct mq_virt *m, const char *tag, char *err, size_t errlen)
{
    for (unsigned i = 0; i < m->cfg.ndisks; i++) {
        int ret;
        if (!disk_takes_part(m, i))
            continue;
        ret = mq_qcow2_snapshot_apply(m->disks[i], tag);
        if (ret) {
            snprintf(err, errlen, "cannot apply snapshot '%s' to %s: %s", tag,
                     m->cfg.disks[i].path, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

/*
 * Load the snapshot's machine state, keeping the current one in memory:
 * a stream that a loader refuses halfway is undone, so a bad snapshot
 * never leaves a half-restored machine behind.
 */
static int load_with_rollback(struct mq_virt *m, const void *data, size_t len,
                              const char *tag, char *err, size_t errlen)
{
    struct mq_state_writer *undo = NULL;
    const void *undo_data;
    size_t undo_len;
    char why[512], again[512];
    int ret;

    ret = save_drained(m, &undo, err, errlen);
    if (ret)
        return ret;
    mq_state_writer_finish(undo, &undo_data, &undo_len);
    ret = mq_virt_load_state(m, data, len, why, sizeof(why));
    if (!ret)
        ret = apply_disks(m, tag, why, sizeof(why));
    if (ret) {
        if (mq_virt_load_state(m, undo_data, undo_len, again, sizeof(again))) {
            snprintf(err, errlen, "snapshot '%s' refused (%s), and the machine could not be "
                     "put back (%s)", tag, why, again);
            ret = -EIO;
        } else {
            snprintf(err, errlen, "snapshot '%s' refused, the machine is unchanged: %s", tag,
                     why);
        }
    }
    mq_state_writer_free(undo);
    return ret;
}

int mq_virt_snapshot_load(struct mq_virt *m, const char *tag, char *err, size_t errlen)
{
    struct mq_state_reader *r = NULL;
    void *data = NULL;
    size_t len = 0;
    int ret = read_vmstate(m, tag, &data, &len, err, errlen);

    if (ret)
        return ret;
    /* Checksum and structure first, before anything is touched. */
    ret = mq_state_reader_open(data, len, &r);
    if (ret)
        snprintf(err, errlen, "snapshot '%s' machine state refused: %s", tag,
                 r ? mq_state_reader_errmsg(r) : "out of memory");
    mq_state_reader_free(r);
    if (!ret) {
        quiesce_all(m, true);
        ret = load_with_rollback(m, data, len, tag, err, errlen);
        release_all(m);
    }
    free(data);
    return ret;
}

int mq_virt_snapshot_delete(struct mq_virt *m, const char *tag, char *err, size_t errlen)
{
    bool any = false;
    int ret = check_disks(m, err, errlen);

    for (unsigned i = 0; !ret && i < m->cfg.ndisks; i++) {
        int r;
        if (!disk_takes_part(m, i) || disk_find(m, i, tag, NULL))
            continue;
        r = mq_qcow2_snapshot_delete(m->disks[i], tag);
        if (r) {
            snprintf(err, errlen, "cannot delete snapshot '%s' in %s: %s", tag,
                     m->cfg.disks[i].path, strerror(-r));
            ret = r;
        }
        any = true;
    }
    if (!ret && !any) {
        snprintf(err, errlen, "%s has no snapshot '%s'", m->cfg.disks[0].path, tag);
        ret = -ENOENT;
    }
    return ret;
}

int mq_virt_snapshot_list(struct mq_virt *m, struct mq_qcow2_snapshot_info **out,
                          unsigned *count, char *err, size_t errlen)
{
    int ret = check_disks(m, err, errlen);

    if (!ret)
        ret = mq_qcow2_snapshot_list(m->disks[0], out, count);
    if (ret == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    else if (ret && ret != -EOPNOTSUPP)
        snprintf(err, errlen, "%s: cannot read the snapshot table: %s", m->cfg.disks[0].path,
                 strerror(-ret));
    return ret;
}

/* ---- statistics ---- */

unsigned mq_virt_ndisks(const struct mq_virt *m)
{
    return m->cfg.ndisks;
}

unsigned mq_virt_nnics(const struct mq_virt *m)
{
    return m->cfg.nnets;
}

int mq_virt_disk_stats(struct mq_virt *m, unsigned i, struct mq_virt_disk_stats *out)
{
    struct mq_virtio_blk_stats s;
    int ret;

    if (i >= m->cfg.ndisks)
        return -ENOENT;
    ret = mq_virtio_blk_get_stats(m->disk_dev[i], &s);
    if (ret)
        return ret;
    *out = (struct mq_virt_disk_stats){
        .rd_reqs = s.rd_reqs, .rd_bytes = s.rd_bytes, .wr_reqs = s.wr_reqs,
        .wr_bytes = s.wr_bytes, .flush_reqs = s.flush_reqs, .errors = s.errors};
    return 0;
}

int mq_virt_nic_stats(struct mq_virt *m, unsigned i, struct mq_virt_nic_stats *out)
{
    struct mq_virtio_net_stats s;
    int ret;

    if (i >= m->cfg.nnets)
        return -ENOENT;
    ret = mq_virtio_net_get_stats(m->nic_dev[i], &s);
    if (ret)
        return ret;
    *out = (struct mq_virt_nic_stats){
        .tx_frames = s.tx_frames, .tx_bytes = s.tx_bytes, .tx_dropped = s.tx_dropped,
        .rx_frames = s.rx_frames, .rx_bytes = s.rx_bytes, .rx_dropped = s.rx_dropped,
        .link_up = mq_virtio_net_link_up(m->nic_dev[i])};
    return 0;
}

int mq_virt_set_link(struct mq_virt *m, unsigned nic, bool up)
{
    if (nic >= m->cfg.nnets)
        return -ENOENT;
    mq_virtio_net_set_link(m->nic_dev[nic], up);
    return 0;
}
