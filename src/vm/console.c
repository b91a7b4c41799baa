/* SPDX-License-Identifier: MIT */
/*
 * Serial console host side: output sink, stdin reader with flow control
 * toward the UART, raw terminal mode and the Ctrl-A escape keys.
 */
#include "vm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "util/chardev.h"
#include "util/log.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */
#define INPUT_BUF 256

struct mq_console {
    struct mq_console_hooks hooks;
    struct mq_event_loop *loop;
    int out_fd;             /* -1: discard */
    bool own_out_fd;
    bool interactive;       /* stdin is a terminal: escapes are active */
    struct mq_fd_watch *in_watch;
    struct mq_notifier *space;
    pthread_mutex_t out_lock;
    /* Input not yet accepted by the guest (loop thread only). */
    uint8_t pending[INPUT_BUF * 2];
    size_t pending_len;
    bool escape;            /* the previous key was Ctrl-A */
    /* detached mode: bounded log file plus an attachable socket */
    struct mq_chardev *attach;
    char *log_path;
    uint64_t log_size;      /* under out_lock */
};

/* ---- terminal state, restored from any exit path ---- */

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void restore_terminal(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        termios_saved = 0;
    }
}

static void fatal_signal(int sig)
{
    restore_terminal();
    /* SA_RESETHAND put the default action back: die the usual way. */
    raise(sig);
}

static void install_restore_handlers(void)
{
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT};
    static bool installed;
    struct sigaction sa;

    if (installed)
        return;
    installed = true;
    atexit(restore_terminal);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        sigaction(fatal[i], &sa, NULL);
}

static int enter_raw_mode(void)
{
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
        return -errno;
    install_restore_handlers();
    termios_saved = 1;
    raw = saved_termios;
    /* Like cfmakeraw, but keep output post-processing: the guest sends \r\n. */
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                               IXON);
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) {
        restore_terminal();
        return -errno;
    }
    return 0;
}

/* ---- input ---- */

static void say(const char *msg)
{
    /* The terminal is raw: end lines with \r\n ourselves. */
    ssize_t r = write(STDERR_FILENO, msg, strlen(msg));
    (void)r;
}

static void print_help(void)
{
    say("\r\nmaquina console escape keys (Ctrl-A, then):\r\n"
        "  x    quit maquina (the guest is stopped at once)\r\n"
        "  h    this help\r\n"
        "  a    send Ctrl-A to the guest\r\n");
}

/* Flush pending input to the guest; true when everything was taken. */
static bool deliver_pending(struct mq_console *c)
{
    size_t n;

    if (!c->pending_len)
        return true;
    n = c->hooks.deliver(c->hooks.opaque, c->pending, c->pending_len);
    if (n > c->pending_len)
        n = c->pending_len;
    memmove(c->pending, c->pending + n, c->pending_len - n);
    c->pending_len -= n;
    return c->pending_len == 0;
}

static void push_byte(struct mq_console *c, uint8_t b)
{
    if (c->pending_len < sizeof(c->pending))
        c->pending[c->pending_len++] = b;
}

/* Escape handling: returns false when the console should stop reading. */
static bool handle_key(struct mq_console *c, uint8_t b)
{
    if (!c->escape) {
        if (c->interactive && b == ESCAPE_CHAR)
            c->escape = true;
        else
            push_byte(c, b);
        return true;
    }
    c->escape = false;
    switch (b) {
    case 'x':
    case 'X':
        restore_terminal();
        say("\r\nmaquina: terminated by the user (Ctrl-A x)\n");
        if (c->hooks.quit)
            c->hooks.quit(c->hooks.opaque);
        return false;
    case 'h':
    case 'H':
    case '?':
        print_help();
        return true;
    case 'a':
    case ESCAPE_CHAR:
        push_byte(c, ESCAPE_CHAR);
        return true;
    default:
        return true; /* unknown escape: ignored, like QEMU */
    }
}

static void stop_input(struct mq_console *c)
{
    if (c->in_watch) {
        mq_fd_watch_remove(c->in_watch);
        c->in_watch = NULL;
    }
}

static void on_stdin(void *opaque, int fd)
{
    struct mq_console *c = opaque;
    uint8_t buf[INPUT_BUF];
    ssize_t n;

    n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* End of input (or an error): the guest keeps running without it. */
        stop_input(c);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (!handle_key(c, buf[i])) {
            stop_input(c);
            return;
        }
    }
    if (!deliver_pending(c) && c->in_watch)
        mq_fd_watch_set_events(c->in_watch, 0); /* wait for the guest to drain */
}

static void on_space(void *opaque)
{
    struct mq_console *c = opaque;

    if (deliver_pending(c) && c->in_watch)
        mq_fd_watch_set_events(c->in_watch, MQ_EV_READ);
}

void mq_console_input_space(struct mq_console *c)
{
    if (c && c->attach)
        mq_chardev_input_space(c->attach);
    if (c && c->space)
        mq_notifier_kick(c->space);
}

/* ---- output ---- */

/*
 * The detached console's log keeps the last MQ_CONSOLE_LOG_MAX bytes or
 * more: past it, LOG becomes LOG.1 (replacing an older one) and a new LOG
 * starts. Called with out_lock held.
 */
