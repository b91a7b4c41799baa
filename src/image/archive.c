/* SPDX-License-Identifier: MIT */
/*
 * The .vmx export archive: a header, one zstd-compressed and SHA-256
 * checked entry per file (the .vm, then its extra disks), and an end
 * record with a checksum of the whole archive. Layout:
 * docs/file-format.md, "Export archive"; zstd frames: RFC 8878.
 */
#include "image/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "image/image_int.h"
#include "image/sha256.h"
#include "image/vm_file.h"
#include "util/le.h"

static const uint8_t vmx_magic[8] = {0x89, 'M', 'Q', 'V', 'M', 'X', '\r', '\n'};
#define ENTRY_MAGIC "MQXE"
#define END_MAGIC "MQXZ"
#define HEADER_LEN 24
#define ENTRY_LEN 24
#define TRAILER_LEN 40
#define END_LEN 48
#define KIND_VM 1u
#define KIND_DISK 2u
#define MAX_ENTRIES (1 + MQ_VM_MAX_DISKS)
#define CHUNK (1u << 20)
#define ZERO_BLOCK 4096u

/* ================================================================ export */

struct writer {
    FILE *f;
    struct mq_sha256 sha; /* every archive byte written so far */
    int error;            /* first write error (-errno) */
};

static void w_put(struct writer *w, const void *p, size_t n)
{
    if (w->error)
        return;
    mq_sha256_update(&w->sha, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->error = errno ? -errno : -EIO;
}

/*
 * Read a source file chunk by chunk; holes are zero-filled without reading
 * (SEEK_DATA), so a sparse raw disk costs only compression time.
 */
static int read_chunk(int fd, uint8_t *buf, size_t n, off_t off, off_t *next_data)
{
    if (*next_data < off) {
        *next_data = lseek(fd, off, SEEK_DATA);
        if (*next_data < 0) {
            if (errno != ENXIO)
                return -errno;
            *next_data = INT64_MAX; /* no more data */
        }
    }
    if (*next_data >= off + (off_t)n) {
        memset(buf, 0, n);
        return 0;
    }
    for (size_t done = 0; done < n;) {
        ssize_t r = pread(fd, buf + done, n - done, off + (off_t)done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO; /* the file shrank under us */
        done += (size_t)r;
    }
    return 0;
}

static int put_entry(struct writer *w, ZSTD_CCtx *z, int fd, uint64_t size, uint32_t kind,
                     const char *name, struct mq_progress *pr)
{
    uint8_t hdr[ENTRY_LEN] = {0}, trailer[TRAILER_LEN];
    size_t outcap = ZSTD_CStreamOutSize();
    uint8_t *in = malloc(CHUNK), *out = malloc(outcap);
    struct mq_sha256 sha;
    uint64_t csize = 0;
    off_t next_data = -1;
    int ret = 0;

    if (!in || !out) {
        ret = -ENOMEM;
        goto done;
    }
    memcpy(hdr, ENTRY_MAGIC, 4);
    mq_put_le32(hdr + 4, kind);
    mq_put_le32(hdr + 8, (uint32_t)strlen(name));
    mq_put_le64(hdr + 16, size);
    w_put(w, hdr, sizeof(hdr));
    w_put(w, name, strlen(name));
    mq_sha256_init(&sha);
    ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(z, size);
    for (uint64_t off = 0; !ret;) {
        size_t n = (size_t)MQ_MIN((uint64_t)CHUNK, size - off);
        ZSTD_EndDirective mode = off + n == size ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer ib = {in, n, 0};
        size_t rem;

        ret = n ? read_chunk(fd, in, n, (off_t)off, &next_data) : 0;
        if (ret)
            break;
        mq_sha256_update(&sha, in, n);
        do {
            ZSTD_outBuffer ob = {out, outcap, 0};

            rem = ZSTD_compressStream2(z, &ob, &ib, mode);
            if (ZSTD_isError(rem)) {
                ret = -EIO;
                break;
            }
            w_put(w, out, ob.pos);
            csize += ob.pos;
        } while (mode == ZSTD_e_end ? rem != 0 : ib.pos < ib.size);
        off += n;
        mq_progress_add(pr, n);
        if (mode == ZSTD_e_end)
            break;
    }
    if (!ret) {
        mq_put_le64(trailer, csize);
        mq_sha256_final(&sha, trailer + 8);
        w_put(w, trailer, sizeof(trailer));
        ret = w->error;
    }
done:
    free(in);
    free(out);
    return ret;
}

struct src_file {
    char *path;     /* usable path */
    char name[MQ_VMX_NAME_MAX + 1];
    int fd;
    uint64_t size;
};

/* Entry names are plain file names; collisions get a numeric prefix. */
static void entry_name(struct src_file *s, unsigned i, const struct src_file *all)
{
    const char *b = strrchr(s->path, '/');

    b = b ? b + 1 : s->path;
    snprintf(s->name, sizeof(s->name), "%s", b);
    for (unsigned k = 0; k < i; k++) {
        if (!strcmp(all[k].name, s->name)) {
            snprintf(s->name, sizeof(s->name), "%u-%.240s", i, b);
            break;
        }
    }
}

static int open_sources(struct mq_vm_file *vm, struct src_file *src, unsigned *n, char *err,
                        size_t errlen)
{
    struct stat st;
    int ret = 0;

    *n = 0;
    for (unsigned i = 0; i <= vm->config.ndisks && !ret; i++) {
        struct src_file *s = &src[i];

        s->fd = -1;
        if (i == 0)
            s->path = strdup(vm->path), ret = s->path ? 0 : -ENOMEM;
        else
            ret = mq_image_join(vm->dir, vm->config.disks[i - 1].path, &s->path);
        if (ret)
            break;
        (*n)++;
        entry_name(s, i, src);
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0 || fstat(s->fd, &st)) {
            ret = -errno;
            mq_image_err(err, errlen, "%s: %s", s->path, strerror(-ret));
        } else if (!S_ISREG(st.st_mode)) {
            mq_image_err(err, errlen, "%s: not a regular file", s->path);
            ret = -EINVAL;
        } else {
            s->size = (uint64_t)st.st_size;
        }
    }
    return ret;
}

static int write_archive(struct writer *w, struct src_file *src, unsigned n, int level,
                         struct mq_progress *pr, char *err, size_t errlen)
{
    uint8_t hdr[HEADER_LEN] = {0}, end[END_LEN] = {0};
    ZSTD_CCtx *z = ZSTD_createCCtx();
    uint64_t total = 0;
    int ret = 0;

    if (!z)
        return -ENOMEM;
    ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level ? level : 3);
    memcpy(hdr, vmx_magic, 8);
    mq_put_le32(hdr + 8, MQ_VMX_VERSION);
    mq_put_le32(hdr + 16, n);
    w_put(w, hdr, sizeof(hdr));
    for (unsigned i = 0; i < n && !ret; i++) {
        ret = put_entry(w, z, src[i].fd, src[i].size, i ? KIND_DISK : KIND_VM, src[i].name, pr);
        if (ret)
            mq_image_err(err, errlen, "%s: cannot archive: %s", src[i].path, strerror(-ret));
        total += src[i].size;
    }
    if (!ret) {
        memcpy(end, END_MAGIC, 4);
        mq_put_le32(end + 4, n);
        mq_put_le64(end + 8, total);
        mq_sha256_update(&w->sha, end, 16);
        mq_sha256_final(&w->sha, end + 16);
        if (fwrite(end, 1, sizeof(end), w->f) != sizeof(end) || fflush(w->f) ||
            fsync(fileno(w->f)))
            ret = errno ? -errno : -EIO;
        if (ret)
            mq_image_err(err, errlen, "cannot write the archive: %s", strerror(-ret));
    }
    ZSTD_freeCCtx(z);
    return ret;
}

