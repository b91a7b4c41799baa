/* SPDX-License-Identifier: MIT */
/* Unit tests of the machine-state stream: round trips, RAM, corruption, truncation, versions. */
#include "util/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/le.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        unsigned long long a_ = (unsigned long long)(a);                       \
        unsigned long long b_ = (unsigned long long)(b);                       \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s == %s (0x%llx != 0x%llx)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define RUN(test)                                                              \
    do {                                                                       \
        int before_ = failures;                                                \
        test();                                                                \
        printf("%s %s\n", failures == before_ ? "ok  " : "FAIL", #test);       \
    } while (0)

/* A finished stream, copied out of the writer. */
struct blob {
    uint8_t *data;
    size_t len;
};

static struct blob finish(struct mq_state_writer *w)
{
    const void *data;
    size_t len;
    struct blob b = {0};

    CHECK_EQ(mq_state_writer_finish(w, &data, &len), 0);
    b.data = malloc(len);
    memcpy(b.data, data, len);
    b.len = len;
    mq_state_writer_free(w);
    return b;
}

/* Recompute the trailer CRC after a deliberate edit, so structure checks are reached. */
static void fix_crc(uint8_t *p, size_t len)
{
    mq_put_le32(p + len - 4, (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)(len - 4)));
}

static const uint8_t bytes16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Two sections with every field type. */
static struct blob sample_stream(void)
{
    struct mq_state_writer *w;

    CHECK_EQ(mq_state_writer_create(&w), 0);
    CHECK_EQ(mq_state_begin_section(w, "uart@10000000"), 0);
    mq_state_set_version(w, 3);
    mq_state_put_u8(w, 0xa5);
    mq_state_put_u16(w, 0xbeef);
    mq_state_put_u32(w, 0xdeadbeef);
    mq_state_put_u64(w, 0x0123456789abcdefull);
    mq_state_put_bool(w, true);
    mq_state_put_bytes(w, bytes16, sizeof(bytes16));
    mq_state_put_bytes(w, "abc", 3);
    mq_state_put_bytes(w, NULL, 0);
    CHECK_EQ(mq_state_end_section(w), 0);
    CHECK_EQ(mq_state_begin_section(w, "hart.0"), 0);
    mq_state_set_version(w, 1);
    mq_state_put_u64(w, UINT64_MAX);
    CHECK_EQ(mq_state_end_section(w), 0);
    return finish(w);
}

static void test_round_trip(void)
{
    struct blob b = sample_stream();
    struct mq_state_reader *r;
    uint8_t buf[16], var[8] = {0};
    bool opened = true;

    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_section_count(r), 2);
    CHECK(!strcmp(mq_state_section_name(r, 0, &opened), "uart@10000000"));
    CHECK(!opened);
    /* Any order: sections are found by name. */
    CHECK_EQ(mq_state_open_section(r, "hart.0"), 0);
    CHECK_EQ(mq_state_version(r), 1);
    CHECK_EQ(mq_state_get_u64(r), UINT64_MAX);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), 0);
    CHECK_EQ(mq_state_expect_version(r, 1, 3), 0);
    CHECK_EQ(mq_state_get_u8(r), 0xa5);
    CHECK_EQ(mq_state_get_u16(r), 0xbeef);
    CHECK_EQ(mq_state_get_u32(r), 0xdeadbeef);
    CHECK_EQ(mq_state_get_u64(r), 0x0123456789abcdefull);
    CHECK_EQ(mq_state_get_bool(r), true);
    mq_state_get_bytes(r, buf, sizeof(buf));
    CHECK(!memcmp(buf, bytes16, sizeof(buf)));
    CHECK_EQ(mq_state_get_var_bytes(r, var, sizeof(var)), 3);
    CHECK(!memcmp(var, "abc", 3));
    CHECK_EQ(mq_state_get_var_bytes(r, var, sizeof(var)), 0);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK_EQ(mq_state_check_all_opened(r), 0);
    CHECK_EQ(mq_state_reader_error(r), 0);
    CHECK(!strcmp(mq_state_reader_errmsg(r), ""));
    mq_state_reader_free(r);
    free(b.data);
}

