/* SPDX-License-Identifier: MIT */
/*
 * The control API of one running VM: a Unix socket speaking the JSON
 * protocol of docs/api.md (one request per line, one reply per request,
 * events on the same stream), whose commands call vm/vm_ctl.h.
 * vm/vm.c starts it when the VM is given a control socket path.
 */
#ifndef MQ_VM_VM_COMMANDS_H
#define MQ_VM_VM_COMMANDS_H

#include <stddef.h>

#include "vm/vm_ctl.h"

struct mq_vm_commands;

/*
 * Listen on path (created mode 0600, owner only; a stale socket left by a
 * dead process is replaced, a live one is refused with -EADDRINUSE) and
 * serve vm's commands on a thread of its own until mq_vm_commands_stop().
 * *sink is filled with the event sink the VM must report its events to.
 * 0 or -errno with err filled.
 */
int mq_vm_commands_start(struct mq_vm *vm, const char *path, struct mq_vm_commands **out,
                         struct mq_vm_event_sink *sink, char *err, size_t errlen);

/* Close every client, remove the socket file and free. NULL is fine. */
void mq_vm_commands_stop(struct mq_vm_commands *c);

#endif
