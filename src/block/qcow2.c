/* SPDX-License-Identifier: MIT */
/*
 * qcow2 image: header parsing and validation, header extensions, creation
 * and the struct mq_blockdev ops. Spec: QEMU docs/interop/qcow2.txt,
 * sections "Header", "Header extensions", "Feature name table".
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

static const struct mq_blockdev_ops qcow2_ops;

void qcow2_error(struct qcow2 *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mq_err("qcow2", "%s: %s", s->bd.path, msg);
}

/*
 * Metadata found corrupt while in use: report once per call site type and
 * stop writing to the file for good (we never "fix" a file we don't trust).
 */
int qcow2_corrupt(struct qcow2 *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mq_guest_warn("qcow2", "%s: corrupt image: %s%s", s->bd.path, msg,
                  s->broken ? "" : "; no further writes");
    s->broken = true;
    return -EIO;
}

int qcow2_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off)
{
    int ret;

    if (s->broken)
        return -EIO;
    ret = mq_pwrite_full(s->fd, buf, len, off);
    if (ret == 0 && off + len > s->file_size)
        s->file_size = off + len;
    return ret;
}

/* Ordering point: everything written so far is durable, then deferred frees run. */
int qcow2_barrier(struct qcow2 *s)
{
    while (fdatasync(s->fd) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    return qcow2_process_deferred(s);
}

int qcow2_write_header_range(struct qcow2 *s, uint32_t off, uint32_t len)
{
    return qcow2_pwrite(s, s->hdr + off, len, off);
}

int qcow2_set_incompat(struct qcow2 *s, uint64_t incompat)
{
    int ret;

    if (s->version < 3 || incompat == s->incompat)
        return 0;
    mq_put_be64(s->hdr + QCOW2_HDR_INCOMPAT, incompat);
    ret = qcow2_write_header_range(s, QCOW2_HDR_INCOMPAT, 8);
    if (ret == 0) {
        s->incompat = incompat;
        while (fdatasync(s->fd) != 0) {
            if (errno != EINTR)
                return -errno;
        }
    }
    return ret;
}

bool qcow2_range_in_file(const struct qcow2 *s, uint64_t off, uint64_t len)
{
    return mq_range_ok(off, len, s->file_size);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/*
 * Cheap overlap check before guest data goes to a host cluster we got from
 * an L2 entry: never over the header or the top-level tables.
 */
int qcow2_check_data_write(struct qcow2 *s, uint64_t host, uint64_t len)
{
    if (overlaps(host, len, 0, s->cluster_size))
        return qcow2_corrupt(s, "data cluster 0x%llx overlaps the header",
                             (unsigned long long)host);
    if (overlaps(host, len, s->l1_offset, (uint64_t)s->l1_size * 8))
        return qcow2_corrupt(s, "data cluster 0x%llx overlaps the L1 table",
                             (unsigned long long)host);
    if (overlaps(host, len, s->rct_offset, (uint64_t)s->rct_clusters << s->cluster_bits))
        return qcow2_corrupt(s, "data cluster 0x%llx overlaps the refcount table",
                             (unsigned long long)host);
    if (overlaps(host, len, s->snapshots_offset, s->snapshots_size))
        return qcow2_corrupt(s, "data cluster 0x%llx overlaps the snapshot table",
                             (unsigned long long)host);
    return 0;
}

int qcow2_write_l1_entry(struct qcow2 *s, uint64_t idx, uint64_t val)
{
    uint8_t be[8];
    int ret;

    mq_put_be64(be, val);
    ret = qcow2_pwrite(s, be, 8, s->l1_offset + idx * 8);
    if (ret == 0)
        s->l1[idx] = val;
    return ret;
}

/* ---- header parsing ---- */

static const char *feature_name(struct qcow2 *s, unsigned type, unsigned bit, char *buf,
                                size_t len)
{
    for (unsigned i = 0; i < s->n_exts; i++) {
        struct qcow2_ext *e = &s->exts[i];
        if (e->type != QCOW2_EXT_FEATURES)
            continue;
        for (uint32_t o = 0; o + 48 <= e->len; o += 48) {
            if (e->data[o] == type && e->data[o + 1] == bit) {
                snprintf(buf, len, "%.46s", (const char *)e->data + o + 2);
                return buf;
            }
        }
    }
    snprintf(buf, len, "bit %u", bit);
    return buf;
}

static int parse_extensions(struct qcow2 *s, uint64_t end, char *err, size_t errlen)
{
    uint64_t len = end - s->header_length;
    uint8_t *area = calloc(1, len + 8);
    uint64_t off = 0;
    int64_t got;
    int ret = 0;

    if (!area)
        return -ENOMEM;
    got = mq_pread_full(s->fd, area, len, s->header_length);
    if (got < 0) {
        ret = (int)got;
        mq_block_seterr(err, errlen, "qcow2: %s: reading header extensions: %s",
                        s->bd.path, strerror(-ret));
        goto out;
    }
    while (off + 8 <= len) {
        uint32_t type = mq_get_be32(area + off);
        uint32_t elen = mq_get_be32(area + off + 4);
        struct qcow2_ext *e;

        if (type == QCOW2_EXT_END)
            break;
        if (elen > len - off - 8) {
            mq_block_seterr(err, errlen,
                            "qcow2: %s: header extension 0x%08x length %u runs past "
                            "the end of the header area",
                            s->bd.path, type, elen);
            ret = -EINVAL;
            goto out;
        }
        if (s->n_exts >= QCOW2_MAX_EXTS) {
            mq_block_seterr(err, errlen, "qcow2: %s: more than %u header extensions",
                            s->bd.path, QCOW2_MAX_EXTS);
            ret = -EINVAL;
            goto out;
        }
        for (unsigned i = 0; i < s->n_exts; i++) {
            if (s->exts[i].type == type) {
                mq_block_seterr(err, errlen,
                                "qcow2: %s: header extension 0x%08x appears twice",
                                s->bd.path, type);
                ret = -EINVAL;
                goto out;
            }
        }
        e = realloc(s->exts, (s->n_exts + 1) * sizeof(*e));
        if (!e) {
            ret = -ENOMEM;
            goto out;
        }
        s->exts = e;
        e = &s->exts[s->n_exts];
        e->type = type;
        e->len = elen;
        e->data = malloc(elen ? elen : 1);
        if (!e->data) {
            ret = -ENOMEM;
            goto out;
        }
        memcpy(e->data, area + off + 8, elen);
        s->n_exts++;

        if (type == QCOW2_EXT_BACKING_FMT) {
            if (elen == 0 || elen > 63 || memchr(e->data, 0, elen)) {
                mq_block_seterr(err, errlen,
                                "qcow2: %s: backing format extension length %u invalid",
                                s->bd.path, elen);
                ret = -EINVAL;
                goto out;
            }
            s->backing_fmt = strndup((const char *)e->data, elen);
            if (!s->backing_fmt) {
                ret = -ENOMEM;
                goto out;
            }
        }
        off += 8 + (((uint64_t)elen + 7) & ~7ull);
    }
out:
    free(area);
    return ret;
}

static int parse_header(struct qcow2 *s, char *err, size_t errlen)
{
    uint8_t h[QCOW2_HDR_V3_LEN] = {0};
    const char *p = s->bd.path;
    uint64_t backing_off, ext_end, l1_bytes, rct_bytes;
    uint32_t backing_len, crypt;
    int64_t got;
    int ret;
    char fname[64];

    got = mq_pread_full(s->fd, h, sizeof(h), 0);
    if (got < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: read header: %s", p, strerror((int)-got));
        return (int)got;
    }
    if (got < QCOW2_HDR_V2_LEN) {
        mq_block_seterr(err, errlen, "qcow2: %s: file size %lld too small for a header", p,
                        (long long)got);
        return -EINVAL;
    }
    if (mq_get_be32(h) != QCOW2_MAGIC) {
        mq_block_seterr(err, errlen, "qcow2: %s: bad magic 0x%08x", p, mq_get_be32(h));
        return -EINVAL;
    }
    s->version = mq_get_be32(h + 4);
    if (s->version != 2 && s->version != 3) {
        mq_block_seterr(err, errlen, "qcow2: %s: unsupported version %u", p, s->version);
        return -ENOTSUP;
    }
    s->cluster_bits = mq_get_be32(h + 20);
    if (s->cluster_bits < 9 || s->cluster_bits > 21) {
        mq_block_seterr(err, errlen, "qcow2: %s: cluster_bits %u out of range 9..21", p,
                        s->cluster_bits);
        return -EINVAL;
    }
    s->cluster_size = 1ull << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->l2_entries = 1ull << s->l2_bits;

    if (s->version == 2) {
        s->header_length = QCOW2_HDR_V2_LEN;
        s->refcount_order = 4;
    } else {
        if (got < QCOW2_HDR_V3_LEN) {
            mq_block_seterr(err, errlen, "qcow2: %s: file too small for a v3 header", p);
            return -EINVAL;
        }
        s->incompat = mq_get_be64(h + 72);
        s->compat = mq_get_be64(h + 80);
        s->autoclear = mq_get_be64(h + 88);
        s->refcount_order = mq_get_be32(h + 96);
        s->header_length = mq_get_be32(h + 100);
        if (s->header_length < QCOW2_HDR_V3_LEN || (s->header_length & 7) ||
            s->header_length > s->cluster_size) {
            mq_block_seterr(err, errlen, "qcow2: %s: header_length %u invalid", p,
                            s->header_length);
            return -EINVAL;
        }
        if (s->refcount_order > 6) {
            mq_block_seterr(err, errlen, "qcow2: %s: refcount_order %u above 6", p,
                            s->refcount_order);
            return -EINVAL;
        }
    }
    s->hdr = calloc(1, s->header_length);
    if (!s->hdr)
        return -ENOMEM;
    ret = mq_pread_exact(s->fd, s->hdr, s->header_length, 0);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: header_length %u beyond end of file", p,
                        s->header_length);
        return -EINVAL;
    }
    if (s->header_length > QCOW2_HDR_V3_LEN)
        s->compression_type = s->hdr[QCOW2_HDR_V3_LEN];

    s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_max = s->refcount_order == 6 ? UINT64_MAX
                                             : (1ull << (1u << s->refcount_order)) - 1;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->coffset_mask = (1ull << s->csize_shift) - 1;

    /* Extensions come first so error messages can name unknown features. */
    backing_off = mq_get_be64(h + 8);
    backing_len = mq_get_be32(h + 16);
    if (backing_off) {
        if (backing_off < s->header_length || backing_off > s->cluster_size ||
            backing_len == 0 || backing_len > QCOW2_MAX_BACKING_NAME ||
            !qcow2_range_in_file(s, backing_off, backing_len)) {
            mq_block_seterr(err, errlen,
                            "qcow2: %s: backing_file_offset %llu / backing_file_size %u "
                            "invalid",
                            p, (unsigned long long)backing_off, backing_len);
            return -EINVAL;
        }
    }
    ext_end = backing_off ? backing_off : s->cluster_size;
    if (s->version >= 3) {
        ret = parse_extensions(s, ext_end, err, errlen);
        if (ret < 0)
            return ret;
    }

    if (s->incompat & ~(QCOW2_INCOMPAT_KNOWN | QCOW2_INCOMPAT_DATA_FILE |
                        QCOW2_INCOMPAT_EXTL2)) {
        uint64_t unk = s->incompat & ~(QCOW2_INCOMPAT_KNOWN | QCOW2_INCOMPAT_DATA_FILE |
                                       QCOW2_INCOMPAT_EXTL2);
        mq_block_seterr(err, errlen,
                        "qcow2: %s: unsupported incompatible_features 0x%llx (%s)", p,
                        (unsigned long long)unk,
                        feature_name(s, 0, (unsigned)__builtin_ctzll(unk), fname,
                                     sizeof(fname)));
        return -ENOTSUP;
    }
    if (s->incompat & QCOW2_INCOMPAT_DATA_FILE) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: external data file (incompatible_features bit 2) "
                        "is not supported",
                        p);
        return -ENOTSUP;
    }
    if (s->incompat & QCOW2_INCOMPAT_EXTL2) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: extended L2 entries (incompatible_features bit 4) "
                        "are not supported",
                        p);
        return -ENOTSUP;
    }
    if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
        if (s->header_length <= QCOW2_HDR_V3_LEN || s->compression_type != 1) {
            mq_block_seterr(err, errlen, "qcow2: %s: compression_type %u unsupported", p,
                            s->compression_type);
            return -ENOTSUP;
        }
    } else if (s->compression_type != 0) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: compression_type %u without incompatible bit 3", p,
                        s->compression_type);
        return -EINVAL;
    }
    crypt = mq_get_be32(h + 32);
    if (crypt) {
        mq_block_seterr(err, errlen, "qcow2: %s: encryption (crypt_method %u) unsupported",
                        p, crypt);
        return -ENOTSUP;
    }

    s->bd.size = mq_get_be64(h + 24);
    if (s->bd.size > QCOW2_MAX_VIRTUAL_SIZE) {
        mq_block_seterr(err, errlen, "qcow2: %s: size %llu too large", p,
                        (unsigned long long)s->bd.size);
        return -EINVAL;
    }

    s->l1_size = mq_get_be32(h + 36);
    s->l1_offset = mq_get_be64(h + 40);
    l1_bytes = (uint64_t)s->l1_size * 8;
    if (l1_bytes > QCOW2_MAX_L1_BYTES) {
        mq_block_seterr(err, errlen, "qcow2: %s: l1_size %u too large", p, s->l1_size);
        return -EINVAL;
    }
    if (s->l1_size < qcow2_size_to_l1(s, s->bd.size)) {
        mq_block_seterr(err, errlen, "qcow2: %s: l1_size %u too small for size %llu", p,
                        s->l1_size, (unsigned long long)s->bd.size);
        return -EINVAL;
    }
    if (s->l1_size && ((s->l1_offset & (s->cluster_size - 1)) || s->l1_offset == 0 ||
                       !qcow2_range_in_file(s, s->l1_offset, l1_bytes))) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: l1_table_offset 0x%llx invalid (unaligned, over the "
                        "header or beyond the end of the file)",
                        p, (unsigned long long)s->l1_offset);
        return -EINVAL;
    }

    s->rct_offset = mq_get_be64(h + 48);
    s->rct_clusters = mq_get_be32(h + 56);
    rct_bytes = (uint64_t)s->rct_clusters << s->cluster_bits;
    if (s->rct_clusters == 0 || rct_bytes > QCOW2_MAX_RCT_BYTES) {
        mq_block_seterr(err, errlen, "qcow2: %s: refcount_table_clusters %u invalid", p,
                        s->rct_clusters);
        return -EINVAL;
    }
    if ((s->rct_offset & (s->cluster_size - 1)) || s->rct_offset == 0 ||
        !qcow2_range_in_file(s, s->rct_offset, rct_bytes)) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: refcount_table_offset 0x%llx invalid (unaligned, over "
                        "the header or beyond the end of the file)",
                        p, (unsigned long long)s->rct_offset);
        return -EINVAL;
    }
    if (overlaps(s->l1_offset, l1_bytes, s->rct_offset, rct_bytes)) {
        mq_block_seterr(err, errlen, "qcow2: %s: L1 table 0x%llx overlaps refcount table",
                        p, (unsigned long long)s->l1_offset);
        return -EINVAL;
    }
    s->rct_entries = rct_bytes / 8;

    s->nb_snapshots = mq_get_be32(h + 60);
    s->snapshots_offset = mq_get_be64(h + 64);
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        mq_block_seterr(err, errlen, "qcow2: %s: nb_snapshots %u too large", p,
                        s->nb_snapshots);
        return -EINVAL;
    }
    if (s->nb_snapshots && ((s->snapshots_offset & (s->cluster_size - 1)) ||
                            s->snapshots_offset == 0 ||
                            !qcow2_range_in_file(s, s->snapshots_offset, 40))) {
        mq_block_seterr(err, errlen, "qcow2: %s: snapshots_offset 0x%llx invalid", p,
                        (unsigned long long)s->snapshots_offset);
        return -EINVAL;
    }
    if (!s->nb_snapshots)
        s->snapshots_offset = 0;

    if (backing_off) {
        s->backing_name = calloc(1, backing_len + 1);
        if (!s->backing_name)
            return -ENOMEM;
        ret = mq_pread_exact(s->fd, s->backing_name, backing_len, backing_off);
        if (ret < 0 || strlen(s->backing_name) != backing_len) {
            mq_block_seterr(err, errlen, "qcow2: %s: backing file name unreadable", p);
            return -EINVAL;
        }
    }
    return 0;
}

