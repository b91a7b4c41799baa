/* SPDX-License-Identifier: MIT */
/*
 * The machine-state stream: how a snapshot's vmstate carries the state of
 * every hart, device and the RAM. A writer builds the stream in memory; a
 * reader checks a stream and hands out its sections.
 *
 * Stream format, version 1 (all integers little-endian):
 *
 *   header   "MQSTATE\0", u32 format version, u32 flags (none defined: 0)
 *   section  u8 name length (1..63), name, u32 section version,
 *            u64 payload length, payload        (repeated, names unique)
 *   trailer  u8 0 (a zero name length ends the sections),
 *            u32 CRC-32 (zlib's, ISO-HDLC) of every byte before it
 *
 * A payload is a sequence of typed fields in the fixed order its section
 * version defines. Each field starts with a tag byte, so a loader reading
 * a different field than the saver wrote is caught at once instead of
 * silently misreading everything after it:
 *
 *   1 u8, 2 u16, 3 u32, 4 u64   the value
 *   5 bytes                      u32 length, the bytes
 *   6 RAM                        u64 size, u32 page size (4096), u32 pages
 *                                per chunk, then per chunk of RAM: u32
 *                                compressed length, a bitmap with one bit
 *                                per page (1: stored), and one zstd frame
 *                                holding the stored pages back to back
 *                                (absent when no page of the chunk is stored).
 *                                All-zero pages are never stored.
 *
 * Why CRC-32: it comes with zlib (already a dependency), detects every
 * single-bit error and every burst up to 32 bits, and zlib's implementation
 * runs at several GB/s. It guards against accidental corruption only; the
 * reader is written for hostile input regardless.
 *
 * Naming: sections are named by whoever knows the instance. The board names
 * devices "<type>@<base address in hex>" ("uart@10000000",
 * "virtio-mmio@10001000"), harts "hart.<id>", RAM "ram". The section
 * version belongs to the code that writes the fields (the device), which
 * sets it with mq_state_set_version() and checks it on load with
 * mq_state_expect_version().
 *
 * Error handling: both sides have a sticky error. Field writes and reads
 * return nothing; the first failure (out of memory, a read past the end of
 * the section, a field of the wrong type, an illegal value reported by a
 * loader) is recorded with a message, later reads return zeros, and the
 * caller checks once, at mq_state_end_section() / mq_state_close_section().
 * Messages name the section; get them with mq_state_*_errmsg().
 *
 * Thread safety: a writer or reader is used by one thread at a time.
 */
#ifndef MQ_UTIL_STATE_H
#define MQ_UTIL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define MQ_STATE_FORMAT_VERSION 1u
#define MQ_STATE_NAME_MAX 63u
/* Bounds the reader's section table for hostile streams; far above any board. */
#define MQ_STATE_MAX_SECTIONS 65536u
#define MQ_STATE_PAGE_SIZE 4096u
/* Pages per compressed RAM chunk: 1 MiB of staging memory on either side. */
#define MQ_STATE_RAM_CHUNK_PAGES 256u
/* Largest chunk a reader accepts (4 MiB of staging memory). */
#define MQ_STATE_RAM_MAX_CHUNK_PAGES 1024u

struct mq_state_writer;
struct mq_state_reader;

/* ---- Writing ---- */

/* A new, empty stream (the header is written). 0 or -ENOMEM. */
int mq_state_writer_create(struct mq_state_writer **out);

/* Free the writer and its buffer (also the one mq_state_writer_finish() returned). NULL ok. */
void mq_state_writer_free(struct mq_state_writer *w);

/*
 * Start a section. name: 1..MQ_STATE_NAME_MAX characters of [A-Za-z0-9._@:+/-],
 * unique in the stream. Sections do not nest. 0 or the sticky error
 * (-EINVAL for a bad or duplicate name or a section already open).
 */
int mq_state_begin_section(struct mq_state_writer *w, const char *name);

/* Set the open section's version (nonzero). Every section must set one. */
void mq_state_set_version(struct mq_state_writer *w, uint32_t version);

/* Finish the open section. 0 or the sticky error (-EINVAL when no version was set). */
int mq_state_end_section(struct mq_state_writer *w);

/* Append a field to the open section (an error when no section is open). */
void mq_state_put_u8(struct mq_state_writer *w, uint8_t v);
void mq_state_put_u16(struct mq_state_writer *w, uint16_t v);
void mq_state_put_u32(struct mq_state_writer *w, uint32_t v);
void mq_state_put_u64(struct mq_state_writer *w, uint64_t v);
/* A u8 field holding 0 or 1 (mq_state_get_bool() refuses anything else). */
void mq_state_put_bool(struct mq_state_writer *w, bool v);
/* A bytes field; len below 4 GiB. buf may be NULL when len is 0. */
void mq_state_put_bytes(struct mq_state_writer *w, const void *buf, size_t len);

/*
 * Append a RAM field: size bytes (a multiple of MQ_STATE_PAGE_SIZE) at host,
 * zero pages skipped, the others zstd-compressed in chunks of
 * MQ_STATE_RAM_CHUNK_PAGES pages. host is only read; the harts must be
 * paused. 0 or the sticky error.
 */
