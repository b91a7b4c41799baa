/* SPDX-License-Identifier: MIT */
/* `maquina list`: the running VMs of this user, from the registry and their control sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"

static void list_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina list [--json]\n"
        "\n"
        "The running VMs of this user (started with 'maquina start', or 'maquina run'\n"
        "with a NAME.vm or --name): name, state (running, paused, stopping; or\n"
        "unreachable when the control socket does not answer), pid, harts, memory,\n"
        "uptime and console log. VMs whose process died are dropped from the list.\n"
        "\n"
        "  --json       one JSON array of objects (name, state, pid, harts, memory in\n"
        "               bytes, uptime_s, vm_path, socket, console_log)\n"
        "\n"
        "Example: maquina list\n");
}

struct row {
    struct mq_vm_entry e;
    const char *state;
    uint64_t uptime_s;
    char state_buf[32];
};

static void query(struct row *r)
{
    json_object *res = NULL, *v;
    char err[512], code[64];
    uint64_t now = (uint64_t)time(NULL);

    r->uptime_s = now > r->e.start_time ? now - r->e.start_time : 0;
    r->state = "unreachable";
    if (mq_ctl_request(r->e.socket_path, "status", NULL, 2000, &res, code, sizeof(code), err,
                       sizeof(err)) != 0)
        return;
    if (res && json_object_object_get_ex(res, "state", &v)) {
        snprintf(r->state_buf, sizeof(r->state_buf), "%s", json_object_get_string(v));
        r->state = r->state_buf;
    }
    if (res && json_object_object_get_ex(res, "uptime_ns", &v))
        r->uptime_s = json_object_get_uint64(v) / 1000000000ull;
    json_object_put(res);
}

static void print_json(const struct row *rows, unsigned n)
{
    json_object *arr = json_object_new_array();

    for (unsigned i = 0; i < n; i++) {
        const struct mq_vm_entry *e = &rows[i].e;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "state", json_object_new_string(rows[i].state));
        json_object_object_add(o, "pid", json_object_new_int64(e->pid));
        json_object_object_add(o, "harts", json_object_new_int64(e->nharts));
        json_object_object_add(o, "memory", json_object_new_uint64(e->ram_size));
        json_object_object_add(o, "uptime_s", json_object_new_uint64(rows[i].uptime_s));
        json_object_object_add(o, "vm_path", json_object_new_string(e->vm_path));
        json_object_object_add(o, "socket", json_object_new_string(e->socket_path));
        json_object_object_add(o, "console_log", json_object_new_string(e->console_log));
        json_object_array_add(arr, o);
    }
    printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
}

static void print_table(const struct row *rows, unsigned n)
{
    int w = 4;

    for (unsigned i = 0; i < n; i++) {
        int l = (int)strlen(rows[i].e.name);
        w = l > w ? l : w;
    }
    printf("%-*s  %-11s  %7s  %5s  %6s  %10s  %s\n", w, "NAME", "STATE", "PID", "HARTS",
           "MEMORY", "UPTIME", "CONSOLE LOG");
    for (unsigned i = 0; i < n; i++) {
        char mem[32], up[32];
        mq_ctl_format_size(rows[i].e.ram_size, mem, sizeof(mem));
        mq_ctl_format_duration(rows[i].uptime_s, up, sizeof(up));
        printf("%-*s  %-11s  %7d  %5u  %6s  %10s  %s\n", w, rows[i].e.name, rows[i].state,
               (int)rows[i].e.pid, rows[i].e.nharts, mem, up,
               rows[i].e.console_log[0] ? rows[i].e.console_log : "-");
    }
}

int mq_cmd_list(int argc, char **argv)
{
    struct mq_vm_entry *v;
    struct row *rows;
    bool json = false;
    char err[512];
    unsigned n;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            list_usage(stdout);
            return 0;
        } else {
            mq_cli_error("list", "unexpected argument '%s' (see 'maquina list --help')",
                         argv[i]);
            return MQ_EXIT_USAGE;
        }
    }
    if (mq_vm_registry_list(&v, &n, err, sizeof(err)) != 0) {
        mq_cli_error("list", "%s", err);
        return MQ_EXIT_USAGE;
    }
    rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        free(v);
        return 1;
    }
    for (unsigned i = 0; i < n; i++) {
        rows[i].e = v[i];
        query(&rows[i]);
    }
    free(v);
    if (json)
        print_json(rows, n);
    else if (n)
        print_table(rows, n);
    else
        printf("no VM is running\n");
    free(rows);
    return 0;
}
