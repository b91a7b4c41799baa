/* SPDX-License-Identifier: MIT */
/*
 * virtio-input: a keyboard with one key, KEY_POWER, so the host can ask
 * the guest to shut down the way a power button does (virtio 1.2 section
 * 5.8). The eventq carries the key events to the driver; the statusq
 * (LEDs and the like, driver to device) is validated and discarded.
 *
 * Locking: the config registers (select, subsel and the answer) are
 * under vdev->lock, as every config access and reset is. The pending
 * events are under in->lock, a leaf taken inside the eventq's queue lock;
 * they are only added while that queue lock is held (the queue is ready),
 * so delivery and press never race with a reset.
 */
#include "virtio/virtio_input.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/log.h"
#include "util/state.h"

#define SUBSYS "virtio-input"
#define INPUT_STATE_VERSION 1u
#define QUEUE_SIZE 64u
#define EVENT_SIZE MQ_VIRTIO_INPUT_EVENT_SIZE
#define PENDING_MAX MQ_VIRTIO_INPUT_PENDING_MAX

/* ID_DEVIDS: a virtual bus, no vendor of record, product 1 (the power button). */
#define DEVIDS_VENDOR 0x0000
#define DEVIDS_PRODUCT 0x0001
#define DEVIDS_VERSION 0x0001

struct input_ev {
    uint16_t type;
    uint16_t code;
    uint32_t value;
};

struct mq_virtio_input {
    struct mq_virtio_dev *vdev;
    struct mq_notifier *kick;          /* NULL: synchronous */
    /* Under vdev->lock. */
    uint8_t select, subsel;
    uint8_t cfg[MQ_VIRTIO_INPUT_CFG_SIZE];   /* the config space for select/subsel */
    /* Under in->lock: a ring of events the driver has no buffer for yet. */
    pthread_mutex_t lock;
    struct input_ev pending[PENDING_MAX];
    unsigned head, count;
    /* Chain segments, each under its queue's lock. */
    struct mq_virtq_seg event_segs[QUEUE_SIZE];
    struct mq_virtq_seg status_segs[QUEUE_SIZE];
};

/* ---- config space (section 5.8.4) ---- */

