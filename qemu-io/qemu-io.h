/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io internals shared by main.c (options, command loop) and cmds.c
 * (the commands).  Everything here runs in the tool's one coroutine.
 */
#ifndef QEMU_IO_QEMU_IO_H
#define QEMU_IO_QEMU_IO_H

#include "util/osdep.h"
#include "block/block-backend.h"

typedef struct QemuIoHelp {
    const char *name;
    const char *args;       /* NULL: no argument column in help */
    const char *oneline;
    const char *help;       /* extended help, or NULL */
} QemuIoHelp;

extern const QemuIoHelp qemuio_help_texts[];

/* The open image, or NULL. */
extern BlockBackend *qemuio_blk;
/* -m: misalign buffers by 16 bytes to exercise bounce buffers. */
extern bool qemuio_misalign;
/* Set by the quit command. */
extern bool qemuio_quit;

/*
 * Run one command line.  Returns 0 or a negative errno when the command
 * failed (qemu-io then exits with status 1).  Context: coroutine.
 */
int coroutine_fn qemuio_command(const char *cmdline);

/*
 * Open @name (or the options alone) as the current image, printing
 * errors as QEMU's qemu-io does.  Returns 0 or -errno.
 */
int coroutine_fn qemuio_openfile(const char *name, QDict *opts, int flags,
                                 bool writethrough);

/*
 * Open the current image again with @changes over the options it was
 * opened with, and @flags (reopen).  Returns 0, or -errno after printing
 * why; the image is then open as before if it can be.
 */
int coroutine_fn qemuio_reopen(QDict *changes, int flags, bool writethrough);
/* The open flags of the current image. */
int qemuio_open_flags(void);

#endif /* QEMU_IO_QEMU_IO_H */
