/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_uring (liburing) for aio=io_uring: like Linux AIO but also works
 * without O_DIRECT and supports fsync.  Present only when the build found
 * liburing (CONFIG_LINUX_IO_URING); otherwise luring_init() fails cleanly.
 */
#ifndef UTIL_IO_URING_H
#define UTIL_IO_URING_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/iov.h"
#include "util/linux-aio.h"

/* Context: @ctx's thread.  Returns NULL and sets @errp on failure. */
LuringState *luring_init(AioContext *ctx, Error **errp);
void luring_cleanup(LuringState *s);

/*
 * Read or write @qiov at @offset of @fd; yield until done.  Same result
 * rules as laio_co_submit().  Context: coroutine in the state's context.
 */
int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, QemuAioType type);
/* fdatasync(@fd) through the ring. */
int coroutine_fn luring_co_flush(LuringState *s, int fd);

#endif /* UTIL_IO_URING_H */
