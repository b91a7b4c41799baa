/* SPDX-License-Identifier: MIT */
/*
 * The configuration of one VM (harts, memory, boot source, extra disks,
 * NICs, identity) as kept inside its NAME.vm file: a compact JSON object in
 * a qcow2 header extension of type MQ_VM_CONFIG_EXT_TYPE. Encoding and every
 * key: docs/file-format.md; qcow2 header extensions: QEMU
 * docs/interop/qcow2.txt, "Header extensions".
 *
 * The decoder is pure (no clock, no randomness, no file access) so the
 * fuzz target replays exactly. Functions that fill err write one line
 * naming the problem (err may be NULL when errlen is 0). Thread-safe on
 * distinct configs.
 */
#ifndef MQ_IMAGE_VM_CONFIG_H
#define MQ_IMAGE_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* "mqvm": not a type the qcow2 spec defines, nor one QEMU writes. */
#define MQ_VM_CONFIG_EXT_TYPE 0x6d71766du
/* The newest format version this build reads and the one it writes. */
#define MQ_VM_CONFIG_VERSION 1

/* Limits enforced by validation (decode and encode alike). */
#define MQ_VM_MIN_HARTS 1
#define MQ_VM_MAX_HARTS 8
#define MQ_VM_MIN_MEMORY (16ull << 20)
#define MQ_VM_MAX_MEMORY (64ull << 30)
#define MQ_VM_DEFAULT_MEMORY (512ull << 20)
/*
 * The board has 8 virtio-mmio slots: the system disk, the rng, then extra
 * disks and NICs share the 6 others.
 */
#define MQ_VM_MAX_DISKS 6
#define MQ_VM_MAX_NICS 4
#define MQ_VM_MAX_DEVICES 6 /* extra disks + NICs */
#define MQ_VM_MAX_LINKED_CLONES 64
#define MQ_VM_NAME_MAX 64
#define MQ_VM_PATH_MAX 4095
#define MQ_VM_CMDLINE_MAX 4095
#define MQ_VM_NET_MAX 1024
#define MQ_VM_SERIAL_MAX 20 /* virtio-blk serial field */
/* Whole encoded config; it shares the qcow2 header cluster with the header. */
#define MQ_VM_CONFIG_MAX_LEN (32u << 10)

struct mq_vm_disk_cfg {
    char *path;      /* as stored: relative paths are relative to the .vm's directory */
    char *format;    /* "raw", "qcow2" or NULL (detect when opening) */
    bool read_only;
    char *serial;    /* NULL: none */
};

struct mq_vm_nic_cfg {
    char *net;       /* a --net specification, e.g. "user,hostfwd=tcp::2222-:22" */
    uint8_t mac[6];  /* unicast; generated locally administered */
};

/* All strings are malloc'ed and owned by the config; NULL means absent. */
struct mq_vm_config {
    unsigned version;     /* format version it was read with / is written as */
    char *name;           /* 1..MQ_VM_NAME_MAX printable bytes */
    char uuid[37];        /* lowercase 8-4-4-4-12 hex */
    int64_t created;      /* Unix time (seconds) */
    unsigned harts;       /* MQ_VM_MIN_HARTS..MQ_VM_MAX_HARTS */
    uint64_t memory;      /* bytes: 16 MiB..64 GiB, multiple of 4 KiB */
    char *firmware;       /* NULL: the default OpenSBI fw_dynamic.bin */
    char *kernel;         /* absolute path or NULL */
    char *initrd;         /* absolute path or NULL */
    char *cmdline;        /* kernel command line or NULL */
    struct mq_vm_disk_cfg disks[MQ_VM_MAX_DISKS];
    unsigned ndisks;
    struct mq_vm_nic_cfg nics[MQ_VM_MAX_NICS];
    unsigned nnics;
    /* Absolute paths of .vm files created as linked clones of this one. */
    char *linked_clones[MQ_VM_MAX_LINKED_CLONES];
    unsigned nlinked;
};

/* Defaults: version MQ_VM_CONFIG_VERSION, 1 hart, 512 MiB, nothing else. */
MQ_PUBLIC void mq_vm_config_init(struct mq_vm_config *c);
/* Free every string and reset to mq_vm_config_init(); NULL is allowed. */
MQ_PUBLIC void mq_vm_config_free(struct mq_vm_config *c);
/* Deep copy into *dst (not initialized beforehand). 0 or -ENOMEM. */
MQ_PUBLIC int mq_vm_config_copy(struct mq_vm_config *dst, const struct mq_vm_config *src);

