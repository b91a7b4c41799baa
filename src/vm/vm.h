/* SPDX-License-Identifier: MIT */
/*
 * One running VM: the board plus a host thread per hart, power events
 * (poweroff ends the run, reboot resets the machine in the same process),
 * host signals and the instruction limit.
 */
#ifndef MQ_VM_VM_H
#define MQ_VM_VM_H

#include <stdint.h>
#include <stdio.h>

#include "machine/virt.h"

/* Exit status of a run stopped by the instruction limit. */
#define MQ_VM_EXIT_LIMIT 3

struct mq_vm_options {
    struct mq_virt_config board; /* console_out/power are set by the VM */
    uint64_t max_insns;          /* per hart; 0 = no limit */
    /* Host CPU the whole VM may use, in % of one core (100 = one core); 0: no cap. */
    unsigned cpu_limit_pct;
    FILE *trace;                 /* instruction trace, or NULL */
    const char *console;         /* "stdio", "file:PATH" or "none" */
    /*
     * Registry name (vm/registry.h: `maquina list`, control by name), or
     * NULL: not registered. With a name and no control_path, the control
     * socket is the registry's NAME.sock.
     */
    const char *name;
    const char *control_path;    /* control API socket, or NULL */
    const char *vm_path;         /* the NAME.vm file, for status; or NULL */
    const char *console_log;     /* where the console goes, for the registry; or NULL */
    /* Start from the machine state of this snapshot of the system disk. */
    const char *restore_tag;
};

/*
 * Boot and run the VM until the guest powers off, a signal arrives, or the
 * instruction limit is reached. *exit_status receives the status the guest
 * asked for (poweroff code), MQ_VM_EXIT_LIMIT, or 128 + signal.
 * Returns 0, or -errno with a one-line reason in err when the VM could not
 * be built or started.
 */
int mq_vm_run(const struct mq_vm_options *opts, int *exit_status, char *err, size_t errlen);

#endif
