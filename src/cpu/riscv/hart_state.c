/* SPDX-License-Identifier: MIT */
/*
 * The hart's snapshot state (see rv_hart_save in hart.h): every
 * architectural register, checked on load against the same WARL rules the
 * CSR instructions apply (privileged spec 20211203, chapters 2-4).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "cpu/riscv/hart_internal.h"
#include "util/state.h"

#define HART_STATE_VERSION 1u

/* CSR numbers (privileged spec table 2.2-2.5); csr.c keeps its own list private. */
enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002,
    CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106, CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140,
    CSR_SEPC = 0x141, CSR_SCAUSE = 0x142, CSR_STVAL = 0x143, CSR_STIMECMP = 0x14d,
    CSR_SATP = 0x180,
    CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
    CSR_MCOUNTINHIBIT = 0x320, CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
    CSR_MTVAL = 0x343, CSR_MIP = 0x344, CSR_PMPCFG0 = 0x3a0, CSR_PMPADDR0 = 0x3b0,
};

/*
 * The CSRs whose stored field is exactly what a CSR write of the value
 * leaves behind, in stream order. The order is also the order in which
 * load replays them on a scratch hart, and it matters: fflags/frm before
 * mstatus (an FP CSR write sets FS dirty), mip before menvcfg (with STCE
 * set the instruction may not write STIP, but the timer did).
 */
struct csr_field {
    const char *name;
    unsigned csr;
    size_t off;    /* of the field in struct rv_hart */
    bool wide;     /* uint64_t, else uint32_t */
};

#define F64(name, csr, field) {name, csr, offsetof(struct rv_hart, field), true}
#define F32(name, csr, field) {name, csr, offsetof(struct rv_hart, field), false}

static const struct csr_field csr_fields[] = {
    F32("fflags", CSR_FFLAGS, fflags),
    F32("frm", CSR_FRM, frm),
    F64("mip", CSR_MIP, mip_sw),
    F64("menvcfg", CSR_MENVCFG, menvcfg),
    F64("senvcfg", CSR_SENVCFG, senvcfg),
    F64("mstatus", CSR_MSTATUS, mstatus),
    F64("medeleg", CSR_MEDELEG, medeleg),
    F64("mideleg", CSR_MIDELEG, mideleg),
    F64("mie", CSR_MIE, mie),
    F64("mtvec", CSR_MTVEC, mtvec),
    F64("stvec", CSR_STVEC, stvec),
    F64("mscratch", CSR_MSCRATCH, mscratch),
    F64("sscratch", CSR_SSCRATCH, sscratch),
    F64("mepc", CSR_MEPC, mepc),
    F64("sepc", CSR_SEPC, sepc),
    F64("mcause", CSR_MCAUSE, mcause),
    F64("scause", CSR_SCAUSE, scause),
    F64("mtval", CSR_MTVAL, mtval),
    F64("stval", CSR_STVAL, stval),
    F64("satp", CSR_SATP, satp),
    F32("mcounteren", CSR_MCOUNTEREN, mcounteren),
    F32("scounteren", CSR_SCOUNTEREN, scounteren),
    F32("mcountinhibit", CSR_MCOUNTINHIBIT, mcountinhibit),
    F64("stimecmp", CSR_STIMECMP, stimecmp),
};

static uint64_t field_get(const struct rv_hart *h, const struct csr_field *f)
{
    const char *p = (const char *)h + f->off;

    return f->wide ? *(const uint64_t *)(const void *)p : *(const uint32_t *)(const void *)p;
}

static void field_set(struct rv_hart *h, const struct csr_field *f, uint64_t v)
{
    char *p = (char *)h + f->off;

    if (f->wide)
        *(uint64_t *)(void *)p = v;
    else
        *(uint32_t *)(void *)p = (uint32_t)v;
}

static uint64_t misa_of(struct rv_hart *h)
{
    uint64_t v = 0;

    rv_csr_read(h, CSR_MISA, &v);
    return v;
}

/*
 * Not saved:
 * - mip_hw (MSIP, MTIP, MEIP, SEIP from devices): device state. The CLINT
 *   and the PLIC drive every line of every hart, raised or lowered, when
 *   they are loaded, and MTIP is recomputed from mtimecmp before the next
 *   instruction runs.
 * - mtimecmp: the CLINT saves it and hands it to the hart on load.
 * - the LR reservation: it is dropped on load, as a context switch may
 *   drop it. The A extension (unpriv spec 8.2-8.3) lets an SC fail with
 *   no conflicting store, so software retries its LR/SC loops and the
 *   restored guest sees at most one extra iteration.
 * - TLBs and decoded instructions: caches, rebuilt on demand.
 * - instret_trapped: a count for the instruction trace, not architectural.
 */
