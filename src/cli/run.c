/* SPDX-License-Identifier: MIT */
/* `maquina run`: boot a machine from firmware and/or a kernel and run it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "util/log.h"
#include "image/vm_file.h"
#include "vm/registry.h"
#include "vm/vm.h"

#define DEFAULT_FIRMWARE "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
#define DEFAULT_MEMORY (512ull << 20)

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: maquina run [NAME.vm] [OPTIONS]\n"
        "\n"
        "Boot an emulated RISC-V 64 machine (QEMU virt memory map) and run it until\n"
        "the guest powers off. The exit status is the one the guest asked for.\n"
        "With NAME.vm (see 'maquina create'), the VM's stored configuration is used:\n"
        "its disk is /dev/vda; options given here override it for this run, and\n"
        "--disk/--net given here replace the stored extra disks/NICs.\n"
        "Example: maquina run web.vm --memory 2G\n"
        "\n"
        "Boot images:\n"
        "  --bios FILE          a bare-metal RISC-V ELF program, loaded at its physical\n"
        "                       addresses and started at its entry in M-mode.\n"
        "                       Example: maquina run --bios hello.elf\n"
        "  --firmware FILE      M-mode firmware: an ELF, or a raw binary loaded and\n"
        "                       started at 0x80000000 (like QEMU's -bios).\n"
        "                       Example: maquina run --firmware fw_dynamic.bin --kernel Image\n"
        "  --kernel FILE        Linux Image loaded at RAM + 2 MiB; without --bios the\n"
        "                       default firmware is\n"
        "                       " DEFAULT_FIRMWARE "\n"
        "                       Example: maquina run --kernel Image --initrd initrd.gz\n"
        "  --initrd FILE        initial ramdisk, placed near the top of RAM\n"
        "  --append \"ARGS\"      kernel command line, e.g. --append \"console=ttyS0\"\n"
        "\n"
        "Devices:\n"
        "  --disk PATH[,ro][,serial=S][,format=raw|qcow2]\n"
        "                       a virtio disk (repeatable: /dev/vda, /dev/vdb, ...);\n"
        "                       the format is detected when not given.\n"
        "                       Example: --disk data.img --disk base.qcow2,ro,serial=base\n"
        "  --net SPEC           a virtio NIC (repeatable: eth0, eth1, ...). SPEC is\n"
        "                       user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT]...: NAT\n"
        "                       through the host with DHCP and DNS (guest 10.0.2.15,\n"
        "                       host 10.0.2.2). Example: --net user,hostfwd=tcp::2222-:22\n"
        "                       switch=NAME[,mac=52:54:00:xx:xx:xx]: a port of the virtual\n"
        "                       network NAME ('maquina net create'); give each VM on a\n"
        "                       network its own mac.\n"
        "                       Example: --net switch=lan0,mac=52:54:00:00:05:01\n"
        "                       tap=IFNAME: a host tap device (root, or a tap created for\n"
        "                       you). Example: --net tap=tap0\n"
        "  --hvc SPEC           a virtio console (hvc0) on pty, socket:PATH or file:PATH.\n"
        "                       Example: --hvc socket:/tmp/vm-hvc0.sock\n"
        "  --no-rng             leave out the virtio random number generator\n"
        "\n"
        "Machine:\n"
        "  -m, --memory SIZE    guest RAM, with K/M/G suffix (default 512M), e.g. -m 1G\n"
        "  --smp N              number of harts, 1 to %u (default 1), e.g. --smp 2\n"
        "  --sv39               offer only Sv39 paging (default: Sv39 and Sv48)\n"
        "  --cpu-limit PCT%%     cap the host CPU the VM uses, in %% of one host core\n"
        "                       for all its harts together (maquina's own hart\n"
        "                       scheduling; no cgroup needed). Example: --cpu-limit 50%%\n"
        "\n"
        "Management:\n"
        "  --name NAME          register the running VM as NAME for 'maquina list',\n"
        "                       'stop', 'pause', 'snapshot' ... (a NAME.vm is registered\n"
        "                       under its file name unless --name says otherwise)\n"
        "                       Example: maquina run --kernel Image --name lab1\n"
        "  --control PATH       serve the control API (docs/api.md) on a Unix socket\n"
        "                       at PATH (default with a name: the registry's NAME.sock)\n"
        "  --restore TAG        start from the machine state saved in snapshot TAG of\n"
        "                       the system disk ('maquina snapshot web.vm save TAG').\n"
        "                       Example: maquina run web.vm --restore before-upgrade\n"
        "\n"
        "Console:\n"
        "  --console MODE       where the serial console goes: stdio (default),\n"
        "                       file:PATH, none, or detached:LOG,SOCKET (what\n"
        "                       'maquina start' uses: LOG bounded to 1 MiB, rotated to\n"
        "                       LOG.1, and a Unix socket for 'maquina console').\n"
        "                       Example: --console file:boot.log\n"
        "\n"
        "Debugging:\n"
        "  --trace FILE         write one line per executed instruction to FILE:\n"
        "                       hart, mode, pc, instruction word, register written\n"
        "                       Example: --trace trace.txt --max-insns 1000\n"
        "  --max-insns N        stop after N instructions per hart (exit status %d)\n"
        "  -v, --verbose        more log messages\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: the guest's poweroff code (0 for a plain poweroff; a write of\n"
        "(code << 16) | 0x3333 to the syscon at 0x100000 gives code), %d when the\n"
        "instruction limit stopped the run, 2 for bad options or unusable files,\n"
        "128+N when signal N stopped it.\n",
        MQ_VIRT_MAX_HARTS, MQ_VM_EXIT_LIMIT, MQ_VM_EXIT_LIMIT);
}

enum {
    OPT_BIOS = 0x100,
    OPT_FIRMWARE,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_APPEND,
    OPT_SMP,
    OPT_CONSOLE,
    OPT_TRACE,
    OPT_MAX_INSNS,
    OPT_SV39,
    OPT_DISK,
    OPT_NO_RNG,
    OPT_NET,
    OPT_HVC,
    OPT_NAME,
    OPT_CONTROL,
    OPT_RESTORE,
    OPT_CPU_LIMIT,
};

static const struct option run_options[] = {
    {"bios", required_argument, NULL, OPT_BIOS},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"append", required_argument, NULL, OPT_APPEND},
    {"memory", required_argument, NULL, 'm'},
    {"smp", required_argument, NULL, OPT_SMP},
    {"sv39", no_argument, NULL, OPT_SV39},
    {"disk", required_argument, NULL, OPT_DISK},
    {"no-rng", no_argument, NULL, OPT_NO_RNG},
    {"net", required_argument, NULL, OPT_NET},
    {"hvc", required_argument, NULL, OPT_HVC},
    {"name", required_argument, NULL, OPT_NAME},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"restore", required_argument, NULL, OPT_RESTORE},
    {"cpu-limit", required_argument, NULL, OPT_CPU_LIMIT},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"max-insns", required_argument, NULL, OPT_MAX_INSNS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct run_args {
    struct mq_vm_options vm;
    const char *console;
    const char *trace_path;
    const char *vm_file;
    /* Which settings the command line gave (they override a .vm file). */
    bool set_memory, set_smp, set_firmware, set_kernel, set_initrd, set_append;
};

