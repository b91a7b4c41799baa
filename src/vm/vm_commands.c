/* SPDX-License-Identifier: MIT */
/*
 * The commands of the control API (docs/api.md): a table of names,
 * argument lists and handlers calling vm/vm_ctl.h, served by vm/control.c.
 */
#include "vm/vm_commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_commands_int.h"

struct mq_vm_commands {
    struct mq_vm *vm;
    struct mq_control *ctl;
};

typedef int command_fn(struct mq_vm_commands *vc, struct mq_control_client *cl,
                       json_object *args, json_object **result, struct mq_control_error *e);

/* ---- helpers ---- */

/* Turn a vm_ctl.h failure into an error reply. */
static int ctl_fail(struct mq_control_error *e, int ret, const char *what, const char *err)
{
    e->code = mq_vm_command_errno_code(ret);
    snprintf(e->message, sizeof(e->message), "%s: %s", what, err[0] ? err : strerror(-ret));
    return ret;
}

static json_object *arg(json_object *args, const char *name)
{
    json_object *v = NULL;

    if (args && json_object_object_get_ex(args, name, &v))
        return v;
    return NULL;
}

static bool arg_bool(json_object *args, const char *name, bool dflt)
{
    json_object *v = arg(args, name);

    return v ? json_object_get_boolean(v) : dflt;
}

static json_object *u64(uint64_t v)
{
    return json_object_new_uint64(v);
}

/* ---- handlers ---- */

static int cmd_status(struct mq_vm_commands *vc, struct mq_control_client *cl,
                      json_object *args, json_object **result, struct mq_control_error *e)
{
    struct mq_vm_info info;
    json_object *o = json_object_new_object();

    memset(&info, 0, sizeof(info));
    mq_vm_ctl_info(vc->vm, &info);
    json_object_object_add(o, "state", json_object_new_string(mq_vm_state_name(info.state)));
    json_object_object_add(o, "name", info.name ? json_object_new_string(info.name) : NULL);
    json_object_object_add(o, "vm_path",
                           info.vm_path ? json_object_new_string(info.vm_path) : NULL);
    json_object_object_add(o, "pid", json_object_new_int64(info.pid));
    json_object_object_add(o, "harts", u64(info.nharts));
    json_object_object_add(o, "memory", u64(info.ram_size));
    json_object_object_add(o, "uptime_ns", u64(info.uptime_ns));
    json_object_object_add(o, "guest_ns", u64(info.guest_ns));
    *result = o;
    return 0;
}

static int cmd_pause(struct mq_vm_commands *vc, struct mq_control_client *cl,
                     json_object *args, json_object **result, struct mq_control_error *e)
{
    char err[256] = "";
    int ret = mq_vm_ctl_pause(vc->vm, err, sizeof(err));

    return ret ? ctl_fail(e, ret, "pause", err) : 0;
}

static int cmd_resume(struct mq_vm_commands *vc, struct mq_control_client *cl,
                      json_object *args, json_object **result, struct mq_control_error *e)
{
    char err[256] = "";
    int ret = mq_vm_ctl_resume(vc->vm, err, sizeof(err));

    return ret ? ctl_fail(e, ret, "resume", err) : 0;
}

static int cmd_stop(struct mq_vm_commands *vc, struct mq_control_client *cl,
                    json_object *args, json_object **result, struct mq_control_error *e)
{
    char err[256] = "";
    bool force = arg_bool(args, "force", false);
    int ret = mq_vm_ctl_stop(vc->vm, force, err, sizeof(err));

    if (ret == -ENODEV && !force) {
        e->code = "not-supported";
        snprintf(e->message, sizeof(e->message), "stop: the machine cannot ask the guest to "
                 "shut down (%s); use {\"force\": true}", err[0] ? err : "no power button");
        return ret;
    }
    if (ret)
        return ctl_fail(e, ret, "stop", err);
    *result = json_object_new_object();
    json_object_object_add(*result, "force", json_object_new_boolean(force));
    return 0;
}

static int cmd_reset(struct mq_vm_commands *vc, struct mq_control_client *cl,
                     json_object *args, json_object **result, struct mq_control_error *e)
{
    char err[256] = "";
    int ret = mq_vm_ctl_reset(vc->vm, err, sizeof(err));

    return ret ? ctl_fail(e, ret, "reset", err) : 0;
}

typedef int snap_fn(struct mq_vm *vm, const char *tag, char *err, size_t errlen);

static int snapshot_op(struct mq_vm_commands *vc, json_object *args, json_object **result,
                       struct mq_control_error *e, snap_fn *fn, const char *what)
{
    char err[256] = "";
    const char *tag = json_object_get_string(arg(args, "tag"));
    int ret = fn(vc->vm, tag, err, sizeof(err));

