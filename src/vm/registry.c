/* SPDX-License-Identifier: MIT */
/*
 * The registry of running VMs: NAME.json files in a private per-user
 * directory (see registry.h). An entry is live while its pid exists and is
 * still the process that wrote it: the start time of the process
 * (/proc/PID/stat field 22) is recorded, so a recycled pid is not taken
 * for the VM.
 *
 * Locking: add, and the removal of stale entries, hold flock() on the
 * directory, so two starts of one name cannot both win; readers need no
 * lock (entries are replaced by rename).
 */
#include "vm/registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_MAX_BYTES (64u << 10)

/* Extra field: the start time of the process in clock ticks since boot. */
#define KEY_PROC_START "proc_start"

int mq_vm_name_ok(const char *name)
{
    size_t n;

    if (!name || !name[0] || name[0] == '.' || name[0] == '-')
        return 0;
    for (n = 0; name[n]; n++) {
        unsigned char c = (unsigned char)name[n];
        if (n >= MQ_VM_NAME_MAX)
            return 0;
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
        if (c >= 0x80)
            return 0;
    }
    return 1;
}

int mq_vm_name_from_path(const char *vm_path, char *name, size_t len)
{
    const char *base, *dot;
    size_t n;

    if (!vm_path)
        return -EINVAL;
    base = strrchr(vm_path, '/');
    base = base ? base + 1 : vm_path;
    dot = strrchr(base, '.');
    if (!dot || strcmp(dot, ".vm") != 0)
        return -EINVAL;
    n = (size_t)(dot - base);
    if (n == 0 || n > MQ_VM_NAME_MAX || n >= len)
        return -EINVAL;
    memcpy(name, base, n);
    name[n] = 0;
    return mq_vm_name_ok(name) ? 0 : -EINVAL;
}

/* ---- the directory ---- */

/* Create dir (mode 0700) when missing; refuse one that is not private to us. */
static int private_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "registry: cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    if (lstat(dir, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "registry: %s: %s", dir, strerror(e));
        return -e;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "registry: %s is not a directory", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "registry: %s is owned by uid %u, not by us (uid %u): refused",
                 dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "registry: %s has mode %04o, open to others: refused "
                 "(chmod 700 it)", dir, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

int mq_vm_registry_dir(char *buf, size_t len, char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char top[PATH_MAX];
    int n, ret;

    if (xdg && xdg[0] == '/')
        n = snprintf(top, sizeof(top), "%s/maquina", xdg);
    else
        n = snprintf(top, sizeof(top), "/tmp/maquina-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= sizeof(top) || (size_t)n + 4 >= len) {
        snprintf(err, errlen, "registry: directory name too long");
        return -ENAMETOOLONG;
    }
    ret = private_dir(top, err, errlen);
    if (ret)
        return ret;
    snprintf(buf, len, "%s/vm", top);
    return private_dir(buf, err, errlen);
}

static int entry_file(const char *name, const char *suffix, char *buf, size_t len, char *err,
                      size_t errlen)
{
    char dir[PATH_MAX];
    int n, ret;

    if (!mq_vm_name_ok(name)) {
        snprintf(err, errlen, "registry: '%s' is not a legal VM name (1 to %d of "
                 "A-Z a-z 0-9 . _ -, not starting with . or -)", name ? name : "",
                 MQ_VM_NAME_MAX);
        return -EINVAL;
    }
    ret = mq_vm_registry_dir(dir, sizeof(dir), err, errlen);
    if (ret)
        return ret;
    n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "registry: path of %s%s too long", name, suffix);
        return -ENAMETOOLONG;
    }
    return 0;
}

int mq_vm_registry_socket_path(const char *name, char *buf, size_t len, char *err,
                               size_t errlen)
{
    struct sockaddr_un sa;
    int ret = entry_file(name, ".sock", buf, len, err, errlen);

    if (!ret && strlen(buf) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "registry: socket path %s is longer than %zu bytes "
                 "(set XDG_RUNTIME_DIR to a shorter directory)", buf, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    return ret;
}

/* ---- process identity ---- */

/*
 * Start time (clock ticks since boot) of pid, or 0 when unknown; *state
 * gets the state letter ('Z': a zombie, dead but not reaped) when known.
 */
static unsigned long long proc_stat(pid_t pid, char *state)
{
    char path[64], buf[1024], *p;
    unsigned long long v = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* comm may hold spaces and parentheses: fields start after the last ')'. */
    p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    if (state && p[0] == ' ' && p[1])
        *state = p[1];
    /* After ")": field 3 (state) ... field 22 (starttime): skip 19 fields. */
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p)
            return 0;
    }
    if (sscanf(p, " %llu", &v) != 1)
        return 0;
    return v;
}

/* True when pid still is the process that wrote the entry. */
static int entry_alive(pid_t pid, unsigned long long recorded_start)
{
    unsigned long long now;
    char state = 0;

    if (pid <= 0)
        return 0;
    if (kill(pid, 0) != 0 && errno != EPERM)
        return 0;
    now = proc_stat(pid, &state);
    /* A zombie is dead: its parent (maybe an init that never reaps) did not wait yet. */
    if (state == 'Z' || state == 'X')
        return 0;
    /* No /proc (or no start time recorded): trust kill() alone. */
    if (!now || !recorded_start)
        return 1;
    return now == recorded_start;
}

