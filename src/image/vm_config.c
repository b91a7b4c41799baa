/* SPDX-License-Identifier: MIT */
/*
 * The VM configuration record: validation and its JSON encoding, the
 * payload of the "mqvm" qcow2 header extension (docs/file-format.md).
 */
#include "image/vm_config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "net/net_spec.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...) MQ_PRINTF(3, 4);

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void mq_vm_config_init(struct mq_vm_config *c)
{
    memset(c, 0, sizeof(*c));
    c->version = MQ_VM_CONFIG_VERSION;
    c->harts = 1;
    c->memory = MQ_VM_DEFAULT_MEMORY;
}

void mq_vm_config_free(struct mq_vm_config *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->firmware);
    free(c->kernel);
    free(c->initrd);
    free(c->cmdline);
    for (unsigned i = 0; i < c->ndisks && i < MQ_VM_MAX_DISKS; i++) {
        free(c->disks[i].path);
        free(c->disks[i].format);
        free(c->disks[i].serial);
    }
    for (unsigned i = 0; i < c->nnics && i < MQ_VM_MAX_NICS; i++)
        free(c->nics[i].net);
    for (unsigned i = 0; i < c->nlinked && i < MQ_VM_MAX_LINKED_CLONES; i++)
        free(c->linked_clones[i]);
    mq_vm_config_init(c);
}

/* strdup that keeps NULL; false on allocation failure. */
static bool dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

int mq_vm_config_copy(struct mq_vm_config *dst, const struct mq_vm_config *src)
{
    bool ok = true;

    *dst = *src;
    /* Clear every pointer first so a failure half-way frees only copies. */
    dst->name = dst->firmware = dst->kernel = dst->initrd = dst->cmdline = NULL;
    for (unsigned i = 0; i < MQ_VM_MAX_DISKS; i++)
        dst->disks[i] = (struct mq_vm_disk_cfg){0};
    for (unsigned i = 0; i < MQ_VM_MAX_NICS; i++)
        dst->nics[i].net = NULL;
    for (unsigned i = 0; i < MQ_VM_MAX_LINKED_CLONES; i++)
        dst->linked_clones[i] = NULL;

    ok &= dup_opt(&dst->name, src->name);
    ok &= dup_opt(&dst->firmware, src->firmware);
    ok &= dup_opt(&dst->kernel, src->kernel);
    ok &= dup_opt(&dst->initrd, src->initrd);
    ok &= dup_opt(&dst->cmdline, src->cmdline);
    for (unsigned i = 0; i < src->ndisks && i < MQ_VM_MAX_DISKS; i++) {
        dst->disks[i].read_only = src->disks[i].read_only;
        ok &= dup_opt(&dst->disks[i].path, src->disks[i].path);
        ok &= dup_opt(&dst->disks[i].format, src->disks[i].format);
        ok &= dup_opt(&dst->disks[i].serial, src->disks[i].serial);
    }
    for (unsigned i = 0; i < src->nnics && i < MQ_VM_MAX_NICS; i++)
        ok &= dup_opt(&dst->nics[i].net, src->nics[i].net);
    for (unsigned i = 0; i < src->nlinked && i < MQ_VM_MAX_LINKED_CLONES; i++)
        ok &= dup_opt(&dst->linked_clones[i], src->linked_clones[i]);
    if (!ok) {
        mq_vm_config_free(dst);
        return -ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------ validation */

/* Length of the UTF-8 sequence at s (no overlongs, no surrogates), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], need, min;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need + 1)
        return 0;
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

/*
 * A string field: 1..max bytes of UTF-8 without control characters (they
 * would reach terminals through `maquina info`, and no path, name or
 * command line needs them).
 */
static int check_str(const char *what, const char *s, size_t max, char *err, size_t errlen)
{
    size_t n = strlen(s);

    if (n == 0) {
        seterr(err, errlen, "%s is empty", what);
        return -EINVAL;
    }
    if (n > max) {
        seterr(err, errlen, "%s is %zu bytes long (at most %zu)", what, n, max);
        return -EINVAL;
    }
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t k;

        if (*p < 0x20 || *p == 0x7f) {
            seterr(err, errlen, "%s holds a control character (byte %zu)", what, i);
            return -EINVAL;
        }
        k = utf8_seq(p, n - i);
        if (!k) {
            seterr(err, errlen, "%s is not valid UTF-8 (byte %zu)", what, i);
            return -EINVAL;
        }
        i += k;
    }
    return 0;
}

static int check_abs_path(const char *what, const char *s, char *err, size_t errlen)
{
    int ret = check_str(what, s, MQ_VM_PATH_MAX, err, errlen);

    if (ret)
        return ret;
    if (s[0] != '/') {
        seterr(err, errlen, "%s '%s' is not an absolute path", what, s);
        return -EINVAL;
    }
    return 0;
}

static bool uuid_ok(const char *u)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = u[i];

        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return u[36] == 0;
}

