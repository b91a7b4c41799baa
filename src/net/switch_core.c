/* SPDX-License-Identifier: MIT */
/*
 * The learning switch core (net/switch_core.h): IEEE 802.1D-style
 * learning and forwarding, without spanning tree. The MAC table is an
 * open-addressing hash table with linear probing; removed entries become
 * tombstones so probe chains stay intact, and mq_switch_age() rebuilds the
 * table without them.
 */
#include "net/switch_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_EMPTY (-1) /* never used: ends a probe chain */
#define SLOT_DEAD (-2)  /* tombstone: a removed entry */

struct qframe {
    struct qframe *next;
    size_t len;
    uint8_t data[];
};

struct port {
    bool used;
    struct qframe *head, *tail;
    unsigned count;
    size_t bytes;
    struct mq_switch_port_stats st;
};

struct mac_slot {
    uint8_t mac[6];
    int32_t port; /* >= 0, SLOT_EMPTY or SLOT_DEAD */
    uint64_t seen_ns;
};

struct mq_switch {
    struct mq_switch_config cfg;
    struct port *ports;
    unsigned nports;
    struct mac_slot *macs;
    unsigned mac_mask;
    unsigned mac_used; /* slots not SLOT_EMPTY (live, aged or tombstones) */
};

static void table_clear(struct mac_slot *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        t[i].port = SLOT_EMPTY;
}

struct mq_switch *mq_switch_new(const struct mq_switch_config *cfg)
{
    struct mq_switch *sw = calloc(1, sizeof(*sw));
    unsigned cap = 16;

    if (!sw)
        return NULL;
    if (cfg)
        sw->cfg = *cfg;
    if (!sw->cfg.max_ports)
        sw->cfg.max_ports = 256;
    if (!sw->cfg.queue_frames)
        sw->cfg.queue_frames = 256;
    if (!sw->cfg.queue_bytes)
        sw->cfg.queue_bytes = 1u << 20;
    if (!sw->cfg.mac_capacity)
        sw->cfg.mac_capacity = 4096;
    if (!sw->cfg.aging_ns)
        sw->cfg.aging_ns = 300ull * 1000000000ull;
    if (sw->cfg.mac_capacity > (1u << 20))
        sw->cfg.mac_capacity = 1u << 20;
    while (cap < sw->cfg.mac_capacity)
        cap <<= 1;
    sw->mac_mask = cap - 1;
    sw->ports = calloc(sw->cfg.max_ports, sizeof(*sw->ports));
    sw->macs = calloc(cap, sizeof(*sw->macs));
    if (!sw->ports || !sw->macs) {
        mq_switch_free(sw);
        return NULL;
    }
    table_clear(sw->macs, cap);
    return sw;
}

static void queue_flush(struct port *p)
{
    while (p->head) {
        struct qframe *f = p->head;
        p->head = f->next;
        free(f);
    }
    p->tail = NULL;
    p->count = 0;
    p->bytes = 0;
}

void mq_switch_free(struct mq_switch *sw)
{
    if (!sw)
        return;
    for (unsigned i = 0; sw->ports && i < sw->cfg.max_ports; i++)
        queue_flush(&sw->ports[i]);
    free(sw->ports);
    free(sw->macs);
    free(sw);
}

static struct port *get_port(const struct mq_switch *sw, int port)
{
    if (port < 0 || (unsigned)port >= sw->cfg.max_ports || !sw->ports[port].used)
        return NULL;
    return &sw->ports[port];
}

int mq_switch_port_add(struct mq_switch *sw)
{
    for (unsigned i = 0; i < sw->cfg.max_ports; i++) {
        if (!sw->ports[i].used) {
            memset(&sw->ports[i], 0, sizeof(sw->ports[i]));
            sw->ports[i].used = true;
            sw->nports++;
            return (int)i;
        }
    }
    return -ENOSPC;
}

void mq_switch_port_remove(struct mq_switch *sw, int port)
{
    struct port *p = get_port(sw, port);

    if (!p)
        return;
    queue_flush(p);
    p->used = false;
    sw->nports--;
    for (unsigned i = 0; i <= sw->mac_mask; i++) {
        if (sw->macs[i].port == port)
            sw->macs[i].port = SLOT_DEAD;
    }
}

unsigned mq_switch_port_count(const struct mq_switch *sw)
{
    return sw->nports;
}

/* ---- MAC table ---- */

static unsigned mac_hash(const uint8_t mac[6])
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (int i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    return h;
}

static bool live(const struct mq_switch *sw, const struct mac_slot *s, uint64_t now)
{
    return s->port >= 0 && now - s->seen_ns < sw->cfg.aging_ns;
}

int mq_switch_mac_lookup(const struct mq_switch *sw, const uint8_t mac[6], uint64_t now_ns)
{
    unsigned h = mac_hash(mac);

    for (unsigned i = 0; i <= sw->mac_mask; i++) {
        const struct mac_slot *s = &sw->macs[(h + i) & sw->mac_mask];

        if (s->port == SLOT_EMPTY)
            return -1;
        if (s->port >= 0 && memcmp(s->mac, mac, 6) == 0)
            return live(sw, s, now_ns) ? s->port : -1;
    }
    return -1;
}

