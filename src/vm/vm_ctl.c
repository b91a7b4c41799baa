/* SPDX-License-Identifier: MIT */
/*
 * The control calls of a running VM (vm/vm_ctl.h): state, pause and
 * resume, stop and reset, snapshots, statistics and links. Each call that
 * changes the machine holds ctl_lock, so two clients cannot interleave a
 * pause with a snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "vm/vm_int.h"

const char *mq_vm_state_name(enum mq_vm_run_state s)
{
    switch (s) {
    case MQ_VM_STATE_RUNNING: return "running";
    case MQ_VM_STATE_PAUSED: return "paused";
    default: return "stopping";
    }
}

void mq_vm_ctl_info(struct mq_vm *vm, struct mq_vm_info *out)
{
    pthread_mutex_lock(&vm->lock);
    out->state = vm->stop != VM_RUNNING && vm->stop != VM_REBOOT ? MQ_VM_STATE_STOPPING
                 : vm->paused                                    ? MQ_VM_STATE_PAUSED
                                                                 : MQ_VM_STATE_RUNNING;
    pthread_mutex_unlock(&vm->lock);
    out->name = vm->name[0] ? vm->name : NULL;
    out->vm_path = vm->opts->vm_path;
    out->pid = getpid();
    out->nharts = mq_virt_nharts(vm->board);
    out->ram_size = vm->opts->board.ram_size;
    out->uptime_ns = mq_clock_monotonic_ns() - vm->start_ns;
    out->guest_ns = mq_virt_guest_ns(vm->board);
}

int mq_vm_ctl_pause(struct mq_vm *vm, char *err, size_t errlen)
{
    bool was;
    int ret;

    pthread_mutex_lock(&vm->ctl_lock);
    was = vm->paused;
    ret = mq_vm_pause_locked(vm, err, errlen);
    pthread_mutex_unlock(&vm->ctl_lock);
    if (!ret && !was)
        mq_vm_event(vm, "pause", "paused by the user");
    return ret;
}

int mq_vm_ctl_resume(struct mq_vm *vm, char *err, size_t errlen)
{
    bool was;

    pthread_mutex_lock(&vm->ctl_lock);
    was = vm->paused;
    mq_vm_resume_locked(vm);
    pthread_mutex_unlock(&vm->ctl_lock);
    if (was)
        mq_vm_event(vm, "resume", "resumed by the user");
    return 0;
}

int mq_vm_ctl_stop(struct mq_vm *vm, bool force, char *err, size_t errlen)
{
    if (force) {
        mq_vm_request_stop(vm, VM_QUIT, 0);
        return 0;
    }
    int ret = mq_virt_power_button(vm->board);

    if (ret == -ENODEV)
        snprintf(err, errlen, "the guest cannot be asked to shut down: no power button, or "
                 "its driver is not ready (still booting?)");
    else if (ret)
        snprintf(err, errlen, "the guest did not take the last power button presses (%s)",
                 strerror(-ret));
    else
        mq_info("vm", "power button pressed");
    return ret;
}

int mq_vm_ctl_reset(struct mq_vm *vm, char *err, size_t errlen)
{
    pthread_mutex_lock(&vm->lock);
    bool stopping = vm->stop != VM_RUNNING;
    pthread_mutex_unlock(&vm->lock);
    if (stopping) {
        snprintf(err, errlen, "the VM is stopping");
        return -ESHUTDOWN;
    }
    mq_vm_request_stop(vm, VM_REBOOT, 0);
    return 0;
}

/* Run fn on the board with the harts parked, restoring the run state after. */
static int with_harts_parked(struct mq_vm *vm, int (*fn)(struct mq_virt *, const char *,
                                                         char *, size_t),
                             const char *tag, char *err, size_t errlen)
{
    bool was_paused;
    int ret;

    pthread_mutex_lock(&vm->ctl_lock);
    was_paused = vm->paused;
    ret = mq_vm_pause_locked(vm, err, errlen);
    if (!ret) {
        ret = fn(vm->board, tag, err, errlen);
        if (!was_paused)
            mq_vm_resume_locked(vm);
    }
    pthread_mutex_unlock(&vm->ctl_lock);
    return ret;
}

