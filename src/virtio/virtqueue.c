/* SPDX-License-Identifier: MIT */
/* Device side of split virtqueues: hardened chain walker, used ring, event idx (virtio 1.2 section 2.7). */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtq"

/*
 * Ring indices shared with the driver are 16-bit fields at 2-byte aligned
 * addresses (mq_virtq_setup checks the alignment). They are accessed with
 * single atomic 16-bit operations so a hart reading the index concurrently
 * never sees a torn value.
 */
static bool load_idx(const struct mq_guest_mem *gm, uint64_t gpa, uint16_t *val)
{
    const uint16_t *p = mq_guest_mem_ptr(gm, gpa, 2);

    if (!p)
        return false;
    *val = le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
    return true;
}

static bool store_idx(struct mq_guest_mem *gm, uint64_t gpa, uint16_t val)
{
    uint16_t *p = mq_guest_mem_ptr(gm, gpa, 2);

    if (!p)
        return false;
    __atomic_store_n(p, htole16(val), __ATOMIC_RELEASE);
    mq_guest_mem_written(gm, gpa, 2);
    return true;
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

void mq_virtq_reset(struct mq_virtq *q)
{
    memset(q, 0, sizeof(*q));
}

int mq_virtq_setup(struct mq_virtq *q, const struct mq_guest_mem *gm, uint32_t size,
                   uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa,
                   bool event_idx, bool indirect)
{
    mq_virtq_reset(q);
    if (!is_pow2(size) || size > MQ_VIRTQ_MAX_SIZE)
        return -EINVAL;
    if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
        return -EINVAL;
    /* The rings include used_event / avail_event, used or not. */
    if (!mq_guest_mem_contains(gm, desc_gpa, MQ_VIRTQ_DESC_BYTES(size)) ||
        !mq_guest_mem_contains(gm, avail_gpa, MQ_VIRTQ_AVAIL_BYTES(size)) ||
        !mq_guest_mem_contains(gm, used_gpa, MQ_VIRTQ_USED_BYTES(size)))
        return -EFAULT;
    q->size = size;
    q->desc_gpa = desc_gpa;
    q->avail_gpa = avail_gpa;
    q->used_gpa = used_gpa;
    q->event_idx = event_idx;
    q->indirect = indirect;
    return 0;
}

static int fail(struct mq_virtq *q, int err)
{
    q->broken = true;
    return err;
}

/* Where the walk currently reads descriptors from. */
struct table {
    uint64_t gpa;
    uint32_t size;     /* entries */
    uint32_t hops;     /* descriptors visited in this table */
    bool indirect;
};

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static int read_desc(const struct mq_guest_mem *gm, const struct table *t, uint32_t i,
                     struct desc *d)
{
    uint8_t raw[16];

    /* i < t->size, so 16 * i cannot overflow and the entry is in the table. */
    if (mq_guest_mem_read(gm, t->gpa + 16ull * i, raw, sizeof(raw)))
        return -EFAULT;
    d->addr = mq_get_le64(raw);
    d->len = mq_get_le32(raw + 8);
    d->flags = mq_get_le16(raw + 12);
    d->next = mq_get_le16(raw + 14);
    return 0;
}

/* Switch the walk into the indirect table described by d. */
static int enter_indirect(struct mq_virtq *q, const struct mq_guest_mem *gm,
                          const struct desc *d, struct table *t)
{
    if (!q->indirect) {
        mq_guest_warn(SUBSYS, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        return -EINVAL;
    }
    if (t->indirect) {
        mq_guest_warn(SUBSYS, "nested indirect descriptor at 0x%llx",
                      (unsigned long long)d->addr);
        return -EINVAL;
    }
    if (d->flags & MQ_VIRTQ_DESC_F_NEXT) {
        mq_guest_warn(SUBSYS, "indirect descriptor with NEXT set");
        return -EINVAL;
    }
    if (d->len == 0 || d->len % 16) {
        mq_guest_warn(SUBSYS, "indirect table length %u not a nonzero multiple of 16",
                      d->len);
        return -EINVAL;
    }
    if (!mq_guest_mem_contains(gm, d->addr, d->len)) {
        mq_guest_warn(SUBSYS, "indirect table 0x%llx+%u outside RAM",
                      (unsigned long long)d->addr, d->len);
        return -EFAULT;
    }
    *t = (struct table){.gpa = d->addr, .size = d->len / 16, .indirect = true};
    return 0;
}

/* Append one buffer descriptor to the chain. */
static int add_seg(struct mq_virtq_chain *c, const struct mq_guest_mem *gm,
                   const struct desc *d)
{
    bool write = d->flags & MQ_VIRTQ_DESC_F_WRITE;

    if (!mq_guest_mem_contains(gm, d->addr, d->len)) {
        mq_guest_warn(SUBSYS, "buffer 0x%llx+%u outside RAM",
                      (unsigned long long)d->addr, d->len);
        return -EFAULT;
    }
    if (!write && c->nsegs > c->nread) {
        mq_guest_warn(SUBSYS, "readable descriptor after a writable one");
        return -EPROTO;
    }
    if (c->nsegs >= c->cap) {
        mq_guest_warn(SUBSYS, "chain longer than %u segments", c->cap);
        return -ENOBUFS;
    }
    if (write ? d->len > UINT32_MAX - c->write_len : d->len > UINT32_MAX - c->read_len) {
        mq_guest_warn(SUBSYS, "chain total length overflows");
        return -EOVERFLOW;
    }
    c->segs[c->nsegs++] = (struct mq_virtq_seg){.gpa = d->addr, .len = d->len,
                                                 .write = write};
    if (write) {
        c->write_len += d->len;
    } else {
        c->read_len += d->len;
        c->nread++;
    }
    return 0;
}

static int walk_chain(struct mq_virtq *q, const struct mq_guest_mem *gm, uint16_t head,
                      struct mq_virtq_chain *c)
{
    struct table t = {.gpa = q->desc_gpa, .size = q->size};
    uint32_t i = head;
    struct desc d;
    int ret;

    c->nsegs = c->nread = 0;
    c->read_len = c->write_len = 0;
    c->head = head;
    for (;;) {
        if (i >= t.size) {
            mq_guest_warn(SUBSYS, "descriptor index %u >= table size %u", i, t.size);
            return -ERANGE;
        }
        if (t.hops++ >= t.size) {
            mq_guest_warn(SUBSYS, "descriptor chain from head %u loops", head);
            return -ELOOP;
        }
        ret = read_desc(gm, &t, i, &d);
        if (ret)
            return ret;
        if (d.flags & MQ_VIRTQ_DESC_F_INDIRECT) {
            ret = enter_indirect(q, gm, &d, &t);
            if (ret)
                return ret;
            i = 0;
            continue;
        }
        ret = add_seg(c, gm, &d);
        if (ret)
            return ret;
        if (!(d.flags & MQ_VIRTQ_DESC_F_NEXT))
            return 0;
        i = d.next;
    }
}

static uint64_t avail_ring_gpa(const struct mq_virtq *q, uint32_t slot)
{
    return q->avail_gpa + 4 + 2ull * slot;
}

static uint64_t used_event_gpa(const struct mq_virtq *q)
{
    return avail_ring_gpa(q, q->size);
}

static uint64_t avail_event_gpa(const struct mq_virtq *q)
{
    return q->used_gpa + 4 + 8ull * q->size;
}

/* Number of chains the driver made available, or -EBADMSG / -EFAULT. */
static int avail_pending(struct mq_virtq *q, struct mq_guest_mem *gm)
{
    uint16_t avail_idx, pending;

    if (!load_idx(gm, q->avail_gpa + 2, &avail_idx))
        return -EFAULT;
    pending = (uint16_t)(avail_idx - q->last_avail_idx);
    if (pending > q->size) {
        mq_guest_warn(SUBSYS, "avail idx %u ahead of %u by more than size %u", avail_idx,
                      q->last_avail_idx, q->size);
        return -EBADMSG;
    }
    return pending;
}

int mq_virtq_pop(struct mq_virtq *q, struct mq_guest_mem *gm, struct mq_virtq_chain *chain)
{
    uint16_t head;
    int pending, ret;

    if (q->broken)
        return -EIO;
    if (q->size == 0)
        return 0;
    pending = avail_pending(q, gm);
    if (pending == 0 && q->event_idx) {
        /*
         * Ask for a kick at the next buffer, then look again: the driver
         * may have added one before it could see the new avail_event.
         */
        if (!store_idx(gm, avail_event_gpa(q), q->last_avail_idx))
            return fail(q, -EFAULT);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        pending = avail_pending(q, gm);
    }
    if (pending <= 0)
        return pending < 0 ? fail(q, pending) : 0;
    if (!load_idx(gm, avail_ring_gpa(q, q->last_avail_idx & (q->size - 1)), &head))
        return fail(q, -EFAULT);
    ret = walk_chain(q, gm, head, chain);
    if (ret)
        return fail(q, ret);
    q->last_avail_idx++;
    if (q->event_idx && !store_idx(gm, avail_event_gpa(q), q->last_avail_idx))
        return fail(q, -EFAULT);
    return 1;
}

int mq_virtq_push(struct mq_virtq *q, struct mq_guest_mem *gm, uint16_t head,
                  uint32_t written)
{
    uint64_t elem;
    uint8_t raw[8];

    if (head >= q->size)
        return -ERANGE;
    elem = q->used_gpa + 4 + 8ull * (q->used_idx & (q->size - 1));
    mq_put_le32(raw, head);
    mq_put_le32(raw + 4, written);
    if (mq_guest_mem_write(gm, elem, raw, sizeof(raw)))
        return -EFAULT;
    /* store_idx is a release store: the element is visible before the index. */
    if (!store_idx(gm, q->used_gpa + 2, (uint16_t)(q->used_idx + 1)))
        return -EFAULT;
    q->used_idx++;
    return 0;
}

bool mq_virtq_should_notify(struct mq_virtq *q, struct mq_guest_mem *gm)
{
    uint16_t old, new, flags, used_event;
    bool valid;

    if (q->size == 0)
        return false;
    /* Our used idx store must be ordered before reading the driver's flags. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx) {
        if (!load_idx(gm, q->avail_gpa, &flags))
            return true;
        return !(flags & MQ_VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    old = q->signalled_used;
    valid = q->signalled_used_valid;
    new = q->used_idx;
    q->signalled_used = new;
    q->signalled_used_valid = true;
    if (!valid)
        return true;
    if (!load_idx(gm, used_event_gpa(q), &used_event))
        return true;
    /* Interrupt when used_event lies in [old, new): virtio 1.2 section 2.7.10. */
    return (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}

/*
 * Copy the bytes [off, off + len) of the chain's readable segments into
 * buf, or (gm_written non-NULL) buf into its writable segments. The caller has the chain's totals,
 * so segment lengths (checked against RAM by pop) need no recheck here.
 */
static int chain_copy(const struct mq_guest_mem *gm, struct mq_guest_mem *gm_written,
                      const struct mq_virtq_chain *c, uint64_t off, uint8_t *buf,
                      uint64_t len)
{
    bool write = gm_written != NULL;
    uint64_t total = write ? c->write_len : c->read_len;
    unsigned first = write ? c->nread : 0;
    unsigned end = write ? c->nsegs : c->nread;

    if (!mq_range_ok(off, len, total))
        return -ERANGE;
    for (unsigned s = first; s < end && len; s++) {
        const struct mq_virtq_seg *seg = &c->segs[s];
        uint64_t n;
        uint8_t *p;

        if (off >= seg->len) {
            off -= seg->len;
            continue;
        }
        n = MQ_MIN(len, seg->len - off);
        p = mq_guest_mem_ptr(gm, seg->gpa + off, n);
        if (!p)
            return -EFAULT;
        if (write) {
            memcpy(p, buf, n);
            mq_guest_mem_written(gm_written, seg->gpa + off, n);
        } else {
            memcpy(buf, p, n);
        }
        buf += n;
        len -= n;
        off = 0;
    }
    return 0;
}

int mq_virtq_chain_read(const struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                        uint64_t off, void *buf, uint64_t len)
{
    return chain_copy(gm, NULL, c, off, buf, len);
}

int mq_virtq_chain_write(struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                         uint64_t off, const void *buf, uint64_t len)
{
    /* chain_copy only reads buf when copying towards the guest. */
    return chain_copy(gm, gm, c, off, (uint8_t *)buf, len);
}

/*
 * Fields: size (u32), desc/avail/used addresses (u64), event_idx,
 * indirect, broken (bool), last_avail_idx, used_idx, signalled_used (u16),
 * signalled_used_valid (bool). A queue that is not set up is all zeros.
 */
void mq_virtq_save(const struct mq_virtq *q, struct mq_state_writer *w)
{
    mq_state_put_u32(w, q->size);
    mq_state_put_u64(w, q->desc_gpa);
    mq_state_put_u64(w, q->avail_gpa);
    mq_state_put_u64(w, q->used_gpa);
    mq_state_put_bool(w, q->event_idx);
    mq_state_put_bool(w, q->indirect);
    mq_state_put_bool(w, q->broken);
    mq_state_put_u16(w, q->last_avail_idx);
    mq_state_put_u16(w, q->used_idx);
    mq_state_put_u16(w, q->signalled_used);
    mq_state_put_bool(w, q->signalled_used_valid);
}

int mq_virtq_load(struct mq_virtq *q, const struct mq_guest_mem *gm, struct mq_state_reader *r)
{
    struct mq_virtq s = {0}, v;
    int ret;

    s.size = mq_state_get_u32(r);
    s.desc_gpa = mq_state_get_u64(r);
    s.avail_gpa = mq_state_get_u64(r);
    s.used_gpa = mq_state_get_u64(r);
    s.event_idx = mq_state_get_bool(r);
    s.indirect = mq_state_get_bool(r);
    s.broken = mq_state_get_bool(r);
    s.last_avail_idx = mq_state_get_u16(r);
    s.used_idx = mq_state_get_u16(r);
    s.signalled_used = mq_state_get_u16(r);
    s.signalled_used_valid = mq_state_get_bool(r);
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    if (s.size == 0) {
        if (s.desc_gpa || s.avail_gpa || s.used_gpa || s.event_idx || s.indirect ||
            s.broken || s.last_avail_idx || s.used_idx || s.signalled_used ||
            s.signalled_used_valid) {
            mq_state_reader_fail(r, -EINVAL, "queue that is not set up has ring state");
            return mq_state_reader_error(r);
        }
        mq_virtq_reset(q);
        return 0;
    }
    /* The same checks as a driver's setup: size, alignment, rings inside RAM. */
    ret = mq_virtq_setup(&v, gm, s.size, s.desc_gpa, s.avail_gpa, s.used_gpa, s.event_idx,
                         s.indirect);
    if (ret) {
        mq_state_reader_fail(r, ret, "queue of %u entries with rings at 0x%llx, 0x%llx, "
                             "0x%llx refused: %s", s.size, (unsigned long long)s.desc_gpa,
                             (unsigned long long)s.avail_gpa, (unsigned long long)s.used_gpa,
                             strerror(-ret));
        return mq_state_reader_error(r);
    }
    if (mq_virtq_in_flight(&s) > s.size) {
        mq_state_reader_fail(r, -EINVAL, "%u chains in flight in a queue of %u",
                             mq_virtq_in_flight(&s), s.size);
        return mq_state_reader_error(r);
    }
    v.broken = s.broken;
    v.last_avail_idx = s.last_avail_idx;
    v.used_idx = s.used_idx;
    v.signalled_used = s.signalled_used;
    v.signalled_used_valid = s.signalled_used_valid;
    *q = v;
    return 0;
}
