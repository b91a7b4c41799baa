/* SPDX-License-Identifier: MIT */
/*
 * Tests of the detached console (console.c "detached:LOG,SOCKET"): output
 * to the log and to an attached client, input from the client, a second
 * client refused, the log rotated past MQ_CONSOLE_LOG_MAX.
 */
#include "vm/console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static pthread_mutex_t in_lock = PTHREAD_MUTEX_INITIALIZER;
static char input[256];
static size_t input_len;

static size_t deliver(void *opaque, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&in_lock);
    if (len > sizeof(input) - input_len)
        len = sizeof(input) - input_len;
    memcpy(input + input_len, buf, len);
    input_len += len;
    pthread_mutex_unlock(&in_lock);
    return len;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read until want appears (or 5 s pass). */
static bool read_until(int fd, const char *want)
{
    char buf[4096];
    size_t len = 0;

    while (len < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, 5000) != 1)
            return false;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, want))
            return true;
    }
    return false;
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static bool log_has(const char *path, const char *want)
{
    size_t cap = 2u << 20, n;
    char *buf = malloc(cap + 1);
    FILE *f = fopen(path, "r");
    bool found;

    if (!f || !buf) {
        if (f)
            fclose(f);
        free(buf);
        return false;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    buf[n] = 0;
    found = memmem(buf, n, want, strlen(want)) != NULL;
    free(buf);
    return found;
}

int main(void)
{
    char dir[] = "/tmp/mqcons-XXXXXX", log[128], sock[128], log1[140], mode[300];
    struct mq_console_hooks hooks = {.deliver = deliver};
    struct mq_event_loop *loop;
    struct mq_console *c;
    char err[512], *big;
    struct stat st;
    int fd, fd2;

    if (!mkdtemp(dir))
        return 1;
    snprintf(log, sizeof(log), "%s/vm.log", dir);
    snprintf(log1, sizeof(log1), "%s/vm.log.1", dir);
    snprintf(sock, sizeof(sock), "%s/vm.console", dir);
    snprintf(mode, sizeof(mode), "detached:%s,%s", log, sock);
    CHECK(mq_event_loop_create(&loop) == 0);
    CHECK(mq_event_loop_start(loop, "test-io") == 0);

    CHECK(mq_console_create("detached:nocomma", loop, &hooks, &c, err, sizeof(err)) == -EINVAL);
    CHECK(mq_console_create("detached:a,b,c", loop, &hooks, &c, err, sizeof(err)) == -EINVAL);
    CHECK(mq_console_create(mode, loop, &hooks, &c, err, sizeof(err)) == 0);
    CHECK(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(log, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* Before anyone attaches: the log only. */
    mq_console_write(c, (const uint8_t *)"early line\r\n", 12);
    CHECK(log_has(log, "early line"));

    fd = connect_to(sock);
    CHECK(fd >= 0);
    usleep(100000);
    mq_console_write(c, (const uint8_t *)"hello client\r\n", 14);
    CHECK(read_until(fd, "hello client"));
    CHECK(log_has(log, "hello client"));
    CHECK(write(fd, "ls\r", 3) == 3);
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&in_lock);
        bool got = input_len == 3;
        pthread_mutex_unlock(&in_lock);
        if (got)
            break;
        usleep(20000);
    }
    CHECK(input_len == 3 && !memcmp(input, "ls\r", 3));

    /* One client at a time. */
    fd2 = connect_to(sock);
    CHECK(fd2 >= 0);
    CHECK(read_until(fd2, "already in use"));
    close(fd2);

    /* Detach and attach again. */
    close(fd);
    usleep(100000);
    fd = connect_to(sock);
    CHECK(fd >= 0);
    usleep(100000);
    mq_console_write(c, (const uint8_t *)"second attach\r\n", 15);
    CHECK(read_until(fd, "second attach"));
    close(fd);

    /* Past the bound, LOG becomes LOG.1 and a new LOG starts. */
    big = malloc(64 << 10);
    memset(big, 'x', 64 << 10);
    for (int i = 0; i < 20; i++)
        mq_console_write(c, (const uint8_t *)big, 64 << 10);
    mq_console_write(c, (const uint8_t *)"after rotation\r\n", 16);
    free(big);
    CHECK(file_size(log) <= (off_t)MQ_CONSOLE_LOG_MAX);
    CHECK(file_size(log1) > 0 && file_size(log1) <= (off_t)MQ_CONSOLE_LOG_MAX);
    CHECK(log_has(log, "after rotation"));
    CHECK(log_has(log1, "hello client"));

    mq_console_destroy(c);
    CHECK(stat(sock, &st) != 0); /* the socket is removed */
    mq_event_loop_stop(loop);
    mq_event_loop_destroy(loop);
    unlink(log);
    unlink(log1);
    rmdir(dir);
    if (failures) {
        fprintf(stderr, "console_test: %d failures\n", failures);
        return 1;
    }
    printf("console_test: all passed\n");
    return 0;
}
