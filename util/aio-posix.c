/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop on Linux: epoll for fd handlers, an eventfd to wake the
 * loop from other threads, a mutex-protected list of scheduled bottom
 * halves, and a sorted list of timers.  O(n) timer insertion is fine for
 * the handful of timers the tools arm (sleep, NOP-out, progress); a heap
 * would be the next step if a consumer ever needs thousands.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/error.h"
#include "util/thread-pool.h"
#include "util/linux-aio.h"
#include "util/io-uring.h"
#include "coroutine-int.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

typedef struct AioHandler {
    int fd;
    IOHandler *io_read;
    IOHandler *io_write;
    void *opaque;
    bool deleted;       /* removed while a dispatch may still see it */
    /*
     * epoll refuses regular files (EPERM); poll() calls them always
     * ready, and so do we: dispatched on every iteration.
     */
    bool always_ready;
    QTAILQ_ENTRY(AioHandler) next;
} AioHandler;

struct QEMUBH {
    AioContext *ctx;
    QEMUBHFunc *cb;
    void *opaque;
    bool scheduled;     /* should run; protected by ctx->bh_lock */
    bool queued;        /* on ctx->bh_pending; protected by ctx->bh_lock */
    bool oneshot;       /* free after running */
    bool deleted;       /* deleted while queued: free when dequeued */
    QSIMPLEQ_ENTRY(QEMUBH) next;
};

struct QEMUTimer {
    AioContext *ctx;
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire_ns;  /* -1 when not armed */
    QTAILQ_ENTRY(QEMUTimer) next;
};

struct AioContext {
    int epollfd;
    int notify_fd;      /* eventfd written by aio_notify() */
    QTAILQ_HEAD(, AioHandler) handlers;
    QTAILQ_HEAD(, AioHandler) deleted_handlers;
    int nb_always_ready;
    int dispatch_depth;

    pthread_mutex_t bh_lock;
    QSIMPLEQ_HEAD(, QEMUBH) bh_pending;
    /*
     * True while aio_poll() may block in epoll_wait: only then does a
     * scheduler from another thread need to write the eventfd.  Saves two
     * system calls per cross-thread wake-up while the loop is busy.
     */
    bool notify_me;

    QTAILQ_HEAD(, QEMUTimer) timers;  /* armed, by expiry */

    pthread_mutex_t co_lock;
    QSIMPLEQ_HEAD(, Coroutine) scheduled_coroutines;
    QEMUBH *co_schedule_bh;

    ThreadPool *thread_pool;
    ThreadPool *compute_pool;
    LinuxAioState *linux_aio;
    LuringState *linux_io_uring;
};

static AioContext *main_ctx;
static __thread AioContext *current_ctx;

static void aio_notify_read(void *opaque)
{
    AioContext *ctx = opaque;
    uint64_t v;

    while (read(ctx->notify_fd, &v, sizeof(v)) < 0 && errno == EINTR) {
        /* retry */
    }
}

static void co_schedule_bh_cb(void *opaque)
{
    AioContext *ctx = opaque;
    QSIMPLEQ_HEAD(, Coroutine) list = QSIMPLEQ_HEAD_INITIALIZER(list);

    pthread_mutex_lock(&ctx->co_lock);
    QSIMPLEQ_CONCAT(&list, &ctx->scheduled_coroutines);
    pthread_mutex_unlock(&ctx->co_lock);

    while (!QSIMPLEQ_EMPTY(&list)) {
        Coroutine *co = QSIMPLEQ_FIRST(&list);
        QSIMPLEQ_REMOVE_HEAD(&list, co_queue_next);
        __atomic_store_n(&co->scheduled, NULL, __ATOMIC_RELEASE);
        qemu_coroutine_enter(co);
    }
}

AioContext *aio_context_new(void)
{
    AioContext *ctx = g_new0(AioContext, 1);

    ctx->epollfd = epoll_create1(EPOLL_CLOEXEC);
    ctx->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ctx->epollfd < 0 || ctx->notify_fd < 0) {
        g_error("cannot create event loop: %s", g_strerror(errno));
    }
    QTAILQ_INIT(&ctx->handlers);
    QTAILQ_INIT(&ctx->deleted_handlers);
    QTAILQ_INIT(&ctx->timers);
    pthread_mutex_init(&ctx->bh_lock, NULL);
    pthread_mutex_init(&ctx->co_lock, NULL);
    QSIMPLEQ_INIT(&ctx->bh_pending);
    QSIMPLEQ_INIT(&ctx->scheduled_coroutines);
    aio_set_fd_handler(ctx, ctx->notify_fd, aio_notify_read, NULL, ctx);
    ctx->co_schedule_bh = aio_bh_new(ctx, co_schedule_bh_cb, ctx);
    if (!current_ctx) {
        current_ctx = ctx;
    }
    return ctx;
}

