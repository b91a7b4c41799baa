/* SPDX-License-Identifier: MIT */
/*
 * `maquina info`: show a .vm's configuration, sizes and snapshots, as text
 * or as the JSON object documented in docs/cli.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "block/qcow2.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "image/vm_file.h"

static void info_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina info NAME.vm [--json]\n"
        "\n"
        "Show a VM file: its configuration, the virtual size of its system disk, the\n"
        "space the file takes on the host, its backing file and linked clones, and\n"
        "its snapshots (date, size, whether they hold machine state).\n"
        "\n"
        "  --json               one JSON object (format in docs/cli.md)\n"
        "  -h, --help           this help\n"
        "\n"
        "Example: maquina info debian.vm --json\n");
}

/* "1.5 GiB" style, for people; exact bytes go next to it. */
static void human(uint64_t v, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    unsigned u = 0;

    while (d >= 1024 && u < 4)
        d /= 1024, u++;
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", v);
    else
        snprintf(buf, len, "%.3g %s", d, unit[u]);
}

static void iso_date(uint64_t sec, char *buf, size_t len)
{
    time_t t = (time_t)sec;
    struct tm tm;

    if (sec > (uint64_t)INT64_MAX || !gmtime_r(&t, &tm) ||
        !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%" PRIu64, sec);
}

struct info {
    struct mq_vm_file *f;
    uint64_t allocated;
    struct mq_qcow2_snapshot_info *snaps;
    unsigned nsnaps;
    char *clones; /* NUL-separated live linked clones */
    unsigned nclones;
};

static void print_config_line(const struct mq_vm_config *c, const char *key, const char *label)
{
    char *v = NULL;

    if (!mq_vm_config_get(c, key, &v, NULL, 0))
        printf("%-15s %s\n", label, *v ? v : "-");
    free(v);
}

static void print_text(const struct info *in)
{
    const struct mq_vm_config *c = &in->f->config;
    char a[32], b[32];

    printf("%-15s %s\n", "file:", in->f->path);
    print_config_line(c, "name", "name:");
    print_config_line(c, "uuid", "uuid:");
    print_config_line(c, "created", "created:");
    print_config_line(c, "memory", "memory:");
    print_config_line(c, "smp", "harts:");
    print_config_line(c, "firmware", "firmware:");
    print_config_line(c, "kernel", "kernel:");
    print_config_line(c, "initrd", "initrd:");
    print_config_line(c, "append", "append:");
    printf("%-15s %s (system disk, qcow2)\n", "disk vda:", in->f->path);
    for (unsigned i = 0; i < c->ndisks; i++) {
        const struct mq_vm_disk_cfg *d = &c->disks[i];

        snprintf(a, sizeof(a), "disk vd%c:", 'b' + i);
        printf("%-15s %s (%s%s%s%s)\n", a, d->path, d->format ? d->format : "detect",
               d->read_only ? ", ro" : "", d->serial ? ", serial=" : "",
               d->serial ? d->serial : "");
    }
    for (unsigned i = 0; i < c->nnics; i++) {
        mq_vm_mac_format(c->nics[i].mac, b);
        snprintf(a, sizeof(a), "nic %u:", i);
        printf("%-15s %s %s\n", a, b, c->nics[i].net);
    }
    human(in->f->bd->size, a, sizeof(a));
    printf("%-15s %s (%" PRIu64 " bytes)\n", "virtual size:", a, in->f->bd->size);
    human(in->allocated, a, sizeof(a));
    printf("%-15s %s (%" PRIu64 " bytes)\n", "allocated:", a, in->allocated);
    if (in->f->backing)
        printf("%-15s %s (linked clone)\n", "backing file:", in->f->backing);
    for (const char *p = in->clones; p && *p; p += strlen(p) + 1)
        printf("%-15s %s\n", "linked clone:", p);
    printf("%-15s %u\n", "snapshots:", in->nsnaps);
    if (in->nsnaps)
        printf("  %-4s %-20s %-20s %-12s %s\n", "ID", "NAME", "DATE", "VM STATE", "DISK");
    for (unsigned i = 0; i < in->nsnaps; i++) {
        const struct mq_qcow2_snapshot_info *s = &in->snaps[i];
        char date[32];

        iso_date(s->date_sec, date, sizeof(date));
        human(s->vm_state_size, a, sizeof(a));
        human(s->disk_size, b, sizeof(b));
        printf("  %-4s %-20s %-20s %-12s %s\n", s->id, s->name, date,
               s->vm_state_size ? a : "none", b);
    }
}

static bool put(struct json_object *o, const char *k, struct json_object *v)
{
    return v && !json_object_object_add(o, k, v);
}

static struct json_object *snapshots_json(const struct info *in)
{
    struct json_object *a = json_object_new_array();

    for (unsigned i = 0; a && i < in->nsnaps; i++) {
        const struct mq_qcow2_snapshot_info *s = &in->snaps[i];
        struct json_object *o = json_object_new_object();
        char date[32];
        bool ok;

        iso_date(s->date_sec, date, sizeof(date));
        ok = o && put(o, "id", json_object_new_string(s->id)) &&
             put(o, "name", json_object_new_string(s->name)) &&
             put(o, "date", json_object_new_string(date)) &&
             put(o, "date_sec", json_object_new_uint64(s->date_sec)) &&
             put(o, "vm_clock_ns", json_object_new_uint64(s->vm_clock_ns)) &&
             put(o, "vm_state_size", json_object_new_uint64(s->vm_state_size)) &&
             put(o, "has_machine_state", json_object_new_boolean(s->vm_state_size > 0)) &&
             put(o, "disk_size", json_object_new_uint64(s->disk_size));
        if (!ok || json_object_array_add(a, o)) {
            json_object_put(o);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

static int print_json(const struct info *in)
{
    struct json_object *o = json_object_new_object(), *clones = json_object_new_array();
    bool ok = o && clones;

    for (const char *p = in->clones; ok && p && *p; p += strlen(p) + 1)
        ok = !json_object_array_add(clones, json_object_new_string(p));
    ok = ok && put(o, "file", json_object_new_string(in->f->path)) &&
         put(o, "config", mq_vm_config_to_json(&in->f->config)) &&
         put(o, "virtual_size", json_object_new_uint64(in->f->bd->size)) &&
         put(o, "allocated_size", json_object_new_uint64(in->allocated));
    /* A JSON null when there is none: the key is always present. */
    if (ok)
        ok = !json_object_object_add(o, "backing_file",
                                     in->f->backing ? json_object_new_string(in->f->backing)
                                                    : NULL);
    if (ok) {
        ok = put(o, "live_linked_clones", clones);
        clones = NULL;
    }
    ok = ok && put(o, "snapshots", snapshots_json(in));
    if (ok)
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                            JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(clones);
    json_object_put(o);
    return ok ? 0 : -ENOMEM;
}

int mq_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct info in = {0};
    bool json = false;
    struct stat st;
    char err[512];
    int c, ret;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            info_usage(stdout);
            return 0;
        }
        if (c != 'j') {
            mq_cli_error("info", "unknown option '%s' (see 'maquina info --help')",
                         argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
        json = true;
    }
    if (optind != argc - 1) {
        mq_cli_error("info", optind >= argc ? "missing NAME.vm (see 'maquina info --help')"
                                            : "give one NAME.vm");
        return MQ_EXIT_USAGE;
    }
    ret = mq_vm_file_open(argv[optind], 0, &in.f, err, sizeof(err));
    if (ret) {
        mq_cli_error("info", "%s", err);
        return MQ_EXIT_USAGE;
    }
    /* st_blocks counts 512-byte units whatever the file system's block size. */
    in.allocated = stat(in.f->path, &st) ? 0 : (uint64_t)st.st_blocks * 512;
    ret = mq_qcow2_snapshot_list(in.f->bd, &in.snaps, &in.nsnaps);
    if (!ret)
        ret = mq_vm_file_live_clones(in.f, &in.nclones, &in.clones);
    if (ret) {
        mq_cli_error("info", "%s: %s", in.f->path, strerror(-ret));
        ret = MQ_EXIT_USAGE;
    } else if (json) {
        ret = print_json(&in) ? MQ_EXIT_USAGE : 0;
    } else {
        print_text(&in);
    }
    mq_qcow2_snapshot_list_free(in.snaps, in.nsnaps);
    free(in.clones);
    mq_vm_file_close(in.f);
    return ret;
}
