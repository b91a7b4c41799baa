/* SPDX-License-Identifier: MIT */
/*
 * The single-file VM: creating, opening and locking NAME.vm, a qcow2 v3
 * image carrying its configuration in a header extension
 * (docs/file-format.md; QEMU docs/interop/qcow2.txt).
 */
#include "image/vm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "image/image_int.h"

/* ----------------------------------------------------------------- locks */

/*
 * QEMU's file-posix lock bytes (block/file-posix.c): a holder of
 * permission bit i read-locks byte 100 + i; a holder that does not share
 * permission i with others read-locks byte 200 + i. Bits: 0 consistent
 * read, 1 write, 2 write-unchanged, 3 resize.
 */
#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200
#define PERM_READ 0x1u
#define PERM_WRITE 0x2u
#define PERM_WRITE_UNCHANGED 0x4u
#define PERM_RESIZE 0x8u
#define PERM_BITS 4

static int lock_byte(int fd, int type, off_t off)
{
    struct flock fl = {.l_type = (short)type, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

    return fcntl(fd, F_OFD_SETLK, &fl) ? -errno : 0;
}

/* True when another open file description holds a lock on byte off. */
static bool byte_taken(int fd, off_t off)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

    if (fcntl(fd, F_OFD_GETLK, &fl))
        return true; /* cannot tell: treat as taken, the safe answer */
    return fl.l_type != F_UNLCK;
}

void mq_vm_file_unlock(int fd)
{
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = LOCK_PERM_BASE,
                       .l_len = LOCK_SHARED_BASE + 100 - LOCK_PERM_BASE};

    if (fd >= 0)
        fcntl(fd, F_OFD_SETLK, &fl);
}

