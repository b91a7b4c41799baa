/* SPDX-License-Identifier: MIT */
/* Tests of the host character backends: none, file, Unix socket (clients, flow control, overflow) and pty. */
#include "util/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",        \
                    __FILE__, __LINE__, #a, a_, #b, b_);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* ---- the device side: collects input, takes at most `budget` bytes ---- */

struct dev {
    pthread_mutex_t lock;
    uint8_t in[1 << 16];
    size_t in_len;
    size_t budget;          /* SIZE_MAX: unlimited */
    unsigned refusals;
    char notice[256];
};

static size_t dev_deliver(void *opaque, const uint8_t *buf, size_t len)
{
    struct dev *d = opaque;
    size_t n;

    pthread_mutex_lock(&d->lock);
    n = len < d->budget ? len : d->budget;
    if (n > sizeof(d->in) - d->in_len)
        n = sizeof(d->in) - d->in_len;
    memcpy(d->in + d->in_len, buf, n);
    d->in_len += n;
    if (d->budget != SIZE_MAX)
        d->budget -= n;
    if (n < len)
        d->refusals++;
    pthread_mutex_unlock(&d->lock);
    return n;
}

static void dev_notice(void *opaque, const char *line)
{
    struct dev *d = opaque;

    snprintf(d->notice, sizeof(d->notice), "%s", line);
}

static size_t dev_in_len(struct dev *d)
{
    size_t n;

    pthread_mutex_lock(&d->lock);
    n = d->in_len;
    pthread_mutex_unlock(&d->lock);
    return n;
}

static void dev_init(struct dev *d)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->budget = SIZE_MAX;
}

