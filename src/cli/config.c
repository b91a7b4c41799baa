/* SPDX-License-Identifier: MIT */
/*
 * `maquina config`: read and change the configuration stored inside a .vm
 * (docs/file-format.md, "The configuration extension").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/vm_file.h"

static void config_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina config NAME.vm set KEY=VALUE...\n"
        "       maquina config NAME.vm get [KEY]\n"
        "\n"
        "Change or show the configuration kept inside NAME.vm. set applies all its\n"
        "assignments or none, and refuses while the VM runs.\n"
        "\n"
        "Keys for set:\n"
        "  memory=SIZE          guest RAM, 16M to 64G (a bare number is MiB)\n"
        "  smp=N                number of harts, 1 to %d\n"
        "  name=NAME            the VM's name\n"
        "  kernel=FILE          Linux Image (made absolute; empty value removes it)\n"
        "  initrd=FILE          initial ramdisk (empty value removes it)\n"
        "  append=ARGS          kernel command line (empty value removes it)\n"
        "  firmware=FILE        M-mode firmware, or 'default' for OpenSBI\n"
        "  net+=SPEC            add a network card (new random MAC), e.g. net+=user\n"
        "  net-=INDEX|MAC       remove a network card (see 'get net')\n"
        "  disk+=PATH[,ro][,serial=S][,format=F]   add an extra disk\n"
        "  disk-=INDEX|PATH     remove an extra disk (see 'get disk'; the file stays)\n"
        "\n"
        "Keys for get: name uuid created memory smp firmware kernel initrd append\n"
        "net disk linked_clones; without KEY, all of them as KEY=VALUE lines.\n"
        "\n"
        "Examples:\n"
        "  maquina config debian.vm set memory=2G smp=4 net+=user,hostfwd=tcp::2222-:22\n"
        "  maquina config debian.vm get memory\n",
        MQ_VM_MAX_HARTS);
}

static int do_get(const char *path, int argc, char **argv)
{
    struct mq_vm_file *f = NULL;
    char err[512], *v = NULL;
    int ret;

    if (argc > 1) {
        mq_cli_error("config", "get takes at most one KEY");
        return MQ_EXIT_USAGE;
    }
    ret = mq_vm_file_open(path, 0, &f, err, sizeof(err));
    if (ret) {
        mq_cli_error("config", "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (argc == 1) {
        ret = mq_vm_config_get(&f->config, argv[0], &v, err, sizeof(err));
        if (!ret)
            printf("%s\n", v);
    } else {
        for (unsigned i = 0; !ret && mq_vm_config_keys[i]; i++) {
            const char *key = mq_vm_config_keys[i];
            bool list = !strcmp(key, "net") || !strcmp(key, "disk") ||
                        !strcmp(key, "linked_clones");

            ret = mq_vm_config_get(&f->config, key, &v, err, sizeof(err));
            if (ret)
                break;
            /* Lists: one KEY.N=VALUE line per entry (the index is part of the value). */
            for (char *line = v, *nl; list && *line; line = nl ? nl + 1 : line + strlen(line)) {
                nl = strchr(line, '\n');
                if (nl)
                    *nl = 0;
                printf("%s=%s\n", key, line);
            }
            if (!list)
                printf("%s=%s\n", key, v);
            free(v);
            v = NULL;
        }
    }
    free(v);
    mq_vm_file_close(f);
    if (ret) {
        mq_cli_error("config", "%s: %s", path, err);
        return MQ_EXIT_USAGE;
    }
    return 0;
}

static int do_set(const char *path, int argc, char **argv)
{
    struct mq_vm_file *f = NULL;
    struct mq_vm_config c;
    unsigned live = 0;
    char err[512];
    int ret;

    if (argc < 1) {
        mq_cli_error("config", "set needs at least one KEY=VALUE (e.g. memory=1G)");
        return MQ_EXIT_USAGE;
    }
    /*
     * Linked clones read the base's disk, never its header: a config change
     * cannot harm them, so it is allowed with a note (run still refuses).
     */
    ret = mq_vm_file_open(path, MQ_VM_OPEN_WRITE | MQ_VM_OPEN_ALLOW_LINKED, &f, err,
                          sizeof(err));
    if (ret) {
        mq_cli_error("config", "%s", err);
        return MQ_EXIT_USAGE;
    }
    ret = mq_vm_config_copy(&c, &f->config);
    if (ret) {
        mq_vm_file_close(f);
        mq_cli_error("config", "%s: out of memory", path);
        return MQ_EXIT_USAGE;
    }
    for (int i = 0; i < argc && !ret; i++)
        ret = mq_vm_config_set(&c, argv[i], path, err, sizeof(err));
    if (ret) {
        mq_cli_error("config", "%s: %s (nothing changed)", path, err);
        goto out;
    }
    ret = mq_vm_file_write_config(f, &c, err, sizeof(err));
    if (ret) {
        mq_cli_error("config", "%s", err);
        goto out;
    }
    if (!mq_vm_file_live_clones(f, &live, NULL) && live)
        fprintf(stderr, "maquina: config: note: %s is the base of %u linked clone(s); only "
                        "its configuration changed, its disk is untouched\n", path, live);
out:
    mq_vm_config_free(&c);
    mq_vm_file_close(f);
    return ret ? MQ_EXIT_USAGE : 0;
}

int mq_cmd_config(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        config_usage(stdout);
        return 0;
    }
    if (argc < 3) {
        mq_cli_error("config", "usage: maquina config NAME.vm set KEY=VALUE... | get [KEY] "
                     "(see 'maquina config --help')");
        return MQ_EXIT_USAGE;
    }
    if (!strcmp(argv[2], "set"))
        return do_set(argv[1], argc - 3, argv + 3);
    if (!strcmp(argv[2], "get"))
        return do_get(argv[1], argc - 3, argv + 3);
    mq_cli_error("config", "unknown action '%s' (set or get)", argv[2]);
    return MQ_EXIT_USAGE;
}
