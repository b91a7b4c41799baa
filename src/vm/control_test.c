/* SPDX-License-Identifier: MIT */
/*
 * Tests of the control API server and its commands against a fake VM
 * (the vm_ctl.h calls are defined here): every command, bad requests,
 * long lines, many clients, a client that never reads, other uids.
 */
#include "vm/vm_commands.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/control.h"
#include "vm/vm_commands_int.h"

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

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || strcmp(a_, b_)) {                                           \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",          \
                    __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_);           \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* ---- the fake VM ---- */

struct mq_vm {
    enum mq_vm_run_state state;
    bool has_power_button;
    char last[256];   /* the last call, e.g. "snapshot-save a" */
    unsigned resets;
};

static struct mq_vm fake = {.state = MQ_VM_STATE_RUNNING, .has_power_button = false};

const char *mq_vm_state_name(enum mq_vm_run_state s)
{
    return s == MQ_VM_STATE_PAUSED ? "paused" : s == MQ_VM_STATE_STOPPING ? "stopping"
                                                                          : "running";
}

void mq_vm_ctl_info(struct mq_vm *vm, struct mq_vm_info *out)
{
    out->state = vm->state;
    out->name = "fake";
    out->vm_path = "/tmp/fake.vm";
    out->pid = getpid();
    out->nharts = 2;
    out->ram_size = 256ull << 20;
    out->uptime_ns = 5000000000ull;
    out->guest_ns = 4000000000ull;
}

int mq_vm_ctl_pause(struct mq_vm *vm, char *err, size_t errlen)
{
    if (vm->state == MQ_VM_STATE_STOPPING) {
        snprintf(err, errlen, "the VM is stopping");
        return -ESHUTDOWN;
    }
    vm->state = MQ_VM_STATE_PAUSED;
    snprintf(vm->last, sizeof(vm->last), "pause");
    return 0;
}

int mq_vm_ctl_resume(struct mq_vm *vm, char *err, size_t errlen)
{
    if (vm->state == MQ_VM_STATE_STOPPING)
        return -ESHUTDOWN;
    vm->state = MQ_VM_STATE_RUNNING;
    snprintf(vm->last, sizeof(vm->last), "resume");
    return 0;
}

int mq_vm_ctl_stop(struct mq_vm *vm, bool force, char *err, size_t errlen)
{
    if (!force && !vm->has_power_button) {
        snprintf(err, errlen, "no power button");
        return -ENODEV;
    }
    vm->state = MQ_VM_STATE_STOPPING;
    snprintf(vm->last, sizeof(vm->last), "stop %d", force);
    return 0;
}

int mq_vm_ctl_reset(struct mq_vm *vm, char *err, size_t errlen)
{
    vm->resets++;
    snprintf(vm->last, sizeof(vm->last), "reset");
    return 0;
}

int mq_vm_ctl_snapshot_save(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    snprintf(vm->last, sizeof(vm->last), "snapshot-save %s", tag);
    if (!strcmp(tag, "exists")) {
        snprintf(err, errlen, "snapshot 'exists' already exists");
        return -EEXIST;
    }
    return 0;
}

int mq_vm_ctl_snapshot_load(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    snprintf(vm->last, sizeof(vm->last), "snapshot-load %s", tag);
    if (strcmp(tag, "a") != 0) {
        snprintf(err, errlen, "no snapshot '%s'", tag);
        return -ENOENT;
    }
    return 0;
}

int mq_vm_ctl_snapshot_delete(struct mq_vm *vm, const char *tag, char *err, size_t errlen)
{
    snprintf(vm->last, sizeof(vm->last), "snapshot-delete %s", tag);
    return -EOPNOTSUPP;
}

int mq_vm_ctl_snapshot_list(struct mq_vm *vm, struct mq_vm_snapshot **out, unsigned *count,
                            char *err, size_t errlen)
{
    struct mq_vm_snapshot *s = calloc(2, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s[0].id = strdup("1");
    s[0].name = strdup("a");
    s[0].date_sec = 1700000000;
    s[0].vm_state_size = 1234;
    s[1].id = strdup("2");
    s[1].name = strdup("disk-only");
    *out = s;
    *count = 2;
    return 0;
}

void mq_vm_ctl_snapshot_list_free(struct mq_vm_snapshot *s, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        free(s[i].id);
        free(s[i].name);
    }
    free(s);
}

void mq_vm_ctl_stats(struct mq_vm *vm, struct mq_vm_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->nharts = 2;
    out->hart[0].instret = 1000;
    out->hart[1].instret = 2000;
    out->hart[1].traps = 7;
    out->ndisks = 1;
    out->disk[0].rd_reqs = 3;
    out->nnics = 1;
    out->nic[0].link_up = true;
    out->nic[0].rx_frames = 9;
}

int mq_vm_ctl_link_set(struct mq_vm *vm, unsigned nic, bool up, char *err, size_t errlen)
{
    snprintf(vm->last, sizeof(vm->last), "link-set %u %d", nic, up);
    if (nic >= 1) {
        snprintf(err, errlen, "no NIC %u", nic);
        return -ENOENT;
    }
    return 0;
}

/* ---- a client ---- */

static char sock_path[108];

struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static struct client *client_new(void)
{
    struct client *c = calloc(1, sizeof(*c));

    c->fd = connect_to(sock_path);
    CHECK(c->fd >= 0);
    return c;
}

static void client_free(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void send_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* The next line (without newline) as a malloc'ed string; NULL on EOF or timeout. */
static char *read_line(struct client *c, int timeout_ms)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        ssize_t n;
        if (nl) {
            size_t l = (size_t)(nl - c->buf);
            char *s = strndup(c->buf, l);
            memmove(c->buf, nl + 1, c->len - l - 1);
            c->len -= l + 1;
            return s;
        }
        if (c->len == sizeof(c->buf) || poll(&p, 1, timeout_ms) <= 0)
            return NULL;
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

/* Send one line, return the parsed reply (json_object_put it). */
static json_object *request(struct client *c, const char *line)
{
    char *reply;
    json_object *o;

    send_all(c->fd, line, strlen(line));
    send_all(c->fd, "\n", 1);
    reply = read_line(c, 5000);
    if (!reply) {
        fprintf(stderr, "no reply to %s\n", line);
        failures++;
        return json_object_new_object();
    }
    o = json_tokener_parse(reply);
    if (!o) {
        fprintf(stderr, "bad reply %s\n", reply);
        failures++;
        o = json_object_new_object();
    }
    free(reply);
    return o;
}

/* Dotted path lookup: "error.code", "result.harts.1.instret". */
static json_object *get(json_object *o, const char *path)
{
    char buf[256], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(tok));
        else if (!json_object_object_get_ex(o, tok, &o))
            o = NULL;
    }
    return o;
}