/* ---- entries as JSON ---- */

static int copy_str(json_object *o, const char *key, char *dst, size_t len, int required)
{
    json_object *v;
    const char *s;

    if (!json_object_object_get_ex(o, key, &v)) {
        dst[0] = 0;
        return required ? -EINVAL : 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return -EINVAL;
    s = json_object_get_string(v);
    if (strlen(s) >= len)
        return -EINVAL;
    strcpy(dst, s);
    return 0;
}

static int get_u64(json_object *o, const char *key, uint64_t *out)
{
    json_object *v;

    *out = 0;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -EINVAL;
    errno = 0;
    *out = json_object_get_uint64(v);
    return errno ? -EINVAL : 0;
}

/* Read and parse an entry file: 0, -ENOENT, or -EINVAL for a damaged one. */
static int read_entry(const char *path, struct mq_vm_entry *e, unsigned long long *pstart)
{
    char *buf = malloc(ENTRY_MAX_BYTES + 1);
    json_object *o;
    uint64_t pid, v, ps;
    ssize_t n;
    size_t len = 0;
    int fd, ret = -EINVAL;

    if (!buf)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        ret = errno == ENOENT ? -ENOENT : -EINVAL;
        free(buf);
        return ret;
    }
    while (len < ENTRY_MAX_BYTES && (n = read(fd, buf + len, ENTRY_MAX_BYTES - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = 0;
    o = json_tokener_parse(buf);
    free(buf);
    if (!o || !json_object_is_type(o, json_type_object))
        goto out;
    memset(e, 0, sizeof(*e));
    if (copy_str(o, "name", e->name, sizeof(e->name), 1) ||
        copy_str(o, "vm_path", e->vm_path, sizeof(e->vm_path), 0) ||
        copy_str(o, "socket_path", e->socket_path, sizeof(e->socket_path), 0) ||
        copy_str(o, "console_log", e->console_log, sizeof(e->console_log), 0) ||
        get_u64(o, "pid", &pid) || pid == 0 || pid > INT_MAX ||
        get_u64(o, "start_time", &e->start_time) || get_u64(o, "ram_size", &e->ram_size) ||
        get_u64(o, "nharts", &v) || v > UINT_MAX || get_u64(o, KEY_PROC_START, &ps))
        goto out;
    e->pid = (pid_t)pid;
    *pstart = ps;
    e->nharts = (unsigned)v;
    ret = mq_vm_name_ok(e->name) ? 0 : -EINVAL;
out:
    json_object_put(o);
    return ret;
}

static int write_entry(const char *path, const struct mq_vm_entry *e, char *err,
                       size_t errlen)
{
    json_object *o = json_object_new_object();
    char tmp[PATH_MAX];
    const char *text;
    size_t len;
    int fd, ret = 0;

    if (!o) {
        snprintf(err, errlen, "registry: out of memory");
        return -ENOMEM;
    }
    json_object_object_add(o, "name", json_object_new_string(e->name));
    json_object_object_add(o, "pid", json_object_new_int64(e->pid));
    json_object_object_add(o, "vm_path", json_object_new_string(e->vm_path));
    json_object_object_add(o, "socket_path", json_object_new_string(e->socket_path));
    json_object_object_add(o, "console_log", json_object_new_string(e->console_log));
    json_object_object_add(o, "start_time", json_object_new_uint64(e->start_time));
    json_object_object_add(o, "nharts", json_object_new_uint64(e->nharts));
    json_object_object_add(o, "ram_size", json_object_new_uint64(e->ram_size));
    json_object_object_add(o, KEY_PROC_START,
                           json_object_new_uint64(proc_stat(getpid(), NULL)));
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    len = strlen(text);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "registry: path of %s too long", path);
        ret = -ENAMETOOLONG;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "registry: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        ret = errno ? -errno : -EIO;
        snprintf(err, errlen, "registry: cannot write %s: %s", tmp, strerror(-ret));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        ret = -errno;
        snprintf(err, errlen, "registry: cannot rename %s to %s: %s", tmp, path,
                 strerror(errno));
        unlink(tmp);
    }
out:
    json_object_put(o);
    return ret;
}

/* ---- stale entries ---- */

static int lock_dir(char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int fd, ret = mq_vm_registry_dir(dir, sizeof(dir), err, errlen);

    if (ret)
        return ret;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "registry: cannot open %s: %s", dir, strerror(errno));
        return ret;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            ret = -errno;
            snprintf(err, errlen, "registry: cannot lock %s: %s", dir, strerror(errno));
            close(fd);
            return ret;
        }
    }
    return fd;
}

static void unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* Remove a socket file only when nobody listens on it any more. */
static void remove_dead_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (!path[0] || strlen(path) >= sizeof(sa.sun_path))
        return;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

/*
 * Remove path's entry when it is stale (dead, recycled pid, damaged),
 * re-checking under the lock. 1 when it was removed.
 */
