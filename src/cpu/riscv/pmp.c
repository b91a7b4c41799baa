/* SPDX-License-Identifier: MIT */
/*
 * Physical memory protection (privileged spec 3.7): 16 entries with OFF,
 * TOR, NA4 and NAPOT matching, the lock bit, lowest-numbered match wins,
 * and S/U accesses that match no entry fail.
 */
#include "cpu/riscv/hart_internal.h"

enum { PMP_R = 1, PMP_W = 2, PMP_X = 4, PMP_L = 0x80 };

void rv_pmp_recompute(struct rv_hart *h)
{
    h->pmp_active = false;
    for (unsigned i = 0; i < RV_PMP_COUNT; i++) {
        unsigned mode = (h->pmpcfg[i] >> 3) & 3;
        uint64_t addr = h->pmpaddr[i];
        uint64_t lo = 0, hi = 0;

        switch (mode) {
        case 1: /* TOR */
            lo = i ? h->pmpaddr[i - 1] << 2 : 0;
            hi = addr << 2;
            break;
        case 2: /* NA4 */
            lo = addr << 2;
            hi = lo + 4;
            break;
        case 3: { /* NAPOT: trailing ones give the size */
            unsigned t = (unsigned)__builtin_ctzll(~addr);
            if (t >= 54) {
                lo = 0;
                hi = UINT64_MAX;
            } else {
                uint64_t size = 1ull << (t + 3);
                lo = (addr << 2) & ~(size - 1);
                hi = lo + size;
            }
            break;
        }
        default: break;
        }
        if (hi <= lo)
            lo = hi = 0; /* empty range never matches */
        h->pmp_lo[i] = lo;
        h->pmp_hi[i] = hi;
        if (mode)
            h->pmp_active = true;
    }
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t lo, uint64_t hi)
{
    return a < hi && a + alen > lo;
}

bool rv_pmp_check(const struct rv_hart *h, uint64_t pa, uint64_t len, enum rv_access acc,
                  unsigned priv)
{
    static const uint8_t need[3] = {PMP_R, PMP_W, PMP_X};

    if (!h->pmp_active)
        return priv == RV_PRIV_M;
    for (unsigned i = 0; i < RV_PMP_COUNT; i++) {
        uint8_t cfg = h->pmpcfg[i];
        uint64_t lo = h->pmp_lo[i], hi = h->pmp_hi[i];

        if (!((cfg >> 3) & 3) || !overlaps(pa, len, lo, hi))
            continue;
        /* An access matching only part of an entry fails. */
        if (pa < lo || pa + len > hi || pa + len < pa)
            return false;
        if (priv == RV_PRIV_M && !(cfg & PMP_L))
            return true;
        return (cfg & need[acc]) != 0;
    }
    return priv == RV_PRIV_M;
}

bool rv_pmp_page_uniform(const struct rv_hart *h, uint64_t pa, enum rv_access acc,
                         unsigned priv)
{
    uint64_t page = pa & ~0xfffull;

    if (!h->pmp_active)
        return true;
    for (unsigned i = 0; i < RV_PMP_COUNT; i++) {
        if (!((h->pmpcfg[i] >> 3) & 3) || !overlaps(page, 4096, h->pmp_lo[i], h->pmp_hi[i]))
            continue;
        /* The first entry touching the page decides: it must cover all of it. */
        return page >= h->pmp_lo[i] && page + 4096 <= h->pmp_hi[i];
    }
    return true;
}
