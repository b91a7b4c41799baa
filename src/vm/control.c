/* SPDX-License-Identifier: MIT */
/*
 * The control socket server: a poll loop on its own thread serving
 * newline-delimited JSON requests from many clients, with bounded input
 * lines and bounded output per client (docs/api.md, control.h).
 */
#include "vm/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define MAX_QUEUED_EVENTS 1024

struct mq_control_client {
    struct mq_control *ctl;
    int fd;
    char *in;            /* MQ_CONTROL_MAX_LINE bytes */
    size_t in_len;
    bool discarding;     /* inside a line that was too long: skip to its newline */
    bool eof;            /* the client shut its side down: finish replies, then close */
    bool dead;           /* to be closed by the loop */
    bool subscribed;
    char *out;
    size_t out_len, out_cap;
};

struct event_line {
    struct event_line *next;
    size_t len;
    char text[];
};

struct mq_control {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t sock_dev;
    ino_t sock_ino;
    int listen_fd;
    int wake[2];
    pthread_t thread;
    bool thread_started;
    mq_control_dispatch_fn *dispatch;
    void *opaque;
    struct mq_control_client *clients[MQ_CONTROL_MAX_CLIENTS];
    unsigned nclients;   /* written by the server thread, read atomically */

    pthread_mutex_t lock; /* protects the fields below */
    bool stopping;
    struct event_line *ev_head, *ev_tail;
    unsigned ev_count;
    unsigned long ev_dropped;
};

/* ---- decoding and replies (pure: shared with the fuzz target) ---- */

static void set_error(struct mq_control_error *e, const char *code, const char *fmt, ...)
    MQ_PRINTF(3, 4);

static void set_error(struct mq_control_error *e, const char *code, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

int mq_control_decode(const char *line, size_t len, struct mq_control_request *req,
                      struct mq_control_error *e)
{
    struct json_tokener *tok;
    json_object *root, *v;
    enum json_tokener_error jerr;

    memset(req, 0, sizeof(*req));
    if (len > MQ_CONTROL_MAX_LINE) {
        set_error(e, "request-too-long", "request longer than %u bytes", MQ_CONTROL_MAX_LINE);
        return -EINVAL;
    }
    if (memchr(line, 0, len)) {
        set_error(e, "parse-error", "NUL byte in request");
        return -EINVAL;
    }
    tok = json_tokener_new_ex(32);
    if (!tok) {
        set_error(e, "failed", "out of memory");
        return -ENOMEM;
    }
    root = json_tokener_parse_ex(tok, line, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) < len) {
        /* Trailing bytes after the object: only white space is allowed. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                jerr = json_tokener_error_parse_unexpected;
                break;
            }
        }
    }
    if (jerr == json_tokener_continue)
        jerr = json_tokener_error_parse_eof;
    json_tokener_free(tok);
    if (jerr != json_tokener_success || !root) {
        json_object_put(root);
        set_error(e, "parse-error", "malformed JSON: %s",
                  root || jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                        : "null request");
        return -EINVAL;
    }
    req->root = root;
    if (!json_object_is_type(root, json_type_object)) {
        set_error(e, "invalid-request", "a request is a JSON object, got %s",
                  json_type_to_name(json_object_get_type(root)));
        return -EINVAL;
    }
    if (json_object_object_get_ex(root, "id", &v))
        req->id = v;
    if (!json_object_object_get_ex(root, "cmd", &v) || !json_object_is_type(v, json_type_string)) {
        set_error(e, "invalid-request", "\"cmd\" (a string) is missing");
        return -EINVAL;
    }
    req->cmd = json_object_get_string(v);
    if (json_object_object_get_ex(root, "args", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_object)) {
            set_error(e, "invalid-request", "\"args\" must be an object");
            return -EINVAL;
        }
        req->args = v;
    }
    json_object_object_foreach(root, key, val) {
        (void)val;
        if (strcmp(key, "id") && strcmp(key, "cmd") && strcmp(key, "args")) {
            set_error(e, "invalid-request", "unknown request field \"%.64s\"", key);
            return -EINVAL;
        }
    }
    return 0;
}

char *mq_control_reply_text(json_object *id, json_object *result,
                            const struct mq_control_error *e, size_t *len)
{
    json_object *o = json_object_new_object();
    const char *s;
    char *text;
    size_t n;

    if (!o)
        return NULL;
    json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
    json_object_object_add(o, "ok", json_object_new_boolean(!e));
    if (e) {
        json_object *err = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string(e->code ? e->code : "failed"));
        json_object_object_add(err, "message", json_object_new_string(e->message));
        json_object_object_add(o, "error", err);
    } else {
        json_object_object_add(o, "result", result ? json_object_get(result)
                                                   : json_object_new_object());
    }
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    n = strlen(s);
    text = malloc(n + 2);
    if (text) {
        memcpy(text, s, n);
        text[n] = '\n';
        text[n + 1] = 0;
        *len = n + 1;
    }
    json_object_put(o);
    return text;
}

/* ---- output ---- */

static void flush_out(struct mq_control_client *cl)
{
    while (cl->out_len && !cl->dead) {
        ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            cl->dead = true;
            return;
        }
        memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
        cl->out_len -= (size_t)n;
    }
}

/* Queue text for cl; a client that lets too much pile up is dropped. */
static void client_send(struct mq_control_client *cl, const char *text, size_t len)
{
    if (cl->dead)
        return;
    if (len > MQ_CONTROL_MAX_OUTPUT - cl->out_len) {
        mq_warn("control", "client fd %d does not read its replies (%zu bytes waiting): "
                "dropped", cl->fd, cl->out_len);
        cl->dead = true;
        return;
    }
    if (cl->out_len + len > cl->out_cap) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        char *p;
        while (cap < cl->out_len + len)
            cap *= 2;
        p = realloc(cl->out, cap);
        if (!p) {
            cl->dead = true;
            return;
        }
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, text, len);
    cl->out_len += len;
    flush_out(cl);
}

