/* SPDX-License-Identifier: MIT */
/*
 * `maquina create`: make a new single-file VM (NAME.vm, a qcow2 image with
 * its configuration inside; docs/file-format.md).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/vm_file.h"

static void create_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina create NAME.vm --disk-size SIZE [OPTIONS]\n"
        "\n"
        "Create a virtual machine in one file: NAME.vm is a qcow2 image (its disk is\n"
        "the VM's /dev/vda) that also holds the VM's configuration.\n"
        "\n"
        "  --disk-size SIZE     size of the system disk, e.g. 8G (required)\n"
        "  -m, --memory SIZE    guest RAM, 16M to 64G (default 512M; a bare number is MiB)\n"
        "  --smp N              number of harts, 1 to %d (default 1)\n"
        "  --kernel FILE        Linux Image to boot (stored as an absolute path)\n"
        "  --initrd FILE        initial ramdisk (needs --kernel)\n"
        "  --append \"ARGS\"      kernel command line\n"
        "  --firmware FILE      M-mode firmware (default: OpenSBI fw_dynamic.bin)\n"
        "  --net SPEC           a network card, e.g. user,hostfwd=tcp::2222-:22\n"
        "                       (repeatable; each gets a random local MAC address)\n"
        "  --disk PATH[,ro][,serial=S][,format=raw|qcow2]\n"
        "                       an extra disk (repeatable; /dev/vdb, ...); stored\n"
        "                       relative to NAME.vm's directory when it lies below it\n"
        "  --name NAME          the VM's name (default: NAME from NAME.vm)\n"
        "  --force              replace an existing NAME.vm (not one in use)\n"
        "  -h, --help           this help\n"
        "\n"
        "Example:\n"
        "  maquina create debian.vm --disk-size 8G -m 1G --smp 2 \\\n"
        "      --kernel vmlinux --initrd initrd.img --append \"console=ttyS0 root=/dev/vda\" \\\n"
        "      --net user,hostfwd=tcp::2222-:22\n",
        MQ_VM_MAX_HARTS);
}

enum {
    OPT_DISK_SIZE = 0x100,
    OPT_SMP,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_APPEND,
    OPT_FIRMWARE,
    OPT_NET,
    OPT_DISK,
    OPT_NAME,
    OPT_FORCE,
};

static const struct option create_options[] = {
    {"disk-size", required_argument, NULL, OPT_DISK_SIZE},
    {"memory", required_argument, NULL, 'm'},
    {"smp", required_argument, NULL, OPT_SMP},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"append", required_argument, NULL, OPT_APPEND},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"net", required_argument, NULL, OPT_NET},
    {"disk", required_argument, NULL, OPT_DISK},
    {"name", required_argument, NULL, OPT_NAME},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The assignment `config set` would take for this option, e.g. "smp=2". */
static const char *option_key(int c)
{
    switch (c) {
    case 'm': return "memory=";
    case OPT_SMP: return "smp=";
    case OPT_KERNEL: return "kernel=";
    case OPT_INITRD: return "initrd=";
    case OPT_APPEND: return "append=";
    case OPT_FIRMWARE: return "firmware=";
    case OPT_NET: return "net+=";
    case OPT_DISK: return "disk+=";
    case OPT_NAME: return "name=";
    default: return NULL;
    }
}

/* The default VM name: the file's base name without ".vm". */
static int default_name(struct mq_vm_config *c, const char *path, char *err, size_t errlen)
{
    const char *b = strrchr(path, '/');
    char *assign;
    size_t n;
    int ret;

    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 3 && !strcmp(b + n - 3, ".vm"))
        n -= 3;
    if (n > MQ_VM_NAME_MAX)
        n = MQ_VM_NAME_MAX;
    if (asprintf(&assign, "name=%.*s", (int)n, b) < 0)
        return -1;
    ret = mq_vm_config_set(c, assign, path, err, errlen);
    free(assign);
    return ret;
}

int mq_cmd_create(int argc, char **argv)
{
    struct mq_vm_create_opts opts = {0};
    struct mq_vm_config cfg;
    uint64_t disk_size = 0;
    const char *path;
    char err[512], *assign;
    int c, ret = MQ_EXIT_USAGE;

    /* Options apply in a second pass, once the .vm path is known. */
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:h", create_options, NULL)) != -1) {
        if (c == 'h') {
            create_usage(stdout);
            return 0;
        }
        if (c == '?' || c == ':') {
            mq_cli_error("create", "%s '%s' (see 'maquina create --help')",
                         c == '?' ? "unknown option" : "missing value for", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
        if (c == OPT_DISK_SIZE &&
            (!mq_parse_size(optarg, 0, &disk_size) || !disk_size || disk_size % 512)) {
            mq_cli_error("create", "--disk-size %s: not a size in whole 512-byte sectors "
                         "(e.g. 8G)", optarg);
            return MQ_EXIT_USAGE;
        }
        if (c == OPT_FORCE)
            opts.force = true;
    }
    if (optind != argc - 1) {
        mq_cli_error("create", optind >= argc ? "missing NAME.vm (see 'maquina create --help')"
                                              : "more than one NAME.vm given");
        return MQ_EXIT_USAGE;
    }
    path = argv[optind];
    if (!disk_size) {
        mq_cli_error("create", "--disk-size is required (e.g. --disk-size 8G)");
        return MQ_EXIT_USAGE;
    }
    /* Identity first: every assignment below validates the whole config. */
    mq_vm_config_init(&cfg);
    cfg.created = (int64_t)time(NULL);
    ret = mq_vm_random_uuid(cfg.uuid);
    if (!ret)
        ret = default_name(&cfg, path, err, sizeof(err));
    if (ret) {
        mq_cli_error("create", "%s: %s", path, ret == -1 ? "out of memory" : err);
        ret = MQ_EXIT_USAGE;
        goto out;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:h", create_options, NULL)) != -1) {
        const char *key = option_key(c);

        if (!key)
            continue;
        if (asprintf(&assign, "%s%s", key, optarg) < 0)
            goto out;
        ret = mq_vm_config_set(&cfg, assign, path, err, sizeof(err));
        free(assign);
        if (ret) {
            mq_cli_error("create", "--%s", err);
            ret = MQ_EXIT_USAGE;
            goto out;
        }
    }
    ret = mq_vm_file_create(path, disk_size, &cfg, &opts, err, sizeof(err));
    if (ret) {
        mq_cli_error("create", "%s", err);
        ret = MQ_EXIT_USAGE;
        goto out;
    }
    printf("created %s: %" PRIu64 " MiB disk, %" PRIu64 " MiB memory, %u hart%s, %u extra "
           "disk%s, %u NIC%s\n", path, disk_size >> 20, cfg.memory >> 20, cfg.harts,
           cfg.harts == 1 ? "" : "s", cfg.ndisks, cfg.ndisks == 1 ? "" : "s", cfg.nnics,
           cfg.nnics == 1 ? "" : "s");
out:
    mq_vm_config_free(&cfg);
    return ret;
}
