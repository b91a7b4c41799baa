/* SPDX-License-Identifier: MIT */
/* Tests of the registry of running VMs, in a temporary XDG_RUNTIME_DIR. */
#include "vm/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",        \
                    __FILE__, __LINE__, #a, a_, #b, b_);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static char tmpdir[64];
static char regdir[128];

static void entry_for(struct mq_vm_entry *e, const char *name)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->vm_path, sizeof(e->vm_path), "%s/%s.vm", tmpdir, name);
    snprintf(e->socket_path, sizeof(e->socket_path), "%s/%s.sock", regdir, name);
    snprintf(e->console_log, sizeof(e->console_log), "%s/%s.log", tmpdir, name);
    e->start_time = 1700000000;
    e->nharts = 2;
    e->ram_size = 256ull << 20;
}

static void test_names(void)
{
    char name[MQ_VM_NAME_MAX + 8];
    char longname[MQ_VM_NAME_MAX + 2];

    CHECK(mq_vm_name_ok("web"));
    CHECK(mq_vm_name_ok("a.b_c-9"));
    CHECK(!mq_vm_name_ok(""));
    CHECK(!mq_vm_name_ok(NULL));
    CHECK(!mq_vm_name_ok(".hidden"));
    CHECK(!mq_vm_name_ok("-opt"));
    CHECK(!mq_vm_name_ok("a/b"));
    CHECK(!mq_vm_name_ok("a b"));
    CHECK(!mq_vm_name_ok("\xc3\xa9t\xc3\xa9"));
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK(!mq_vm_name_ok(longname));
    longname[MQ_VM_NAME_MAX] = 0;
    CHECK(mq_vm_name_ok(longname));

    CHECK_EQ(mq_vm_name_from_path("/x/y/web.vm", name, sizeof(name)), 0);
    CHECK(!strcmp(name, "web"));
    CHECK_EQ(mq_vm_name_from_path("db.vm", name, sizeof(name)), 0);
    CHECK(!strcmp(name, "db"));
    CHECK_EQ(mq_vm_name_from_path("/x/.vm", name, sizeof(name)), -EINVAL);
    CHECK_EQ(mq_vm_name_from_path("/x/web.img", name, sizeof(name)), -EINVAL);
    CHECK_EQ(mq_vm_name_from_path("/x/bad name.vm", name, sizeof(name)), -EINVAL);
    CHECK_EQ(mq_vm_name_from_path("/x/web.vm", name, 3), -EINVAL);
}

static void test_add_find_list_remove(void)
{
    struct mq_vm_entry e, got, *v;
    char err[512];
    unsigned n;
    int fd;

    entry_for(&e, "zeta");
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), 0);
    CHECK_EQ(e.pid, getpid());
    entry_for(&e, "alpha");
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), 0);
    /* The same process may record its name again (e.g. after an update). */
    e.nharts = 4;
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), 0);

    CHECK_EQ(mq_vm_registry_find("alpha", &got, err, sizeof(err)), 0);
    CHECK(!strcmp(got.name, "alpha"));
    CHECK_EQ(got.pid, getpid());
    CHECK_EQ(got.nharts, 4);
    CHECK_EQ(got.ram_size, 256ull << 20);
    CHECK_EQ(got.start_time, 1700000000);
    CHECK(!strcmp(got.vm_path, e.vm_path));
    CHECK(!strcmp(got.socket_path, e.socket_path));
    CHECK(!strcmp(got.console_log, e.console_log));

    CHECK_EQ(mq_vm_registry_find("nobody", &got, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "nobody") != NULL);
    CHECK_EQ(mq_vm_registry_find("../etc", &got, err, sizeof(err)), -EINVAL);

    CHECK_EQ(mq_vm_registry_list(&v, &n, err, sizeof(err)), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK(!strcmp(v[0].name, "alpha"));
        CHECK(!strcmp(v[1].name, "zeta"));
    }
    free(v);

    /* find_path: by file identity, not by spelling. */
    fd = open(e.vm_path, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    {
        char alias[PATH_MAX];
        snprintf(alias, sizeof(alias), "%s/./alpha.vm", tmpdir);
        CHECK_EQ(mq_vm_registry_find_path(alias, &got, err, sizeof(err)), 0);
        CHECK(!strcmp(got.name, "alpha"));
    }

    mq_vm_registry_remove("alpha");
    CHECK_EQ(mq_vm_registry_find("alpha", &got, err, sizeof(err)), -ENOENT);
    CHECK_EQ(mq_vm_registry_find_path(e.vm_path, &got, err, sizeof(err)), -ENOENT);
    mq_vm_registry_remove("zeta");
    CHECK_EQ(mq_vm_registry_list(&v, &n, err, sizeof(err)), 0);
    CHECK_EQ(n, 0);
    free(v);
    unlink(e.vm_path);
}

