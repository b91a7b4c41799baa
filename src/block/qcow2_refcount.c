/* SPDX-License-Identifier: MIT */
/*
 * qcow2 host cluster management: refcount table and blocks (any
 * refcount_order 0..6), cluster allocation, table growth, deferred frees,
 * refcount walks for snapshots and the rebuild used to repair dirty
 * images. Spec: QEMU docs/interop/qcow2.txt, "Host cluster management"
 * and the copied flag (bit 63) of "Cluster mapping".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2_int.h"
#include "util/le.h"
#include "util/log.h"

static int sync_file(struct qcow2 *s)
{
    while (fdatasync(s->fd) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static uint64_t rb_get(const struct qcow2 *s, const uint8_t *blk, uint64_t idx)
{
    uint32_t order = s->refcount_order;

    switch (order) {
    case 0:
    case 1:
    case 2: {
        uint32_t per_byte = 8u >> order, bits = 1u << order;
        uint32_t shift = (uint32_t)(idx % per_byte) * bits;
        return (blk[idx / per_byte] >> shift) & ((1u << bits) - 1);
    }
    case 3:
        return blk[idx];
    case 4:
        return mq_get_be16(blk + idx * 2);
    case 5:
        return mq_get_be32(blk + idx * 4);
    default:
        return mq_get_be64(blk + idx * 8);
    }
}

/* Store v and report which bytes of the block changed. */
static void rb_put(const struct qcow2 *s, uint8_t *blk, uint64_t idx, uint64_t v,
                   uint64_t *boff, uint64_t *blen)
{
    uint32_t order = s->refcount_order;

    switch (order) {
    case 0:
    case 1:
    case 2: {
        uint32_t per_byte = 8u >> order, bits = 1u << order;
        uint32_t shift = (uint32_t)(idx % per_byte) * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
        blk[idx / per_byte] = (uint8_t)((blk[idx / per_byte] & ~mask) | ((v << shift) & mask));
        *boff = idx / per_byte;
        *blen = 1;
        return;
    }
    case 3:
        blk[idx] = (uint8_t)v;
        *boff = idx;
        *blen = 1;
        return;
    case 4:
        mq_put_be16(blk + idx * 2, (uint16_t)v);
        *boff = idx * 2;
        *blen = 2;
        return;
    case 5:
        mq_put_be32(blk + idx * 4, (uint32_t)v);
        *boff = idx * 4;
        *blen = 4;
        return;
    default:
        mq_put_be64(blk + idx * 8, v);
        *boff = idx * 8;
        *blen = 8;
        return;
    }
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
    uint64_t rt = cluster >> s->rb_bits;
    uint8_t *blk;
    int ret;

    *rc = 0;
    if (rt >= s->rct_entries || !s->rct[rt])
        return 0;
    ret = qcow2_refblock_load(s, s->rct[rt], &blk);
    if (ret < 0)
        return ret;
    *rc = rb_get(s, blk, cluster & ((1ull << s->rb_bits) - 1));
    return 0;
}

int qcow2_update_refcount(struct qcow2 *s, uint64_t off, uint64_t len, int addend)
{
    uint64_t first, last;

    if (!len)
        return 0;
    first = off >> s->cluster_bits;
    last = (off + len - 1) >> s->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        uint64_t rt = c >> s->rb_bits, idx = c & ((1ull << s->rb_bits) - 1);
        uint64_t rc, nrc, boff, blen;
        uint8_t *blk;
        int ret;

        if (rt >= s->rct_entries || !s->rct[rt])
            return qcow2_corrupt(s, "cluster %llu in use has no refcount block",
                                 (unsigned long long)c);
        ret = qcow2_refblock_load(s, s->rct[rt], &blk);
        if (ret < 0)
            return ret;
        rc = rb_get(s, blk, idx);
        if (addend < 0 && rc < (uint64_t)-addend)
            return qcow2_corrupt(s, "refcount of cluster %llu would drop below zero",
                                 (unsigned long long)c);
        if (addend > 0 && rc > s->refcount_max - (uint64_t)addend) {
            qcow2_error(s, "refcount of cluster %llu overflows %u bits",
                        (unsigned long long)c, 1u << s->refcount_order);
            return -ERANGE;
        }
        nrc = rc + (uint64_t)(int64_t)addend;
        rb_put(s, blk, idx, nrc, &boff, &blen);
        ret = qcow2_pwrite(s, blk + boff, blen, s->rct[rt] + boff);
        if (ret < 0)
            return ret;
        if (nrc == 0) {
            if (c < s->free_hint)
                s->free_hint = c;
            /* The cluster may come back as a different table or data. */
            qcow2_cache_forget(&s->l2c, c << s->cluster_bits);
            s->dcache_valid = false;
        }
    }
    return 0;
}