int mq_vmx_export(const char *vm_path, const char *out_path,
                  const struct mq_vmx_export_opts *opts, char *err, size_t errlen)
{
    struct src_file src[MAX_ENTRIES];
    struct mq_vm_file *vm = NULL;
    struct writer w = {0};
    struct stat st;
    unsigned n = 0;
    uint64_t total = 0;
    char *tmp = NULL;
    int ret;

    memset(src, 0, sizeof(src));
    if (!opts->force && !lstat(out_path, &st)) {
        mq_image_err(err, errlen, "%s already exists (use --force to replace it)", out_path);
        return -EEXIST;
    }
    ret = mq_vm_file_open(vm_path, 0, &vm, err, errlen);
    if (ret)
        return ret;
    if (vm->backing) {
        mq_image_err(err, errlen,
                     "%s is a linked clone of %s: export a full clone of it instead "
                     "(maquina clone %s full.vm)", vm_path, vm->backing, vm_path);
        ret = -EINVAL;
        goto out;
    }
    ret = open_sources(vm, src, &n, err, errlen);
    if (ret)
        goto out;
    ret = mq_image_tmp_name(out_path, &tmp);
    if (ret)
        goto out;
    w.f = fopen(tmp, "wbx");
    if (!w.f) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot create: %s", tmp, strerror(-ret));
        goto out;
    }
    mq_sha256_init(&w.sha);
    for (unsigned i = 0; i < n; i++)
        total += src[i].size;
    mq_progress_start(opts->progress, "export", total, true);
    ret = write_archive(&w, src, n, opts->level, opts->progress, err, errlen);
    mq_progress_end(opts->progress, !ret);
    if (fclose(w.f) && !ret) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: %s", tmp, strerror(-ret));
    }
    if (!ret && rename(tmp, out_path)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot rename into place: %s", out_path,
                     strerror(-ret));
    }
    if (ret)
        unlink(tmp);
