/* SPDX-License-Identifier: MIT */
/*
 * The registry of running VMs of the invoking user: one directory,
 * $XDG_RUNTIME_DIR/maquina/vm when XDG_RUNTIME_DIR is set, else
 * /tmp/maquina-UID/vm, mode 0700 and owned by the user (a directory owned
 * by anybody else, or open to others, is refused). Each running VM has
 * NAME.sock (its control socket) and NAME.json (who it is); entries of
 * dead processes are removed when seen. A name is unique among running VMs.
 *
 * Threading: any thread; the file system is the lock (entries are created
 * with O_EXCL and replaced by rename).
 */
#ifndef MQ_VM_REGISTRY_H
#define MQ_VM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MQ_VM_NAME_MAX 64

struct mq_vm_entry {
    char name[MQ_VM_NAME_MAX + 1];
    pid_t pid;
    char vm_path[4096];      /* absolute path of NAME.vm, or "" */
    char socket_path[4096];  /* control socket */
    char console_log[4096];  /* console log file, or "" */
    uint64_t start_time;     /* Unix seconds */
    unsigned nharts;
    uint64_t ram_size;
};

/*
 * A legal VM name: 1..MQ_VM_NAME_MAX of [A-Za-z0-9._-], not starting with
 * '.' or '-'. The name of NAME.vm is its file name without ".vm".
 */
int mq_vm_name_ok(const char *name);
/* The name for a .vm path (file name less ".vm"); -EINVAL when not legal. */
int mq_vm_name_from_path(const char *vm_path, char *name, size_t len);

/* The registry directory, created when missing. 0 or -errno with err filled. */
int mq_vm_registry_dir(char *buf, size_t len, char *err, size_t errlen);

/* Control socket path of name in the registry directory. */
int mq_vm_registry_socket_path(const char *name, char *buf, size_t len, char *err,
                               size_t errlen);

/*
 * Claim name for the calling process and record e (e->name and e->pid are
 * set by the call). -EEXIST when a live process holds the name (err names
 * its pid); a dead holder's entry is replaced.
 */
int mq_vm_registry_add(struct mq_vm_entry *e, char *err, size_t errlen);

/* Drop the entry of name if it is the calling process's. */
void mq_vm_registry_remove(const char *name);

/* Look name up: 0, -ENOENT (not running; stale entries are removed). */
int mq_vm_registry_find(const char *name, struct mq_vm_entry *e, char *err, size_t errlen);

/* Look up the running VM whose vm_path is the same file as path. 0 or -ENOENT. */
int mq_vm_registry_find_path(const char *path, struct mq_vm_entry *e, char *err,
                             size_t errlen);

/*
 * Every live entry, sorted by name, in a malloc'ed array (free()).
 * 0 or -errno.
 */
int mq_vm_registry_list(struct mq_vm_entry **out, unsigned *count, char *err, size_t errlen);

#endif