static const char *gets_(json_object *o, const char *path)
{
    json_object *v = get(o, path);

    return v ? json_object_get_string(v) : NULL;
}

static long long geti(json_object *o, const char *path)
{
    json_object *v = get(o, path);

    return v ? json_object_get_int64(v) : -1;
}

/* Reply ok? */
static bool ok(json_object *r)
{
    json_object *v = get(r, "ok");

    return v && json_object_get_boolean(v);
}

#define EXPECT_ERR(c, line, code)                                              \
    do {                                                                       \
        json_object *r_ = request(c, line);                                    \
        CHECK(!ok(r_));                                                        \
        CHECK_STR(gets_(r_, "error.code"), code);                              \
        CHECK(gets_(r_, "error.message") != NULL);                             \
        json_object_put(r_);                                                   \
    } while (0)

static void wait_nclients(struct mq_control *ctl, unsigned want)
{
    for (int i = 0; i < 500 && mq_control_nclients(ctl) != want; i++)
        usleep(10000);
    CHECK_EQ(mq_control_nclients(ctl), want);
}

/* ---- tests ---- */

static void test_commands(struct client *c)
{
    json_object *r;

    r = request(c, "{\"id\": 1, \"cmd\": \"status\"}");
    CHECK(ok(r));
    CHECK_EQ(geti(r, "id"), 1);
    CHECK_STR(gets_(r, "result.state"), "running");
    CHECK_STR(gets_(r, "result.name"), "fake");
    CHECK_EQ(geti(r, "result.harts"), 2);
    CHECK_EQ(geti(r, "result.memory"), 256ll << 20);
    CHECK_EQ(geti(r, "result.pid"), getpid());
    json_object_put(r);

    r = request(c, "{\"id\": \"p\", \"cmd\": \"pause\"}");
    CHECK(ok(r));
    CHECK_STR(gets_(r, "id"), "p");
    CHECK_EQ(fake.state, MQ_VM_STATE_PAUSED);
    json_object_put(r);
    r = request(c, "{\"cmd\": \"status\"}");
    CHECK_STR(gets_(r, "result.state"), "paused");
    CHECK(get(r, "id") == NULL && json_object_object_get_ex(r, "id", NULL));
    json_object_put(r);
    r = request(c, "{\"id\": {\"x\": [1]}, \"cmd\": \"resume\"}");
    CHECK(ok(r));
    CHECK_EQ(geti(r, "id.x.0"), 1);
    CHECK_EQ(fake.state, MQ_VM_STATE_RUNNING);
    json_object_put(r);

    r = request(c, "{\"cmd\": \"reset\"}");
    CHECK(ok(r));
    CHECK_EQ(fake.resets, 1);
    json_object_put(r);

    EXPECT_ERR(c, "{\"cmd\": \"stop\"}", "not-supported");
    EXPECT_ERR(c, "{\"cmd\": \"stop\", \"args\": {\"force\": 1}}", "invalid-argument");

    r = request(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": \"a\"}}");
    CHECK(ok(r));
    CHECK_STR(fake.last, "snapshot-save a");
    CHECK_STR(gets_(r, "result.tag"), "a");
    json_object_put(r);
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": \"exists\"}}", "exists");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\"}", "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": \"\"}}", "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": \"a\\nb\"}}",
               "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": \"a\\u0000b\"}}",
               "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-save\", \"args\": {\"tag\": 5}}", "invalid-argument");
    r = request(c, "{\"cmd\": \"snapshot-load\", \"args\": {\"tag\": \"a\"}}");
    CHECK(ok(r));
    json_object_put(r);
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-load\", \"args\": {\"tag\": \"zz\"}}", "not-found");
    EXPECT_ERR(c, "{\"cmd\": \"snapshot-delete\", \"args\": {\"tag\": \"a\"}}",
               "not-supported");
    r = request(c, "{\"cmd\": \"snapshot-list\"}");
    CHECK(ok(r));
    CHECK_STR(gets_(r, "result.snapshots.0.name"), "a");
    CHECK_EQ(geti(r, "result.snapshots.0.vm_state_size"), 1234);
    CHECK_STR(gets_(r, "result.snapshots.1.name"), "disk-only");
    json_object_put(r);

    r = request(c, "{\"cmd\": \"stats\"}");
    CHECK(ok(r));
    CHECK_EQ(geti(r, "result.harts.1.instret"), 2000);
    CHECK_EQ(geti(r, "result.harts.1.traps"), 7);
    CHECK_EQ(geti(r, "result.disks.0.rd_reqs"), 3);
    CHECK_EQ(geti(r, "result.nics.0.rx_frames"), 9);
    json_object_put(r);

    r = request(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 0, \"up\": false}}");
    CHECK(ok(r));
    CHECK_STR(fake.last, "link-set 0 0");
    json_object_put(r);
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 1, \"up\": true}}", "not-found");
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 99, \"up\": true}}",
               "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": -1, \"up\": true}}",
               "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 0}}", "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 1e30, \"up\": true}}",
               "invalid-argument");
    EXPECT_ERR(c, "{\"cmd\": \"link-set\", \"args\": {\"nic\": 99999999999999999999999, "
               "\"up\": true}}", "invalid-argument");

    r = request(c, "{\"cmd\": \"help\"}");
    CHECK(ok(r));
    CHECK(json_object_array_length(get(r, "result.commands")) >= 14);
    json_object_put(r);
    r = request(c, "{\"cmd\": \"commands\"}");
    CHECK(ok(r));
    json_object_put(r);

    /* With the power button, a plain stop is the guest's business. */
    fake.has_power_button = true;
    r = request(c, "{\"cmd\": \"stop\"}");
    CHECK(ok(r));
    CHECK_STR(fake.last, "stop 0");
    json_object_put(r);
    EXPECT_ERR(c, "{\"cmd\": \"pause\"}", "stopping");
    r = request(c, "{\"cmd\": \"stop\", \"args\": {\"force\": true}}");
    CHECK(ok(r));
    CHECK_STR(fake.last, "stop 1");
    json_object_put(r);
    fake.state = MQ_VM_STATE_RUNNING;
}

