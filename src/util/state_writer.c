/* SPDX-License-Identifier: MIT */
/* The machine-state stream writer: sections, typed fields, zstd-compressed RAM, CRC-32 trailer. */
#include "util/state_int.h"

/* ======================= writer ======================= */

struct mq_state_writer {
    uint8_t *buf;
    size_t len, cap;
    int err;
    char errmsg[ERRMSG_BYTES];
    bool finished;

    bool in_section;
    char sec_name[MQ_STATE_NAME_MAX + 1];
    size_t sec_start;   /* offset of the section's version field */
    uint32_t sec_version;

    /* Names already written, for the uniqueness check (few: harts + devices). */
    char (*names)[MQ_STATE_NAME_MAX + 1];
    unsigned nnames, names_cap;

    ZSTD_CCtx *cctx;
    uint8_t *stage;     /* MQ_STATE_RAM_CHUNK_PAGES pages */
};

void mq_state_writer_fail(struct mq_state_writer *w, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    format_error(w->errmsg, w->in_section ? w->sec_name : NULL, &w->err, err, fmt, ap);
    va_end(ap);
}

int mq_state_writer_error(const struct mq_state_writer *w)
{
    return w->err;
}

const char *mq_state_writer_errmsg(const struct mq_state_writer *w)
{
    return w->errmsg;
}

