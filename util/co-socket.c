/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Coroutine stream sockets; see include/util/co-socket.h. */
#include "util/co-socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct CoSocket {
    AioContext *ctx;
    int fd;
    bool shut;
    CoWaiter *reader;           /* the coroutine waiting to read, or NULL */
    CoWaiter *writer;           /* ... to write */
    CoMutex send_lock;
};

CoSocket *co_socket_new(AioContext *ctx, int fd)
{
    CoSocket *cs = g_new0(CoSocket, 1);
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0 && !(fl & O_NONBLOCK)) {
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    cs->ctx = ctx;
    cs->fd = fd;
    qemu_co_mutex_init(&cs->send_lock);
    return cs;
}

void co_socket_free(CoSocket *cs)
{
    if (!cs) {
        return;
    }
    assert(!cs->reader && !cs->writer);
    close(cs->fd);
    g_free(cs);
}

int co_socket_fd(CoSocket *cs)
{
    return cs->fd;
}

static void co_socket_readable(void *opaque);
static void co_socket_writable(void *opaque);

/* Watch the socket for what its waiting coroutines wait for. */
static void co_socket_watch(CoSocket *cs)
{
    aio_set_fd_handler(cs->ctx, cs->fd,
                       cs->reader ? co_socket_readable : NULL,
                       cs->writer ? co_socket_writable : NULL, cs);
}

static void co_socket_wake(CoSocket *cs, CoWaiter **slot, int ret)
{
    CoWaiter *w = *slot;

    if (w) {
        *slot = NULL;
        co_waiter_finish(w, ret);
    }
}

static void co_socket_readable(void *opaque)
{
    CoSocket *cs = opaque;

    co_socket_wake(cs, &cs->reader, 0);
    co_socket_watch(cs);
}

static void co_socket_writable(void *opaque)
{
    CoSocket *cs = opaque;

    co_socket_wake(cs, &cs->writer, 0);
    co_socket_watch(cs);
}

/* Wait until the socket can be read (or written, @write). */
static int coroutine_fn co_socket_wait(CoSocket *cs, bool write)
{
    CoWaiter w;
    CoWaiter **slot = write ? &cs->writer : &cs->reader;

    if (cs->shut) {
        return -ESHUTDOWN;
    }
    assert(!*slot);
    co_waiter_init(&w);
    *slot = &w;
    co_socket_watch(cs);
    return co_waiter_wait(&w);
}

/*
 * After a failed recv or send (errno set): wait for the socket where it
 * would block, 0 to try again; -errno for a real failure.
 */
static int coroutine_fn co_socket_retry(CoSocket *cs, bool write)
{
    if (errno == EINTR) {
        return 0;
    }
    if (errno != EAGAIN) {
        return -errno;
    }
    return co_socket_wait(cs, write);
}

void co_socket_shutdown(CoSocket *cs)
{
    if (cs->shut) {
        return;
    }
    cs->shut = true;
    shutdown(cs->fd, SHUT_RDWR);
    co_socket_wake(cs, &cs->reader, -ESHUTDOWN);
    co_socket_wake(cs, &cs->writer, -ESHUTDOWN);
    aio_set_fd_handler(cs->ctx, cs->fd, NULL, NULL, NULL);
}

int coroutine_fn co_socket_read(CoSocket *cs, void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t r;

        if (cs->shut) {
            return -ESHUTDOWN;
        }
        r = recv(cs->fd, p, n, 0);
        if (r == 0) {
            return -ECONNRESET;
        }
        if (r < 0) {
            int ret = co_socket_retry(cs, false);

            if (ret < 0) {
                return ret;
            }
            continue;
        }
        p += r;
        n -= r;
    }
    return 0;
}

int coroutine_fn co_socket_writev(CoSocket *cs, const struct iovec *iov,
                                  int niov)
{
    struct iovec local[16];
    struct msghdr msg = { 0 };
    g_autofree struct iovec *heap = NULL;
    struct iovec *v = local;

    if (niov > (int)G_N_ELEMENTS(local)) {
        v = heap = g_new(struct iovec, niov);
    }
    memcpy(v, iov, niov * sizeof(*iov));
    while (niov > 0) {
        ssize_t r;

        if (cs->shut) {
            return -ESHUTDOWN;
        }
        msg.msg_iov = v;
        msg.msg_iovlen = niov;
        r = sendmsg(cs->fd, &msg, MSG_NOSIGNAL);
        if (r < 0) {
            int ret = co_socket_retry(cs, true);

            if (ret < 0) {
                return ret;
            }
            continue;
        }
        while (niov > 0 && (size_t)r >= v->iov_len) {
            r -= v->iov_len;
            v++;
            niov--;
        }
        if (niov > 0) {
            v->iov_base = (uint8_t *)v->iov_base + r;
            v->iov_len -= r;
        }
    }
    return 0;
}

int coroutine_fn co_socket_write(CoSocket *cs, const void *buf, size_t n)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };

    return co_socket_writev(cs, &iov, 1);
}

void coroutine_fn co_socket_lock_send(CoSocket *cs)
{
    qemu_co_mutex_lock(&cs->send_lock);
}

void coroutine_fn co_socket_unlock_send(CoSocket *cs)
{
    qemu_co_mutex_unlock(&cs->send_lock);
}