/*
 * --disk PATH[,ro][,serial=S][,format=F]. The spec string is modified in
 * place (commas become terminators); argv outlives the run.
 */
static int parse_disk(char *spec, struct mq_virt_config *b)
{
    struct mq_virt_disk *d;
    char *opt, *save = NULL;

    if (b->ndisks >= MQ_VIRT_VIRTIO_SLOTS) {
        mq_cli_error("run", "--disk: at most %u disks", MQ_VIRT_VIRTIO_SLOTS);
        return -1;
    }
    d = &b->disks[b->ndisks];
    memset(d, 0, sizeof(*d));
    /* strtok_r would skip a leading comma: an empty path is an error. */
    d->path = spec[0] == ',' ? NULL : strtok_r(spec, ",", &save);
    if (!d->path || !*d->path) {
        mq_cli_error("run", "--disk: missing path (e.g. --disk disk.img)");
        return -1;
    }
    while ((opt = strtok_r(NULL, ",", &save))) {
        if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
            d->read_only = true;
        } else if (!strncmp(opt, "serial=", 7)) {
            d->serial = opt + 7;
            if (strlen(d->serial) > 20) {
                mq_cli_error("run", "--disk %s: serial '%s' is longer than 20 bytes", d->path,
                             d->serial);
                return -1;
            }
        } else if (!strncmp(opt, "format=", 7)) {
            d->format = opt + 7;
            if (strcmp(d->format, "raw") && strcmp(d->format, "qcow2")) {
                mq_cli_error("run", "--disk %s: unknown format '%s' (raw or qcow2)", d->path,
                             d->format);
                return -1;
            }
        } else {
            mq_cli_error("run", "--disk %s: unknown option '%s' (ro, serial=, format=)",
                         d->path, opt);
            return -1;
        }
    }
    b->ndisks++;
    return 0;
}

