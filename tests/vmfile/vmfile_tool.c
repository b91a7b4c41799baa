/* SPDX-License-Identifier: MIT */
/*
 * Test helper for the .vm tests: drives the image library where the
 * maquina command has no equivalent (writes through the block layer,
 * holding a lock, the board mapping) and imports archives directly.
 *
 *   vmfile_tool write FILE OFFSET BYTE LEN     write LEN bytes of BYTE at OFFSET
 *   vmfile_tool hold FILE SECONDS [shared]     hold the .vm lock, print "locked"
 *   vmfile_tool open-write FILE                open for writing and close (0 or 1)
 *   vmfile_tool board FILE                     print mq_vm_config_to_board()
 *   vmfile_tool import ARCHIVE DIR             mq_vmx_import()
 *   vmfile_tool decode FILE                    decode a config JSON file (0 or 1)
 *   vmfile_tool snapshot FILE NAME VMSTATE_LEN create an internal snapshot with machine state
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blockdev.h"
#include "block/qcow2.h"
#include "image/archive.h"
#include "image/vm_file.h"
#include "util/file.h"

static int do_write(char **argv)
{
    struct mq_blockdev *bd;
    uint64_t off = strtoull(argv[3], NULL, 0), len = strtoull(argv[5], NULL, 0);
    char err[256];
    uint8_t *buf = malloc(len);
    int ret;

    if (!buf)
        return 1;
    memset(buf, (int)strtoul(argv[4], NULL, 0), len);
    ret = mq_blockdev_open(argv[2], NULL, 0, &bd, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "%s\n", err);
        free(buf);
        return 1;
    }
    ret = mq_blockdev_pwrite(bd, buf, len, off);
    mq_blockdev_close(bd);
    free(buf);
    return ret ? 1 : 0;
}

static int do_hold(int argc, char **argv)
{
    struct mq_vm_file *f;
    char err[256];
    bool shared = argc > 4 && !strcmp(argv[4], "shared");

    if (mq_vm_file_open(argv[2], shared ? 0 : MQ_VM_OPEN_WRITE | MQ_VM_OPEN_NO_DISK, &f, err,
                        sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("locked\n");
    fflush(stdout);
    sleep((unsigned)atoi(argv[3]));
    mq_vm_file_close(f);
    return 0;
}

static int do_open_write(char **argv)
{
    struct mq_vm_file *f;
    char err[256];

    if (mq_vm_file_open(argv[2], MQ_VM_OPEN_WRITE, &f, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    mq_vm_file_close(f);
    return 0;
}

static int do_board(char **argv)
{
    struct mq_vm_file *f;
    struct mq_vm_board b;
    char err[256];

    if (mq_vm_file_open(argv[2], MQ_VM_OPEN_NO_DISK, &f, err, sizeof(err)) ||
        mq_vm_config_to_board(&f->config, argv[2], &b, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("ram %llu\nharts %u\nfirmware %s\nkernel %s\ninitrd %s\nappend %s\n",
           (unsigned long long)b.ram_size, b.nharts, b.firmware ? b.firmware : "-",
           b.kernel ? b.kernel : "-", b.initrd ? b.initrd : "-", b.append ? b.append : "-");
    for (unsigned i = 0; i < b.ndisks; i++)
        printf("disk %s %s %s %s\n", b.disks[i].path, b.disks[i].format ? b.disks[i].format : "-",
               b.disks[i].read_only ? "ro" : "rw", b.disks[i].serial ? b.disks[i].serial : "-");
    for (unsigned i = 0; i < b.nnics; i++)
        printf("nic %s %s\n", b.nics[i].mac_str, b.nics[i].net);
    mq_vm_board_free(&b);
    mq_vm_file_close(f);
    return 0;
}

static int do_import(char **argv)
{
    char err[256], *vm = NULL;

    if (mq_vmx_import(argv[2], argv[3], NULL, &vm, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("imported %s\n", vm);
    free(vm);
    return 0;
}

static int do_decode(char **argv)
{
    struct mq_vm_config c;
    uint8_t *data;
    size_t len;
    char err[256];

    if (mq_read_file(argv[2], 1 << 20, &data, &len, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (mq_vm_config_decode(data, len, &c, err, sizeof(err))) {
        printf("refused: %s\n", err);
        free(data);
        return 1;
    }
    mq_vm_config_free(&c);
    free(data);
    printf("accepted\n");
    return 0;
}

static int do_snapshot(char **argv)
{
    struct mq_blockdev *bd;
    size_t len = strtoul(argv[4], NULL, 0);
    uint8_t *state = calloc(1, len ? len : 1);
    char err[256];
    int ret;

    if (!state)
        return 1;
    memset(state, 0xa5, len);
    ret = mq_blockdev_open(argv[2], "qcow2", 0, &bd, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "%s\n", err);
        free(state);
        return 1;
    }
    ret = mq_qcow2_snapshot_create(bd, argv[3], len ? state : NULL, len);
    mq_blockdev_close(bd);
    free(state);
    return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "snapshot"))
        return do_snapshot(argv);
    if (argc >= 6 && !strcmp(argv[1], "write"))
        return do_write(argv);
    if (argc >= 4 && !strcmp(argv[1], "hold"))
        return do_hold(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "open-write"))
        return do_open_write(argv);
    if (argc >= 3 && !strcmp(argv[1], "board"))
        return do_board(argv);
    if (argc >= 4 && !strcmp(argv[1], "import"))
        return do_import(argv);
    if (argc >= 3 && !strcmp(argv[1], "decode"))
        return do_decode(argv);
    fprintf(stderr, "usage: vmfile_tool write|hold|open-write|board|import|decode ...\n");
    return 2;
}
