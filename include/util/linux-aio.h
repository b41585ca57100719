/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux native AIO (libaio) for files opened with O_DIRECT and aio=native:
 * requests go straight to the kernel, completions arrive on an eventfd
 * watched by the AioContext.  One LinuxAioState per AioContext.
 */
#ifndef UTIL_LINUX_AIO_H
#define UTIL_LINUX_AIO_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/iov.h"

typedef enum {
    QEMU_AIO_READ = 1,
    QEMU_AIO_WRITE = 2,
} QemuAioType;

/* Context: @ctx's thread.  Returns NULL and sets @errp on failure. */
LinuxAioState *laio_init(AioContext *ctx, Error **errp);
void laio_cleanup(LinuxAioState *s);

/*
 * Read or write @qiov at @offset of @fd and yield until done.  Returns 0
 * or -errno; a short read (end of file) zero-fills the rest, a short write
 * is -ENOSPC.  Context: coroutine in the state's AioContext.
 */
int coroutine_fn laio_co_submit(LinuxAioState *s, int fd, uint64_t offset,
                                QEMUIOVector *qiov, QemuAioType type);

#endif /* UTIL_LINUX_AIO_H */
