/* SPDX-License-Identifier: MIT */
/*
 * The VM run loop: one host thread per hart running the interpreter in
 * slices, parking in WFI or for a pause, and a main thread that waits for
 * a power event, a signal, a control request or the instruction limit,
 * then stops every hart.
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

#include "util/clock.h"
#include "util/event_loop.h"
#include "util/log.h"
#include "vm/console.h"
#include "vm/registry.h"
#include "vm/vm_commands.h"
#include "vm/vm_int.h"

/* Instructions per rv_hart_run call: bounds the latency of stop requests. */
#define HART_SLICE 200000
/* CPU limit accounting: a window this long, sleeps at most this long at once. */
#define THROTTLE_WINDOW_NS (200ull * 1000 * 1000)
#define THROTTLE_MAX_SLEEP_NS (20ull * 1000 * 1000)

struct hart_arg {
    struct mq_vm *vm;
    unsigned index;
};

/*
 * --cpu-limit: each hart thread may use share of a host core, measured
 * over a short window; a thread ahead of its share sleeps. Time in WFI
 * counts as unused share, so an idle hart is never held back, and sleeps
 * are short so a pause or stop request is seen quickly.
 */
struct cpu_throttle {
    double share;        /* of one core, for this thread; 0: no limit */
    uint64_t wall0, cpu0;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void throttle_init(struct cpu_throttle *t, const struct mq_vm *vm)
{
    unsigned n = mq_virt_nharts(vm->board);

    t->share = vm->opts->cpu_limit_pct && vm->opts->cpu_limit_pct < 100 * n
                   ? vm->opts->cpu_limit_pct / 100.0 / n
                   : 0;
    t->wall0 = mq_clock_monotonic_ns();
    t->cpu0 = thread_cpu_ns();
}

static void throttle(struct cpu_throttle *t)
{
    uint64_t wall, cpu;
    double over;

    if (t->share == 0)
        return;
    wall = mq_clock_monotonic_ns();
    cpu = thread_cpu_ns();
    over = (double)(cpu - t->cpu0) - t->share * (double)(wall - t->wall0);
    if (over > 0) {
        double ns = over / t->share;
        struct timespec ts;
        if (ns > THROTTLE_MAX_SLEEP_NS)
            ns = THROTTLE_MAX_SLEEP_NS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)ns;
        nanosleep(&ts, NULL);
    } else if (wall - t->wall0 > THROTTLE_WINDOW_NS) {
        /* Start a new window: credit from a long idle spell does not pile up. */
        t->wall0 = wall;
        t->cpu0 = cpu;
    }
}

static void kick_harts(struct mq_vm *vm)
{
    for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++)
        rv_hart_request_exit(mq_virt_hart(vm->board, i));
}

void mq_vm_request_stop(struct mq_vm *vm, enum vm_stop why, int status)
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
    kick_harts(vm);
}

void mq_vm_event(struct mq_vm *vm, const char *name, const char *detail)
{
    void (*event)(void *, const char *, const char *) =
        __atomic_load_n(&vm->events.event, __ATOMIC_ACQUIRE);

    if (event)
        event(vm->events.opaque, name, detail);
}

static void on_power(void *opaque, enum mq_virt_power_event ev, int code)
{
    struct mq_vm *vm = opaque;

    mq_vm_request_stop(vm, ev == MQ_VIRT_REBOOT ? VM_REBOOT : VM_POWEROFF, code);
}

static void on_console(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_vm *vm = opaque;

    mq_console_write(vm->console, buf, len);
}

static size_t console_deliver(void *opaque, const uint8_t *buf, size_t len)
{
    struct mq_vm *vm = opaque;
    /* NULL until the machine is built and restored: the console keeps the input. */
    struct mq_virt *board = __atomic_load_n(&vm->board, __ATOMIC_ACQUIRE);

    return board ? mq_virt_console_in(board, buf, len) : 0;
}

static void console_quit(void *opaque)
{
    mq_vm_request_stop(opaque, VM_QUIT, 0);
}