static int load_tables(struct qcow2 *s, char *err, size_t errlen)
{
    const char *p = s->bd.path;
    uint64_t rct_bytes = s->rct_entries * 8;
    uint8_t *buf = NULL;
    int ret;

    s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    s->rct = calloc(s->rct_entries, 8);
    buf = malloc(MQ_MAX((uint64_t)s->l1_size * 8, rct_bytes) + 8);
    if (!s->l1 || !s->rct || !buf) {
        ret = -ENOMEM;
        goto out;
    }
    ret = mq_pread_exact(s->fd, buf, (size_t)s->l1_size * 8, s->l1_offset);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: reading L1 table: %s", p, strerror(-ret));
        goto out;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t e = mq_get_be64(buf + i * 8), l2 = e & QCOW2_OFFSET_MASK;
        if ((e & QCOW2_L1_RESERVED) || (l2 & (s->cluster_size - 1)) ||
            (l2 && !qcow2_range_in_file(s, l2, s->cluster_size))) {
            mq_block_seterr(err, errlen,
                            "qcow2: %s: L1 entry %u = 0x%llx invalid (reserved bits, "
                            "unaligned or beyond the end of the file)",
                            p, i, (unsigned long long)e);
            ret = -EINVAL;
            goto out;
        }
        s->l1[i] = e;
    }
    ret = mq_pread_exact(s->fd, buf, rct_bytes, s->rct_offset);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: reading refcount table: %s", p,
                        strerror(-ret));
        goto out;
    }
    for (uint64_t i = 0; i < s->rct_entries; i++) {
        uint64_t e = mq_get_be64(buf + i * 8);
        if ((e & ~QCOW2_OFFSET_MASK) || (e & (s->cluster_size - 1)) ||
            (e && !qcow2_range_in_file(s, e, s->cluster_size))) {
            mq_block_seterr(err, errlen,
                            "qcow2: %s: refcount table entry %llu = 0x%llx invalid "
                            "(unaligned or beyond the end of the file)",
                            p, (unsigned long long)i, (unsigned long long)e);
            ret = -EINVAL;
            goto out;
        }
        s->rct[i] = e;
    }
