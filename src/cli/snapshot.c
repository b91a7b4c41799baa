/* SPDX-License-Identifier: MIT */
/*
 * `maquina snapshot`: save, load, list and delete snapshots of a VM. On a
 * running VM the request goes to the VM through its control socket and
 * covers the whole machine (harts, devices, RAM) and its disks; on a
 * stopped one it acts on the disk state in the file (docs/cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"
#include "image/vm_file.h"
#include "vm/registry.h"

/* A snapshot of a large guest takes a while to compress and write. */
#define ONLINE_TIMEOUT_MS (15 * 60 * 1000)

enum snap_op { OP_SAVE, OP_LOAD, OP_LIST, OP_DELETE };

static const char *const op_names[] = {"save", "load", "list", "delete"};

static void snapshot_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina snapshot NAME.vm|NAME save|load|delete TAG\n"
        "       maquina snapshot NAME.vm|NAME list [--json]\n"
        "\n"
        "Snapshots live inside the VM file (qcow2 internal snapshots).\n"
        "\n"
        "On a running VM (found by its file or its name, see 'maquina list'):\n"
        "  save TAG     pauses the VM, writes the state of every hart and device and\n"
        "               the RAM together with the disk state, and lets it run on\n"
        "  load TAG     brings the running machine back to that moment\n"
        "On a stopped VM they act on the disk state only; a snapshot saved from a\n"
        "running VM can then be started with 'maquina run NAME.vm --restore TAG'.\n"
        "  delete TAG   removes it (from the extra qcow2 disks too)\n"
        "  list         ID, name, date, machine-state size and guest clock\n"
        "\n"
        "Writable extra disks take part: qcow2 ones get the same TAG; a writable raw\n"
        "disk makes saving refuse (give it ro or convert it with 'maquina img convert').\n"
        "\n"
        "Examples:\n"
        "  maquina snapshot web.vm save before-upgrade\n"
        "  maquina snapshot web.vm load before-upgrade\n"
        "  maquina snapshot web list\n");
}

static void iso_date(uint64_t sec, char *buf, size_t len)
{
    time_t t = (time_t)sec;
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, len, "%" PRIu64, sec);
}

struct snap_row {
    const char *id, *name;
    uint64_t date, vm_state_size, vm_clock_ns;
};

static void print_rows(const struct snap_row *rows, unsigned n, bool json)
{
    if (json) {
        json_object *arr = json_object_new_array();
        for (unsigned i = 0; i < n; i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_string(rows[i].id));
            json_object_object_add(o, "name", json_object_new_string(rows[i].name));
            json_object_object_add(o, "date", json_object_new_int64((int64_t)rows[i].date));
            json_object_object_add(o, "vm_state_size",
                                   json_object_new_int64((int64_t)rows[i].vm_state_size));
            json_object_object_add(o, "vm_clock_ns",
                                   json_object_new_int64((int64_t)rows[i].vm_clock_ns));
            json_object_array_add(arr, o);
        }
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
        json_object_put(arr);
        return;
    }
    printf("%-4s %-24s %-20s %-14s %s\n", "ID", "TAG", "DATE (UTC)", "MACHINE STATE",
           "GUEST CLOCK");
    for (unsigned i = 0; i < n; i++) {
        char date[32], size[32], clock[32];
        iso_date(rows[i].date, date, sizeof(date));
        if (rows[i].vm_state_size)
            snprintf(size, sizeof(size), "%.1f MiB", (double)rows[i].vm_state_size / 1048576.0);
        else
            snprintf(size, sizeof(size), "none");
        snprintf(clock, sizeof(clock), "%.3f s", (double)rows[i].vm_clock_ns / 1e9);
        printf("%-4s %-24s %-20s %-14s %s\n", rows[i].id, rows[i].name, date, size,
               rows[i].vm_state_size ? clock : "-");
    }
}

/* ---- a running VM ---- */