/* One past the highest cluster with a nonzero refcount. */
static int used_end(struct qcow2 *s, uint64_t *end)
{
    *end = 0;
    for (uint64_t rt = s->rct_entries; rt-- > 0;) {
        uint8_t *blk;
        int ret;

        if (!s->rct[rt])
            continue;
        ret = qcow2_refblock_load(s, s->rct[rt], &blk);
        if (ret < 0)
            return ret;
        for (uint64_t i = 1ull << s->rb_bits; i-- > 0;) {
            if (rb_get(s, blk, i)) {
                *end = (rt << s->rb_bits) + i + 1;
                return 0;
            }
        }
    }
    return 0;
}

static bool rt_missing(const struct qcow2 *s, uint64_t rt)
{
    return rt >= s->rct_entries || !s->rct[rt];
}

/*
 * Replace the refcount table with a bigger one at the end of the file,
 * together with the refcount blocks needed to describe it. Everything new
 * is written and durable before the header switches to it; the old table
 * is freed after.
 */
static int grow_rct(struct qcow2 *s, uint64_t min_entries)
{
    uint64_t cs = s->cluster_size, end, k = 0, m = 0, want, region_end;
    uint64_t old_off = s->rct_offset, old_clusters = s->rct_clusters;
    uint8_t *tbl = NULL, *blk = NULL;
    uint64_t *host = NULL;
    int ret;

    ret = used_end(s, &end);
    if (ret < 0)
        return ret;
    end = MQ_MAX(end, qcow2_clusters(s, s->file_size));
    want = MQ_MAX(min_entries, s->rct_entries + s->rct_entries / 2 + 1);
    for (int iter = 0;; iter++) {
        uint64_t nk = (want * 8 + cs - 1) / cs, nm = 0, last_rt;
        if (iter > 64)
            return -EFBIG;
        region_end = end + nk + m;
        last_rt = (region_end - 1) >> s->rb_bits;
        if (last_rt + 1 > want) {
            want = last_rt + 1;
            continue;
        }
        for (uint64_t rt = end >> s->rb_bits; rt <= last_rt; rt++)
            nm += rt_missing(s, rt);
        if (nk == k && nm == m)
            break;
        k = nk;
        m = nm;
    }
    if (k * cs > QCOW2_MAX_RCT_BYTES || (region_end << s->cluster_bits) >> 56) {
        qcow2_error(s, "refcount table would exceed %u bytes", QCOW2_MAX_RCT_BYTES);
        return -EFBIG;
    }
    tbl = calloc(k, cs);
    blk = malloc(cs);
    host = calloc(k * cs / 8, 8);
    if (!tbl || !blk || !host) {
        ret = -ENOMEM;
        goto out;
    }
    memcpy(host, s->rct, s->rct_entries * 8);
    {
        uint64_t b = end + k;
        for (uint64_t rt = end >> s->rb_bits; rt <= (region_end - 1) >> s->rb_bits; rt++) {
            if (rt_missing(s, rt))
                host[rt] = (b++) << s->cluster_bits;
        }
    }
    /* Describe [end, region_end): in new blocks directly, in old ones by update. */
    for (uint64_t rt = end >> s->rb_bits; rt <= (region_end - 1) >> s->rb_bits; rt++) {
        uint64_t lo = MQ_MAX(end, rt << s->rb_bits);
        uint64_t hi = MQ_MIN(region_end, (rt + 1) << s->rb_bits);
        if (!rt_missing(s, rt)) {
            ret = qcow2_update_refcount(s, lo << s->cluster_bits,
                                        (hi - lo) << s->cluster_bits, 1);
            if (ret < 0)
                goto out;
            continue;
        }
        memset(blk, 0, cs);
        for (uint64_t c = lo; c < hi; c++) {
            uint64_t bo, bl;
            rb_put(s, blk, c & ((1ull << s->rb_bits) - 1), 1, &bo, &bl);
        }
        ret = qcow2_pwrite(s, blk, cs, host[rt]);
        if (ret < 0)
            goto out;
    }
    for (uint64_t i = 0; i < k * cs / 8; i++)
        mq_put_be64(tbl + i * 8, host[i]);
    ret = qcow2_pwrite(s, tbl, k * cs, end << s->cluster_bits);
    if (ret == 0)
        ret = sync_file(s);
    if (ret < 0)
        goto out;
    mq_put_be64(s->hdr + QCOW2_HDR_RCT_OFFSET, end << s->cluster_bits);
    mq_put_be32(s->hdr + QCOW2_HDR_RCT_CLUSTERS, (uint32_t)k);
    ret = qcow2_write_header_range(s, QCOW2_HDR_RCT_OFFSET, 12);
    if (ret == 0)
        ret = sync_file(s);
    if (ret < 0)
        goto out;
    free(s->rct);
    s->rct = host;
    host = NULL;
    s->rct_entries = k * cs / 8;
    s->rct_offset = end << s->cluster_bits;
    s->rct_clusters = (uint32_t)k;
    ret = qcow2_update_refcount(s, old_off, old_clusters << s->cluster_bits, -1);
out:
    free(tbl);
    free(blk);
    free(host);
    return ret;
}