static void test_bad_requests(struct client *c)
{
    json_object *r;

    EXPECT_ERR(c, "{\"cmd\": ", "parse-error");
    EXPECT_ERR(c, "not json at all", "parse-error");
    EXPECT_ERR(c, "{\"cmd\": \"status\"} trailing", "parse-error");
    EXPECT_ERR(c, "[1, 2]", "invalid-request");
    EXPECT_ERR(c, "\"status\"", "invalid-request");
    EXPECT_ERR(c, "null", "parse-error");
    EXPECT_ERR(c, "{}", "invalid-request");
    EXPECT_ERR(c, "{\"cmd\": 7}", "invalid-request");
    EXPECT_ERR(c, "{\"cmd\": \"status\", \"args\": [1]}", "invalid-request");
    EXPECT_ERR(c, "{\"cmd\": \"status\", \"extra\": 1}", "invalid-request");
    EXPECT_ERR(c, "{\"cmd\": \"launch-missiles\"}", "unknown-command");
    EXPECT_ERR(c, "{\"cmd\": \"status\", \"args\": {\"verbose\": true}}", "invalid-argument");
    /* An id is echoed even when the command is refused. */
    r = request(c, "{\"id\": 42, \"cmd\": \"nope\"}");
    CHECK_EQ(geti(r, "id"), 42);
    json_object_put(r);
    /* Deeply nested input is refused, not recursed into. */
    {
        char deep[4096];
        size_t n = 0;
        for (int i = 0; i < 2000; i++)
            deep[n++] = '[';
        deep[n] = 0;
        EXPECT_ERR(c, deep, "parse-error");
    }

    /* Pipelined requests: replies in request order; blank lines ignored. */
    {
        const char *pipelined = "{\"id\":1,\"cmd\":\"status\"}\n\n  \r\n{\"id\":2,\"cmd\":\"nope\"}\r\n"
                                "{\"id\":3,\"cmd\":\"help\"}\n";
        send_all(c->fd, pipelined, strlen(pipelined));
    }
    for (int want = 1; want <= 3; want++) {
        char *line = read_line(c, 5000);
        r = line ? json_tokener_parse(line) : NULL;
        CHECK_EQ(geti(r, "id"), want);
        json_object_put(r);
        free(line);
    }
}