int mq_vm_ctl_snapshot_save(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    uint64_t t0 = mq_clock_monotonic_ns();
    int ret = with_harts_parked(vm, mq_virt_snapshot_save, tag, err, errlen);

    if (!ret) {
        char detail[128];
        snprintf(detail, sizeof(detail), "saved '%.60s' in %.3f s", tag,
                 (double)(mq_clock_monotonic_ns() - t0) / 1e9);
        mq_info("vm", "snapshot %s", detail);
        mq_vm_event(vm, "snapshot", detail);
    }
    return ret;
}

int mq_vm_ctl_snapshot_load(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    uint64_t t0 = mq_clock_monotonic_ns();
    int ret = with_harts_parked(vm, mq_virt_snapshot_load, tag, err, errlen);

    if (ret == -EIO) {
        /* Neither the snapshot nor the old state is in the machine: it must not run. */
        mq_err("vm", "%s", err);
        mq_vm_event(vm, "device-error", err);
        mq_vm_request_stop(vm, VM_FAILED, 1);
    } else if (!ret) {
        char detail[128];
        snprintf(detail, sizeof(detail), "loaded '%.60s' in %.3f s", tag,
                 (double)(mq_clock_monotonic_ns() - t0) / 1e9);
        mq_info("vm", "snapshot %s", detail);
        mq_vm_event(vm, "snapshot", detail);
    }
    return ret;
}

int mq_vm_ctl_snapshot_delete(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    return with_harts_parked(vm, mq_virt_snapshot_delete, tag, err, errlen);
}

int mq_vm_ctl_snapshot_list(struct mq_vm *vm, struct mq_vm_snapshot **out, unsigned *count,
                            char *err, size_t errlen)
{
    struct mq_qcow2_snapshot_info *info = NULL;
    unsigned n = 0;
    int ret;

    /* The disk is also used by the I/O thread: read the table with the devices quiet. */
    pthread_mutex_lock(&vm->ctl_lock);
    bool was_paused = vm->paused;
    ret = mq_vm_pause_locked(vm, err, errlen);
    if (!ret) {
        ret = mq_virt_snapshot_list(vm->board, &info, &n, err, errlen);
        if (!was_paused)
            mq_vm_resume_locked(vm);
    }
    pthread_mutex_unlock(&vm->ctl_lock);
    if (ret)
        return ret;
    *out = calloc(n ? n : 1, sizeof(**out));
    if (!*out) {
        mq_qcow2_snapshot_list_free(info, n);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        /* Move the strings over instead of copying them. */
        (*out)[i] = (struct mq_vm_snapshot){
            .id = info[i].id, .name = info[i].name, .date_sec = info[i].date_sec,
            .vm_state_size = info[i].vm_state_size, .vm_clock_ns = info[i].vm_clock_ns};
        info[i].id = info[i].name = NULL;
    }
    mq_qcow2_snapshot_list_free(info, n);
    *count = n;
    return 0;
}

void mq_vm_ctl_snapshot_list_free(struct mq_vm_snapshot *s, unsigned count)
{
    for (unsigned i = 0; s && i < count; i++) {
        free(s[i].id);
        free(s[i].name);
    }
    free(s);
}

void mq_vm_ctl_stats(struct mq_vm *vm, struct mq_vm_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->nharts = mq_virt_nharts(vm->board);
    for (unsigned i = 0; i < out->nharts; i++) {
        struct rv_hart_counters c;
        rv_hart_get_counters(mq_virt_hart(vm->board, i), &c);
        out->hart[i].instret = c.instret;
        out->hart[i].traps = c.traps;
        out->hart[i].page_faults = c.page_faults;
    }
    out->ndisks = mq_virt_ndisks(vm->board);
    for (unsigned i = 0; i < out->ndisks; i++)
        mq_virt_disk_stats(vm->board, i, &out->disk[i]);
    out->nnics = mq_virt_nnics(vm->board);
    for (unsigned i = 0; i < out->nnics; i++)
        mq_virt_nic_stats(vm->board, i, &out->nic[i]);
}

int mq_vm_ctl_link_set(struct mq_vm *vm, unsigned nic, bool up, char *err, size_t errlen)
{
    int ret = mq_virt_set_link(vm->board, nic, up);

    if (ret)
        snprintf(err, errlen, "the VM has no NIC eth%u (it has %u)", nic,
                 mq_virt_nnics(vm->board));
    return ret;
}
