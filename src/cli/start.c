/* SPDX-License-Identifier: MIT */
/*
 * `maquina start`: run a VM detached from the terminal. A new session runs
 * `maquina run ... --name NAME --console detached:LOG,SOCKET`; we wait
 * until its control socket answers (or it dies: then its messages are
 * shown) and print its name and pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"
#include "util/clock.h"

#define DEFAULT_WAIT_SEC 60

static void start_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina start NAME.vm [OPTIONS] [RUN OPTIONS]\n"
        "       maquina start --name NAME [OPTIONS] RUN OPTIONS\n"
        "\n"
        "Start a VM in the background, detached from the terminal, registered under\n"
        "NAME (the file name of NAME.vm unless --name says otherwise). Returns once\n"
        "its control socket answers; then 'maquina list', 'console', 'pause',\n"
        "'resume', 'status', 'stats', 'snapshot' and 'stop' reach it by name.\n"
        "A name that is already running is refused.\n"
        "\n"
        "Options:\n"
        "  --name NAME      register under NAME\n"
        "  --log FILE       serial console log (default: NAME.log in the registry\n"
        "                   directory, see 'maquina list'); kept to about 1 MiB:\n"
        "                   past it FILE becomes FILE.1 and a new FILE starts\n"
        "  --wait SEC       how long to wait for the VM to answer (default %d)\n"
        "  -h, --help       this help\n"
        "Every other option is one of 'maquina run' (see 'maquina run --help'),\n"
        "except --console: the console of a started VM is 'maquina console NAME'.\n"
        "maquina's own messages go to NAME.err next to the log.\n"
        "\n"
        "Examples:\n"
        "  maquina start web.vm\n"
        "  maquina start web.vm --memory 1G --smp 2\n"
        "  maquina start --name lab --kernel Image --initrd initrd.gz -m 256M\n",
        DEFAULT_WAIT_SEC);
}

struct start_args {
    const char *vm_file;
    const char *name;
    const char *log;
    const char *control;
    uint64_t wait_sec;
    char **pass;       /* run arguments, NULL-terminated */
    int npass;
};

/* The value of --opt VALUE or --opt=VALUE at argv[*i]; NULL when argv[*i] is not --opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);

    *missing = false;
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, struct start_args *a)
{
    int i = 1;
    bool missing;
    const char *v;

    a->wait_sec = DEFAULT_WAIT_SEC;
    a->pass = calloc((size_t)argc + 1, sizeof(char *));
    if (!a->pass)
        return -1;
    if (argc > 1 && argv[1][0] != '-') {
        size_t n = strlen(argv[1]);
        if (n < 4 || strcmp(argv[1] + n - 3, ".vm") != 0) {
            mq_cli_error("start", "'%s' is not a NAME.vm file (see 'maquina start --help')",
                         argv[1]);
            return -1;
        }
        a->vm_file = argv[1];
        i = 2;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
        if ((v = opt_value(argc, argv, &i, "--log", &missing))) {
            a->log = v;
            continue;
        }
        if (!missing && (v = opt_value(argc, argv, &i, "--wait", &missing))) {
            if (!mq_parse_uint(v, 1, 24 * 3600, &a->wait_sec)) {
                mq_cli_error("start", "--wait %s: expected seconds (1 to 86400)", v);
                return -1;
            }
            continue;
        }
        if (!missing && (v = opt_value(argc, argv, &i, "--name", &missing))) {
            a->name = v;
            continue;
        }
        if (!missing && (v = opt_value(argc, argv, &i, "--control", &missing))) {
            a->control = v;
            continue;
        }
        if (missing) {
            mq_cli_error("start", "option '%s' needs a value", argv[i]);
            return -1;
        }
        if (!strncmp(argv[i], "--console", 9)) {
            mq_cli_error("start", "--console: a started VM's console is 'maquina console NAME' "
                         "(its output is logged, see --log)");
            return -1;
        }
        a->pass[a->npass++] = argv[i];
    }
    return 0;
}

/* Child: a new session, no terminal, messages to errpath, then `maquina run`. */
static void exec_run(char **argv, const char *errpath)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    setsid();
    if (null < 0 || errfd < 0 || dup2(null, 0) < 0 || dup2(errfd, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(127);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "maquina: start: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

static char **run_argv(const struct start_args *a, const char *console)
{
    char **v = calloc((size_t)a->npass + 12, sizeof(char *));
    int n = 0;

    if (!v)
        return NULL;
    v[n++] = (char *)"maquina";
    v[n++] = (char *)"run";
    if (a->vm_file)
        v[n++] = (char *)a->vm_file;
    for (int i = 0; i < a->npass; i++)
        v[n++] = a->pass[i];
    v[n++] = (char *)"--name";
    v[n++] = (char *)a->name;
    if (a->control) {
        v[n++] = (char *)"--control";
        v[n++] = (char *)a->control;
    }
    v[n++] = (char *)"--console";
    v[n++] = (char *)console;
    v[n] = NULL;
    return v;
}

/* Wait for the control socket to answer; 0, or 1 with the reason printed. */
static int wait_ready(pid_t pid, const char *name, const char *sock, const char *errpath,
                      const char *logpath, uint64_t wait_sec)
{
    uint64_t deadline = mq_clock_monotonic_ns() + wait_sec * 1000000000ull;
    char err[512], code[64];
    int status;

    for (;;) {
        json_object *res = NULL;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(status))
                mq_cli_error("start", "%s: maquina run exited with status %d while starting",
                             name, WEXITSTATUS(status));
            else
                mq_cli_error("start", "%s: maquina run was killed by signal %d while starting",
                             name, WTERMSIG(status));
            mq_ctl_print_tail("its messages", errpath, 2048);
            mq_ctl_print_tail("its console", logpath, 1024);
            /* maquina run's own status (2: bad options or files), else 1. */
            return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
        }
        if (mq_ctl_request(sock, "status", NULL, 1000, &res, code, sizeof(code), err,
                           sizeof(err)) == 0) {
            json_object_put(res);
            return 0;
        }
        if (mq_clock_monotonic_ns() >= deadline) {
            mq_cli_error("start", "%s: no answer on %s after %llu s (%s): stopping it", name,
                         sock, (unsigned long long)wait_sec, err);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            mq_ctl_print_tail("its messages", errpath, 2048);
            return 1;
        }
        usleep(100000);
    }
}

