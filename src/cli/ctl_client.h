/* SPDX-License-Identifier: MIT */
/*
 * The CLI side of the control API (docs/api.md): connect to a running VM's
 * socket, send one request, wait for its reply (skipping events).
 */
#ifndef MQ_CLI_CTL_CLIENT_H
#define MQ_CLI_CTL_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/registry.h"

/*
 * Send {"cmd": cmd, "args": args} to the VM listening on socket_path and
 * wait up to timeout_ms for the reply. args may be NULL and is not taken.
 * 0 with *result the reply's "result" (json_object_put it; may be NULL),
 * or -errno with err filled: the VM's own error message for an error
 * reply (-EREMOTEIO, *code set to its error code when code is non-NULL),
 * else why the VM could not be reached.
 */
int mq_ctl_request(const char *socket_path, const char *cmd, json_object *args,
                   int timeout_ms, json_object **result, char *code, size_t codelen,
                   char *err, size_t errlen);

/*
 * The running VM named by target: a name, or a NAME.vm path (ends in
 * ".vm": the VM running from that file). 0, or -ENOENT (err says so).
 */
int mq_ctl_find(const char *target, struct mq_vm_entry *e, char *err, size_t errlen);

/* Where `maquina start` puts NAME's files in the registry directory: suffix ".log", ".console", ".err". */
int mq_ctl_runtime_path(const char *name, const char *suffix, char *buf, size_t len,
                        char *err, size_t errlen);

/* Wait up to timeout_ms for pid to end (pidfd when possible). true when it ended. */
bool mq_ctl_wait_pid_gone(pid_t pid, int pidfd, int timeout_ms);

/* A pidfd for pid (to wait on it without racing pid reuse), or -1. */
int mq_ctl_pidfd(pid_t pid);

/* "256M", "2G", "1536M". */
void mq_ctl_format_size(uint64_t bytes, char *buf, size_t len);

/* "3d 04:05:06", "0:01:02". */
void mq_ctl_format_duration(uint64_t sec, char *buf, size_t len);

/* Print the last max bytes of path on stderr, each line prefixed by "  | ". */
void mq_ctl_print_tail(const char *title, const char *path, size_t max);

#endif
