/* SPDX-License-Identifier: MIT */
/* A fake guest NIC for the switch and tap backend tests: frames into a queue. */
#ifndef MQ_NET_SWITCH_TEST_NIC_H
#define MQ_NET_SWITCH_TEST_NIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define NIC_MAX 4096

struct nic {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool refuse;      /* "no room": the backend must hold the frame */
    unsigned refused;
    unsigned n;       /* frames taken */
    uint16_t filter;  /* ethertype to keep; 0: all */
    uint8_t last[2048];
    size_t last_len;
};

static inline bool nic_receive(void *opaque, const uint8_t *f, size_t len)
{
    struct nic *c = opaque;
    bool ok;

    pthread_mutex_lock(&c->lock);
    ok = !c->refuse;
    if (!ok)
        c->refused++;
    else if (len >= 14 && (!c->filter || (f[12] << 8 | f[13]) == c->filter)) {
        c->n++;
        c->last_len = len < sizeof(c->last) ? len : sizeof(c->last);
        memcpy(c->last, f, c->last_len);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static inline void nic_init(struct nic *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
}

/* Wait until at least n frames arrived (at most ms). */
static inline bool nic_wait(struct nic *c, unsigned n, int ms)
{
    struct timespec ts;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->lock);
    while (c->n < n && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
        ;
    ok = c->n >= n;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static inline unsigned nic_count(struct nic *c)
{
    unsigned n;

    pthread_mutex_lock(&c->lock);
    n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

#endif
