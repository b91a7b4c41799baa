/* SPDX-License-Identifier: MIT */
/* `maquina pause` and `maquina resume`: stop and continue a running VM's harts and guest clock. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"

static void usage(FILE *f, const char *cmd)
{
    if (!strcmp(cmd, "pause"))
        fprintf(f,
            "usage: maquina pause NAME|NAME.vm\n"
            "\n"
            "Stop every hart of a running VM at an instruction boundary and stop its\n"
            "guest clock; devices finish what they were doing. The VM keeps its memory\n"
            "and answers its control socket; 'maquina resume' continues it. Pausing a\n"
            "paused VM does nothing.\n"
            "\n"
            "Example: maquina pause web\n");
    else
        fprintf(f,
            "usage: maquina resume NAME|NAME.vm\n"
            "\n"
            "Continue a VM paused with 'maquina pause': its harts and guest clock go on\n"
            "from where they stopped. Resuming a running VM does nothing.\n"
            "\n"
            "Example: maquina resume web\n");
}

static int pause_or_resume(int argc, char **argv, const char *cmd, const char *done)
{
    struct mq_vm_entry e;
    json_object *res = NULL;
    char err[512], code[64];

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout, cmd);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        mq_cli_error(cmd, "expected one VM name (see 'maquina %s --help')", cmd);
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_find(argv[1], &e, err, sizeof(err)) != 0) {
        mq_cli_error(cmd, "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_request(e.socket_path, cmd, NULL, 30000, &res, code, sizeof(code), err,
                       sizeof(err)) != 0) {
        mq_cli_error(cmd, "%s: %s", e.name, err);
        return MQ_EXIT_USAGE;
    }
    json_object_put(res);
    printf("%s %s\n", e.name, done);
    return 0;
}

int mq_cmd_pause(int argc, char **argv)
{
    return pause_or_resume(argc, argv, "pause", "paused");
}

int mq_cmd_resume(int argc, char **argv)
{
    return pause_or_resume(argc, argv, "resume", "resumed");
}
