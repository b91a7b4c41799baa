/* SPDX-License-Identifier: MIT */
/* virtio-net: Ethernet frames between a virtqueue pair and a network backend (virtio 1.2 section 5.1). */
#include "virtio/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-net"
#define QUEUE_SIZE 256u
#define NET_STATE_VERSION 1u

struct virtio_net {
    struct mq_virtio_dev *vdev;
    struct mq_net_backend *nb;          /* owned */
    struct mq_notifier *tx_kick;        /* NULL: synchronous */
    struct mq_notifier *rx_kick;        /* tells the backend there is room */
    uint8_t mac[6];
    bool link_up;                       /* atomic */
    /*
     * Atomic: a frame was (or is being) offered; the next receive queue
     * notify calls mq_net_rx_ready(). Set before looking at the ring, so a
     * buffer the driver adds after that look is followed by a notify that
     * sees it set.
     */
    bool rx_wanted;
    /* Transmit state, used under the transmit queue's lock only. */
    struct mq_virtq_seg *tx_segs;
    uint8_t *tx_buf;                    /* MQ_VIRTIO_NET_MAX_FRAME bytes */
    /* Receive state, used under the receive queue's lock only. */
    struct mq_virtq_seg *rx_segs_first; /* the chain that carries the header */
    struct mq_virtq_seg *rx_segs;       /* the following ones (MRG_RXBUF) */
    uint16_t *rx_heads;                 /* QUEUE_SIZE used elements of one frame */
    uint32_t *rx_lens;
    struct mq_virtio_net_stats stats;   /* atomic counters */
};

static const struct mq_virtio_dev_ops net_ops;

#define STAT_ADD(n, field, v) __atomic_fetch_add(&(n)->stats.field, (v), __ATOMIC_RELAXED)

/* ---- transmit ---- */

static int tx_handle(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                     uint32_t *written)
{
    struct virtio_net *n = model;
    uint8_t hdr[MQ_VIRTIO_NET_HDR_BYTES];
    uint32_t len;
    int ret;

    /* The device writes nothing into a transmit chain (section 5.1.6.2). */
    *written = 0;
    if (c->read_len < MQ_VIRTIO_NET_HDR_BYTES) {
        /* Not even a header: the framing is broken beyond a dropped frame. */
        mq_guest_warn(SUBSYS, "transmit chain of %u bytes, shorter than the %u-byte header",
                      c->read_len, MQ_VIRTIO_NET_HDR_BYTES);
        return -EINVAL;
    }
    len = c->read_len - MQ_VIRTIO_NET_HDR_BYTES;
    if (len < MQ_VIRTIO_NET_MIN_FRAME || len > MQ_VIRTIO_NET_MAX_FRAME) {
        mq_guest_warn(SUBSYS, "dropped a %u-byte frame from the driver (not %u-%u bytes)", len,
                      MQ_VIRTIO_NET_MIN_FRAME, MQ_VIRTIO_NET_MAX_FRAME);
        STAT_ADD(n, tx_dropped, 1);
        return 0;
    }
    ret = mq_virtq_chain_read(gm, c, 0, hdr, sizeof(hdr));
    if (ret)
        return ret;
    /*
     * Neither CSUM nor any HOST_* offload is offered, so the driver must
     * send complete frames (section 5.1.6.2): one asking for a checksum or
     * segmentation would go out wrong, drop it. Other flag bits are
     * ignored as the device requirements say.
     */
    if ((hdr[0] & MQ_VIRTIO_NET_HDR_F_NEEDS_CSUM) || hdr[1] != MQ_VIRTIO_NET_HDR_GSO_NONE) {
        mq_guest_warn(SUBSYS, "dropped a frame asking for offloads never offered "
                      "(flags 0x%x gso_type %u)", hdr[0], hdr[1]);
        STAT_ADD(n, tx_dropped, 1);
        return 0;
    }
    if (!__atomic_load_n(&n->link_up, __ATOMIC_RELAXED)) {
        STAT_ADD(n, tx_dropped, 1);
        return 0;
    }
    ret = mq_virtq_chain_read(gm, c, MQ_VIRTIO_NET_HDR_BYTES, n->tx_buf, len);
    if (ret)
        return ret;
    if (mq_net_send(n->nb, n->tx_buf, len) < 0) {
        /* The backend said why (full, link down) and counts it too. */
        STAT_ADD(n, tx_dropped, 1);
        return 0;
    }
    STAT_ADD(n, tx_frames, 1);
    STAT_ADD(n, tx_bytes, len);
    return 0;
}

