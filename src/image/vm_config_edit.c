/* SPDX-License-Identifier: MIT */
/*
 * Editing a VM configuration key by key, the model behind
 * `maquina config NAME.vm set|get` (syntax in docs/cli.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "image/image_int.h"
#include "image/vm_config.h"

const char *const mq_vm_config_keys[] = {
    "name", "uuid", "created", "memory", "smp", "firmware", "kernel",
    "initrd", "append", "net", "disk", "linked_clones", NULL,
};

/* An existing regular file, made absolute. */
static int boot_file(const char *key, const char *value, char **out, char *err, size_t errlen)
{
    struct stat st;
    int ret;

    ret = mq_image_realpath(value, out);
    if (ret) {
        mq_image_err(err, errlen, "%s: cannot use '%s': %s", key, value, strerror(-ret));
        return ret;
    }
    if (stat(*out, &st) || !S_ISREG(st.st_mode)) {
        mq_image_err(err, errlen, "%s: '%s' is not a regular file", key, value);
        free(*out);
        *out = NULL;
        return -EINVAL;
    }
    return 0;
}

/*
 * The format is detected now and recorded, so a guest writing a qcow2
 * magic into a raw disk cannot change how it is opened later.
 */
int mq_vm_disk_spec_parse(const char *spec, const char *vm_dir, struct mq_vm_disk_cfg *d,
                          char *err, size_t errlen)
{
    char *copy = strdup(spec), *save = NULL, *path, *opt;
    const char *format = NULL;
    int ret = 0;

    memset(d, 0, sizeof(*d));
    if (!copy)
        return -ENOMEM;
    path = copy[0] == ',' ? NULL : strtok_r(copy, ",", &save);
    if (!path || !*path) {
        mq_image_err(err, errlen, "disk: missing path (e.g. data.qcow2,ro,serial=data)");
        ret = -EINVAL;
        goto out;
    }
    while (!ret && (opt = strtok_r(NULL, ",", &save))) {
        if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
            d->read_only = true;
        } else if (!strncmp(opt, "serial=", 7)) {
            free(d->serial);
            d->serial = strdup(opt + 7);
            ret = d->serial ? 0 : -ENOMEM;
        } else if (!strcmp(opt, "format=raw") || !strcmp(opt, "format=qcow2")) {
            format = opt + 7;
        } else {
            mq_image_err(err, errlen, "disk %s: unknown option '%s' (ro, serial=S, format=F)",
                         path, opt);
            ret = -EINVAL;
        }
    }
    if (!ret) {
        ret = mq_image_disk_store_path(path, vm_dir, &d->path);
        if (ret)
            mq_image_err(err, errlen, "disk %s: %s", path, strerror(-ret));
    }
    if (!ret && !format) {
        ret = mq_image_detect_format(path, &format);
        if (ret)
            mq_image_err(err, errlen, "disk %s: %s", path, strerror(-ret));
    }
    if (!ret) {
        d->format = strdup(format);
        ret = d->format ? 0 : -ENOMEM;
    }
out:
    if (ret) {
        free(d->path);
        free(d->serial);
        free(d->format);
        memset(d, 0, sizeof(*d));
    }
    free(copy);
    return ret;
}

/* An index ("0") or a match by text, for net-= and disk-=. -1 when none. */
static int find_index(const char *value, unsigned n, const char *(*text)(const struct mq_vm_config *, unsigned),
                      const struct mq_vm_config *c)
{
    char *end;
    unsigned long i = strtoul(value, &end, 10);

    if (value[0] >= '0' && value[0] <= '9' && !*end)
        return i < n ? (int)i : -1;
    for (unsigned k = 0; k < n; k++) {
        if (!strcmp(text(c, k), value))
            return (int)k;
    }
    return -1;
}

static const char *disk_text(const struct mq_vm_config *c, unsigned i)
{
    return c->disks[i].path;
}

static const char *nic_text(const struct mq_vm_config *c, unsigned i)
{
    static _Thread_local char mac[18];

    mq_vm_mac_format(c->nics[i].mac, mac);
    return mac;
}

