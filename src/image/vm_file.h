/* SPDX-License-Identifier: MIT */
/*
 * The single-file VM: NAME.vm is a qcow2 v3 image whose disk is the VM's
 * system disk and whose configuration is a header extension
 * (image/vm_config.h). Layout, lock protocol and linked-clone rules:
 * docs/file-format.md. qcow2: QEMU docs/interop/qcow2.txt.
 *
 * Every function that fills err writes one line naming the file and the
 * problem (err may be NULL when errlen is 0) and returns 0 or -errno.
 * A file whose header or configuration fails validation is never written.
 * Threading: one mq_vm_file is used by one thread at a time.
 */
#ifndef MQ_IMAGE_VM_FILE_H
#define MQ_IMAGE_VM_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/blockdev.h"
#include "image/vm_config.h"
#include "util/compiler.h"

/* ----------------------------------------------------------------- locks */

/*
 * Locks use QEMU's byte-range protocol (open file description locks on
 * bytes 100+perm and 200+perm, as QEMU's file-posix driver takes them), so
 * maquina and QEMU keep each other from writing a .vm the other uses:
 *
 * SHARED: "I read the disk and nobody may write it" (info, clone, export).
 *   Several shared holders coexist; it fails while an exclusive holder (or
 *   a QEMU writing the image) exists.
 * EXCLUSIVE: "I write this file" (run, config set). Fails while any other
 *   holder exists, maquina or QEMU (qemu-img info then fails too, as with
 *   a running QEMU; qemu-img info -U still reads).
 *
 * The lock lives on the open file description of fd: it is released when
 * every descriptor sharing it is closed or by mq_vm_file_unlock(), and is
 * not lost when the process closes another descriptor of the same file.
 * fd must be open for reading. -EBUSY (err says who conflicts) on conflict.
 */
enum mq_vm_lock_mode {
    MQ_VM_LOCK_SHARED,
    MQ_VM_LOCK_EXCLUSIVE,
};

MQ_PUBLIC int mq_vm_file_lock(int fd, const char *path, enum mq_vm_lock_mode mode, char *err,
                              size_t errlen);
MQ_PUBLIC void mq_vm_file_unlock(int fd);

/* ----------------------------------------------------------- create/open */

struct mq_vm_create_opts {
    bool force;                 /* replace an existing file (not one in use) */
    const char *backing_file;   /* linked clone: the base .vm as it is recorded */
};

/*
 * Create path as a .vm of disk_size bytes (0 with a backing file: its
 * size) holding config c (validated first). Written under a temporary name
 * in the same directory and renamed at the end, so a failure never leaves
 * a half-written file, and --force never loses the old file on failure.
 * -EEXIST when path exists and !opts->force; -EBUSY when it is in use.
 */
MQ_PUBLIC int mq_vm_file_create(const char *path, uint64_t disk_size,
                                const struct mq_vm_config *c,
                                const struct mq_vm_create_opts *opts, char *err,
                                size_t errlen);

/* Open flags. */
#define MQ_VM_OPEN_WRITE 1u          /* exclusive lock, disk and config writable */
/* With WRITE: do not refuse a base that live linked clones depend on. */
#define MQ_VM_OPEN_ALLOW_LINKED 2u
/* Read the config, then close the disk (keep only the lock): for `run`, whose board opens the disk itself. */
#define MQ_VM_OPEN_NO_DISK 4u

struct mq_vm_file {
    char *path;               /* as given */
    char *dir;                /* absolute directory of the file */
    int lock_fd;              /* holds the lock; -1 when none */
    bool writable;
    struct mq_blockdev *bd;   /* the system disk; NULL with MQ_VM_OPEN_NO_DISK */
    struct mq_vm_config config; /* as read (or last written) */
    char *backing;            /* qcow2 backing file name (linked clone) or NULL */
};

/*
 * Open a .vm: take the lock (shared, or exclusive with MQ_VM_OPEN_WRITE),
 * validate the qcow2 image and its configuration while read-only, then
 * reopen read-write for WRITE. With WRITE and without ALLOW_LINKED,
 * refuses (-EBUSY) a base file that live linked clones depend on, since
 * writing its disk would corrupt them. *out is freed by mq_vm_file_close.
 * -ENOENT no file, -EINVAL not a .vm / corrupt, -EPROTONOSUPPORT newer config.
 */
MQ_PUBLIC int mq_vm_file_open(const char *path, unsigned flags, struct mq_vm_file **out,
                              char *err, size_t errlen);

/*
 * Replace the stored configuration with c (validated and encoded first;
 * on failure the file is unchanged). Needs MQ_VM_OPEN_WRITE and the disk.
 * f->config becomes a copy of c.
 */
MQ_PUBLIC int mq_vm_file_write_config(struct mq_vm_file *f, const struct mq_vm_config *c,
                                      char *err, size_t errlen);

/* Flush and close the disk, release the lock, free f. NULL is allowed. */
MQ_PUBLIC void mq_vm_file_close(struct mq_vm_file *f);

/*
 * Live linked clones of f: entries of f->config.linked_clones that still
 * exist and whose backing file still resolves to f. *count receives their
 * number; when names is non-NULL, a malloc'ed NUL-separated, double-NUL
 * terminated list of them (caller frees). 0 or -errno.
 */
MQ_PUBLIC int mq_vm_file_live_clones(const struct mq_vm_file *f, unsigned *count, char **names);

/* -------------------------------------------------- config for the board */

struct mq_vm_board_disk {
    char *path;          /* usable path (relative ones joined to the .vm's directory) */
    const char *format;  /* "raw", "qcow2" or NULL: detect */
    bool read_only;
    const char *serial;  /* NULL: none */
};

struct mq_vm_board_nic {
    const char *net;     /* the --net specification */
    uint8_t mac[6];
    char mac_str[18];    /* "52:54:00:12:34:56" */
};

/*
 * The values `maquina run NAME.vm` gives the board, resolved; pointers
 * into the source config stay valid as long as it lives, path strings are
 * owned by the board struct. disks[0] is the .vm itself (qcow2, /dev/vda).
 */
struct mq_vm_board {
    uint64_t ram_size;
    unsigned nharts;
    char *firmware;      /* NULL: the default firmware */
    char *kernel;        /* NULL: none */
    char *initrd;        /* NULL: none */
    const char *append;  /* NULL: none */
    struct mq_vm_board_disk disks[1 + MQ_VM_MAX_DISKS];
    unsigned ndisks;
    struct mq_vm_board_nic nics[MQ_VM_MAX_NICS];
    unsigned nnics;
};

/*
 * Resolve c (read from the .vm at vm_path) into *out. Does not depend on
 * the machine layer and does not check that the files exist (the board
 * reports missing ones). Free with mq_vm_board_free. 0 or -errno.
 */
MQ_PUBLIC int mq_vm_config_to_board(const struct mq_vm_config *c, const char *vm_path,
                                    struct mq_vm_board *out, char *err, size_t errlen);
MQ_PUBLIC void mq_vm_board_free(struct mq_vm_board *b);

#endif