/* Parse one option; -1 on a usage error (message printed), 1 for --help. */
static int parse_one(int c, struct run_args *a)
{
    uint64_t v;

    switch (c) {
    case OPT_BIOS:
    case OPT_FIRMWARE:
        a->set_firmware = true;
        if (a->vm.board.firmware) {
            mq_cli_error("run", "give only one of --bios and --firmware");
            return -1;
        }
        a->vm.board.firmware = optarg;
        a->vm.board.firmware_elf_only = c == OPT_BIOS;
        return 0;
    case OPT_KERNEL: a->vm.board.kernel = optarg; a->set_kernel = true; return 0;
    case OPT_INITRD: a->vm.board.initrd = optarg; a->set_initrd = true; return 0;
    case OPT_APPEND: a->vm.board.append = optarg; a->set_append = true; return 0;
    case 'm':
        if (!mq_parse_size(optarg, 1ull << 20, &v) || v < (16ull << 20) ||
            v > MQ_VIRT_MAX_RAM || v % 4096) {
            mq_cli_error("run", "--memory %s: not a possible size (16M to %lluG, e.g. 512M)",
                         optarg, (unsigned long long)(MQ_VIRT_MAX_RAM >> 30));
            return -1;
        }
        a->vm.board.ram_size = v;
        a->set_memory = true;
        return 0;
    case OPT_SMP:
        if (!mq_parse_uint(optarg, 1, MQ_VIRT_MAX_HARTS, &v)) {
            mq_cli_error("run", "--smp %s: the number of harts must be 1 to %u", optarg,
                         MQ_VIRT_MAX_HARTS);
            return -1;
        }
        a->vm.board.nharts = (unsigned)v;
        a->set_smp = true;
        return 0;
    case OPT_SV39: a->vm.board.max_satp_mode = 8; return 0;
    case OPT_DISK: return parse_disk(optarg, &a->vm.board);
    case OPT_NO_RNG: a->vm.board.no_rng = true; return 0;
    case OPT_NET:
        if (a->vm.board.nnets >= MQ_VIRT_VIRTIO_SLOTS) {
            mq_cli_error("run", "--net: at most %u NICs", MQ_VIRT_VIRTIO_SLOTS);
            return -1;
        }
        a->vm.board.nets[a->vm.board.nnets++] = optarg;
        return 0;
    case OPT_HVC: a->vm.board.hvc = optarg; return 0;
    case OPT_NAME:
        if (!mq_vm_name_ok(optarg)) {
            mq_cli_error("run", "--name '%s': a name has 1 to %u letters, digits, '.', '_' "
                         "or '-' and does not start with '.' or '-'", optarg, MQ_VM_NAME_MAX);
            return -1;
        }
        a->vm.name = optarg;
        return 0;
    case OPT_CONTROL: a->vm.control_path = optarg; return 0;
    case OPT_RESTORE: a->vm.restore_tag = optarg; return 0;
    case OPT_CPU_LIMIT: {
        char num[16];
        size_t n = strlen(optarg);
        if (n && optarg[n - 1] == '%')
            n--;
        if (n >= sizeof(num))
            n = sizeof(num) - 1;
        memcpy(num, optarg, n);
        num[n] = 0;
        if (!mq_parse_uint(num, 1, 100u * MQ_VIRT_MAX_HARTS, &v)) {
            mq_cli_error("run", "--cpu-limit %s: give a percentage of one host core, 1%% to "
                         "%u%%, e.g. --cpu-limit 50%%", optarg, 100u * MQ_VIRT_MAX_HARTS);
            return -1;
        }
        a->vm.cpu_limit_pct = (unsigned)v;
        return 0;
    }
    case OPT_CONSOLE: a->console = optarg; return 0;
    case OPT_TRACE: a->trace_path = optarg; return 0;
    case OPT_MAX_INSNS:
        if (!mq_parse_uint(optarg, 1, UINT64_MAX, &v)) {
            mq_cli_error("run", "--max-insns %s: expected a positive number", optarg);
            return -1;
        }
        a->vm.max_insns = v;
        return 0;
    case 'v':
        mq_log_set_level(mq_log_get_level() < MQ_LOG_DEBUG ? mq_log_get_level() + 1
                                                           : MQ_LOG_DEBUG);
        return 0;
    case 'h': return 1;
    default: return -1;
    }
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
    int c, r;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:vh", run_options, NULL)) != -1) {
        if (c == '?') {
            mq_cli_error("run", "unknown option '%s' (see 'maquina run --help')",
                         argv[optind - 1]);
            return -1;
        }
        if (c == ':') {
            mq_cli_error("run", "option '%s' needs a value", argv[optind - 1]);
            return -1;
        }
        r = parse_one(c, a);
        if (r)
            return r;
    }
    if (optind < argc) {
        const char *dot = strrchr(argv[optind], '.');
        if (a->vm_file || !dot || strcmp(dot, ".vm") != 0) {
            mq_cli_error("run", "unexpected argument '%s' (see 'maquina run --help')",
                         argv[optind]);
            return -1;
        }
        a->vm_file = argv[optind++];
        if (optind < argc) {
            mq_cli_error("run", "unexpected argument '%s' (see 'maquina run --help')",
                         argv[optind]);
            return -1;
        }
        return 0; /* what to boot comes from the file */
    }
    if (!a->vm.board.firmware && !a->vm.board.kernel) {
        mq_cli_error("run", "nothing to boot: give --bios FILE, --firmware FILE or --kernel FILE");
        return -1;
    }
    if (a->vm.board.initrd && !a->vm.board.kernel) {
        mq_cli_error("run", "--initrd needs --kernel");
        return -1;
    }
    return 0;
}

