/* SPDX-License-Identifier: MIT */
/*
 * qcow2 guest-to-host cluster mapping: L1/L2 lookup with a bounded L2
 * cache, reads (backing file, zero clusters, zlib/zstd compressed clusters)
 * and writes (allocation, copy-on-write of shared clusters and L2 tables,
 * zero flag, discard). Spec: QEMU docs/interop/qcow2.txt, sections
 * "Cluster mapping", "Compressed Clusters Descriptor", "Snapshots" (COW).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2_int.h"
#include "util/le.h"
#include "util/log.h"

/* ---- bounded table cache ---- */

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size)
{
    c->e = calloc(n, sizeof(*c->e));
    if (!c->e)
        return -ENOMEM;
    c->n = n;
    for (unsigned i = 0; i < n; i++) {
        c->e[i].data = malloc(cluster_size);
        if (!c->e[i].data)
            return -ENOMEM;
    }
    return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
    for (unsigned i = 0; c->e && i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    c->e = NULL;
    c->n = 0;
}

/* Called when a cluster is freed: it may come back as something else. */
void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset == offset)
            c->e[i].offset = 0;
    }
}

static struct qcow2_cache_entry *cache_find(struct qcow2_cache *c, uint64_t offset)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset == offset) {
            c->e[i].last_use = ++c->tick;
            return &c->e[i];
        }
    }
    return NULL;
}

static struct qcow2_cache_entry *cache_victim(struct qcow2_cache *c)
{
    struct qcow2_cache_entry *v = &c->e[0];

    for (unsigned i = 0; i < c->n; i++) {
        if (!c->e[i].offset)
            return &c->e[i];
        if (c->e[i].last_use < v->last_use)
            v = &c->e[i];
    }
    return v;
}

/* Load a cluster-sized table at off through cache c; off already validated. */
static int cache_load(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, uint8_t **table)
{
    struct qcow2_cache_entry *e = cache_find(c, off);
    int ret;

    if (e) {
        *table = e->data;
        return 0;
    }
    e = cache_victim(c);
    e->offset = 0;
    ret = mq_pread_exact(s->fd, e->data, s->cluster_size, off);
    if (ret < 0)
        return ret == -EIO ? qcow2_corrupt(s, "table at 0x%llx beyond end of file",
                                           (unsigned long long)off)
                           : ret;
    e->offset = off;
    e->last_use = ++c->tick;
    *table = e->data;
    return 0;
}

/* Put a freshly written table into the cache without reading it back. */
static uint8_t *cache_install(struct qcow2_cache *c, uint64_t off, const uint8_t *data,
                              uint64_t cs)
{
    struct qcow2_cache_entry *e = cache_find(c, off);

    if (!e)
        e = cache_victim(c);
    memcpy(e->data, data, cs);
    e->offset = off;
    e->last_use = ++c->tick;
    return e->data;
}

int qcow2_load_l2(struct qcow2 *s, uint64_t l2_off, uint8_t **table)
{
    if ((l2_off & (s->cluster_size - 1)) || l2_off < s->cluster_size ||
        !qcow2_range_in_file(s, l2_off, s->cluster_size))
        return qcow2_corrupt(s, "L2 table offset 0x%llx invalid",
                             (unsigned long long)l2_off);
    return cache_load(s, &s->l2c, l2_off, table);
}

int qcow2_refblock_load(struct qcow2 *s, uint64_t off, uint8_t **table)
{
    if ((off & (s->cluster_size - 1)) || off < s->cluster_size ||
        !qcow2_range_in_file(s, off, s->cluster_size))
        return qcow2_corrupt(s, "refcount block offset 0x%llx invalid",
                             (unsigned long long)off);
    return cache_load(s, &s->rbc, off, table);
}

uint8_t *qcow2_refblock_install(struct qcow2 *s, uint64_t off, const uint8_t *data)
{
    return cache_install(&s->rbc, off, data, s->cluster_size);
}

void qcow2_refblock_cache_reset(struct qcow2 *s)
{
    for (unsigned i = 0; i < s->rbc.n; i++)
        s->rbc.e[i].offset = 0;
}

int qcow2_l1_entry_check(struct qcow2 *s, uint64_t entry, uint64_t *l2_off)
{
    uint64_t off = entry & QCOW2_OFFSET_MASK;

    if ((entry & QCOW2_L1_RESERVED) || (off & (s->cluster_size - 1)))
        return qcow2_corrupt(s, "L1 entry 0x%llx has reserved bits set or is unaligned",
                             (unsigned long long)entry);
    *l2_off = off;
    return 0;
}