int mq_vm_file_lock(int fd, const char *path, enum mq_vm_lock_mode mode, char *err,
                    size_t errlen)
{
    bool excl = mode == MQ_VM_LOCK_EXCLUSIVE;
    unsigned perm = excl ? PERM_READ | PERM_WRITE | PERM_RESIZE : PERM_READ;
    unsigned unshared = excl ? PERM_WRITE | PERM_WRITE_UNCHANGED | PERM_RESIZE
                             : PERM_WRITE | PERM_RESIZE;
    int ret = 0;

    /* Take first, then look: two racing openers both see each other and fail. */
    for (unsigned i = 0; !ret && i < PERM_BITS; i++) {
        if (perm & (1u << i))
            ret = lock_byte(fd, F_RDLCK, LOCK_PERM_BASE + i);
        if (!ret && (unshared & (1u << i)))
            ret = lock_byte(fd, F_RDLCK, LOCK_SHARED_BASE + i);
    }
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot lock: %s", path, strerror(-ret));
        mq_vm_file_unlock(fd);
        return ret == -EAGAIN || ret == -EACCES ? -EBUSY : ret;
    }
    for (unsigned i = 0; i < PERM_BITS; i++) {
        bool conflict = ((perm & (1u << i)) && byte_taken(fd, LOCK_SHARED_BASE + i)) ||
                        ((unshared & (1u << i)) && byte_taken(fd, LOCK_PERM_BASE + i));

        if (conflict) {
            mq_image_err(err, errlen,
                         excl ? "%s is in use by another process (a running VM or a tool "
                                "reading it)"
                              : "%s is being written by another process (a running VM?)",
                         path);
            mq_vm_file_unlock(fd);
            return -EBUSY;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- create */

/* Refuse to replace a file in use or a base that linked clones need. */
static int check_replaceable(const char *path, char *err, size_t errlen)
{
    struct mq_vm_file *old;
    unsigned live = 0;
    char oerr[256];
    int ret;

    ret = mq_vm_file_open(path, 0, &old, oerr, sizeof(oerr));
    if (ret == -EBUSY) {
        mq_image_err(err, errlen, "%s", oerr);
        return ret;
    }
    if (ret)
        return 0; /* not a readable .vm: nothing depends on it */
    ret = mq_vm_file_live_clones(old, &live, NULL);
    mq_vm_file_close(old);
    if (!ret && live) {
        mq_image_err(err, errlen, "%s: %u linked clone(s) depend on it; not replacing it",
                     path, live);
        return -EBUSY;
    }
    return 0;
}

int mq_image_create_vm_at(const char *path, uint64_t size, const struct mq_vm_config *c,
                          const char *backing, char *err, size_t errlen)
{
    struct mq_qcow2_create_opts q = {0};
    struct mq_qcow2_ext ext;
    char *json = NULL, cerr[256];
    size_t len;
    int ret;

    ret = mq_vm_config_encode(c, &json, &len, cerr, sizeof(cerr));
    if (ret) {
        mq_image_err(err, errlen, "%s: configuration: %s", path, cerr);
        return ret;
    }
    ext = (struct mq_qcow2_ext){.type = MQ_VM_CONFIG_EXT_TYPE, .data = json,
                                .len = (uint32_t)len};
    q.exts = &ext;
    q.n_exts = 1;
    if (backing) {
        q.backing_file = backing;
        q.backing_format = "qcow2";
    }
    ret = mq_qcow2_create(path, size, &q, cerr, sizeof(cerr));
    if (ret)
        mq_image_err(err, errlen, "%s", cerr);
    free(json);
    return ret;
}

int mq_image_tmp_name(const char *path, char **out)
{
    const char *slash = strrchr(path, '/');
    int n;

    /* A hidden name beside the final one: same file system, so rename is atomic. */
    if (slash)
        n = asprintf(out, "%.*s/.%s.tmp-%ld", (int)(slash - path), path, slash + 1,
                     (long)getpid());
    else
        n = asprintf(out, ".%s.tmp-%ld", path, (long)getpid());
    return n < 0 ? -ENOMEM : 0;
}

int mq_vm_file_create(const char *path, uint64_t disk_size, const struct mq_vm_config *c,
                      const struct mq_vm_create_opts *opts, char *err, size_t errlen)
{
    struct stat st;
    char *tmp = NULL;
    int ret;

    if (!lstat(path, &st)) {
        if (!opts || !opts->force) {
            mq_image_err(err, errlen, "%s already exists (use --force to replace it)", path);
            return -EEXIST;
        }
        ret = check_replaceable(path, err, errlen);
        if (ret)
            return ret;
    }
    ret = mq_vm_config_validate(c, err, errlen);
    if (ret)
        return ret;
    ret = mq_image_tmp_name(path, &tmp);
    if (ret)
        return ret;
    ret = mq_image_create_vm_at(tmp, disk_size, c, opts ? opts->backing_file : NULL, err,
                                errlen);
    if (!ret && rename(tmp, path)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot rename the new file into place: %s", path,
                     strerror(-ret));
    }
    if (ret)
        unlink(tmp);
    free(tmp);
    return ret;
}

/* ------------------------------------------------------------------ open */

static int read_config(struct mq_vm_file *f, char *err, size_t errlen)
{
    char *buf, cerr[256];
    size_t len = 0;
    int ret;

    buf = malloc(MQ_VM_CONFIG_MAX_LEN);
    if (!buf)
        return -ENOMEM;
    ret = mq_qcow2_get_extension(f->bd, MQ_VM_CONFIG_EXT_TYPE, buf, MQ_VM_CONFIG_MAX_LEN, &len);
    if (ret == -ENOENT) {
        mq_image_err(err, errlen,
                     "%s: no maquina configuration in this qcow2 image (not a .vm file)",
                     f->path);
        ret = -EINVAL;
    } else if (ret == -ERANGE) {
        mq_image_err(err, errlen, "%s: configuration: %zu bytes (at most %u)", f->path, len,
                     MQ_VM_CONFIG_MAX_LEN);
        ret = -EINVAL;
    } else if (ret) {
        mq_image_err(err, errlen, "%s: cannot read the configuration: %s", f->path,
                     strerror(-ret));
    } else {
        ret = mq_vm_config_decode(buf, len, &f->config, cerr, sizeof(cerr));
        if (ret)
            mq_image_err(err, errlen, "%s: configuration: %s", f->path, cerr);
    }
    free(buf);
    return ret;
}

/* The qcow2 layer, checked by its own validation before anything else. */
static int open_disk(struct mq_vm_file *f, bool rw, char *err, size_t errlen)
{
    const char *format = NULL;
    int ret;

    ret = mq_image_detect_format(f->path, &format);
    if (ret) {
        mq_image_err(err, errlen, "%s: %s", f->path, strerror(-ret));
        return ret;
    }
    if (strcmp(format, "qcow2")) {
        mq_image_err(err, errlen, "%s: not a .vm file (not a qcow2 image)", f->path);
        return -EINVAL;
    }
    return mq_blockdev_open(f->path, "qcow2", rw ? 0 : MQ_BLOCKDEV_RDONLY, &f->bd, err,
                            (unsigned)errlen);
}

static int refuse_if_linked(struct mq_vm_file *f, char *err, size_t errlen)
{
    unsigned live = 0;
    char *names = NULL;
    int ret = mq_vm_file_live_clones(f, &live, &names);

    if (!ret && live) {
        mq_image_err(err, errlen,
                     "%s is the base of %u linked clone(s) (%s%s); writing it would corrupt "
                     "them (make full clones of them, or delete them)",
                     f->path, live, names, live > 1 ? ", ..." : "");
        ret = -EBUSY;
    }
    free(names);
    return ret;
}

int mq_vm_file_open(const char *path, unsigned flags, struct mq_vm_file **out, char *err,
                    size_t errlen)
{
    bool write = flags & MQ_VM_OPEN_WRITE;
    struct mq_vm_file *f;
    int ret;

    *out = NULL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->lock_fd = -1;
    mq_vm_config_init(&f->config);
    f->path = strdup(path);
    if (!f->path) {
        ret = -ENOMEM;
        goto fail;
    }
    f->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->lock_fd < 0) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
        goto fail;
    }
    ret = mq_image_dir_of(path, &f->dir);
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot resolve its directory: %s", path,
                     strerror(-ret));
        goto fail;
    }
    ret = mq_vm_file_lock(f->lock_fd, path, write ? MQ_VM_LOCK_EXCLUSIVE : MQ_VM_LOCK_SHARED,
                          err, errlen);
    if (ret)
        goto fail;
    /* Validate everything read-only first: a corrupt file is never written. */
    ret = open_disk(f, false, err, errlen);
    if (!ret)
        ret = read_config(f, err, errlen);
    if (!ret)
        ret = mq_image_qcow2_backing_name(path, &f->backing);
    if (ret)
        goto fail;
    if (write && !(flags & MQ_VM_OPEN_ALLOW_LINKED)) {
        ret = refuse_if_linked(f, err, errlen);
        if (ret)
            goto fail;
    }
    if (write || (flags & MQ_VM_OPEN_NO_DISK)) {
        mq_blockdev_close(f->bd);
        f->bd = NULL;
    }
    if (write && !(flags & MQ_VM_OPEN_NO_DISK)) {
        ret = open_disk(f, true, err, errlen);
        if (ret)
            goto fail;
    }
    f->writable = write;
    *out = f;
    return 0;