static void send_reply(struct mq_control_client *cl, json_object *id, json_object *result,
                       const struct mq_control_error *e)
{
    size_t len = 0;
    char *text = mq_control_reply_text(id, result, e, &len);

    if (!text) {
        cl->dead = true;
        return;
    }
    client_send(cl, text, len);
    free(text);
}

void mq_control_client_subscribe(struct mq_control_client *cl, bool on)
{
    cl->subscribed = on;
}

/* ---- input ---- */

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

static void handle_line(struct mq_control_client *cl, const char *line, size_t len)
{
    struct mq_control_request req;
    struct mq_control_error e = {0};
    json_object *result = NULL;

    if (blank(line, len))
        return;
    if (mq_control_decode(line, len, &req, &e) != 0) {
        send_reply(cl, req.id, NULL, &e);
        json_object_put(req.root);
        return;
    }
    if (cl->ctl->dispatch(cl->ctl->opaque, cl, &req, &result, &e) != 0) {
        if (!e.code)
            set_error(&e, "failed", "command failed");
        send_reply(cl, req.id, NULL, &e);
    } else {
        send_reply(cl, req.id, result, NULL);
    }
    json_object_put(result);
    json_object_put(req.root);
}

static void too_long(struct mq_control_client *cl)
{
    struct mq_control_error e;

    set_error(&e, "request-too-long", "request line longer than %u bytes: discarded up to "
              "its end", MQ_CONTROL_MAX_LINE - 1);
    send_reply(cl, NULL, NULL, &e);
}

/* Take every complete line out of the input buffer. */
static void process_input(struct mq_control_client *cl)
{
    size_t start = 0;
    char *nl;

    while (!cl->dead && (nl = memchr(cl->in + start, '\n', cl->in_len - start))) {
        size_t len = (size_t)(nl - (cl->in + start));
        if (cl->discarding)
            cl->discarding = false;
        else
            handle_line(cl, cl->in + start, len);
        start += len + 1;
    }
    memmove(cl->in, cl->in + start, cl->in_len - start);
    cl->in_len -= start;
    if (cl->in_len == MQ_CONTROL_MAX_LINE) {
        /* A full buffer and no newline: the line is too long. */
        if (!cl->discarding)
            too_long(cl);
        cl->discarding = true;
        cl->in_len = 0;
    }
}

static void client_read(struct mq_control_client *cl)
{
    ssize_t n = recv(cl->fd, cl->in + cl->in_len, MQ_CONTROL_MAX_LINE - cl->in_len,
                     MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        /* A last line without newline still counts. */
        if (n == 0 && cl->in_len && !cl->discarding) {
            handle_line(cl, cl->in, cl->in_len);
            cl->in_len = 0;
        }
        cl->eof = true;
        if (n < 0)
            cl->dead = true;
        return;
    }
    cl->in_len += (size_t)n;
    process_input(cl);
}

/* ---- clients ---- */

static void client_free(struct mq_control_client *cl)
{
    close(cl->fd);
    free(cl->in);
    free(cl->out);
    free(cl);
}

