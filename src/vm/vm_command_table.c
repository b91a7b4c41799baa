/* SPDX-License-Identifier: MIT */
/*
 * The command table of the control API (docs/api.md): names, summaries and
 * argument lists, with the checks run on every request before its handler
 * (vm_commands.c). Pure: no VM, no socket; fuzz/fuzz_control_api.c drives it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machine/virt.h"
#include "vm/vm_commands_int.h"

#define TAG_MAX 127

enum arg_type { ARG_BOOL, ARG_INT, ARG_TAG };

struct arg_spec {
    const char *name;
    enum arg_type type;
    bool required;
    int64_t min, max;   /* ARG_INT */
    const char *help;
};

const char *mq_vm_command_errno_code(int err)
{
    switch (err) {
    case -EINVAL: case -ERANGE: return "invalid-argument";
    case -ENOENT: return "not-found";
    case -EEXIST: return "exists";
    case -EBUSY: case -EAGAIN: return "busy";
    case -EOPNOTSUPP: case -ENODEV: case -ENOSYS: return "not-supported";
    case -ESHUTDOWN: return "stopping";
    case -EPERM: case -EACCES: return "permission-denied";
    default: return "failed";
    }
}

/* ---- the table ---- */

static const struct arg_spec stop_args[] = {
    {"force", ARG_BOOL, false, 0, 0, "end the VM now instead of pressing the power button"},
    {NULL, 0, false, 0, 0, NULL},
};
static const struct arg_spec tag_args[] = {
    {"tag", ARG_TAG, true, 0, 0, "snapshot name (1 to 127 printable bytes)"},
    {NULL, 0, false, 0, 0, NULL},
};
static const struct arg_spec link_args[] = {
    {"nic", ARG_INT, true, 0, MQ_VIRT_VIRTIO_SLOTS - 1, "NIC index (eth0 = 0)"},
    {"up", ARG_BOOL, true, 0, 0, "true: link up, false: cable pulled"},
    {NULL, 0, false, 0, 0, NULL},
};
static const struct arg_spec events_args[] = {
    {"enable", ARG_BOOL, false, 0, 0, "false: stop receiving events (default true)"},
    {NULL, 0, false, 0, 0, NULL},
};

static const struct mq_vm_command commands[] = {
    {"status", "state, name, pid, harts, memory, uptime and guest clock", NULL, MQ_VM_CMD_STATUS},
    {"pause", "stop every hart and the guest clock", NULL, MQ_VM_CMD_PAUSE},
    {"resume", "continue a paused VM", NULL, MQ_VM_CMD_RESUME},
    {"stop", "press the power button, or end the VM now with force", stop_args, MQ_VM_CMD_STOP},
    {"reset", "hard reset (power cycle in the same process)", NULL, MQ_VM_CMD_RESET},
    {"snapshot-save", "save the machine and disk state as snapshot tag", tag_args,
     MQ_VM_CMD_SNAPSHOT_SAVE},
    {"snapshot-load", "go back to snapshot tag", tag_args, MQ_VM_CMD_SNAPSHOT_LOAD},
    {"snapshot-delete", "delete snapshot tag", tag_args, MQ_VM_CMD_SNAPSHOT_DELETE},
    {"snapshot-list", "the snapshots of the VM's disk", NULL, MQ_VM_CMD_SNAPSHOT_LIST},
    {"stats", "counters of harts, disks and NICs", NULL, MQ_VM_CMD_STATS},
    {"link-set", "set the link of a NIC up or down", link_args, MQ_VM_CMD_LINK_SET},
    {"events", "receive asynchronous events on this connection", events_args, MQ_VM_CMD_EVENTS},
    {"help", "the commands and their arguments", NULL, MQ_VM_CMD_HELP},
    {"commands", "the same as help", NULL, MQ_VM_CMD_HELP},
};

static const char *type_name(enum arg_type t)
{
    return t == ARG_BOOL ? "boolean" : t == ARG_INT ? "integer" : "string";
}

