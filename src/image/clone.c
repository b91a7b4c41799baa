/* SPDX-License-Identifier: MIT */
/*
 * Full and linked clones of a .vm file (docs/file-format.md, "Clones";
 * qcow2 backing files: QEMU docs/interop/qcow2.txt).
 */
#include "image/clone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "image/convert.h"
#include "image/image_int.h"
#include "image/vm_file.h"

#define FILE_CHUNK (1u << 20)

/* The VM name a file name suggests: its base name without ".vm". */
static char *name_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    size_t n;

    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 3 && !strcmp(b + n - 3, ".vm"))
        n -= 3;
    if (n > MQ_VM_NAME_MAX)
        n = MQ_VM_NAME_MAX;
    return n ? strndup(b, n) : strdup("vm");
}

/* The clone's config: new identity and name, extra disk paths re-expressed for dst_dir. */
static int clone_config(const struct mq_vm_file *base, const char *dst, const char *dst_dir,
                        const char *name, struct mq_vm_config *out, char *err, size_t errlen)
{
    int ret = mq_vm_config_copy(out, &base->config);

    if (ret)
        return ret;
    ret = mq_vm_config_new_identity(out);
    free(out->name);
    out->name = name ? strdup(name) : name_from_path(dst);
    if (!ret && !out->name)
        ret = -ENOMEM;
    for (unsigned i = 0; !ret && i < out->ndisks; i++) {
        char *full = NULL, *stored = NULL;

        ret = mq_image_join(base->dir, out->disks[i].path, &full);
        if (!ret)
            ret = mq_image_disk_store_path(full, dst_dir, &stored);
        if (ret == -ENOENT) {
            /* A missing disk is reported by run, not by clone: keep it absolute. */
            stored = full;
            full = NULL;
            ret = 0;
        }
        if (!ret) {
            free(out->disks[i].path);
            out->disks[i].path = stored;
        }
        free(full);
    }
    if (!ret)
        ret = mq_vm_config_validate(out, err, errlen);
    if (ret)
        mq_vm_config_free(out);
    return ret;
}

/* Copy a file keeping its holes (SEEK_DATA/SEEK_HOLE), then fsync. */
static int copy_sparse(int in, int out, uint64_t size, struct mq_progress *pr)
{
    uint8_t *buf = malloc(FILE_CHUNK);
    off_t pos = 0;
    int ret = 0;

    if (!buf)
        return -ENOMEM;
    while ((uint64_t)pos < size && !ret) {
        off_t data = lseek(in, pos, SEEK_DATA), hole;

        if (data < 0) {
            ret = errno == ENXIO ? 0 : -errno; /* ENXIO: only a hole remains */
            break;
        }
        hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0) {
            ret = -errno;
            break;
        }
        mq_progress_add(pr, (uint64_t)(data - pos));
        for (off_t o = data; o < hole && !ret;) {
            size_t n = (size_t)MQ_MIN((off_t)FILE_CHUNK, hole - o);
            ssize_t r = pread(in, buf, n, o), w;

            if (r <= 0) {
                ret = r < 0 ? -errno : -EIO;
                break;
            }
            w = pwrite(out, buf, (size_t)r, o);
            if (w != r) {
                ret = w < 0 ? -errno : -EIO;
                break;
            }
            o += r;
            mq_progress_add(pr, (uint64_t)r);
        }
        pos = hole;
    }
    if (!ret && ftruncate(out, (off_t)size))
        ret = -errno;
    if (!ret && fsync(out))
        ret = -errno;
    free(buf);
    return ret;
}

/* Byte copy of base (its qcow2 structure, snapshots and all), then the new config. */
static int clone_file_copy(struct mq_vm_file *base, const char *tmp,
                           const struct mq_vm_config *cfg, struct mq_progress *pr, char *err,
                           size_t errlen)
{
    struct mq_vm_file *f = NULL;
    struct stat st;
    int in, out, ret;

    in = open(base->path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: %s", base->path, strerror(-ret));
        if (in >= 0)
            close(in);
        return ret;
    }
    out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot create: %s", tmp, strerror(-ret));
        close(in);
        return ret;
    }
    ret = copy_sparse(in, out, (uint64_t)st.st_size, pr);
    close(in);
    close(out);
    if (ret) {
        mq_image_err(err, errlen, "%s: copy failed: %s", tmp, strerror(-ret));
        return ret;
    }
    ret = mq_vm_file_open(tmp, MQ_VM_OPEN_WRITE | MQ_VM_OPEN_ALLOW_LINKED, &f, err, errlen);
    if (!ret)
        ret = mq_vm_file_write_config(f, cfg, err, errlen);
    mq_vm_file_close(f);
    return ret;
}

/* A fresh image holding the current disk state of base (flattened). */
static int clone_disk_copy(struct mq_vm_file *base, const char *tmp,
                           const struct mq_vm_config *cfg, struct mq_progress *pr, char *err,
                           size_t errlen)
{
    struct mq_blockdev *out = NULL;
    int ret;

    ret = mq_image_create_vm_at(tmp, base->bd->size, cfg, NULL, err, errlen);
    if (!ret)
        ret = mq_blockdev_open(tmp, "qcow2", 0, &out, err, (unsigned)errlen);
    if (!ret)
        ret = mq_image_copy_disk(base->bd, out, pr, err, errlen);
    mq_blockdev_close(out);
    return ret;
}