/* Check every field against the limits above. 0 or -EINVAL with err. */
MQ_PUBLIC int mq_vm_config_validate(const struct mq_vm_config *c, char *err, size_t errlen);

/*
 * Validate, then encode as compact JSON. *json is malloc'ed and
 * NUL-terminated, *len excludes the NUL. -EFBIG when longer than
 * MQ_VM_CONFIG_MAX_LEN.
 */
MQ_PUBLIC int mq_vm_config_encode(const struct mq_vm_config *c, char **json, size_t *len,
                                  char *err, size_t errlen);

/*
 * The JSON object mq_vm_config_encode writes, for callers that embed it
 * (`maquina info --json`). Caller owns the reference (json_object_put).
 * NULL on allocation failure. Does not validate.
 */
struct json_object;
MQ_PUBLIC struct json_object *mq_vm_config_to_json(const struct mq_vm_config *c);

/*
 * Decode len bytes (need not be NUL-terminated) into *c (initialized by
 * this call; free with mq_vm_config_free on success, nothing to free on
 * failure). Refuses: invalid JSON or UTF-8, trailing bytes, a version newer
 * than MQ_VM_CONFIG_VERSION, unknown keys, wrong types, out-of-range values.
 * Returns 0, -EINVAL (bad contents), -EPROTONOSUPPORT (newer version),
 * -EFBIG (too long) or -ENOMEM.
 */
MQ_PUBLIC int mq_vm_config_decode(const void *data, size_t len, struct mq_vm_config *c,
                                  char *err, size_t errlen);

/* "52:54:00:12:34:56" into out (18 bytes). */
MQ_PUBLIC void mq_vm_mac_format(const uint8_t mac[6], char out[18]);
/* Parse "xx:xx:xx:xx:xx:xx" (hex, either case). False on anything else. */
MQ_PUBLIC bool mq_vm_mac_parse(const char *s, uint8_t mac[6]);

/* Fresh identity values from getrandom(2). 0 or -errno. */
MQ_PUBLIC int mq_vm_random_mac(uint8_t mac[6]);   /* locally administered unicast */
MQ_PUBLIC int mq_vm_random_uuid(char out[37]);   /* RFC 4122 version 4 */

/*
 * Give the config a new identity, as a clone needs: a new uuid, a new MAC
 * for every NIC, created = now, and no linked clones. 0 or -errno.
 */
MQ_PUBLIC int mq_vm_config_new_identity(struct mq_vm_config *c);

/*
 * Edit one key as `maquina config NAME.vm set key=value` does; keys and
 * value syntax are in docs/cli.md (memory, smp, name, kernel, initrd,
 * append, firmware, net+=, net-=, disk+=, disk-=). vm_path is the .vm
 * (it need not exist yet; its directory must): added extra disks are
 * stored relative to its directory when below it. Paths for kernel,
 * initrd and firmware are made absolute and must exist. On error the
 * config is unchanged. 0 or -errno with err.
 */
MQ_PUBLIC int mq_vm_config_set(struct mq_vm_config *c, const char *assignment,
                               const char *vm_path, char *err, size_t errlen);

/*
 * An extra disk as the user writes it: PATH[,ro][,serial=S][,format=F],
 * PATH relative to the working directory. The file must exist; it is
 * stored relative to vm_dir (the .vm's absolute directory) when it lies
 * below it, else absolute, and its format is detected and recorded when
 * not given. *d is filled (owned strings) on success only.
 */
MQ_PUBLIC int mq_vm_disk_spec_parse(const char *spec, const char *vm_dir,
                                    struct mq_vm_disk_cfg *d, char *err, size_t errlen);

/*
 * The value of key as `config get key` prints it (malloc'ed, may span
 * lines for net/disk, without a final newline). -ENOENT for an unknown key.
 */
MQ_PUBLIC int mq_vm_config_get(const struct mq_vm_config *c, const char *key, char **value,
                               char *err, size_t errlen);
/* The keys mq_vm_config_get knows, NULL-terminated, in display order. */
MQ_PUBLIC extern const char *const mq_vm_config_keys[];

#endif
