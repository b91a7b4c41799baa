/* SPDX-License-Identifier: MIT */
/*
 * The command table of the control API, for vm_commands.c, its tests and
 * fuzz/fuzz_control_api.c: look a command up and check its arguments
 * without running it (no VM needed).
 */
#ifndef MQ_VM_VM_COMMANDS_INT_H
#define MQ_VM_VM_COMMANDS_INT_H

#include "vm/control.h"

enum mq_vm_cmd_id {
    MQ_VM_CMD_STATUS,
    MQ_VM_CMD_PAUSE,
    MQ_VM_CMD_RESUME,
    MQ_VM_CMD_STOP,
    MQ_VM_CMD_RESET,
    MQ_VM_CMD_SNAPSHOT_SAVE,
    MQ_VM_CMD_SNAPSHOT_LOAD,
    MQ_VM_CMD_SNAPSHOT_DELETE,
    MQ_VM_CMD_SNAPSHOT_LIST,
    MQ_VM_CMD_STATS,
    MQ_VM_CMD_LINK_SET,
    MQ_VM_CMD_EVENTS,
    MQ_VM_CMD_HELP,
    MQ_VM_CMD_COUNT
};

struct arg_spec;

struct mq_vm_command {
    const char *name;
    const char *summary;
    const struct arg_spec *args; /* NULL-name terminated, or NULL */
    enum mq_vm_cmd_id id;
};

/* The command named name, or NULL. */
const struct mq_vm_command *mq_vm_command_find(const char *name);

/*
 * Check args (an object or NULL) against the command's argument list:
 * unknown names, wrong types, out-of-range values and missing required
 * arguments are "invalid-argument". 0 or -EINVAL with e filled.
 */
int mq_vm_command_check_args(const struct mq_vm_command *cmd, json_object *args,
                             struct mq_control_error *e);

/*
 * Find req's command and check its arguments: 0 with *out set, or -EINVAL
 * with e filled ("unknown-command", "invalid-argument").
 */
int mq_vm_command_lookup(const struct mq_control_request *req,
                         const struct mq_vm_command **out, struct mq_control_error *e);

/* {"commands": [{"name", "summary", "args": [{"name", "type", "required", "help"}]}]} */
json_object *mq_vm_command_help(void);

/* The error code for a negative errno from vm_ctl.h ("not-found", ...). */
const char *mq_vm_command_errno_code(int err);

/*
 * Decode a request line, find its command and check its arguments: what
 * the server does before running a command. 0, or -EINVAL with e filled.
 */
int mq_vm_command_validate_line(const char *line, size_t len, struct mq_control_error *e);

/* The server behind c (for tests: client counts). */
struct mq_vm_commands;
struct mq_control *mq_vm_commands_server(struct mq_vm_commands *c);

#endif