/* A child claims name, tells us through a pipe, then waits to be killed. */
static pid_t child_holding(const char *name)
{
    int p[2];
    pid_t pid;
    char c = 0;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        struct mq_vm_entry e;
        char err[512];
        close(p[0]);
        entry_for(&e, name);
        c = mq_vm_registry_add(&e, err, sizeof(err)) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'y') {
        close(p[0]);
        return -1;
    }
    close(p[0]);
    return pid;
}

static void test_duplicate_and_stale(void)
{
    struct mq_vm_entry e, got, *v;
    char err[512], path[PATH_MAX];
    unsigned n;
    pid_t child = child_holding("dup");
    struct stat st;

    CHECK(child > 0);
    if (child <= 0)
        return;
    entry_for(&e, "dup");
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "already running") != NULL);
    CHECK_EQ(mq_vm_registry_find("dup", &got, err, sizeof(err)), 0);
    CHECK_EQ(got.pid, child);
    /* Removal by another process is ignored. */
    mq_vm_registry_remove("dup");
    CHECK_EQ(mq_vm_registry_find("dup", &got, err, sizeof(err)), 0);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* The dead holder's entry is stale: find cleans it, list skips it. */
    snprintf(path, sizeof(path), "%s/dup.json", regdir);
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(mq_vm_registry_list(&v, &n, err, sizeof(err)), 0);
    CHECK_EQ(n, 0);
    free(v);
    CHECK(stat(path, &st) != 0);

    /* A zombie (exited, not reaped yet) is dead too. */
    child = child_holding("zombie");
    CHECK(child > 0);
    if (child > 0) {
        kill(child, SIGKILL);
        usleep(200000);
        CHECK_EQ(mq_vm_registry_find("zombie", &got, err, sizeof(err)), -ENOENT);
        waitpid(child, NULL, 0);
    }

    /* A dead holder does not block a new start. */
    child = child_holding("dup2");
    CHECK(child > 0);
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    entry_for(&e, "dup2");
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), 0);
    CHECK_EQ(mq_vm_registry_find("dup2", &got, err, sizeof(err)), 0);
    CHECK_EQ(got.pid, getpid());
    mq_vm_registry_remove("dup2");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_recycled_and_damaged(void)
{
    struct mq_vm_entry got, *v;
    char err[512], path[PATH_MAX], text[2048];
    struct stat st;
    unsigned n;

    /* pid 1 is alive, but it is not the process that wrote this entry. */
    snprintf(path, sizeof(path), "%s/recycled.json", regdir);
    snprintf(text, sizeof(text),
             "{\"name\":\"recycled\",\"pid\":1,\"socket_path\":\"%s/recycled.sock\","
             "\"proc_start\":123456789012345}", regdir);
    write_file(path, text);
    CHECK_EQ(mq_vm_registry_find("recycled", &got, err, sizeof(err)), -ENOENT);
    CHECK(stat(path, &st) != 0);

    /* Damaged entries are dropped, never trusted, never crash. */
    snprintf(path, sizeof(path), "%s/broken.json", regdir);
    write_file(path, "{\"name\": \"broken\", \"pid\": \"twelve\"");
    CHECK_EQ(mq_vm_registry_find("broken", &got, err, sizeof(err)), -ENOENT);
    CHECK(stat(path, &st) != 0);
    snprintf(path, sizeof(path), "%s/neg.json", regdir);
    write_file(path, "{\"name\": \"neg\", \"pid\": -5}");
    snprintf(path, sizeof(path), "%s/arr.json", regdir);
    write_file(path, "[1, 2, 3]");
    snprintf(path, sizeof(path), "%s/badname.json", regdir);
    write_file(path, "{\"name\": \"../x\", \"pid\": 1}");
    CHECK_EQ(mq_vm_registry_list(&v, &n, err, sizeof(err)), 0);
    CHECK_EQ(n, 0);
    free(v);
    CHECK(stat(path, &st) != 0);
}