out:
    for (unsigned i = 0; i < MAX_ENTRIES; i++) {
        if (src[i].path && src[i].fd >= 0)
            close(src[i].fd);
        free(src[i].path);
    }
    free(tmp);
    mq_vm_file_close(vm);
    return ret;
}

/* ================================================================ import */

struct reader {
    FILE *f;
    uint8_t *buf;
    size_t pos, len;
    struct mq_sha256 sha; /* every byte consumed so far */
    struct mq_progress *pr; /* counts archive bytes consumed */
};

/* More input into buf when it is used up; 0 at end of file. */
static ssize_t r_fill(struct reader *r)
{
    size_t n;

    if (r->pos < r->len)
        return (ssize_t)(r->len - r->pos);
    n = fread(r->buf, 1, CHUNK, r->f);
    if (!n && ferror(r->f))
        return -EIO;
    r->pos = 0;
    r->len = n;
    return (ssize_t)n;
}

static void r_consume(struct reader *r, size_t n)
{
    mq_sha256_update(&r->sha, r->buf + r->pos, n);
    mq_progress_add(r->pr, n);
    r->pos += n;
}

/* Exactly n bytes, or -EPIPE for a truncated archive. */
static int r_read(struct reader *r, void *dst, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t avail = r_fill(r);
        size_t k;

        if (avail <= 0)
            return avail < 0 ? (int)avail : -EPIPE;
        k = MQ_MIN((size_t)avail, n - done);
        memcpy((uint8_t *)dst + done, r->buf + r->pos, k);
        r_consume(r, k);
        done += k;
    }
    return 0;
}

struct out_file {
    char name[MQ_VMX_NAME_MAX + 1];
    char *final; /* out_dir/name */
    char *tmp;   /* out_dir/.name.tmp-PID, exists while created is set */
    bool created;
};

/* A plain file name: no directories, no hidden names, no control bytes. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MQ_VMX_NAME_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return false;
    }
    return true;
}

/* Write the decompressed bytes at off, leaving zero blocks as holes. */
static int sparse_write(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    for (size_t b = 0; b < n;) {
        size_t k = MQ_MIN((size_t)ZERO_BLOCK, n - b);

        if (!mq_image_is_zero(p + b, k)) {
            ssize_t w = pwrite(fd, p + b, k, (off_t)(off + b));

            if (w != (ssize_t)k)
                return w < 0 ? -errno : -EIO;
        }
        b += k;
    }
    return 0;
}

