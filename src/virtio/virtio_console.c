/* SPDX-License-Identifier: MIT */
/* virtio-console: one port (hvc0) whose bytes go to and come from a host end (virtio 1.2 section 5.3). */
#include "virtio/virtio_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-console"
#define QUEUE_SIZE 128u
/* Guest output moves to the host in pieces of this size. */
#define BOUNCE_BYTES 4096u
#define CONSOLE_STATE_VERSION 1u

struct mq_virtio_console {
    struct mq_virtio_dev *vdev;
    struct mq_virtio_console_host host;
    struct mq_notifier *tx_kick;       /* NULL: synchronous */
    struct mq_notifier *space_kick;    /* calls host.rx_space on the loop */
    /*
     * Atomic: host input was (or is being) offered, so the next receive
     * queue notify calls host.rx_space. Set before looking at the ring: a
     * buffer the driver adds after the look is followed by a notify that
     * sees it. Only the notify clears it, because from_host() may run on
     * several threads at once.
     */
    bool rx_wanted;
    /* Transmit state, under the transmit queue's lock. */
    struct mq_virtq_seg tx_segs[QUEUE_SIZE];
    uint8_t tx_buf[BOUNCE_BYTES];
    /* Receive state, under the receive queue's lock. */
    struct mq_virtq_seg rx_segs[QUEUE_SIZE];
    struct mq_virtio_console_stats stats; /* atomic counters */
};

#define STAT_ADD(c, field, v) __atomic_fetch_add(&(c)->stats.field, (v), __ATOMIC_RELAXED)

/* ---- guest to host ---- */

static int tx_handle(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *ch,
                     uint32_t *written)
{
    struct mq_virtio_console *c = model;
    uint32_t len = MQ_MIN(ch->read_len, MQ_VIRTIO_CONSOLE_MAX_TX_CHAIN);
    int ret;

    /* The device writes nothing into a transmit chain; writable buffers are ignored. */
    *written = 0;
    if (ch->read_len > len) {
        mq_guest_warn(SUBSYS, "transmit chain of %u bytes: only the first %u are output",
                      ch->read_len, len);
        STAT_ADD(c, tx_dropped, ch->read_len - len);
    }
    for (uint32_t off = 0; off < len;) {
        uint32_t n = MQ_MIN(len - off, BOUNCE_BYTES);
        ret = mq_virtq_chain_read(gm, ch, off, c->tx_buf, n);
        if (ret)
            return ret;
        c->host.to_host(c->host.opaque, c->tx_buf, n);
        off += n;
    }
    STAT_ADD(c, tx_bytes, len);
    return 0;
}

static void tx_run(void *opaque)
{
    struct mq_virtio_console *c = opaque;
    struct mq_virtq_chain chain = {.segs = c->tx_segs, .cap = QUEUE_SIZE};

    /* Yield after a queue's worth so other devices on the loop get a turn. */
    while (mq_virtio_queue_process(c->vdev, MQ_VIRTIO_CONSOLE_TXQ, &chain, QUEUE_SIZE,
                                   tx_handle, c)) {
        if (c->tx_kick) {
            mq_notifier_kick(c->tx_kick);
            return;
        }
    }
}

/* ---- host to guest ---- */

/* Fill receive buffers under the queue lock. Returns bytes taken; a driver error sets *err. */
static size_t rx_fill(struct mq_virtio_console *c, struct mq_virtq *vq, const uint8_t *buf,
                      size_t len, int *err, bool *pushed)
{
    struct mq_guest_mem *gm = mq_virtio_guest_mem(c->vdev);
    struct mq_virtq_chain chain = {.segs = c->rx_segs, .cap = QUEUE_SIZE};
    size_t done = 0;
    int ret;

    while (done < len) {
        uint32_t n;

        ret = mq_virtq_pop(vq, gm, &chain);
        if (ret <= 0) {
            *err = ret;
            break;
        }
        if (chain.write_len == 0) {
            /* A receive buffer the device cannot write into (section 5.3.6.1). */
            mq_guest_warn(SUBSYS, "receive buffer with no writable bytes");
            *err = -EINVAL;
            break;
        }
        n = (uint32_t)MQ_MIN((size_t)chain.write_len, len - done);
        ret = mq_virtq_chain_write(gm, &chain, 0, buf + done, n);
        if (!ret)
            ret = mq_virtq_push(vq, gm, chain.head, n);
        if (ret) {
            *err = ret;
            break;
        }
        *pushed = true;
        done += n;
    }
    return done;
}