static void test_sticky_read_errors(void)
{
    struct blob b = sample_stream();
    struct mq_state_reader *r;

    /* A field of the wrong type: error, zeros from then on. */
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), 0);
    CHECK_EQ(mq_state_get_u16(r), 0);
    CHECK_EQ(mq_state_get_u16(r), 0);
    CHECK_EQ(mq_state_close_section(r), -EBADMSG);
    CHECK(strstr(mq_state_reader_errmsg(r), "section 'uart@10000000': field 0 is a u8, "
                                             "expected a u16") != NULL);
    mq_state_reader_free(r);

    /* Past the end of a section. */
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "hart.0"), 0);
    CHECK_EQ(mq_state_get_u64(r), UINT64_MAX);
    CHECK_EQ(mq_state_get_u64(r), 0);
    CHECK_EQ(mq_state_close_section(r), -EBADMSG);
    CHECK(strstr(mq_state_reader_errmsg(r), "missing") != NULL);
    /* Once failed, nothing opens. */
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), -EBADMSG);
    mq_state_reader_free(r);

    /* Fields left unread, a missing section, a second open, bytes of the wrong size. */
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "nothing"), -ENOENT);
    CHECK_EQ(mq_state_reader_error(r), 0);
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), 0);
    CHECK_EQ(mq_state_close_section(r), -EBADMSG);
    CHECK(strstr(mq_state_reader_errmsg(r), "left unread") != NULL);
    mq_state_reader_free(r);

    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "hart.0"), 0);
    mq_state_get_u64(r);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK_EQ(mq_state_open_section(r, "hart.0"), -EINVAL);
    mq_state_reader_free(r);

    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), 0);
    CHECK_EQ(mq_state_expect_version(r, 1, 2), -EPROTONOSUPPORT);
    CHECK(strstr(mq_state_reader_errmsg(r), "version 3 is not supported (this maquina reads "
                                             "1..2)") != NULL);
    mq_state_reader_free(r);

    /* A bytes field read with the wrong length: refused and zero-filled. */
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "uart@10000000"), 0);
    mq_state_get_u8(r);
    mq_state_get_u16(r);
    mq_state_get_u32(r);
    mq_state_get_u64(r);
    mq_state_get_bool(r);
    {
        uint8_t buf[8];

        memset(buf, 0x55, sizeof(buf));
        mq_state_get_bytes(r, buf, sizeof(buf)); /* 16 stored */
        CHECK_EQ(buf[0], 0);
        CHECK_EQ(buf[7], 0);
    }
    CHECK_EQ(mq_state_reader_error(r), -EINVAL);
    mq_state_reader_free(r);
    free(b.data);
}

static void test_bool_refused(void)
{
    struct mq_state_writer *w;
    struct mq_state_reader *r;
    struct blob b;

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "x");
    mq_state_set_version(w, 1);
    mq_state_put_u8(w, 2);
    mq_state_end_section(w);
    b = finish(w);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    mq_state_open_section(r, "x");
    CHECK_EQ(mq_state_get_bool(r), false);
    CHECK_EQ(mq_state_close_section(r), -EINVAL);
    mq_state_reader_free(r);
    free(b.data);
}

