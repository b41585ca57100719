/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Progress output compatible with qemu-img -p: "    (12.50/100%)\r" on
 * stdout, refreshed when the value moves by more than a minimum step, a
 * newline at the end.  Without -p, SIGUSR1 prints the current value once.
 */
#ifndef UTIL_PROGRESS_H
#define UTIL_PROGRESS_H

#include "util/osdep.h"

/*
 * At a tool's start: SIGUSR1 does nothing until a command without -p
 * reports progress (QEMU's main loop blocks the signal; the default
 * action would end the process).
 */
void qemu_progress_signal_init(void);
/* @enabled: print continuously; @min_skip: percent between refreshes. */
void qemu_progress_init(bool enabled, float min_skip);
/*
 * With @max 0: the progress is now @delta percent of the whole (7.2's
 * meaning).  Else advance by @delta percent of a phase worth @max percent
 * of the whole.
 */
void qemu_progress_print(float delta, int max);
void qemu_progress_end(void);

#endif /* UTIL_PROGRESS_H */