/*
 * Give cluster c's range a refcount block, placed at c itself so it
 * describes itself: every cluster of a range without a block is free.
 */
static int make_refblock(struct qcow2 *s, uint64_t c)
{
    uint64_t rt = c >> s->rb_bits, off = c << s->cluster_bits, bo, bl;
    uint8_t *blk, be[8];
    int ret;

    if (rt >= s->rct_entries)
        return grow_rct(s, rt + 1);
    if (s->rct[rt])
        return 0;
    blk = calloc(1, s->cluster_size);
    if (!blk)
        return -ENOMEM;
    rb_put(s, blk, c & ((1ull << s->rb_bits) - 1), 1, &bo, &bl);
    ret = qcow2_pwrite(s, blk, s->cluster_size, off);
    if (ret == 0)
        ret = sync_file(s);
    if (ret == 0) {
        mq_put_be64(be, off);
        ret = qcow2_pwrite(s, be, 8, s->rct_offset + rt * 8);
    }
    if (ret == 0) {
        s->rct[rt] = off;
        qcow2_refblock_install(s, off, blk);
    }
    free(blk);
    return ret;
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off)
{
    uint64_t max_cluster = 1ull << (56 - s->cluster_bits);

    for (int attempt = 0; attempt < 1000; attempt++) {
        uint64_t c = s->free_hint, first = 0, run = 0;
        bool retry = false;
        int ret;

        /*
         * Past the end of the file only crash leftovers can hold refcounts;
         * a long used run out there means the refcounts lie (and would make
         * this scan take forever).
         */
        uint64_t limit = qcow2_clusters(s, s->file_size) + n + 65536;

        while (run < n) {
            uint64_t rc;
            if (c >= max_cluster)
                return -ENOSPC;
            if (c >= limit)
                return qcow2_corrupt(s, "refcounts claim clusters far beyond the end of file");
            ret = qcow2_get_refcount(s, c, &rc);
            if (ret < 0)
                return ret;
            if (rc == 0) {
                if (!run)
                    first = c;
                run++;
            } else {
                run = 0;
            }
            c++;
        }
        for (uint64_t x = first; x < first + n; x++) {
            if (rt_missing(s, x >> s->rb_bits)) {
                ret = make_refblock(s, x);
                if (ret < 0)
                    return ret;
                retry = true;
                break;
            }
        }
        if (retry)
            continue;
        ret = qcow2_update_refcount(s, first << s->cluster_bits, n << s->cluster_bits, 1);
        if (ret < 0)
            return ret;
        if (first == s->free_hint || n == 1)
            s->free_hint = first + n;
        *off = first << s->cluster_bits;
        return 0;
    }
    return -EIO;
}

