/* SPDX-License-Identifier: MIT */
/*
 * The virt board: a QEMU-virt-compatible RISC-V machine (memory map in
 * DESIGN.md). It is the only place that knows which devices exist and
 * where; it creates them, maps them on the bus, wires interrupt lines,
 * loads firmware/kernel/initrd, builds the device tree and the boot ROM.
 * It does not run harts: the VM layer (vm/) owns the threads.
 */
#ifndef MQ_MACHINE_VIRT_H
#define MQ_MACHINE_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/qcow2.h"
#include "cpu/riscv/hart.h"
#include "util/event_loop.h"

#define MQ_VIRT_RAM_BASE 0x80000000ull
#define MQ_VIRT_MAX_HARTS 8
#define MQ_VIRT_MAX_RAM (64ull << 30)
#define MQ_VIRT_TIMEBASE_HZ 10000000u

#define MQ_VIRT_VIRTIO_SLOTS 8

/* A virtio-blk disk. */
struct mq_virt_disk {
    const char *path;
    const char *format; /* "raw", "qcow2" or NULL: detect */
    bool read_only;
    const char *serial; /* up to 20 bytes, or NULL */
};

enum mq_virt_power_event {
    MQ_VIRT_POWEROFF, /* code is the exit status asked for */
    MQ_VIRT_REBOOT,
};

struct mq_virt_config {
    uint64_t ram_size;  /* bytes, multiple of 4 KiB */
    unsigned nharts;    /* 1 .. MQ_VIRT_MAX_HARTS */
    /*
     * Firmware: an ELF (loaded at its physical addresses, started at its
     * entry) or a raw binary (loaded and started at RAM base). With a
     * kernel and no firmware, the board loads default_firmware.
     */
    const char *firmware;
    bool firmware_elf_only; /* refuse a firmware file that is not an ELF */
    const char *default_firmware;
    const char *kernel;  /* Linux Image, at RAM + 2 MiB; NULL: none */
    const char *initrd;  /* NULL: none */
    const char *append;  /* kernel command line; NULL: none */
    unsigned max_satp_mode; /* 8 = Sv39, 9 = Sv48 (default) */
    /* The VM's I/O thread, where device backends run. */
    struct mq_event_loop *loop;
    /* Disks, in /dev/vda, vdb ... order; each takes a virtio-mmio slot. */
    struct mq_virt_disk disks[MQ_VIRT_VIRTIO_SLOTS];
    unsigned ndisks;
    bool no_rng; /* leave out the virtio-rng device (present by default) */
    /*
     * Leave out the virtio-input power button (present by default). It
     * takes the first slot after every other virtio device (disks, NICs,
     * rng, hvc0), so adding it moves no other device: /dev/vda.. and
     * eth0.. keep their slots. When those fill all the slots the button
     * is left out (logged) rather than refusing the machine.
     */
    bool no_input;
    /* NICs: --net specifications ("user,hostfwd=..."), eth0, eth1 ... */
    const char *nets[MQ_VIRT_VIRTIO_SLOTS];
    unsigned nnets;
    /* MAC per NIC when has_mac[i]; otherwise 52:54:00:12:34:56 + i. */
    uint8_t macs[MQ_VIRT_VIRTIO_SLOTS][6];
    bool has_mac[MQ_VIRT_VIRTIO_SLOTS];
    /* virtio-console (hvc0) backend: "pty", "socket:PATH", "file:PATH"; NULL: none. */
    const char *hvc;
    /* Bytes the guest writes to the UART. Called from hart threads. */
    void (*console_out)(void *opaque, const uint8_t *buf, size_t len);
    void *console_opaque;
    /* Poweroff and reboot requests from the guest. Called from hart threads. */
    void (*power)(void *opaque, enum mq_virt_power_event ev, int code);
    void *power_opaque;
};

struct mq_virt;

/* Counters of one disk (vda = 0), since the machine was created. */
struct mq_virt_disk_stats {
    uint64_t rd_reqs, rd_bytes;
    uint64_t wr_reqs, wr_bytes;
    uint64_t flush_reqs;
    uint64_t errors; /* requests completed with an I/O error */
};

/* Counters of one NIC (eth0 = 0), guest view: tx is guest to network. */
struct mq_virt_nic_stats {
    uint64_t tx_frames, tx_bytes, tx_dropped;
    uint64_t rx_frames, rx_bytes, rx_dropped;
    bool link_up;
};

/*
 * Build the machine and load its boot images. Returns 0, or -errno with a
 * one-line reason in err (naming the file and the problem).
 */
