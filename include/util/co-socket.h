/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A non-blocking stream socket read and written from coroutines: a short
 * read or write waits for the socket in the AioContext, never blocks the
 * thread.  One coroutine may read while others write; writers take turns
 * (co_socket_lock_send) so that a message goes out whole.
 * Context: the AioContext the socket was created in, its thread.
 */
#ifndef UTIL_CO_SOCKET_H
#define UTIL_CO_SOCKET_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

#include <sys/uio.h>

typedef struct CoSocket CoSocket;

/* Wrap @fd (made non-blocking); the CoSocket owns and closes it. */
CoSocket *co_socket_new(AioContext *ctx, int fd);
/* Close the socket; no coroutine may be waiting on it. */
void co_socket_free(CoSocket *cs);
int co_socket_fd(CoSocket *cs);

/*
 * Read exactly @n bytes.  0, -ECONNRESET at the end of the stream (the
 * peer closed), -ESHUTDOWN after co_socket_shutdown(), or -errno.
 */
int coroutine_fn co_socket_read(CoSocket *cs, void *buf, size_t n);
/* Write all of @iov (the caller holds the send lock if others write). */
int coroutine_fn co_socket_writev(CoSocket *cs, const struct iovec *iov,
                                  int niov);
int coroutine_fn co_socket_write(CoSocket *cs, const void *buf, size_t n);
/* Take and give back the right to write (FIFO). */
void coroutine_fn co_socket_lock_send(CoSocket *cs);
void coroutine_fn co_socket_unlock_send(CoSocket *cs);
/*
 * No more traffic: waiting readers and writers fail with -ESHUTDOWN,
 * later calls too.  Context: any code in the socket's thread.
 */
void co_socket_shutdown(CoSocket *cs);

#endif /* UTIL_CO_SOCKET_H */