int qcow2_free_deferred(struct qcow2 *s, uint64_t off, uint64_t len)
{
    if (s->n_deferred == s->cap_deferred) {
        size_t cap = s->cap_deferred ? s->cap_deferred * 2 : 16;
        struct qcow2_range *r = realloc(s->deferred, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        s->deferred = r;
        s->cap_deferred = cap;
    }
    s->deferred[s->n_deferred++] = (struct qcow2_range){off, len};
    return 0;
}

int qcow2_process_deferred(struct qcow2 *s)
{
    int ret = 0;

    /* Index loop: update_refcount never defers, so the list can't grow here. */
    for (size_t i = 0; i < s->n_deferred; i++) {
        int r = qcow2_update_refcount(s, s->deferred[i].off, s->deferred[i].len, -1);
        if (r < 0 && ret == 0)
            ret = r;
    }
    s->n_deferred = 0;
    return ret;
}

static int entry_refcount(struct qcow2 *s, uint64_t entry, int addend)
{
    enum qcow2_ctype type;
    int ret = qcow2_classify(s, entry, &type);

    if (ret < 0)
        return ret;
    if (type == QCOW2_NORMAL || type == QCOW2_ZERO_ALLOC)
        return qcow2_update_refcount(s, entry & QCOW2_OFFSET_MASK, s->cluster_size, addend);
    if (type == QCOW2_COMPRESSED_C) {
        uint64_t off, len;
        qcow2_compressed_range(s, entry, &off, &len);
        return qcow2_update_refcount(s, off, len, addend);
    }
    return 0;
}

/* Add addend to every L2 table and data cluster reachable from l1. */
int qcow2_tree_refcounts(struct qcow2 *s, const uint64_t *l1, uint64_t l1_size, int addend)
{
    uint8_t *copy = malloc(s->cluster_size), *table;
    int ret = copy ? 0 : -ENOMEM;

    for (uint64_t i = 0; ret == 0 && i < l1_size; i++) {
        uint64_t l2;
        ret = qcow2_l1_entry_check(s, l1[i], &l2);
        if (ret < 0 || !l2)
            continue;
        ret = qcow2_load_l2(s, l2, &table);
        if (ret < 0)
            break;
        memcpy(copy, table, s->cluster_size);
        for (uint64_t j = 0; ret == 0 && j < s->l2_entries; j++)
            ret = entry_refcount(s, mq_get_be64(copy + j * 8), addend);
        if (ret == 0)
            ret = qcow2_update_refcount(s, l2, s->cluster_size, addend);
    }
    free(copy);
    return ret;
}

/* Make bit 63 of active L1/L2 entries say "refcount is exactly one". */
int qcow2_fix_copied_flags(struct qcow2 *s)
{
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l2, rc, e1 = s->l1[i];
        uint8_t *table;
        int ret = qcow2_l1_entry_check(s, e1, &l2);

        if (ret < 0)
            return ret;
        if (!l2)
            continue;
        ret = qcow2_load_l2(s, l2, &table);
        for (uint64_t j = 0; ret == 0 && j < s->l2_entries; j++) {
            uint64_t e = mq_get_be64(table + j * 8), want;
            enum qcow2_ctype type;
            ret = qcow2_classify(s, e, &type);
            if (ret < 0 || (type != QCOW2_NORMAL && type != QCOW2_ZERO_ALLOC))
                continue;
            ret = qcow2_get_refcount(s, (e & QCOW2_OFFSET_MASK) >> s->cluster_bits, &rc);
            if (ret < 0)
                break;
            want = rc == 1 ? (e | QCOW2_COPIED) : (e & ~QCOW2_COPIED);
            if (want != e)
                ret = qcow2_set_l2_entry(s, l2, table, j, want);
        }
        if (ret == 0)
            ret = qcow2_get_refcount(s, l2 >> s->cluster_bits, &rc);
        if (ret < 0)
            return ret;
        {
            uint64_t want = rc == 1 ? (e1 | QCOW2_COPIED) : (e1 & ~QCOW2_COPIED);
            if (want != e1) {
                ret = qcow2_write_l1_entry(s, i, want);
                if (ret < 0)
                    return ret;
            }
        }
    }
    return 0;
}

/* ---- rebuild (repair of dirty images) ---- */

struct refs {
    uint64_t *v;
    uint64_t n;
};

static int refs_add(struct qcow2 *s, struct refs *r, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    if (!mq_range_ok(off, len, r->n << s->cluster_bits))
        return qcow2_corrupt(s, "reference to 0x%llx+%llu beyond the end of the file",
                             (unsigned long long)off, (unsigned long long)len);
    for (uint64_t c = off >> s->cluster_bits; c <= (off + len - 1) >> s->cluster_bits; c++)
        r->v[c]++;
    return 0;
}

