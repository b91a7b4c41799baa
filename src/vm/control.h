/* SPDX-License-Identifier: MIT */
/*
 * A line-oriented JSON server on a Unix stream socket (docs/api.md): one
 * request object per line, one reply per request in request order,
 * asynchronous events on the same stream. It knows nothing about VMs: the
 * owner gives a dispatch function (vm/vm_commands.c gives the VM's).
 *
 * Limits: MQ_CONTROL_MAX_CLIENTS clients at once (one more is told "busy"
 * and closed); a request line of at most MQ_CONTROL_MAX_LINE bytes (a
 * longer one gets a "request-too-long" error, is discarded up to its
 * newline and the connection is kept); at most MQ_CONTROL_MAX_OUTPUT bytes
 * of replies and events waiting for a client that does not read (then the
 * client is dropped: it never blocks the server). Only the socket owner's
 * uid may connect (SO_PEERCRED); others are closed at once.
 *
 * Threading: the server runs on a thread of its own; dispatch runs there,
 * one request at a time. mq_control_event() may be called from any thread.
 */
#ifndef MQ_VM_CONTROL_H
#define MQ_VM_CONTROL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define MQ_CONTROL_MAX_CLIENTS 64
#define MQ_CONTROL_MAX_LINE (64u << 10)
#define MQ_CONTROL_MAX_OUTPUT (1u << 20)

struct mq_control;
struct mq_control_client;

/* A decoded request. Borrowed from the parsed object: valid while it lives. */
struct mq_control_request {
    json_object *root;  /* the whole request (owned by the decoder's caller) */
    json_object *id;    /* NULL when absent */
    const char *cmd;
    json_object *args;  /* an object, or NULL when absent */
};

/* An error reply: code is one of the codes in docs/api.md. */
struct mq_control_error {
    const char *code;
    char message[512];
};

/*
 * Decode one request line (without its newline; need not be NUL-terminated).
 * 0 with *req filled (free req->root with json_object_put), or -EINVAL with
 * e filled ("parse-error" or "invalid-request"). No I/O, no clocks: this is
 * what fuzz/fuzz_control_api.c drives.
 */
int mq_control_decode(const char *line, size_t len, struct mq_control_request *req,
                      struct mq_control_error *e);

/* Build the reply line for a request (ok when e is NULL); newline-terminated, malloc'ed. */
char *mq_control_reply_text(json_object *id, json_object *result,
                            const struct mq_control_error *e, size_t *len);

/*
 * Handle one request. Fill *result (a new object, or leave NULL for {})
 * and return 0, or return nonzero with e filled. Runs on the server thread.
 */
typedef int mq_control_dispatch_fn(void *opaque, struct mq_control_client *client,
                                   const struct mq_control_request *req,
                                   json_object **result, struct mq_control_error *e);

/*
 * Listen on path (mode 0600; a stale socket is replaced, a live one is
 * refused with -EADDRINUSE, a file that is not a socket with -EEXIST) and
 * serve until mq_control_stop(). 0 or -errno with err filled.
 */
int mq_control_start(const char *path, mq_control_dispatch_fn *dispatch, void *opaque,
                     struct mq_control **out, char *err, size_t errlen);

/* Close every client, remove the socket (if still ours) and free. NULL is fine. */
void mq_control_stop(struct mq_control *c);

/* Send events to this client from now on (or stop). Server thread only. */
void mq_control_client_subscribe(struct mq_control_client *cl, bool on);

/*
 * Queue {"event": name, "detail": detail, "time": now} for every
 * subscribed client. Any thread; never blocks on a client. At most
 * 1024 events wait for the server thread; more are dropped (counted).
 */
void mq_control_event(struct mq_control *c, const char *name, const char *detail);

/* How many clients are connected (for tests). Any thread. */
unsigned mq_control_nclients(struct mq_control *c);

#endif