out:
    free(buf);
    return ret;
}

char *qcow2_resolve_backing(const char *image, const char *name)
{
    const char *slash = strrchr(image, '/');
    char *out;

    if (name[0] == '/' || !slash)
        return strdup(name);
    if (asprintf(&out, "%.*s/%s", (int)(slash - image), image, name) < 0)
        return NULL;
    return out;
}

static int open_backing(struct qcow2 *s, const struct mq_open_chain *chain, char *err,
                        size_t errlen)
{
    char *path = qcow2_resolve_backing(s->bd.path, s->backing_name);
    int ret;

    if (!path)
        return -ENOMEM;
    /* The innermost error names the file at fault; pass it up unchanged. */
    ret = mq_block_open_chain(path, s->backing_fmt, MQ_BLOCKDEV_RDONLY, chain, &s->backing,
                              err, errlen);
    free(path);
    return ret;
}

static void qcow2_free_state(struct qcow2 *s)
{
    mq_blockdev_close(s->backing);
    qcow2_cache_free(&s->l2c);
    qcow2_cache_free(&s->rbc);
    qcow2_free_snapshots(s->snaps, s->nb_snapshots);
    for (unsigned i = 0; i < s->n_exts; i++)
        free(s->exts[i].data);
    free(s->exts);
    free(s->hdr);
    free(s->l1);
    free(s->rct);
    free(s->deferred);
    free(s->dcache);
    free(s->backing_name);
    free(s->backing_fmt);
    free(s->bd.path);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static int file_size_of(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return -errno;
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, size) == 0 ? 0 : -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* Cache sizes: bounded in bytes so 2 MiB clusters don't pin 64 MiB. */
static unsigned cache_entries(uint64_t cluster_size, unsigned max)
{
    uint64_t n = (4ull << 20) / cluster_size;
    return (unsigned)MQ_MAX(4, MQ_MIN(n, max));
}

int qcow2_open_fd(const char *path, int fd, unsigned flags, const struct mq_open_chain *chain,
                  struct mq_blockdev **out, char *err, size_t errlen)
{
    struct qcow2 *s = calloc(1, sizeof(*s));
    int ret;

    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    s->fd = fd;
    s->open_flags = flags;
    s->bd.ops = &qcow2_ops;
    s->bd.read_only = flags & MQ_BLOCKDEV_RDONLY;
    s->bd.path = strdup(path);
    if (!s->bd.path) {
        ret = -ENOMEM;
        goto fail;
    }
    ret = file_size_of(fd, &s->file_size);
    if (ret < 0) {
        mq_block_seterr(err, errlen, "qcow2: %s: size: %s", path, strerror(-ret));
        goto fail;
    }
    ret = parse_header(s, err, errlen);
    if (ret < 0)
        goto fail;
    ret = load_tables(s, err, errlen);
    if (ret < 0)
        goto fail;
    ret = qcow2_read_snapshots(s, err, errlen);
    if (ret < 0)
        goto fail;
    ret = qcow2_cache_init(&s->l2c, cache_entries(s->cluster_size, 32), s->cluster_size);
    if (ret == 0)
        ret = qcow2_cache_init(&s->rbc, cache_entries(s->cluster_size, 8), s->cluster_size);
    s->dcache = malloc(s->cluster_size);
    if (ret < 0 || !s->dcache) {
        ret = -ENOMEM;
        goto fail;
    }
    if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && !s->bd.read_only) {
        mq_block_seterr(err, errlen,
                        "qcow2: %s: image is marked corrupt (incompatible_features bit 1); "
                        "open it read-only or repair it with qemu-img check -r all",
                        path);
        ret = -EROFS;
        goto fail;
    }
    if (s->backing_name && (flags & MQ_BLOCKDEV_NO_BACKING))
        s->bd.read_only = true;
    if (s->backing_name && !(flags & MQ_BLOCKDEV_NO_BACKING)) {
        ret = open_backing(s, chain, err, errlen);
        if (ret < 0)
            goto fail;
    }
    if (!s->bd.read_only && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
        /* Dirty: refcounts may be stale; rebuild them before any allocation. */
        mq_warn("qcow2", "%s: image was not closed cleanly; rebuilding refcounts", path);
        ret = qcow2_repair(s);
        if (ret == 0)
            ret = qcow2_set_incompat(s, s->incompat & ~QCOW2_INCOMPAT_DIRTY);
        if (ret < 0) {
            mq_block_seterr(err, errlen, "qcow2: %s: repairing dirty image failed: %s",
                            path, strerror(-ret));
            goto fail;
        }
    }
    if (!s->bd.read_only && s->autoclear) {
        /* The spec lets us write only after clearing autoclear bits we don't keep. */
        mq_put_be64(s->hdr + QCOW2_HDR_AUTOCLEAR, 0);
        ret = qcow2_write_header_range(s, QCOW2_HDR_AUTOCLEAR, 8);
        if (ret < 0) {
            mq_block_seterr(err, errlen, "qcow2: %s: clearing autoclear bits: %s", path,
                            strerror(-ret));
            goto fail;
        }
        s->autoclear = 0;
    }
    *out = &s->bd;
    return 0;

fail:
    if (ret == -ENOMEM)
        mq_block_seterr(err, errlen, "qcow2: %s: out of memory", path);
    qcow2_free_state(s);
    return ret;
}