/* Best-effort one-line error to a connection we will not serve. */
static void refuse(int fd, const char *code, const char *msg)
{
    struct mq_control_error e;
    size_t len = 0;
    char *text;

    set_error(&e, code, "%s", msg);
    text = mq_control_reply_text(NULL, NULL, &e, &len);
    if (text) {
        ssize_t r = send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        free(text);
    }
    close(fd);
}

static void accept_clients(struct mq_control *c)
{
    for (;;) {
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        struct mq_control_client *cl;
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The connection stays queued and poll says so at once: do not spin. */
                static struct mq_ratelimit rl;
                mq_log_ratelimited(&rl, MQ_LOG_WARN, "control", "%s: accept: %s", c->path,
                                   strerror(errno));
                usleep(100000);
            }
            return; /* EAGAIN: nothing more to accept */
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
            cred.uid != geteuid()) {
            mq_warn("control", "%s: connection from uid %d refused (only uid %u may connect)",
                    c->path, clen == sizeof(cred) ? (int)cred.uid : -1, (unsigned)geteuid());
            refuse(fd, "permission-denied", "only the owner of the VM may use its control socket");
            continue;
        }
        if (c->nclients >= MQ_CONTROL_MAX_CLIENTS) {
            refuse(fd, "busy", "too many clients (at most 64 at once)");
            continue;
        }
        cl = calloc(1, sizeof(*cl));
        if (cl)
            cl->in = malloc(MQ_CONTROL_MAX_LINE);
        if (!cl || !cl->in) {
            if (cl)
                free(cl);
            refuse(fd, "failed", "out of memory");
            continue;
        }
        cl->ctl = c;
        cl->fd = fd;
        c->clients[c->nclients] = cl;
        __atomic_store_n(&c->nclients, c->nclients + 1, __ATOMIC_RELEASE);
    }
}

static void reap_clients(struct mq_control *c)
{
    unsigned j = 0;

    for (unsigned i = 0; i < c->nclients; i++) {
        struct mq_control_client *cl = c->clients[i];
        if (cl->dead || (cl->eof && cl->out_len == 0))
            client_free(cl);
        else
            c->clients[j++] = cl;
    }
    __atomic_store_n(&c->nclients, j, __ATOMIC_RELEASE);
}

unsigned mq_control_nclients(struct mq_control *c)
{
    return __atomic_load_n(&c->nclients, __ATOMIC_ACQUIRE);
}

/* ---- events ---- */

void mq_control_event(struct mq_control *c, const char *name, const char *detail)
{
    json_object *o;
    struct event_line *ev;
    const char *s;
    size_t n;
    char b = 1;

    if (!c)
        return;
    o = json_object_new_object();
    if (!o)
        return;
    json_object_object_add(o, "event", json_object_new_string(name ? name : ""));
    json_object_object_add(o, "detail", json_object_new_string(detail ? detail : ""));
    json_object_object_add(o, "time", json_object_new_int64((int64_t)time(NULL)));
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    n = strlen(s);
    ev = malloc(sizeof(*ev) + n + 2);
    if (ev) {
        memcpy(ev->text, s, n);
        ev->text[n] = '\n';
        ev->text[n + 1] = 0;
        ev->len = n + 1;
        ev->next = NULL;
    }
    json_object_put(o);
    if (!ev)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->ev_count >= MAX_QUEUED_EVENTS || c->stopping) {
        c->ev_dropped++;
        free(ev);
        ev = NULL;
    } else {
        if (c->ev_tail)
            c->ev_tail->next = ev;
        else
            c->ev_head = ev;
        c->ev_tail = ev;
        c->ev_count++;
    }
    pthread_mutex_unlock(&c->lock);
    if (ev) {
        ssize_t r = write(c->wake[1], &b, 1); /* EAGAIN: a wake-up is already pending */
        (void)r;
    }
}