static void test_long_request(struct client *c)
{
    size_t big = 1u << 20;
    char *buf = malloc(big + 64);
    json_object *r;
    char *line;

    /* 1 MiB line: one error, discarded to its newline, connection kept. */
    memcpy(buf, "{\"cmd\":\"status\",\"args\":{\"pad\":\"", 31);
    memset(buf + 31, 'x', big - 31);
    memcpy(buf + big, "\"}}\n", 4);
    send_all(c->fd, buf, big + 4);
    line = read_line(c, 5000);
    r = line ? json_tokener_parse(line) : NULL;
    CHECK(r && !ok(r));
    CHECK_STR(gets_(r, "error.code"), "request-too-long");
    json_object_put(r);
    free(line);
    r = request(c, "{\"id\": 7, \"cmd\": \"status\"}");
    CHECK(ok(r));
    CHECK_EQ(geti(r, "id"), 7);
    json_object_put(r);

    /* The longest accepted line: MQ_CONTROL_MAX_LINE - 1 bytes. */
    memset(buf, ' ', MQ_CONTROL_MAX_LINE - 1);
    memcpy(buf, "{\"id\":8,\"cmd\":\"status\"}", 23);
    buf[MQ_CONTROL_MAX_LINE - 1] = '\n';
    send_all(c->fd, buf, MQ_CONTROL_MAX_LINE);
    line = read_line(c, 5000);
    r = line ? json_tokener_parse(line) : NULL;
    CHECK(r && ok(r));
    CHECK_EQ(geti(r, "id"), 8);
    json_object_put(r);
    free(line);
    free(buf);
}