fail:
    mq_vm_file_close(f);
    return ret;
}

int mq_vm_file_write_config(struct mq_vm_file *f, const struct mq_vm_config *c, char *err,
                            size_t errlen)
{
    struct mq_vm_config copy;
    char *json, cerr[256];
    size_t len;
    int ret;

    if (!f->writable || !f->bd) {
        mq_image_err(err, errlen, "%s: not open for writing", f->path);
        return -EROFS;
    }
    ret = mq_vm_config_encode(c, &json, &len, cerr, sizeof(cerr));
    if (ret) {
        mq_image_err(err, errlen, "%s: configuration: %s", f->path, cerr);
        return ret;
    }
    ret = mq_vm_config_copy(&copy, c);
    if (ret) {
        free(json);
        return ret;
    }
    ret = mq_qcow2_set_extension(f->bd, MQ_VM_CONFIG_EXT_TYPE, json, len);
    free(json);
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot write the configuration: %s", f->path,
                     ret == -EFBIG ? "it no longer fits the qcow2 header cluster"
                                   : strerror(-ret));
        mq_vm_config_free(&copy);
        return ret;
    }
    mq_vm_config_free(&f->config);
    f->config = copy;
    return 0;
}

void mq_vm_file_close(struct mq_vm_file *f)
{
    if (!f)
        return;
    mq_blockdev_close(f->bd);
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the OFD locks */
    mq_vm_config_free(&f->config);
    free(f->backing);
    free(f->dir);
    free(f->path);
    free(f);
}