/* Rebuild the table with the live entries only. */
void mq_switch_age(struct mq_switch *sw, uint64_t now_ns)
{
    unsigned n = sw->mac_mask + 1;
    struct mac_slot *old = malloc(n * sizeof(*old));

    if (!old)
        return; /* the old table stays valid; try again next time */
    memcpy(old, sw->macs, n * sizeof(*old));
    table_clear(sw->macs, n);
    sw->mac_used = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned h;

        if (!live(sw, &old[i], now_ns))
            continue;
        h = mac_hash(old[i].mac);
        while (sw->macs[h & sw->mac_mask].port != SLOT_EMPTY)
            h++;
        sw->macs[h & sw->mac_mask] = old[i];
        sw->mac_used++;
    }
    free(old);
}

unsigned mq_switch_mac_count(const struct mq_switch *sw, uint64_t now_ns)
{
    unsigned n = 0;

    for (unsigned i = 0; i <= sw->mac_mask; i++)
        n += live(sw, &sw->macs[i], now_ns);
    return n;
}

/* Returns false when the table is full of live entries (the frame still floods). */
static bool mac_learn(struct mq_switch *sw, const uint8_t mac[6], int port, uint64_t now)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned h = mac_hash(mac);
        long reuse = -1, empty = -1;

        for (unsigned i = 0; i <= sw->mac_mask; i++) {
            unsigned idx = (h + i) & sw->mac_mask;
            struct mac_slot *s = &sw->macs[idx];

            if (s->port == SLOT_EMPTY) {
                empty = idx;
                break;
            }
            if (s->port >= 0 && memcmp(s->mac, mac, 6) == 0) {
                s->port = port; /* a move to another port is learned at once */
                s->seen_ns = now;
                return true;
            }
            if (reuse < 0 && !live(sw, s, now))
                reuse = idx;
        }
        if (reuse >= 0) {
            sw->macs[reuse] = (struct mac_slot){ .port = port, .seen_ns = now };
            memcpy(sw->macs[reuse].mac, mac, 6);
            return true;
        }
        /* Keep a quarter of the slots empty so probe chains end quickly. */
        if (empty >= 0 && sw->mac_used < (sw->mac_mask + 1) / 4 * 3) {
            sw->macs[empty] = (struct mac_slot){ .port = port, .seen_ns = now };
            memcpy(sw->macs[empty].mac, mac, 6);
            sw->mac_used++;
            return true;
        }
        if (attempt == 0)
            mq_switch_age(sw, now);
    }
    return false;
}

/* ---- forwarding ---- */

static bool enqueue(struct mq_switch *sw, struct port *p, const uint8_t *frame, size_t len)
{
    struct qframe *f;

    if (p->count >= sw->cfg.queue_frames || p->bytes + len > sw->cfg.queue_bytes) {
        p->st.tx_queue_full++;
        return false;
    }
    f = malloc(sizeof(*f) + len);
    if (!f) {
        p->st.tx_queue_full++;
        return false;
    }
    f->next = NULL;
    f->len = len;
    memcpy(f->data, frame, len);
    if (p->tail)
        p->tail->next = f;
    else
        p->head = f;
    p->tail = f;
    p->count++;
    p->bytes += len;
    p->st.tx_frames++;
    p->st.tx_bytes += len;
    return true;
}

static bool mac_is_zero(const uint8_t *m)
{
    return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

int mq_switch_input(struct mq_switch *sw, int port, const uint8_t *frame, size_t len,
                    uint64_t now_ns)
{
    struct port *in = get_port(sw, port);
    const uint8_t *dst = frame, *src;
    int out, n = 0;

    if (!in)
        return -ENOENT;
    if (!frame || len < MQ_SWITCH_MIN_FRAME || len > MQ_SWITCH_MAX_FRAME) {
        in->st.rx_malformed++;
        return -EINVAL;
    }
    /* A multicast or all-zero source is never a station (802.3 clause 3.2.3). */
    src = frame + 6;
    if ((src[0] & 1) || mac_is_zero(src)) {
        in->st.rx_malformed++;
        return -EINVAL;
    }
    in->st.rx_frames++;
    in->st.rx_bytes += len;
    mac_learn(sw, src, port, now_ns);
    out = (dst[0] & 1) ? -1 : mq_switch_mac_lookup(sw, dst, now_ns);
    if (out >= 0) {
        struct port *p = get_port(sw, out);

        /* Back out of the port it came from: the station is on that side already. */
        if (out == port || !p)
            return 0;
        return enqueue(sw, p, frame, len) ? 1 : 0;
    }
    for (unsigned i = 0; i < sw->cfg.max_ports; i++) {
        if (sw->ports[i].used && (int)i != port)
            n += enqueue(sw, &sw->ports[i], frame, len);
    }
    return n;
}

const uint8_t *mq_switch_port_peek(const struct mq_switch *sw, int port, size_t *len)
{
    struct port *p = get_port(sw, port);

    if (!p || !p->head)
        return NULL;
    *len = p->head->len;
    return p->head->data;
}

void mq_switch_port_pop(struct mq_switch *sw, int port)
{
    struct port *p = get_port(sw, port);
    struct qframe *f;

    if (!p || !p->head)
        return;
    f = p->head;
    p->head = f->next;
    if (!p->head)
        p->tail = NULL;
    p->count--;
    p->bytes -= f->len;
    free(f);
}

unsigned mq_switch_port_queued(const struct mq_switch *sw, int port)
{
    struct port *p = get_port(sw, port);

    return p ? p->count : 0;
}

struct mq_switch_port_stats mq_switch_port_stats(const struct mq_switch *sw, int port)
{
    struct port *p = get_port(sw, port);
    struct mq_switch_port_stats zero = {0};

    return p ? p->st : zero;
}
