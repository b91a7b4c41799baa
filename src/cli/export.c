/* SPDX-License-Identifier: MIT */
/*
 * `maquina export`: pack a .vm and its extra disks into one compressed,
 * checksummed archive (docs/file-format.md, "Export archive").
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/archive.h"

static void export_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina export NAME.vm -o NAME.vmx [--level N] [--force]\n"
        "\n"
        "Write NAME.vm and its extra disks into one zstd-compressed archive with a\n"
        "SHA-256 checksum per file and for the whole archive. 'maquina import'\n"
        "recreates them anywhere. A progress bar is drawn when stderr is a terminal.\n"
        "\n"
        "  -o, --output FILE    the archive to write (required)\n"
        "  --level N            zstd compression level 1 to 19 (default 3)\n"
        "  --force              replace an existing archive\n"
        "  -h, --help           this help\n"
        "\n"
        "Example: maquina export debian.vm -o debian.vmx\n");
}

int mq_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"level", required_argument, NULL, 'L'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mq_progress pr = {0};
    struct mq_vmx_export_opts o = {.progress = &pr};
    const char *out = NULL;
    char err[512];
    uint64_t v;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': export_usage(stdout); return 0;
        case 'o': out = optarg; break;
        case 'f': o.force = true; break;
        case 'L':
            if (!mq_parse_uint(optarg, 1, 19, &v)) {
                mq_cli_error("export", "--level %s: give 1 to 19", optarg);
                return MQ_EXIT_USAGE;
            }
            o.level = (int)v;
            break;
        default:
            mq_cli_error("export", "%s '%s' (see 'maquina export --help')",
                         c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return MQ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !out) {
        mq_cli_error("export", "give NAME.vm and -o NAME.vmx (see 'maquina export --help')");
        return MQ_EXIT_USAGE;
    }
    if (mq_vmx_export(argv[optind], out, &o, err, sizeof(err))) {
        mq_cli_error("export", "%s", err);
        return MQ_EXIT_USAGE;
    }
    printf("exported %s to %s\n", argv[optind], out);
    return 0;
}