int rv_hart_save(struct rv_hart *h, struct mq_state_writer *w)
{
    mq_state_set_version(w, HART_STATE_VERSION);
    mq_state_put_u32(w, h->hartid);
    mq_state_put_u64(w, misa_of(h));
    mq_state_put_u8(w, (uint8_t)h->max_satp_mode);
    mq_state_put_u8(w, (uint8_t)h->priv);
    mq_state_put_bool(w, h->wfi);
    mq_state_put_u64(w, h->pc);
    for (unsigned i = 1; i < 32; i++)
        mq_state_put_u64(w, h->x[i]);
    for (unsigned i = 0; i < 32; i++)
        mq_state_put_u64(w, h->f[i]);
    mq_state_put_u64(w, h->instret);
    mq_state_put_u64(w, h->cycle_offset);
    mq_state_put_u64(w, h->instret_offset);
    for (unsigned i = 0; i < RV_PMP_COUNT; i++)
        mq_state_put_u64(w, h->pmpaddr[i]);
    mq_state_put_bytes(w, h->pmpcfg, RV_PMP_COUNT);
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(csr_fields); i++) {
        const struct csr_field *f = &csr_fields[i];
        if (f->wide)
            mq_state_put_u64(w, field_get(h, f));
        else
            mq_state_put_u32(w, (uint32_t)field_get(h, f));
    }
    return mq_state_writer_error(w);
}

/* What the stream says, before any of it is believed. */
struct hart_image {
    uint32_t hartid;
    uint64_t misa;
    uint8_t max_satp_mode, priv;
    bool wfi;
    uint64_t pc, x[32], f[32];
    uint64_t instret, cycle_offset, instret_offset;
    uint64_t pmpaddr[RV_PMP_COUNT];
    uint8_t pmpcfg[RV_PMP_COUNT];
    uint64_t csr[MQ_ARRAY_SIZE(csr_fields)];
};

static void read_image(struct mq_state_reader *r, struct hart_image *im)
{
    im->hartid = mq_state_get_u32(r);
    im->misa = mq_state_get_u64(r);
    im->max_satp_mode = mq_state_get_u8(r);
    im->priv = mq_state_get_u8(r);
    im->wfi = mq_state_get_bool(r);
    im->pc = mq_state_get_u64(r);
    im->x[0] = 0;
    for (unsigned i = 1; i < 32; i++)
        im->x[i] = mq_state_get_u64(r);
    for (unsigned i = 0; i < 32; i++)
        im->f[i] = mq_state_get_u64(r);
    im->instret = mq_state_get_u64(r);
    im->cycle_offset = mq_state_get_u64(r);
    im->instret_offset = mq_state_get_u64(r);
    for (unsigned i = 0; i < RV_PMP_COUNT; i++)
        im->pmpaddr[i] = mq_state_get_u64(r);
    mq_state_get_bytes(r, im->pmpcfg, RV_PMP_COUNT);
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(csr_fields); i++)
        im->csr[i] = csr_fields[i].wide ? mq_state_get_u64(r) : mq_state_get_u32(r);
}

static uint64_t image_csr(const struct hart_image *im, unsigned csr)
{
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(csr_fields); i++) {
        if (csr_fields[i].csr == csr)
            return im->csr[i];
    }
    return 0;
}

static const char *satp_modes(unsigned max)
{
    return max >= 9 ? "Bare, Sv39 and Sv48" : "Bare and Sv39";
}

