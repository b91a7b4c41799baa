/* SPDX-License-Identifier: MIT */
/* The maquina command: dispatch to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"

#define MQ_VERSION "0.1.0"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", mq_cmd_run, "boot a virtual machine (firmware, kernel, disks, network)"},
    {"start", mq_cmd_start, "start a VM in the background under a name"},
    {"list", mq_cmd_list, "the running VMs: name, state, pid, harts, memory, uptime"},
    {"console", mq_cmd_console, "attach the terminal to a started VM's serial console"},
    {"pause", mq_cmd_pause, "stop a running VM's harts and guest clock"},
    {"resume", mq_cmd_resume, "continue a paused VM"},
    {"status", mq_cmd_status, "state, pid, harts, memory, uptime of a running VM"},
    {"stats", mq_cmd_stats, "counters of a running VM: harts, disks, NICs"},
    {"stop", mq_cmd_stop, "shut a running VM down (power button, then force)"},
    {"create", mq_cmd_create, "create a VM file (NAME.vm: disk and configuration in one)"},
    {"info", mq_cmd_info, "show a VM file: configuration, sizes, snapshots"},
    {"config", mq_cmd_config, "show or change the configuration inside a VM file"},
    {"snapshot", mq_cmd_snapshot, "save, load, list or delete snapshots (running or stopped VM)"},
    {"clone", mq_cmd_clone, "copy a VM file (full or linked)"},
    {"import", mq_cmd_import, "recreate a VM from an export archive"},
    {"export", mq_cmd_export, "pack a VM and its disks into one compressed archive"},
    {"img", mq_cmd_img, "disk image tools: convert (raw, qcow2), info"},
    {"net", mq_cmd_net, "virtual networks between VMs: create, list, delete"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: maquina COMMAND [OPTIONS]\n\n"
               "maquina runs complete RISC-V 64 guest systems in emulated machines.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'maquina COMMAND --help' for the options of a command.\n"
               "Example: maquina run --bios hello.elf\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MQ_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("maquina %s\n", MQ_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "maquina: unknown command '%s' (try 'maquina --help')\n", argv[1]);
    return MQ_EXIT_USAGE;
}
