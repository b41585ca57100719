/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_uring engine.  Requests live on the submitting coroutine's stack;
 * the ring's completions are signalled on an eventfd the AioContext
 * watches.  Short reads are resubmitted for the remainder until end of
 * file (io_uring may return short reads for buffered files).
 */
#include "util/osdep.h"
#include "util/io-uring.h"
#include "util/error.h"

#ifdef CONFIG_LINUX_IO_URING

#include <liburing.h>
#include <sys/eventfd.h>

#define RING_ENTRIES 256

typedef struct LuringRequest {
    Coroutine *co;
    int ret;
    bool done;
} LuringRequest;

struct LuringState {
    AioContext *ctx;
    struct io_uring ring;
    int efd;
    int in_flight;
    CoQueue free_slots;
};

/*
 * Hand the ring's completions to their coroutines.  The caller's own
 * request (@self) is only marked done: it has not yielded.
 */
static void luring_reap(LuringState *s, Coroutine *self)
{
    struct io_uring_cqe *cqe;
    bool any = false;

    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringRequest *req = io_uring_cqe_get_data(cqe);
        req->ret = cqe->res;
        req->done = true;
        io_uring_cqe_seen(&s->ring, cqe);
        s->in_flight--;
        any = true;
        if (req->co != self) {
            aio_co_wake(req->co);
        }
    }
    if (any) {
        qemu_co_queue_restart_all(&s->free_slots);
    }
}

static void luring_completion(void *opaque)
{
    LuringState *s = opaque;
    uint64_t v;

    if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        return;
    }
    luring_reap(s, NULL);
}

LuringState *luring_init(AioContext *ctx, Error **errp)
{
    LuringState *s = g_new0(LuringState, 1);
    int ret;

    s->ctx = ctx;
    ret = io_uring_queue_init(RING_ENTRIES, &s->ring, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to init linux io_uring ring");
        g_free(s);
        return NULL;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /*
     * Every completion signals the eventfd.  (Not the _async variant:
     * completions the kernel posts from task work, as for buffered reads
     * of a block device, would then never be signalled.)  What completes
     * inside the submitting call is reaped right there anyway.
     */
    if (s->efd < 0 || io_uring_register_eventfd(&s->ring, s->efd) < 0) {
        error_setg_errno(errp, errno, "failed to register io_uring eventfd");
        if (s->efd >= 0) {
            close(s->efd);
        }
        io_uring_queue_exit(&s->ring);
        g_free(s);
        return NULL;
    }
    qemu_co_queue_init(&s->free_slots);
    aio_set_fd_handler(ctx, s->efd, luring_completion, NULL, s);
    return s;
}

void luring_cleanup(LuringState *s)
{
    assert(s->in_flight == 0);
    aio_set_fd_handler(s->ctx, s->efd, NULL, NULL, NULL);
    io_uring_unregister_eventfd(&s->ring);
    close(s->efd);
    io_uring_queue_exit(&s->ring);
    g_free(s);
}

/* Get a submission entry, waiting for ring space if needed. */
static struct io_uring_sqe *coroutine_fn luring_co_get_sqe(LuringState *s)
{
    struct io_uring_sqe *sqe;

    while (s->in_flight >= RING_ENTRIES ||
           !(sqe = io_uring_get_sqe(&s->ring))) {
        qemu_co_queue_wait(&s->free_slots, NULL);
    }
    return sqe;
}

static int coroutine_fn luring_co_run(LuringState *s, struct io_uring_sqe *sqe,
                                      LuringRequest *req)
{
    int ret;

    req->co = qemu_coroutine_self();
    req->done = false;
    io_uring_sqe_set_data(sqe, req);
    ret = io_uring_submit(&s->ring);
    if (ret < 0) {
        return ret;
    }
    s->in_flight++;
    luring_reap(s, req->co);
    while (!req->done) {
        qemu_coroutine_yield();
    }
    return req->ret;
}

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, QemuAioType type)
{
    size_t done = 0;

    while (done < qiov->size) {
        QEMUIOVector rest;
        struct io_uring_sqe *sqe = luring_co_get_sqe(s);
        LuringRequest req = { 0 };
        int ret;

        qemu_iovec_init_slice(&rest, qiov, done, qiov->size - done);
        if (type == QEMU_AIO_READ) {
            io_uring_prep_readv(sqe, fd, rest.iov, rest.niov, offset + done);
        } else {
            io_uring_prep_writev(sqe, fd, rest.iov, rest.niov, offset + done);
        }
        ret = luring_co_run(s, sqe, &req);
        qemu_iovec_destroy(&rest);
        if (ret < 0) {
            if (ret == -EINTR || ret == -EAGAIN) {
                continue;
            }
            return ret;
        }
        if (ret == 0) {
            if (type == QEMU_AIO_READ) {
                qemu_iovec_memset(qiov, done, 0, qiov->size - done);
                return 0;
            }
            return -ENOSPC;
        }
        done += ret;
    }
    return 0;
}

int coroutine_fn luring_co_flush(LuringState *s, int fd)
{
    struct io_uring_sqe *sqe = luring_co_get_sqe(s);
    LuringRequest req = { 0 };

    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    return luring_co_run(s, sqe, &req);
}

#else /* !CONFIG_LINUX_IO_URING */

LuringState *luring_init(AioContext *ctx, Error **errp)
{
    (void)ctx;
    error_setg(errp, "io_uring support was not built in");
    return NULL;
}

void luring_cleanup(LuringState *s)
{
    (void)s;
}

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, QemuAioType type)
{
    (void)s; (void)fd; (void)offset; (void)qiov; (void)type;
    return -ENOTSUP;
}

int coroutine_fn luring_co_flush(LuringState *s, int fd)
{
    (void)s; (void)fd;
    return -ENOTSUP;
}

#endif
