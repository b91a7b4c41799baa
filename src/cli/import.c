/* SPDX-License-Identifier: MIT */
/*
 * `maquina import`: recreate a .vm and its extra disks from an export
 * archive (docs/file-format.md, "Export archive").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/archive.h"

static void import_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina import NAME.vmx [-o DIR]\n"
        "\n"
        "Recreate the VM file and extra disks held in an archive written by\n"
        "'maquina export', in DIR (default: the current directory; created when\n"
        "missing). Everything is checked (sizes, SHA-256 of every file and of the\n"
        "archive) before any file gets its final name: a damaged or truncated\n"
        "archive leaves nothing behind. Existing files are never replaced. The\n"
        "VM's extra disk paths are rewritten to the imported files.\n"
        "\n"
        "  -o, --output DIR     where to put the files\n"
        "  -h, --help           this help\n"
        "\n"
        "Example: maquina import debian.vmx -o /srv/vms\n");
}

int mq_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mq_progress pr = {0};
    const char *dir = ".";
    char err[512], *vm = NULL;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': import_usage(stdout); return 0;
        case 'o': dir = optarg; break;
        default:
            mq_cli_error("import", "%s '%s' (see 'maquina import --help')",
                         c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        mq_cli_error("import", "give one NAME.vmx (see 'maquina import --help')");
        return MQ_EXIT_USAGE;
    }
    if (mq_vmx_import(argv[optind], dir, &pr, &vm, err, sizeof(err))) {
        mq_cli_error("import", "%s", err);
        return MQ_EXIT_USAGE;
    }
    printf("imported %s\n", vm);
    free(vm);
    return 0;
}
