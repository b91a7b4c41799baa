/* SPDX-License-Identifier: MIT */
/* `maquina status` and `maquina stats`: what a running VM says about itself. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/ctl_client.h"
#include "cli/options.h"

static void usage(FILE *f, const char *cmd)
{
    if (!strcmp(cmd, "status"))
        fprintf(f,
            "usage: maquina status NAME|NAME.vm [--json]\n"
            "\n"
            "State (running, paused, stopping), pid, VM file, harts, memory, uptime,\n"
            "guest clock, control socket and console log of a running VM.\n"
            "  --json       the VM's reply as JSON (docs/api.md, command status)\n"
            "\n"
            "Example: maquina status web\n");
    else
        fprintf(f,
            "usage: maquina stats NAME|NAME.vm [--json]\n"
            "\n"
            "Counters of a running VM since it started: instructions retired, traps and\n"
            "page faults per hart; requests, bytes and errors per disk; frames, bytes,\n"
            "drops and link state per NIC.\n"
            "  --json       the VM's reply as JSON (docs/api.md, command stats)\n"
            "\n"
            "Example: maquina stats web --json\n");
}

static uint64_t u(json_object *o, const char *key)
{
    json_object *v;

    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *s(json_object *o, const char *key)
{
    json_object *v;

    return o && json_object_object_get_ex(o, key, &v) && json_object_get_string(v)
               ? json_object_get_string(v) : "-";
}

static void print_status(const struct mq_vm_entry *e, json_object *r)
{
    char mem[32], up[32];
    uint64_t g = u(r, "guest_ns");

    mq_ctl_format_size(u(r, "memory"), mem, sizeof(mem));
    mq_ctl_format_duration(u(r, "uptime_ns") / 1000000000ull, up, sizeof(up));
    printf("name:         %s\n", e->name);
    printf("state:        %s\n", s(r, "state"));
    printf("pid:          %" PRIu64 "\n", u(r, "pid"));
    printf("file:         %s\n", e->vm_path[0] ? e->vm_path : "-");
    printf("harts:        %" PRIu64 "\n", u(r, "harts"));
    printf("memory:       %s\n", mem);
    printf("uptime:       %s\n", up);
    printf("guest clock:  %" PRIu64 ".%03" PRIu64 " s\n", (uint64_t)(g / 1000000000ull),
           (uint64_t)(g / 1000000ull % 1000));
    printf("control:      %s\n", e->socket_path);
    printf("console log:  %s\n", e->console_log[0] ? e->console_log : "-");
}

static void print_stats(json_object *r)
{
    json_object *a;

    if (json_object_object_get_ex(r, "harts", &a)) {
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *h = json_object_array_get_idx(a, i);
            printf("hart %zu:  instret %" PRIu64 "  traps %" PRIu64 "  page faults %" PRIu64
                   "\n", i, u(h, "instret"), u(h, "traps"), u(h, "page_faults"));
        }
    }
    if (json_object_object_get_ex(r, "disks", &a)) {
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *d = json_object_array_get_idx(a, i);
            printf("vd%c:     read %" PRIu64 " req / %" PRIu64 " B  write %" PRIu64
                   " req / %" PRIu64 " B  flush %" PRIu64 "  errors %" PRIu64 "\n",
                   (char)('a' + i), u(d, "rd_reqs"), u(d, "rd_bytes"), u(d, "wr_reqs"),
                   u(d, "wr_bytes"), u(d, "flush_reqs"), u(d, "errors"));
        }
    }
    if (json_object_object_get_ex(r, "nics", &a)) {
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *n = json_object_array_get_idx(a, i), *l;
            bool up = json_object_object_get_ex(n, "link_up", &l) && json_object_get_boolean(l);
            printf("eth%zu:    link %s  tx %" PRIu64 " frames / %" PRIu64 " B (%" PRIu64
                   " dropped)  rx %" PRIu64 " frames / %" PRIu64 " B (%" PRIu64 " dropped)\n",
                   i, up ? "up" : "down", u(n, "tx_frames"), u(n, "tx_bytes"),
                   u(n, "tx_dropped"), u(n, "rx_frames"), u(n, "rx_bytes"), u(n, "rx_dropped"));
        }
    }
}

static int query(int argc, char **argv, const char *cmd)
{
    const char *target = NULL;
    struct mq_vm_entry e;
    json_object *res = NULL;
    char err[512], code[64];
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout, cmd);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' || target) {
            mq_cli_error(cmd, "unexpected argument '%s' (see 'maquina %s --help')", argv[i],
                         cmd);
            return MQ_EXIT_USAGE;
        } else {
            target = argv[i];
        }
    }
    if (!target) {
        mq_cli_error(cmd, "which VM? (see 'maquina list')");
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_find(target, &e, err, sizeof(err)) != 0) {
        mq_cli_error(cmd, "%s", err);
        return MQ_EXIT_USAGE;
    }
    if (mq_ctl_request(e.socket_path, cmd, NULL, 10000, &res, code, sizeof(code), err,
                       sizeof(err)) != 0) {
        mq_cli_error(cmd, "%s: %s", e.name, err);
        return MQ_EXIT_USAGE;
    }
    if (!res)
        res = json_object_new_object();
    if (json) {
        if (!strcmp(cmd, "status")) {
            json_object_object_add(res, "socket", json_object_new_string(e.socket_path));
            json_object_object_add(res, "console_log", json_object_new_string(e.console_log));
        }
        printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if (!strcmp(cmd, "status")) {
        print_status(&e, res);
    } else {
        print_stats(res);
    }
    json_object_put(res);
    return 0;
}

int mq_cmd_status(int argc, char **argv)
{
    return query(argc, argv, "status");
}

int mq_cmd_stats(int argc, char **argv)
{
    return query(argc, argv, "stats");
}
