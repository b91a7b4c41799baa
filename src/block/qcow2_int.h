/* SPDX-License-Identifier: MIT */
/*
 * In-memory state of an open qcow2 image and the functions its four source
 * files share. Spec: QEMU docs/interop/qcow2.txt.
 *
 * Metadata is written through: every change to an L1/L2 entry or refcount
 * reaches the file (pwrite) before the function returns, and the few
 * ordering points that matter for crash safety are fdatasync barriers
 * (qcow2_barrier). The rule everywhere: a cluster's refcount is raised
 * before anything points at it, and lowered only after the pointer to it is
 * gone and that removal is durable (qcow2_free_deferred). A crash then
 * leaves leaks at worst, never a reference to a free cluster.
 */
#ifndef MQ_BLOCK_QCOW2_INT_H
#define MQ_BLOCK_QCOW2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block_int.h"
#include "block/blockdev.h"
#include "util/compiler.h"

#define QCOW2_MAGIC 0x514649fbu

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                              QCOW2_INCOMPAT_COMPRESSION)

/* Header field offsets (section "Header"). */
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_OFFSET 40
#define QCOW2_HDR_RCT_OFFSET 48
#define QCOW2_HDR_RCT_CLUSTERS 56
#define QCOW2_HDR_NB_SNAPSHOTS 60
#define QCOW2_HDR_SNAPSHOTS_OFFSET 64
#define QCOW2_HDR_INCOMPAT 72
#define QCOW2_HDR_AUTOCLEAR 88
#define QCOW2_HDR_V2_LEN 72
#define QCOW2_HDR_V3_LEN 104

/* Header extension types defined by the spec. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* L1/L2 entry bits (section "Cluster mapping"). */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_COPIED (1ull << 63)
#define QCOW2_COMPRESSED (1ull << 62)
#define QCOW2_ZERO 1ull
#define QCOW2_L1_RESERVED (~(QCOW2_OFFSET_MASK | QCOW2_COPIED))
#define QCOW2_L2_RESERVED (~(QCOW2_OFFSET_MASK | QCOW2_COPIED | QCOW2_COMPRESSED | QCOW2_ZERO))
#define QCOW2_RCT_RESERVED (~QCOW2_OFFSET_MASK & ~0xff00000000000000ull)

/* Implementation limits, the same as QEMU's so we open what it opens. */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RCT_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024u
#define QCOW2_MAX_EXTS 1024u
#define QCOW2_MAX_BACKING_NAME 1023u
/* Virtual sizes above this are refused so offset arithmetic cannot wrap. */
#define QCOW2_MAX_VIRTUAL_SIZE (1ull << 61)

enum qcow2_ctype {
    QCOW2_UNALLOCATED,
    QCOW2_ZERO_PLAIN,  /* reads zero, no host cluster */
    QCOW2_ZERO_ALLOC,  /* reads zero, host cluster kept (preallocation) */
    QCOW2_NORMAL,
    QCOW2_COMPRESSED_C,
};

struct qcow2_ext {
    uint32_t type;
    uint32_t len;
    uint8_t *data;
};

struct qcow2_snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_ns;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint32_t extra_size; /* as found; unknown extra data beyond 16 bytes is kept */
    uint8_t *extra;
};

/* A bounded write-through cache of cluster-sized tables (L2 or refblocks). */
struct qcow2_cache_entry {
    uint64_t offset; /* 0: empty */
    uint64_t last_use;
    uint8_t *data;
};

struct qcow2_cache {
    unsigned n;
    uint64_t tick;
    struct qcow2_cache_entry *e;
};

struct qcow2_range {
    uint64_t off;
    uint64_t len;
};

struct qcow2 {
    struct mq_blockdev bd; /* first: the ops cast between the two */
    int fd;
    unsigned open_flags;

    uint64_t file_size; /* end of the file as we know it */
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits; /* log2 of entries per L2 table */
    uint64_t l2_entries;
    uint32_t refcount_order;
    uint32_t rb_bits; /* log2 of entries per refcount block */
    uint64_t refcount_max;
    uint32_t header_length;
    uint64_t incompat, compat, autoclear;
    uint8_t compression_type;
    uint32_t csize_shift;
    uint64_t csize_mask;
    uint64_t coffset_mask;

    uint8_t *hdr; /* raw header [0, header_length), kept to preserve unknown fields */
    struct qcow2_ext *exts;
    unsigned n_exts;
    char *backing_name;
    char *backing_fmt;
    struct mq_blockdev *backing;

    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t *l1;