void aio_context_free(AioContext *ctx)
{
    AioHandler *h, *tmp;
    QEMUBH *bh;

    if (ctx->linux_aio) {
        laio_cleanup(ctx->linux_aio);
    }
    if (ctx->linux_io_uring) {
        luring_cleanup(ctx->linux_io_uring);
    }
    if (ctx->thread_pool) {
        thread_pool_free(ctx->thread_pool);
    }
    if (ctx->compute_pool) {
        thread_pool_free(ctx->compute_pool);
    }
    qemu_bh_delete(ctx->co_schedule_bh);
    while ((bh = QSIMPLEQ_FIRST(&ctx->bh_pending))) {
        QSIMPLEQ_REMOVE_HEAD(&ctx->bh_pending, next);
        g_free(bh);
    }
    QTAILQ_FOREACH_SAFE(h, &ctx->handlers, next, tmp) {
        QTAILQ_REMOVE(&ctx->handlers, h, next);
        g_free(h);
    }
    QTAILQ_FOREACH_SAFE(h, &ctx->deleted_handlers, next, tmp) {
        QTAILQ_REMOVE(&ctx->deleted_handlers, h, next);
        g_free(h);
    }
    close(ctx->epollfd);
    close(ctx->notify_fd);
    pthread_mutex_destroy(&ctx->bh_lock);
    pthread_mutex_destroy(&ctx->co_lock);
    if (current_ctx == ctx) {
        current_ctx = NULL;
    }
    if (main_ctx == ctx) {
        main_ctx = NULL;
    }
    g_free(ctx);
}

AioContext *qemu_get_aio_context(void)
{
    if (!main_ctx) {
        AioContext *saved = current_ctx;
        main_ctx = aio_context_new();
        current_ctx = saved ? saved : main_ctx;
    }
    return main_ctx;
}

AioContext *qemu_get_current_aio_context(void)
{
    return current_ctx ? current_ctx : qemu_get_aio_context();
}

static AioHandler *find_handler(AioContext *ctx, int fd)
{
    AioHandler *h;

    QTAILQ_FOREACH(h, &ctx->handlers, next) {
        if (h->fd == fd) {
            return h;
        }
    }
    return NULL;
}

