/* SPDX-License-Identifier: MIT */
/*
 * Network backend construction from the --net specification, and the
 * calls common to every backend (net/net.h).
 */
#include "net/net.h"

#include <errno.h>
#include <stdlib.h>

#include "net/net_spec.h"
#include "net/net_stats.h"
#include "net/switch.h"
#if MQ_HAVE_SLIRP
#include "net/user.h"
#endif

static int create_user(const struct mq_net_user_spec *u, struct mq_net_backend **out,
                       char *err, size_t errlen)
{
#if MQ_HAVE_SLIRP
    return mq_net_user_create(u, out, err, errlen);
#else
    mq_net_errf(err, errlen, "--net user: this maquina was built without libslirp "
                "(install libslirp-dev and rebuild)");
    return -ENOTSUP;
#endif
}

int mq_net_backend_create(const char *spec, struct mq_net_backend **out, char *err,
                          size_t errlen)
{
    /* About 4 KiB with 32 hostfwd rules: keep it off the caller's stack. */
    struct mq_net_spec *s = malloc(sizeof(*s));
    int ret;

    *out = NULL;
    if (!spec) {
        free(s);
        mq_net_errf(err, errlen, "--net: no specification");
        return -EINVAL;
    }
    if (!s) {
        mq_net_errf(err, errlen, "--net: out of memory");
        return -ENOMEM;
    }
    ret = mq_net_spec_parse(spec, s, err, errlen);
    if (ret < 0)
        goto out;
    switch (s->kind) {
    case MQ_NET_KIND_USER:
        ret = create_user(&s->u.user, out, err, errlen);
        break;
    case MQ_NET_KIND_SWITCH:
        ret = mq_net_switch_create(&s->u.sw, out, err, errlen);
        break;
    case MQ_NET_KIND_TAP:
        ret = mq_net_tap_create(&s->u.tap, out, err, errlen);
        break;
    default:
        mq_net_errf(err, errlen, "--net: unknown backend kind");
        ret = -EINVAL;
        break;
    }
out:
    free(s);
    return ret;
}

void mq_net_backend_close(struct mq_net_backend *nb)
{
    if (nb)
        nb->ops->close(nb);
}

int mq_net_backend_get_stats(struct mq_net_backend *nb, struct mq_net_stats *out)
{
#if MQ_HAVE_SLIRP
    if (mq_net_user_get_stats(nb, out) == 0)
        return 0;
#endif
    return mq_net_fd_get_stats(nb, out);
}
