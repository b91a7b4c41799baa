/* SPDX-License-Identifier: MIT */
/* A running VM's private state, shared by vm.c (threads) and vm_ctl.c (control calls). */
#ifndef MQ_VM_VM_INT_H
#define MQ_VM_VM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "machine/virt.h"
#include "vm/vm.h"
#include "vm/vm_ctl.h"

enum vm_stop {
    VM_RUNNING,
    VM_POWEROFF,
    VM_REBOOT,
    VM_LIMIT,
    VM_SIGNAL,
    VM_QUIT,   /* Ctrl-A x, or a forced stop through the control API */
    VM_FAILED, /* the machine cannot go on (a snapshot load could not be undone) */
};

struct mq_vm {
    const struct mq_vm_options *opts;
    struct mq_virt *board;
    struct mq_event_loop *loop;
    struct mq_console *console;
    struct mq_vm_commands *commands;
    struct mq_vm_event_sink events;
    char name[80];             /* registry name, "" when not registered */
    uint64_t start_ns;         /* host monotonic */
    pthread_t threads[MQ_VIRT_MAX_HARTS];
    /* Serializes the mq_vm_ctl_* calls that change the machine. */
    pthread_mutex_t ctl_lock;
    /* Protects everything below; cond signals changes of any of it. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum vm_stop stop;
    int exit_status;
    bool pause_req;            /* harts are to park */
    bool paused;               /* every live hart thread is parked, the clock stopped */
    unsigned live;             /* hart threads running (not yet ended) */
    unsigned parked;           /* of those, parked for the pause */
};

/* Ask the run loop to stop for why (the first request wins). Any thread. */
void mq_vm_request_stop(struct mq_vm *vm, enum vm_stop why, int status);

/* Park every hart and stop the guest clock / undo it. ctl_lock held. */
int mq_vm_pause_locked(struct mq_vm *vm, char *err, size_t errlen);
void mq_vm_resume_locked(struct mq_vm *vm);

/* Report an event to the control API, if one listens. Any thread. */
void mq_vm_event(struct mq_vm *vm, const char *name, const char *detail);

#endif
