/* SPDX-License-Identifier: MIT */
/*
 * The VM run loop: one host thread per hart running the interpreter in
 * slices, parking in WFI, and a main thread that waits for a power event,
 * a signal or the instruction limit, then stops every hart.
 */
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/event_loop.h"
#include "util/log.h"
#include "vm/console.h"

/* Instructions per rv_hart_run call: bounds the latency of stop requests. */
#define HART_SLICE 200000

enum vm_stop {
    VM_RUNNING,
    VM_POWEROFF,
    VM_REBOOT,
    VM_LIMIT,
    VM_SIGNAL,
    VM_QUIT,   /* Ctrl-A x */
};

struct vm {
    const struct mq_vm_options *opts;
    struct mq_virt *board;
    struct mq_event_loop *loop;
    struct mq_console *console;
    pthread_t threads[MQ_VIRT_MAX_HARTS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum vm_stop stop;
    int exit_status;
};

struct hart_arg {
    struct vm *vm;
    unsigned index;
};

static void request_stop(struct vm *vm, enum vm_stop why, int status)
{
    if (!vm->board)
        return;
    pthread_mutex_lock(&vm->lock);
    if (vm->stop == VM_RUNNING) {
        vm->stop = why;
        vm->exit_status = status;
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++)
        rv_hart_request_exit(mq_virt_hart(vm->board, i));
}

static void on_power(void *opaque, enum mq_virt_power_event ev, int code)
{
    struct vm *vm = opaque;

    request_stop(vm, ev == MQ_VIRT_REBOOT ? VM_REBOOT : VM_POWEROFF, code);
}

static void on_console(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;

    mq_console_write(vm->console, buf, len);
}

static size_t console_deliver(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;

    return vm->board ? mq_virt_console_in(vm->board, buf, len) : 0;
}

static void console_quit(void *opaque)
{
    request_stop(opaque, VM_QUIT, 0);
}

static void console_space(void *opaque)
{
    struct vm *vm = opaque;

    mq_console_input_space(vm->console);
}

static void *hart_thread(void *p)
{
    struct hart_arg *arg = p;
    struct vm *vm = arg->vm;
    struct rv_hart *h = mq_virt_hart(vm->board, arg->index);
    uint64_t limit = vm->opts->max_insns;

    rv_hart_set_trace(h, vm->opts->trace);
    for (;;) {
        uint64_t slice = HART_SLICE;
        if (limit) {
            uint64_t done = rv_hart_retired(h);
            if (done >= limit) {
                request_stop(vm, VM_LIMIT, MQ_VM_EXIT_LIMIT);
                break;
            }
            if (limit - done < slice)
                slice = limit - done;
        }
        enum rv_run_status st = rv_hart_run(h, slice);
        if (st == RV_RUN_EXIT)
            break;
        if (st == RV_RUN_WFI)
            rv_hart_wait_for_interrupt(h);
    }
    free(arg);
    return NULL;
}

static int start_harts(struct vm *vm, char *err, size_t errlen)
{
    unsigned n = mq_virt_nharts(vm->board);

    for (unsigned i = 0; i < n; i++) {
        struct hart_arg *arg = malloc(sizeof(*arg));
        int ret;
        if (!arg) {
            snprintf(err, errlen, "vm: out of memory");
            return -ENOMEM;
        }
        arg->vm = vm;
        arg->index = i;
        rv_hart_clear_exit(mq_virt_hart(vm->board, i));
        ret = pthread_create(&vm->threads[i], NULL, hart_thread, arg);
        if (ret) {
            free(arg);
            snprintf(err, errlen, "vm: cannot start hart %u thread: %s", i, strerror(ret));
            request_stop(vm, VM_SIGNAL, 1);
            for (unsigned j = 0; j < i; j++)
                pthread_join(vm->threads[j], NULL);
            return -ret;
        }
    }
    return 0;
}

static void join_harts(struct vm *vm)
{
    for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++)
        pthread_join(vm->threads[i], NULL);
}

/*
 * Wait for a stop request, turning SIGINT/SIGTERM/SIGHUP into one. SIGPWR
 * presses the power button and keeps waiting: the guest stops itself.
 */
