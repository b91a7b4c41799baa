/* SPDX-License-Identifier: MIT */
/*
 * qcow2 internal snapshots: the snapshot table (with extra data: 64-bit
 * vm_state_size and virtual disk size), create/apply/delete/list, and the
 * machine state stored after the end of each snapshot's virtual disk.
 * Spec: QEMU docs/interop/qcow2.txt, section "Snapshots".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/qcow2.h"
#include "block/qcow2_int.h"
#include "util/le.h"
#include "util/log.h"

#define SN_FIXED 40u
#define SN_EXTRA_OURS 16u

void qcow2_free_snapshots(struct qcow2_snapshot *sn, uint32_t n)
{
    for (uint32_t i = 0; sn && i < n; i++) {
        free(sn[i].id);
        free(sn[i].name);
        free(sn[i].extra);
    }
    free(sn);
}

static int sn_invalid(struct qcow2 *s, char *err, size_t errlen, uint32_t i, const char *what,
                      unsigned long long v)
{
    mq_block_seterr(err, errlen, "qcow2: %s: snapshot %u: %s 0x%llx invalid", s->bd.path, i,
                    what, v);
    return -EINVAL;
}

static int read_one(struct qcow2 *s, uint32_t i, uint64_t *pos, char *err, size_t errlen)
{
    struct qcow2_snapshot *sn = &s->snaps[i];
    uint64_t start = *pos, len;
    uint8_t h[SN_FIXED];
    uint32_t extra;
    uint16_t id_len, name_len;
    int ret;

    if (start - s->snapshots_offset > QCOW2_MAX_SNAPSHOT_TABLE - SN_FIXED ||
        !qcow2_range_in_file(s, start, SN_FIXED))
        return sn_invalid(s, err, errlen, i, "entry offset", start);
    ret = mq_pread_exact(s->fd, h, SN_FIXED, start);
    if (ret < 0)
        return ret;
    sn->l1_offset = mq_get_be64(h);
    sn->l1_size = mq_get_be32(h + 8);
    id_len = mq_get_be16(h + 12);
    name_len = mq_get_be16(h + 14);
    sn->date_sec = mq_get_be32(h + 16);
    sn->date_nsec = mq_get_be32(h + 20);
    sn->vm_clock_ns = mq_get_be64(h + 24);
    sn->vm_state_size = mq_get_be32(h + 32);
    extra = mq_get_be32(h + 36);
    if (extra > QCOW2_MAX_SNAPSHOT_EXTRA)
        return sn_invalid(s, err, errlen, i, "extra_data_size", extra);
    len = SN_FIXED + (uint64_t)extra + id_len + name_len;
    if (start - s->snapshots_offset + len > QCOW2_MAX_SNAPSHOT_TABLE ||
        !qcow2_range_in_file(s, start, len))
        return sn_invalid(s, err, errlen, i, "entry length", len);
    sn->extra_size = extra;
    sn->extra = calloc(1, extra + 1);
    sn->id = calloc(1, id_len + 1u);
    sn->name = calloc(1, name_len + 1u);
    if (!sn->extra || !sn->id || !sn->name)
        return -ENOMEM;
    ret = mq_pread_exact(s->fd, sn->extra, extra, start + SN_FIXED);
    if (ret == 0)
        ret = mq_pread_exact(s->fd, sn->id, id_len, start + SN_FIXED + extra);
    if (ret == 0)
        ret = mq_pread_exact(s->fd, sn->name, name_len, start + SN_FIXED + extra + id_len);
    if (ret < 0)
        return ret;
    if (extra >= 8)
        sn->vm_state_size = mq_get_be64(sn->extra);
    sn->disk_size = extra >= 16 ? mq_get_be64(sn->extra + 8) : s->bd.size;
    if (sn->vm_state_size > QCOW2_MAX_VIRTUAL_SIZE)
        return sn_invalid(s, err, errlen, i, "vm_state_size", sn->vm_state_size);
    if (sn->disk_size > QCOW2_MAX_VIRTUAL_SIZE)
        return sn_invalid(s, err, errlen, i, "disk_size", sn->disk_size);
    if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return sn_invalid(s, err, errlen, i, "l1_size", sn->l1_size);
    if (sn->l1_size && ((sn->l1_offset & (s->cluster_size - 1)) || !sn->l1_offset ||
                        !qcow2_range_in_file(s, sn->l1_offset, (uint64_t)sn->l1_size * 8)))
        return sn_invalid(s, err, errlen, i, "l1_table_offset", sn->l1_offset);
    *pos = start + ((len + 7) & ~7ull);
    return 0;
}

int qcow2_read_snapshots(struct qcow2 *s, char *err, size_t errlen)
{
    uint64_t pos = s->snapshots_offset;
    int ret;

    if (!s->nb_snapshots)
        return 0;
    s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
    if (!s->snaps)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        ret = read_one(s, i, &pos, err, errlen);
        if (ret < 0)
            return ret;
    }
    s->snapshots_size = pos - s->snapshots_offset;
    if ((s->snapshots_offset < s->l1_offset + (uint64_t)s->l1_size * 8 &&
         s->l1_offset < s->snapshots_offset + s->snapshots_size && s->l1_size) ||
        (s->snapshots_offset < s->rct_offset + s->rct_entries * 8 &&
         s->rct_offset < s->snapshots_offset + s->snapshots_size)) {
        mq_block_seterr(err, errlen, "qcow2: %s: snapshot table 0x%llx overlaps the L1 or "
                        "refcount table", s->bd.path,
                        (unsigned long long)s->snapshots_offset);
        return -EINVAL;
    }
    return 0;
}

int qcow2_load_snapshot_l1(struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t *l1)
{
    uint64_t bytes = (uint64_t)sn->l1_size * 8;
    uint8_t *buf = malloc(bytes ? bytes : 1);
    int ret;

    if (!buf)
        return -ENOMEM;
    ret = mq_pread_exact(s->fd, buf, bytes, sn->l1_offset);
    if (ret == -EIO)
        ret = qcow2_corrupt(s, "snapshot L1 table beyond end of file");
    for (uint32_t i = 0; ret == 0 && i < sn->l1_size; i++) {
        uint64_t l2;
        l1[i] = mq_get_be64(buf + i * 8);
        ret = qcow2_l1_entry_check(s, l1[i], &l2);
        if (ret == 0 && l2 && !qcow2_range_in_file(s, l2, s->cluster_size))
            ret = qcow2_corrupt(s, "snapshot L2 table 0x%llx beyond end of file",
                                (unsigned long long)l2);
    }
    free(buf);
    return ret;
}

static uint64_t entry_size(const struct qcow2_snapshot *sn)
{
    uint64_t extra = MQ_MAX(sn->extra_size, SN_EXTRA_OURS);
    return (SN_FIXED + extra + strlen(sn->id) + strlen(sn->name) + 7) & ~7ull;
}

/*
 * Write the table to new clusters, switch the header to it (one 12-byte
 * write inside the first sector), then free the old one.
 */