static int set_list(struct mq_vm_config *c, const char *key, bool add, const char *value,
                    const char *vm_dir, char *err, size_t errlen)
{
    bool net = !strcmp(key, "net");
    int i, ret;

    if (add && net) {
        struct mq_vm_nic_cfg *n = &c->nics[c->nnics];

        if (c->nnics >= MQ_VM_MAX_NICS) {
            mq_image_err(err, errlen, "net+=: already %d NICs", MQ_VM_MAX_NICS);
            return -EINVAL;
        }
        n->net = strdup(value);
        if (!n->net)
            return -ENOMEM;
        ret = mq_vm_random_mac(n->mac);
        if (ret)
            return ret;
        c->nnics++;
        return 0;
    }
    if (add) {
        if (c->ndisks >= MQ_VM_MAX_DISKS) {
            mq_image_err(err, errlen, "disk+=: already %d extra disks", MQ_VM_MAX_DISKS);
            return -EINVAL;
        }
        ret = mq_vm_disk_spec_parse(value, vm_dir, &c->disks[c->ndisks], err, errlen);
        if (!ret)
            c->ndisks++;
        return ret;
    }
    i = net ? find_index(value, c->nnics, nic_text, c) : find_index(value, c->ndisks, disk_text, c);
    if (i < 0) {
        mq_image_err(err, errlen, "%s-=%s: no such %s (give its index or %s, see 'get %s')",
                     key, value, net ? "NIC" : "disk", net ? "MAC" : "path", key);
        return -ENOENT;
    }
    if (net) {
        free(c->nics[i].net);
        memmove(&c->nics[i], &c->nics[i + 1], (c->nnics - (unsigned)i - 1) * sizeof(c->nics[0]));
        c->nics[--c->nnics] = (struct mq_vm_nic_cfg){0};
    } else {
        free(c->disks[i].path);
        free(c->disks[i].format);
        free(c->disks[i].serial);
        memmove(&c->disks[i], &c->disks[i + 1],
                (c->ndisks - (unsigned)i - 1) * sizeof(c->disks[0]));
        c->disks[--c->ndisks] = (struct mq_vm_disk_cfg){0};
    }
    return 0;
}

/* Replace a string field; an empty value clears it. */
static int set_string(char **field, const char *value)
{
    char *v = NULL;

    if (*value && !(v = strdup(value)))
        return -ENOMEM;
    free(*field);
    *field = v;
    return 0;
}

static int set_scalar(struct mq_vm_config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    uint64_t v;
    char *path = NULL;
    int ret;

    if (!strcmp(key, "memory")) {
        /* A bare number is MiB, as for --memory. */
        if (!mq_image_parse_size(value, &v)) {
            mq_image_err(err, errlen, "memory=%s: not a size (e.g. 512M, 2G)", value);
            return -EINVAL;
        }
        if (value[strlen(value) - 1] >= '0' && value[strlen(value) - 1] <= '9')
            v = v > UINT64_MAX >> 20 ? UINT64_MAX : v << 20;
        c->memory = v;
        return 0;
    }
    if (!strcmp(key, "smp") || !strcmp(key, "harts")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);

        if (!(value[0] >= '0' && value[0] <= '9') || *end || n < MQ_VM_MIN_HARTS ||
            n > MQ_VM_MAX_HARTS) {
            mq_image_err(err, errlen, "smp=%s: the number of harts must be %d to %d", value,
                         MQ_VM_MIN_HARTS, MQ_VM_MAX_HARTS);
            return -EINVAL;
        }
        c->harts = (unsigned)n;
        return 0;
    }
    if (!strcmp(key, "name"))
        return set_string(&c->name, value);
    if (!strcmp(key, "append"))
        return set_string(&c->cmdline, value);
    if (!strcmp(key, "kernel") || !strcmp(key, "initrd") || !strcmp(key, "firmware")) {
        char **field = key[0] == 'k' ? &c->kernel : key[0] == 'i' ? &c->initrd : &c->firmware;

        if (*value && strcmp(value, "default")) {
            ret = boot_file(key, value, &path, err, errlen);
            if (ret)
                return ret;
        } else if (key[0] == 'f' ? !*value : !strcmp(value, "default")) {
            mq_image_err(err, errlen, "%s=%s: give a file%s", key, value,
                         key[0] == 'f' ? " or 'default'" : " or nothing to remove it");
            return -EINVAL;
        }
        free(*field);
        *field = path;
        return 0;
    }
    mq_image_err(err, errlen,
                 "unknown key '%s' (memory, smp, name, kernel, initrd, append, firmware, "
                 "net+=, net-=, disk+=, disk-=)", key);
    return -EINVAL;
}

