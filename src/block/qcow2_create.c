/* SPDX-License-Identifier: MIT */
/*
 * qcow2 image creation and header rewrites: lays out cluster 0 (header,
 * header extensions, backing file name), creates a v3 image with its
 * refcount table and L1, and updates header extensions in place
 * (qcow2 specification, "Header" and "Header extensions").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "block/qcow2_int.h"
#include "util/le.h"
#include "util/log.h"

/* ---- header serialization (create and extension updates) ---- */

static bool ext_type_reserved(uint32_t type)
{
    return type == QCOW2_EXT_END || type == QCOW2_EXT_BACKING_FMT ||
           type == QCOW2_EXT_FEATURES || type == QCOW2_EXT_BITMAPS ||
           type == QCOW2_EXT_CRYPTO || type == QCOW2_EXT_DATA_FILE;
}

/*
 * Lay out cluster 0: header bytes, extensions, end marker, backing name.
 * The backing_file_offset/size fields of the copy in out are set here.
 */
static int build_cluster0(const uint8_t *hdr, uint32_t hlen, const struct qcow2_ext *exts,
                          unsigned n, const char *backing, uint64_t cs, uint8_t *out)
{
    uint64_t off = hlen;
    size_t blen = backing ? strlen(backing) : 0;

    memset(out, 0, cs);
    memcpy(out, hdr, hlen);
    for (unsigned i = 0; i < n; i++) {
        uint64_t need = 8 + (((uint64_t)exts[i].len + 7) & ~7ull);
        if (need > cs - off)
            return -EFBIG;
        mq_put_be32(out + off, exts[i].type);
        mq_put_be32(out + off + 4, exts[i].len);
        if (exts[i].len)
            memcpy(out + off + 8, exts[i].data, exts[i].len);
        off += need;
    }
    if (8 > cs - off)
        return -EFBIG;
    off += 8; /* end marker: already zero */
    if (blen > cs - off)
        return -EFBIG;
    if (blen)
        memcpy(out + off, backing, blen);
    mq_put_be64(out + 8, blen ? off : 0);
    mq_put_be32(out + 16, (uint32_t)blen);
    return 0;
}

int mq_qcow2_get_extension(struct mq_blockdev *bd, uint32_t type, void *buf, size_t buflen,
                           size_t *len)
{
    struct qcow2 *s;
    int ret = qcow2_from_bd(bd, false, &s);

    if (ret < 0)
        return ret;
    for (unsigned i = 0; i < s->n_exts; i++) {
        if (s->exts[i].type != type)
            continue;
        if (len)
            *len = s->exts[i].len;
        if (buflen < s->exts[i].len)
            return -ERANGE;
        memcpy(buf, s->exts[i].data, s->exts[i].len);
        return 0;
    }
    return -ENOENT;
}

int mq_qcow2_set_extension(struct mq_blockdev *bd, uint32_t type, const void *data, size_t len)
{
    struct qcow2 *s;
    struct qcow2_ext *exts = NULL;
    uint8_t *c0 = NULL, *copy = NULL;
    unsigned n = 0;
    int ret = qcow2_from_bd(bd, true, &s);

    if (ret < 0)
        return ret;
    if (ext_type_reserved(type) || len > UINT32_MAX || (len && !data))
        return -EINVAL;
    if (s->version < 3)
        return -ENOTSUP; /* v2 has no header extensions */
    exts = calloc(s->n_exts + 1, sizeof(*exts));
    c0 = malloc(s->cluster_size);
    if (len) {
        copy = malloc(len);
        if (copy)
            memcpy(copy, data, len);
    }
    if (!exts || !c0 || (len && !copy)) {
        ret = -ENOMEM;
        goto out;
    }
    /* New list: existing order kept, replaced in place or appended. */
    bool placed = false;
    for (unsigned i = 0; i < s->n_exts; i++) {
        if (s->exts[i].type == type) {
            if (len)
                exts[n++] = (struct qcow2_ext){type, (uint32_t)len, copy};
            placed = true;
        } else {
            exts[n++] = s->exts[i];
        }
    }
    if (!placed && len)
        exts[n++] = (struct qcow2_ext){type, (uint32_t)len, copy};
    ret = build_cluster0(s->hdr, s->header_length, exts, n, s->backing_name, s->cluster_size,
                         c0);
    if (ret < 0)
        goto out;
    ret = qcow2_pwrite(s, c0, s->cluster_size, 0);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret < 0)
        goto out;
    /* Committed: adopt the new list and the moved backing name offset. */
    memcpy(s->hdr + 8, c0 + 8, 12);
    for (unsigned i = 0; i < s->n_exts; i++) {
        if (s->exts[i].type == type)
            free(s->exts[i].data);
    }
    free(s->exts);
    s->exts = exts;
    s->n_exts = n;
    exts = NULL;
    copy = NULL;
