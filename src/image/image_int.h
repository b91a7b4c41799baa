/* SPDX-License-Identifier: MIT */
/* Helpers shared by the files of src/image/ only: paths and error text. */
#ifndef MQ_IMAGE_IMAGE_INT_H
#define MQ_IMAGE_IMAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* snprintf into err when err is non-NULL and errlen non-zero. */
void mq_image_err(char *err, size_t errlen, const char *fmt, ...) MQ_PRINTF(3, 4);

/* realpath(3) of an existing path into a new string. 0 or -errno. */
int mq_image_realpath(const char *path, char **out);

/* The absolute directory holding path (which need not exist yet). 0 or -errno. */
int mq_image_dir_of(const char *path, char **out);

/*
 * How an extra disk given by the user (relative to the working directory)
 * is stored: relative to vm_dir when it lies below it, else absolute. The
 * file must exist. 0 or -errno.
 */
int mq_image_disk_store_path(const char *user_path, const char *vm_dir, char **out);

/* A stored path made usable: relative ones are joined to vm_dir. */
int mq_image_join(const char *vm_dir, const char *stored, char **out);

/* "raw" or "qcow2" from the first bytes of path. 0 or -errno. */
int mq_image_detect_format(const char *path, const char **format);

/* Parse "512M", "2G", "4096" (bytes; K/M/G/T suffixes are powers of 1024). */
bool mq_image_parse_size(const char *s, uint64_t *out);

/*
 * The backing file name recorded in a qcow2 header, read directly from
 * path (no other validation). *out is NULL when there is none. 0 or -errno.
 */
int mq_image_qcow2_backing_name(const char *path, char **out);

/*
 * Create a .vm exactly at path (truncating it): a qcow2 image of size bytes
 * (0 with backing: the backing file's size) holding config c; backing is
 * recorded with format qcow2 when non-NULL. 0 or -errno with err.
 */
struct mq_vm_config;
int mq_image_create_vm_at(const char *path, uint64_t size, const struct mq_vm_config *c,
                          const char *backing, char *err, size_t errlen);

/* A hidden temporary name beside path (".NAME.tmp-PID"). 0 or -ENOMEM. */
int mq_image_tmp_name(const char *path, char **out);

/* True when len bytes at p are all zero. */
bool mq_image_is_zero(const void *p, size_t len);

#endif