/*
 * Fill what the command line did not say from the .vm file's board view.
 * The system disk is always /dev/vda; --disk/--net on the command line
 * replace the stored extra disks/NICs.
 */
static int merge_vm_file(struct run_args *a, const struct mq_vm_board *vb)
{
    struct mq_virt_config *b = &a->vm.board;
    struct mq_virt_disk cli_disks[MQ_VIRT_VIRTIO_SLOTS];
    unsigned cli_ndisks = b->ndisks;

    if (!a->set_memory)
        b->ram_size = vb->ram_size;
    if (!a->set_smp)
        b->nharts = vb->nharts;
    if (!a->set_firmware && vb->firmware)
        b->firmware = vb->firmware;
    if (!a->set_kernel)
        b->kernel = vb->kernel;
    if (!a->set_initrd)
        b->initrd = vb->initrd;
    if (!a->set_append)
        b->append = vb->append;
    if (!b->firmware && !b->kernel) {
        mq_cli_error("run", "%s: nothing to boot: set a kernel or firmware with "
                     "'maquina config %s set kernel=...' or give --kernel", a->vm_file,
                     a->vm_file);
        return -1;
    }
    memcpy(cli_disks, b->disks, sizeof(cli_disks));
    b->ndisks = 0;
    for (unsigned i = 0; i < vb->ndisks && (i == 0 || cli_ndisks == 0); i++) {
        if (b->ndisks >= MQ_VIRT_VIRTIO_SLOTS)
            break;
        b->disks[b->ndisks++] = (struct mq_virt_disk){
            .path = vb->disks[i].path, .format = vb->disks[i].format,
            .read_only = vb->disks[i].read_only, .serial = vb->disks[i].serial};
    }
    for (unsigned i = 0; i < cli_ndisks; i++) {
        if (b->ndisks >= MQ_VIRT_VIRTIO_SLOTS) {
            mq_cli_error("run", "--disk: at most %u disks", MQ_VIRT_VIRTIO_SLOTS);
            return -1;
        }
        b->disks[b->ndisks++] = cli_disks[i];
    }
    if (b->nnets == 0) {
        for (unsigned i = 0; i < vb->nnics && i < MQ_VIRT_VIRTIO_SLOTS; i++) {
            b->nets[i] = vb->nics[i].net;
            memcpy(b->macs[i], vb->nics[i].mac, 6);
            b->has_mac[i] = true;
            b->nnets = i + 1;
        }
    }
    return 0;
}