/* Room for n more bytes, returned as a pointer valid until the next reserve. */
static uint8_t *w_reserve(struct mq_state_writer *w, size_t n)
{
    uint8_t *p;

    if (w->err)
        return NULL;
    if (w->finished) {
        mq_state_writer_fail(w, -EINVAL, "write after the stream was finished");
        return NULL;
    }
    if (n > w->cap - w->len) {
        size_t need, cap = w->cap ? w->cap : 4096;

        if (n > SIZE_MAX - w->len) {
            mq_state_writer_fail(w, -ENOMEM, "stream larger than the address space");
            return NULL;
        }
        need = w->len + n;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        p = realloc(w->buf, cap);
        if (!p) {
            mq_state_writer_fail(w, -ENOMEM, "out of memory growing the stream to %zu bytes",
                                 cap);
            return NULL;
        }
        w->buf = p;
        w->cap = cap;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

int mq_state_writer_create(struct mq_state_writer **out)
{
    struct mq_state_writer *w = calloc(1, sizeof(*w));
    uint8_t *p;

    *out = NULL;
    if (!w)
        return -ENOMEM;
    p = w_reserve(w, HEADER_BYTES);
    if (!p) {
        mq_state_writer_free(w);
        return -ENOMEM;
    }
    memcpy(p, state_magic, sizeof(state_magic));
    mq_put_le32(p + 8, MQ_STATE_FORMAT_VERSION);
    mq_put_le32(p + 12, 0);
    *out = w;
    return 0;
}

void mq_state_writer_free(struct mq_state_writer *w)
{
    if (!w)
        return;
    ZSTD_freeCCtx(w->cctx);
    free(w->stage);
    free(w->names);
    free(w->buf);
    free(w);
}

static bool name_used(const struct mq_state_writer *w, const char *name)
{
    for (unsigned i = 0; i < w->nnames; i++) {
        if (!strcmp(w->names[i], name))
            return true;
    }
    return false;
}

static int remember_name(struct mq_state_writer *w, const char *name)
{
    if (w->nnames == w->names_cap) {
        unsigned cap = w->names_cap ? w->names_cap * 2 : 32;
        void *p = realloc(w->names, cap * sizeof(*w->names));

        if (!p) {
            mq_state_writer_fail(w, -ENOMEM, "out of memory");
            return w->err;
        }
        w->names = p;
        w->names_cap = cap;
    }
    memcpy(w->names[w->nnames++], name, strlen(name) + 1);
    return 0;
}

int mq_state_begin_section(struct mq_state_writer *w, const char *name)
{
    size_t nlen = name ? strnlen(name, MQ_STATE_NAME_MAX + 1) : 0;
    uint8_t *p;

    if (w->err)
        return w->err;
    if (w->in_section) {
        mq_state_writer_fail(w, -EINVAL, "section '%s' begun inside this one",
                             name ? name : "(null)");
        return w->err;
    }
    if (!name_ok(name, nlen)) {
        mq_state_writer_fail(w, -EINVAL, "illegal section name '%.*s'", (int)nlen,
                             name ? name : "");
        return w->err;
    }
    if (name_used(w, name)) {
        mq_state_writer_fail(w, -EINVAL, "section '%s' written twice", name);
        return w->err;
    }
    if (w->nnames >= MQ_STATE_MAX_SECTIONS) {
        mq_state_writer_fail(w, -E2BIG, "more than %u sections", MQ_STATE_MAX_SECTIONS);
        return w->err;
    }
    p = w_reserve(w, 1 + nlen + 12);
    if (!p)
        return w->err;
    p[0] = (uint8_t)nlen;
    memcpy(p + 1, name, nlen);
    /* Version and length are patched in by mq_state_end_section(). */
    memset(p + 1 + nlen, 0, 12);
    w->sec_start = w->len - 12;
    memcpy(w->sec_name, name, nlen + 1);
    w->sec_version = 0;
    w->in_section = true;
    return 0;
}

void mq_state_set_version(struct mq_state_writer *w, uint32_t version)
{
    if (!w->in_section) {
        mq_state_writer_fail(w, -EINVAL, "section version set with no section open");
        return;
    }
    if (version == 0) {
        mq_state_writer_fail(w, -EINVAL, "section version 0 is reserved");
        return;
    }
    w->sec_version = version;
}

int mq_state_end_section(struct mq_state_writer *w)
{
    size_t payload;

    if (!w->in_section) {
        mq_state_writer_fail(w, -EINVAL, "end of a section that was never begun");
        return w->err;
    }
    if (!w->err && w->sec_version == 0)
        mq_state_writer_fail(w, -EINVAL, "no section version was set");
    w->in_section = false;
    if (w->err)
        return w->err;
    payload = w->len - (w->sec_start + 12);
    mq_put_le32(w->buf + w->sec_start, w->sec_version);
    mq_put_le64(w->buf + w->sec_start + 4, payload);
    return remember_name(w, w->sec_name);
}

/* Room for a field of n value bytes after its tag. */
static uint8_t *w_field(struct mq_state_writer *w, uint8_t tag, size_t n)
{
    uint8_t *p;

    if (!w->in_section && !w->err) {
        mq_state_writer_fail(w, -EINVAL, "%s field written with no section open",
                             tag_name(tag));
        return NULL;
    }
    p = w_reserve(w, 1 + n);
    if (!p)
        return NULL;
    p[0] = tag;
    return p + 1;
}

void mq_state_put_u8(struct mq_state_writer *w, uint8_t v)
{
    uint8_t *p = w_field(w, TAG_U8, 1);

    if (p)
        p[0] = v;
}

void mq_state_put_u16(struct mq_state_writer *w, uint16_t v)
{
    uint8_t *p = w_field(w, TAG_U16, 2);

    if (p)
        mq_put_le16(p, v);
}

void mq_state_put_u32(struct mq_state_writer *w, uint32_t v)
{
    uint8_t *p = w_field(w, TAG_U32, 4);

    if (p)
        mq_put_le32(p, v);
}

void mq_state_put_u64(struct mq_state_writer *w, uint64_t v)
{
    uint8_t *p = w_field(w, TAG_U64, 8);

    if (p)
        mq_put_le64(p, v);
}

void mq_state_put_bool(struct mq_state_writer *w, bool v)
{
    mq_state_put_u8(w, v ? 1 : 0);
}

void mq_state_put_bytes(struct mq_state_writer *w, const void *buf, size_t len)
{
    uint8_t *p;

    if (len > UINT32_MAX) {
        mq_state_writer_fail(w, -EOVERFLOW, "bytes field of %zu bytes (4 GiB at most)", len);
        return;
    }
    p = w_field(w, TAG_BYTES, 4 + len);
    if (!p)
        return;
    mq_put_le32(p, (uint32_t)len);
    if (len)
        memcpy(p + 4, buf, len);
}

/* One chunk of n pages: bitmap of stored pages and their zstd frame. */
static int put_ram_chunk(struct mq_state_writer *w, const uint8_t *src, unsigned n)
{
    size_t bm_bytes = (n + 7) / 8, hdr = w->len, stored = 0, bound, comp = 0;
    uint8_t *p = w_reserve(w, 4 + bm_bytes);

    if (!p)
        return w->err;
    memset(p + 4, 0, bm_bytes);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *page = src + (size_t)i * MQ_STATE_PAGE_SIZE;

        if (page_is_zero(page))
            continue;
        w->buf[hdr + 4 + i / 8] |= (uint8_t)(1u << (i % 8));
        memcpy(w->stage + stored * MQ_STATE_PAGE_SIZE, page, MQ_STATE_PAGE_SIZE);
        stored++;
    }
    if (stored) {
        bound = ZSTD_compressBound(stored * MQ_STATE_PAGE_SIZE);
        p = w_reserve(w, bound);
        if (!p)
            return w->err;
        comp = ZSTD_compressCCtx(w->cctx, p, bound, w->stage, stored * MQ_STATE_PAGE_SIZE,
                                 RAM_ZSTD_LEVEL);
        if (ZSTD_isError(comp)) {
            mq_state_writer_fail(w, -EIO, "zstd compression failed: %s",
                                 ZSTD_getErrorName(comp));
            return w->err;
        }
        /* Give back what the frame did not use. */
        w->len -= bound - comp;
    }
    /* comp <= ZSTD_compressBound(1 MiB), far below 4 GiB. */
    mq_put_le32(w->buf + hdr, (uint32_t)comp);
    return 0;
}

int mq_state_put_ram(struct mq_state_writer *w, const uint8_t *host, uint64_t size)
{
    uint64_t pages = size / MQ_STATE_PAGE_SIZE;
    uint8_t *p;

    if (size % MQ_STATE_PAGE_SIZE) {
        mq_state_writer_fail(w, -EINVAL, "RAM size %llu is not a multiple of %u",
                             (unsigned long long)size, MQ_STATE_PAGE_SIZE);
        return w->err;
    }
    p = w_field(w, TAG_RAM, 16);
    if (!p)
        return w->err;
    mq_put_le64(p, size);
    mq_put_le32(p + 8, MQ_STATE_PAGE_SIZE);
    mq_put_le32(p + 12, MQ_STATE_RAM_CHUNK_PAGES);
    if (!w->cctx)
        w->cctx = ZSTD_createCCtx();
    if (!w->stage)
        w->stage = malloc((size_t)MQ_STATE_RAM_CHUNK_PAGES * MQ_STATE_PAGE_SIZE);
    if (!w->cctx || !w->stage) {
        mq_state_writer_fail(w, -ENOMEM, "out of memory for RAM compression");
        return w->err;
    }
    for (uint64_t first = 0; first < pages; first += MQ_STATE_RAM_CHUNK_PAGES) {
        unsigned n = (unsigned)MQ_MIN(pages - first, (uint64_t)MQ_STATE_RAM_CHUNK_PAGES);

        if (put_ram_chunk(w, host + first * MQ_STATE_PAGE_SIZE, n))
            return w->err;
    }
    return 0;
}

int mq_state_writer_finish(struct mq_state_writer *w, const void **data, size_t *len)
{
    uint8_t *p;

    *data = NULL;
    *len = 0;
    if (w->finished && !w->err) {
        *data = w->buf;
        *len = w->len;
        return 0;
    }
    if (w->in_section)
        mq_state_writer_fail(w, -EINVAL, "stream finished inside a section");
    p = w_reserve(w, TRAILER_BYTES);
    if (!p)
        return w->err;
    p[0] = 0;
    mq_put_le32(p + 1, crc32_of(w->buf, w->len - 4));
    w->finished = true;
    *data = w->buf;
    *len = w->len;
    return 0;
}
