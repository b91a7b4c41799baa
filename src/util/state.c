/* SPDX-License-Identifier: MIT */
/*
 * The machine-state stream (format in state.h): an in-memory writer and a
 * reader that trusts nothing it reads, with zero-page skipping and zstd
 * chunks for RAM and a zlib CRC-32 trailer.
 */
#include "util/state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/le.h"

static const char state_magic[8] = "MQSTATE";

#define HEADER_BYTES 16u   /* magic, format version, flags */
#define TRAILER_BYTES 5u   /* end marker, CRC-32 */
#define SECTION_FIXED 13u  /* name length, version, payload length (name excluded) */
#define ERRMSG_BYTES 320u
/* zstd level 1: the guest is paused while RAM is saved, so speed matters most. */
#define RAM_ZSTD_LEVEL 1

enum field_tag {
    TAG_U8 = 1,
    TAG_U16 = 2,
    TAG_U32 = 3,
    TAG_U64 = 4,
    TAG_BYTES = 5,
    TAG_RAM = 6,
};

static const char *tag_name(unsigned tag)
{
    static const char *const names[] = {"?", "u8", "u16", "u32", "u64", "bytes", "RAM"};

    return tag < MQ_ARRAY_SIZE(names) ? names[tag] : "unknown field type";
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._@:+/-", c) != NULL;
}

static bool name_ok(const char *name, size_t len)
{
    if (len == 0 || len > MQ_STATE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        /* strchr would match the terminating NUL: refuse it explicitly. */
        if (name[i] == '\0' || !name_char_ok(name[i]))
            return false;
    }
    return true;
}

