/* SPDX-License-Identifier: MIT */
/*
 * The CLI side of the control API (docs/api.md): connect to a running VM's
 * socket, send one request, wait for its reply (skipping events).
 */
#ifndef MQ_CLI_CTL_CLIENT_H
#define MQ_CLI_CTL_CLIENT_H

#include <json-c/json.h>
#include <stddef.h>

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

#endif