static void tx_run(void *opaque)
{
    struct virtio_net *n = opaque;
    struct mq_virtq_chain chain = {.segs = n->tx_segs, .cap = QUEUE_SIZE};

    /* Yield after a queue's worth so other devices on the loop get a turn. */
    while (mq_virtio_queue_process(n->vdev, MQ_VIRTIO_NET_TXQ, &chain, QUEUE_SIZE, tx_handle,
                                   n)) {
        if (n->tx_kick) {
            mq_notifier_kick(n->tx_kick);
            return;
        }
    }
}

/* ---- receive ---- */

/*
 * Give back the last k chains popped: the driver still owns them and will
 * see them used later. Nothing was pushed for them.
 * NOTE: this and push_batch() reach into struct mq_virtq; they belong in
 * virtqueue.c as mq_virtq_unpop() / a batched push.
 */
static void unpop(struct mq_virtq *vq, unsigned k)
{
    vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - k);
}

/*
 * Add k used elements and publish them with a single used index store, so
 * the driver never sees part of a merged frame: Linux reads num_buffers
 * from the first buffer and drops the frame when the others are not there
 * yet ("rx error: N buffers out of M missing").
 */
static int push_batch(struct mq_virtq *vq, struct mq_guest_mem *gm, const uint16_t *heads,
                      const uint32_t *lens, unsigned k)
{
    uint16_t *idx = mq_guest_mem_ptr(gm, vq->used_gpa + 2, 2);
    uint8_t raw[8];

    if (!idx)
        return -EFAULT;
    for (unsigned i = 0; i < k; i++) {
        uint16_t slot = (uint16_t)(vq->used_idx + i) & (uint16_t)(vq->size - 1);
        mq_put_le32(raw, heads[i]);
        mq_put_le32(raw + 4, lens[i]);
        if (mq_guest_mem_write(gm, vq->used_gpa + 4 + 8ull * slot, raw, sizeof(raw)))
            return -EFAULT;
    }
    vq->used_idx = (uint16_t)(vq->used_idx + k);
    /* Release: the elements and the frame are visible before the index. */
    __atomic_store_n(idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
    mq_guest_mem_written(gm, vq->used_gpa + 2, 2);
    return 0;
}

/* Copy bytes [from, from + take) of header + frame into chain c at chain offset 0. */
static int rx_copy(struct mq_guest_mem *gm, const struct mq_virtq_chain *c, uint32_t from,
                   uint32_t take, const uint8_t *frame)
{
    uint32_t coff = 0;

    if (from < MQ_VIRTIO_NET_HDR_BYTES) {
        /* The header is written last, once num_buffers is known. */
        uint32_t skip = MQ_MIN(take, MQ_VIRTIO_NET_HDR_BYTES - from);
        coff = skip;
        from += skip;
        take -= skip;
    }
    if (!take)
        return 0;
    return mq_virtq_chain_write(gm, c, coff, frame + (from - MQ_VIRTIO_NET_HDR_BYTES), take);
}

/*
 * Write header + frame into the driver's receive buffers (section 5.1.6.4):
 * one chain, or with MRG_RXBUF as many as needed, num_buffers telling how
 * many. Returns 1 when delivered, 0 when the ring ran out of buffers
 * (nothing consumed), -EMSGSIZE when the frame can never fit (dropped,
 * nothing consumed), or another -errno for a driver error.
 */
static int rx_fill(struct virtio_net *n, struct mq_virtq *vq, struct mq_guest_mem *gm,
                   const uint8_t *frame, uint32_t len)
{
    bool mrg = mq_virtio_features(n->vdev) & (1ull << MQ_VIRTIO_NET_F_MRG_RXBUF);
    struct mq_virtq_chain first = {.segs = n->rx_segs_first, .cap = QUEUE_SIZE};
    struct mq_virtq_chain cur = {.segs = n->rx_segs, .cap = QUEUE_SIZE};
    uint8_t hdr[MQ_VIRTIO_NET_HDR_BYTES] = {0};
    uint32_t total = MQ_VIRTIO_NET_HDR_BYTES + len, done = 0;
    unsigned k = 0;
    int ret;

    while (done < total) {
        struct mq_virtq_chain *c = k == 0 ? &first : &cur;
        uint32_t take;

        if (k == vq->size) {
            /* Every buffer of a full ring is not enough. */
            unpop(vq, k);
            return -EMSGSIZE;
        }
        ret = mq_virtq_pop(vq, gm, c);
        if (ret < 0)
            return ret;
        if (ret == 0) {
            unpop(vq, k);
            return 0;
        }
        k++;
        /* Section 5.1.6.3.1: every receive buffer holds at least a header. */
        if (c->write_len < MQ_VIRTIO_NET_HDR_BYTES) {
            mq_guest_warn(SUBSYS, "receive buffer of %u writable bytes, shorter than the "
                          "%u-byte header", c->write_len, MQ_VIRTIO_NET_HDR_BYTES);
            return -EINVAL;
        }
        if (!mrg && c->write_len < total) {
            /* Without MRG_RXBUF one chain must take the whole frame. */
            unpop(vq, k);
            return -EMSGSIZE;
        }
        take = MQ_MIN(c->write_len, total - done);
        ret = rx_copy(gm, c, done, take, frame);
        if (ret)
            return ret;
        n->rx_heads[k - 1] = c->head;
        n->rx_lens[k - 1] = take;
        done += take;
    }
    /* flags 0, GSO_NONE, no checksum hints; num_buffers is 1 without MRG_RXBUF. */
    mq_put_le16(hdr + 10, (uint16_t)k);
    ret = mq_virtq_chain_write(gm, &first, 0, hdr, sizeof(hdr));
    if (ret)
        return ret;
    ret = push_batch(vq, gm, n->rx_heads, n->rx_lens, k);
    return ret ? ret : 1;
}

/* Backend thread: a frame for the guest. false: no buffer, the backend retries after rx_ready. */
static bool net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *n = opaque;
    struct mq_guest_mem *gm = mq_virtio_guest_mem(n->vdev);
    struct mq_virtq *vq;
    int ret;

    if (!__atomic_load_n(&n->link_up, __ATOMIC_RELAXED)) {
        STAT_ADD(n, rx_dropped, 1);
        return true;
    }
    if (len < MQ_VIRTIO_NET_MIN_FRAME || len > MQ_VIRTIO_NET_MAX_FRAME) {
        mq_guest_warn(SUBSYS, "dropped a %zu-byte frame from the backend", len);
        STAT_ADD(n, rx_dropped, 1);
        return true;
    }
    __atomic_store_n(&n->rx_wanted, true, __ATOMIC_SEQ_CST);
    /* Order the flag before reading the ring: the driver orders its ring update before the kick. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vq = mq_virtio_queue_lock(n->vdev, MQ_VIRTIO_NET_RXQ);
    if (!vq) {
        /* Not DRIVER_OK yet (or being reset): the backend keeps the frame. */
        STAT_ADD(n, rx_no_buffer, 1);
        return false;
    }
    ret = rx_fill(n, vq, gm, frame, (uint32_t)len);
    if (ret == 1) {
        /*
         * Delivered: nothing is waiting any more. The backend calls us
         * from its one thread, so this cannot hide a concurrent refusal.
         */
        __atomic_store_n(&n->rx_wanted, false, __ATOMIC_RELAXED);
        if (mq_virtq_should_notify(vq, gm))
            mq_virtio_notify_used(n->vdev, MQ_VIRTIO_NET_RXQ);
    }
    mq_virtio_queue_unlock(n->vdev, MQ_VIRTIO_NET_RXQ);
    switch (ret) {
    case 1:
        STAT_ADD(n, rx_frames, 1);
        STAT_ADD(n, rx_bytes, len);
        return true;
    case 0:
        STAT_ADD(n, rx_no_buffer, 1);
        return false;
    case -EMSGSIZE:
        mq_guest_warn(SUBSYS, "dropped a %zu-byte frame: the receive buffers are too small",
                      len);
        STAT_ADD(n, rx_dropped, 1);
        return true;
    default:
        mq_virtio_set_needs_reset(n->vdev, ret);
        STAT_ADD(n, rx_dropped, 1);
        return true;
    }
}