int qcow2_classify(struct qcow2 *s, uint64_t entry, enum qcow2_ctype *type)
{
    uint64_t off;

    if (entry & QCOW2_COMPRESSED) {
        uint64_t coff = entry & s->coffset_mask;
        /* Compressed entries never carry the copied flag; offsets stay below 2^56. */
        if ((entry & QCOW2_COPIED) || coff >= (1ull << 56) || coff < s->cluster_size ||
            coff >= s->file_size)
            return qcow2_corrupt(s, "compressed L2 entry 0x%llx invalid",
                                 (unsigned long long)entry);
        *type = QCOW2_COMPRESSED_C;
        return 0;
    }
    if (entry & QCOW2_L2_RESERVED)
        return qcow2_corrupt(s, "L2 entry 0x%llx has reserved bits set",
                             (unsigned long long)entry);
    off = entry & QCOW2_OFFSET_MASK;
    if (off & (s->cluster_size - 1))
        return qcow2_corrupt(s, "L2 entry 0x%llx is not cluster aligned",
                             (unsigned long long)entry);
    if (entry & QCOW2_ZERO) {
        if (s->version < 3)
            return qcow2_corrupt(s, "L2 entry 0x%llx has the zero flag in a v2 image",
                                 (unsigned long long)entry);
        *type = off ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
        return 0;
    }
    if (!off) {
        if (entry & QCOW2_COPIED)
            return qcow2_corrupt(s, "L2 entry 0x%llx points at host offset 0",
                                 (unsigned long long)entry);
        *type = QCOW2_UNALLOCATED;
        return 0;
    }
    *type = QCOW2_NORMAL;
    return 0;
}

void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off,
                            uint64_t *len)
{
    uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;

    *off = entry & s->coffset_mask;
    *len = sectors * 512 - (*off & 511);
}

static int inflate_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    z_stream zs;
    int ret;

    memset(&zs, 0, sizeof(zs));
    /* Raw deflate (negative window bits); 15 accepts any window qemu used. */
    if (inflateInit2(&zs, -15) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = out;
    zs.avail_out = (uInt)out_len;
    ret = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    /* The stream may stop early in a sector shared with the next cluster. */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && zs.avail_out == 0)
        return 0;
    return -EIO;
}

static int inflate_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_len, 0};
    int ret = -EIO;

    if (!dctx)
        return -ENOMEM;
    while (ob.pos < ob.size) {
        size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(r))
            goto out;
        if (r == 0 || (ib.pos == ib.size && ob.pos < ob.size))
            break;
    }
    if (ob.pos == ob.size)
        ret = 0;
out:
    ZSTD_freeDCtx(dctx);
    return ret;
}

static int decompress(struct qcow2 *s, uint64_t entry)
{
    uint64_t coff, clen;
    uint8_t *in;
    int64_t got;
    int ret;

    if (s->dcache_valid && s->dcache_entry == entry)
        return 0;
    s->dcache_valid = false;
    qcow2_compressed_range(s, entry, &coff, &clen);
    in = malloc(clen);
    if (!in)
        return -ENOMEM;
    /* The last sector may reach past the end of file: qemu doesn't pad it. */
    got = mq_pread_full(s->fd, in, clen, coff);
    if (got < 0) {
        ret = (int)got;
        goto out;
    }
    if (s->compression_type == 1)
        ret = inflate_zstd(in, (size_t)got, s->dcache, s->cluster_size);
    else
        ret = inflate_zlib(in, (size_t)got, s->dcache, s->cluster_size);
    if (ret == -EIO)
        mq_guest_warn("qcow2", "%s: compressed cluster at 0x%llx does not decompress",
                      s->bd.path, (unsigned long long)coff);
    if (ret == 0) {
        s->dcache_entry = entry;
        s->dcache_valid = true;
    }
out:
    free(in);
    return ret;
}

/*
 * Read n bytes at cl_off of guest cluster gci whose L2 entry is entry.
 * Only the active L1 falls through to the backing file.
 */