static void set_bit(uint8_t *bitmap, unsigned bit)
{
    bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/*
 * Fill the config space with the answer for select/subsel. size 0 means
 * "not supported" (section 5.8.4.1): no serial number, no input
 * properties, no absolute axes, no event types but EV_SYN and EV_KEY.
 */
static void config_update(struct mq_virtio_input *in)
{
    uint8_t *u = in->cfg + MQ_VIRTIO_INPUT_CFG_U;
    size_t size = 0;

    memset(in->cfg, 0, sizeof(in->cfg));
    in->cfg[MQ_VIRTIO_INPUT_CFG_SELECT] = in->select;
    in->cfg[MQ_VIRTIO_INPUT_CFG_SUBSEL] = in->subsel;
    switch (in->select) {
    case MQ_VIRTIO_INPUT_CFG_ID_NAME:
        if (in->subsel == 0) {
            size = strlen(MQ_VIRTIO_INPUT_NAME);   /* not NUL-terminated */
            memcpy(u, MQ_VIRTIO_INPUT_NAME, size);
        }
        break;
    case MQ_VIRTIO_INPUT_CFG_ID_DEVIDS:
        if (in->subsel == 0) {
            mq_put_le16(u, MQ_INPUT_BUS_VIRTUAL);
            mq_put_le16(u + 2, DEVIDS_VENDOR);
            mq_put_le16(u + 4, DEVIDS_PRODUCT);
            mq_put_le16(u + 6, DEVIDS_VERSION);
            size = 8;
        }
        break;
    case MQ_VIRTIO_INPUT_CFG_EV_BITS:
        /* subsel is the event type; the bitmap holds its supported codes. */
        if (in->subsel == MQ_INPUT_EV_SYN) {
            set_bit(u, MQ_INPUT_SYN_REPORT);
            size = MQ_INPUT_SYN_REPORT / 8 + 1;
        } else if (in->subsel == MQ_INPUT_EV_KEY) {
            set_bit(u, MQ_INPUT_KEY_POWER);
            size = MQ_INPUT_KEY_POWER / 8 + 1;
        }
        break;
    default:
        /* UNSET, ID_SERIAL, PROP_BITS, ABS_INFO and unknown selects. */
        break;
    }
    in->cfg[MQ_VIRTIO_INPUT_CFG_SIZE_REG] = (uint8_t)size;
}

static void input_read_config(void *model, uint32_t off, void *buf, uint32_t len)
{
    struct mq_virtio_input *in = model;

    memcpy(buf, in->cfg + off, len);
}

/* Only select and subsel are the driver's; writes to the other bytes are ignored. */
static void input_write_config(void *model, uint32_t off, const void *buf, uint32_t len)
{
    struct mq_virtio_input *in = model;
    const uint8_t *b = buf;

    for (uint32_t i = 0; i < len; i++) {
        if (off + i == MQ_VIRTIO_INPUT_CFG_SELECT)
            in->select = b[i];
        else if (off + i == MQ_VIRTIO_INPUT_CFG_SUBSEL)
            in->subsel = b[i];
    }
    config_update(in);
}

/* ---- eventq: device to driver ---- */

/* Section 5.8.6.2: event buffers are device-writable and hold at least one event. */
static int put_event(struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                     const struct input_ev *ev)
{
    uint8_t raw[EVENT_SIZE];

    if (c->read_len || c->write_len < EVENT_SIZE) {
        mq_guest_warn(SUBSYS, "event buffer with %u readable and %u writable bytes "
                      "(want 0 and at least %u)", c->read_len, c->write_len, EVENT_SIZE);
        return -EINVAL;
    }
    mq_put_le16(raw, ev->type);
    mq_put_le16(raw + 2, ev->code);
    mq_put_le32(raw + 4, ev->value);
    return mq_virtq_chain_write(gm, c, 0, raw, sizeof(raw));
}

/* Hand pending events to the driver, one per buffer. The eventq's lock is held. */
static void deliver_locked(struct mq_virtio_input *in, struct mq_virtq *vq)
{
    struct mq_guest_mem *gm = mq_virtio_guest_mem(in->vdev);
    struct mq_virtq_chain chain = {.segs = in->event_segs, .cap = QUEUE_SIZE};
    bool pushed = false;
    int ret = 0;

    pthread_mutex_lock(&in->lock);
    while (in->count) {
        ret = mq_virtq_pop(vq, gm, &chain);
        if (ret <= 0)
            break;
        ret = put_event(gm, &chain, &in->pending[in->head]);
        if (!ret)
            ret = mq_virtq_push(vq, gm, chain.head, EVENT_SIZE);
        if (ret)
            break;
        in->head = (in->head + 1) % PENDING_MAX;
        in->count--;
        pushed = true;
    }
    pthread_mutex_unlock(&in->lock);
    /* The undelivered events stay; the driver's reset drops them. */
    if (ret < 0)
        mq_virtio_set_needs_reset(in->vdev, ret);
    if (pushed && mq_virtq_should_notify(vq, gm))
        mq_virtio_notify_used(in->vdev, MQ_VIRTIO_INPUT_EVENTQ);
}

/* ---- statusq: driver to device ---- */

/* LED, sound and repeat updates: checked for shape, then dropped (no key has an LED). */
static int status_handle(void *model, struct mq_guest_mem *gm, const struct mq_virtq_chain *c,
                         uint32_t *written)
{
    *written = 0;
    if (c->write_len || c->read_len == 0 || c->read_len % EVENT_SIZE) {
        mq_guest_warn(SUBSYS, "status buffer with %u readable and %u writable bytes "
                      "(want whole %u-byte events, nothing writable)", c->read_len,
                      c->write_len, EVENT_SIZE);
        return -EINVAL;
    }
    return 0;
}

static void input_run(void *opaque)
{
    struct mq_virtio_input *in = opaque;
    struct mq_virtq_chain chain = {.segs = in->status_segs, .cap = QUEUE_SIZE};
    struct mq_virtq *vq = mq_virtio_queue_lock(in->vdev, MQ_VIRTIO_INPUT_EVENTQ);

    if (vq) {
        deliver_locked(in, vq);
        mq_virtio_queue_unlock(in->vdev, MQ_VIRTIO_INPUT_EVENTQ);
    }
    while (mq_virtio_queue_process(in->vdev, MQ_VIRTIO_INPUT_STATUSQ, &chain, QUEUE_SIZE,
                                   status_handle, in)) {
        if (in->kick) {
            mq_notifier_kick(in->kick);
            return;
        }
    }
}

static void input_queue_notify(void *model, unsigned q)
{
    struct mq_virtio_input *in = model;

    if (in->kick)
        mq_notifier_kick(in->kick);
    else
        input_run(in);
}

/* ---- host side ---- */

static void push_pending(struct mq_virtio_input *in, uint16_t type, uint16_t code,
                         uint32_t value)
{
    in->pending[(in->head + in->count) % PENDING_MAX] =
        (struct input_ev){.type = type, .code = code, .value = value};
    in->count++;
}

int mq_virtio_input_press_key(struct mq_virtio_input *in, uint16_t code)
{
    struct mq_virtq *vq;
    int ret = 0;

    if (code != MQ_INPUT_KEY_POWER)
        return -EINVAL;
    vq = mq_virtio_queue_lock(in->vdev, MQ_VIRTIO_INPUT_EVENTQ);
    if (!vq)
        return -ENODEV;
    pthread_mutex_lock(&in->lock);
    if (in->count > PENDING_MAX - 4) {
        ret = -ENOBUFS;
    } else {
        push_pending(in, MQ_INPUT_EV_KEY, code, 1);
        push_pending(in, MQ_INPUT_EV_SYN, MQ_INPUT_SYN_REPORT, 0);
        push_pending(in, MQ_INPUT_EV_KEY, code, 0);
        push_pending(in, MQ_INPUT_EV_SYN, MQ_INPUT_SYN_REPORT, 0);
    }
    pthread_mutex_unlock(&in->lock);
    if (!ret)
        deliver_locked(in, vq);
    mq_virtio_queue_unlock(in->vdev, MQ_VIRTIO_INPUT_EVENTQ);
    return ret;
}

unsigned mq_virtio_input_pending(struct mq_virtio_input *in)
{
    unsigned n;

    pthread_mutex_lock(&in->lock);
    n = in->count;
    pthread_mutex_unlock(&in->lock);
    return n;
}

/* ---- lifecycle and snapshots ---- */

static void input_reset(void *model)
{
    struct mq_virtio_input *in = model;

    in->select = in->subsel = 0;
    config_update(in);
    pthread_mutex_lock(&in->lock);
    in->head = in->count = 0;
    pthread_mutex_unlock(&in->lock);
}

/*
 * Fields: layout version (u32), select, subsel (u8), pending count (u32),
 * then per pending event its type, code (u16) and value (u32).
 */
static int input_save(void *model, struct mq_state_writer *w)
{
    struct mq_virtio_input *in = model;

    mq_state_put_u32(w, INPUT_STATE_VERSION);
    mq_state_put_u8(w, in->select);
    mq_state_put_u8(w, in->subsel);
    pthread_mutex_lock(&in->lock);
    mq_state_put_u32(w, in->count);
    for (unsigned i = 0; i < in->count; i++) {
        const struct input_ev *ev = &in->pending[(in->head + i) % PENDING_MAX];

        mq_state_put_u16(w, ev->type);
        mq_state_put_u16(w, ev->code);
        mq_state_put_u32(w, ev->value);
    }
    pthread_mutex_unlock(&in->lock);
    return mq_state_writer_error(w);
}

/* An event this device could have queued: a KEY_POWER press or release, or a SYN_REPORT. */
static bool event_ok(const struct input_ev *ev)
{
    if (ev->type == MQ_INPUT_EV_KEY)
        return ev->code == MQ_INPUT_KEY_POWER && ev->value <= 1;
    return ev->type == MQ_INPUT_EV_SYN && ev->code == MQ_INPUT_SYN_REPORT && ev->value == 0;
}

static int input_load(void *model, struct mq_state_reader *r)
{
    struct mq_virtio_input *in = model;
    struct input_ev evs[PENDING_MAX];
    uint32_t version = mq_state_get_u32(r), count;
    uint8_t select, subsel;

    if (!mq_state_reader_error(r) && version != INPUT_STATE_VERSION)
        mq_state_reader_fail(r, -EPROTONOSUPPORT, "virtio-input state version %u is not "
                             "supported (this maquina reads %u)", version, INPUT_STATE_VERSION);
    select = mq_state_get_u8(r);
    subsel = mq_state_get_u8(r);
    count = mq_state_get_u32(r);
    if (!mq_state_reader_error(r) && count > PENDING_MAX)
        mq_state_reader_fail(r, -EINVAL, "virtio-input: %u pending events, at most %u",
                             count, PENDING_MAX);
    for (uint32_t i = 0; i < count && !mq_state_reader_error(r); i++) {
        evs[i].type = mq_state_get_u16(r);
        evs[i].code = mq_state_get_u16(r);
        evs[i].value = mq_state_get_u32(r);
        if (!mq_state_reader_error(r) && !event_ok(&evs[i]))
            mq_state_reader_fail(r, -EINVAL, "virtio-input: pending event %u (type %u "
                                 "code %u value %u) is not one this device sends", i,
                                 evs[i].type, evs[i].code, evs[i].value);
    }
    if (mq_state_reader_error(r))
        return mq_state_reader_error(r);
    in->select = select;
    in->subsel = subsel;
    config_update(in);
    pthread_mutex_lock(&in->lock);
    memcpy(in->pending, evs, count * sizeof(evs[0]));
    in->head = 0;
    in->count = count;
    pthread_mutex_unlock(&in->lock);
    return 0;
}

static void input_free(struct mq_virtio_input *in)
{
    mq_notifier_destroy(in->kick);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

static void input_destroy(void *model)
{
    input_free(model);
}

static const struct mq_virtio_dev_ops input_ops = {
    .name = "virtio-input",
    .device_id = MQ_VIRTIO_ID_INPUT,
    .num_queues = 2,
    .config_size = MQ_VIRTIO_INPUT_CFG_SIZE,
    .read_config = input_read_config,
    .write_config = input_write_config,
    .queue_notify = input_queue_notify,
    .reset = input_reset,
    .destroy = input_destroy,
    .save = input_save,
    .load = input_load,
};

int mq_virtio_input_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                           struct mq_virtio_input **out)
{
    struct mq_virtio_input *in = calloc(1, sizeof(*in));
    int ret;

    if (!in)
        return -ENOMEM;
    in->vdev = vdev;
    pthread_mutex_init(&in->lock, NULL);
    config_update(in);
    if (loop) {
        ret = mq_notifier_create(loop, input_run, in, &in->kick);
        if (ret)
            goto err;
    }
    /* No device feature bits: section 5.8.3 defines none. */
    ret = mq_virtio_dev_attach(vdev, &input_ops, in, 0, QUEUE_SIZE);
    if (ret)
        goto err;
    *out = in;
    return 0;

err:
    input_free(in);
    return ret;
}