static void test_many_clients(struct mq_control *ctl)
{
    enum { N = 100 };
    struct client *cl[N];
    unsigned refused = 0, served = 0;

    for (int i = 0; i < N; i++)
        cl[i] = client_new();
    usleep(300000);
    for (int i = 0; i < N; i++) {
        struct pollfd p = {.fd = cl[i]->fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            char *line = read_line(cl[i], 1000);
            json_object *r = line ? json_tokener_parse(line) : NULL;
            if (r && !strcmp(gets_(r, "error.code") ? gets_(r, "error.code") : "", "busy"))
                refused++;
            json_object_put(r);
            free(line);
            close(cl[i]->fd);
            cl[i]->fd = -1;
        }
    }
    /* One client (the main test's) is already connected. */
    CHECK_EQ(refused, N - (MQ_CONTROL_MAX_CLIENTS - 1));
    for (int i = 0; i < N; i++) {
        if (cl[i]->fd < 0)
            continue;
        json_object *r = request(cl[i], "{\"cmd\": \"status\"}");
        served += ok(r);
        json_object_put(r);
    }
    CHECK_EQ(served, MQ_CONTROL_MAX_CLIENTS - 1);
    for (int i = 0; i < N; i++)
        client_free(cl[i]);
    wait_nclients(ctl, 1);
}

static void test_events(struct mq_control *ctl, struct mq_vm_event_sink *sink,
                        struct client *main_client)
{
    struct client *a = client_new(), *b = client_new();
    json_object *r;
    char *line;

    r = request(a, "{\"cmd\": \"events\"}");
    CHECK(ok(r));
    json_object_put(r);
    sink->event(sink->opaque, "shutdown", "guest poweroff");
    line = read_line(a, 5000);
    r = line ? json_tokener_parse(line) : NULL;
    CHECK_STR(gets_(r, "event"), "shutdown");
    CHECK_STR(gets_(r, "detail"), "guest poweroff");
    CHECK(geti(r, "time") > 1600000000);
    json_object_put(r);
    free(line);
    /* b did not subscribe. */
    line = read_line(b, 200);
    CHECK(line == NULL);
    free(line);
    /* Unsubscribe. */
    r = request(a, "{\"cmd\": \"events\", \"args\": {\"enable\": false}}");
    CHECK(ok(r));
    json_object_put(r);
    sink->event(sink->opaque, "reset", "");
    line = read_line(a, 200);
    CHECK(line == NULL);
    free(line);
    client_free(a);
    client_free(b);
    wait_nclients(ctl, 1);
    (void)main_client;
}

static void test_slow_reader(struct mq_control *ctl)
{
    struct client *slow = client_new(), *other;
    char req[] = "{\"cmd\":\"help\"}\n";
    json_object *r;
    int sz = 4096;

    /* A small receive buffer, then thousands of requests and no reads. */
    setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    wait_nclients(ctl, 2);
    for (int i = 0; i < 2000; i++)
        send_all(slow->fd, req, sizeof(req) - 1);
    /* The server drops it instead of blocking; others are served meanwhile. */
    other = client_new();
    r = request(other, "{\"cmd\": \"status\"}");
    CHECK(ok(r));
    json_object_put(r);
    wait_nclients(ctl, 2); /* the main client and `other` */
    client_free(other);
    client_free(slow);
    wait_nclients(ctl, 1);
}

static void test_half_close(struct mq_control *ctl)
{
    struct client *c = client_new();
    char *line;

    send_all(c->fd, "{\"id\":5,\"cmd\":\"status\"}", 23); /* no newline, then EOF */
    shutdown(c->fd, SHUT_WR);
    line = read_line(c, 5000);
    CHECK(line && strstr(line, "\"id\":5") && strstr(line, "\"ok\":true"));
    free(line);
    line = read_line(c, 5000);
    CHECK(line == NULL); /* then the server closes */
    free(line);
    client_free(c);
    wait_nclients(ctl, 1);
}

