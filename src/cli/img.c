/* SPDX-License-Identifier: MIT */
/*
 * `maquina img`: disk image tools (convert between raw and qcow2, info),
 * the qemu-img subset maquina needs. qcow2: QEMU docs/interop/qcow2.txt.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/qcow2.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "image/convert.h"
#include "image/vm_config.h"

static void img_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina img convert [-f raw|qcow2] [-O raw|qcow2] SRC DST\n"
        "       maquina img info FILE\n"
        "\n"
        "convert  copy the disk of SRC into a new image DST (default format qcow2),\n"
        "         skipping zero blocks so DST stays sparse. The input format is\n"
        "         detected unless -f is given; a qcow2 backing chain is flattened and\n"
        "         snapshots are not copied. DST appears only when complete. A\n"
        "         progress bar is drawn when stderr is a terminal.\n"
        "info     format, virtual size, space used, backing file, snapshots, and\n"
        "         whether the image is a maquina VM file.\n"
        "\n"
        "Examples:\n"
        "  maquina img convert -f raw -O qcow2 disk.img disk.qcow2\n"
        "  maquina img info disk.qcow2\n");
}

static bool format_ok(const char *f)
{
    return !strcmp(f, "raw") || !strcmp(f, "qcow2");
}

static int img_convert(int argc, char **argv)
{
    struct mq_progress pr = {0};
    const char *in_fmt = NULL, *out_fmt = "qcow2";
    char err[512];
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt(argc, argv, ":f:O:h")) != -1) {
        switch (c) {
        case 'h': img_usage(stdout); return 0;
        case 'f': in_fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        default:
            mq_cli_error("img convert", "%s '%s' (see 'maquina img --help')",
                         c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
    }
    if ((in_fmt && !format_ok(in_fmt)) || !format_ok(out_fmt)) {
        mq_cli_error("img convert", "unknown format '%s' (raw or qcow2)",
                     in_fmt && !format_ok(in_fmt) ? in_fmt : out_fmt);
        return MQ_EXIT_USAGE;
    }
    if (argc - optind != 2) {
        mq_cli_error("img convert", "give SRC and DST (see 'maquina img --help')");
        return MQ_EXIT_USAGE;
    }
    if (mq_image_convert(argv[optind], in_fmt, argv[optind + 1], out_fmt, &pr, err,
                         sizeof(err))) {
        mq_cli_error("img convert", "%s", err);
        return MQ_EXIT_USAGE;
    }
    return 0;
}

static void print_qcow2(struct mq_blockdev *bd)
{
    struct mq_qcow2_snapshot_info *s = NULL;
    struct mq_vm_config cfg;
    unsigned n = 0;
    size_t len = 0;
    char *buf = malloc(MQ_VM_CONFIG_MAX_LEN), cerr[256];
    int ret = buf ? mq_qcow2_get_extension(bd, MQ_VM_CONFIG_EXT_TYPE, buf,
                                           MQ_VM_CONFIG_MAX_LEN, &len)
                  : -1;

    if (ret == -ENOENT) {
        printf("%-15s no\n", "maquina vm:");
    } else if (ret) {
        printf("%-15s unreadable configuration\n", "maquina vm:");
    } else if (mq_vm_config_decode(buf, len, &cfg, cerr, sizeof(cerr))) {
        printf("%-15s invalid configuration: %s\n", "maquina vm:", cerr);
    } else {
        printf("%-15s yes (name %s, uuid %s)\n", "maquina vm:", cfg.name, cfg.uuid);
        mq_vm_config_free(&cfg);
    }
    free(buf);
    if (mq_qcow2_snapshot_list(bd, &s, &n))
        return;
    printf("%-15s %u\n", "snapshots:", n);
    for (unsigned i = 0; i < n; i++)
        printf("  %-4s %-20s vm state %" PRIu64 " bytes, disk %" PRIu64 " bytes\n", s[i].id,
               s[i].name, s[i].vm_state_size, s[i].disk_size);
    mq_qcow2_snapshot_list_free(s, n);
}

static int img_info(int argc, char **argv)
{
    struct mq_blockdev *bd = NULL;
    struct stat st;
    char err[512];

    if (argc != 2) {
        mq_cli_error("img info", "give one FILE (see 'maquina img --help')");
        return MQ_EXIT_USAGE;
    }
    /* One layer only: a missing backing file must not hide the image's own facts. */
    if (mq_blockdev_open(argv[1], NULL, MQ_BLOCKDEV_RDONLY | MQ_BLOCKDEV_NO_BACKING, &bd, err,
                         sizeof(err))) {
        mq_cli_error("img info", "%s", err);
        return MQ_EXIT_USAGE;
    }
    printf("%-15s %s\n", "file:", argv[1]);
    printf("%-15s %s\n", "format:", bd->ops->format);
    printf("%-15s %" PRIu64 " bytes\n", "virtual size:", bd->size);
    if (!stat(argv[1], &st))
        printf("%-15s %" PRIu64 " bytes\n", "allocated:", (uint64_t)st.st_blocks * 512);
    if (!strcmp(bd->ops->format, "qcow2")) {
        char *backing = NULL;

        if (!mq_image_qcow2_backing_name(argv[1], &backing) && backing)
            printf("%-15s %s\n", "backing file:", backing);
        free(backing);
        print_qcow2(bd);
    }
    mq_blockdev_close(bd);
    return 0;
}

int mq_cmd_img(int argc, char **argv)
{
    if (argc < 2) {
        mq_cli_error("img", "give a tool: convert or info (see 'maquina img --help')");
        return MQ_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        img_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "convert"))
        return img_convert(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return img_info(argc - 1, argv + 1);
    mq_cli_error("img", "unknown tool '%s' (convert or info)", argv[1]);
    return MQ_EXIT_USAGE;
}