static int write_table(struct qcow2 *s, struct qcow2_snapshot *sn, uint32_t n)
{
    uint64_t size = 0, pos = 0, new_off = 0;
    uint64_t old_off = s->snapshots_offset, old_size = s->snapshots_size;
    uint8_t *buf;
    int ret = 0;

    for (uint32_t i = 0; i < n; i++)
        size += entry_size(&sn[i]);
    if (size > QCOW2_MAX_SNAPSHOT_TABLE)
        return -EFBIG;
    buf = calloc(1, size ? size : 1);
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = buf + pos;
        uint32_t extra = MQ_MAX(sn[i].extra_size, SN_EXTRA_OURS);
        size_t id_len = strlen(sn[i].id), name_len = strlen(sn[i].name);

        mq_put_be64(p, sn[i].l1_offset);
        mq_put_be32(p + 8, sn[i].l1_size);
        mq_put_be16(p + 12, (uint16_t)id_len);
        mq_put_be16(p + 14, (uint16_t)name_len);
        mq_put_be32(p + 16, sn[i].date_sec);
        mq_put_be32(p + 20, sn[i].date_nsec);
        mq_put_be64(p + 24, sn[i].vm_clock_ns);
        mq_put_be32(p + 32, (uint32_t)sn[i].vm_state_size);
        mq_put_be32(p + 36, extra);
        if (sn[i].extra_size > SN_EXTRA_OURS)
            memcpy(p + SN_FIXED, sn[i].extra, sn[i].extra_size);
        mq_put_be64(p + SN_FIXED, sn[i].vm_state_size);
        mq_put_be64(p + SN_FIXED + 8, sn[i].disk_size);
        memcpy(p + SN_FIXED + extra, sn[i].id, id_len);
        memcpy(p + SN_FIXED + extra + id_len, sn[i].name, name_len);
        pos += entry_size(&sn[i]);
    }
    if (size) {
        ret = qcow2_alloc_clusters(s, qcow2_clusters(s, size), &new_off);
        if (ret == 0)
            ret = qcow2_pwrite(s, buf, size, new_off);
    }
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret < 0)
        goto out;
    mq_put_be32(s->hdr + QCOW2_HDR_NB_SNAPSHOTS, n);
    mq_put_be64(s->hdr + QCOW2_HDR_SNAPSHOTS_OFFSET, new_off);
    ret = qcow2_write_header_range(s, QCOW2_HDR_NB_SNAPSHOTS, 12);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret < 0)
        goto out;
    s->snapshots_offset = new_off;
    s->snapshots_size = size;
    if (old_size)
        ret = qcow2_update_refcount(s, old_off, old_size, -1);