void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque)
{
    AioHandler *h = find_handler(ctx, fd);
    struct epoll_event ev = { 0 };

    if (!io_read && !io_write) {
        if (h) {
            if (h->always_ready) {
                ctx->nb_always_ready--;
            } else {
                epoll_ctl(ctx->epollfd, EPOLL_CTL_DEL, fd, NULL);
            }
            QTAILQ_REMOVE(&ctx->handlers, h, next);
            /* a dispatch in progress may still hold a pointer to it */
            h->deleted = true;
            QTAILQ_INSERT_TAIL(&ctx->deleted_handlers, h, next);
        }
        return;
    }

    ev.events = (io_read ? EPOLLIN | EPOLLRDHUP : 0) |
                (io_write ? EPOLLOUT : 0);
    if (!h) {
        h = g_new0(AioHandler, 1);
        h->fd = fd;
        QTAILQ_INSERT_TAIL(&ctx->handlers, h, next);
        ev.data.ptr = h;
        if (epoll_ctl(ctx->epollfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            if (errno != EPERM) {
                g_error("epoll_ctl(ADD, %d): %s", fd, g_strerror(errno));
            }
            h->always_ready = true;
            ctx->nb_always_ready++;
        }
    } else if (!h->always_ready) {
        ev.data.ptr = h;
        if (epoll_ctl(ctx->epollfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
            /*
             * ENOENT: the fd was closed and its number reused (a network
             * library reconnecting); the kernel dropped the old
             * registration, so register the new file.
             */
            if (errno != ENOENT ||
                epoll_ctl(ctx->epollfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                g_error("epoll_ctl(MOD, %d): %s", fd, g_strerror(errno));
            }
        }
    }
    h->io_read = io_read;
    h->io_write = io_write;
    h->opaque = opaque;
}

void aio_notify(AioContext *ctx)
{
    uint64_t one = 1;

    while (write(ctx->notify_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
        /* retry */
    }
}

/* ---- bottom halves ---- */

QEMUBH *aio_bh_new(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = g_new0(QEMUBH, 1);

    bh->ctx = ctx;
    bh->cb = cb;
    bh->opaque = opaque;
    return bh;
}

void qemu_bh_schedule(QEMUBH *bh)
{
    AioContext *ctx = bh->ctx;
    bool notify = false;

    /*
     * Already scheduled: the run to come will see whatever the caller
     * published before this call (aio_bh_run clears the flag before it
     * calls the callback), so skip the lock.
     */
    if (__atomic_load_n(&bh->scheduled, __ATOMIC_SEQ_CST)) {
        return;
    }
    pthread_mutex_lock(&ctx->bh_lock);
    if (!bh->scheduled) {
        bh->scheduled = true;
        notify = true;
    }
    if (!bh->queued) {
        bh->queued = true;
        QSIMPLEQ_INSERT_TAIL(&ctx->bh_pending, bh, next);
    }
    pthread_mutex_unlock(&ctx->bh_lock);
    if (notify && ctx != current_ctx &&
        __atomic_load_n(&ctx->notify_me, __ATOMIC_SEQ_CST)) {
        aio_notify(ctx);
    }
}

void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = aio_bh_new(ctx, cb, opaque);

    bh->oneshot = true;
    qemu_bh_schedule(bh);
}

void qemu_bh_cancel(QEMUBH *bh)
{
    AioContext *ctx = bh->ctx;

    pthread_mutex_lock(&ctx->bh_lock);
    bh->scheduled = false;      /* stays queued; aio_bh_run skips it */
    pthread_mutex_unlock(&ctx->bh_lock);
}

void qemu_bh_delete(QEMUBH *bh)
{
    AioContext *ctx = bh->ctx;
    bool queued;

    pthread_mutex_lock(&ctx->bh_lock);
    queued = bh->queued;
    bh->scheduled = false;
    bh->deleted = queued;
    pthread_mutex_unlock(&ctx->bh_lock);
    if (!queued) {
        g_free(bh);
    }
}

/* Runs the BHs queued at entry; ones scheduled meanwhile wait a round. */
static bool aio_bh_run(AioContext *ctx)
{
    QSIMPLEQ_HEAD(, QEMUBH) list = QSIMPLEQ_HEAD_INITIALIZER(list);
    bool progress = false;

    pthread_mutex_lock(&ctx->bh_lock);
    QSIMPLEQ_CONCAT(&list, &ctx->bh_pending);
    pthread_mutex_unlock(&ctx->bh_lock);

    while (!QSIMPLEQ_EMPTY(&list)) {
        QEMUBH *bh = QSIMPLEQ_FIRST(&list);
        bool run;

        QSIMPLEQ_REMOVE_HEAD(&list, next);
        pthread_mutex_lock(&ctx->bh_lock);
        bh->queued = false;
        run = bh->scheduled && !bh->deleted;
        __atomic_store_n(&bh->scheduled, false, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&ctx->bh_lock);
        if (bh->deleted) {
            g_free(bh);
            continue;
        }
        if (run) {
            bh->cb(bh->opaque);
            progress = true;
        }
        if (bh->oneshot) {
            g_free(bh);
        }
    }
    return progress;
}

/* ---- timers ---- */

QEMUTimer *aio_timer_new(AioContext *ctx, QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *t = g_new0(QEMUTimer, 1);

    t->ctx = ctx;
    t->cb = cb;
    t->opaque = opaque;
    t->expire_ns = -1;
    return t;
}

void timer_del(QEMUTimer *t)
{
    if (t->expire_ns >= 0) {
        QTAILQ_REMOVE(&t->ctx->timers, t, next);
        t->expire_ns = -1;
    }
}

void timer_mod(QEMUTimer *t, int64_t expire_ns)
{
    QEMUTimer *it;

    timer_del(t);
    t->expire_ns = MAX(expire_ns, 0);
    QTAILQ_FOREACH(it, &t->ctx->timers, next) {
        if (it->expire_ns > t->expire_ns) {
            QTAILQ_INSERT_BEFORE(it, t, next);
            return;
        }
    }
    QTAILQ_INSERT_TAIL(&t->ctx->timers, t, next);
}

bool timer_pending(QEMUTimer *t)
{
    return t->expire_ns >= 0;
}

void timer_free(QEMUTimer *t)
{
    if (t) {
        timer_del(t);
        g_free(t);
    }
}

static bool aio_timers_run(AioContext *ctx)
{
    int64_t now = get_clock_ns();
    bool progress = false;
    QEMUTimer *t;

    while ((t = QTAILQ_FIRST(&ctx->timers)) && t->expire_ns <= now) {
        timer_del(t);
        t->cb(t->opaque);
        progress = true;
    }
    return progress;
}

/* Milliseconds until the first timer, rounded up; -1 when none. */
static int aio_timeout_ms(AioContext *ctx)
{
    QEMUTimer *t = QTAILQ_FIRST(&ctx->timers);
    int64_t delta;

    if (!t) {
        return -1;
    }
    delta = t->expire_ns - get_clock_ns();
    if (delta <= 0) {
        return 0;
    }
    return (int)MIN(DIV_ROUND_UP(delta, 1000000), INT_MAX);
}

static bool bh_pending(AioContext *ctx)
{
    bool pending;

    pthread_mutex_lock(&ctx->bh_lock);
    pending = !QSIMPLEQ_EMPTY(&ctx->bh_pending);
    pthread_mutex_unlock(&ctx->bh_lock);
    return pending;
}

#define MAX_EVENTS 128

bool aio_poll(AioContext *ctx, bool blocking)
{
    struct epoll_event events[MAX_EVENTS];
    bool progress;
    int timeout, n, i;
    AioHandler *h, *tmp;

    assert(!qemu_in_coroutine());
    progress = aio_bh_run(ctx);
    progress |= aio_timers_run(ctx);

    timeout = 0;
    if (blocking && !progress) {
        /*
         * Announce the sleep before the last look at the BH list: a BH
         * queued after that look sees notify_me and writes the eventfd.
         */
        __atomic_store_n(&ctx->notify_me, true, __ATOMIC_SEQ_CST);
        timeout = bh_pending(ctx) || ctx->nb_always_ready ? 0 :
                  aio_timeout_ms(ctx);
    }
    do {
        n = epoll_wait(ctx->epollfd, events, MAX_EVENTS, timeout);
    } while (n < 0 && errno == EINTR);
    __atomic_store_n(&ctx->notify_me, false, __ATOMIC_SEQ_CST);
    if (n < 0) {
        g_error("epoll_wait: %s", g_strerror(errno));
    }

    ctx->dispatch_depth++;
    for (i = 0; i < n; i++) {
        h = events[i].data.ptr;
        if (!h->deleted && h->io_read &&
            (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
            h->io_read(h->opaque);
            progress |= h->fd != ctx->notify_fd;
        }
        if (!h->deleted && h->io_write &&
            (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
            h->io_write(h->opaque);
            progress = true;
        }
    }
    if (ctx->nb_always_ready) {
        QTAILQ_FOREACH(h, &ctx->handlers, next) {
            if (h->deleted || !h->always_ready) {
                continue;
            }
            if (h->io_read) {
                h->io_read(h->opaque);
                progress = true;
            }
            if (!h->deleted && h->io_write) {
                h->io_write(h->opaque);
                progress = true;
            }
        }
    }
    ctx->dispatch_depth--;
    if (ctx->dispatch_depth == 0) {
        QTAILQ_FOREACH_SAFE(h, &ctx->deleted_handlers, next, tmp) {
            QTAILQ_REMOVE(&ctx->deleted_handlers, h, next);
            g_free(h);
        }
    }

    progress |= aio_timers_run(ctx);
    progress |= aio_bh_run(ctx);
    return progress;
}

void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    const char *prev = NULL;

    if (!__atomic_compare_exchange_n(&co->scheduled, &prev, __func__, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        fprintf(stderr, "%s: Co-routine was already scheduled in '%s'\n",
                __func__, prev);
        abort();
    }
    pthread_mutex_lock(&ctx->co_lock);
    QSIMPLEQ_INSERT_TAIL(&ctx->scheduled_coroutines, co, co_queue_next);
    pthread_mutex_unlock(&ctx->co_lock);
    qemu_bh_schedule(ctx->co_schedule_bh);
}

typedef struct RunCo {
    CoroutineEntry *entry;
    void *opaque;
    bool done;
} RunCo;

static void coroutine_fn run_co_entry(void *opaque)
{
    RunCo *r = opaque;

    r->entry(r->opaque);
    r->done = true;
}

void aio_run_coroutine(CoroutineEntry *entry, void *opaque)
{
    AioContext *ctx = qemu_get_current_aio_context();
    RunCo r = { .entry = entry, .opaque = opaque };

    assert(!qemu_in_coroutine());
    qemu_coroutine_enter(qemu_coroutine_create(run_co_entry, &r));
    while (!r.done) {
        aio_poll(ctx, true);
    }
}

ThreadPool *aio_get_thread_pool(AioContext *ctx)
{
    if (!ctx->thread_pool) {
        ctx->thread_pool = thread_pool_new(ctx, 64);
    }
    return ctx->thread_pool;
}

ThreadPool *aio_get_compute_pool(AioContext *ctx)
{
    if (!ctx->compute_pool) {
        ctx->compute_pool = thread_pool_new(ctx, qemu_get_ncpus());
    }
    return ctx->compute_pool;
}

LinuxAioState *aio_get_linux_aio(AioContext *ctx, Error **errp)
{
    if (!ctx->linux_aio) {
        ctx->linux_aio = laio_init(ctx, errp);
    }
    return ctx->linux_aio;
}

LuringState *aio_get_linux_io_uring(AioContext *ctx, Error **errp)
{
    if (!ctx->linux_io_uring) {
        ctx->linux_io_uring = luring_init(ctx, errp);
    }
    return ctx->linux_io_uring;
}