static struct mq_chardev_hooks hooks_for(struct dev *d)
{
    return (struct mq_chardev_hooks){
        .deliver = dev_deliver, .notice = dev_notice, .name = "hvc0", .opaque = d};
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait until the device has received want bytes. */
static bool wait_in(struct dev *d, size_t want)
{
    for (int i = 0; i < 3000; i++) {
        if (dev_in_len(d) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

/* Read exactly len bytes from fd within a few seconds. */
static bool read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0)
            return false;
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

static void write_all(int fd, const void *buf, size_t len)
{
    CHECK_EQ(write(fd, buf, len), (ssize_t)len);
}

static struct mq_chardev_stats stats(struct mq_chardev *c)
{
    struct mq_chardev_stats s;

    mq_chardev_get_stats(c, &s);
    return s;
}

static char tmpdir[64];

/* ---- tests ---- */

static void test_specs(void)
{
    struct mq_chardev *c;
    char err[256];
    struct dev d;

    dev_init(&d);
    struct mq_chardev_hooks h = hooks_for(&d);
    CHECK_EQ(mq_chardev_open("none", NULL, &h, &c, err, sizeof(err)), 0);
    mq_chardev_write(c, (const uint8_t *)"lost", 4);
    CHECK_EQ(stats(c).out_dropped, 4);
    CHECK(mq_chardev_path(c) == NULL);
    mq_chardev_input_space(c);
    mq_chardev_close(c);
    /* NULL hooks are fine. */
    CHECK_EQ(mq_chardev_open("none", NULL, NULL, &c, NULL, 0), 0);
    mq_chardev_close(c);

    CHECK_EQ(mq_chardev_open("bogus", NULL, &h, &c, err, sizeof(err)), -EINVAL);
    CHECK(c == NULL);
    CHECK(strstr(err, "hvc0") && strstr(err, "bogus"));
    CHECK_EQ(mq_chardev_open("file:", NULL, &h, &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(mq_chardev_open("socket:", NULL, &h, &c, err, sizeof(err)), -EINVAL);
    /* socket and pty need a loop. */
    CHECK_EQ(mq_chardev_open("pty", NULL, &h, &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(mq_chardev_open("socket:/tmp/x", NULL, &h, &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(mq_chardev_open("file:/nonexistent-dir/x", NULL, &h, &c, err, sizeof(err)),
             -ENOENT);
    CHECK(strstr(err, "/nonexistent-dir/x") != NULL);
}

static void check_file(const char *path, const char *want)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ(fread(buf, 1, sizeof(buf) - 1, f), strlen(want));
    CHECK(strcmp(buf, want) == 0);
    fclose(f);
}

static void test_file(struct mq_event_loop *loop)
{
    struct mq_chardev *c;
    char spec[128], err[256], path[96];

    snprintf(path, sizeof(path), "%s/out.txt", tmpdir);
    snprintf(spec, sizeof(spec), "file:%s", path);
    /* Without a loop the bytes are written at once. */
    CHECK_EQ(mq_chardev_open(spec, NULL, NULL, &c, err, sizeof(err)), 0);
    mq_chardev_write(c, (const uint8_t *)"hello ", 6);
    check_file(path, "hello ");
    mq_chardev_write(c, (const uint8_t *)"world\n", 6);
    mq_chardev_close(c);
    check_file(path, "hello world\n");

    /* With a loop: queued, written by the loop, the rest on close; the file is truncated. */
    CHECK_EQ(mq_chardev_open(spec, loop, NULL, &c, err, sizeof(err)), 0);
    for (int i = 0; i < 10; i++)
        mq_chardev_write(c, (const uint8_t *)"0123456789", i == 9 ? 10 : 1);
    mq_chardev_close(c);
    check_file(path, "0000000000123456789");
    unlink(path);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connect and wait until the chardev has accepted: a byte travels to the device. */
static int connect_ready(const char *path, struct dev *d)
{
    int fd = connect_to(path);
    size_t before = dev_in_len(d);

    CHECK(fd >= 0);
    write_all(fd, "!", 1);
    CHECK(wait_in(d, before + 1));
    return fd;
}

static void test_socket(struct mq_event_loop *loop)
{
    struct mq_chardev *c;
    char spec[128], err[256], path[96];
    uint8_t buf[4096];
    struct stat st;
    struct dev d;
    int fd, fd2;

    dev_init(&d);
    struct mq_chardev_hooks h = hooks_for(&d);
    snprintf(path, sizeof(path), "%s/console.sock", tmpdir);
    snprintf(spec, sizeof(spec), "socket:%s", path);
    CHECK_EQ(mq_chardev_open(spec, loop, &h, &c, err, sizeof(err)), 0);
    CHECK(strcmp(mq_chardev_path(c), path) == 0);
    CHECK_EQ(stat(path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0600);

    /* No client: output dropped. */
    mq_chardev_write(c, (const uint8_t *)"nobody", 6);
    CHECK_EQ(stats(c).out_dropped, 6);

    /* Both ways with a client. */
    fd = connect_ready(path, &d);
    write_all(fd, "ls -l\n", 6);
    CHECK(wait_in(&d, 7));
    CHECK(memcmp(d.in, "!ls -l\n", 7) == 0);
    mq_chardev_write(c, (const uint8_t *)"total 0\r\n", 9);
    CHECK(read_all(fd, buf, 9));
    CHECK(memcmp(buf, "total 0\r\n", 9) == 0);

    /* A second client is turned away while the first is connected. */
    fd2 = connect_to(path);
    CHECK(fd2 >= 0);
    ssize_t n = read(fd2, buf, sizeof(buf));
    CHECK(n > 0 && memmem(buf, (size_t)n, "in use", 6) != NULL);
    CHECK_EQ(read(fd2, buf, sizeof(buf)), 0);
    close(fd2);
    mq_chardev_write(c, (const uint8_t *)"still", 5);
    CHECK(read_all(fd, buf, 5));
    CHECK(memcmp(buf, "still", 5) == 0);

    /* Flow control: the device takes 100 bytes, reading pauses, input_space resumes. */
    pthread_mutex_lock(&d.lock);
    d.in_len = 0;
    d.budget = 100;
    pthread_mutex_unlock(&d.lock);
    for (size_t i = 0; i < 3000; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    write_all(fd, buf, 3000);
    CHECK(wait_in(&d, 100));
    sleep_ms(50);
    CHECK_EQ(dev_in_len(&d), 100);
    for (int round = 0; round < 40 && dev_in_len(&d) < 3000; round++) {
        pthread_mutex_lock(&d.lock);
        d.budget = 100;
        pthread_mutex_unlock(&d.lock);
        mq_chardev_input_space(c);
        size_t want = (size_t)(round + 2) * 100;
        CHECK(wait_in(&d, want < 3000 ? want : 3000));
    }
    pthread_mutex_lock(&d.lock);
    d.budget = SIZE_MAX;
    pthread_mutex_unlock(&d.lock);
    mq_chardev_input_space(c);
    CHECK_EQ(dev_in_len(&d), 3000);
    CHECK(memcmp(d.in, buf, 3000) == 0);
    CHECK(d.refusals >= 29);

    /* A client that never reads: the writer never blocks, the overflow is counted. */
    struct mq_chardev_stats s0 = stats(c);
    uint8_t chunk[4096];
    memset(chunk, 'z', sizeof(chunk));
    for (int i = 0; i < 512; i++)
        mq_chardev_write(c, chunk, sizeof(chunk));
    CHECK(stats(c).out_dropped > s0.out_dropped);
    /* Drain: everything written is eventually either delivered or counted dropped. */
    size_t got = 0;
    for (int idle = 0; idle < 200;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0) {
            idle++;
            continue;
        }
        n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    struct mq_chardev_stats s1 = stats(c);
    CHECK_EQ(s1.out_bytes - s0.out_bytes, got);
    CHECK_EQ((s1.out_bytes - s0.out_bytes) + (s1.out_dropped - s0.out_dropped), 512 * 4096);

    /* The client leaves: output dropped again; a new client is served. */
    close(fd);
    for (int i = 0; i < 200; i++) {
        uint64_t before = stats(c).out_dropped;
        mq_chardev_write(c, (const uint8_t *)"x", 1);
        if (stats(c).out_dropped > before)
            break;
        sleep_ms(5);
    }
    fd = connect_ready(path, &d);
    mq_chardev_write(c, (const uint8_t *)"again", 5);
    CHECK(read_all(fd, buf, 5));
    CHECK(memcmp(buf, "again", 5) == 0);
    close(fd);
    mq_chardev_close(c);
    /* The socket is gone with the chardev. */
    CHECK(stat(path, &st) != 0);

    /* A stale socket is replaced; a regular file is not. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    CHECK_EQ(mq_chardev_open(spec, loop, &h, &c, err, sizeof(err)), 0);
    mq_chardev_close(c);
    FILE *f = fopen(path, "w");
    fclose(f);
    CHECK_EQ(mq_chardev_open(spec, loop, &h, &c, err, sizeof(err)), -EEXIST);
    CHECK_EQ(stat(path, &st), 0);
    unlink(path);
    /* Too long for sun_path. */
    char longspec[200];
    memset(longspec, 'a', sizeof(longspec) - 1);
    longspec[sizeof(longspec) - 1] = 0;
    memcpy(longspec, "socket:/tmp/", 12);
    CHECK_EQ(mq_chardev_open(longspec, loop, &h, &c, err, sizeof(err)), -ENAMETOOLONG);
}

static void test_pty(struct mq_event_loop *loop)
{
    struct mq_chardev *c;
    char err[256], want[160];
    uint8_t buf[64];
    struct dev d;
    int s;

    dev_init(&d);
    struct mq_chardev_hooks h = hooks_for(&d);
    CHECK_EQ(mq_chardev_open("pty", loop, &h, &c, err, sizeof(err)), 0);
    CHECK(mq_chardev_path(c) && !strncmp(mq_chardev_path(c), "/dev/pts/", 9));
    snprintf(want, sizeof(want), "maquina: hvc0 is %s", mq_chardev_path(c));
    CHECK(strcmp(d.notice, want) == 0);

    s = open(mq_chardev_path(c), O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(s >= 0);
    /* Raw mode: bytes pass unchanged both ways (no echo, no CR/LF mapping). */
    write_all(s, "root\r", 5);
    CHECK(wait_in(&d, 5));
    CHECK(memcmp(d.in, "root\r", 5) == 0);
    mq_chardev_write(c, (const uint8_t *)"# \n", 3);
    CHECK(read_all(s, buf, 3));
    CHECK(memcmp(buf, "# \n", 3) == 0);

    /* The reader closes the slave; a new one is found again. */
    close(s);
    sleep_ms(50);
    for (int i = 0; i < 200; i++) {
        uint64_t before = stats(c).out_dropped;
        mq_chardev_write(c, (const uint8_t *)"x", 1);
        if (stats(c).out_dropped > before)
            break;
        sleep_ms(5);
    }
    s = open(mq_chardev_path(c), O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(s >= 0);
    write_all(s, "ok", 2);
    CHECK(wait_in(&d, 7));
    CHECK(memcmp(d.in + 5, "ok", 2) == 0);
    mq_chardev_write(c, (const uint8_t *)"back", 4);
    CHECK(read_all(s, buf, 4));
    CHECK(memcmp(buf, "back", 4) == 0);
    close(s);
    mq_chardev_close(c);

    /* Without a notice hook the line goes to stderr (not checked here); open and close. */
    h.notice = NULL;
    CHECK_EQ(mq_chardev_open("pty", loop, &h, &c, err, sizeof(err)), 0);
    mq_chardev_close(c);
}

int main(void)
{
    struct mq_event_loop *loop;

    mq_log_set_level(MQ_LOG_ERROR);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mq-chardev-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_EQ(mq_event_loop_create(&loop), 0);
    CHECK_EQ(mq_event_loop_start(loop, "chardev-test"), 0);
    test_specs();
    test_file(loop);
    test_socket(loop);
    test_pty(loop);
    mq_event_loop_destroy(loop);
    rmdir(tmpdir);
    if (failures) {
        fprintf(stderr, "chardev_test: %d failures\n", failures);
        return 1;
    }
    printf("chardev_test: ok\n");
    return 0;
}
