/* SPDX-License-Identifier: MIT */
/* `maquina clone`: a full or linked copy of a .vm (docs/file-format.md, "Clones"). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/clone.h"

static void clone_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina clone BASE.vm NEW.vm [--linked] [--no-snapshots] [--name NAME]\n"
        "\n"
        "Copy a VM file. The clone gets a new UUID and new MAC addresses; extra disks\n"
        "are shared with BASE.vm, not copied.\n"
        "\n"
        "  --linked             NEW.vm records BASE.vm as its qcow2 backing file and\n"
        "                       stores only what the clone changes. BASE.vm lists its\n"
        "                       linked clones and refuses to run while one exists.\n"
        "  --no-snapshots       full clone of the current disk state only\n"
        "  --name NAME          the clone's name (default: NEW from NEW.vm)\n"
        "  -h, --help           this help\n"
        "\n"
        "Without --linked the copy is full: the whole qcow2 file, snapshots and their\n"
        "machine state included (holes stay holes).\n"
        "\n"
        "Examples:\n"
        "  maquina clone debian.vm backup.vm\n"
        "  maquina clone debian.vm test.vm --linked\n");
}

int mq_cmd_clone(int argc, char **argv)
{
    static const struct option opts[] = {
        {"linked", no_argument, NULL, 'l'},
        {"no-snapshots", no_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mq_progress pr = {0};
    struct mq_vm_clone_opts o = {.progress = &pr};
    char err[512];
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': clone_usage(stdout); return 0;
        case 'l': o.linked = true; break;
        case 's': o.no_snapshots = true; break;
        case 'n': o.name = optarg; break;
        default:
            mq_cli_error("clone", "%s '%s' (see 'maquina clone --help')",
                         c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        mq_cli_error("clone", "give BASE.vm and NEW.vm (see 'maquina clone --help')");
        return MQ_EXIT_USAGE;
    }
    if (o.linked && o.no_snapshots) {
        mq_cli_error("clone", "--no-snapshots is for full clones; a linked clone starts empty");
        return MQ_EXIT_USAGE;
    }
    if (mq_vm_clone(argv[optind], argv[optind + 1], &o, err, sizeof(err))) {
        mq_cli_error("clone", "%s", err);
        return MQ_EXIT_USAGE;
    }
    printf("%s clone %s of %s created\n", o.linked ? "linked" : "full", argv[optind + 1],
           argv[optind]);
    return 0;
}
