/* SPDX-License-Identifier: MIT */
/*
 * Where virtual networks live and how to talk to their switch process.
 *
 * Each network NAME has, in the per-user runtime directory
 * ($XDG_RUNTIME_DIR/maquina/net, else /tmp/maquina-$UID/net; mode 0700,
 * refused when owned by another user or open to others):
 *   NAME.sock   the switch's AF_UNIX SOCK_SEQPACKET socket (mode 0600)
 *   NAME.state  key=value lines written by the switch process
 *   NAME.log    the switch process's messages
 *
 * Protocol on NAME.sock: the client's first message is "MQSW1 VERB" with
 * VERB port (join the network: every later message either way is one
 * Ethernet frame), status (the reply lists key=value lines) or stop; the
 * switch answers "MQSW1 ok..." or "MQSW1 error REASON".
 */
#ifndef MQ_NET_NETDIR_H
#define MQ_NET_NETDIR_H

#include <stdbool.h>
#include <stddef.h>

#define MQ_NETDIR_MAGIC "MQSW1"
#define MQ_NETDIR_MSG_MAX 1024 /* longest handshake message */

/*
 * The runtime directory into dir (len bytes). create: make missing levels
 * (mode 0700). 0, -ENOENT when it does not exist and !create, or another
 * -errno with a reason in err (wrong owner, open permissions...).
 */
int mq_netdir_get(char *dir, size_t len, bool create, char *err, size_t errlen);

/* dir/NAME.suffix into buf; -ENAMETOOLONG when it does not fit a socket address. */
int mq_netdir_file(const char *dir, const char *name, const char *suffix, char *buf,
                   size_t len, char *err, size_t errlen);

/*
 * Connect to network name's switch and send "MQSW1 verb". On success the
 * switch's reply (NUL-terminated, "MQSW1 ok" and what follows) is in
 * reply and *fd is the connected socket (close it), blocking, CLOEXEC.
 * -ENOENT: no such network; -ECONNREFUSED: a stale entry (no process);
 * other -errno; err says which.
 */
int mq_netdir_connect(const char *name, const char *verb, int *fd, char *reply,
                      size_t rlen, char *err, size_t errlen);

/* The value of key in a reply or state text ("key=value" lines), into out; false if absent. */
bool mq_netdir_kv(const char *text, const char *key, char *out, size_t outlen);

#endif