json_object *mq_vm_command_help(void)
{
    json_object *result, *arr = json_object_new_array();

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        for (const struct arg_spec *s = commands[i].args; s && s->name; s++) {
            json_object *ao = json_object_new_object();
            json_object_object_add(ao, "name", json_object_new_string(s->name));
            json_object_object_add(ao, "type", json_object_new_string(type_name(s->type)));
            json_object_object_add(ao, "required", json_object_new_boolean(s->required));
            json_object_object_add(ao, "help", json_object_new_string(s->help));
            json_object_array_add(a, ao);
        }
        json_object_object_add(o, "name", json_object_new_string(commands[i].name));
        json_object_object_add(o, "summary", json_object_new_string(commands[i].summary));
        json_object_object_add(o, "args", a);
        json_object_array_add(arr, o);
    }
    result = json_object_new_object();
    json_object_object_add(result, "commands", arr);
    return result;
}

const struct mq_vm_command *mq_vm_command_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    }
    return NULL;
}

static int bad_arg(struct mq_control_error *e, const char *cmd, const char *name,
                   const char *why)
{
    e->code = "invalid-argument";
    snprintf(e->message, sizeof(e->message), "%s: argument \"%.64s\" %s", cmd, name, why);
    return -EINVAL;
}

static int check_one(const struct mq_vm_command *cmd, const struct arg_spec *s,
                     json_object *v, struct mq_control_error *e)
{
    const char *str;
    size_t len;
    int64_t n;

    switch (s->type) {
    case ARG_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return bad_arg(e, cmd->name, s->name, "must be true or false");
        return 0;
    case ARG_INT:
        if (!json_object_is_type(v, json_type_int))
            return bad_arg(e, cmd->name, s->name, "must be an integer");
        errno = 0;
        n = json_object_get_int64(v);
        if (errno || n < s->min || n > s->max)
            return bad_arg(e, cmd->name, s->name, "is out of range");
        return 0;
    case ARG_TAG:
        if (!json_object_is_type(v, json_type_string))
            return bad_arg(e, cmd->name, s->name, "must be a string");
        str = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (len == 0 || len > TAG_MAX || strlen(str) != len)
            return bad_arg(e, cmd->name, s->name, "must be 1 to 127 bytes");
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)str[i] < 0x20 || str[i] == 0x7f)
                return bad_arg(e, cmd->name, s->name, "must not hold control characters");
        }
        return 0;
    }
    return bad_arg(e, cmd->name, s->name, "has an unknown type");
}

int mq_vm_command_check_args(const struct mq_vm_command *cmd, json_object *args,
                             struct mq_control_error *e)
{
    const struct arg_spec *s;

    if (args) {
        json_object_object_foreach(args, key, val) {
            for (s = cmd->args; s && s->name; s++) {
                if (!strcmp(s->name, key))
                    break;
            }
            if (!s || !s->name)
                return bad_arg(e, cmd->name, key, "is not known (see \"help\")");
            if (check_one(cmd, s, val, e))
                return -EINVAL;
        }
    }
    for (s = cmd->args; s && s->name; s++) {
        if (s->required && !(args && json_object_object_get_ex(args, s->name, NULL)))
            return bad_arg(e, cmd->name, s->name, "is required");
    }
    return 0;
}

int mq_vm_command_lookup(const struct mq_control_request *req,
                          const struct mq_vm_command **out, struct mq_control_error *e)
{
    const struct mq_vm_command *cmd = mq_vm_command_find(req->cmd);

    if (!cmd) {
        e->code = "unknown-command";
        snprintf(e->message, sizeof(e->message), "unknown command \"%.64s\" (see \"help\")",
                 req->cmd);
        return -EINVAL;
    }
    *out = cmd;
    return mq_vm_command_check_args(cmd, req->args, e);
}

int mq_vm_command_validate_line(const char *line, size_t len, struct mq_control_error *e)
{
    struct mq_control_request req;
    const struct mq_vm_command *cmd;
    int ret = mq_control_decode(line, len, &req, e);

    if (!ret)
        ret = mq_vm_command_lookup(&req, &cmd, e);
    json_object_put(req.root);
    return ret;
}