out:
    free(buf);
    return ret;
}

static int find_snapshot(struct qcow2 *s, const char *id_or_name)
{
    if (!id_or_name)
        return -ENOENT;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (strcmp(s->snaps[i].id, id_or_name) == 0)
            return (int)i;
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (strcmp(s->snaps[i].name, id_or_name) == 0)
            return (int)i;
    }
    return -ENOENT;
}

static char *next_id(struct qcow2 *s)
{
    unsigned long max = 0;
    char *out;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        unsigned long v = strtoul(s->snaps[i].id, NULL, 10);
        if (v > max && v < 1000000000ul)
            max = v;
    }
    if (asprintf(&out, "%lu", max + 1) < 0)
        return NULL;
    return out;
}

/* Store the machine state in fresh clusters under l1[vmi..]; all refcounts 1. */
static int write_vmstate(struct qcow2 *s, uint64_t *l1, uint64_t vmi, const uint8_t *data,
                         uint64_t len)
{
    uint64_t cs = s->cluster_size, pos = 0;
    uint8_t *l2buf = malloc(cs), *cbuf = malloc(cs);
    int ret = (l2buf && cbuf) ? 0 : -ENOMEM;

    for (uint64_t j = vmi; ret == 0 && pos < len; j++) {
        bool any = false;
        memset(l2buf, 0, cs);
        for (uint64_t k = 0; ret == 0 && k < s->l2_entries && pos < len; k++) {
            uint64_t chunk = MQ_MIN(cs, len - pos), off;
            bool zero = true;
            for (uint64_t b = 0; b < chunk && zero; b++)
                zero = data[pos + b] == 0;
            if (!zero) {
                memset(cbuf, 0, cs);
                memcpy(cbuf, data + pos, chunk);
                ret = qcow2_alloc_clusters(s, 1, &off);
                if (ret == 0)
                    ret = qcow2_pwrite(s, cbuf, cs, off);
                mq_put_be64(l2buf + k * 8, off | QCOW2_COPIED);
                any = true;
            }
            pos += chunk;
        }
        if (ret == 0 && any) {
            uint64_t l2;
            ret = qcow2_alloc_clusters(s, 1, &l2);
            if (ret == 0)
                ret = qcow2_pwrite(s, l2buf, cs, l2);
            l1[j] = l2 | QCOW2_COPIED;
        }
    }
    free(l2buf);
    free(cbuf);
    return ret;
}