static void test_writer_errors(void)
{
    struct mq_state_writer *w;
    const void *data;
    size_t len;

    CHECK_EQ(mq_state_writer_create(&w), 0);
    CHECK_EQ(mq_state_begin_section(w, "bad name"), -EINVAL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    CHECK_EQ(mq_state_begin_section(w, ""), -EINVAL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    CHECK_EQ(mq_state_begin_section(w,
             "a234567890123456789012345678901234567890123456789012345678901234"), -EINVAL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "a");
    mq_state_set_version(w, 1);
    CHECK_EQ(mq_state_end_section(w), 0);
    CHECK_EQ(mq_state_begin_section(w, "a"), -EINVAL);
    CHECK(strstr(mq_state_writer_errmsg(w), "written twice") != NULL);
    CHECK_EQ(mq_state_writer_finish(w, &data, &len), -EINVAL);
    CHECK(data == NULL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "a");
    CHECK_EQ(mq_state_end_section(w), -EINVAL);
    CHECK(strstr(mq_state_writer_errmsg(w), "no section version") != NULL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_put_u32(w, 1);
    CHECK_EQ(mq_state_writer_error(w), -EINVAL);
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "a");
    mq_state_set_version(w, 1);
    mq_state_writer_fail(w, -EBUSY, "queue %u has %u requests in flight", 0, 3);
    mq_state_writer_fail(w, -EIO, "second failure is not recorded");
    CHECK_EQ(mq_state_end_section(w), -EBUSY);
    CHECK(!strcmp(mq_state_writer_errmsg(w), "section 'a': queue 0 has 3 requests in flight"));
    mq_state_writer_free(w);

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "a");
    mq_state_set_version(w, 1);
    CHECK_EQ(mq_state_writer_finish(w, &data, &len), -EINVAL);
    mq_state_writer_free(w);

    /* An empty stream is legal. */
    CHECK_EQ(mq_state_writer_create(&w), 0);
    CHECK_EQ(mq_state_writer_finish(w, &data, &len), 0);
    CHECK_EQ(len, 16 + 5);
    mq_state_writer_free(w);
}

/* Every single-byte change of a small stream is refused (CRC-32 catches all of them). */
static void test_byte_flips(void)
{
    struct blob b = sample_stream();
    static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x5a};
    unsigned refused = 0, tried = 0;

    for (size_t i = 0; i < b.len; i++) {
        for (size_t m = 0; m < sizeof(masks); m++) {
            struct mq_state_reader *r;

            b.data[i] ^= masks[m];
            tried++;
            if (mq_state_reader_open(b.data, b.len, &r) != 0)
                refused++;
            else
                fprintf(stderr, "flip of byte %zu with 0x%02x accepted\n", i, masks[m]);
            mq_state_reader_free(r);
            b.data[i] ^= masks[m];
        }
    }
    CHECK_EQ(refused, tried);
    free(b.data);
}

static void test_truncation(void)
{
    struct blob b = sample_stream();
    unsigned refused = 0;

    for (size_t len = 0; len < b.len; len++) {
        /* A copy of exactly len bytes, so ASan sees any read past it. */
        uint8_t *p = malloc(len ? len : 1);
        struct mq_state_reader *r;

        memcpy(p, b.data, len);
        if (mq_state_reader_open(p, len, &r) != 0)
            refused++;
        mq_state_reader_free(r);
        free(p);
    }
    CHECK_EQ(refused, b.len);
    free(b.data);
}

static void test_version_bump(void)
{
    struct blob b = sample_stream();
    struct mq_state_reader *r;

    mq_put_le32(b.data + 8, MQ_STATE_FORMAT_VERSION + 1);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), -EPROTONOSUPPORT);
    CHECK(!strcmp(mq_state_reader_errmsg(r),
                  "machine state format version 2 is not supported (this maquina reads 1)"));
    /* A failed reader refuses everything. */
    CHECK_EQ(mq_state_open_section(r, "hart.0"), -EPROTONOSUPPORT);
    CHECK_EQ(mq_state_get_u32(r), 0);
    mq_state_reader_free(r);

    mq_put_le32(b.data + 8, MQ_STATE_FORMAT_VERSION);
    mq_put_le32(b.data + 12, 1);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), -EPROTONOSUPPORT);
    mq_state_reader_free(r);

    memcpy(b.data, "QCOW", 4);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), -EBADMSG);
    CHECK(strstr(mq_state_reader_errmsg(r), "magic") != NULL);
    mq_state_reader_free(r);
    free(b.data);
}

static void test_unknown_section(void)
{
    struct blob b = sample_stream();
    struct mq_state_reader *r;
    bool opened;

    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "hart.0"), 0);
    mq_state_get_u64(r);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK(!strcmp(mq_state_section_name(r, 0, &opened), "uart@10000000"));
    CHECK(!opened);
    CHECK(mq_state_section_name(r, 2, &opened) == NULL);
    CHECK_EQ(mq_state_check_all_opened(r), -EBADMSG);
    CHECK(strstr(mq_state_reader_errmsg(r), "uart@10000000") != NULL);
    mq_state_reader_free(r);
    free(b.data);
}