static void console_space(void *opaque)
{
    struct mq_vm *vm = opaque;

    mq_console_input_space(vm->console);
}

/*
 * The hart's run was cut short by an exit request: park while a pause is
 * wanted. False when the VM is stopping and the thread must end.
 */
static bool park_if_paused(struct mq_vm *vm, struct rv_hart *h)
{
    bool go_on;

    pthread_mutex_lock(&vm->lock);
    if (vm->pause_req && vm->stop == VM_RUNNING) {
        vm->parked++;
        pthread_cond_broadcast(&vm->cond);
        while (vm->pause_req && vm->stop == VM_RUNNING)
            pthread_cond_wait(&vm->cond, &vm->lock);
        vm->parked--;
    }
    go_on = vm->stop == VM_RUNNING;
    /* Under the lock: a pause requested after this point kicks us again. */
    if (go_on)
        rv_hart_clear_exit(h);
    pthread_mutex_unlock(&vm->lock);
    return go_on;
}

static void hart_ended(struct mq_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->live--;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

static void *hart_thread(void *p)
{
    struct hart_arg *arg = p;
    struct mq_vm *vm = arg->vm;
    struct rv_hart *h = mq_virt_hart(vm->board, arg->index);
    uint64_t limit = vm->opts->max_insns;
    struct cpu_throttle thr;

    free(arg);
    throttle_init(&thr, vm);
    rv_hart_set_trace(h, vm->opts->trace);
    for (;;) {
        uint64_t slice = HART_SLICE;
        if (limit) {
            uint64_t done = rv_hart_retired(h);
            if (done >= limit) {
                mq_vm_request_stop(vm, VM_LIMIT, MQ_VM_EXIT_LIMIT);
                break;
            }
            if (limit - done < slice)
                slice = limit - done;
        }
        enum rv_run_status st = rv_hart_run(h, slice);
        if (st == RV_RUN_EXIT && !park_if_paused(vm, h))
            break;
        if (st == RV_RUN_WFI)
            rv_hart_wait_for_interrupt(h);
        else
            throttle(&thr);
    }
    hart_ended(vm);
    return NULL;
}

static int start_harts(struct mq_vm *vm, char *err, size_t errlen)
{
    unsigned n = mq_virt_nharts(vm->board);

    pthread_mutex_lock(&vm->lock);
    vm->live = n;
    vm->parked = 0;
    for (unsigned i = 0; i < n; i++) {
        /* A VM paused across a reset starts its harts parked. */
        if (vm->pause_req)
            rv_hart_request_exit(mq_virt_hart(vm->board, i));
        else
            rv_hart_clear_exit(mq_virt_hart(vm->board, i));
    }
    pthread_mutex_unlock(&vm->lock);
    for (unsigned i = 0; i < n; i++) {
        struct hart_arg *arg = malloc(sizeof(*arg));
        int ret = arg ? 0 : ENOMEM;
        if (arg) {
            arg->vm = vm;
            arg->index = i;
            ret = pthread_create(&vm->threads[i], NULL, hart_thread, arg);
            if (ret)
                free(arg);
        }
        if (ret) {
            snprintf(err, errlen, "vm: cannot start hart %u thread: %s", i, strerror(ret));
            pthread_mutex_lock(&vm->lock);
            vm->live -= n - i;
            pthread_mutex_unlock(&vm->lock);
            mq_vm_request_stop(vm, VM_SIGNAL, 1);
            for (unsigned j = 0; j < i; j++)
                pthread_join(vm->threads[j], NULL);
            return -ret;
        }
    }
    return 0;
}

static void join_harts(struct mq_vm *vm)
{
    for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++)
        pthread_join(vm->threads[i], NULL);
}