static int get_entry_data(struct reader *r, ZSTD_DCtx *z, int fd, uint64_t size,
                          const char *name, char *err, size_t errlen)
{
    size_t outcap = ZSTD_DStreamOutSize();
    uint8_t *out = malloc(outcap), trailer[TRAILER_LEN], digest[MQ_SHA256_LEN];
    uint64_t produced = 0, consumed = 0;
    struct mq_sha256 sha;
    size_t zret = 1;
    int ret = 0;

    if (!out)
        return -ENOMEM;
    mq_sha256_init(&sha);
    ZSTD_DCtx_reset(z, ZSTD_reset_session_only);
    /* One frame per entry: stop at its end, the trailer follows. */
    while (zret != 0 && !ret) {
        ssize_t avail = r_fill(r);
        ZSTD_inBuffer ib;
        ZSTD_outBuffer ob = {out, outcap, 0};

        if (avail <= 0) {
            ret = avail < 0 ? (int)avail : -EPIPE;
            break;
        }
        ib = (ZSTD_inBuffer){r->buf + r->pos, (size_t)avail, 0};
        zret = ZSTD_decompressStream(z, &ob, &ib);
        if (ZSTD_isError(zret)) {
            mq_image_err(err, errlen, "entry %s: corrupt compressed data (%s)", name,
                         ZSTD_getErrorName(zret));
            ret = -EINVAL;
            break;
        }
        r_consume(r, ib.pos);
        consumed += ib.pos;
        if (ob.pos > size - produced) {
            mq_image_err(err, errlen, "entry %s: more data than its size %llu", name,
                         (unsigned long long)size);
            ret = -EINVAL;
            break;
        }
        mq_sha256_update(&sha, out, ob.pos);
        ret = sparse_write(fd, out, ob.pos, produced);
        if (ret)
            mq_image_err(err, errlen, "entry %s: write: %s", name, strerror(-ret));
        produced += ob.pos;
    }
    free(out);
    if (ret)
        return ret;
    if (produced != size) {
        mq_image_err(err, errlen, "entry %s: %llu bytes instead of %llu", name,
                     (unsigned long long)produced, (unsigned long long)size);
        return -EINVAL;
    }
    ret = r_read(r, trailer, sizeof(trailer));
    if (ret)
        return ret;
    mq_sha256_final(&sha, digest);
    if (mq_get_le64(trailer) != consumed || memcmp(digest, trailer + 8, MQ_SHA256_LEN)) {
        mq_image_err(err, errlen, "entry %s: checksum mismatch (damaged archive)", name);
        return -EINVAL;
    }
    if (ftruncate(fd, (off_t)size) || fsync(fd)) {
        ret = -errno;
        mq_image_err(err, errlen, "entry %s: %s", name, strerror(-ret));
    }
    return ret;
}

static int get_entry(struct reader *r, ZSTD_DCtx *z, unsigned idx, const char *out_dir,
                     struct out_file *of, struct out_file *all, uint64_t *total, char *err,
                     size_t errlen)
{
    uint8_t hdr[ENTRY_LEN];
    uint32_t kind, nlen;
    uint64_t size;
    struct stat st;
    int fd, ret;

    ret = r_read(r, hdr, sizeof(hdr));
    if (ret)
        return ret;
    kind = mq_get_le32(hdr + 4);
    nlen = mq_get_le32(hdr + 8);
    size = mq_get_le64(hdr + 16);
    if (memcmp(hdr, ENTRY_MAGIC, 4) || mq_get_le32(hdr + 12) ||
        kind != (idx ? KIND_DISK : KIND_VM) || nlen == 0 || nlen > MQ_VMX_NAME_MAX ||
        size > MQ_VMX_MAX_ENTRY_SIZE) {
        mq_image_err(err, errlen, "entry %u: invalid header (damaged archive)", idx);
        return -EINVAL;
    }
    ret = r_read(r, of->name, nlen);
    if (ret)
        return ret;
    of->name[nlen] = 0;
    if (!name_ok(of->name, nlen) || (!idx && (nlen < 4 || strcmp(of->name + nlen - 3, ".vm")))) {
        mq_image_err(err, errlen, "entry %u: unusable file name (damaged archive)", idx);
        return -EINVAL;
    }
    for (unsigned k = 0; k < idx; k++) {
        if (!strcmp(all[k].name, of->name)) {
            mq_image_err(err, errlen, "entry %u: name '%s' given twice", idx, of->name);
            return -EINVAL;
        }
    }
    if (asprintf(&of->final, "%s/%s", out_dir, of->name) < 0) {
        of->final = NULL;
        return -ENOMEM;
    }
    if (!lstat(of->final, &st)) {
        mq_image_err(err, errlen, "%s already exists; not replacing it", of->final);
        return -EEXIST;
    }
    ret = mq_image_tmp_name(of->final, &of->tmp);
    if (ret)
        return ret;
    fd = open(of->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot create: %s", of->tmp, strerror(-ret));
        return ret;
    }
    of->created = true;
    ret = get_entry_data(r, z, fd, size, of->name, err, errlen);
    *total += size;
    close(fd);
    return ret;
}

