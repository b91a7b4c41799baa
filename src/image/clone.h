/* SPDX-License-Identifier: MIT */
/*
 * Cloning a .vm: a full copy, or a linked clone backed by the base
 * (rules and the base's clone list: docs/file-format.md).
 */
#ifndef MQ_IMAGE_CLONE_H
#define MQ_IMAGE_CLONE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/progress.h"
#include "util/compiler.h"

struct mq_vm_clone_opts {
    bool linked;        /* new.vm is backed by base.vm (qcow2 backing file) */
    bool no_snapshots;  /* full clone: copy only the current disk state */
    const char *name;   /* the clone's VM name; NULL: from dst's file name */
    struct mq_progress *progress; /* may be NULL */
};

/*
 * Clone base into the new file dst (which must not exist). The clone gets
 * a new uuid, new MAC addresses and created time; extra disks are shared
 * (the paths are re-expressed for dst's directory), not copied.
 *
 * Full, base standalone: the qcow2 file is copied extent by extent
 * (holes stay holes), snapshots and their machine state included; with
 * no_snapshots only the current disk is copied into a fresh image. Full,
 * base itself a linked clone: the current state is flattened (snapshots
 * would need the backing chain: refused unless no_snapshots).
 * Linked: dst records base as backing file (relative name when both sit
 * in one directory, else absolute) and base lists dst in its
 * linked_clones, which makes writers of base refuse while dst exists.
 *
 * base is share-locked throughout (refused while it runs) and the new file
 * appears under its final name only when complete. 0 or -errno with err.
 */
MQ_PUBLIC int mq_vm_clone(const char *base, const char *dst,
                          const struct mq_vm_clone_opts *opts, char *err, size_t errlen);

#endif