int mq_virt_create(const struct mq_virt_config *cfg, struct mq_virt **out, char *err,
                   size_t errlen);
void mq_virt_destroy(struct mq_virt *m);

/*
 * Power-on reset: devices and harts reset, RAM cleared, boot images loaded
 * again. Harts must not be running. 0 or -errno with err filled.
 */
int mq_virt_reset(struct mq_virt *m, char *err, size_t errlen);

unsigned mq_virt_nharts(const struct mq_virt *m);
struct rv_hart *mq_virt_hart(struct mq_virt *m, unsigned i);

/* Push host console input to the UART; returns bytes accepted. Thread-safe. */
size_t mq_virt_console_in(struct mq_virt *m, const uint8_t *buf, size_t len);

/*
 * Press and release the power button (KEY_POWER on the virtio-input
 * device): the guest's acpid or systemd-logind then shuts down, ending
 * with a poweroff through the syscon (cfg.power). Returns 0 when the key
 * events were queued for the guest's driver, -ENODEV when the board has
 * no button (no_input, or no free slot) or the guest's driver is not
 * ready (not loaded yet, reset, or in error), -ENOBUFS when the driver
 * has not taken the last 16 presses. On an error the caller falls back
 * (e.g. stops the VM itself). Whether the guest acts on the key is up to
 * the guest. Thread-safe; not during mq_virt_destroy().
 */
int mq_virt_power_button(struct mq_virt *m);

/* Called (from a hart thread) when the UART can take input again. */
void mq_virt_set_console_space_cb(struct mq_virt *m, void (*cb)(void *opaque), void *opaque);

/*
 * The guest clock (mtime). Stop it while the harts are paused so the guest
 * does not see the pause as time passing; start continues from the value
 * it had. Harts must be parked for both.
 */
void mq_virt_clock_stop(struct mq_virt *m);
void mq_virt_clock_start(struct mq_virt *m);
/* The guest clock in nanoseconds (mtime at 10 MHz). */
uint64_t mq_virt_guest_ns(const struct mq_virt *m);

/*
 * Whole-machine snapshots (virt_snapshot.c): harts, devices and RAM in one
 * machine-state stream, stored with the disk state as qcow2 internal
 * snapshot tag of the system disk (vda), which must be writable qcow2;
 * other writable disks must be qcow2 and get a disk-only snapshot of the
 * same name. The harts must be parked (not running) during every call;
 * devices and their I/O threads may run: the board quiesces them.
 *
 * save: -EEXIST when a disk has tag already, -EOPNOTSUPP for unsuitable
 * disks, -EBUSY when a device could not be drained within 5 s.
 * load: -ENOENT when a disk lacks tag, -EINVAL when the snapshot holds no
 * machine state; a refused stream (checksum, version, a device refusing
 * its state, another machine configuration) leaves the machine as it was;
 * -EIO only when the machine could not even be put back (it must not run).
 * All fill err with one line.
 */
int mq_virt_snapshot_save(struct mq_virt *m, const char *tag, char *err, size_t errlen);
int mq_virt_snapshot_load(struct mq_virt *m, const char *tag, char *err, size_t errlen);
int mq_virt_snapshot_delete(struct mq_virt *m, const char *tag, char *err, size_t errlen);
/* Snapshots of the system disk; free with mq_qcow2_snapshot_list_free(). */
int mq_virt_snapshot_list(struct mq_virt *m, struct mq_qcow2_snapshot_info **out,
                          unsigned *count, char *err, size_t errlen);

struct mq_state_writer;
/* The machine state into w's stream (sections "virt", devices, "hart.N", "ram"). */
int mq_virt_save_state(struct mq_virt *m, struct mq_state_writer *w);
/* Load a whole stream; on failure the machine holds a mix and must not run. */
int mq_virt_load_state(struct mq_virt *m, const void *data, size_t len, char *err,
                       size_t errlen);

/* Statistics: disks are vda.., NICs eth0... -ENOENT past the last one. Any thread. */
unsigned mq_virt_ndisks(const struct mq_virt *m);
unsigned mq_virt_nnics(const struct mq_virt *m);
int mq_virt_disk_stats(struct mq_virt *m, unsigned i, struct mq_virt_disk_stats *out);
int mq_virt_nic_stats(struct mq_virt *m, unsigned i, struct mq_virt_nic_stats *out);
/* Link state of NIC nic as the guest sees it. -ENOENT when there is none. Any thread. */
int mq_virt_set_link(struct mq_virt *m, unsigned nic, bool up);

#endif