/* Drain the wake pipe and hand queued events out; false when stopping. */
static bool take_events(struct mq_control *c)
{
    struct event_line *list;
    char buf[64];
    bool stopping;

    while (read(c->wake[0], buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&c->lock);
    list = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    c->ev_count = 0;
    stopping = c->stopping;
    pthread_mutex_unlock(&c->lock);
    while (list) {
        struct event_line *next = list->next;
        for (unsigned i = 0; i < c->nclients; i++) {
            if (c->clients[i]->subscribed)
                client_send(c->clients[i], list->text, list->len);
        }
        free(list);
        list = next;
    }
    return !stopping;
}

/* ---- the loop ---- */

static void *server_thread(void *p)
{
    struct mq_control *c = p;
    struct pollfd fds[2 + MQ_CONTROL_MAX_CLIENTS];

    for (;;) {
        unsigned n = c->nclients;
        fds[0] = (struct pollfd){.fd = c->wake[0], .events = POLLIN};
        fds[1] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
        for (unsigned i = 0; i < n; i++) {
            struct mq_control_client *cl = c->clients[i];
            fds[2 + i] = (struct pollfd){.fd = cl->fd,
                                         .events = (short)((cl->eof ? 0 : POLLIN) |
                                                           (cl->out_len ? POLLOUT : 0))};
        }
        if (poll(fds, 2 + n, -1) < 0) {
            if (errno == EINTR)
                continue;
            mq_err("control", "%s: poll: %s", c->path, strerror(errno));
            break;
        }
        if ((fds[0].revents & POLLIN) && !take_events(c))
            break;
        for (unsigned i = 0; i < n; i++) {
            struct mq_control_client *cl = c->clients[i];
            short re = fds[2 + i].revents;
            if (re & POLLOUT)
                flush_out(cl);
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (!cl->eof)
                    client_read(cl);
                else if (re & (POLLHUP | POLLERR))
                    cl->dead = true;
            }
        }
        reap_clients(c);
        if (fds[1].revents & POLLIN)
            accept_clients(c);
    }
    return NULL;
}

/* Bind path, replacing a stale socket; a live one is EADDRINUSE. */
static int open_socket(struct mq_control *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, ret;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "control: socket path %s longer than %zu bytes", path,
                 sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    strcpy(c->path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "control: socket: %s", strerror(errno));
        return ret;
    }
    if (lstat(path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "control: %s exists and is not a socket", path);
            close(fd);
            return -EEXIST;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            close(fd);
            snprintf(err, errlen, "control: %s is in use by a running process", path);
            return -EADDRINUSE;
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* stale: nobody listens */
    }
    /*
     * Nobody can connect between bind and listen (ECONNREFUSED), so the
     * chmod closes the window the umask would leave open.
     */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
        stat(path, &st) != 0 || listen(fd, 128) != 0) {
        ret = -errno;
        snprintf(err, errlen, "control: cannot listen on %s: %s", path, strerror(errno));
        unlink(path);
        close(fd);
        return ret;
    }
    c->sock_dev = st.st_dev;
    c->sock_ino = st.st_ino;
    c->listen_fd = fd;
    return 0;
}

int mq_control_start(const char *path, mq_control_dispatch_fn *dispatch, void *opaque,
                     struct mq_control **out, char *err, size_t errlen)
{
    struct mq_control *c = calloc(1, sizeof(*c));
    sigset_t all, old;
    int ret;

    if (!c) {
        snprintf(err, errlen, "control: out of memory");
        return -ENOMEM;
    }
    c->listen_fd = -1;
    c->wake[0] = c->wake[1] = -1;
    c->dispatch = dispatch;
    c->opaque = opaque;
    pthread_mutex_init(&c->lock, NULL);
    if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        ret = -errno;
        snprintf(err, errlen, "control: pipe: %s", strerror(errno));
        goto fail;
    }
    ret = open_socket(c, path, err, errlen);
    if (ret)
        goto fail;
    /* The server thread takes no signals: the VM's main thread handles them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = -pthread_create(&c->thread, NULL, server_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret) {
        snprintf(err, errlen, "control: cannot start the server thread: %s", strerror(-ret));
        goto fail;
    }
    c->thread_started = true;
    pthread_setname_np(c->thread, "mq-control");
    *out = c;
    return 0;
fail:
    mq_control_stop(c);
    return ret;
}

void mq_control_stop(struct mq_control *c)
{
    struct stat st;
    char b = 1;

    if (!c)
        return;
    if (c->thread_started) {
        ssize_t r;
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_mutex_unlock(&c->lock);
        r = write(c->wake[1], &b, 1);
        (void)r;
        pthread_join(c->thread, NULL);
    }
    for (unsigned i = 0; i < c->nclients; i++) {
        flush_out(c->clients[i]); /* best effort: the last events and replies */
        client_free(c->clients[i]);
    }
    c->nclients = 0;
    while (c->ev_head) {
        struct event_line *next = c->ev_head->next;
        free(c->ev_head);
        c->ev_head = next;
    }
    if (c->listen_fd >= 0) {
        /* Remove the socket only if it still is ours (not a successor's). */
        if (stat(c->path, &st) == 0 && st.st_dev == c->sock_dev && st.st_ino == c->sock_ino)
            unlink(c->path);
        close(c->listen_fd);
    }
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