static void test_directory_checks(void)
{
    char err[512], buf[PATH_MAX], top[PATH_MAX];
    struct mq_vm_entry e;

    CHECK_EQ(mq_vm_registry_dir(buf, sizeof(buf), err, sizeof(err)), 0);
    CHECK(!strcmp(buf, regdir));

    chmod(regdir, 0755);
    CHECK_EQ(mq_vm_registry_dir(buf, sizeof(buf), err, sizeof(err)), -EPERM);
    CHECK(strstr(err, "0755") != NULL);
    entry_for(&e, "x");
    CHECK_EQ(mq_vm_registry_add(&e, err, sizeof(err)), -EPERM);
    chmod(regdir, 0700);

    snprintf(top, sizeof(top), "%s/maquina", tmpdir);
    if (geteuid() == 0) {
        CHECK_EQ(chown(top, 65534, 65534), 0);
        CHECK_EQ(mq_vm_registry_dir(buf, sizeof(buf), err, sizeof(err)), -EPERM);
        CHECK(strstr(err, "owned by uid 65534") != NULL);
        CHECK_EQ(chown(top, 0, 0), 0);
    } else {
        printf("ok - owner check # SKIP not root (cannot chown to another user)\n");
    }
    /* A symlink in place of the directory is refused too. */
    {
        char real[PATH_MAX];
        snprintf(real, sizeof(real), "%s/elsewhere", tmpdir);
        CHECK_EQ(rename(top, real), 0);
        CHECK_EQ(symlink(real, top), 0);
        CHECK_EQ(mq_vm_registry_dir(buf, sizeof(buf), err, sizeof(err)), -ENOTDIR);
        unlink(top);
        CHECK_EQ(rename(real, top), 0);
    }
    CHECK_EQ(mq_vm_registry_dir(buf, sizeof(buf), err, sizeof(err)), 0);

    /* Socket paths that do not fit sun_path are refused, not truncated. */
    CHECK_EQ(mq_vm_registry_socket_path("web", buf, sizeof(buf), err, sizeof(err)), 0);
    {
        char name[MQ_VM_NAME_MAX + 1];
        memset(name, 'n', MQ_VM_NAME_MAX);
        name[MQ_VM_NAME_MAX] = 0;
        int r = mq_vm_registry_socket_path(name, buf, sizeof(buf), err, sizeof(err));
        CHECK(r == 0 || r == -ENAMETOOLONG);
        if (r == 0)
            CHECK(strlen(buf) < 108);
    }
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 32];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mqreg-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    setenv("XDG_RUNTIME_DIR", tmpdir, 1);
    snprintf(regdir, sizeof(regdir), "%s/maquina/vm", tmpdir);

    test_names();
    test_add_find_list_remove();
    test_duplicate_and_stale();
    test_recycled_and_damaged();
    test_directory_checks();

    rm_rf(tmpdir);
    if (failures) {
        fprintf(stderr, "registry_test: %d failures\n", failures);
        return 1;
    }
    printf("registry_test: all passed\n");
    return 0;
}
