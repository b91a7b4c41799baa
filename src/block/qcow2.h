/* SPDX-License-Identifier: MIT */
/*
 * qcow2-specific operations beyond struct mq_blockdev: image creation, our
 * own header extensions (the .vm configuration lives in one) and internal
 * snapshots carrying machine state. Spec: QEMU docs/interop/qcow2.txt.
 *
 * Every function takes a blockdev opened with format "qcow2" (others get
 * -EINVAL). Threading: like struct mq_blockdev, callers serialize. Functions
 * that change the image need a read-write open and return -EROFS otherwise.
 * err/errlen, where present, receive a one-line reason on failure (may be
 * NULL/0).
 *
 * Through struct mq_blockdev: discard and write_zeroes on whole clusters
 * only touch metadata (zero flag, or unallocated when no backing file); the
 * partial clusters at either end are written with zeroes, so both keep the
 * "reads return zeroes" contract.
 */
#ifndef MQ_BLOCK_QCOW2_H
#define MQ_BLOCK_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "block/blockdev.h"

/* One header extension to write at creation time. */
struct mq_qcow2_ext {
    uint32_t type;
    const void *data;
    uint32_t len;
};

struct mq_qcow2_create_opts {
    uint32_t cluster_size;      /* power of two 512..2 MiB; 0 = 64 KiB */
    const char *backing_file;   /* NULL: none; stored as given (may be relative) */
    const char *backing_format; /* "raw"/"qcow2"/NULL (then not recorded) */
    const struct mq_qcow2_ext *exts; /* extra header extensions, may be NULL */
    unsigned n_exts;
};

/*
 * Create (or truncate) path as an empty qcow2 v3 image of size bytes. opts
 * may be NULL for defaults. When size is 0 and a backing file is given, the
 * backing file's size is used. Extension types reserved by the spec are
 * refused with -EINVAL.
 */
int mq_qcow2_create(const char *path, uint64_t size, const struct mq_qcow2_create_opts *opts,
                    char *err, size_t errlen);

/*
 * Header extensions of types the qcow2 spec does not define are kept
 * verbatim, in order, whenever we rewrite the header.
 *
 * get: copies up to buflen bytes of extension type into buf and stores the
 * full length in *len (len may be NULL). -ENOENT when absent, -ERANGE when
 * buflen is too small (*len is still set).
 *
 * set: adds or replaces extension type; data == NULL with len == 0 removes
 * it. The first cluster is rebuilt in memory, checked to fit, written with
 * one pwrite and flushed. Spec-defined types are refused (-EINVAL); -EFBIG
 * when the header, extensions and backing name no longer fit one cluster.
 */
int mq_qcow2_get_extension(struct mq_blockdev *bd, uint32_t type, void *buf, size_t buflen,
                           size_t *len);
int mq_qcow2_set_extension(struct mq_blockdev *bd, uint32_t type, const void *data, size_t len);

struct mq_qcow2_snapshot_info {
    char *id;              /* owned by the array, NUL-terminated */
    char *name;
    uint64_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_ns;
    uint64_t vm_state_size;
    uint64_t disk_size;
};

/*
 * Create an internal snapshot named name (unique, 1..1023 bytes) of the
 * current disk, storing vmstate (may be NULL when vmstate_len is 0) in the
 * snapshot's own vmstate area after the end of the virtual disk, as QEMU
 * does. The id is the next free integer, as QEMU assigns it.
 */
int mq_qcow2_snapshot_create(struct mq_blockdev *bd, const char *name, const void *vmstate,
                             uint64_t vmstate_len);
/* Same, recording the guest clock (ns the guest has run) in the table. */
int mq_qcow2_snapshot_create_ex(struct mq_blockdev *bd, const char *name, const void *vmstate,
                                uint64_t vmstate_len, uint64_t vm_clock_ns);

/*
 * id_or_name is matched against ids first, then names (as qemu-img does).
 * apply: the disk becomes the snapshot's disk (size included); the current
 * disk state is lost unless another snapshot holds it. -ENOENT if absent.
 */
int mq_qcow2_snapshot_apply(struct mq_blockdev *bd, const char *id_or_name);
int mq_qcow2_snapshot_delete(struct mq_blockdev *bd, const char *id_or_name);

/*
 * Is there a snapshot id_or_name (ids first, then names, as apply and
 * delete match)? 0 with *vm_state_size set (may be NULL), or -ENOENT.
 */
int mq_qcow2_snapshot_find(struct mq_blockdev *bd, const char *id_or_name,
                           uint64_t *vm_state_size);

/* *out is a malloc'ed array of *count entries; free with ..._list_free. */
int mq_qcow2_snapshot_list(struct mq_blockdev *bd, struct mq_qcow2_snapshot_info **out,
                           unsigned *count);
void mq_qcow2_snapshot_list_free(struct mq_qcow2_snapshot_info *info, unsigned count);

/* Read len bytes at off of a snapshot's machine state; -EINVAL past its end. */
int mq_qcow2_snapshot_read_vmstate(struct mq_blockdev *bd, const char *id_or_name, void *buf,
                                   uint64_t len, uint64_t off);

#endif