    if (ret)
        return ctl_fail(e, ret, what, err);
    *result = json_object_new_object();
    json_object_object_add(*result, "tag", json_object_new_string(tag));
    return 0;
}

static int cmd_snap_save(struct mq_vm_commands *vc, struct mq_control_client *cl,
                         json_object *args, json_object **result, struct mq_control_error *e)
{
    return snapshot_op(vc, args, result, e, mq_vm_ctl_snapshot_save, "snapshot-save");
}

static int cmd_snap_load(struct mq_vm_commands *vc, struct mq_control_client *cl,
                         json_object *args, json_object **result, struct mq_control_error *e)
{
    return snapshot_op(vc, args, result, e, mq_vm_ctl_snapshot_load, "snapshot-load");
}

static int cmd_snap_delete(struct mq_vm_commands *vc, struct mq_control_client *cl,
                           json_object *args, json_object **result, struct mq_control_error *e)
{
    return snapshot_op(vc, args, result, e, mq_vm_ctl_snapshot_delete, "snapshot-delete");
}

static int cmd_snap_list(struct mq_vm_commands *vc, struct mq_control_client *cl,
                         json_object *args, json_object **result, struct mq_control_error *e)
{
    struct mq_vm_snapshot *s = NULL;
    unsigned n = 0;
    char err[256] = "";
    json_object *arr;
    int ret = mq_vm_ctl_snapshot_list(vc->vm, &s, &n, err, sizeof(err));

    if (ret)
        return ctl_fail(e, ret, "snapshot-list", err);
    arr = json_object_new_array();
    for (unsigned i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(s[i].id ? s[i].id : ""));
        json_object_object_add(o, "name", json_object_new_string(s[i].name ? s[i].name : ""));
        json_object_object_add(o, "date", u64(s[i].date_sec));
        json_object_object_add(o, "vm_state_size", u64(s[i].vm_state_size));
        json_object_object_add(o, "vm_clock_ns", u64(s[i].vm_clock_ns));
        json_object_array_add(arr, o);
    }
    mq_vm_ctl_snapshot_list_free(s, n);
    *result = json_object_new_object();
    json_object_object_add(*result, "snapshots", arr);
    return 0;
}

static json_object *disk_stats(const struct mq_virt_disk_stats *d)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "rd_reqs", u64(d->rd_reqs));
    json_object_object_add(o, "rd_bytes", u64(d->rd_bytes));
    json_object_object_add(o, "wr_reqs", u64(d->wr_reqs));
    json_object_object_add(o, "wr_bytes", u64(d->wr_bytes));
    json_object_object_add(o, "flush_reqs", u64(d->flush_reqs));
    json_object_object_add(o, "errors", u64(d->errors));
    return o;
}

static json_object *nic_stats(const struct mq_virt_nic_stats *n)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "tx_frames", u64(n->tx_frames));
    json_object_object_add(o, "tx_bytes", u64(n->tx_bytes));
    json_object_object_add(o, "tx_dropped", u64(n->tx_dropped));
    json_object_object_add(o, "rx_frames", u64(n->rx_frames));
    json_object_object_add(o, "rx_bytes", u64(n->rx_bytes));
    json_object_object_add(o, "rx_dropped", u64(n->rx_dropped));
    json_object_object_add(o, "link_up", json_object_new_boolean(n->link_up));
    return o;
}

static int cmd_stats(struct mq_vm_commands *vc, struct mq_control_client *cl,
                     json_object *args, json_object **result, struct mq_control_error *e)
{
    struct mq_vm_stats *st = calloc(1, sizeof(*st));
    json_object *o, *harts, *disks, *nics;

    if (!st)
        return ctl_fail(e, -ENOMEM, "stats", "");
    mq_vm_ctl_stats(vc->vm, st);
    harts = json_object_new_array();
    for (unsigned i = 0; i < st->nharts && i < MQ_VIRT_MAX_HARTS; i++) {
        json_object *h = json_object_new_object();
        json_object_object_add(h, "instret", u64(st->hart[i].instret));
        json_object_object_add(h, "traps", u64(st->hart[i].traps));
        json_object_object_add(h, "page_faults", u64(st->hart[i].page_faults));
        json_object_array_add(harts, h);
    }
    disks = json_object_new_array();
    for (unsigned i = 0; i < st->ndisks && i < MQ_VIRT_VIRTIO_SLOTS; i++)
        json_object_array_add(disks, disk_stats(&st->disk[i]));
    nics = json_object_new_array();
    for (unsigned i = 0; i < st->nnics && i < MQ_VIRT_VIRTIO_SLOTS; i++)
        json_object_array_add(nics, nic_stats(&st->nic[i]));
    free(st);
    o = json_object_new_object();
    json_object_object_add(o, "harts", harts);
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "nics", nics);
    *result = o;
    return 0;
}