/* True when clone exists and its backing file is the same file as base. */
static bool clone_uses(const char *clone, const struct stat *base)
{
    char *backing = NULL, *cdir = NULL, *full = NULL;
    struct stat st;
    bool uses = false;

    if (mq_image_qcow2_backing_name(clone, &backing) || !backing)
        goto out;
    if (mq_image_dir_of(clone, &cdir) || mq_image_join(cdir, backing, &full))
        goto out;
    uses = !stat(full, &st) && st.st_dev == base->st_dev && st.st_ino == base->st_ino;
out:
    free(full);
    free(cdir);
    free(backing);
    return uses;
}

int mq_vm_file_live_clones(const struct mq_vm_file *f, unsigned *count, char **names)
{
    struct stat self;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = NULL;

    *count = 0;
    if (names) {
        *names = NULL;
        m = open_memstream(&buf, &len);
        if (!m)
            return -ENOMEM;
    }
    if (fstat(f->lock_fd, &self)) {
        int ret = -errno;

        if (m)
            fclose(m);
        free(buf);
        return ret;
    }
    for (unsigned i = 0; i < f->config.nlinked; i++) {
        if (!clone_uses(f->config.linked_clones[i], &self))
            continue;
        if (m)
            fprintf(m, "%s%c", f->config.linked_clones[i], 0);
        (*count)++;
    }
    if (m) {
        fputc(0, m);
        if (fclose(m)) {
            free(buf);
            return -ENOMEM;
        }
        *names = buf;
    }
    return 0;
}

/* ---------------------------------------------------------------- board */

void mq_vm_board_free(struct mq_vm_board *b)
{
    if (!b)
        return;
    free(b->firmware);
    free(b->kernel);
    free(b->initrd);
    for (unsigned i = 0; i < b->ndisks; i++)
        free(b->disks[i].path);
    memset(b, 0, sizeof(*b));
}

int mq_vm_config_to_board(const struct mq_vm_config *c, const char *vm_path,
                          struct mq_vm_board *out, char *err, size_t errlen)
{
    char *dir = NULL;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = mq_image_dir_of(vm_path, &dir);
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot resolve its directory: %s", vm_path,
                     strerror(-ret));
        return ret;
    }
    out->ram_size = c->memory;
    out->nharts = c->harts;
    out->append = c->cmdline;
    if ((c->firmware && !(out->firmware = strdup(c->firmware))) ||
        (c->kernel && !(out->kernel = strdup(c->kernel))) ||
        (c->initrd && !(out->initrd = strdup(c->initrd))) ||
        !(out->disks[0].path = strdup(vm_path))) {
        ret = -ENOMEM;
        goto out;
    }
    out->disks[0].format = "qcow2";
    out->ndisks = 1;
    for (unsigned i = 0; i < c->ndisks && i < MQ_VM_MAX_DISKS; i++) {
        struct mq_vm_board_disk *d = &out->disks[out->ndisks];

        ret = mq_image_join(dir, c->disks[i].path, &d->path);
        if (ret)
            goto out;
        d->format = c->disks[i].format;
        d->read_only = c->disks[i].read_only;
        d->serial = c->disks[i].serial;
        out->ndisks++;
    }
    for (unsigned i = 0; i < c->nnics && i < MQ_VM_MAX_NICS; i++) {
        out->nics[i].net = c->nics[i].net;
        memcpy(out->nics[i].mac, c->nics[i].mac, 6);
        mq_vm_mac_format(c->nics[i].mac, out->nics[i].mac_str);
    }
    out->nnics = c->nnics < MQ_VM_MAX_NICS ? c->nnics : MQ_VM_MAX_NICS;
out:
    free(dir);
    if (ret)
        mq_vm_board_free(out);
    return ret;
}
