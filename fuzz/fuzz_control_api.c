/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the control API request decoder: one input is a stream
 * of request lines; each goes through the decoder, the command lookup and
 * the argument checks the server runs before a command (no socket, no VM).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/control.h"
#include "vm/vm_commands_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct mq_control_error e = {0};
        int ret = mq_vm_command_validate_line(p, len, &e);

        /* A refusal always names a code and says why. */
        if (ret != 0 && (!e.code || !e.message[0]))
            __builtin_trap();
        if (ret != 0) {
            size_t n = 0;
            char *reply = mq_control_reply_text(NULL, NULL, &e, &n);
            if (!reply || n == 0 || reply[n - 1] != '\n' || memchr(reply, '\n', n - 1))
                __builtin_trap();
            free(reply);
        }
        p += len + 1;
    }
    return 0;
}