/* Streams with a valid checksum but a broken structure. */
static void test_bad_structure(void)
{
    struct blob b = sample_stream();
    struct mq_state_reader *r;
    /* The first section's payload length field: header, name length, name, version. */
    const size_t len_field = 16 + 1 + 13 + 4;
    uint8_t *p = malloc(b.len);

    /* Section length one byte too long, then far too long. */
    memcpy(p, b.data, b.len);
    mq_put_le64(p + len_field, mq_get_le64(p + len_field) + 1);
    fix_crc(p, b.len);
    CHECK_EQ(mq_state_reader_open(p, b.len, &r), -EBADMSG);
    mq_state_reader_free(r);
    memcpy(p, b.data, b.len);
    mq_put_le64(p + len_field, UINT64_MAX);
    fix_crc(p, b.len);
    CHECK_EQ(mq_state_reader_open(p, b.len, &r), -EBADMSG);
    mq_state_reader_free(r);

    /* An illegal character in a name. */
    memcpy(p, b.data, b.len);
    p[16 + 1] = ' ';
    fix_crc(p, b.len);
    CHECK_EQ(mq_state_reader_open(p, b.len, &r), -EBADMSG);
    mq_state_reader_free(r);

    free(p);
    /* Two sections of the same name. */
    {
        struct mq_state_writer *w;
        struct blob twin;
        uint8_t *q;
        size_t at;

        CHECK_EQ(mq_state_writer_create(&w), 0);
        mq_state_begin_section(w, "aa");
        mq_state_set_version(w, 1);
        mq_state_end_section(w);
        mq_state_begin_section(w, "ab");
        mq_state_set_version(w, 1);
        mq_state_end_section(w);
        twin = finish(w);
        q = twin.data;
        at = 16 + 1 + 2 + 12; /* second section's name */
        CHECK_EQ(q[at], 2);
        q[at + 2] = 'a';
        fix_crc(q, twin.len);
        CHECK_EQ(mq_state_reader_open(q, twin.len, &r), -EBADMSG);
        CHECK(strstr(mq_state_reader_errmsg(r), "appears twice") != NULL);
        mq_state_reader_free(r);

        /* Version 0 is reserved. */
        q[at + 2] = 'b';
        mq_put_le32(q + 16 + 1 + 2, 0);
        fix_crc(q, twin.len);
        CHECK_EQ(mq_state_reader_open(q, twin.len, &r), -EBADMSG);
        mq_state_reader_free(r);
        free(twin.data);
    }
    /* Bytes after the end marker. */
    p = malloc(b.len + 1);
    memcpy(p, b.data, b.len - 4);
    p[b.len - 4] = 0;
    fix_crc(p, b.len + 1);
    CHECK_EQ(mq_state_reader_open(p, b.len + 1, &r), -EBADMSG);
    mq_state_reader_free(r);
    free(p);
    free(b.data);
}

/* A RAM image: zero pages, random pages, pages with a single nonzero byte. */
static void fill_ram(uint8_t *ram, size_t pages, unsigned seed)
{
    srand(seed);
    memset(ram, 0, pages * MQ_STATE_PAGE_SIZE);
    for (size_t i = 0; i < pages; i++) {
        uint8_t *pg = ram + i * MQ_STATE_PAGE_SIZE;
        switch (i % 5) {
        case 0:
        case 3:
            break;
        case 1:
            for (size_t j = 0; j < MQ_STATE_PAGE_SIZE; j++)
                pg[j] = (uint8_t)rand();
            break;
        case 2:
            pg[MQ_STATE_PAGE_SIZE - 1] = 1;
            break;
        default:
            memset(pg, (int)(i & 0xff) | 1, MQ_STATE_PAGE_SIZE);
            break;
        }
    }
}