/* ---- blockdev ops ---- */

static int qcow2_op_pread(struct mq_blockdev *bd, void *buf, uint64_t len, uint64_t off)
{
    struct qcow2 *s = qcow2_of(bd);

    if (!mq_range_ok(off, len, bd->size))
        return -EINVAL;
    return qcow2_read_l1(s, s->l1, s->l1_size, buf, len, off);
}

static int check_writable(struct qcow2 *s, uint64_t off, uint64_t len)
{
    if (s->bd.read_only)
        return -EROFS;
    if (s->broken)
        return -EIO;
    if (!mq_range_ok(off, len, s->bd.size))
        return -EINVAL;
    return 0;
}

static int qcow2_op_pwrite(struct mq_blockdev *bd, const void *buf, uint64_t len,
                           uint64_t off)
{
    struct qcow2 *s = qcow2_of(bd);
    int ret = check_writable(s, off, len);

    return ret < 0 ? ret : qcow2_do_write(s, buf, len, off);
}

static int qcow2_op_flush(struct mq_blockdev *bd)
{
    struct qcow2 *s = qcow2_of(bd);

    if (bd->read_only || s->broken)
        return 0;
    return qcow2_barrier(s);
}

static int qcow2_op_discard(struct mq_blockdev *bd, uint64_t off, uint64_t len)
{
    struct qcow2 *s = qcow2_of(bd);
    int ret = check_writable(s, off, len);

    return ret < 0 ? ret : qcow2_do_zero(s, off, len, true, true);
}