static int read_entry(struct qcow2 *s, uint64_t entry, enum qcow2_ctype type, uint64_t gci,
                      bool use_backing, uint8_t *buf, uint64_t cl_off, uint64_t n)
{
    uint64_t goff = (gci << s->cluster_bits) + cl_off;
    int64_t got;
    int ret;

    switch (type) {
    case QCOW2_UNALLOCATED:
        if (use_backing && s->backing && goff < s->backing->size) {
            uint64_t m = MQ_MIN(n, s->backing->size - goff);
            ret = mq_blockdev_pread(s->backing, buf, m, goff);
            if (ret < 0)
                return ret;
            memset(buf + m, 0, n - m);
            return 0;
        }
        memset(buf, 0, n);
        return 0;
    case QCOW2_ZERO_PLAIN:
    case QCOW2_ZERO_ALLOC:
        memset(buf, 0, n);
        return 0;
    case QCOW2_NORMAL:
        got = mq_pread_full(s->fd, buf, n, (entry & QCOW2_OFFSET_MASK) + cl_off);
        if (got < 0)
            return (int)got;
        /* Data past the end of the file reads as zeroes (sparse tail). */
        memset(buf + got, 0, n - (uint64_t)got);
        return 0;
    case QCOW2_COMPRESSED_C:
        ret = decompress(s, entry);
        if (ret < 0)
            return ret;
        memcpy(buf, s->dcache + cl_off, n);
        return 0;
    }
    return -EIO;
}

/* The L2 entry for guest cluster gci through table l1 (0 when unmapped). */
static int lookup(struct qcow2 *s, const uint64_t *l1, uint64_t l1_size, uint64_t gci,
                  uint64_t *entry)
{
    uint64_t l1i = gci >> s->l2_bits, l2_off;
    uint8_t *table;
    int ret;

    *entry = 0;
    if (l1i >= l1_size)
        return 0;
    ret = qcow2_l1_entry_check(s, l1[l1i], &l2_off);
    if (ret < 0 || !l2_off)
        return ret;
    ret = qcow2_load_l2(s, l2_off, &table);
    if (ret < 0)
        return ret;
    *entry = mq_get_be64(table + (gci & (s->l2_entries - 1)) * 8);
    return 0;
}

