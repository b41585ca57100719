/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Progress reporting for the tools.  State is process-global because the
 * output (a terminal line or SIGUSR1) is.
 */
#include "util/osdep.h"
#include "util/progress.h"

#include <signal.h>

static struct {
    bool enabled;
    float current;
    float last_print;
    float min_skip;
} state;

static volatile sig_atomic_t sigusr1_seen;

static void sigusr1_handler(int sig)
{
    (void)sig;
    sigusr1_seen = 1;
}

static void progress_print_now(void)
{
    if (state.enabled) {
        printf("    (%3.2f/100%%)\r", state.current);
        fflush(stdout);
    } else if (sigusr1_seen) {
        sigusr1_seen = 0;
        fprintf(stderr, "    (%3.2f/100%%)\n", state.current);
    }
}

static void set_sigusr1(void (*handler)(int))
{
    struct sigaction sa = { 0 };

    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

void qemu_progress_signal_init(void)
{
    set_sigusr1(SIG_IGN);
}

void qemu_progress_init(bool enabled, float min_skip)
{
    state.enabled = enabled;
    state.min_skip = min_skip;
    state.current = 0;
    state.last_print = 0;
    /* with -p the line is there already: SIGUSR1 does nothing (as 7.2) */
    set_sigusr1(enabled ? SIG_IGN : sigusr1_handler);
}

void qemu_progress_print(float delta, int max)
{
    /* max 0: @delta is the new value (7.2's meaning); else a step */
    float current = max == 0 ? delta : state.current + delta / 100 * max;

    if (current > 100) {
        current = 100;
    }
    state.current = current;
    if (!state.enabled) {
        if (sigusr1_seen) {
            progress_print_now();
        }
        return;
    }
    if (current > state.last_print + state.min_skip ||
        current < state.last_print - state.min_skip ||
        current == 0 || current == 100) {
        state.last_print = current;
        progress_print_now();
    }
}

void qemu_progress_end(void)
{
    if (state.enabled) {
        printf("\n");
        fflush(stdout);
    }
}