static int qcow2_op_write_zeroes(struct mq_blockdev *bd, uint64_t off, uint64_t len,
                                 bool may_unmap)
{
    struct qcow2 *s = qcow2_of(bd);
    int ret = check_writable(s, off, len);

    return ret < 0 ? ret : qcow2_do_zero(s, off, len, may_unmap, false);
}

static void qcow2_op_close(struct mq_blockdev *bd)
{
    struct qcow2 *s = qcow2_of(bd);
    int ret = qcow2_op_flush(bd);

    if (ret < 0)
        qcow2_error(s, "flush on close: %s", strerror(-ret));
    qcow2_free_state(s);
}

static const struct mq_blockdev_ops qcow2_ops = {
    .format = "qcow2",
    .pread = qcow2_op_pread,
    .pwrite = qcow2_op_pwrite,
    .flush = qcow2_op_flush,
    .discard = qcow2_op_discard,
    .write_zeroes = qcow2_op_write_zeroes,
    .close = qcow2_op_close,
};

int qcow2_from_bd(struct mq_blockdev *bd, bool need_rw, struct qcow2 **out)
{
    if (!bd || bd->ops != &qcow2_ops)
        return -EINVAL;
    if (need_rw && bd->read_only)
        return -EROFS;
    if (need_rw && qcow2_of(bd)->broken)
        return -EIO;
    *out = qcow2_of(bd);
    return 0;
}