static int check_header(struct reader *r, unsigned *n, char *err, size_t errlen)
{
    uint8_t hdr[HEADER_LEN];
    int ret = r_read(r, hdr, sizeof(hdr));

    if (ret)
        return ret;
    if (memcmp(hdr, vmx_magic, 8)) {
        mq_image_err(err, errlen, "not a maquina export archive (bad magic)");
        return -EINVAL;
    }
    if (mq_get_le32(hdr + 8) != MQ_VMX_VERSION) {
        mq_image_err(err, errlen, "archive version %u is not one this maquina reads (%d)",
                     mq_get_le32(hdr + 8), MQ_VMX_VERSION);
        return -EPROTONOSUPPORT;
    }
    *n = mq_get_le32(hdr + 16);
    if (mq_get_le32(hdr + 12) || mq_get_le32(hdr + 20) || *n < 1 || *n > MAX_ENTRIES) {
        mq_image_err(err, errlen, "invalid archive header (flags or %u entries)", *n);
        return -EINVAL;
    }
    return 0;
}

static int check_end(struct reader *r, unsigned n, uint64_t total, char *err, size_t errlen)
{
    uint8_t end[END_LEN], digest[MQ_SHA256_LEN];
    int ret = r_read(r, end, 16);

    if (ret)
        return ret;
    mq_sha256_final(&r->sha, digest);
    ret = r_read(r, end + 16, MQ_SHA256_LEN);
    if (ret)
        return ret;
    if (memcmp(end, END_MAGIC, 4) || mq_get_le32(end + 4) != n ||
        mq_get_le64(end + 8) != total || memcmp(end + 16, digest, MQ_SHA256_LEN)) {
        mq_image_err(err, errlen, "archive checksum mismatch (damaged archive)");
        return -EINVAL;
    }
    if (r_fill(r) != 0) {
        mq_image_err(err, errlen, "data after the end of the archive (damaged archive)");
        return -EINVAL;
    }
    return 0;
}

/* Point the imported .vm at the imported disks; clones of the original stay behind. */
static int fix_config(struct out_file *files, unsigned n, char *err, size_t errlen)
{
    struct mq_vm_file *f = NULL;
    struct mq_vm_config c;
    bool change;
    int ret;

    ret = mq_vm_file_open(files[0].tmp, MQ_VM_OPEN_WRITE | MQ_VM_OPEN_ALLOW_LINKED, &f, err,
                          errlen);
    if (ret)
        return ret;
    if (f->config.ndisks != n - 1 || f->backing) {
        mq_image_err(err, errlen, "%s: its configuration names %u extra disks, the archive "
                     "holds %u", files[0].name, f->config.ndisks, n - 1);
        mq_vm_file_close(f);
        return -EINVAL;
    }
    ret = mq_vm_config_copy(&c, &f->config);
    if (ret) {
        mq_vm_file_close(f);
        return ret;
    }
    change = c.nlinked != 0;
    for (unsigned i = 0; i < c.nlinked; i++)
        free(c.linked_clones[i]);
    c.nlinked = 0;
    for (unsigned i = 0; i < c.ndisks && !ret; i++) {
        if (!strcmp(c.disks[i].path, files[i + 1].name))
            continue;
        change = true;
        free(c.disks[i].path);
        c.disks[i].path = strdup(files[i + 1].name);
        ret = c.disks[i].path ? 0 : -ENOMEM;
    }
    if (!ret && change)
        ret = mq_vm_file_write_config(f, &c, err, errlen);
    mq_vm_config_free(&c);
    mq_vm_file_close(f);
    return ret;
}