/* As root: a client of another uid is refused by the file mode, and by SO_PEERCRED. */
static void test_other_uid(const char *dir)
{
    int status;
    pid_t pid;

    if (geteuid() != 0) {
        printf("ok - another uid is refused # SKIP not root\n");
        return;
    }
    chmod(dir, 0755);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            chmod(sock_path, 0666); /* only the peer check stands in the way now */
        pid = fork();
        if (pid == 0) {
            struct client c = {.fd = -1};
            char *line;
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(10);
            c.fd = connect_to(sock_path);
            if (c.fd < 0)
                _exit(pass == 0 && errno == EACCES ? 0 : 11);
            if (pass == 0)
                _exit(12); /* mode 0600 should have stopped us */
            send_all(c.fd, "{\"cmd\":\"status\"}\n", 17);
            line = read_line(&c, 5000);
            if (!line || !strstr(line, "permission-denied"))
                _exit(13);
            free(line);
            line = read_line(&c, 5000);
            _exit(line ? 14 : 0);
        }
        CHECK(pid > 0);
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), 0);
    }
    chmod(sock_path, 0600);
    chmod(dir, 0700);
}

static void test_socket_file(const char *dir)
{
    struct mq_vm_commands *vc2;
    struct mq_vm_event_sink sink;
    char err[512], path[100];
    struct stat st;
    int fd;

    /* A live socket is refused. */
    CHECK_EQ(mq_vm_commands_start(&fake, sock_path, &vc2, &sink, err, sizeof(err)),
             -EADDRINUSE);
    /* A regular file is not ours to replace. */
    snprintf(path, sizeof(path), "%s/file.sock", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK_EQ(mq_vm_commands_start(&fake, path, &vc2, &sink, err, sizeof(err)), -EEXIST);
    unlink(path);
    /* A stale socket (nobody listening) is replaced. */
    {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(s);
    }
    umask(0);
    CHECK_EQ(mq_vm_commands_start(&fake, path, &vc2, &sink, err, sizeof(err)), 0);
    umask(022);
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    mq_vm_commands_stop(vc2);
    CHECK(stat(path, &st) != 0);
}

static void test_decoder(void)
{
    struct mq_control_error e;

    CHECK_EQ(mq_vm_command_validate_line("{\"cmd\":\"status\"}", 16, &e), 0);
    CHECK_EQ(mq_vm_command_validate_line("{\"cmd\":\"status\"}", 10, &e), -EINVAL);
    CHECK_EQ(mq_vm_command_validate_line("{\"cmd\":\"st\0tus\"}", 16, &e), -EINVAL);
    CHECK_EQ(mq_vm_command_validate_line("", 0, &e), -EINVAL);
    CHECK_STR(mq_vm_command_errno_code(-ENOENT), "not-found");
    CHECK_STR(mq_vm_command_errno_code(-ENODEV), "not-supported");
    CHECK_STR(mq_vm_command_errno_code(-EIO), "failed");
}

int main(void)
{
    char dir[] = "/tmp/mqctl-XXXXXX";
    struct mq_vm_commands *vc;
    struct mq_vm_event_sink sink = {0};
    struct mq_control *ctl;
    struct client *c;
    char err[512];
    struct stat st;

    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(sock_path, sizeof(sock_path), "%s/vm.sock", dir);
    test_decoder();
    CHECK_EQ(mq_vm_commands_start(&fake, sock_path, &vc, &sink, err, sizeof(err)), 0);
    CHECK(sink.event != NULL);
    CHECK_EQ(stat(sock_path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0600);
    ctl = mq_vm_commands_server(vc);

    c = client_new();
    test_commands(c);
    test_bad_requests(c);
    test_long_request(c);
    wait_nclients(ctl, 1);
    test_many_clients(ctl);
    test_events(ctl, &sink, c);
    test_slow_reader(ctl);
    test_half_close(ctl);
    test_other_uid(dir);
    test_socket_file(dir);
    client_free(c);

    mq_vm_commands_stop(vc);
    CHECK(stat(sock_path, &st) != 0);
    rmdir(dir);
    if (failures) {
        fprintf(stderr, "control_test: %d failures\n", failures);
        return 1;
    }
    printf("control_test: all passed\n");
    return 0;
}
