/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux AIO engine.  Each request is an iocb on the submitting coroutine's
 * stack tagged with that coroutine; the eventfd handler reaps completions
 * and wakes the coroutines.  At most MAX_EVENTS requests are in flight;
 * further submitters wait in a CoQueue.
 *
 * Completions are read from the context's ring, which the kernel maps
 * into our memory (the io_context_t is its address), without a system
 * call; io_getevents() only when the ring's header is not the layout we
 * know (its magic number, no incompatible features).
 */
#include "util/osdep.h"
#include "util/linux-aio.h"
#include "util/error.h"

#include <libaio.h>
#include <sys/eventfd.h>

#define MAX_EVENTS 1024

typedef struct LaioRequest {
    struct iocb iocb;
    Coroutine *co;
    int64_t ret;        /* bytes or -errno, set on completion */
    bool done;
} LaioRequest;

/* The kernel's completion ring, as mapped at the io_context_t. */
typedef struct AioRing {
    unsigned id;
    unsigned nr;            /* io_events in the ring */
    unsigned head;          /* next to consume: ours to move */
    unsigned tail;          /* next to fill: the kernel's */
    unsigned magic;
    unsigned compat_features;
    unsigned incompat_features;
    unsigned header_length;
    struct io_event io_events[];
} AioRing;

#define AIO_RING_MAGIC 0xa10a10a1

struct LinuxAioState {
    AioContext *ctx;
    io_context_t io_ctx;
    int efd;
    bool user_ring;         /* reap from the ring, not io_getevents() */
    int in_flight;
    CoQueue free_slots;     /* submitters waiting for in_flight < MAX */
};

/* Up to @max completed events out of the ring, as io_getevents() would. */
static int ring_take(LinuxAioState *s, struct io_event *events, int max)
{
    AioRing *ring = (AioRing *)s->io_ctx;
    unsigned head = ring->head;
    unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    int n = 0;

    while (head != tail && n < max) {
        events[n++] = ring->io_events[head];
        head = head + 1 == ring->nr ? 0 : head + 1;
    }
    /* the events are copied out before the kernel may reuse the slots */
    __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    return n;
}

static void laio_completion(void *opaque)
{
    LinuxAioState *s = opaque;
    struct io_event events[64];
    struct timespec zero = { 0, 0 };
    uint64_t v;
    int n, i;

    if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        return;
    }
    do {
        n = s->user_ring ? ring_take(s, events, G_N_ELEMENTS(events)) :
            io_getevents(s->io_ctx, 0, G_N_ELEMENTS(events), events, &zero);
        for (i = 0; i < n; i++) {
            LaioRequest *req = container_of(events[i].obj, LaioRequest, iocb);
            req->ret = (int64_t)events[i].res;
            req->done = true;
            s->in_flight--;
            aio_co_wake(req->co);
        }
    } while (n == (int)G_N_ELEMENTS(events));
    qemu_co_queue_restart_all(&s->free_slots);
}

LinuxAioState *laio_init(AioContext *ctx, Error **errp)
{
    LinuxAioState *s = g_new0(LinuxAioState, 1);
    int ret;

    s->ctx = ctx;
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        error_setg_errno(errp, errno, "failed to create eventfd");
        g_free(s);
        return NULL;
    }
    ret = io_setup(MAX_EVENTS, &s->io_ctx);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to create linux AIO context");
        close(s->efd);
        g_free(s);
        return NULL;
    }
    {
        AioRing *ring = (AioRing *)s->io_ctx;
        s->user_ring = ring->magic == AIO_RING_MAGIC &&
                       ring->incompat_features == 0 && ring->nr > 0 &&
                       ring->header_length == sizeof(*ring);
    }
    qemu_co_queue_init(&s->free_slots);
    aio_set_fd_handler(ctx, s->efd, laio_completion, NULL, s);
    return s;
}

void laio_cleanup(LinuxAioState *s)
{
    assert(s->in_flight == 0);
    aio_set_fd_handler(s->ctx, s->efd, NULL, NULL, NULL);
    io_destroy(s->io_ctx);
    close(s->efd);
    g_free(s);
}

int coroutine_fn laio_co_submit(LinuxAioState *s, int fd, uint64_t offset,
                                QEMUIOVector *qiov, QemuAioType type)
{
    LaioRequest req = { .co = qemu_coroutine_self() };
    struct iocb *iocbs[1] = { &req.iocb };
    int ret;

    while (s->in_flight >= MAX_EVENTS) {
        qemu_co_queue_wait(&s->free_slots, NULL);
    }
    if (type == QEMU_AIO_READ) {
        io_prep_preadv(&req.iocb, fd, qiov->iov, qiov->niov, offset);
    } else {
        io_prep_pwritev(&req.iocb, fd, qiov->iov, qiov->niov, offset);
    }
    io_set_eventfd(&req.iocb, s->efd);

    for (;;) {
        ret = io_submit(s->io_ctx, 1, iocbs);
        if (ret == -EAGAIN) {
            /* the kernel's queue is full: wait for a completion */
            qemu_co_queue_wait(&s->free_slots, NULL);
            continue;
        }
        break;
    }
    if (ret < 0) {
        return ret;
    }
    s->in_flight++;
    while (!req.done) {
        qemu_coroutine_yield();
    }

    if (req.ret < 0) {
        return (int)req.ret;
    }
    if ((size_t)req.ret == qiov->size) {
        return 0;
    }
    if (type == QEMU_AIO_READ) {
        /* short read: end of file, the rest reads as zeroes */
        qemu_iovec_memset(qiov, req.ret, 0, qiov->size - req.ret);
        return 0;
    }
    return -ENOSPC;
}