static void wait_for_stop(struct vm *vm, const sigset_t *sigs)
{
    for (;;) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
        int sig;
        bool stopped;

        pthread_mutex_lock(&vm->lock);
        stopped = vm->stop != VM_RUNNING;
        pthread_mutex_unlock(&vm->lock);
        if (stopped)
            return;
        sig = sigtimedwait(sigs, NULL, &ts);
        if (sig == SIGUSR1) {
            /* Debugging aid: where is every hart? (racy reads, for humans) */
            for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++) {
                char line[512];
                rv_hart_describe(mq_virt_hart(vm->board, i), line, sizeof(line));
                mq_warn("vm", "hart %u: %s", i, line);
            }
            continue;
        }
        if (sig == SIGPWR) {
            /* `maquina stop`: ask the guest to shut down through its power button. */
            int ret = mq_virt_power_button(vm->board);
            if (ret)
                mq_warn("vm", "SIGPWR: cannot press the power button: %s", strerror(-ret));
            else
                mq_info("vm", "SIGPWR: power button pressed");
            continue;
        }
        if (sig > 0) {
            mq_warn("vm", "terminating on signal %d (%s)", sig, strsignal(sig));
            request_stop(vm, VM_SIGNAL, 128 + sig);
        }
    }
}

static int start_io(struct vm *vm, char *err, size_t errlen)
{
    struct mq_console_hooks hooks = {
        .deliver = console_deliver, .quit = console_quit, .opaque = vm};
    int ret;

    ret = mq_event_loop_create(&vm->loop);
    if (!ret)
        ret = mq_event_loop_start(vm->loop, "mq-io");
    if (ret) {
        snprintf(err, errlen, "vm: cannot start the I/O thread: %s", strerror(-ret));
        return ret;
    }
    return mq_console_create(vm->opts->console ? vm->opts->console : "stdio", vm->loop,
                             &hooks, &vm->console, err, errlen);
}

static void stop_io(struct vm *vm)
{
    mq_console_destroy(vm->console);
    vm->console = NULL;
    if (vm->loop) {
        mq_event_loop_stop(vm->loop);
        mq_event_loop_destroy(vm->loop);
        vm->loop = NULL;
    }
}

static int run_until_stop(struct vm *vm, char *err, size_t errlen)
{
    sigset_t sigs, old;
    int ret;

    /* Hart threads inherit the mask: only this thread takes the signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    sigaddset(&sigs, SIGPWR);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    for (;;) {
        ret = start_harts(vm, err, errlen);
        if (ret)
            break;
        wait_for_stop(vm, &sigs);
        join_harts(vm);
        if (vm->stop != VM_REBOOT)
            break;
        mq_info("vm", "guest asked for a reboot");
        ret = mq_virt_reset(vm->board, err, errlen);
        if (ret)
            break;
        vm->stop = VM_RUNNING;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ret;
}

int mq_vm_run(const struct mq_vm_options *opts, int *exit_status, char *err, size_t errlen)
{
    struct vm vm = {.opts = opts, .stop = VM_RUNNING};
    struct mq_virt_config bc = opts->board;
    int ret;

    pthread_mutex_init(&vm.lock, NULL);
    pthread_cond_init(&vm.cond, NULL);
    ret = start_io(&vm, err, errlen);
    if (ret)
        goto out;
    bc.console_out = on_console;
    bc.console_opaque = &vm;
    bc.power = on_power;
    bc.power_opaque = &vm;
    bc.loop = vm.loop;
    ret = mq_virt_create(&bc, &vm.board, err, errlen);
    if (ret)
        goto out;
    mq_virt_set_console_space_cb(vm.board, console_space, &vm);
    ret = run_until_stop(&vm, err, errlen);
    if (!ret) {
        *exit_status = vm.exit_status;
        if (vm.stop == VM_LIMIT)
            mq_warn("vm", "instruction limit of %llu per hart reached",
                    (unsigned long long)opts->max_insns);
    }
out:
    /* Input first (it feeds the board), then the board, then the I/O thread. */
    if (vm.console)
        mq_console_destroy(vm.console);
    vm.console = NULL;
    mq_virt_destroy(vm.board);
    vm.board = NULL;
    stop_io(&vm);
    pthread_cond_destroy(&vm.cond);
    pthread_mutex_destroy(&vm.lock);
    return ret;
}
