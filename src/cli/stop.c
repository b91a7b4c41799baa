/* SPDX-License-Identifier: MIT */
/*
 * `maquina stop`: ask a running VM's guest to shut down (the power button),
 * wait for the process to end, and end it hard after a timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"

#define DEFAULT_TIMEOUT_SEC 60
/* After a forced stop the process flushes and closes its disks: give it this long. */
#define FORCE_GRACE_MS 15000

static void stop_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina stop NAME|NAME.vm [--force] [--timeout SEC]\n"
        "\n"
        "Stop a running VM. Without --force the guest is asked to shut down (the\n"
        "power button) and has --timeout seconds (default %d) to do so; then, or at\n"
        "once with --force, the VM is ended like a pulled plug (its disks are flushed\n"
        "and closed cleanly), and killed when even that does not end it within 15 s.\n"
        "A machine without a power button says so; it is then forced after the\n"
        "timeout, or at once with --force (a guest may still power off by itself\n"
        "meanwhile, e.g. 'poweroff' on its console).\n"
        "\n"
        "  --force          end the VM now\n"
        "  --timeout SEC    how long the guest has to shut down (default %d)\n"
        "\n"
        "Examples:\n"
        "  maquina stop web\n"
        "  maquina stop web --force\n"
        "  maquina stop web.vm --timeout 120\n",
        DEFAULT_TIMEOUT_SEC, DEFAULT_TIMEOUT_SEC);
}

static int request_stop(const struct mq_vm_entry *e, bool force, char *code, size_t codelen,
                        char *err, size_t errlen)
{
    json_object *args = json_object_new_object(), *res = NULL;
    int ret;

    json_object_object_add(args, "force", json_object_new_boolean(force));
    ret = mq_ctl_request(e->socket_path, "stop", args, 10000, &res, code, codelen, err, errlen);
    json_object_put(args);
    json_object_put(res);
    return ret;
}

/* Force: the control request, then signals. 0 when the process ended. */
static int stop_hard(const struct mq_vm_entry *e, int pidfd)
{
    char err[512], code[64];

    if (request_stop(e, true, code, sizeof(code), err, sizeof(err)) != 0) {
        fprintf(stderr, "maquina: stop: %s: %s; sending SIGTERM\n", e->name, err);
        kill(e->pid, SIGTERM);
    }
    if (mq_ctl_wait_pid_gone(e->pid, pidfd, FORCE_GRACE_MS))
        return 0;
    fprintf(stderr, "maquina: stop: %s (pid %d) still runs %d s after a forced stop: "
            "killing it\n", e->name, (int)e->pid, FORCE_GRACE_MS / 1000);
    kill(e->pid, SIGKILL);
    return mq_ctl_wait_pid_gone(e->pid, pidfd, 10000) ? 0 : -1;
}

static int do_stop(const char *target, bool force, uint64_t timeout)
{
    struct mq_vm_entry e;
    char err[512], code[64];
    int pidfd, ret;

    if (mq_ctl_find(target, &e, err, sizeof(err)) != 0) {
        mq_cli_error("stop", "%s", err);
        return MQ_EXIT_USAGE;
    }
    pidfd = mq_ctl_pidfd(e.pid);
    if (!force) {
        ret = request_stop(&e, false, code, sizeof(code), err, sizeof(err));
        if (ret == 0) {
            printf("%s: asked the guest to shut down; waiting up to %llu s\n", e.name,
                   (unsigned long long)timeout);
            fflush(stdout);
        } else if (!strcmp(code, "not-supported")) {
            printf("%s: %s\n", e.name, err);
            printf("%s: forcing it in %llu s (now with --force); the guest may power off "
                   "by itself meanwhile\n", e.name, (unsigned long long)timeout);
            fflush(stdout);
        } else {
            fprintf(stderr, "maquina: stop: %s: %s\n", e.name, err);
        }
        if (mq_ctl_wait_pid_gone(e.pid, pidfd, (int)(timeout * 1000))) {
            printf("%s stopped\n", e.name);
            goto out;
        }
        printf("%s: still running after %llu s: forcing it\n", e.name,
               (unsigned long long)timeout);
        fflush(stdout);
    }
    ret = stop_hard(&e, pidfd);
    if (ret) {
        mq_cli_error("stop", "%s (pid %d) does not end", e.name, (int)e.pid);
        if (pidfd >= 0)
            close(pidfd);
        return 1;
    }
    printf("%s stopped%s\n", e.name, force ? " (forced)" : "");
out:
    if (pidfd >= 0)
        close(pidfd);
    /* A killed VM left its entry: drop it now rather than at the next look-up. */
    mq_vm_registry_find(e.name, &e, err, sizeof(err));
    return 0;
}

int mq_cmd_stop(int argc, char **argv)
{
    const char *target = NULL;
    uint64_t timeout = DEFAULT_TIMEOUT_SEC;
    bool force = false;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            stop_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            force = true;
        } else if (!strcmp(argv[i], "--timeout") || !strncmp(argv[i], "--timeout=", 10)) {
            const char *v = argv[i][9] == '=' ? argv[i] + 10 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !mq_parse_uint(v, 0, 24 * 3600, &timeout)) {
                mq_cli_error("stop", "--timeout: expected seconds (0 to 86400)");
                return MQ_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' || target) {
            mq_cli_error("stop", "unexpected argument '%s' (see 'maquina stop --help')",
                         argv[i]);
            return MQ_EXIT_USAGE;
        } else {
            target = argv[i];
        }
    }
    if (!target) {
        mq_cli_error("stop", "which VM? (see 'maquina list')");
        return MQ_EXIT_USAGE;
    }
    return do_stop(target, force, timeout);
}
