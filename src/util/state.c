/* SPDX-License-Identifier: MIT */
/*
 * The machine-state stream reader (format in state.h): it trusts nothing
 * it reads, restores zero-page-skipped, zstd-chunked RAM and checks the
 * zlib CRC-32 trailer first. The writer is state_writer.c.
 */
#include "util/state_int.h"

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