static int write_l1_copy(struct qcow2 *s, const uint64_t *l1, uint64_t n, uint64_t *off)
{
    uint8_t *buf = malloc(n * 8);
    int ret;

    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        mq_put_be64(buf + i * 8, l1[i]);
    ret = qcow2_alloc_clusters(s, qcow2_clusters(s, n * 8), off);
    if (ret == 0)
        ret = qcow2_pwrite(s, buf, n * 8, *off);
    free(buf);
    return ret;
}

int mq_qcow2_snapshot_create(struct mq_blockdev *bd, const char *name, const void *vmstate,
                             uint64_t vmstate_len)
{
    return mq_qcow2_snapshot_create_ex(bd, name, vmstate, vmstate_len, 0);
}

int mq_qcow2_snapshot_create_ex(struct mq_blockdev *bd, const char *name, const void *vmstate,
                                uint64_t vmstate_len, uint64_t vm_clock_ns)
{
    struct qcow2 *s;
    struct qcow2_snapshot *arr, *sn;
    uint64_t vmi, sn_l1_size, disk_n, *l1 = NULL, l1_off = 0;
    struct timespec now;
    int ret = qcow2_from_bd(bd, true, &s);

    if (ret < 0)
        return ret;
    if (!name || !*name || strlen(name) > 1023 || (vmstate_len && !vmstate) ||
        vmstate_len > QCOW2_MAX_VIRTUAL_SIZE)
        return -EINVAL;
    if (find_snapshot(s, name) >= 0)
        return -EEXIST;
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return -ENOSPC;
    vmi = qcow2_size_to_l1(s, bd->size);
    sn_l1_size = MQ_MAX(vmi + qcow2_size_to_l1(s, vmstate_len), 1);
    if (sn_l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    disk_n = MQ_MIN(vmi, s->l1_size);
    l1 = calloc(sn_l1_size, 8);
    if (!l1)
        return -ENOMEM;

    ret = qcow2_barrier(s);
    if (ret == 0)
        ret = write_vmstate(s, l1, vmi, vmstate, vmstate_len);
    /* Refcounts and copied flags disagree until the end: say so in the header. */
    if (ret == 0)
        ret = qcow2_set_incompat(s, s->incompat | QCOW2_INCOMPAT_DIRTY);
    if (ret == 0)
        ret = qcow2_tree_refcounts(s, s->l1, disk_n, 1);
    if (ret == 0)
        ret = qcow2_fix_copied_flags(s);
    for (uint64_t i = 0; i < disk_n; i++)
        l1[i] = s->l1[i] & ~QCOW2_COPIED;
    if (ret == 0)
        ret = write_l1_copy(s, l1, sn_l1_size, &l1_off);
    if (ret < 0)
        goto out;

    arr = realloc(s->snaps, (s->nb_snapshots + 1) * sizeof(*arr));
    if (!arr) {
        ret = -ENOMEM;
        goto out;
    }
    s->snaps = arr;
    sn = &arr[s->nb_snapshots];
    memset(sn, 0, sizeof(*sn));
    clock_gettime(CLOCK_REALTIME, &now);
    sn->l1_offset = l1_off;
    sn->l1_size = (uint32_t)sn_l1_size;
    sn->id = next_id(s);
    sn->name = strdup(name);
    sn->date_sec = (uint32_t)now.tv_sec;
    sn->date_nsec = (uint32_t)now.tv_nsec;
    sn->vm_clock_ns = vm_clock_ns;
    sn->vm_state_size = vmstate_len;
    sn->disk_size = bd->size;
    if (!sn->id || !sn->name) {
        free(sn->id);
        free(sn->name);
        ret = -ENOMEM;
        goto out;
    }
    ret = write_table(s, s->snaps, s->nb_snapshots + 1);
    if (ret < 0) {
        free(sn->id);
        free(sn->name);
        goto out;
    }
    s->nb_snapshots++;
    ret = qcow2_set_incompat(s, s->incompat & ~QCOW2_INCOMPAT_DIRTY);
out:
    if (ret < 0)
        qcow2_error(s, "snapshot create '%s': %s", name, strerror(-ret));
    free(l1);
    return ret;
}

int mq_qcow2_snapshot_apply(struct mq_blockdev *bd, const char *id_or_name)
{
    struct qcow2 *s;
    struct qcow2_snapshot *sn;
    uint64_t need, copy_n, new_size, *sl1 = NULL, *nl1 = NULL, new_off = 0;
    uint64_t *old_l1, old_size, old_off;
    int idx, ret = qcow2_from_bd(bd, true, &s);

    if (ret < 0)
        return ret;
    idx = find_snapshot(s, id_or_name);
    if (idx < 0)
        return idx;
    sn = &s->snaps[idx];
    need = qcow2_size_to_l1(s, sn->disk_size);
    new_size = MQ_MAX(need, 1);
    copy_n = MQ_MIN(need, sn->l1_size);
    if (new_size * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    sl1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);
    nl1 = calloc(new_size, 8);
    if (!sl1 || !nl1) {
        ret = -ENOMEM;
        goto out;
    }
    ret = qcow2_load_snapshot_l1(s, sn, sl1);
    if (ret == 0)
        ret = qcow2_barrier(s);
    /*
     * Everything the snapshot reaches gains the new active reference first,
     * so it is shared (refcount >= 2, copied flag clear) at every step.
     */
    if (ret == 0)
        ret = qcow2_tree_refcounts(s, sl1, copy_n, 1);
    for (uint64_t i = 0; i < copy_n; i++)
        nl1[i] = sl1[i] & ~QCOW2_COPIED;
    if (ret == 0)
        ret = write_l1_copy(s, nl1, new_size, &new_off);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret < 0)
        goto out;
    /* The switch: size, l1_size and l1_table_offset in one write of bytes 24..47. */
    mq_put_be64(s->hdr + QCOW2_HDR_SIZE, sn->disk_size);
    mq_put_be32(s->hdr + QCOW2_HDR_L1_SIZE, (uint32_t)new_size);
    mq_put_be64(s->hdr + QCOW2_HDR_L1_OFFSET, new_off);
    ret = qcow2_write_header_range(s, QCOW2_HDR_SIZE, 24);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret < 0)
        goto out;
    old_l1 = s->l1;
    old_size = s->l1_size;
    old_off = s->l1_offset;
    s->l1 = nl1;
    nl1 = NULL;
    s->l1_size = (uint32_t)new_size;
    s->l1_offset = new_off;
    bd->size = sn->disk_size;
    ret = qcow2_tree_refcounts(s, old_l1, old_size, -1);
    if (ret == 0 && old_size)
        ret = qcow2_update_refcount(s, old_off, qcow2_clusters(s, old_size * 8)
                                                    << s->cluster_bits, -1);
    free(old_l1);
