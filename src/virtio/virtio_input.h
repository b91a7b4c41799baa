/* SPDX-License-Identifier: MIT */
/* virtio-input model: a one-key (KEY_POWER) keyboard, the VM's power button (virtio 1.2 section 5.8). */
#ifndef MQ_VIRTIO_VIRTIO_INPUT_H
#define MQ_VIRTIO_VIRTIO_INPUT_H

#include <stdint.h>

#include "util/event_loop.h"
#include "virtio/virtio_dev.h"

#define MQ_VIRTIO_ID_INPUT 18

/* Queues (section 5.8.2). */
#define MQ_VIRTIO_INPUT_EVENTQ 0
#define MQ_VIRTIO_INPUT_STATUSQ 1

/* Config space (struct virtio_input_config, section 5.8.4). */
#define MQ_VIRTIO_INPUT_CFG_SELECT 0
#define MQ_VIRTIO_INPUT_CFG_SUBSEL 1
#define MQ_VIRTIO_INPUT_CFG_SIZE_REG 2
#define MQ_VIRTIO_INPUT_CFG_U 8
#define MQ_VIRTIO_INPUT_CFG_SIZE 136

/* Values of select (enum virtio_input_config_select). */
#define MQ_VIRTIO_INPUT_CFG_UNSET 0x00
#define MQ_VIRTIO_INPUT_CFG_ID_NAME 0x01
#define MQ_VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define MQ_VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define MQ_VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define MQ_VIRTIO_INPUT_CFG_EV_BITS 0x11
#define MQ_VIRTIO_INPUT_CFG_ABS_INFO 0x12

/* The evdev codes this device uses (Linux include/uapi/linux/input-event-codes.h). */
#define MQ_INPUT_EV_SYN 0x00
#define MQ_INPUT_EV_KEY 0x01
#define MQ_INPUT_SYN_REPORT 0
#define MQ_INPUT_KEY_POWER 116
#define MQ_INPUT_BUS_VIRTUAL 0x06

/* One event on either queue (struct virtio_input_event): le16 type, le16 code, le32 value. */
#define MQ_VIRTIO_INPUT_EVENT_SIZE 8

/*
 * Events the device holds while the driver has no event buffer posted: 16
 * key presses. Linux keeps 64 buffers posted and refills them from its
 * interrupt handler, so this only fills up when the guest stopped reading.
 */
#define MQ_VIRTIO_INPUT_PENDING_MAX 64

/* The name the device reports (VIRTIO_INPUT_CFG_ID_NAME), as the guest's input device name. */
#define MQ_VIRTIO_INPUT_NAME "maquina power button"

struct mq_virtio_input;

/*
 * Attach a virtio-input model to vdev (an empty virtio device). Queue
 * work runs on loop's thread, or inside the queue notify when loop is
 * NULL. *out stays valid until mq_virtio_dev_fini(vdev). 0 or -ENOMEM.
 */
int mq_virtio_input_create(struct mq_virtio_dev *vdev, struct mq_event_loop *loop,
                           struct mq_virtio_input **out);

/*
 * Press and release key code: queues EV_KEY code 1, EV_SYN SYN_REPORT,
 * EV_KEY code 0, EV_SYN SYN_REPORT, and delivers what the driver has
 * buffers for at once (the rest as buffers arrive). All four events or
 * none are queued. Only KEY_POWER is offered, so only it is accepted.
 * Returns 0, -EINVAL (another code), -ENODEV (the driver is not ready:
 * not DRIVER_OK, the event queue not enabled, or the device needs reset;
 * nothing is queued, so a driver that comes up later sees no stale key)
 * or -ENOBUFS (MQ_VIRTIO_INPUT_PENDING_MAX events already wait).
 * Thread-safe; must not be called any more once mq_virtio_dev_fini(vdev)
 * has started.
 */
int mq_virtio_input_press_key(struct mq_virtio_input *in, uint16_t code);

/* Events queued and not yet delivered to the driver. Thread-safe. */
unsigned mq_virtio_input_pending(struct mq_virtio_input *in);

#endif