/* How dst names base: relative when in one directory, so the pair can move. */
static int backing_name(const struct mq_vm_file *base, const char *dst_dir, char **out)
{
    char *abs = NULL;
    size_t n = strlen(dst_dir);
    int ret = mq_image_realpath(base->path, &abs);

    if (ret)
        return ret;
    if (!strncmp(abs, dst_dir, n) && abs[n] == '/' && !strchr(abs + n + 1, '/')) {
        *out = strdup(abs + n + 1);
        free(abs);
        return *out ? 0 : -ENOMEM;
    }
    *out = abs;
    return 0;
}

/* Add dst to base's linked_clones, dropping entries that no longer exist. */
static int register_clone(const char *base_path, const char *dst, char *err, size_t errlen)
{
    struct mq_vm_file *b = NULL;
    struct mq_vm_config c;
    char *abs = NULL;
    struct stat st;
    unsigned k = 0;
    int ret;

    ret = mq_image_realpath(dst, &abs);
    if (ret)
        return ret;
    ret = mq_vm_file_open(base_path, MQ_VM_OPEN_WRITE | MQ_VM_OPEN_ALLOW_LINKED, &b, err,
                          errlen);
    if (!ret)
        ret = mq_vm_config_copy(&c, &b->config);
    if (ret)
        goto out;
    for (unsigned i = 0; i < c.nlinked; i++) {
        if (stat(c.linked_clones[i], &st) || !strcmp(c.linked_clones[i], abs))
            free(c.linked_clones[i]);
        else
            c.linked_clones[k++] = c.linked_clones[i];
    }
    c.nlinked = k;
    if (c.nlinked >= MQ_VM_MAX_LINKED_CLONES) {
        mq_image_err(err, errlen, "%s: already %d linked clones", base_path,
                     MQ_VM_MAX_LINKED_CLONES);
        ret = -ENOSPC;
    } else {
        c.linked_clones[c.nlinked++] = abs;
        abs = NULL;
        ret = mq_vm_file_write_config(b, &c, err, errlen);
    }
    mq_vm_config_free(&c);
out:
    mq_vm_file_close(b);
    free(abs);
    return ret;
}

static int has_snapshots(struct mq_blockdev *bd, unsigned *count)
{
    struct mq_qcow2_snapshot_info *info = NULL;
    int ret = mq_qcow2_snapshot_list(bd, &info, count);

    if (!ret)
        mq_qcow2_snapshot_list_free(info, *count);
    return ret;
}

int mq_vm_clone(const char *base_path, const char *dst, const struct mq_vm_clone_opts *opts,
                char *err, size_t errlen)
{
    struct mq_vm_file *base = NULL;
    struct mq_vm_config cfg;
    char *dst_dir = NULL, *tmp = NULL, *bname = NULL;
    struct stat st;
    unsigned nsnap = 0;
    bool have_cfg = false;
    int ret;

    if (!lstat(dst, &st)) {
        mq_image_err(err, errlen, "%s already exists", dst);
        return -EEXIST;
    }
    ret = mq_vm_file_open(base_path, 0, &base, err, errlen);
    if (ret)
        return ret;
    ret = mq_image_dir_of(dst, &dst_dir);
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot resolve its directory: %s", dst, strerror(-ret));
        goto out;
    }
    ret = clone_config(base, dst, dst_dir, opts->name, &cfg, err, errlen);
    if (ret)
        goto out;
    have_cfg = true;
    ret = mq_image_tmp_name(dst, &tmp);
    if (ret)
        goto out;
    if (opts->linked) {
        ret = backing_name(base, dst_dir, &bname);
        if (!ret)
            ret = mq_image_create_vm_at(tmp, base->bd->size, &cfg, bname, err, errlen);
    } else if (!base->backing && !opts->no_snapshots) {
        uint64_t total = stat(base->path, &st) ? 0 : (uint64_t)st.st_size;

        mq_progress_start(opts->progress, "clone", total, true);
        ret = clone_file_copy(base, tmp, &cfg, opts->progress, err, errlen);
        mq_progress_end(opts->progress, !ret);
    } else {
        ret = has_snapshots(base->bd, &nsnap);
        if (!ret && nsnap && !opts->no_snapshots) {
            mq_image_err(err, errlen,
                         "%s is a linked clone with %u snapshot(s): a full clone copies only "
                         "its current state (add --no-snapshots)", base_path, nsnap);
            ret = -EINVAL;
        }
        if (!ret) {
            mq_progress_start(opts->progress, "clone", base->bd->size, true);
            ret = clone_disk_copy(base, tmp, &cfg, opts->progress, err, errlen);
            mq_progress_end(opts->progress, !ret);
        }
    }
    if (!ret && rename(tmp, dst)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot rename into place: %s", dst, strerror(-ret));
    }
    if (ret) {
        unlink(tmp);
        goto out;
    }
    if (opts->linked) {
        /* The base must be share-unlocked before it can be opened for writing. */
        mq_vm_file_close(base);
        base = NULL;
        ret = register_clone(base_path, dst, err, errlen);
        if (ret)
            unlink(dst); /* an unregistered clone would not protect its base */
    }
out:
    if (have_cfg)
        mq_vm_config_free(&cfg);
    mq_vm_file_close(base);
    free(bname);
    free(tmp);
    free(dst_dir);
    return ret;
}