static int refs_walk(struct qcow2 *s, struct refs *r, const uint64_t *l1, uint64_t l1_size)
{
    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t l2;
        uint8_t *table;
        int ret = qcow2_l1_entry_check(s, l1[i], &l2);

        if (ret < 0)
            return ret;
        if (!l2)
            continue;
        ret = refs_add(s, r, l2, s->cluster_size);
        if (ret == 0)
            ret = qcow2_load_l2(s, l2, &table);
        for (uint64_t j = 0; ret == 0 && j < s->l2_entries; j++) {
            uint64_t e = mq_get_be64(table + j * 8), off, len;
            enum qcow2_ctype type;
            ret = qcow2_classify(s, e, &type);
            if (ret < 0)
                break;
            if (type == QCOW2_NORMAL || type == QCOW2_ZERO_ALLOC) {
                ret = refs_add(s, r, e & QCOW2_OFFSET_MASK, s->cluster_size);
            } else if (type == QCOW2_COMPRESSED_C) {
                qcow2_compressed_range(s, e, &off, &len);
                /* qemu leaves the last compressed sector unpadded at EOF. */
                if (off + len > (r->n << s->cluster_bits) && off < s->file_size)
                    len = (r->n << s->cluster_bits) - off;
                ret = refs_add(s, r, off, len);
            }
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int refs_collect(struct qcow2 *s, struct refs *r)
{
    int ret = refs_add(s, r, 0, s->cluster_size);

    if (ret == 0)
        ret = refs_add(s, r, s->l1_offset, (uint64_t)s->l1_size * 8);
    if (ret == 0)
        ret = refs_walk(s, r, s->l1, s->l1_size);
    if (ret == 0)
        ret = refs_add(s, r, s->snapshots_offset, s->snapshots_size);
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        uint64_t *l1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);
        if (!l1)
            return -ENOMEM;
        ret = refs_add(s, r, sn->l1_offset, (uint64_t)sn->l1_size * 8);
        if (ret == 0)
            ret = qcow2_load_snapshot_l1(s, sn, l1);
        if (ret == 0)
            ret = refs_walk(s, r, l1, sn->l1_size);
        free(l1);
    }
    return ret;
}

/*
 * Rebuild all refcounts from the L1/L2 tables (QEMU's meaning of the dirty
 * bit) into a new refcount structure at the end of the file, switch the
 * header to it, then fix the copied flags.
 */
int qcow2_repair(struct qcow2 *s)
{
    uint64_t cs = s->cluster_size, E = 1ull << s->rb_bits, end, k = 1, m = 1;
    struct refs r = {0};
    uint8_t *buf = NULL;
    uint64_t *host = NULL;
    int ret;

    end = qcow2_clusters(s, s->file_size);
    for (int iter = 0;; iter++) {
        uint64_t total = end + k + m, nm = (total + E - 1) / E, nk = (nm * 8 + cs - 1) / cs;
        if (iter > 64)
            return -EFBIG;
        if (nm == m && nk == k)
            break;
        m = nm;
        k = nk;
    }
    if (k * cs > QCOW2_MAX_RCT_BYTES)
        return -EFBIG;
    r.n = end;
    r.v = calloc(end + k + m, sizeof(*r.v));
    buf = malloc(cs);
    host = calloc(k * cs / 8, 8);
    if (!r.v || !buf || !host) {
        ret = -ENOMEM;
        goto out;
    }
    ret = refs_collect(s, &r);
    if (ret < 0)
        goto out;
    for (uint64_t c = end; c < end + k + m; c++)
        r.v[c] = 1;
    for (uint64_t b = 0; b < m; b++) {
        memset(buf, 0, cs);
        for (uint64_t i = 0; i < E && b * E + i < end + k + m; i++) {
            uint64_t bo, bl, v = r.v[b * E + i];
            if (v > s->refcount_max) {
                ret = -ERANGE;
                goto out;
            }
            rb_put(s, buf, i, v, &bo, &bl);
        }
        host[b] = (end + k + b) << s->cluster_bits;
        ret = qcow2_pwrite(s, buf, cs, host[b]);
        if (ret < 0)
            goto out;
    }
    for (uint64_t t = 0; t < k; t++) {
        for (uint64_t i = 0; i < cs / 8; i++)
            mq_put_be64(buf + i * 8, host[t * (cs / 8) + i]);
        ret = qcow2_pwrite(s, buf, cs, (end + t) << s->cluster_bits);
        if (ret < 0)
            goto out;
    }
    ret = sync_file(s);
    if (ret < 0)
        goto out;
    mq_put_be64(s->hdr + QCOW2_HDR_RCT_OFFSET, end << s->cluster_bits);
    mq_put_be32(s->hdr + QCOW2_HDR_RCT_CLUSTERS, (uint32_t)k);
    ret = qcow2_write_header_range(s, QCOW2_HDR_RCT_OFFSET, 12);
    if (ret == 0)
        ret = sync_file(s);
    if (ret < 0)
        goto out;
    free(s->rct);
    s->rct = host;
    host = NULL;
    s->rct_entries = k * cs / 8;
    s->rct_offset = end << s->cluster_bits;
    s->rct_clusters = (uint32_t)k;
    s->free_hint = 0;
    qcow2_refblock_cache_reset(s);
    ret = qcow2_fix_copied_flags(s);
    if (ret == 0)
        ret = sync_file(s);
out:
    free(r.v);
    free(buf);
    free(host);
    return ret;
}