static void rx_ready_run(void *opaque)
{
    struct virtio_net *n = opaque;

    mq_net_rx_ready(n->nb);
}

/* ---- device ops ---- */

static void net_queue_notify(void *model, unsigned q)
{
    struct virtio_net *n = model;

    if (q == MQ_VIRTIO_NET_TXQ) {
        if (n->tx_kick)
            mq_notifier_kick(n->tx_kick);
        else
            tx_run(n);
        return;
    }
    /* Receive buffers were added: tell the backend only when it holds a frame back. */
    if (!__atomic_exchange_n(&n->rx_wanted, false, __ATOMIC_SEQ_CST))
        return;
    if (n->rx_kick)
        mq_notifier_kick(n->rx_kick);
    else
        rx_ready_run(n);
}

static void net_read_config(void *model, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_net *n = model;
    uint8_t cfg[MQ_VIRTIO_NET_CFG_SIZE];
    bool up = __atomic_load_n(&n->link_up, __ATOMIC_RELAXED);

    memcpy(cfg + MQ_VIRTIO_NET_CFG_MAC, n->mac, 6);
    mq_put_le16(cfg + MQ_VIRTIO_NET_CFG_STATUS, up ? MQ_VIRTIO_NET_S_LINK_UP : 0);
    memcpy(buf, cfg + off, len);
}