int mq_state_put_ram(struct mq_state_writer *w, const uint8_t *host, uint64_t size);

/*
 * Record a failure (err a negative errno) with a message, e.g. a device
 * that cannot be saved now (-EBUSY: requests in flight). The first failure
 * wins; the message is prefixed with the open section's name.
 */
void mq_state_writer_fail(struct mq_state_writer *w, int err, const char *fmt, ...)
    MQ_PRINTF(3, 4);

/* The sticky error (0 when none) and its message ("" when none). */
int mq_state_writer_error(const struct mq_state_writer *w);
const char *mq_state_writer_errmsg(const struct mq_state_writer *w);

/*
 * Append the trailer and return the finished stream, owned by the writer
 * (valid until mq_state_writer_free()). No section may be open. 0 or the
 * sticky error. Nothing can be written afterwards.
 */
int mq_state_writer_finish(struct mq_state_writer *w, const void **data, size_t *len);

/* ---- Reading ---- */

/*
 * Check a stream up front: magic, format version ("machine state format
 * version N is not supported (this maquina reads M)"), flags, checksum,
 * and the section structure (every length inside the stream, names legal
 * and unique, nothing after the trailer). data is borrowed and must
 * outlive the reader.
 *
 * Returns 0, -ENOMEM (*out is NULL) or, for a stream that is refused,
 * -EPROTONOSUPPORT (format version or flags) or -EBADMSG (anything else);
 * then *out is still a reader in the failed state so that
 * mq_state_reader_errmsg() can say why. Always free *out.
 */
int mq_state_reader_open(const void *data, size_t len, struct mq_state_reader **out);

void mq_state_reader_free(struct mq_state_reader *r);

/*
 * Open the section called name for reading: 0, -ENOENT when the stream has
 * no such section (not sticky: the caller decides whether that is fatal),
 * or the sticky error (-EINVAL when a section is already open or was
 * opened before).
 */
int mq_state_open_section(struct mq_state_reader *r, const char *name);

/* The open section's version (0 when none is open). */
uint32_t mq_state_version(const struct mq_state_reader *r);

/*
 * 0 when the open section's version is in [min, max]; otherwise record and
 * return -EPROTONOSUPPORT ("version V is not supported (this maquina reads
 * min..max)").
 */
int mq_state_expect_version(struct mq_state_reader *r, uint32_t min, uint32_t max);

/*
 * Close the open section: the sticky error, else -EBADMSG when fields are
 * left unread (a saver/loader mismatch or a corrupt stream), else 0.
 */
int mq_state_close_section(struct mq_state_reader *r);

/*
 * Read the next field of the open section. A missing field, a field of
 * another type or size, or no open section sets the sticky error; the
 * result is then 0 / false / zero-filled.
 */
uint8_t mq_state_get_u8(struct mq_state_reader *r);
uint16_t mq_state_get_u16(struct mq_state_reader *r);
uint32_t mq_state_get_u32(struct mq_state_reader *r);
uint64_t mq_state_get_u64(struct mq_state_reader *r);
/* A u8 field that must be 0 or 1. */
bool mq_state_get_bool(struct mq_state_reader *r);
/* A bytes field of exactly len bytes. */
void mq_state_get_bytes(struct mq_state_reader *r, void *buf, size_t len);
/* A bytes field of at most max bytes; returns its length (0 on error). */
size_t mq_state_get_var_bytes(struct mq_state_reader *r, void *buf, size_t max);

/*
 * Read a RAM field into size bytes at host; the stream's size must match
 * exactly. Every page is written: stored pages are copied in, skipped ones
 * zeroed (a page that already reads as zero is left untouched, so restoring
 * into fresh anonymous memory does not commit it). 0 or the sticky error.
 * WARNING: on failure host holds a mix of old and restored pages; the
 * machine must not run from it.
 */
int mq_state_get_ram(struct mq_state_reader *r, uint8_t *host, uint64_t size);

/*
 * Record a failure, typically a loader refusing an illegal value:
 *   mq_state_reader_fail(r, -EINVAL, "rx_count %u above capacity %u", n, cap);
 * The first failure wins; the message is prefixed with the section's name.
 * Later field reads return zeros.
 */
void mq_state_reader_fail(struct mq_state_reader *r, int err, const char *fmt, ...)
    MQ_PRINTF(3, 4);

/* The sticky error (0 when none) and its message ("" when none). */
int mq_state_reader_error(const struct mq_state_reader *r);
const char *mq_state_reader_errmsg(const struct mq_state_reader *r);

/* Sections in stream order: count, and name of section i with whether it was opened. */
unsigned mq_state_section_count(const struct mq_state_reader *r);
const char *mq_state_section_name(const struct mq_state_reader *r, unsigned i, bool *opened);

/*
 * 0 when every section was opened; otherwise record and return -EBADMSG
 * with a message naming the sections nobody read (state this machine has
 * no device for).
 */
int mq_state_check_all_opened(struct mq_state_reader *r);

#endif