out:
    if (ret < 0)
        qcow2_error(s, "snapshot apply '%s': %s", id_or_name, strerror(-ret));
    free(sl1);
    free(nl1);
    return ret;
}

int mq_qcow2_snapshot_delete(struct mq_blockdev *bd, const char *id_or_name)
{
    struct qcow2 *s;
    struct qcow2_snapshot victim;
    uint64_t *l1 = NULL;
    int idx, ret = qcow2_from_bd(bd, true, &s);

    if (ret < 0)
        return ret;
    idx = find_snapshot(s, id_or_name);
    if (idx < 0)
        return idx;
    victim = s->snaps[idx];
    l1 = calloc(victim.l1_size ? victim.l1_size : 1, 8);
    if (!l1)
        return -ENOMEM;
    ret = qcow2_load_snapshot_l1(s, &victim, l1);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret == 0)
        ret = qcow2_set_incompat(s, s->incompat | QCOW2_INCOMPAT_DIRTY);
    if (ret < 0)
        goto out;
    /* Drop the entry first: a crash after this leaks, never dangles. */
    memmove(&s->snaps[idx], &s->snaps[idx + 1],
            (s->nb_snapshots - (uint32_t)idx - 1) * sizeof(*s->snaps));
    ret = write_table(s, s->snaps, s->nb_snapshots - 1);
    if (ret < 0) {
        memmove(&s->snaps[idx + 1], &s->snaps[idx],
                (s->nb_snapshots - (uint32_t)idx - 1) * sizeof(*s->snaps));
        s->snaps[idx] = victim;
        goto out;
    }
    s->nb_snapshots--;
    ret = qcow2_tree_refcounts(s, l1, victim.l1_size, -1);
    if (ret == 0 && victim.l1_size)
        ret = qcow2_update_refcount(s, victim.l1_offset,
                                    qcow2_clusters(s, (uint64_t)victim.l1_size * 8)
                                        << s->cluster_bits,
                                    -1);
    if (ret == 0)
        ret = qcow2_fix_copied_flags(s);
    if (ret == 0)
        ret = qcow2_barrier(s);
    if (ret == 0)
        ret = qcow2_set_incompat(s, s->incompat & ~QCOW2_INCOMPAT_DIRTY);
    free(victim.id);
    free(victim.name);
    free(victim.extra);