int qcow2_read_l1(struct qcow2 *s, const uint64_t *l1, uint64_t l1_size, void *buf,
                  uint64_t len, uint64_t off)
{
    uint8_t *p = buf;
    bool use_backing = l1 == s->l1;

    while (len) {
        uint64_t gci = off >> s->cluster_bits, cl_off = off & (s->cluster_size - 1);
        uint64_t n = MQ_MIN(len, s->cluster_size - cl_off), entry;
        enum qcow2_ctype type;
        int ret = lookup(s, l1, l1_size, gci, &entry);

        if (ret == 0)
            ret = qcow2_classify(s, entry, &type);
        if (ret == 0)
            ret = read_entry(s, entry, type, gci, use_backing, p, cl_off, n);
        if (ret < 0)
            return ret;
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* ---- writes ---- */

int qcow2_set_l2_entry(struct qcow2 *s, uint64_t l2_off, uint8_t *table, uint64_t idx,
                       uint64_t val)
{
    mq_put_be64(table + idx * 8, val);
    return qcow2_pwrite(s, table + idx * 8, 8, l2_off + idx * 8);
}

/*
 * Make the L2 table for L1 index l1i exclusively ours (allocating or
 * copying it) and return it. New table content is durable before the L1
 * entry points at it; a shared old table loses our reference only after.
 */
static int get_l2_for_write(struct qcow2 *s, uint64_t l1i, uint64_t *l2_out, uint8_t **table)
{
    uint64_t l2_off, new_off;
    uint8_t *copy = NULL;
    int ret = qcow2_l1_entry_check(s, s->l1[l1i], &l2_off);

    if (ret < 0)
        return ret;
    if (l2_off && (s->l1[l1i] & QCOW2_COPIED)) {
        *l2_out = l2_off;
        return qcow2_load_l2(s, l2_off, table);
    }
    copy = calloc(1, s->cluster_size);
    if (!copy)
        return -ENOMEM;
    if (l2_off) {
        uint8_t *old;
        ret = qcow2_load_l2(s, l2_off, &old);
        if (ret < 0)
            goto out;
        memcpy(copy, old, s->cluster_size);
        /* Refuse to propagate a corrupt table: check it before writing anything. */
        for (uint64_t i = 0; i < s->l2_entries && ret == 0; i++) {
            enum qcow2_ctype type;
            ret = qcow2_classify(s, mq_get_be64(copy + i * 8), &type);
        }
        if (ret < 0)
            goto out;
    }
    ret = qcow2_alloc_clusters(s, 1, &new_off);
    if (ret < 0)
        goto out;
    ret = qcow2_pwrite(s, copy, s->cluster_size, new_off);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret == 0)
        ret = qcow2_write_l1_entry(s, l1i, new_off | QCOW2_COPIED);
    if (ret < 0)
        goto out;
    if (l2_off)
        ret = qcow2_free_deferred(s, l2_off, s->cluster_size);
    *table = cache_install(&s->l2c, new_off, copy, s->cluster_size);
    *l2_out = new_off;
out:
    free(copy);
    return ret;
}

static void free_entry_deferred(struct qcow2 *s, uint64_t entry, enum qcow2_ctype type,
                                int *ret)
{
    int r = 0;

    if (type == QCOW2_NORMAL || type == QCOW2_ZERO_ALLOC) {
        r = qcow2_free_deferred(s, entry & QCOW2_OFFSET_MASK, s->cluster_size);
    } else if (type == QCOW2_COMPRESSED_C) {
        uint64_t off, len;
        qcow2_compressed_range(s, entry, &off, &len);
        r = qcow2_free_deferred(s, off, len);
    }
    if (r < 0 && *ret == 0)
        *ret = r;
}

/* An L2 entry to update once the data it points at is durable. */
struct pending {
    uint64_t l2i;
    uint64_t entry; /* new value */
    uint64_t old;   /* old value, its clusters freed after the update */
    enum qcow2_ctype old_type;
    bool free_old;
};

/*
 * Put data for one guest cluster somewhere: in place when the cluster is
 * exclusively ours, else in a new cluster (copy-on-write: partial writes
 * are merged with the old content). Metadata changes go to *p.
 */
static int write_one(struct qcow2 *s, uint64_t gci, uint64_t entry, const uint8_t *data,
                     uint64_t cl_off, uint64_t n, uint8_t *full, struct pending *p,
                     bool *has_pending)
{
    uint64_t cs = s->cluster_size, host = entry & QCOW2_OFFSET_MASK;
    enum qcow2_ctype type;
    const uint8_t *src = data;
    int ret = qcow2_classify(s, entry, &type);

    *has_pending = false;
    if (ret < 0)
        return ret;
    if (type == QCOW2_NORMAL && (entry & QCOW2_COPIED)) {
        ret = qcow2_check_data_write(s, host, cs);
        return ret < 0 ? ret : qcow2_pwrite(s, data, n, host + cl_off);
    }
    if (n < cs) {
        ret = read_entry(s, entry, type, gci, true, full, 0, cs);
        if (ret < 0)
            return ret;
        memcpy(full + cl_off, data, n);
        src = full;
    }
    p->old = entry;
    p->old_type = type;
    if (type == QCOW2_ZERO_ALLOC && (entry & QCOW2_COPIED)) {
        /* Preallocated zero cluster: fill it, then drop the zero flag. */
        ret = qcow2_check_data_write(s, host, cs);
        p->free_old = false;
    } else {
        ret = qcow2_alloc_clusters(s, 1, &host);
        p->free_old = true;
    }
    if (ret == 0)
        ret = qcow2_pwrite(s, src, cs, host);
    p->entry = host | QCOW2_COPIED;
    *has_pending = ret == 0;
    return ret;
}

/*
 * Write [off, off + len) that lies inside one L2 table. New data clusters
 * are allocated and written first, then one barrier, then the L2 entries,
 * then the replaced clusters are freed (deferred to the next barrier).
 */
static int write_l2_chunk(struct qcow2 *s, const uint8_t *buf, uint64_t len, uint64_t off)
{
    uint64_t first = off >> s->cluster_bits, l2_off;
    uint64_t nclusters = ((off + len - 1) >> s->cluster_bits) - first + 1;
    struct pending *pend = calloc(nclusters, sizeof(*pend));
    uint8_t *full = malloc(s->cluster_size), *table;
    size_t np = 0;
    int ret = (pend && full) ? 0 : -ENOMEM;

    /* Validate every entry we will touch before the first write. */
    for (uint64_t i = 0; ret == 0 && i < nclusters; i++) {
        uint64_t entry;
        enum qcow2_ctype type;
        ret = lookup(s, s->l1, s->l1_size, first + i, &entry);
        if (ret == 0)
            ret = qcow2_classify(s, entry, &type);
    }
    if (ret == 0)
        ret = get_l2_for_write(s, first >> s->l2_bits, &l2_off, &table);
    while (ret == 0 && len) {
        uint64_t gci = off >> s->cluster_bits, cl_off = off & (s->cluster_size - 1);
        uint64_t n = MQ_MIN(len, s->cluster_size - cl_off), l2i = gci & (s->l2_entries - 1);
        bool has;

        ret = qcow2_load_l2(s, l2_off, &table);
        if (ret == 0)
            ret = write_one(s, gci, mq_get_be64(table + l2i * 8), buf, cl_off, n, full,
                            &pend[np], &has);
        if (ret == 0 && has)
            pend[np++].l2i = l2i;
        buf += n;
        off += n;
        len -= n;
    }
    if (np && ret == 0)
        ret = qcow2_barrier(s);
    if (np && ret == 0)
        ret = qcow2_load_l2(s, l2_off, &table);
    for (size_t i = 0; i < np && ret == 0; i++) {
        ret = qcow2_set_l2_entry(s, l2_off, table, pend[i].l2i, pend[i].entry);
        if (ret == 0 && pend[i].free_old)
            free_entry_deferred(s, pend[i].old, pend[i].old_type, &ret);
    }
    free(pend);
    free(full);
    return ret;
}

int qcow2_do_write(struct qcow2 *s, const void *buf, uint64_t len, uint64_t off)
{
    const uint8_t *p = buf;
    uint64_t l2_span = s->cluster_size << s->l2_bits;

    while (len) {
        uint64_t n = MQ_MIN(len, l2_span - (off & (l2_span - 1)));
        int ret = write_l2_chunk(s, p, n, off);

        if (ret < 0)
            return ret;
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

static bool reads_zero(const struct qcow2 *s, enum qcow2_ctype type)
{
    return type == QCOW2_ZERO_PLAIN || type == QCOW2_ZERO_ALLOC ||
           (type == QCOW2_UNALLOCATED && !s->backing);
}

/* Zero one whole guest cluster through metadata only, where the format allows. */
static int zero_cluster(struct qcow2 *s, uint64_t gci, bool may_unmap, bool discard,
                        bool *done)
{
    uint64_t l1i = gci >> s->l2_bits, l2i = gci & (s->l2_entries - 1);
    uint64_t l2_off, entry, new_entry;
    enum qcow2_ctype type;
    uint8_t *table;
    int ret = lookup(s, s->l1, s->l1_size, gci, &entry);

    *done = true;
    if (ret == 0)
        ret = qcow2_classify(s, entry, &type);
    if (ret < 0)
        return ret;
    if (type == QCOW2_ZERO_PLAIN || (type == QCOW2_UNALLOCATED && !s->backing))
        return 0;
    if (type == QCOW2_ZERO_ALLOC && !may_unmap)
        return 0;

    if (s->version >= 3) {
        if (!may_unmap && type == QCOW2_NORMAL && (entry & QCOW2_COPIED))
            new_entry = (entry & QCOW2_OFFSET_MASK) | QCOW2_COPIED | QCOW2_ZERO;
        else if (discard && !s->backing)
            new_entry = 0;
        else
            new_entry = QCOW2_ZERO;
    } else if (!s->backing) {
        new_entry = 0;
    } else {
        *done = false; /* v2 over a backing file: only real zeroes hide it */
        return 0;
    }
    ret = get_l2_for_write(s, l1i, &l2_off, &table);
    if (ret == 0) {
        /* The table may have been copied: re-read the entry from our copy. */
        entry = mq_get_be64(table + l2i * 8);
        ret = qcow2_classify(s, entry, &type);
    }
    if (ret == 0)
        ret = qcow2_set_l2_entry(s, l2_off, table, l2i, new_entry);
    if (ret == 0 && !(new_entry & QCOW2_OFFSET_MASK))
        free_entry_deferred(s, entry, type, &ret);
    return ret;
}

int qcow2_do_zero(struct qcow2 *s, uint64_t off, uint64_t len, bool may_unmap, bool discard)
{
    uint8_t *zeroes = NULL;
    int ret = 0;

    while (len && ret == 0) {
        uint64_t gci = off >> s->cluster_bits, cl_off = off & (s->cluster_size - 1);
        uint64_t n = MQ_MIN(len, s->cluster_size - cl_off), entry;
        enum qcow2_ctype type;
        bool done = false;

        if (n == s->cluster_size)
            ret = zero_cluster(s, gci, may_unmap, discard, &done);
        if (ret == 0 && !done) {
            ret = lookup(s, s->l1, s->l1_size, gci, &entry);
            if (ret == 0)
                ret = qcow2_classify(s, entry, &type);
            if (ret == 0 && !reads_zero(s, type)) {
                if (!zeroes)
                    zeroes = calloc(1, s->cluster_size);
                ret = zeroes ? write_l2_chunk(s, zeroes, n, off) : -ENOMEM;
            }
        }
        off += n;
        len -= n;
    }
    free(zeroes);
    return ret;
}