out:
    free(copy);
    free(exts);
    free(c0);
    return ret;
}

/* ---- create ---- */

static int create_layout(uint64_t cs, uint32_t rb_bits, uint64_t l1_clusters,
                         uint64_t *rct_clusters, uint64_t *blocks)
{
    uint64_t r = 1, b = 1;

    for (int i = 0; i < 64; i++) {
        uint64_t total = 1 + r + b + l1_clusters;
        uint64_t nb = (total + (1ull << rb_bits) - 1) >> rb_bits;
        uint64_t nr = (nb * 8 + cs - 1) / cs;
        if (nb == b && nr == r) {
            *rct_clusters = r;
            *blocks = b;
            return 0;
        }
        b = nb;
        r = nr;
    }
    return -EINVAL;
}

static int write_zero_clusters(int fd, uint64_t off, uint64_t len, uint8_t *zbuf, uint64_t cs)
{
    while (len) {
        uint64_t n = MQ_MIN(len, cs);
        int ret = mq_pwrite_full(fd, zbuf, n, off);
        if (ret < 0)
            return ret;
        off += n;
        len -= n;
    }
    return 0;
}

static int backing_size(const char *path, const struct mq_qcow2_create_opts *o, uint64_t *size,
                        char *err, size_t errlen)
{
    char *bpath = qcow2_resolve_backing(path, o->backing_file);
    struct mq_blockdev *b;
    int ret;

    if (!bpath)
        return -ENOMEM;
    ret = mq_blockdev_open(bpath, o->backing_format, MQ_BLOCKDEV_RDONLY, &b, err,
                           (unsigned)errlen);
    free(bpath);
    if (ret < 0)
        return ret;
    *size = b->size;
    mq_blockdev_close(b);
    return 0;
}