out:
    if (ret < 0)
        qcow2_error(s, "snapshot delete '%s': %s", id_or_name, strerror(-ret));
    free(l1);
    return ret;
}

int mq_qcow2_snapshot_list(struct mq_blockdev *bd, struct mq_qcow2_snapshot_info **out,
                           unsigned *count)
{
    struct qcow2 *s;
    struct mq_qcow2_snapshot_info *info;
    int ret = qcow2_from_bd(bd, false, &s);

    if (ret < 0)
        return ret;
    info = calloc(s->nb_snapshots ? s->nb_snapshots : 1, sizeof(*info));
    if (!info)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        info[i].id = strdup(sn->id);
        info[i].name = strdup(sn->name);
        info[i].date_sec = sn->date_sec;
        info[i].date_nsec = sn->date_nsec;
        info[i].vm_clock_ns = sn->vm_clock_ns;
        info[i].vm_state_size = sn->vm_state_size;
        info[i].disk_size = sn->disk_size;
        if (!info[i].id || !info[i].name) {
            mq_qcow2_snapshot_list_free(info, i + 1);
            return -ENOMEM;
        }
    }
    *out = info;
    *count = s->nb_snapshots;
    return 0;
}

int mq_qcow2_snapshot_find(struct mq_blockdev *bd, const char *id_or_name,
                           uint64_t *vm_state_size)
{
    struct qcow2 *s;
    int ret = qcow2_from_bd(bd, false, &s);

    if (ret < 0)
        return ret;
    ret = find_snapshot(s, id_or_name);
    if (ret < 0)
        return ret;
    if (vm_state_size)
        *vm_state_size = s->snaps[ret].vm_state_size;
    return 0;
}

void mq_qcow2_snapshot_list_free(struct mq_qcow2_snapshot_info *info, unsigned count)
{
    for (unsigned i = 0; info && i < count; i++) {
        free(info[i].id);
        free(info[i].name);
    }
    free(info);
}

int mq_qcow2_snapshot_read_vmstate(struct mq_blockdev *bd, const char *id_or_name, void *buf,
                                   uint64_t len, uint64_t off)
{
    struct qcow2 *s;
    struct qcow2_snapshot *sn;
    uint64_t *l1, base;
    int idx, ret = qcow2_from_bd(bd, false, &s);

    if (ret < 0)
        return ret;
    idx = find_snapshot(s, id_or_name);
    if (idx < 0)
        return idx;
    sn = &s->snaps[idx];
    if (!mq_range_ok(off, len, sn->vm_state_size))
        return -EINVAL;
    l1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);
    if (!l1)
        return -ENOMEM;
    ret = qcow2_load_snapshot_l1(s, sn, l1);
    /* QEMU's layout: state starts at the first L1 entry past the disk. */
    base = qcow2_size_to_l1(s, sn->disk_size) << (s->cluster_bits + s->l2_bits);
    if (ret == 0)
        ret = qcow2_read_l1(s, l1, sn->l1_size, buf, len, base + off);
    free(l1);
    return ret;
}