static int check_disk(unsigned i, const struct mq_vm_disk_cfg *d, char *err, size_t errlen)
{
    char what[32];
    int ret;

    snprintf(what, sizeof(what), "disks[%u].path", i);
    if (!d->path) {
        seterr(err, errlen, "%s is missing", what);
        return -EINVAL;
    }
    ret = check_str(what, d->path, MQ_VM_PATH_MAX, err, errlen);
    if (ret)
        return ret;
    if (d->format && strcmp(d->format, "raw") && strcmp(d->format, "qcow2")) {
        seterr(err, errlen, "disks[%u].format must be \"raw\" or \"qcow2\"", i);
        return -EINVAL;
    }
    if (d->serial) {
        snprintf(what, sizeof(what), "disks[%u].serial", i);
        ret = check_str(what, d->serial, MQ_VM_SERIAL_MAX, err, errlen);
        if (ret)
            return ret;
        for (const char *p = d->serial; *p; p++) {
            if ((unsigned char)*p > 0x7e) {
                seterr(err, errlen, "%s must be printable ASCII", what);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static int check_nic(unsigned i, const struct mq_vm_nic_cfg *n, char *err, size_t errlen)
{
    struct mq_net_spec *spec;
    char what[32], nerr[160];
    int ret;

    snprintf(what, sizeof(what), "nics[%u].net", i);
    if (!n->net) {
        seterr(err, errlen, "%s is missing", what);
        return -EINVAL;
    }
    ret = check_str(what, n->net, MQ_VM_NET_MAX, err, errlen);
    if (ret)
        return ret;
    /* The spec struct is large (hostfwd rules): keep it off the stack. */
    spec = malloc(sizeof(*spec));
    if (!spec)
        return -ENOMEM;
    ret = mq_net_spec_parse(n->net, spec, nerr, sizeof(nerr));
    free(spec);
    if (ret) {
        seterr(err, errlen, "%s: %s", what, nerr);
        return -EINVAL;
    }
    if (n->mac[0] & 1) {
        seterr(err, errlen, "nics[%u].mac is a multicast address", i);
        return -EINVAL;
    }
    if (!(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5])) {
        seterr(err, errlen, "nics[%u].mac is all zeroes", i);
        return -EINVAL;
    }
    return 0;
}

static int check_boot(const struct mq_vm_config *c, char *err, size_t errlen)
{
    int ret = 0;

    if (c->firmware)
        ret = check_abs_path("boot.firmware", c->firmware, err, errlen);
    if (!ret && c->kernel)
        ret = check_abs_path("boot.kernel", c->kernel, err, errlen);
    if (!ret && c->initrd)
        ret = check_abs_path("boot.initrd", c->initrd, err, errlen);
    if (!ret && c->cmdline)
        ret = check_str("boot.cmdline", c->cmdline, MQ_VM_CMDLINE_MAX, err, errlen);
    if (!ret && c->initrd && !c->kernel) {
        seterr(err, errlen, "boot.initrd is set without boot.kernel");
        ret = -EINVAL;
    }
    return ret;
}

int mq_vm_config_validate(const struct mq_vm_config *c, char *err, size_t errlen)
{
    int ret;

    if (c->version < 1 || c->version > MQ_VM_CONFIG_VERSION) {
        seterr(err, errlen, "version %u is not one this maquina knows (1..%d)", c->version,
               MQ_VM_CONFIG_VERSION);
        return -EINVAL;
    }
    if (!c->name) {
        seterr(err, errlen, "name is missing");
        return -EINVAL;
    }
    ret = check_str("name", c->name, MQ_VM_NAME_MAX, err, errlen);
    if (ret)
        return ret;
    if (!uuid_ok(c->uuid)) {
        seterr(err, errlen, "uuid is not a lowercase 8-4-4-4-12 hex UUID");
        return -EINVAL;
    }
    if (c->created < 0) {
        seterr(err, errlen, "created %" PRId64 " is negative", c->created);
        return -EINVAL;
    }
    if (c->harts < MQ_VM_MIN_HARTS || c->harts > MQ_VM_MAX_HARTS) {
        seterr(err, errlen, "harts %u is out of range (%d..%d)", c->harts, MQ_VM_MIN_HARTS,
               MQ_VM_MAX_HARTS);
        return -EINVAL;
    }
    if (c->memory < MQ_VM_MIN_MEMORY || c->memory > MQ_VM_MAX_MEMORY || c->memory % 4096) {
        seterr(err, errlen,
               "memory %" PRIu64 " is not a multiple of 4 KiB between 16 MiB and 64 GiB",
               c->memory);
        return -EINVAL;
    }
    ret = check_boot(c, err, errlen);
    if (ret)
        return ret;
    if (c->ndisks > MQ_VM_MAX_DISKS || c->nnics > MQ_VM_MAX_NICS ||
        c->ndisks + c->nnics > MQ_VM_MAX_DEVICES) {
        seterr(err, errlen, "%u extra disks and %u NICs: at most %d disks, %d NICs, %d together",
               c->ndisks, c->nnics, MQ_VM_MAX_DISKS, MQ_VM_MAX_NICS, MQ_VM_MAX_DEVICES);
        return -EINVAL;
    }
    for (unsigned i = 0; i < c->ndisks; i++) {
        ret = check_disk(i, &c->disks[i], err, errlen);
        if (ret)
            return ret;
    }
    for (unsigned i = 0; i < c->nnics; i++) {
        ret = check_nic(i, &c->nics[i], err, errlen);
        if (ret)
            return ret;
    }
    if (c->nlinked > MQ_VM_MAX_LINKED_CLONES) {
        seterr(err, errlen, "%u linked clones (at most %d)", c->nlinked,
               MQ_VM_MAX_LINKED_CLONES);
        return -EINVAL;
    }
    for (unsigned i = 0; i < c->nlinked; i++) {
        char what[40];

        snprintf(what, sizeof(what), "linked_clones[%u]", i);
        if (!c->linked_clones[i]) {
            seterr(err, errlen, "%s is missing", what);
            return -EINVAL;
        }
        ret = check_abs_path(what, c->linked_clones[i], err, errlen);
        if (ret)
            return ret;
    }
    return 0;
}

/* -------------------------------------------------------------- encoding */

void mq_vm_mac_format(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool mq_vm_mac_parse(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]), lo = hi < 0 ? -1 : hexval(s[3 * i + 1]);

        if (hi < 0 || lo < 0 || s[3 * i + 2] != (i == 5 ? 0 : ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool add_str(struct json_object *o, const char *key, const char *s)
{
    struct json_object *v;

    if (!s)
        return true;
    v = json_object_new_string(s);
    return v && !json_object_object_add(o, key, v);
}

static bool add_obj(struct json_object *o, const char *key, struct json_object *v)
{
    return v && !json_object_object_add(o, key, v);
}

static struct json_object *disks_to_json(const struct mq_vm_config *c)
{
    struct json_object *a = json_object_new_array();

    for (unsigned i = 0; a && i < c->ndisks && i < MQ_VM_MAX_DISKS; i++) {
        const struct mq_vm_disk_cfg *d = &c->disks[i];
        struct json_object *o = json_object_new_object();
        bool ok = o && add_str(o, "path", d->path) && add_str(o, "format", d->format) &&
                  add_obj(o, "read_only", json_object_new_boolean(d->read_only)) &&
                  add_str(o, "serial", d->serial);

        if (!ok || json_object_array_add(a, o)) {
            json_object_put(o);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

static struct json_object *nics_to_json(const struct mq_vm_config *c)
{
    struct json_object *a = json_object_new_array();

    for (unsigned i = 0; a && i < c->nnics && i < MQ_VM_MAX_NICS; i++) {
        struct json_object *o = json_object_new_object();
        char mac[18];
        bool ok;

        mq_vm_mac_format(c->nics[i].mac, mac);
        ok = o && add_str(o, "net", c->nics[i].net) && add_str(o, "mac", mac);
        if (!ok || json_object_array_add(a, o)) {
            json_object_put(o);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

static struct json_object *strings_to_json(char *const *s, unsigned n)
{
    struct json_object *a = json_object_new_array();

    for (unsigned i = 0; a && i < n; i++) {
        struct json_object *v = json_object_new_string(s[i] ? s[i] : "");

        if (!v || json_object_array_add(a, v)) {
            json_object_put(v);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

struct json_object *mq_vm_config_to_json(const struct mq_vm_config *c)
{
    struct json_object *o = json_object_new_object(), *boot = json_object_new_object();
    bool ok = o && boot;

    ok = ok && add_str(boot, "firmware", c->firmware) && add_str(boot, "kernel", c->kernel) &&
         add_str(boot, "initrd", c->initrd) && add_str(boot, "cmdline", c->cmdline);
    ok = ok && add_obj(o, "version", json_object_new_int64(c->version)) &&
         add_str(o, "name", c->name) && add_str(o, "uuid", c->uuid) &&
         add_obj(o, "created", json_object_new_int64(c->created)) &&
         add_obj(o, "harts", json_object_new_int64(c->harts)) &&
         add_obj(o, "memory", json_object_new_int64((int64_t)c->memory));
    if (ok) {
        ok = add_obj(o, "boot", boot);
        boot = NULL; /* owned by o from here, even on failure */
    }
    ok = ok && add_obj(o, "disks", disks_to_json(c)) && add_obj(o, "nics", nics_to_json(c)) &&
         add_obj(o, "linked_clones",
                 strings_to_json(c->linked_clones, MQ_MIN(c->nlinked, MQ_VM_MAX_LINKED_CLONES)));
    json_object_put(boot);
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

int mq_vm_config_encode(const struct mq_vm_config *c, char **json, size_t *len, char *err,
                        size_t errlen)
{
    struct json_object *o;
    const char *s;
    size_t n;
    int ret;

    ret = mq_vm_config_validate(c, err, errlen);
    if (ret)
        return ret;
    o = mq_vm_config_to_json(c);
    if (!o)
        return -ENOMEM;
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s) {
        json_object_put(o);
        return -ENOMEM;
    }
    n = strlen(s);
    if (n > MQ_VM_CONFIG_MAX_LEN) {
        seterr(err, errlen, "the configuration is %zu bytes encoded (at most %u)", n,
               MQ_VM_CONFIG_MAX_LEN);
        json_object_put(o);
        return -EFBIG;
    }
    *json = strdup(s);
    json_object_put(o);
    if (!*json)
        return -ENOMEM;
    if (len)
        *len = n;
    return 0;
}

/* -------------------------------------------------------------- decoding */

/* A JSON string value into a new malloc'ed C string; embedded NULs refused. */
static int get_string(struct json_object *v, const char *what, char **out, char *err,
                      size_t errlen)
{
    const char *s;
    int n;

    if (!json_object_is_type(v, json_type_string)) {
        seterr(err, errlen, "%s must be a string", what);
        return -EINVAL;
    }
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (n < 0 || strlen(s) != (size_t)n) {
        seterr(err, errlen, "%s holds a NUL character", what);
        return -EINVAL;
    }
    /* Lengths are checked by validation; this only bounds the allocation. */
    if ((size_t)n > MQ_VM_CONFIG_MAX_LEN) {
        seterr(err, errlen, "%s is too long", what);
        return -EINVAL;
    }
    free(*out);
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

/* A JSON integer in [min, max]; doubles, booleans and strings are refused. */
static int get_int(struct json_object *v, const char *what, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen)
{
    int64_t x;

    if (!json_object_is_type(v, json_type_int)) {
        seterr(err, errlen, "%s must be an integer", what);
        return -EINVAL;
    }
    /* json-c keeps integers above INT64_MAX as uint64: those are out of range. */
    x = json_object_get_int64(v);
    if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        x = max < INT64_MAX ? max + 1 : INT64_MAX;
    if (x < min || x > max) {
        seterr(err, errlen, "%s is out of range (%" PRId64 "..%" PRId64 ")", what, min, max);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

static int get_array(struct json_object *v, const char *what, size_t max, char *err,
                     size_t errlen)
{
    size_t n;

    if (!json_object_is_type(v, json_type_array)) {
        seterr(err, errlen, "%s must be an array", what);
        return -EINVAL;
    }
    n = json_object_array_length(v);
    if (n > max) {
        seterr(err, errlen, "%s has %zu entries (at most %zu)", what, n, max);
        return -EINVAL;
    }
    return 0;
}

static int check_object(struct json_object *v, const char *what, char *err, size_t errlen)
{
    if (!json_object_is_type(v, json_type_object)) {
        seterr(err, errlen, "%s must be an object", what);
        return -EINVAL;
    }
    return 0;
}

static int unknown_key(const char *where, const char *key, char *err, size_t errlen)
{
    char safe[41];
    size_t i;

    /* Keys come from the file: no control characters reach the message. */
    for (i = 0; key[i] && i < sizeof(safe) - 1; i++)
        safe[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
    safe[i] = 0;
    seterr(err, errlen, "unknown key \"%s\" in %s (written by a newer maquina?)", safe, where);
    return -EINVAL;
}

static int decode_boot(struct json_object *boot, struct mq_vm_config *c, char *err,
                       size_t errlen)
{
    int ret = check_object(boot, "boot", err, errlen);

    /* json-c's foreach dereferences the object table: never run it on a non-object. */
    if (ret)
        return ret;
    json_object_object_foreach(boot, key, v) {
        if (ret)
            break;
        if (!strcmp(key, "firmware"))
            ret = get_string(v, "boot.firmware", &c->firmware, err, errlen);
        else if (!strcmp(key, "kernel"))
            ret = get_string(v, "boot.kernel", &c->kernel, err, errlen);
        else if (!strcmp(key, "initrd"))
            ret = get_string(v, "boot.initrd", &c->initrd, err, errlen);
        else if (!strcmp(key, "cmdline"))
            ret = get_string(v, "boot.cmdline", &c->cmdline, err, errlen);
        else
            ret = unknown_key("boot", key, err, errlen);
    }
    return ret;
}

static int decode_disk(struct json_object *o, unsigned i, struct mq_vm_disk_cfg *d, char *err,
                       size_t errlen)
{
    char what[40];
    int ret;

    snprintf(what, sizeof(what), "disks[%u]", i);
    ret = check_object(o, what, err, errlen);
    if (ret)
        return ret;
    json_object_object_foreach(o, key, v) {
        if (ret)
            break;
        snprintf(what, sizeof(what), "disks[%u].%s", i,
                 !strcmp(key, "path") || !strcmp(key, "format") || !strcmp(key, "serial") ||
                 !strcmp(key, "read_only") ? key : "?");
        if (!strcmp(key, "path")) {
            ret = get_string(v, what, &d->path, err, errlen);
        } else if (!strcmp(key, "format")) {
            ret = get_string(v, what, &d->format, err, errlen);
        } else if (!strcmp(key, "serial")) {
            ret = get_string(v, what, &d->serial, err, errlen);
        } else if (!strcmp(key, "read_only")) {
            if (!json_object_is_type(v, json_type_boolean)) {
                seterr(err, errlen, "%s must be true or false", what);
                ret = -EINVAL;
            } else {
                d->read_only = json_object_get_boolean(v);
            }
        } else {
            snprintf(what, sizeof(what), "disks[%u]", i);
            ret = unknown_key(what, key, err, errlen);
        }
    }
    return ret;
}

static int decode_nic(struct json_object *o, unsigned i, struct mq_vm_nic_cfg *n, char *err,
                      size_t errlen)
{
    char what[40], *mac = NULL;
    int ret;

    snprintf(what, sizeof(what), "nics[%u]", i);
    ret = check_object(o, what, err, errlen);
    if (ret)
        return ret;
    json_object_object_foreach(o, key, v) {
        if (ret)
            break;
        if (!strcmp(key, "net")) {
            snprintf(what, sizeof(what), "nics[%u].net", i);
            ret = get_string(v, what, &n->net, err, errlen);
        } else if (!strcmp(key, "mac")) {
            snprintf(what, sizeof(what), "nics[%u].mac", i);
            ret = get_string(v, what, &mac, err, errlen);
            if (!ret && !mq_vm_mac_parse(mac, n->mac)) {
                seterr(err, errlen, "%s is not a MAC address like 52:54:00:12:34:56", what);
                ret = -EINVAL;
            }
        } else {
            ret = unknown_key(what, key, err, errlen);
        }
    }
    if (!ret && !mac) {
        seterr(err, errlen, "nics[%u].mac is missing", i);
        ret = -EINVAL;
    }
    free(mac);
    return ret;
}

static int decode_arrays(const char *key, struct json_object *v, struct mq_vm_config *c,
                         char *err, size_t errlen)
{
    int ret;

    if (!strcmp(key, "disks")) {
        ret = get_array(v, "disks", MQ_VM_MAX_DISKS, err, errlen);
        for (unsigned i = 0; !ret && i < json_object_array_length(v); i++) {
            c->ndisks = i + 1; /* so free() sees what was filled in */
            ret = decode_disk(json_object_array_get_idx(v, i), i, &c->disks[i], err, errlen);
        }
    } else if (!strcmp(key, "nics")) {
        ret = get_array(v, "nics", MQ_VM_MAX_NICS, err, errlen);
        for (unsigned i = 0; !ret && i < json_object_array_length(v); i++) {
            c->nnics = i + 1;
            ret = decode_nic(json_object_array_get_idx(v, i), i, &c->nics[i], err, errlen);
        }
    } else {
        ret = get_array(v, "linked_clones", MQ_VM_MAX_LINKED_CLONES, err, errlen);
        for (unsigned i = 0; !ret && i < json_object_array_length(v); i++) {
            c->nlinked = i + 1;
            ret = get_string(json_object_array_get_idx(v, i), "linked_clones[]",
                             &c->linked_clones[i], err, errlen);
        }
    }
    return ret;
}

static int decode_member(const char *key, struct json_object *v, struct mq_vm_config *c,
                         unsigned *seen, char *err, size_t errlen)
{
    int64_t x = 0;
    int ret;

    if (!strcmp(key, "version")) {
        return 0; /* checked before anything else */
    } else if (!strcmp(key, "name")) {
        return get_string(v, "name", &c->name, err, errlen);
    } else if (!strcmp(key, "uuid")) {
        char *u = NULL;

        ret = get_string(v, "uuid", &u, err, errlen);
        if (!ret && strlen(u) != 36) {
            seterr(err, errlen, "uuid is not a lowercase 8-4-4-4-12 hex UUID");
            ret = -EINVAL;
        }
        if (!ret) {
            memcpy(c->uuid, u, 37);
            *seen |= 1;
        }
        free(u);
        return ret;
    } else if (!strcmp(key, "created")) {
        ret = get_int(v, "created", 0, INT64_MAX, &c->created, err, errlen);
        *seen |= ret ? 0 : 2;
        return ret;
    } else if (!strcmp(key, "harts")) {
        ret = get_int(v, "harts", MQ_VM_MIN_HARTS, MQ_VM_MAX_HARTS, &x, err, errlen);
        c->harts = (unsigned)x;
        *seen |= ret ? 0 : 4;
        return ret;
    } else if (!strcmp(key, "memory")) {
        ret = get_int(v, "memory", (int64_t)MQ_VM_MIN_MEMORY, (int64_t)MQ_VM_MAX_MEMORY, &x,
                      err, errlen);
        c->memory = (uint64_t)x;
        *seen |= ret ? 0 : 8;
        return ret;
    } else if (!strcmp(key, "boot")) {
        return decode_boot(v, c, err, errlen);
    } else if (!strcmp(key, "disks") || !strcmp(key, "nics") ||
               !strcmp(key, "linked_clones")) {
        return decode_arrays(key, v, c, err, errlen);
    }
    return unknown_key("the configuration", key, err, errlen);
}

static int decode_root(struct json_object *root, struct mq_vm_config *c, char *err,
                       size_t errlen)
{
    static const char *const required[] = {"uuid", "created", "harts", "memory"};
    struct json_object *v;
    unsigned seen = 0;
    int64_t version;
    int ret;

    if (!json_object_is_type(root, json_type_object)) {
        seterr(err, errlen, "the configuration is not a JSON object");
        return -EINVAL;
    }
    /* The version decides how to read the rest, so it comes first. */
    if (!json_object_object_get_ex(root, "version", &v)) {
        seterr(err, errlen, "version is missing");
        return -EINVAL;
    }
    ret = get_int(v, "version", 1, INT64_MAX, &version, err, errlen);
    if (ret)
        return ret;
    if (version > MQ_VM_CONFIG_VERSION) {
        seterr(err, errlen,
               "configuration version %" PRId64 " is newer than this maquina reads (%d)",
               version, MQ_VM_CONFIG_VERSION);
        return -EPROTONOSUPPORT;
    }
    c->version = (unsigned)version;
    json_object_object_foreach(root, key, val) {
        ret = decode_member(key, val, c, &seen, err, errlen);
        if (ret)
            return ret;
    }
    for (unsigned i = 0; i < MQ_ARRAY_SIZE(required); i++) {
        if (!(seen & (1u << i))) {
            seterr(err, errlen, "%s is missing", required[i]);
            return -EINVAL;
        }
    }
    return mq_vm_config_validate(c, err, errlen);
}

int mq_vm_config_decode(const void *data, size_t len, struct mq_vm_config *c, char *err,
                        size_t errlen)
{
    struct json_tokener *tok;
    struct json_object *root;
    enum json_tokener_error jerr;
    int ret;

    mq_vm_config_init(c);
    if (len > MQ_VM_CONFIG_MAX_LEN) {
        seterr(err, errlen, "the configuration is %zu bytes (at most %u)", len,
               MQ_VM_CONFIG_MAX_LEN);
        return -EFBIG;
    }
    /* json-c treats a NUL byte as the end of input: refuse it outright. */
    if (len == 0 || memchr(data, 0, len)) {
        seterr(err, errlen, "the configuration is %s", len ? "not text (NUL byte)" : "empty");
        return -EINVAL;
    }
    /* Our records nest three deep; a small depth bounds the parser's work. */
    tok = json_tokener_new_ex(8);
    if (!tok)
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, data, (int)len);
    jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
        seterr(err, errlen, "the configuration is not valid JSON (%s at byte %zu)",
               jerr == json_tokener_continue ? "truncated"
               : jerr == json_tokener_success ? "trailing data"
                                              : json_tokener_error_desc(jerr),
               json_tokener_get_parse_end(tok));
        json_object_put(root);
        json_tokener_free(tok);
        return -EINVAL;
    }
    json_tokener_free(tok);
    ret = decode_root(root, c, err, errlen);
    json_object_put(root);
    if (ret)
        mq_vm_config_free(c);
    return ret;
}

/* ---------------------------------------------------- identity generation */

static int random_bytes(void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

int mq_vm_random_mac(uint8_t mac[6])
{
    int ret = random_bytes(mac, 6);

    if (ret)
        return ret;
    /* Locally administered (bit 1) unicast (bit 0 clear), IEEE 802 section 8. */
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
    return 0;
}

int mq_vm_random_uuid(char out[37])
{
    uint8_t b[16];
    int ret = random_bytes(b, sizeof(b));

    if (ret)
        return ret;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

int mq_vm_config_new_identity(struct mq_vm_config *c)
{
    int ret = mq_vm_random_uuid(c->uuid);

    for (unsigned i = 0; !ret && i < c->nnics && i < MQ_VM_MAX_NICS; i++)
        ret = mq_vm_random_mac(c->nics[i].mac);
    if (ret)
        return ret;
    c->created = (int64_t)time(NULL);
    for (unsigned i = 0; i < c->nlinked && i < MQ_VM_MAX_LINKED_CLONES; i++) {
        free(c->linked_clones[i]);
        c->linked_clones[i] = NULL;
    }
    c->nlinked = 0;
    return 0;
}