int mq_qcow2_create(const char *path, uint64_t size, const struct mq_qcow2_create_opts *opts,
                    char *err, size_t errlen)
{
    struct mq_qcow2_create_opts def = {0};
    const struct mq_qcow2_create_opts *o = opts ? opts : &def;
    uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
    uint32_t cbits, rb_bits;
    uint64_t l1_entries, l1_clusters, rct_clusters, blocks, total;
    uint8_t hdr[112] = {0}, *c0 = NULL, *buf = NULL;
    struct qcow2_ext *exts = NULL;
    unsigned n = 0;
    int fd = -1, ret;

    if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1))) {
        mq_block_seterr(err, errlen, "qcow2: %s: cluster size %llu invalid", path,
                        (unsigned long long)cs);
        return -EINVAL;
    }
    cbits = (uint32_t)__builtin_ctzll(cs);
    rb_bits = cbits + 3 - 4;
    if (o->backing_file && (!*o->backing_file ||
                            strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME)) {
        mq_block_seterr(err, errlen, "qcow2: %s: backing file name invalid", path);
        return -EINVAL;
    }
    if (o->backing_format && (!o->backing_file || !*o->backing_format ||
                              strlen(o->backing_format) > 63)) {
        mq_block_seterr(err, errlen, "qcow2: %s: backing format invalid", path);
        return -EINVAL;
    }
    if (size == 0 && o->backing_file) {
        ret = backing_size(path, o, &size, err, errlen);
        if (ret < 0)
            return ret;
    }
    if (size > QCOW2_MAX_VIRTUAL_SIZE) {
        mq_block_seterr(err, errlen, "qcow2: %s: size %llu too large", path,
                        (unsigned long long)size);
        return -EINVAL;
    }
    {
        uint32_t shift = cbits + cbits - 3;
        l1_entries = (size >> shift) + ((size & ((1ull << shift) - 1)) != 0);
    }
    if (l1_entries * 8 > QCOW2_MAX_L1_BYTES) {
        mq_block_seterr(err, errlen, "qcow2: %s: size %llu needs an L1 table above 32 MiB "
                        "with %llu-byte clusters", path, (unsigned long long)size,
                        (unsigned long long)cs);
        return -EINVAL;
    }
    if (l1_entries == 0)
        l1_entries = 1; /* keep a valid table so the layout is uniform */
    l1_clusters = (l1_entries * 8 + cs - 1) / cs;
    if (create_layout(cs, rb_bits, l1_clusters, &rct_clusters, &blocks) < 0 ||
        rct_clusters * cs > QCOW2_MAX_RCT_BYTES)
        return -EINVAL;
    total = 1 + rct_clusters + blocks + l1_clusters;

    exts = calloc(o->n_exts + 1, sizeof(*exts));
    c0 = malloc(cs);
    buf = calloc(1, cs);
    if (!exts || !c0 || !buf) {
        ret = -ENOMEM;
        goto out;
    }
    if (o->backing_format)
        exts[n++] = (struct qcow2_ext){QCOW2_EXT_BACKING_FMT,
                                       (uint32_t)strlen(o->backing_format),
                                       (uint8_t *)(uintptr_t)o->backing_format};
    for (unsigned i = 0; i < o->n_exts; i++) {
        if (ext_type_reserved(o->exts[i].type) || (o->exts[i].len && !o->exts[i].data)) {
            mq_block_seterr(err, errlen, "qcow2: %s: header extension type 0x%08x refused",
                            path, o->exts[i].type);
            ret = -EINVAL;
            goto out;
        }
        for (unsigned j = 0; j < i; j++) {
            if (o->exts[j].type == o->exts[i].type) {
                mq_block_seterr(err, errlen, "qcow2: %s: header extension 0x%08x given "
                                "twice", path, o->exts[i].type);
                ret = -EINVAL;
                goto out;
            }
        }
        exts[n++] = (struct qcow2_ext){o->exts[i].type, o->exts[i].len,
                                       (uint8_t *)(uintptr_t)o->exts[i].data};
    }

    mq_put_be32(hdr, QCOW2_MAGIC);
    mq_put_be32(hdr + 4, 3);
    mq_put_be32(hdr + 20, cbits);
    mq_put_be64(hdr + 24, size);
    mq_put_be32(hdr + 36, (uint32_t)l1_entries);
    mq_put_be64(hdr + 40, (1 + rct_clusters + blocks) * cs);
    mq_put_be64(hdr + 48, cs);
    mq_put_be32(hdr + 56, (uint32_t)rct_clusters);
    mq_put_be32(hdr + 96, 4);
    mq_put_be32(hdr + 100, sizeof(hdr));
    ret = build_cluster0(hdr, sizeof(hdr), exts, n, o->backing_file, cs, c0);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: header extensions do not fit in one "
                        "%llu-byte cluster", path, (unsigned long long)cs);
        goto out;
    }

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        mq_block_seterr(err, errlen, "qcow2: %s: create: %s", path, strerror(-ret));
        goto out;
    }
    ret = mq_pwrite_full(fd, c0, cs, 0);
    /* Refcount table: block i sits right after the table. */
    for (uint64_t i = 0; ret == 0 && i < rct_clusters; i++) {
        memset(buf, 0, cs);
        for (uint64_t j = 0; j < cs / 8; j++) {
            uint64_t b = i * (cs / 8) + j;
            if (b < blocks)
                mq_put_be64(buf + j * 8, (1 + rct_clusters + b) * cs);
        }
        ret = mq_pwrite_full(fd, buf, cs, (1 + i) * cs);
    }
    for (uint64_t b = 0; ret == 0 && b < blocks; b++) {
        memset(buf, 0, cs);
        for (uint64_t j = 0; j < (1ull << rb_bits); j++) {
            uint64_t c = (b << rb_bits) + j;
            if (c < total)
                mq_put_be16(buf + j * 2, 1);
        }
        ret = mq_pwrite_full(fd, buf, cs, (1 + rct_clusters + b) * cs);
    }
    if (ret == 0) {
        memset(buf, 0, cs);
        ret = write_zero_clusters(fd, (1 + rct_clusters + blocks) * cs, l1_clusters * cs, buf,
                                  cs);
    }
    if (ret == 0 && fdatasync(fd) != 0)
        ret = -errno;
    if (ret < 0)
        mq_block_seterr(err, errlen, "qcow2: %s: write: %s", path, strerror(-ret));
out:
    if (fd >= 0)
        close(fd);
    free(exts);
    free(c0);
    free(buf);
    return ret;
}