int mq_vm_config_set(struct mq_vm_config *c, const char *assignment, const char *vm_path,
                     char *err, size_t errlen)
{
    char *dir = NULL;
    struct mq_vm_config work;
    const char *eq = strchr(assignment, '=');
    char key[32];
    size_t klen;
    int ret, op = 0;

    if (!eq || eq == assignment) {
        mq_image_err(err, errlen, "'%s' is not KEY=VALUE", assignment);
        return -EINVAL;
    }
    klen = (size_t)(eq - assignment);
    if (eq[-1] == '+' || eq[-1] == '-') {
        op = eq[-1];
        klen--;
    }
    if (klen == 0 || klen >= sizeof(key)) {
        mq_image_err(err, errlen, "'%s' is not KEY=VALUE", assignment);
        return -EINVAL;
    }
    memcpy(key, assignment, klen);
    key[klen] = 0;
    if (op && strcmp(key, "net") && strcmp(key, "disk")) {
        mq_image_err(err, errlen, "%s%c=: only net and disk take += and -=", key, op);
        return -EINVAL;
    }
    if (!op && (!strcmp(key, "net") || !strcmp(key, "disk"))) {
        mq_image_err(err, errlen, "%s: use %s+=SPEC to add and %s-=INDEX to remove", key, key,
                     key);
        return -EINVAL;
    }
    /* Edit a copy, validate it, and only then replace: errors leave c as it was. */
    ret = mq_vm_config_copy(&work, c);
    if (ret)
        return ret;
    if (op == '+' && key[0] == 'd') {
        ret = mq_image_dir_of(vm_path, &dir);
        if (ret)
            mq_image_err(err, errlen, "%s: cannot resolve its directory: %s", vm_path,
                         strerror(-ret));
    }
    if (!ret && op)
        ret = set_list(&work, key, op == '+', eq + 1, dir, err, errlen);
    else if (!ret)
        ret = set_scalar(&work, key, eq + 1, err, errlen);
    free(dir);
    if (!ret)
        ret = mq_vm_config_validate(&work, err, errlen);
    if (ret) {
        mq_vm_config_free(&work);
        return ret;
    }
    mq_vm_config_free(c);
    *c = work;
    return 0;
}

/* Memory in the largest unit that divides it exactly: 1G, 1536M, 20480K. */
static void format_memory(uint64_t v, char *buf, size_t len)
{
    if (v && v % (1ull << 30) == 0)
        snprintf(buf, len, "%" PRIu64 "G", v >> 30);
    else if (v && v % (1ull << 20) == 0)
        snprintf(buf, len, "%" PRIu64 "M", v >> 20);
    else
        snprintf(buf, len, "%" PRIu64 "K", v >> 10);
}

static int get_list(const struct mq_vm_config *c, bool net, char **value)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return -ENOMEM;
    for (unsigned i = 0; net && i < c->nnics; i++) {
        char mac[18];

        mq_vm_mac_format(c->nics[i].mac, mac);
        fprintf(f, "%s%u %s %s", i ? "\n" : "", i, mac, c->nics[i].net);
    }
    for (unsigned i = 0; !net && i < c->ndisks; i++) {
        const struct mq_vm_disk_cfg *d = &c->disks[i];

        fprintf(f, "%s%u %s%s%s%s%s%s", i ? "\n" : "", i, d->path, d->read_only ? ",ro" : "",
                d->serial ? ",serial=" : "", d->serial ? d->serial : "",
                d->format ? ",format=" : "", d->format ? d->format : "");
    }
    if (fclose(f)) {
        free(buf);
        return -ENOMEM;
    }
    *value = buf;
    return 0;
}

int mq_vm_config_get(const struct mq_vm_config *c, const char *key, char **value, char *err,
                     size_t errlen)
{
    char buf[64];
    const char *s = NULL;

    *value = NULL;
    if (!strcmp(key, "net") || !strcmp(key, "disk"))
        return get_list(c, key[0] == 'n', value);
    if (!strcmp(key, "name")) {
        s = c->name ? c->name : "";
    } else if (!strcmp(key, "uuid")) {
        s = c->uuid;
    } else if (!strcmp(key, "created")) {
        time_t t = (time_t)c->created;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
            snprintf(buf, sizeof(buf), "%" PRId64, c->created);
        s = buf;
    } else if (!strcmp(key, "memory")) {
        format_memory(c->memory, buf, sizeof(buf));
        s = buf;
    } else if (!strcmp(key, "smp") || !strcmp(key, "harts")) {
        snprintf(buf, sizeof(buf), "%u", c->harts);
        s = buf;
    } else if (!strcmp(key, "firmware")) {
        s = c->firmware ? c->firmware : "default";
    } else if (!strcmp(key, "kernel")) {
        s = c->kernel ? c->kernel : "";
    } else if (!strcmp(key, "initrd")) {
        s = c->initrd ? c->initrd : "";
    } else if (!strcmp(key, "append")) {
        s = c->cmdline ? c->cmdline : "";
    } else if (!strcmp(key, "linked_clones")) {
        size_t len = 1;

        for (unsigned i = 0; i < c->nlinked; i++)
            len += strlen(c->linked_clones[i]) + 1;
        *value = calloc(1, len);
        if (!*value)
            return -ENOMEM;
        for (unsigned i = 0; i < c->nlinked; i++) {
            if (i)
                strcat(*value, "\n");
            strcat(*value, c->linked_clones[i]);
        }
        return 0;
    } else {
        mq_image_err(err, errlen, "unknown key '%s' (name, uuid, created, memory, smp, "
                     "firmware, kernel, initrd, append, net, disk, linked_clones)", key);
        return -ENOENT;
    }
    *value = strdup(s);
    return *value ? 0 : -ENOMEM;
}