static int do_start(struct start_args *a)
{
    char namebuf[MQ_VM_NAME_MAX + 1], err[512], logpath[4096], sockpath[4096];
    char conspath[4096], errpath[4096], console[8300];
    struct mq_vm_entry e;
    char **argv;
    pid_t pid;
    int ret;

    if (!a->name) {
        if (!a->vm_file) {
            mq_cli_error("start", "give NAME.vm or --name NAME (see 'maquina start --help')");
            return MQ_EXIT_USAGE;
        }
        if (mq_vm_name_from_path(a->vm_file, namebuf, sizeof(namebuf)) != 0) {
            mq_cli_error("start", "%s: the file name is not a legal VM name; give --name",
                         a->vm_file);
            return MQ_EXIT_USAGE;
        }
        a->name = namebuf;
    }
    if (!mq_vm_name_ok(a->name)) {
        mq_cli_error("start", "--name '%s': a name has 1 to %u letters, digits, '.', '_' or "
                     "'-' and does not start with '.' or '-'", a->name, MQ_VM_NAME_MAX);
        return MQ_EXIT_USAGE;
    }
    if (mq_vm_registry_find(a->name, &e, err, sizeof(err)) == 0) {
        mq_cli_error("start", "a VM named '%s' is already running (pid %d); stop it first "
                     "with 'maquina stop %s'", a->name, (int)e.pid, a->name);
        return MQ_EXIT_USAGE;
    }
    if (a->vm_file && access(a->vm_file, R_OK) != 0) {
        mq_cli_error("start", "%s: %s", a->vm_file, strerror(errno));
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_runtime_path(a->name, ".console", conspath, sizeof(conspath), err, sizeof(err)) ||
        mq_ctl_runtime_path(a->name, ".err", errpath, sizeof(errpath), err, sizeof(err)) ||
        (a->control ? snprintf(sockpath, sizeof(sockpath), "%s", a->control) < 0
                    : mq_vm_registry_socket_path(a->name, sockpath, sizeof(sockpath), err,
                                                 sizeof(err)))) {
        mq_cli_error("start", "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (strlen(conspath) >= 108) {
        mq_cli_error("start", "console socket path %s is too long for a Unix socket (set "
                     "XDG_RUNTIME_DIR to a shorter directory)", conspath);
        return MQ_EXIT_USAGE;
    }
    if (a->log) {
        /* Absolute, so that 'maquina list' shows it from anywhere. */
        char cwd[PATH_MAX];
        if (a->log[0] == '/' || !getcwd(cwd, sizeof(cwd)))
            snprintf(logpath, sizeof(logpath), "%s", a->log);
        else if (snprintf(logpath, sizeof(logpath), "%s/%s", cwd, a->log) >= (int)sizeof(logpath)) {
            mq_cli_error("start", "--log %s: path too long", a->log);
            return MQ_EXIT_USAGE;
        }
    } else if (mq_ctl_runtime_path(a->name, ".log", logpath, sizeof(logpath), err,
                                   sizeof(err))) {
        mq_cli_error("start", "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (strchr(logpath, ',')) {
        mq_cli_error("start", "--log %s: the path must not contain a comma", logpath);
        return MQ_EXIT_USAGE;
    }
    snprintf(console, sizeof(console), "detached:%s,%s", logpath, conspath);
    /* The run truncates it anyway; gone now, a run that dies early shows no stale log. */
    unlink(logpath);
    argv = run_argv(a, console);
    if (!argv)
        return 1;
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        exec_run(argv, errpath);
    free(argv);
    if (pid < 0) {
        mq_cli_error("start", "fork: %s", strerror(errno));
        return 1;
    }
    ret = wait_ready(pid, a->name, sockpath, errpath, logpath, a->wait_sec);
    if (ret)
        return ret;
    printf("%s started (pid %d)\n", a->name, (int)pid);
    printf("  console: maquina console %s   log: %s\n", a->name, logpath);
    return 0;
}

int mq_cmd_start(int argc, char **argv)
{
    struct start_args a = {0};
    int ret = parse(argc, argv, &a);

    if (ret) {
        free(a.pass);
        if (ret > 0)
            start_usage(stdout);
        return ret > 0 ? 0 : MQ_EXIT_USAGE;
    }
    ret = do_start(&a);
    free(a.pass);
    return ret;
}