int mq_vm_pause_locked(struct mq_vm *vm, char *err, size_t errlen)
{
    int ret = 0;

    pthread_mutex_lock(&vm->lock);
    if (vm->stop != VM_RUNNING) {
        snprintf(err, errlen, "the VM is stopping");
        ret = -ESHUTDOWN;
    } else if (!vm->paused) {
        vm->pause_req = true;
        kick_harts(vm);
        while (vm->parked < vm->live && vm->stop == VM_RUNNING)
            pthread_cond_wait(&vm->cond, &vm->lock);
        if (vm->stop != VM_RUNNING) {
            vm->pause_req = false;
            pthread_cond_broadcast(&vm->cond);
            snprintf(err, errlen, "the VM is stopping");
            ret = -ESHUTDOWN;
        } else {
            mq_virt_clock_stop(vm->board);
            vm->paused = true;
        }
    }
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

void mq_vm_resume_locked(struct mq_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->paused) {
        mq_virt_clock_start(vm->board);
        vm->paused = false;
        vm->pause_req = false;
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
}

static void dump_harts(struct mq_vm *vm)
{
    /* Debugging aid: where is every hart? (racy reads, for humans) */
    for (unsigned i = 0; i < mq_virt_nharts(vm->board); i++) {
        char line[512];
        rv_hart_describe(mq_virt_hart(vm->board, i), line, sizeof(line));
        mq_warn("vm", "hart %u: %s", i, line);
    }
}

/*
 * Wait for a stop request, turning SIGINT/SIGTERM/SIGHUP into one. SIGPWR
 * presses the power button and keeps waiting: the guest stops itself.
 */
static void wait_for_stop(struct mq_vm *vm, const sigset_t *sigs)
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
            dump_harts(vm);
        } else if (sig == SIGPWR) {
            char why[256];
            if (mq_vm_ctl_stop(vm, false, why, sizeof(why)))
                mq_warn("vm", "SIGPWR: %s", why);
        } else if (sig > 0) {
            mq_warn("vm", "terminating on signal %d (%s)", sig, strsignal(sig));
            mq_vm_request_stop(vm, VM_SIGNAL, 128 + sig);
        }
    }
}

static int start_io(struct mq_vm *vm, char *err, size_t errlen)
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

static void stop_io(struct mq_vm *vm)
{
    mq_console_destroy(vm->console);
    vm->console = NULL;
    if (vm->loop) {
        mq_event_loop_stop(vm->loop);
        mq_event_loop_destroy(vm->loop);
        vm->loop = NULL;
    }
}

static const char *stop_reason(enum vm_stop s)
{
    switch (s) {
    case VM_POWEROFF: return "guest poweroff";
    case VM_LIMIT: return "instruction limit";
    case VM_SIGNAL: return "host signal";
    case VM_QUIT: return "stopped by the user";
    case VM_FAILED: return "machine failed";
    default: return "stopped";
    }
}

static int run_until_stop(struct mq_vm *vm, char *err, size_t errlen)
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
        mq_info("vm", "machine reset");
        mq_vm_event(vm, "reset", "guest reboot or reset request");
        pthread_mutex_lock(&vm->ctl_lock);
        ret = mq_virt_reset(vm->board, err, errlen);
        /* A paused VM stays paused across the reset, its clock at 0. */
        if (vm->paused) {
            mq_virt_clock_start(vm->board);
            mq_virt_clock_stop(vm->board);
        }
        pthread_mutex_lock(&vm->lock);
        vm->stop = VM_RUNNING;
        pthread_mutex_unlock(&vm->lock);
        pthread_mutex_unlock(&vm->ctl_lock);
        if (ret)
            break;
    }
    mq_vm_event(vm, "shutdown", stop_reason(vm->stop));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ret;
}