/* The checks with a message of their own; the WARL replay below catches the rest. */
static int check_config(struct rv_hart *h, struct mq_state_reader *r,
                        const struct hart_image *im)
{
    uint64_t satp = image_csr(im, CSR_SATP), mstatus = image_csr(im, CSR_MSTATUS);
    unsigned mode = (unsigned)(satp >> 60);

    if (im->hartid != h->hartid)
        mq_state_reader_fail(r, -EINVAL, "saved state is of hart %u, this is hart %u",
                             im->hartid, h->hartid);
    else if (im->misa != misa_of(h))
        mq_state_reader_fail(r, -EINVAL, "misa 0x%llx, this hart implements 0x%llx",
                             (unsigned long long)im->misa, (unsigned long long)misa_of(h));
    else if (im->max_satp_mode != h->max_satp_mode)
        mq_state_reader_fail(r, -EINVAL, "saved on a hart offering %s, this one offers %s",
                             satp_modes(im->max_satp_mode), satp_modes(h->max_satp_mode));
    else if (im->priv != RV_PRIV_U && im->priv != RV_PRIV_S && im->priv != RV_PRIV_M)
        mq_state_reader_fail(r, -EINVAL, "privilege mode %u does not exist (0, 1 or 3)",
                             im->priv);
    else if (im->pc & 1)
        mq_state_reader_fail(r, -EINVAL, "pc 0x%llx is not 2-byte aligned",
                             (unsigned long long)im->pc);
    else if (mode != 0 && mode != 8 && !(mode == 9 && h->max_satp_mode >= 9))
        mq_state_reader_fail(r, -EINVAL, "satp 0x%llx: mode %u is not offered (this hart "
                             "has %s)", (unsigned long long)satp, mode,
                             satp_modes(h->max_satp_mode));
    else if (((mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
        mq_state_reader_fail(r, -EINVAL, "mstatus 0x%llx: MPP = 2 is not a mode of this hart",
                             (unsigned long long)mstatus);
    return mq_state_reader_error(r);
}

/*
 * Replay the saved CSR values through the CSR write paths on a scratch
 * hart that starts with nothing locked, and refuse any value the hardware
 * would not have kept as written. That is exactly the set of values the
 * guest could have produced, with no second copy of the WARL rules to
 * drift from csr.c.
 */
static int check_warl(struct rv_hart *h, struct mq_state_reader *r,
                      const struct hart_image *im)
{
    struct rv_hart *s = calloc(1, sizeof(*s));

    if (!s) {
        mq_state_reader_fail(r, -ENOMEM, "out of memory");
        return mq_state_reader_error(r);
    }
    s->hartid = h->hartid;
    s->max_satp_mode = h->max_satp_mode;
    /* UXL and SXL are read-only: the hart holds their only legal value. */
    s->mstatus = h->mstatus & (MSTATUS_UXL | MSTATUS_SXL);
    /* Addresses first: a locked entry ignores later address writes. */
    for (unsigned i = 0; i < RV_PMP_COUNT; i++) {
        rv_csr_write(s, CSR_PMPADDR0 + i, im->pmpaddr[i]);
        if (s->pmpaddr[i] != im->pmpaddr[i]) {
            mq_state_reader_fail(r, -EINVAL, "pmpaddr%u 0x%llx has bits above 54", i,
                                 (unsigned long long)im->pmpaddr[i]);
            goto out;
        }
    }
    for (unsigned reg = 0; reg < RV_PMP_COUNT / 4; reg += 2) {
        uint64_t v = 0;
        for (unsigned b = 0; b < 8; b++)
            v |= (uint64_t)im->pmpcfg[reg * 4 + b] << (8 * b);
        rv_csr_write(s, CSR_PMPCFG0 + reg, v);
    }
    for (unsigned i = 0; i < RV_PMP_COUNT; i++) {
        if (s->pmpcfg[i] != im->pmpcfg[i]) {
            mq_state_reader_fail(r, -EINVAL, "pmp%ucfg 0x%02x is not legal (reserved bits "
                                 "or W without R)", i, im->pmpcfg[i]);
            goto out;
        }
    }
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(csr_fields); i++) {
        const struct csr_field *f = &csr_fields[i];

        rv_csr_write(s, f->csr, im->csr[i]);
        if (field_get(s, f) != im->csr[i]) {
            mq_state_reader_fail(r, -EINVAL, "%s 0x%llx is not a value this hart can hold "
                                 "(a CSR write leaves 0x%llx)", f->name,
                                 (unsigned long long)im->csr[i],
                                 (unsigned long long)field_get(s, f));
            goto out;
        }
    }
out:
    free(s);
    return mq_state_reader_error(r);
}

static void apply_image(struct rv_hart *h, const struct hart_image *im)
{
    memcpy(h->x, im->x, sizeof(h->x));
    memcpy(h->f, im->f, sizeof(h->f));
    h->pc = im->pc;
    h->priv = im->priv;
    h->wfi = im->wfi;
    h->instret = im->instret;
    h->cycle_offset = im->cycle_offset;
    h->instret_offset = im->instret_offset;
    memcpy(h->pmpaddr, im->pmpaddr, sizeof(h->pmpaddr));
    memcpy(h->pmpcfg, im->pmpcfg, sizeof(h->pmpcfg));
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(csr_fields); i++)
        field_set(h, &csr_fields[i], im->csr[i]);
    h->lr_valid = false;
    /* Derived state, as the CSR writes and trap paths maintain it. */
    rv_pmp_recompute(h);
    rv_tlb_flush(h);
    /* RAM may have been replaced under the decoded pages without a code-write notice. */
    rv_dcache_flush(h);
    h->fetch_dpage = NULL;
    rv_update_mode(h);
}

int rv_hart_load(struct rv_hart *h, struct mq_state_reader *r)
{
    struct hart_image im;

    if (mq_state_expect_version(r, HART_STATE_VERSION, HART_STATE_VERSION))
        return mq_state_reader_error(r);
    memset(&im, 0, sizeof(im));
    read_image(r, &im);
    if (mq_state_reader_error(r) || check_config(h, r, &im) || check_warl(h, r, &im))
        return mq_state_reader_error(r);
    apply_image(h, &im);
    return 0;
}
