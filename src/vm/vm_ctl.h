/* SPDX-License-Identifier: MIT */
/*
 * What management can ask of a running VM: the calls behind the control
 * API (vm/control.c speaks the protocol, vm/vm_commands.c maps its
 * commands onto these). Implemented by vm/vm.c.
 *
 * Threading: every call may come from any thread except a hart thread or
 * the VM's I/O thread (pause and snapshots wait for both). Calls are
 * serialized inside the VM: a second caller waits for the first.
 * err/errlen receive a one-line reason on failure.
 */
#ifndef MQ_VM_VM_CTL_H
#define MQ_VM_VM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "machine/virt.h"

struct mq_vm;

enum mq_vm_run_state {
    MQ_VM_STATE_RUNNING,
    MQ_VM_STATE_PAUSED,   /* harts parked, guest clock stopped */
    MQ_VM_STATE_STOPPING, /* a stop was requested; the process is ending */
};

/* "running", "paused", "stopping". */
const char *mq_vm_state_name(enum mq_vm_run_state s);

struct mq_vm_info {
    enum mq_vm_run_state state;
    const char *name;     /* registry name, or NULL; valid while the VM lives */
    const char *vm_path;  /* absolute path of NAME.vm, or NULL */
    pid_t pid;
    unsigned nharts;
    uint64_t ram_size;    /* bytes */
    uint64_t uptime_ns;   /* host time since the VM started */
    uint64_t guest_ns;    /* guest clock (mtime) in ns: stops while paused */
};

void mq_vm_ctl_info(struct mq_vm *vm, struct mq_vm_info *out);

/*
 * Pause: every hart stops at an instruction boundary and the guest clock
 * stops; devices finish what they were doing. Resume undoes it. Both are
 * idempotent (pausing a paused VM is 0). -ESHUTDOWN once stopping.
 */
int mq_vm_ctl_pause(struct mq_vm *vm, char *err, size_t errlen);
int mq_vm_ctl_resume(struct mq_vm *vm, char *err, size_t errlen);

/*
 * Stop. force: end the VM now (like pulling the plug; disks are flushed
 * and closed cleanly by the process). Otherwise ask the guest to shut down
 * by pressing the power button; -ENODEV when the machine has no way to ask
 * (the caller may then force). Returns once the request is made, not when
 * the guest is down.
 */
int mq_vm_ctl_stop(struct mq_vm *vm, bool force, char *err, size_t errlen);

/* Hard reset (power cycle in the same process), as a guest reboot does. */
int mq_vm_ctl_reset(struct mq_vm *vm, char *err, size_t errlen);

/*
 * Snapshots of the whole machine (harts, devices, RAM) together with the
 * disk state, as internal snapshots of the VM's qcow2 disks. save pauses,
 * drains in-flight I/O, writes, and returns the VM to the state it had
 * (running or paused). load brings the machine back to the saved moment;
 * on a refused snapshot the VM keeps running as it was. -ENOENT: no such
 * tag; -EEXIST: save of a tag that exists; -EOPNOTSUPP: no snapshot-capable
 * system disk (not started from a .vm or qcow2 disk).
 */
int mq_vm_ctl_snapshot_save(struct mq_vm *vm, const char *tag, char *err, size_t errlen);
int mq_vm_ctl_snapshot_load(struct mq_vm *vm, const char *tag, char *err, size_t errlen);
int mq_vm_ctl_snapshot_delete(struct mq_vm *vm, const char *tag, char *err, size_t errlen);

/* A snapshot as listed; owned by the caller, free with mq_vm_ctl_snapshot_list_free. */
struct mq_vm_snapshot {
    char *id;
    char *name;
    uint64_t date_sec;
    uint64_t vm_state_size; /* 0: disk state only */
    uint64_t vm_clock_ns;
};
int mq_vm_ctl_snapshot_list(struct mq_vm *vm, struct mq_vm_snapshot **out, unsigned *count,
                            char *err, size_t errlen);
void mq_vm_ctl_snapshot_list_free(struct mq_vm_snapshot *s, unsigned count);

/* Counters since the VM started; a consistent-enough sample (not atomic as a whole). */
struct mq_vm_stats {
    unsigned nharts;
    struct {
        uint64_t instret;   /* instructions retired */
        uint64_t traps;     /* synchronous exceptions and interrupts taken */
        uint64_t page_faults; /* instruction/load/store page faults taken */
    } hart[MQ_VIRT_MAX_HARTS];
    unsigned ndisks;
    struct mq_virt_disk_stats disk[MQ_VIRT_VIRTIO_SLOTS];
    unsigned nnics;
    struct mq_virt_nic_stats nic[MQ_VIRT_VIRTIO_SLOTS];
};
void mq_vm_ctl_stats(struct mq_vm *vm, struct mq_vm_stats *out);

/* Link state of NIC index nic (eth0 = 0). -ENOENT when there is no such NIC. */
int mq_vm_ctl_link_set(struct mq_vm *vm, unsigned nic, bool up, char *err, size_t errlen);

/*
 * Asynchronous events for the control API. The VM calls the sink it was
 * given (mq_vm_options.events) from any thread; name is "shutdown",
 * "reset", "pause", "resume", "device-error", "snapshot"; detail a short
 * reason ("guest poweroff", "virtio-blk vda: needs reset", ...).
 */
struct mq_vm_event_sink {
    void (*event)(void *opaque, const char *name, const char *detail);
    void *opaque;
};

#endif