static int drop_if_stale(const char *path)
{
    struct mq_vm_entry e;
    unsigned long long pstart = 0;
    char err[256];
    int fd = lock_dir(err, sizeof(err)), ret, removed = 0;

    if (fd < 0)
        return 0;
    ret = read_entry(path, &e, &pstart);
    if (ret == -EINVAL || (ret == 0 && !entry_alive(e.pid, pstart))) {
        unlink(path);
        if (ret == 0)
            remove_dead_socket(e.socket_path);
        removed = 1;
    }
    unlock_dir(fd);
    return removed;
}

/* Read a live entry: 0, or -ENOENT (missing or stale, and then removed). */
static int read_live(const char *path, struct mq_vm_entry *e)
{
    unsigned long long pstart = 0;
    int ret = read_entry(path, e, &pstart);

    if (ret == -ENOENT || ret == -ENOMEM)
        return ret;
    if (ret == 0 && entry_alive(e->pid, pstart))
        return 0;
    if (!drop_if_stale(path) && read_entry(path, e, &pstart) == 0 &&
        entry_alive(e->pid, pstart))
        return 0; /* replaced by a live one meanwhile */
    return -ENOENT;
}

/* ---- public calls ---- */

int mq_vm_registry_add(struct mq_vm_entry *e, char *err, size_t errlen)
{
    struct mq_vm_entry old;
    unsigned long long pstart = 0;
    char path[PATH_MAX];
    int fd, ret;

    ret = entry_file(e->name, ".json", path, sizeof(path), err, errlen);
    if (ret)
        return ret;
    e->pid = getpid();
    fd = lock_dir(err, errlen);
    if (fd < 0)
        return fd;
    ret = read_entry(path, &old, &pstart);
    if (ret == 0 && old.pid != e->pid && entry_alive(old.pid, pstart)) {
        snprintf(err, errlen, "a VM named '%s' is already running (pid %d)", e->name,
                 (int)old.pid);
        ret = -EEXIST;
        goto out;
    }
    if (ret == -ENOMEM) {
        snprintf(err, errlen, "registry: out of memory");
        goto out;
    }
    ret = write_entry(path, e, err, errlen);
out:
    unlock_dir(fd);
    return ret;
}

void mq_vm_registry_remove(const char *name)
{
    struct mq_vm_entry e;
    unsigned long long pstart = 0;
    char path[PATH_MAX], err[256];
    int fd;

    if (entry_file(name, ".json", path, sizeof(path), err, sizeof(err)) != 0)
        return;
    fd = lock_dir(err, sizeof(err));
    if (fd < 0)
        return;
    if (read_entry(path, &e, &pstart) == 0 && e.pid == getpid())
        unlink(path);
    unlock_dir(fd);
}

int mq_vm_registry_find(const char *name, struct mq_vm_entry *e, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int ret = entry_file(name, ".json", path, sizeof(path), err, errlen);

    if (ret)
        return ret;
    ret = read_live(path, e);
    if (ret == -ENOENT)
        snprintf(err, errlen, "no VM named '%s' is running", name);
    else if (ret)
        snprintf(err, errlen, "registry: %s: %s", path, strerror(-ret));
    return ret;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct mq_vm_entry *)a)->name, ((const struct mq_vm_entry *)b)->name);
}

int mq_vm_registry_list(struct mq_vm_entry **out, unsigned *count, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX];
    struct mq_vm_entry *v = NULL;
    unsigned n = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int ret = mq_vm_registry_dir(dir, sizeof(dir), err, errlen);

    *out = NULL;
    *count = 0;
    if (ret)
        return ret;
    d = opendir(dir);
    if (!d) {
        ret = -errno;
        snprintf(err, errlen, "registry: cannot read %s: %s", dir, strerror(errno));
        return ret;
    }
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
            continue;
        if (n == cap) {
            unsigned ncap = cap ? cap * 2 : 8;
            struct mq_vm_entry *nv = realloc(v, ncap * sizeof(*v));
            if (!nv) {
                closedir(d);
                free(v);
                snprintf(err, errlen, "registry: out of memory");
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        if (read_live(path, &v[n]) == 0)
            n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_entry);
    *out = v;
    *count = n;
    return 0;
}

int mq_vm_registry_find_path(const char *path, struct mq_vm_entry *e, char *err,
                             size_t errlen)
{
    struct mq_vm_entry *v;
    struct stat want, st;
    unsigned n;
    int ret;

    if (stat(path, &want) != 0) {
        ret = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return ret;
    }
    ret = mq_vm_registry_list(&v, &n, err, errlen);
    if (ret)
        return ret;
    ret = -ENOENT;
    for (unsigned i = 0; i < n; i++) {
        if (v[i].vm_path[0] && stat(v[i].vm_path, &st) == 0 && st.st_dev == want.st_dev &&
            st.st_ino == want.st_ino) {
            *e = v[i];
            ret = 0;
            break;
        }
    }
    free(v);
    if (ret)
        snprintf(err, errlen, "no running VM uses %s", path);
    return ret;
}