static int publish(struct out_file *files, unsigned n, char *err, size_t errlen)
{
    unsigned done = 0;
    int ret = 0;

    for (; done < n; done++) {
        if (renameat2(AT_FDCWD, files[done].tmp, AT_FDCWD, files[done].final,
                      RENAME_NOREPLACE)) {
            ret = -errno;
            mq_image_err(err, errlen, "%s: %s", files[done].final,
                         ret == -EEXIST ? "appeared meanwhile; not replacing it"
                                        : strerror(-ret));
            break;
        }
    }
    /* All or nothing: take back the ones already renamed. */
    for (unsigned i = 0; ret && i < done; i++)
        unlink(files[i].final);
    for (unsigned i = 0; !ret && i < n; i++)
        files[i].created = false;
    return ret;
}

static int make_dir(const char *dir, bool *made, char *err, size_t errlen)
{
    struct stat st;

    *made = false;
    if (!stat(dir, &st)) {
        if (S_ISDIR(st.st_mode))
            return 0;
        mq_image_err(err, errlen, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    if (mkdir(dir, 0777)) {
        int ret = -errno;

        mq_image_err(err, errlen, "%s: cannot create: %s", dir, strerror(-ret));
        return ret;
    }
    *made = true;
    return 0;
}

int mq_vmx_import(const char *archive, const char *out_dir, struct mq_progress *progress,
                  char **vm_out, char *err, size_t errlen)
{
    struct out_file files[MAX_ENTRIES];
    struct reader r = {0};
    ZSTD_DCtx *z = NULL;
    uint64_t total = 0;
    unsigned n = 0, got = 0;
    bool made_dir = false;
    struct stat st;
    int ret;

    memset(files, 0, sizeof(files));
    if (err && errlen)
        err[0] = 0;
    if (vm_out)
        *vm_out = NULL;
    r.f = fopen(archive, "rb");
    if (!r.f || fstat(fileno(r.f), &st)) {
        ret = -errno;
        mq_image_err(err, errlen, "%s: cannot open: %s", archive, strerror(-ret));
        goto out;
    }
    r.buf = malloc(CHUNK);
    z = ZSTD_createDCtx();
    if (!r.buf || !z) {
        ret = -ENOMEM;
        goto out;
    }
    /* Bound the decoder's window (128 MiB) whatever the archive asks for. */
    ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 27);
    mq_sha256_init(&r.sha);
    ret = check_header(&r, &n, err, errlen);
    if (!ret)
        ret = make_dir(out_dir, &made_dir, err, errlen);
    /* The archive size is the only total known up front: progress counts its bytes. */
    r.pr = progress;
    mq_progress_start(progress, "import", (uint64_t)st.st_size, true);
    for (; !ret && got < n; got++)
        ret = get_entry(&r, z, got, out_dir, &files[got], files, &total, err, errlen);
    if (!ret)
        ret = check_end(&r, n, total, err, errlen);
    if (!ret)
        ret = fix_config(files, n, err, errlen);
    if (!ret)
        ret = publish(files, n, err, errlen);
    if (!ret && vm_out && !(*vm_out = strdup(files[0].final)))
        ret = -ENOMEM;
    mq_progress_end(progress, !ret);
out:
    if (ret == -EPIPE) {
        mq_image_err(err, errlen, "%s: truncated archive", archive);
    } else if (ret && err && !err[0]) {
        mq_image_err(err, errlen, "%s: %s", archive, strerror(-ret));
    } else if (ret && err && errlen && strncmp(err, archive, strlen(archive))) {
        /* Name the archive in every message. */
        char *inner = strdup(err);

        if (inner)
            mq_image_err(err, errlen, "%s: %s", archive, inner);
        free(inner);
    }
    for (unsigned i = 0; i < MAX_ENTRIES; i++) {
        if (files[i].created)
            unlink(files[i].tmp);
        free(files[i].tmp);
        free(files[i].final);
    }
    if (ret && made_dir)
        rmdir(out_dir);
    ZSTD_freeDCtx(z);
    free(r.buf);
    if (r.f)
        fclose(r.f);
    return ret;
}