static int open_vm_file(struct run_args *a, struct mq_vm_file **f, struct mq_vm_board *vb)
{
    char err[512];
    int ret;

    ret = mq_vm_file_open(a->vm_file, MQ_VM_OPEN_WRITE | MQ_VM_OPEN_NO_DISK, f, err,
                          sizeof(err));
    if (ret) {
        mq_cli_error("run", "%s", err);
        return -1;
    }
    ret = mq_vm_config_to_board(&(*f)->config, a->vm_file, vb, err, sizeof(err));
    if (ret) {
        mq_cli_error("run", "%s", err);
        mq_vm_file_close(*f);
        *f = NULL;
        return -1;
    }
    if (merge_vm_file(a, vb) != 0) {
        mq_vm_board_free(vb);
        mq_vm_file_close(*f);
        *f = NULL;
        return -1;
    }
    return 0;
}

int mq_cmd_run(int argc, char **argv)
{
    struct run_args a = {
        .vm = {.board = {.ram_size = DEFAULT_MEMORY, .nharts = 1,
                         .default_firmware = DEFAULT_FIRMWARE},
               .console = "stdio"},
        .console = "stdio",
    };
    struct mq_vm_file *vmf = NULL;
    struct mq_vm_board vb;
    char err[512], default_name[MQ_VM_NAME_MAX + 1], console_log[4096];
    int status = 0, ret;

    memset(&vb, 0, sizeof(vb));
    ret = parse_args(argc, argv, &a);
    if (ret) {
        if (ret > 0)
            run_usage(stdout);
        return ret > 0 ? 0 : MQ_EXIT_USAGE;
    }
    a.vm.console = a.console;
    if (a.vm_file && open_vm_file(&a, &vmf, &vb) != 0)
        return MQ_EXIT_USAGE;
    if (a.vm_file && !a.vm.name) {
        /* A .vm runs under its file name, so 'maquina snapshot web.vm' finds it. */
        if (mq_vm_name_from_path(a.vm_file, default_name, sizeof(default_name)) == 0)
            a.vm.name = default_name;
        else
            mq_warn("run", "%s: the file name is not a legal VM name, so the VM is not "
                    "registered; give --name", a.vm_file);
    }
    if (a.vm.restore_tag && !a.vm.board.ndisks) {
        mq_cli_error("run", "--restore needs a system disk holding the snapshot (NAME.vm or "
                     "--disk FILE.qcow2)");
        return MQ_EXIT_USAGE;
    }
    a.vm.vm_path = a.vm_file;
    if (!strncmp(a.console, "file:", 5))
        a.vm.console_log = a.console + 5;
    if (!strncmp(a.console, "detached:", 9) && strchr(a.console, ',')) {
        /* detached:LOG,SOCKET (maquina start): the registry shows LOG. */
        snprintf(console_log, sizeof(console_log), "%.*s",
                 (int)(strchr(a.console, ',') - a.console - 9), a.console + 9);
        a.vm.console_log = console_log;
    }
    if (a.trace_path) {
        a.vm.trace = fopen(a.trace_path, "w");
        if (!a.vm.trace) {
            mq_cli_error("run", "--trace %s: %s", a.trace_path, strerror(errno));
            return MQ_EXIT_USAGE;
        }
    }
    ret = mq_vm_run(&a.vm, &status, err, sizeof(err));
    if (a.vm.trace)
        fclose(a.vm.trace);
    if (vmf) {
        mq_vm_board_free(&vb);
        mq_vm_file_close(vmf); /* releases the lock */
    }
    if (ret) {
        mq_cli_error("run", "%s", err);
        return MQ_EXIT_USAGE;
    }
    return status;
}