static uint32_t crc32_of(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    /* zlib takes a uInt length: feed large streams in pieces. */
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

static bool page_is_zero(const uint8_t *p)
{
    /* Blocks of 64 bytes OR-ed together: vectorizes, exits early on data. */
    for (size_t off = 0; off < MQ_STATE_PAGE_SIZE; off += 64) {
        uint64_t acc = 0, v;
        for (size_t i = 0; i < 64; i += 8) {
            memcpy(&v, p + off + i, 8);
            acc |= v;
        }
        if (acc)
            return false;
    }
    return true;
}

MQ_PRINTF(5, 0)
static void format_error(char *dst, const char *section, int *err, int e, const char *fmt,
                         va_list ap)
{
    int n = 0;

    if (*err)
        return;
    *err = e < 0 ? e : -EINVAL;
    if (section)
        n = snprintf(dst, ERRMSG_BYTES, "section '%s': ", section);
    if (n < 0 || (unsigned)n >= ERRMSG_BYTES)
        n = 0;
    vsnprintf(dst + n, ERRMSG_BYTES - (size_t)n, fmt, ap);
}

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

/* ======================= reader ======================= */

struct section {
    char name[MQ_STATE_NAME_MAX + 1];
    uint32_t version;
    size_t off;         /* payload */
    size_t len;
    bool opened;
};

struct mq_state_reader {
    const uint8_t *data;
    size_t len;
    int err;
    char errmsg[ERRMSG_BYTES];

    struct section *secs;
    unsigned nsecs;
    unsigned *sorted;   /* section indexes sorted by name, for lookup */

    /* The open section: cur < 0 when none. pos and end are stream offsets. */
    int cur;
    size_t pos, end;
    unsigned field;     /* fields read so far, for messages */

    ZSTD_DCtx *dctx;
    uint8_t *stage;
    size_t stage_bytes;
};

void mq_state_reader_fail(struct mq_state_reader *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    format_error(r->errmsg, r->cur >= 0 ? r->secs[r->cur].name : NULL, &r->err, err, fmt,
                 ap);
    va_end(ap);
}

int mq_state_reader_error(const struct mq_state_reader *r)
{
    return r->err;
}

const char *mq_state_reader_errmsg(const struct mq_state_reader *r)
{
    return r->errmsg;
}

static int check_header(struct mq_state_reader *r)
{
    const uint8_t *d = r->data;
    uint32_t version, flags, stored, computed;

    if (r->len < sizeof(state_magic) || memcmp(d, state_magic, sizeof(state_magic))) {
        mq_state_reader_fail(r, -EBADMSG, "not a machine state stream (no MQSTATE magic)");
        return r->err;
    }
    if (r->len < HEADER_BYTES) {
        mq_state_reader_fail(r, -EBADMSG, "machine state truncated in its header (%zu bytes)",
                             r->len);
        return r->err;
    }
    /* The version comes before the checksum: a newer format may checksum differently. */
    version = mq_get_le32(d + 8);
    if (version != MQ_STATE_FORMAT_VERSION) {
        mq_state_reader_fail(r, -EPROTONOSUPPORT,
                             "machine state format version %u is not supported "
                             "(this maquina reads %u)", version, MQ_STATE_FORMAT_VERSION);
        return r->err;
    }
    flags = mq_get_le32(d + 12);
    if (flags) {
        mq_state_reader_fail(r, -EPROTONOSUPPORT,
                             "machine state flags 0x%x are not supported (this maquina "
                             "knows none)", flags);
        return r->err;
    }
    if (r->len < HEADER_BYTES + TRAILER_BYTES) {
        mq_state_reader_fail(r, -EBADMSG, "machine state truncated (%zu bytes, no trailer)",
                             r->len);
        return r->err;
    }
    stored = mq_get_le32(d + r->len - 4);
    computed = crc32_of(d, r->len - 4);
    if (stored != computed) {
        mq_state_reader_fail(r, -EBADMSG,
                             "machine state checksum mismatch (stored 0x%08x, computed "
                             "0x%08x): the stream is corrupt or truncated", stored, computed);
        return r->err;
    }
    return 0;
}

static int add_section(struct mq_state_reader *r, unsigned *cap, const uint8_t *name,
                       size_t nlen, uint32_t version, size_t off, size_t len)
{
    struct section *s;

    if (r->nsecs == MQ_STATE_MAX_SECTIONS) {
        mq_state_reader_fail(r, -EBADMSG, "machine state has more than %u sections",
                             MQ_STATE_MAX_SECTIONS);
        return r->err;
    }
    if (r->nsecs == *cap) {
        unsigned ncap = *cap ? *cap * 2 : 32;
        void *p = realloc(r->secs, ncap * sizeof(*r->secs));

        if (!p) {
            mq_state_reader_fail(r, -ENOMEM, "out of memory for the section table");
            return r->err;
        }
        r->secs = p;
        *cap = ncap;
    }
    s = &r->secs[r->nsecs++];
    memcpy(s->name, name, nlen);
    s->name[nlen] = '\0';
    s->version = version;
    s->off = off;
    s->len = len;
    s->opened = false;
    return 0;
}

/* Walk the sections between header and trailer; every length is checked. */
static int parse_sections(struct mq_state_reader *r)
{
    const uint8_t *d = r->data;
    size_t pos = HEADER_BYTES, limit = r->len - 4; /* the end marker lies below limit */
    unsigned cap = 0;

    for (;;) {
        size_t nlen, avail;
        uint64_t plen;
        uint32_t version;

        if (pos >= limit) {
            mq_state_reader_fail(r, -EBADMSG, "machine state has no end marker");
            return r->err;
        }
        nlen = d[pos];
        if (nlen == 0) {
            if (pos + 1 != limit) {
                mq_state_reader_fail(r, -EBADMSG,
                                     "%zu unexpected bytes after the end marker at offset %zu",
                                     limit - pos - 1, pos);
                return r->err;
            }
            return 0;
        }
        avail = limit - pos - 1;
        if (nlen + 12 > avail) {
            mq_state_reader_fail(r, -EBADMSG, "section header at offset %zu is truncated", pos);
            return r->err;
        }
        if (!name_ok((const char *)d + pos + 1, nlen)) {
            mq_state_reader_fail(r, -EBADMSG, "section at offset %zu has an illegal name", pos);
            return r->err;
        }
        version = mq_get_le32(d + pos + 1 + nlen);
        plen = mq_get_le64(d + pos + 1 + nlen + 4);
        avail -= nlen + 12;
        if (plen > avail) {
            mq_state_reader_fail(r, -EBADMSG,
                                 "section '%.*s' claims %llu bytes, only %zu remain", (int)nlen,
                                 (const char *)d + pos + 1, (unsigned long long)plen, avail);
            return r->err;
        }
        if (version == 0) {
            mq_state_reader_fail(r, -EBADMSG, "section '%.*s' has the reserved version 0",
                                 (int)nlen, (const char *)d + pos + 1);
            return r->err;
        }
        if (add_section(r, &cap, d + pos + 1, nlen, version, pos + 1 + nlen + 12,
                        (size_t)plen))
            return r->err;
        pos += 1 + nlen + 12 + (size_t)plen;
    }
}

/* Sorting (name, index) pairs keeps the comparator free of global state. */
struct sort_ent {
    const char *name;
    unsigned idx;
};

static int cmp_ent(const void *a, const void *b)
{
    return strcmp(((const struct sort_ent *)a)->name, ((const struct sort_ent *)b)->name);
}

static int build_index(struct mq_state_reader *r)
{
    struct sort_ent *ents;

    if (r->nsecs == 0)
        return 0;
    ents = malloc(r->nsecs * sizeof(*ents));
    r->sorted = malloc(r->nsecs * sizeof(*r->sorted));
    if (!ents || !r->sorted) {
        free(ents);
        mq_state_reader_fail(r, -ENOMEM, "out of memory for the section index");
        return r->err;
    }
    for (unsigned i = 0; i < r->nsecs; i++)
        ents[i] = (struct sort_ent){.name = r->secs[i].name, .idx = i};
    qsort(ents, r->nsecs, sizeof(*ents), cmp_ent);
    for (unsigned i = 0; i < r->nsecs; i++) {
        if (i && !strcmp(ents[i - 1].name, ents[i].name)) {
            mq_state_reader_fail(r, -EBADMSG, "section '%s' appears twice", ents[i].name);
            break;
        }
        r->sorted[i] = ents[i].idx;
    }
    free(ents);
    return r->err;
}

int mq_state_reader_open(const void *data, size_t len, struct mq_state_reader **out)
{
    struct mq_state_reader *r = calloc(1, sizeof(*r));

    *out = r;
    if (!r)
        return -ENOMEM;
    r->data = data;
    r->len = data ? len : 0;
    r->cur = -1;
    if (check_header(r) || parse_sections(r) || build_index(r))
        return r->err;
    return 0;
}

void mq_state_reader_free(struct mq_state_reader *r)
{
    if (!r)
        return;
    ZSTD_freeDCtx(r->dctx);
    free(r->stage);
    free(r->sorted);
    free(r->secs);
    free(r);
}

static int find_section(const struct mq_state_reader *r, const char *name)
{
    unsigned lo = 0, hi = r->nsecs;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = strcmp(name, r->secs[r->sorted[mid]].name);

        if (c == 0)
            return (int)r->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int mq_state_open_section(struct mq_state_reader *r, const char *name)
{
    int i;

    if (r->err)
        return r->err;
    if (r->cur >= 0) {
        mq_state_reader_fail(r, -EINVAL, "section '%s' opened inside this one", name);
        return r->err;
    }
    i = find_section(r, name);
    if (i < 0)
        return -ENOENT;
    if (r->secs[i].opened) {
        mq_state_reader_fail(r, -EINVAL, "section '%s' opened twice", name);
        return r->err;
    }
    r->secs[i].opened = true;
    r->cur = i;
    r->pos = r->secs[i].off;
    r->end = r->secs[i].off + r->secs[i].len;
    r->field = 0;
    return 0;
}

uint32_t mq_state_version(const struct mq_state_reader *r)
{
    return r->cur >= 0 ? r->secs[r->cur].version : 0;
}

int mq_state_expect_version(struct mq_state_reader *r, uint32_t min, uint32_t max)
{
    uint32_t v = mq_state_version(r);

    if (r->err)
        return r->err;
    if (r->cur < 0) {
        mq_state_reader_fail(r, -EINVAL, "version checked with no section open");
        return r->err;
    }
    if (v < min || v > max) {
        if (min == max)
            mq_state_reader_fail(r, -EPROTONOSUPPORT,
                                 "version %u is not supported (this maquina reads %u)", v,
                                 min);
        else
            mq_state_reader_fail(r, -EPROTONOSUPPORT,
                                 "version %u is not supported (this maquina reads %u..%u)",
                                 v, min, max);
    }
    return r->err;
}

int mq_state_close_section(struct mq_state_reader *r)
{
    if (r->cur < 0) {
        mq_state_reader_fail(r, -EINVAL, "close with no section open");
        return r->err;
    }
    if (!r->err && r->pos != r->end)
        mq_state_reader_fail(r, -EBADMSG, "%zu bytes left unread after %u fields",
                             r->end - r->pos, r->field);
    r->cur = -1;
    return r->err;
}

/* The value bytes of the next field, which must have this tag and n value bytes. */
static const uint8_t *r_field(struct mq_state_reader *r, uint8_t tag, size_t n)
{
    const uint8_t *p;

    if (r->err)
        return NULL;
    if (r->cur < 0) {
        mq_state_reader_fail(r, -EINVAL, "%s field read with no section open", tag_name(tag));
        return NULL;
    }
    if (r->pos >= r->end) {
        mq_state_reader_fail(r, -EBADMSG, "field %u (%s) missing: the section ends",
                             r->field, tag_name(tag));
        return NULL;
    }
    if (r->data[r->pos] != tag) {
        mq_state_reader_fail(r, -EBADMSG, "field %u is a %s, expected a %s", r->field,
                             tag_name(r->data[r->pos]), tag_name(tag));
        return NULL;
    }
    if (n > r->end - r->pos - 1) {
        mq_state_reader_fail(r, -EBADMSG, "field %u (%s) runs past the end of the section",
                             r->field, tag_name(tag));
        return NULL;
    }
    p = r->data + r->pos + 1;
    r->pos += 1 + n;
    r->field++;
    return p;
}

uint8_t mq_state_get_u8(struct mq_state_reader *r)
{
    const uint8_t *p = r_field(r, TAG_U8, 1);

    return p ? p[0] : 0;
}

uint16_t mq_state_get_u16(struct mq_state_reader *r)
{
    const uint8_t *p = r_field(r, TAG_U16, 2);

    return p ? mq_get_le16(p) : 0;
}

uint32_t mq_state_get_u32(struct mq_state_reader *r)
{
    const uint8_t *p = r_field(r, TAG_U32, 4);

    return p ? mq_get_le32(p) : 0;
}

uint64_t mq_state_get_u64(struct mq_state_reader *r)
{
    const uint8_t *p = r_field(r, TAG_U64, 8);

    return p ? mq_get_le64(p) : 0;
}

bool mq_state_get_bool(struct mq_state_reader *r)
{
    uint8_t v = mq_state_get_u8(r);

    if (v > 1) {
        mq_state_reader_fail(r, -EINVAL, "field %u: boolean holds %u", r->field - 1, v);
        return false;
    }
    return v;
}

/* The payload of the next bytes field if it has at most max bytes, or NULL. */
static const uint8_t *r_bytes(struct mq_state_reader *r, size_t max, size_t *len)
{
    const uint8_t *p = r_field(r, TAG_BYTES, 4);
    uint32_t n;

    *len = 0;
    if (!p)
        return NULL;
    n = mq_get_le32(p);
    if (n > r->end - r->pos) {
        mq_state_reader_fail(r, -EBADMSG, "field %u: %u bytes run past the end of the section",
                             r->field - 1, n);
        return NULL;
    }
    if (n > max) {
        mq_state_reader_fail(r, -EINVAL, "field %u holds %u bytes, at most %zu expected",
                             r->field - 1, n, max);
        return NULL;
    }
    r->pos += n;
    *len = n;
    return p + 4;
}

void mq_state_get_bytes(struct mq_state_reader *r, void *buf, size_t len)
{
    size_t n;
    const uint8_t *p = r_bytes(r, len, &n);

    if (p && n != len) {
        mq_state_reader_fail(r, -EINVAL, "field %u holds %zu bytes, %zu expected",
                             r->field - 1, n, len);
        p = NULL;
    }
    if (!p) {
        if (len)
            memset(buf, 0, len);
        return;
    }
    if (len)
        memcpy(buf, p, len);
}

size_t mq_state_get_var_bytes(struct mq_state_reader *r, void *buf, size_t max)
{
    size_t n;
    const uint8_t *p = r_bytes(r, max, &n);

    if (!p)
        return 0;
    if (n)
        memcpy(buf, p, n);
    return n;
}

/* Decompress and place one chunk of n pages starting at page first. */
static int get_ram_chunk(struct mq_state_reader *r, uint8_t *dst, uint64_t first, unsigned n)
{
    size_t bm_bytes = (n + 7) / 8, stored = 0, comp, got;
    const uint8_t *bm;

    if (4 + bm_bytes > r->end - r->pos) {
        mq_state_reader_fail(r, -EBADMSG, "RAM chunk at page %llu is truncated",
                             (unsigned long long)first);
        return r->err;
    }
    comp = mq_get_le32(r->data + r->pos);
    bm = r->data + r->pos + 4;
    r->pos += 4 + bm_bytes;
    if ((n % 8) && (bm[bm_bytes - 1] >> (n % 8))) {
        mq_state_reader_fail(r, -EBADMSG, "RAM chunk at page %llu marks pages past its end",
                             (unsigned long long)first);
        return r->err;
    }
    for (size_t i = 0; i < bm_bytes; i++)
        stored += (size_t)__builtin_popcount(bm[i]);
    if (comp > r->end - r->pos || (stored == 0) != (comp == 0)) {
        mq_state_reader_fail(r, -EBADMSG, "RAM chunk at page %llu: bad compressed length %zu",
                             (unsigned long long)first, comp);
        return r->err;
    }
    if (stored) {
        got = ZSTD_decompressDCtx(r->dctx, r->stage, stored * MQ_STATE_PAGE_SIZE,
                                  r->data + r->pos, comp);
        if (ZSTD_isError(got) || got != stored * MQ_STATE_PAGE_SIZE) {
            mq_state_reader_fail(r, -EBADMSG, "RAM chunk at page %llu does not decompress "
                                 "to its %zu pages: %s", (unsigned long long)first, stored,
                                 ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
            return r->err;
        }
        r->pos += comp;
    }
    stored = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *page = dst + (size_t)i * MQ_STATE_PAGE_SIZE;

        if (bm[i / 8] & (1u << (i % 8)))
            memcpy(page, r->stage + stored++ * MQ_STATE_PAGE_SIZE, MQ_STATE_PAGE_SIZE);
        else if (!page_is_zero(page))
            memset(page, 0, MQ_STATE_PAGE_SIZE);
    }
    return 0;
}

int mq_state_get_ram(struct mq_state_reader *r, uint8_t *host, uint64_t size)
{
    const uint8_t *p = r_field(r, TAG_RAM, 16);
    uint64_t ssize, pages;
    uint32_t psize, cpages;

    if (!p)
        return r->err;
    ssize = mq_get_le64(p);
    psize = mq_get_le32(p + 8);
    cpages = mq_get_le32(p + 12);
    if (ssize != size) {
        mq_state_reader_fail(r, -EINVAL, "RAM of %llu bytes saved, this machine has %llu",
                             (unsigned long long)ssize, (unsigned long long)size);
        return r->err;
    }
    if (size % MQ_STATE_PAGE_SIZE || psize != MQ_STATE_PAGE_SIZE) {
        mq_state_reader_fail(r, -EBADMSG, "RAM page size %u, size %llu: unsupported", psize,
                             (unsigned long long)size);
        return r->err;
    }
    if (cpages == 0 || cpages > MQ_STATE_RAM_MAX_CHUNK_PAGES) {
        mq_state_reader_fail(r, -EBADMSG, "RAM chunks of %u pages (1..%u supported)", cpages,
                             MQ_STATE_RAM_MAX_CHUNK_PAGES);
        return r->err;
    }
    if (!r->dctx)
        r->dctx = ZSTD_createDCtx();
    if (r->stage_bytes < (size_t)cpages * MQ_STATE_PAGE_SIZE) {
        free(r->stage);
        r->stage_bytes = (size_t)cpages * MQ_STATE_PAGE_SIZE;
        r->stage = malloc(r->stage_bytes);
    }
    if (!r->dctx || !r->stage) {
        r->stage_bytes = 0;
        mq_state_reader_fail(r, -ENOMEM, "out of memory for RAM decompression");
        return r->err;
    }
    pages = size / MQ_STATE_PAGE_SIZE;
    for (uint64_t first = 0; first < pages; first += cpages) {
        unsigned n = (unsigned)MQ_MIN(pages - first, (uint64_t)cpages);

        if (get_ram_chunk(r, host + first * MQ_STATE_PAGE_SIZE, first, n))
            return r->err;
    }
    return 0;
}

unsigned mq_state_section_count(const struct mq_state_reader *r)
{
    return r->nsecs;
}

const char *mq_state_section_name(const struct mq_state_reader *r, unsigned i, bool *opened)
{
    if (i >= r->nsecs)
        return NULL;
    if (opened)
        *opened = r->secs[i].opened;
    return r->secs[i].name;
}

int mq_state_check_all_opened(struct mq_state_reader *r)
{
    char list[ERRMSG_BYTES / 2];
    size_t used = 0;
    unsigned missing = 0, listed = 0;

    if (r->err)
        return r->err;
    list[0] = '\0';
    for (unsigned i = 0; i < r->nsecs; i++) {
        const char *name = r->secs[i].name;
        size_t n = strlen(name);

        if (r->secs[i].opened)
            continue;
        missing++;
        if (used + n + 3 < sizeof(list)) {
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                     listed ? ", " : "", name);
            listed++;
        }
    }
    if (missing == listed && missing)
        mq_state_reader_fail(r, -EBADMSG, "no device of this machine reads section(s) %s", list);
    else if (missing)
        mq_state_reader_fail(r, -EBADMSG, "no device of this machine reads section(s) %s "
                             "and %u more", list, missing - listed);
    return r->err;
}
