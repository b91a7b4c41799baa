/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the .vm configuration decoder (image/vm_config.h; the
 * JSON payload of the "mqvm" qcow2 header extension, docs/file-format.md).
 * Input: the extension payload. Checks: no crash, a one-line error on
 * refusal; an accepted config validates, encodes, decodes again and
 * re-encodes to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/vm_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mq_vm_config a, b;
    char err[256] = "", *j1 = NULL, *j2 = NULL;
    size_t l1 = 0, l2 = 0;
    int ret;

    ret = mq_vm_config_decode(data, size, &a, err, sizeof(err));
    if (ret) {
        INVARIANT(ret == -EINVAL || ret == -EFBIG || ret == -EPROTONOSUPPORT ||
                  ret == -ENOMEM);
        INVARIANT(err[0] && !strchr(err, '\n'));
        return 0;
    }
    INVARIANT(mq_vm_config_validate(&a, NULL, 0) == 0);
    INVARIANT(a.harts >= MQ_VM_MIN_HARTS && a.harts <= MQ_VM_MAX_HARTS);
    INVARIANT(a.memory >= MQ_VM_MIN_MEMORY && a.memory <= MQ_VM_MAX_MEMORY);
    INVARIANT(a.memory % 4096 == 0);
    INVARIANT(a.ndisks + a.nnics <= MQ_VM_MAX_DEVICES);
    ret = mq_vm_config_encode(&a, &j1, &l1, NULL, 0);
    INVARIANT(ret == 0 || ret == -EFBIG);
    if (!ret) {
        INVARIANT(mq_vm_config_decode(j1, l1, &b, err, sizeof(err)) == 0);
        INVARIANT(mq_vm_config_encode(&b, &j2, &l2, NULL, 0) == 0);
        INVARIANT(l1 == l2 && !memcmp(j1, j2, l1));
        mq_vm_config_free(&b);
    }
    free(j1);
    free(j2);
    mq_vm_config_free(&a);
    return 0;
}