    uint64_t rct_offset;
    uint32_t rct_clusters;
    uint64_t rct_entries;
    uint64_t *rct;

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size; /* bytes of the table on disk */
    struct qcow2_snapshot *snaps;

    struct qcow2_cache l2c;
    struct qcow2_cache rbc;
    uint64_t free_hint; /* cluster index below which nothing is free */
    struct qcow2_range *deferred;
    size_t n_deferred, cap_deferred;

    uint8_t *dcache; /* last decompressed cluster */
    uint64_t dcache_entry;
    bool dcache_valid;

    /* Set when metadata turned out corrupt: no write reaches the file after. */
    bool broken;
};

static inline struct qcow2 *qcow2_of(struct mq_blockdev *bd)
{
    return (struct qcow2 *)bd;
}

static inline uint64_t qcow2_size_to_l1(const struct qcow2 *s, uint64_t size)
{
    uint32_t shift = s->cluster_bits + s->l2_bits;
    return (size >> shift) + ((size & ((1ull << shift) - 1)) != 0);
}

static inline uint64_t qcow2_clusters(const struct qcow2 *s, uint64_t bytes)
{
    return (bytes >> s->cluster_bits) + ((bytes & (s->cluster_size - 1)) != 0);
}

/* qcow2.c */
int qcow2_from_bd(struct mq_blockdev *bd, bool need_rw, struct qcow2 **out);
void qcow2_error(struct qcow2 *s, const char *fmt, ...) MQ_PRINTF(2, 3);
int qcow2_corrupt(struct qcow2 *s, const char *fmt, ...) MQ_PRINTF(2, 3);
int qcow2_barrier(struct qcow2 *s);
int qcow2_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off);
int qcow2_write_header_range(struct qcow2 *s, uint32_t off, uint32_t len);
int qcow2_set_incompat(struct qcow2 *s, uint64_t incompat);
bool qcow2_range_in_file(const struct qcow2 *s, uint64_t off, uint64_t len);
int qcow2_check_data_write(struct qcow2 *s, uint64_t host, uint64_t len);
int qcow2_write_l1_entry(struct qcow2 *s, uint64_t idx, uint64_t val);

/* qcow2_cluster.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size);
void qcow2_cache_free(struct qcow2_cache *c);
void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset);
int qcow2_load_l2(struct qcow2 *s, uint64_t l2_off, uint8_t **table);
int qcow2_refblock_load(struct qcow2 *s, uint64_t off, uint8_t **table);
uint8_t *qcow2_refblock_install(struct qcow2 *s, uint64_t off, const uint8_t *data);
void qcow2_refblock_cache_reset(struct qcow2 *s);
int qcow2_set_l2_entry(struct qcow2 *s, uint64_t l2_off, uint8_t *table, uint64_t idx,
                       uint64_t val);
int qcow2_l1_entry_check(struct qcow2 *s, uint64_t entry, uint64_t *l2_off);
int qcow2_classify(struct qcow2 *s, uint64_t entry, enum qcow2_ctype *type);
void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off,
                            uint64_t *len);
/* Read through any L1 table; only the active one falls through to the backing file. */
int qcow2_read_l1(struct qcow2 *s, const uint64_t *l1, uint64_t l1_size, void *buf,
                  uint64_t len, uint64_t off);
int qcow2_do_write(struct qcow2 *s, const void *buf, uint64_t len, uint64_t off);
int qcow2_do_zero(struct qcow2 *s, uint64_t off, uint64_t len, bool may_unmap,
                  bool discard);

/* qcow2_refcount.c */
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(struct qcow2 *s, uint64_t off, uint64_t len, int addend);
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off);
int qcow2_free_deferred(struct qcow2 *s, uint64_t off, uint64_t len);
int qcow2_process_deferred(struct qcow2 *s);
int qcow2_tree_refcounts(struct qcow2 *s, const uint64_t *l1, uint64_t l1_size, int addend);
int qcow2_fix_copied_flags(struct qcow2 *s);
int qcow2_repair(struct qcow2 *s);

/* qcow2_snapshot.c */
int qcow2_read_snapshots(struct qcow2 *s, char *err, size_t errlen);
int qcow2_load_snapshot_l1(struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t *l1);
void qcow2_free_snapshots(struct qcow2_snapshot *sn, uint32_t n);

/*
 * The path of an image's backing file: name as stored in the header,
 * relative names resolved against image's directory. malloc'd; NULL on
 * allocation failure.
 */
char *qcow2_resolve_backing(const char *image, const char *name);

#endif