static int cmd_link_set(struct mq_vm_commands *vc, struct mq_control_client *cl,
                        json_object *args, json_object **result, struct mq_control_error *e)
{
    char err[256] = "";
    unsigned nic = (unsigned)json_object_get_int64(arg(args, "nic"));
    bool up = arg_bool(args, "up", true);
    int ret = mq_vm_ctl_link_set(vc->vm, nic, up, err, sizeof(err));

    if (ret)
        return ctl_fail(e, ret, "link-set", err);
    *result = json_object_new_object();
    json_object_object_add(*result, "nic", u64(nic));
    json_object_object_add(*result, "up", json_object_new_boolean(up));
    return 0;
}

static int cmd_events(struct mq_vm_commands *vc, struct mq_control_client *cl,
                      json_object *args, json_object **result, struct mq_control_error *e)
{
    bool on = arg_bool(args, "enable", true);

    mq_control_client_subscribe(cl, on);
    *result = json_object_new_object();
    json_object_object_add(*result, "subscribed", json_object_new_boolean(on));
    return 0;
}

static int cmd_help(struct mq_vm_commands *vc, struct mq_control_client *cl,
                    json_object *args, json_object **result, struct mq_control_error *e)
{
    *result = mq_vm_command_help();
    return 0;
}

/* The handler of each command of the table (vm_command_table.c). */
static command_fn *const handlers[MQ_VM_CMD_COUNT] = {
    [MQ_VM_CMD_STATUS] = cmd_status,
    [MQ_VM_CMD_PAUSE] = cmd_pause,
    [MQ_VM_CMD_RESUME] = cmd_resume,
    [MQ_VM_CMD_STOP] = cmd_stop,
    [MQ_VM_CMD_RESET] = cmd_reset,
    [MQ_VM_CMD_SNAPSHOT_SAVE] = cmd_snap_save,
    [MQ_VM_CMD_SNAPSHOT_LOAD] = cmd_snap_load,
    [MQ_VM_CMD_SNAPSHOT_DELETE] = cmd_snap_delete,
    [MQ_VM_CMD_SNAPSHOT_LIST] = cmd_snap_list,
    [MQ_VM_CMD_STATS] = cmd_stats,
    [MQ_VM_CMD_LINK_SET] = cmd_link_set,
    [MQ_VM_CMD_EVENTS] = cmd_events,
    [MQ_VM_CMD_HELP] = cmd_help,
};

/* ---- the server ---- */

static int dispatch(void *opaque, struct mq_control_client *cl,
                    const struct mq_control_request *req, json_object **result,
                    struct mq_control_error *e)
{
    struct mq_vm_commands *vc = opaque;
    const struct mq_vm_command *cmd;
    int ret = mq_vm_command_lookup(req, &cmd, e);

    if (ret)
        return ret;
    if (cmd->id >= MQ_VM_CMD_COUNT || !handlers[cmd->id]) {
        e->code = "not-supported";
        snprintf(e->message, sizeof(e->message), "%s: not implemented", cmd->name);
        return -ENOSYS;
    }
    return handlers[cmd->id](vc, cl, req->args, result, e);
}

static void on_event(void *opaque, const char *name, const char *detail)
{
    struct mq_vm_commands *vc = opaque;

    mq_control_event(vc->ctl, name, detail);
}

int mq_vm_commands_start(struct mq_vm *vm, const char *path, struct mq_vm_commands **out,
                         struct mq_vm_event_sink *sink, char *err, size_t errlen)
{
    struct mq_vm_commands *vc = calloc(1, sizeof(*vc));
    int ret;

    if (!vc) {
        snprintf(err, errlen, "control: out of memory");
        return -ENOMEM;
    }
    vc->vm = vm;
    ret = mq_control_start(path, dispatch, vc, &vc->ctl, err, errlen);
    if (ret) {
        free(vc);
        return ret;
    }
    if (sink) {
        sink->event = on_event;
        sink->opaque = vc;
    }
    *out = vc;
    return 0;
}

void mq_vm_commands_stop(struct mq_vm_commands *c)
{
    if (!c)
        return;
    mq_control_stop(c->ctl);
    free(c);
}

struct mq_control *mq_vm_commands_server(struct mq_vm_commands *c)
{
    return c->ctl;
}