static uint64_t get_u64(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int online(const struct mq_vm_entry *e, enum snap_op op, const char *tag, bool json)
{
    static const char *const cmds[] = {"snapshot-save", "snapshot-load", "snapshot-list",
                                       "snapshot-delete"};
    json_object *args = NULL, *result = NULL, *arr;
    char err[1024];
    int ret;

    if (tag) {
        args = json_object_new_object();
        json_object_object_add(args, "tag", json_object_new_string(tag));
    }
    ret = mq_ctl_request(e->socket_path, cmds[op], args, ONLINE_TIMEOUT_MS, &result, NULL, 0,
                         err, sizeof(err));
    json_object_put(args);
    if (ret) {
        mq_cli_error("snapshot", "%s: %s", e->name, err);
        return 1;
    }
    if (op == OP_LIST && json_object_object_get_ex(result, "snapshots", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        struct snap_row *rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            rows[i] = (struct snap_row){get_str(o, "id"), get_str(o, "name"), get_u64(o, "date"),
                                        get_u64(o, "vm_state_size"), get_u64(o, "vm_clock_ns")};
        }
        if (rows)
            print_rows(rows, (unsigned)n, json);
        free(rows);
    } else if (op != OP_LIST) {
        printf("%s: %s snapshot '%s' of the running VM (machine and disks)\n", e->name,
               op == OP_SAVE ? "saved" : op == OP_LOAD ? "loaded" : "deleted", tag);
    }
    json_object_put(result);
    return 0;
}

/* ---- a stopped VM ---- */

struct disks {
    struct mq_blockdev *bd[1 + MQ_VM_MAX_DISKS];
    const char *path[1 + MQ_VM_MAX_DISKS];
    unsigned n;
};

static bool has_snapshot(struct mq_blockdev *bd, const char *tag)
{
    return mq_qcow2_snapshot_find(bd, tag, NULL) == 0;
}

/* The file's system disk plus its writable extra disks, which take part like on a running VM. */
static int open_disks(struct mq_vm_file *f, struct mq_vm_board *vb, struct disks *d)
{
    char err[512];

    d->bd[0] = f->bd;
    d->path[0] = f->path;
    d->n = 1;
    for (unsigned i = 1; i < vb->ndisks; i++) {
        const struct mq_vm_board_disk *x = &vb->disks[i];
        int ret;
        if (x->read_only)
            continue;
        ret = mq_blockdev_open(x->path, x->format, 0, &d->bd[d->n], err, sizeof(err));
        if (ret) {
            mq_cli_error("snapshot", "%s", err);
            return ret;
        }
        d->path[d->n] = x->path;
        if (strcmp(d->bd[d->n++]->ops->format, "qcow2")) {
            mq_cli_error("snapshot", "disk %s is writable but raw, so it cannot take part in a "
                         "snapshot: make it ro or convert it to qcow2", x->path);
            return -EOPNOTSUPP;
        }
    }
    return 0;
}

static void close_disks(struct disks *d)
{
    for (unsigned i = 1; i < d->n; i++)
        mq_blockdev_close(d->bd[i]);
}

static int list_offline(struct mq_blockdev *bd, bool json)
{
    struct mq_qcow2_snapshot_info *s;
    struct snap_row *rows;
    unsigned n;
    int ret = mq_qcow2_snapshot_list(bd, &s, &n);

    if (ret) {
        mq_cli_error("snapshot", "cannot read the snapshot table: %s", strerror(-ret));
        return 1;
    }
    rows = calloc(n ? n : 1, sizeof(*rows));
    for (unsigned i = 0; rows && i < n; i++)
        rows[i] = (struct snap_row){s[i].id, s[i].name, s[i].date_sec, s[i].vm_state_size,
                                    s[i].vm_clock_ns};
    if (rows)
        print_rows(rows, n, json);
    free(rows);
    mq_qcow2_snapshot_list_free(s, n);
    return rows ? 0 : 1;
}

static int change_offline(struct disks *d, enum snap_op op, const char *tag)
{
    /* Check every disk first, so a refusal changes nothing. */
    for (unsigned i = 0; i < d->n; i++) {
        bool has = has_snapshot(d->bd[i], tag);
        if (op == OP_SAVE && has) {
            mq_cli_error("snapshot", "%s already has a snapshot '%s' (delete it first)",
                         d->path[i], tag);
            return 1;
        }
        if (op == OP_LOAD && !has) {
            mq_cli_error("snapshot", "%s has no snapshot '%s'", d->path[i], tag);
            return 1;
        }
    }
    if (op == OP_DELETE && !has_snapshot(d->bd[0], tag)) {
        mq_cli_error("snapshot", "%s has no snapshot '%s'", d->path[0], tag);
        return 1;
    }
    for (unsigned i = 0; i < d->n; i++) {
        int ret = 0;
        if (op == OP_SAVE)
            ret = mq_qcow2_snapshot_create(d->bd[i], tag, NULL, 0);
        else if (op == OP_LOAD)
            ret = mq_qcow2_snapshot_apply(d->bd[i], tag);
        else if (has_snapshot(d->bd[i], tag))
            ret = mq_qcow2_snapshot_delete(d->bd[i], tag);
        if (ret) {
            mq_cli_error("snapshot", "%s: cannot %s snapshot '%s': %s", d->path[i],
                         op_names[op], tag, strerror(-ret));
            return 1;
        }
    }
    printf("%s: %s snapshot '%s' (disk state%s)\n", d->path[0],
           op == OP_SAVE ? "saved" : op == OP_LOAD ? "applied" : "deleted", tag,
           d->n > 1 ? ", extra disks too" : "");
    return 0;
}

static int offline(const char *path, enum snap_op op, const char *tag, bool json)
{
    struct mq_vm_file *f;
    struct mq_vm_board vb;
    struct disks d = {0};
    char err[512];
    int ret;

    memset(&vb, 0, sizeof(vb));
    ret = mq_vm_file_open(path, op == OP_LIST ? 0 : MQ_VM_OPEN_WRITE, &f, err, sizeof(err));
    if (ret) {
        mq_cli_error("snapshot", "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (op == OP_LIST) {
        ret = list_offline(f->bd, json);
        mq_vm_file_close(f);
        return ret;
    }
    ret = mq_vm_config_to_board(&f->config, path, &vb, err, sizeof(err));
    if (ret) {
        mq_cli_error("snapshot", "%s", err);
        mq_vm_file_close(f);
        return MQ_EXIT_USAGE;
    }
    ret = open_disks(f, &vb, &d) ? 1 : change_offline(&d, op, tag);
    close_disks(&d);
    mq_vm_board_free(&vb);
    mq_vm_file_close(f);
    return ret;
}

static int parse_op(const char *s, enum snap_op *op)
{
    for (unsigned i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (!strcmp(s, op_names[i])) {
            *op = (enum snap_op)i;
            return 0;
        }
    }
    return -1;
}

static bool is_vm_path(const char *s)
{
    size_t n = strlen(s);

    return n > 3 && !strcmp(s + n - 3, ".vm");
}

int mq_cmd_snapshot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mq_vm_entry e;
    const char *target, *tag = NULL;
    enum snap_op op;
    bool json = false;
    char err[512];
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            snapshot_usage(stdout);
            return 0;
        }
        if (c != 'j') {
            mq_cli_error("snapshot", "unknown option '%s' (see 'maquina snapshot --help')",
                         argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
        json = true;
    }
    if (argc - optind < 2 || parse_op(argv[optind + 1], &op)) {
        mq_cli_error("snapshot", "usage: maquina snapshot NAME.vm save|load|list|delete [TAG]");
        return MQ_EXIT_USAGE;
    }
    target = argv[optind];
    if (op != OP_LIST) {
        if (argc - optind != 3 || !argv[optind + 2][0] || strlen(argv[optind + 2]) > 1023) {
            mq_cli_error("snapshot", "%s needs one TAG of 1 to 1023 bytes", op_names[op]);
            return MQ_EXIT_USAGE;
        }
        tag = argv[optind + 2];
    } else if (argc - optind != 2) {
        mq_cli_error("snapshot", "list takes no TAG");
        return MQ_EXIT_USAGE;
    }
    if (is_vm_path(target)) {
        if (mq_vm_registry_find_path(target, &e, err, sizeof(err)) == 0)
            return online(&e, op, tag, json);
        return offline(target, op, tag, json);
    }
    if (mq_vm_registry_find(target, &e, err, sizeof(err))) {
        mq_cli_error("snapshot", "no running VM is called '%s' (give NAME.vm for a stopped one)",
                     target);
        return MQ_EXIT_USAGE;
    }
    return online(&e, op, tag, json);
}