size_t mq_virtio_console_from_host(struct mq_virtio_console *c, const uint8_t *buf,
                                   size_t len)
{
    struct mq_guest_mem *gm;
    struct mq_virtq *vq;
    bool pushed = false;
    size_t done;
    int err = 0;

    if (!c || !len)
        return 0;
    __atomic_store_n(&c->rx_wanted, true, __ATOMIC_SEQ_CST);
    /* Order the flag before reading the ring: the driver orders its ring update before the kick. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vq = mq_virtio_queue_lock(c->vdev, MQ_VIRTIO_CONSOLE_RXQ);
    if (!vq)
        return 0;
    gm = mq_virtio_guest_mem(c->vdev);
    done = rx_fill(c, vq, buf, len, &err, &pushed);
    if (pushed && mq_virtq_should_notify(vq, gm))
        mq_virtio_notify_used(c->vdev, MQ_VIRTIO_CONSOLE_RXQ);
    mq_virtio_queue_unlock(c->vdev, MQ_VIRTIO_CONSOLE_RXQ);
    if (err < 0)
        mq_virtio_set_needs_reset(c->vdev, err);
    STAT_ADD(c, rx_bytes, done);
    return done;
}

static void space_run(void *opaque)
{
    struct mq_virtio_console *c = opaque;

    if (c->host.rx_space)
        c->host.rx_space(c->host.opaque);
}

void mq_virtio_console_get_stats(struct mq_virtio_console *c,
                                 struct mq_virtio_console_stats *out)
{
    out->tx_bytes = __atomic_load_n(&c->stats.tx_bytes, __ATOMIC_RELAXED);
    out->tx_dropped = __atomic_load_n(&c->stats.tx_dropped, __ATOMIC_RELAXED);
    out->rx_bytes = __atomic_load_n(&c->stats.rx_bytes, __ATOMIC_RELAXED);
}

/* ---- device ops ---- */

static void console_queue_notify(void *model, unsigned q)
{
    struct mq_virtio_console *c = model;

    if (q == MQ_VIRTIO_CONSOLE_TXQ) {
        if (c->tx_kick)
            mq_notifier_kick(c->tx_kick);
        else
            tx_run(c);
        return;
    }
    /* Receive buffers were added: wake the host end only when it has offered input. */
    if (!__atomic_exchange_n(&c->rx_wanted, false, __ATOMIC_SEQ_CST))
        return;
    if (c->space_kick)
        mq_notifier_kick(c->space_kick);
    else
        space_run(c);
}

static void console_read_config(void *model, uint32_t off, void *buf, uint32_t len)
{
    uint8_t cfg[MQ_VIRTIO_CONSOLE_CFG_SIZE] = {0};

    /*
     * Neither SIZE nor MULTIPORT is offered, so the driver reads none of
     * it; a console size of 0x0 would be worse than none. One port.
     */
    mq_put_le32(cfg + MQ_VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 1);
    memcpy(buf, cfg + off, len);
}

static void console_reset(void *model)
{
    /* Transmit and receive complete under the queue locks: nothing in flight. */
}

/*
 * Snapshot: the model's layout version (u32) and nothing else. Without
 * MULTIPORT there is no control queue and so no port-open state: port 0
 * always exists and is open, and the config space is constant. Nothing is
 * ever in flight: a transmit chain is handed to the host end and a
 * receive buffer filled under their queue's lock, and save holds both.
 * Input the host end could not hand over yet is the host end's, not the
 * machine's.
 */
static int console_save(void *model, struct mq_state_writer *w)
{
    mq_state_put_u32(w, CONSOLE_STATE_VERSION);
    return mq_state_writer_error(w);
}

static int console_load(void *model, struct mq_state_reader *r)
{
    struct mq_virtio_console *c = model;
    uint32_t version = mq_state_get_u32(r);

    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    if (version != CONSOLE_STATE_VERSION) {
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio-console state version %u is not "
                             "supported (this maquina reads %u)", version,
                             CONSOLE_STATE_VERSION);
        return mq_state_reader_error(r);
    }
    /*
     * The host end may hold input it offered before the snapshot: the
     * resume's receive notify then calls rx_space (harmless when it has
     * nothing).
     */
    __atomic_store_n(&c->rx_wanted, true, __ATOMIC_SEQ_CST);
    return 0;
}

static void console_free(struct mq_virtio_console *c)
{
    mq_notifier_destroy(c->tx_kick);
    mq_notifier_destroy(c->space_kick);
    free(c);
}

static void console_destroy(void *model)
{
    console_free(model);
}

static const struct mq_virtio_dev_ops console_ops = {
    .name = "virtio-console",
    .device_id = MQ_VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .config_size = MQ_VIRTIO_CONSOLE_CFG_SIZE,
    .read_config = console_read_config,
    /* emerg_wr exists only with VIRTIO_CONSOLE_F_EMERG_WRITE, not offered: writes ignored. */
    .queue_notify = console_queue_notify,
    .reset = console_reset,
    .destroy = console_destroy,
    .save = console_save,
    .load = console_load,
};

int mq_virtio_console_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                             const struct mq_virtio_console_host *host,
                             struct mq_virtio_console **out)
{
    struct mq_virtio_console *c;
    int ret;

    if (!vdev || !host || !host->to_host || !out)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->vdev = vdev;
    c->host = *host;
    if (loop) {
        ret = mq_notifier_create(loop, tx_run, c, &c->tx_kick);
        if (!ret)
            ret = mq_notifier_create(loop, space_run, c, &c->space_kick);
        if (ret)
            goto err;
    }
    ret = mq_virtio_dev_attach(vdev, &console_ops, c, 0, QUEUE_SIZE);
    if (ret)
        goto err;
    *out = c;
    return 0;

err:
    console_free(c);
    return ret;
}