static void test_ram(void)
{
    /* 600 pages: two full chunks and a partial one whose bitmap ends mid-byte. */
    const size_t pages = 2 * MQ_STATE_RAM_CHUNK_PAGES + 88 + 3;
    const size_t size = pages * MQ_STATE_PAGE_SIZE;
    uint8_t *ram = malloc(size), *back = malloc(size);
    struct mq_state_writer *w;
    struct mq_state_reader *r;
    struct blob b;

    fill_ram(ram, pages, 1);
    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "ram");
    mq_state_set_version(w, 1);
    mq_state_put_u32(w, 7);
    CHECK_EQ(mq_state_put_ram(w, ram, size), 0);
    mq_state_put_u32(w, 8);
    CHECK_EQ(mq_state_end_section(w), 0);
    b = finish(w);
    /* Zero pages cost nothing, the rest compresses. */
    CHECK(b.len < size / 2);

    /* Restore over garbage: zero pages must be zeroed too. */
    memset(back, 0xcc, size);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    CHECK_EQ(mq_state_open_section(r, "ram"), 0);
    CHECK_EQ(mq_state_get_u32(r), 7);
    CHECK_EQ(mq_state_get_ram(r, back, size), 0);
    CHECK_EQ(mq_state_get_u32(r), 8);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK(!memcmp(ram, back, size));
    mq_state_reader_free(r);

    /* Size mismatch is refused before anything is written. */
    memset(back, 0xcc, size);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    mq_state_open_section(r, "ram");
    mq_state_get_u32(r);
    CHECK_EQ(mq_state_get_ram(r, back, size - MQ_STATE_PAGE_SIZE), -EINVAL);
    CHECK(strstr(mq_state_reader_errmsg(r), "this machine has") != NULL);
    CHECK_EQ(back[0], 0xcc);
    mq_state_reader_free(r);

    /* Damage inside a zstd frame, checksum fixed up: refused by decompression. */
    {
        uint8_t *p = malloc(b.len);
        memcpy(p, b.data, b.len);
        for (size_t i = 200; i < b.len - 200; i += 997) {
            p[i] ^= 0xff;
        }
        fix_crc(p, b.len);
        CHECK_EQ(mq_state_reader_open(p, b.len, &r), 0);
        mq_state_open_section(r, "ram");
        mq_state_get_u32(r);
        CHECK(mq_state_get_ram(r, back, size) != 0);
        mq_state_reader_free(r);
        free(p);
    }
    free(b.data);

    /* All-zero RAM: only bitmaps. */
    memset(ram, 0, size);
    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "ram");
    mq_state_set_version(w, 1);
    CHECK_EQ(mq_state_put_ram(w, ram, size), 0);
    mq_state_end_section(w);
    b = finish(w);
    CHECK(b.len < 512);
    memset(back, 0x11, size);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    mq_state_open_section(r, "ram");
    CHECK_EQ(mq_state_get_ram(r, back, size), 0);
    CHECK_EQ(mq_state_close_section(r), 0);
    CHECK(!memcmp(ram, back, size));
    mq_state_reader_free(r);
    free(b.data);

    /* Unaligned sizes are refused by the writer. */
    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "ram");
    mq_state_set_version(w, 1);
    CHECK_EQ(mq_state_put_ram(w, ram, 100), -EINVAL);
    mq_state_writer_free(w);
    free(ram);
    free(back);
}

/* A hand-made RAM field with a bitmap bit past the last page must be refused. */
static void test_ram_bitmap_tail(void)
{
    uint8_t ram[3 * MQ_STATE_PAGE_SIZE] = {0};
    struct mq_state_writer *w;
    struct mq_state_reader *r;
    struct blob b;
    size_t bm;

    CHECK_EQ(mq_state_writer_create(&w), 0);
    mq_state_begin_section(w, "ram");
    mq_state_set_version(w, 1);
    mq_state_put_ram(w, ram, sizeof(ram));
    mq_state_end_section(w);
    b = finish(w);
    /* header 16, section 1+3+12, tag 1, RAM header 16, comp length 4: the bitmap byte. */
    bm = 16 + 1 + 3 + 12 + 1 + 16 + 4;
    CHECK_EQ(b.data[bm], 0);
    b.data[bm] = 0x08;
    fix_crc(b.data, b.len);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    mq_state_open_section(r, "ram");
    CHECK_EQ(mq_state_get_ram(r, ram, sizeof(ram)), -EBADMSG);
    mq_state_reader_free(r);
    /* A stored page whose frame is missing. */
    b.data[bm] = 0x01;
    fix_crc(b.data, b.len);
    CHECK_EQ(mq_state_reader_open(b.data, b.len, &r), 0);
    mq_state_open_section(r, "ram");
    CHECK_EQ(mq_state_get_ram(r, ram, sizeof(ram)), -EBADMSG);
    mq_state_reader_free(r);
    free(b.data);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_sticky_read_errors);
    RUN(test_bool_refused);
    RUN(test_writer_errors);
    RUN(test_byte_flips);
    RUN(test_truncation);
    RUN(test_version_bump);
    RUN(test_unknown_section);
    RUN(test_bad_structure);
    RUN(test_ram);
    RUN(test_ram_bitmap_tail);
    return failures ? 1 : 0;
}