static void rotate_log(struct mq_console *c, size_t incoming)
{
    char old[4096];
    int fd;

    if (!c->log_path || c->log_size + incoming <= MQ_CONSOLE_LOG_MAX)
        return;
    if (snprintf(old, sizeof(old), "%s.1", c->log_path) >= (int)sizeof(old))
        return;
    if (rename(c->log_path, old) != 0)
        return;
    fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return; /* keep writing to LOG.1 rather than lose output */
    close(c->out_fd);
    c->out_fd = fd;
    c->log_size = 0;
}

void mq_console_write(struct mq_console *c, const uint8_t *buf, size_t len)
{
    if (c->attach)
        mq_chardev_write(c->attach, buf, len);
    if (c->out_fd < 0)
        return;
    pthread_mutex_lock(&c->out_lock);
    rotate_log(c, len);
    c->log_size += len;
    while (len) {
        ssize_t n = write(c->out_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the reader went away: drop output, keep the guest running */
        buf += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&c->out_lock);
}

/* ---- life cycle ---- */

static int open_output(struct mq_console *c, const char *mode, char *err, size_t errlen)
{
    if (!strcmp(mode, "stdio")) {
        c->out_fd = STDOUT_FILENO;
        return 0;
    }
    if (!strcmp(mode, "none")) {
        c->out_fd = -1;
        return 0;
    }
    if (!strncmp(mode, "file:", 5) && mode[5]) {
        c->out_fd = open(mode + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->out_fd < 0) {
            snprintf(err, errlen, "--console %s: %s", mode, strerror(errno));
            return -errno;
        }
        c->own_out_fd = true;
        return 0;
    }
    snprintf(err, errlen, "--console: unknown mode '%s' (use stdio, file:PATH, "
             "detached:LOG,SOCKET or none)", mode);
    return -EINVAL;
}

static size_t attach_deliver(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_console *c = opaque;

    return c->hooks.deliver(c->hooks.opaque, buf, len);
}

/* "detached:LOG,SOCKET": output to the bounded LOG and to a client of SOCKET. */
static int open_detached(struct mq_console *c, const char *spec, char *err, size_t errlen)
{
    const char *comma = strchr(spec, ',');
    struct mq_chardev_hooks hooks = {.deliver = attach_deliver, .name = "console", .opaque = c};
    char sock[4096 + 8];
    int ret;

    if (!comma || comma == spec || !comma[1] || strchr(comma + 1, ',') || !c->loop) {
        snprintf(err, errlen, "--console detached:%s: expected detached:LOG,SOCKET", spec);
        return -EINVAL;
    }
    c->log_path = strndup(spec, (size_t)(comma - spec));
    if (!c->log_path || snprintf(sock, sizeof(sock), "socket:%s", comma + 1) >= (int)sizeof(sock)) {
        snprintf(err, errlen, "--console detached: path too long or out of memory");
        return -ENAMETOOLONG;
    }
    c->out_fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (c->out_fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "--console: %s: %s", c->log_path, strerror(errno));
        return ret;
    }
    c->own_out_fd = true;
    return mq_chardev_open(sock, c->loop, &hooks, &c->attach, err, errlen);
}

static int start_input(struct mq_console *c, char *err, size_t errlen)
{
    int ret;

    c->interactive = isatty(STDIN_FILENO);
    if (c->interactive && enter_raw_mode() != 0) {
        mq_warn("console", "cannot put the terminal in raw mode: %s", strerror(errno));
        c->interactive = false;
    }
    ret = mq_notifier_create(c->loop, on_space, c, &c->space);
    if (!ret)
        ret = mq_event_loop_add_fd(c->loop, STDIN_FILENO, MQ_EV_READ, on_stdin, NULL, c,
                                   &c->in_watch);
    if (ret == -EPERM) {
        /* stdin is a regular file or /dev/null (epoll refuses those): no input. */
        c->in_watch = NULL;
        return 0;
    }
    if (ret)
        snprintf(err, errlen, "console: cannot watch standard input: %s", strerror(-ret));
    return ret;
}

int mq_console_create(const char *mode, struct mq_event_loop *loop,
                      const struct mq_console_hooks *hooks, struct mq_console **out,
                      char *err, size_t errlen)
{
    struct mq_console *c = calloc(1, sizeof(*c));
    int ret;

    if (!c) {
        snprintf(err, errlen, "console: out of memory");
        return -ENOMEM;
    }
    c->hooks = *hooks;
    c->loop = loop;
    pthread_mutex_init(&c->out_lock, NULL);
    c->out_fd = -1;
    if (!strncmp(mode, "detached:", 9))
        ret = open_detached(c, mode + 9, err, errlen);
    else
        ret = open_output(c, mode, err, errlen);
    if (!ret && !strcmp(mode, "stdio") && loop)
        ret = start_input(c, err, errlen);
    if (ret) {
        mq_console_destroy(c);
        return ret;
    }
    *out = c;
    return 0;
}

void mq_console_destroy(struct mq_console *c)
{
    if (!c)
        return;
    stop_input(c);
    mq_chardev_close(c->attach);
    if (c->space)
        mq_notifier_destroy(c->space);
    restore_terminal();
    if (c->own_out_fd && c->out_fd >= 0)
        close(c->out_fd);
    free(c->log_path);
    pthread_mutex_destroy(&c->out_lock);
    free(c);
}