/* Registry entry and control socket, when the VM has a name or a socket path. */
static int start_control(struct mq_vm *vm, char *err, size_t errlen)
{
    const struct mq_vm_options *o = vm->opts;
    struct mq_vm_entry e = {0};
    int ret;

    if (o->name) {
        snprintf(e.name, sizeof(e.name), "%s", o->name);
        if (o->control_path)
            snprintf(e.socket_path, sizeof(e.socket_path), "%s", o->control_path);
        else if ((ret = mq_vm_registry_socket_path(o->name, e.socket_path,
                                                   sizeof(e.socket_path), err, errlen)))
            return ret;
        if (o->vm_path && !realpath(o->vm_path, e.vm_path))
            snprintf(e.vm_path, sizeof(e.vm_path), "%s", o->vm_path);
        snprintf(e.console_log, sizeof(e.console_log), "%s", o->console_log ? o->console_log : "");
        e.start_time = (uint64_t)time(NULL);
        e.nharts = o->board.nharts;
        e.ram_size = o->board.ram_size;
        ret = mq_vm_registry_add(&e, err, errlen);
        if (ret)
            return ret;
        snprintf(vm->name, sizeof(vm->name), "%s", o->name);
    }
    if (!o->name && !o->control_path)
        return 0;
    ret = mq_vm_commands_start(vm, o->name ? e.socket_path : o->control_path, &vm->commands,
                               &vm->events, err, errlen);
    if (ret && vm->name[0]) {
        mq_vm_registry_remove(vm->name);
        vm->name[0] = 0;
    }
    return ret;
}

static void stop_control(struct mq_vm *vm)
{
    /* No event may reach the server once it is gone. */
    __atomic_store_n(&vm->events.event, NULL, __ATOMIC_RELEASE);
    mq_vm_commands_stop(vm->commands);
    vm->commands = NULL;
    if (vm->name[0])
        mq_vm_registry_remove(vm->name);
}

static int create_board(struct mq_vm *vm, char *err, size_t errlen)
{
    struct mq_virt_config bc = vm->opts->board;
    struct mq_virt *board;
    int ret;

    bc.console_out = on_console;
    bc.console_opaque = vm;
    bc.power = on_power;
    bc.power_opaque = vm;
    bc.loop = vm->loop;
    ret = mq_virt_create(&bc, &board, err, errlen);
    if (ret)
        return ret;
    mq_virt_set_console_space_cb(board, console_space, vm);
    if (vm->opts->restore_tag) {
        ret = mq_virt_snapshot_load(board, vm->opts->restore_tag, err, errlen);
        if (ret) {
            mq_virt_destroy(board);
            return ret;
        }
        mq_info("vm", "restored snapshot '%s'", vm->opts->restore_tag);
    }
    /* Typed-ahead input went nowhere so far: the restore would have overwritten it. */
    __atomic_store_n(&vm->board, board, __ATOMIC_RELEASE);
    mq_console_input_space(vm->console);
    return 0;
}

int mq_vm_run(const struct mq_vm_options *opts, int *exit_status, char *err, size_t errlen)
{
    struct mq_vm vm = {.opts = opts, .stop = VM_RUNNING};
    int ret;

    vm.start_ns = mq_clock_monotonic_ns();
    pthread_mutex_init(&vm.lock, NULL);
    pthread_mutex_init(&vm.ctl_lock, NULL);
    pthread_cond_init(&vm.cond, NULL);
    ret = start_io(&vm, err, errlen);
    if (!ret)
        ret = create_board(&vm, err, errlen);
    if (!ret)
        ret = start_control(&vm, err, errlen);
    if (!ret)
        ret = run_until_stop(&vm, err, errlen);
    if (!ret) {
        *exit_status = vm.exit_status;
        if (vm.stop == VM_LIMIT)
            mq_warn("vm", "instruction limit of %llu per hart reached",
                    (unsigned long long)opts->max_insns);
    }
    /* Control first (it calls into the VM), input next (it feeds the board), then the board. */
    stop_control(&vm);
    if (vm.console)
        mq_console_destroy(vm.console);
    vm.console = NULL;
    mq_virt_destroy(vm.board);
    vm.board = NULL;
    stop_io(&vm);
    pthread_cond_destroy(&vm.cond);
    pthread_mutex_destroy(&vm.ctl_lock);
    pthread_mutex_destroy(&vm.lock);
    return ret;
}