static void net_reset(void *model)
{
    /* Frames are written and sent under the queue locks: nothing in flight. */
}

/*
 * Snapshot: the model's layout version (u32), the MAC (6 bytes) and the
 * link state (bool), i.e. the config space the driver reads.
 * Nothing is ever in flight here: a frame is written into the receive
 * buffers and published under the receive queue's lock, and a transmit
 * chain is handed to the backend (which copies it) under the transmit
 * queue's lock, and save runs holding both. Frames the backend holds back
 * belong to the backend, not to the machine state. The counters are the
 * host's view of this run and start again from zero.
 */
static int net_save(void *model, struct mq_state_writer *w)
{
    struct virtio_net *n = model;

    mq_state_put_u32(w, NET_STATE_VERSION);
    mq_state_put_bytes(w, n->mac, sizeof(n->mac));
    mq_state_put_bool(w, __atomic_load_n(&n->link_up, __ATOMIC_RELAXED));
    return mq_state_writer_error(w);
}

static int net_load(void *model, struct mq_state_reader *r)
{
    struct virtio_net *n = model;
    uint32_t version = mq_state_get_u32(r);
    uint8_t mac[6];
    bool up;

    if (!mq_state_reader_error(r) && version != NET_STATE_VERSION)
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio-net state version %u is not "
                             "supported (this maquina reads %u)", version, NET_STATE_VERSION);
    mq_state_get_bytes(r, mac, sizeof(mac));
    up = mq_state_get_bool(r);
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    /*
     * The driver keeps the MAC it read at probe time: a device with
     * another one (a clone given a new address) would see the guest keep
     * sending from the old address. Refuse, as for a disk of another size.
     */
    if (memcmp(mac, n->mac, sizeof(mac))) {
        mq_state_reader_fail(r, -EINVAL, "virtio-net: the device has MAC "
                             "%02x:%02x:%02x:%02x:%02x:%02x, the snapshot was taken with "
                             "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
                             n->mac[3], n->mac[4], n->mac[5], mac[0], mac[1], mac[2], mac[3],
                             mac[4], mac[5]);
        return mq_state_reader_error(r);
    }
    /* The driver saw this link state (the core restored the config generation with it). */
    __atomic_store_n(&n->link_up, up, __ATOMIC_RELAXED);
    /*
     * The backend may hold a frame refused before the snapshot, or gain
     * one before the harts run: let the resume's receive notify ask it
     * again (a spurious rx_ready is harmless).
     */
    __atomic_store_n(&n->rx_wanted, true, __ATOMIC_SEQ_CST);
    return 0;
}

static void net_free(struct virtio_net *n)
{
    mq_notifier_destroy(n->tx_kick);
    mq_notifier_destroy(n->rx_kick);
    free(n->tx_segs);
    free(n->tx_buf);
    free(n->rx_segs_first);
    free(n->rx_segs);
    free(n->rx_heads);
    free(n->rx_lens);
    free(n);
}

static void net_destroy(void *model)
{
    struct virtio_net *n = model;

    /* No loop callback may run, then no receive: only then free. */
    mq_notifier_destroy(n->tx_kick);
    mq_notifier_destroy(n->rx_kick);
    n->tx_kick = n->rx_kick = NULL;
    mq_net_backend_close(n->nb);
    net_free(n);
}

