/* SPDX-License-Identifier: MIT */
/*
 * The export archive (NAME.vmx): one file holding a .vm and its extra
 * disks, each compressed with zstd and checksummed with SHA-256, plus a
 * checksum of the whole archive. Format: docs/file-format.md, "Export
 * archive"; zstd frames: RFC 8878.
 */
#ifndef MQ_IMAGE_ARCHIVE_H
#define MQ_IMAGE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/progress.h"
#include "util/compiler.h"

#define MQ_VMX_VERSION 1
#define MQ_VMX_NAME_MAX 255
/* Largest entry accepted on import (the qcow2 limit is far below). */
#define MQ_VMX_MAX_ENTRY_SIZE (64ull << 40)

struct mq_vmx_export_opts {
    bool force;                   /* replace an existing archive */
    int level;                    /* zstd level; 0: default (3) */
    struct mq_progress *progress; /* may be NULL */
};

/*
 * Write the .vm at vm_path and its extra disks into the archive out_path
 * (under a temporary name, renamed at the end). The .vm is share-locked
 * meanwhile (refused while it runs); a linked clone is refused (make a
 * full clone first). 0 or -errno with err.
 */
MQ_PUBLIC int mq_vmx_export(const char *vm_path, const char *out_path,
                            const struct mq_vmx_export_opts *opts, char *err, size_t errlen);

/*
 * Recreate the files of archive in out_dir (created when missing). Every
 * entry is decompressed to a temporary name and checked (sizes, SHA-256 of
 * each entry and of the archive, the .vm's qcow2 header and config) before
 * anything gets its final name; a damaged or truncated archive leaves
 * nothing behind. Existing files are never replaced (-EEXIST). The .vm's
 * extra disk paths are rewritten to the imported files and its linked
 * clone list is cleared. *vm_out (may be NULL) receives the new .vm path.
 * 0 or -errno with err.
 */
MQ_PUBLIC int mq_vmx_import(const char *archive, const char *out_dir,
                            struct mq_progress *progress, char **vm_out, char *err,
                            size_t errlen);

#endif