static const struct mq_virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .device_id = MQ_VIRTIO_ID_NET,
    .num_queues = 2,
    .config_size = MQ_VIRTIO_NET_CFG_SIZE,
    .read_config = net_read_config,
    /* MAC is read-only with VERSION_1 (section 5.1.4.2): writes are ignored. */
    .queue_notify = net_queue_notify,
    .reset = net_reset,
    .destroy = net_destroy,
    .save = net_save,
    .load = net_load,
};

static struct virtio_net *to_net(struct mq_virtio_dev *vdev)
{
    /* ops and model are set once before the guest runs. */
    return vdev && vdev->ops == &net_ops ? vdev->model : NULL;
}

void mq_virtio_net_set_link(struct mq_virtio_dev *vdev, bool up)
{
    struct virtio_net *n = to_net(vdev);

    if (!n)
        return;
    if (__atomic_exchange_n(&n->link_up, up, __ATOMIC_ACQ_REL) != up)
        mq_virtio_notify_config(vdev);
}

int mq_virtio_net_get_stats(struct mq_virtio_dev *vdev, struct mq_virtio_net_stats *out)
{
    struct virtio_net *n = to_net(vdev);
    const struct mq_virtio_net_stats *s;

    if (!n)
        return -EINVAL;
    s = &n->stats;
    out->tx_frames = __atomic_load_n(&s->tx_frames, __ATOMIC_RELAXED);
    out->tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
    out->tx_dropped = __atomic_load_n(&s->tx_dropped, __ATOMIC_RELAXED);
    out->rx_frames = __atomic_load_n(&s->rx_frames, __ATOMIC_RELAXED);
    out->rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
    out->rx_dropped = __atomic_load_n(&s->rx_dropped, __ATOMIC_RELAXED);
    out->rx_no_buffer = __atomic_load_n(&s->rx_no_buffer, __ATOMIC_RELAXED);
    return 0;
}

int mq_virtio_net_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                         struct mq_net_backend *nb, const uint8_t mac[6])
{
    uint64_t features = (1ull << MQ_VIRTIO_NET_F_MAC) | (1ull << MQ_VIRTIO_NET_F_STATUS) |
                        (1ull << MQ_VIRTIO_NET_F_MRG_RXBUF);
    struct virtio_net *n;
    int ret;

    if (!vdev || !nb || !nb->ops || !nb->ops->send || !mac)
        return -EINVAL;
    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->vdev = vdev;
    n->nb = nb;
    /* A MAC named in the backend's specification (switch=NAME,mac=...) wins. */
    memcpy(n->mac, nb->has_mac ? nb->mac : mac, 6);
    n->link_up = true;
    n->tx_segs = calloc(QUEUE_SIZE, sizeof(*n->tx_segs));
    n->tx_buf = malloc(MQ_VIRTIO_NET_MAX_FRAME);
    n->rx_segs_first = calloc(QUEUE_SIZE, sizeof(*n->rx_segs_first));
    n->rx_segs = calloc(QUEUE_SIZE, sizeof(*n->rx_segs));
    n->rx_heads = calloc(QUEUE_SIZE, sizeof(*n->rx_heads));
    n->rx_lens = calloc(QUEUE_SIZE, sizeof(*n->rx_lens));
    if (!n->tx_segs || !n->tx_buf || !n->rx_segs_first || !n->rx_segs || !n->rx_heads ||
        !n->rx_lens) {
        ret = -ENOMEM;
        goto err;
    }
    if (loop) {
        ret = mq_notifier_create(loop, tx_run, n, &n->tx_kick);
        if (!ret)
            ret = mq_notifier_create(loop, rx_ready_run, n, &n->rx_kick);
        if (ret)
            goto err;
    }
    ret = mq_virtio_dev_attach(vdev, &net_ops, n, features, QUEUE_SIZE);
    if (ret)
        goto err;
    mq_net_set_receiver(nb, net_receive, n);
    return 0;

err:
    net_free(n);
    return ret;
}

bool mq_virtio_net_link_up(struct mq_virtio_dev *vdev)
{
    struct virtio_net *n = to_net(vdev);

    return n && __atomic_load_n(&n->link_up, __ATOMIC_RELAXED);
}
