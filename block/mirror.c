/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mirror job (blockdev-mirror) and active commit, as 7.2's: a
 * "mirror_top" filter goes above the source, so every user of the source
 * now goes through it; a job-owned dirty bitmap on the source records
 * each write (block/io.c sets it), and the job copies dirty areas to the
 * target, up to 16 operations in flight, zero ranges as zero writes.
 * Once nothing is dirty it flushes the target and goes READY; it then
 * keeps copying what the guest writes.  complete: drained, with nothing
 * dirty, the users of the source move to the target (the pivot); a soft
 * cancel of a READY job finishes the same way without the pivot.  Either
 * way the filter goes again.
 *
 * An operation clears its area's bits before reading, so a guest write
 * that lands during the copy dirties the area again and it is copied
 * once more; two operations on one area never run at once, so the
 * target never gets an older copy after a newer one.
 */
#include "util/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/aio-task.h"
#include "range-lock.h"

#define MIRROR_MAX_IN_FLIGHT 16
#define MIRROR_MAX_IO_BYTES (1 << 20)
#define MIRROR_DEFAULT_BUF_SIZE (MIRROR_MAX_IN_FLIGHT * MIRROR_MAX_IO_BYTES)
#define MIRROR_SLICE_NS (100 * 1000 * 1000LL)

typedef struct MirrorJob MirrorJob;

typedef struct MirrorOp {
    AioTask task;
    MirrorJob *s;
    BlockRange range;           /* its area, in s->ops */
} MirrorOp;

struct MirrorJob {
    Job job;
    BlockDriverState *mirror_top, *source, *target_bs;
    BlockDriverState *to_replace;   /* what the pivot replaces: source */
    BlockDriverState *base;     /* active commit: what lies below */
    BlockBackend *target;
    BdrvDirtyBitmap *bitmap;
    MirrorSyncMode sync;
    int64_t granularity, max_io, len;
    BlockdevOnError on_source_error, on_target_error;
    bool unmap, is_commit;
    MirrorCopyMode copy_mode;
    bool should_complete, prepared, in_drain;
    int ret;                    /* the first error the policy reported */
    int in_flight;
    int64_t bytes_in_flight, cursor;
    BlockRangeList ops;
    /*
     * Buffers of max_io bytes, made once and reused: a new one per copy
     * costs a page fault per page (3x the time of a 1 GiB mirror).
     */
    GPtrArray *free_bufs;
};

static uint8_t *mirror_get_buf(MirrorJob *s)
{
    if (s->free_bufs->len) {
        return g_ptr_array_steal_index_fast(s->free_bufs,
                                            s->free_bufs->len - 1);
    }
    return qemu_memalign(MAX(s->source->bl.opt_mem_alignment, 512),
                         s->max_io);
}

static void mirror_put_buf(MirrorJob *s, uint8_t *buf)
{
    g_ptr_array_add(s->free_bufs, buf);
}

static void mirror_free_buf(gpointer p)
{
    qemu_vfree(p);
}

/* ---- the mirror_top filter ---- */

typedef struct MirrorTopState {
    MirrorJob *job;             /* set while the job runs */
} MirrorTopState;

/*
 * copy-mode=write-blocking: the guest's write also goes to the target
 * before it completes.  A granule that was in sync stays in sync (the
 * write lands on both sides); one that was not, and is not wholly
 * overwritten, stays dirty for the background copy.  Meanwhile the range
 * is an operation of the job's: no copy of it runs at the same time.
 */
static int coroutine_fn mirror_top_active_write(BlockDriverState *bs,
                                                MirrorJob *s, int64_t offset,
                                                int64_t bytes,
                                                QEMUIOVector *qiov,
                                                BdrvRequestFlags flags)
{
    int64_t gran = s->granularity, g, first, end;
    GArray *clean = g_array_new(false, false, sizeof(bool));
    BlockRange op;
    int ret;

    block_range_wait(&s->ops, offset, bytes);
    block_range_add(&s->ops, &op, offset, bytes);
    first = QEMU_ALIGN_DOWN(offset, gran);
    end = offset + bytes;
    for (g = first; g < end; g += gran) {
        bool c = !bdrv_dirty_bitmap_get(s->bitmap, g) ||
                 (g >= offset && g + gran <= end);
        g_array_append_val(clean, c);
    }
    ret = qiov ? bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags) :
                 bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
    for (g = first; ret == 0 && g < end; g += gran) {
        int64_t a = MAX(g, offset), b = MIN(g + gran, end);
        int r;

        if (!g_array_index(clean, bool, (g - first) / gran)) {
            continue;
        }
        if (qiov) {
            QEMUIOVector part;

            qemu_iovec_init_slice(&part, qiov, a - offset, b - a);
            r = blk_co_pwritev(s->target, a, b - a, &part, 0);
            qemu_iovec_destroy(&part);
        } else {
            r = blk_co_pwrite_zeroes(s->target, a, b - a, 0);
        }
        if (r == 0) {
            /* in sync before, or wholly written: in sync again */
            bdrv_dirty_bitmap_reset_range(s->bitmap, g, gran);
        } else {
            /* left dirty: the background copy tries it again */
            job_error_action(&s->job, s->on_target_error, false, -r);
        }
    }
    block_range_remove(&s->ops, &op);
    g_array_free(clean, true);
    return ret;
}

static int coroutine_fn mirror_top_co_pwritev(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              QEMUIOVector *qiov,
                                              BdrvRequestFlags flags)
{
    MirrorJob *s = ((MirrorTopState *)bs->opaque)->job;

    if (s && s->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING && s->target) {
        return mirror_top_active_write(bs, s, offset, bytes, qiov, flags);
    }
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn mirror_top_co_pwrite_zeroes(BlockDriverState *bs,
                                                    int64_t offset,
                                                    int64_t bytes,
                                                    BdrvRequestFlags flags)
{
    MirrorJob *s = ((MirrorTopState *)bs->opaque)->job;

    if (s && s->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING && s->target) {
        return mirror_top_active_write(bs, s, offset, bytes, NULL, flags);
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static const BlockDriver bdrv_mirror_top = {
    .format_name = "mirror_top",
    .instance_size = sizeof(MirrorTopState),
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .is_filter = true,
    .co_open = bdrv_filter_co_open,
    .co_preadv = bdrv_filter_co_preadv,
    .co_pwritev = mirror_top_co_pwritev,
    .co_pwrite_zeroes = mirror_top_co_pwrite_zeroes,
    .co_pdiscard = bdrv_filter_co_pdiscard,
    .co_block_status = bdrv_filter_co_block_status,
    .co_truncate = bdrv_filter_co_truncate,
    .co_getlength = bdrv_filter_co_getlength,
};

/* ---- operations ---- */

static int coroutine_fn mirror_copy(MirrorJob *s, int64_t offset,
                                    int64_t bytes, bool *is_read)
{
    int64_t end = offset + bytes, pnum;
    uint8_t *buf = NULL;
    int ret = 0;

    while (offset < end && ret == 0) {
        ret = bdrv_co_block_status_above(s->source, NULL, false, true, offset,
                                         end - offset, &pnum, NULL, NULL,
                                         NULL);
        *is_read = true;
        if (ret < 0) {
            break;
        }
        *is_read = false;
        if (ret & BDRV_BLOCK_ZERO) {
            ret = blk_co_pwrite_zeroes(s->target, offset, pnum,
                                       s->unmap ? BDRV_REQ_MAY_UNMAP : 0);
        } else {
            /* file to file (a raw target): offloaded, no copy through us */
            *is_read = false;
            ret = bdrv_co_copy_range(s->source, offset, s->target_bs, offset,
                                     pnum);
            if (ret != -ENOTSUP) {
                offset += pnum;
                continue;
            }
            if (!buf) {
                buf = mirror_get_buf(s);
            }
            *is_read = true;
            ret = bdrv_co_pread(s->mirror_top->file, offset, pnum, buf, 0);
            if (ret == 0) {
                *is_read = false;
                ret = blk_co_pwrite(s->target, offset, pnum, buf, 0);
            }
        }
        offset += pnum;
    }
    if (buf) {
        mirror_put_buf(s, buf);
    }
    return ret;
}

static int coroutine_fn mirror_op_run(AioTask *task)
{
    MirrorOp *op = container_of(task, MirrorOp, task);
    MirrorJob *s = op->s;
    bool is_read = false;
    int ret = mirror_copy(s, op->range.offset, op->range.bytes, &is_read);

    if (ret < 0) {
        /* copied again after a stop, or never (report) */
        bdrv_dirty_bitmap_set_range(s->bitmap, op->range.offset,
                                    op->range.bytes);
        if (job_error_action(&s->job, is_read ? s->on_source_error :
                                                s->on_target_error,
                             is_read, -ret) == BLOCK_ERROR_ACTION_REPORT &&
            s->ret == 0) {
            s->ret = ret;
        }
    } else {
        job_progress_update(&s->job, op->range.bytes);
    }
    s->in_flight--;
    s->bytes_in_flight -= op->range.bytes;
    block_range_remove(&s->ops, &op->range);
    return 0;
}

/* Start one operation on the next dirty area; its bytes, or 0. */
static int64_t coroutine_fn mirror_iteration(MirrorJob *s,
                                             AioTaskPool *pool)
{
    int64_t offset, bytes;
    MirrorOp *op;

    if (!bdrv_dirty_bitmap_next_dirty_area(s->bitmap, s->cursor, s->len,
                                           s->max_io, &offset, &bytes)) {
        s->cursor = 0;
        if (!bdrv_dirty_bitmap_next_dirty_area(s->bitmap, 0, s->len,
                                               s->max_io, &offset, &bytes)) {
            return 0;
        }
    }
    block_range_wait(&s->ops, offset, bytes);
    bdrv_dirty_bitmap_reset_range(s->bitmap, offset, bytes);
    s->cursor = offset + bytes;
    op = g_new0(MirrorOp, 1);
    op->task.func = mirror_op_run;
    op->s = s;
    block_range_add(&s->ops, &op->range, offset, bytes);
    s->in_flight++;
    s->bytes_in_flight += bytes;
    aio_task_pool_start_task(pool, &op->task);
    return bytes;
}

/* What the first pass copies: the sync mode, and how the target zeroes. */
static int coroutine_fn mirror_dirty_init(MirrorJob *s)
{
    int64_t offset, pnum;
    /*
     * sync=full goes through every byte, as 7.2's blockdev-mirror: zero
     * ranges are written as zeroes (and counted), unless the target
     * unmaps (discard=unmap) and starts zeroed, where only the allocated
     * ranges need copying.
     */
    bool all = s->sync == MIRROR_SYNC_MODE_FULL && !s->is_commit &&
               (!(s->target_bs->open_flags & BDRV_O_UNMAP) ||
                !bdrv_has_zero_init(s->target_bs));
    int ret;

    if (all) {
        bdrv_dirty_bitmap_set_range(s->bitmap, 0, s->len);
        return 0;
    }
    for (offset = 0; offset < s->len; offset += pnum) {
        job_pause_point(&s->job);
        if (job_is_cancelled(&s->job)) {
            return 0;
        }
        if (s->sync == MIRROR_SYNC_MODE_TOP) {
            ret = bdrv_co_is_allocated(s->source, offset, s->len - offset,
                                       &pnum);
        } else {
            ret = bdrv_co_block_status_above(s->source, s->base, false, false,
                                             offset, s->len - offset, &pnum,
                                             NULL, NULL, NULL);
            ret = ret < 0 ? ret : !!(ret & BDRV_BLOCK_ALLOCATED);
        }
        if (ret < 0) {
            return ret;
        }
        if (ret) {
            bdrv_dirty_bitmap_set_range(s->bitmap, offset, pnum);
        }
    }
    return 0;
}

static int coroutine_fn mirror_flush(MirrorJob *s)
{
    int ret = blk_co_flush(s->target);

    if (ret < 0 && job_error_action(&s->job, s->on_target_error, false,
                                    -ret) == BLOCK_ERROR_ACTION_REPORT) {
        s->ret = ret;
    }
    return ret;
}

/*
 * The copy loop: until complete (or a soft cancel when READY) finds the
 * two sides in sync, with the source drained.  Returns with the source
 * drained in every case, for the graph changes that follow.
 */
static int coroutine_fn mirror_loop(MirrorJob *s, AioTaskPool *pool)
{
    Job *job = &s->job;

    for (;;) {
        int64_t cnt, delay = 0;

        if (s->ret < 0) {
            return s->ret;
        }
        job_pause_point(job);
        if (job_is_cancelled(job)) {
            return 0;
        }
        cnt = bdrv_dirty_bitmap_count(s->bitmap) * s->granularity;
        job_progress_set_remaining(job, s->bytes_in_flight + cnt);
        if (cnt > 0 && job->iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
            int64_t n = mirror_iteration(s, pool);

            delay = job_ratelimit_get_delay(job, n);
        } else if (cnt == 0 && s->in_flight > 0) {
            aio_task_pool_wait_one(pool);
            continue;
        }
        if (s->in_flight == 0 && cnt == 0) {
            if (!job_is_ready(job)) {
                if (mirror_flush(s) < 0) {
                    continue;
                }
                job_transition_to_ready(job);
            }
            if (s->should_complete || job_cancel_requested(job)) {
                /* in sync and told to end: check again, drained */
                s->in_drain = true;
                bdrv_co_drained_begin(s->source);
                if (bdrv_dirty_bitmap_count(s->bitmap) == 0 &&
                    mirror_flush(s) == 0) {
                    return 0;
                }
                bdrv_drained_end(s->source);
                s->in_drain = false;
                continue;
            }
            delay = MIRROR_SLICE_NS;
        }
        job_sleep_ns(job, delay);
    }
}

static int coroutine_fn mirror_run(Job *job, Error **errp)
{
    MirrorJob *s = container_of(job, MirrorJob, job);
    AioTaskPool *pool = NULL;
    int64_t target_len;
    int ret = 0;

    s->len = bdrv_co_getlength(s->source);
    target_len = blk_co_getlength(s->target);
    if (s->len < 0 || target_len < 0) {
        ret = s->len < 0 ? s->len : target_len;
    } else if (s->is_commit && s->len > target_len) {
        ret = blk_co_truncate(s->target, s->len, false, PREALLOC_MODE_OFF, 0,
                              NULL);
    } else if (!s->is_commit && s->len != target_len) {
        error_setg(errp, "Source and target image have different sizes");
        ret = -EINVAL;
    }
    if (ret == 0 && s->len == 0) {
        job_transition_to_ready(job);
        while (!job_cancel_requested(job) && !s->should_complete) {
            job_yield(job);
        }
    } else if (ret == 0) {
        if (s->sync != MIRROR_SYNC_MODE_NONE) {
            ret = mirror_dirty_init(s);
        }
        if (ret == 0 && !job_is_cancelled(job)) {
            pool = aio_task_pool_new(MIRROR_MAX_IN_FLIGHT);
            ret = mirror_loop(s, pool);
            aio_task_pool_wait_all(pool);
            aio_task_pool_free(pool);
        }
    }
    if (!s->in_drain) {
        s->in_drain = true;
        bdrv_co_drained_begin(s->source);
    }
    return ret;
}

static void mirror_complete(Job *job, Error **errp)
{
    MirrorJob *s = container_of(job, MirrorJob, job);

    s->should_complete = true;
    job_enter(job);
}

/* A soft cancel of a READY job completes it without the pivot. */
static bool mirror_cancel(Job *job, bool force)
{
    return force || !job_is_ready(job);
}

/* Pivot when told to and all went well; the filter goes in every case. */
static int coroutine_fn mirror_exit_common(Job *job)
{
    MirrorJob *s = container_of(job, MirrorJob, job);
    BlockDriverState *top = s->mirror_top, *src = s->source;
    BlockDriverState *target = s->target_bs;
    Error *err = NULL;
    int ret = 0;

    if (s->prepared) {
        return 0;
    }
    s->prepared = true;
    ((MirrorTopState *)top->opaque)->job = NULL;
    bdrv_dirty_bitmap_release(src, s->bitmap);
    s->bitmap = NULL;
    blk_unref(s->target);
    s->target = NULL;
    if (s->should_complete && job->ret == 0) {
        bdrv_co_drained_begin(target);
        if (!bdrv_replace_node(s->to_replace ? s->to_replace : src, target,
                               &err)) {
            ret = -EPERM;
        }
        bdrv_drained_end(target);
    }
    /* the filter's users go to what is below it now */
    bdrv_replace_node(top, top->file->bs, err ? NULL : &err);

    assert(s->in_drain);
    bdrv_drained_end(src);
    s->in_drain = false;
    if (err) {
        error_propagate(&job->err, err);
        ret = ret ? ret : -EPERM;
    }
    return ret;
}

static int coroutine_fn mirror_prepare(Job *job)
{
    return mirror_exit_common(job);
}

static void coroutine_fn mirror_abort(Job *job)
{
    mirror_exit_common(job);
}

/*
 * Let go of the nodes before the job's callback hears it ended: closing
 * one may write (and yield), and the caller may open the image next.
 */
static void mirror_free(Job *job)
{
    MirrorJob *s = container_of(job, MirrorJob, job);

    if (s->free_bufs) {
        g_ptr_array_free(s->free_bufs, true);
        s->free_bufs = NULL;
    }
    blk_unref(s->target);
    s->target = NULL;
    bdrv_unref(s->mirror_top);
    s->mirror_top = NULL;
    bdrv_unref(s->source);
    s->source = NULL;
    bdrv_unref(s->target_bs);
    s->target_bs = NULL;
    if (s->to_replace) {
        bdrv_unref(s->to_replace);
        s->to_replace = NULL;
    }
    if (s->base) {
        bdrv_unref(s->base);
        s->base = NULL;
    }
}

static void coroutine_fn mirror_clean(Job *job)
{
    mirror_free(job);
}

static const JobDriver mirror_job_driver = {
    .instance_size = sizeof(MirrorJob),
    .job_type = JOB_TYPE_MIRROR,
    .block_job = true,
    .run = mirror_run,
    .complete = mirror_complete,
    .cancel = mirror_cancel,
    .prepare = mirror_prepare,
    .abort = mirror_abort,
    .clean = mirror_clean,
    .free = mirror_free,
};

static const JobDriver commit_active_job_driver = {
    .instance_size = sizeof(MirrorJob),
    .job_type = JOB_TYPE_COMMIT,
    .block_job = true,
    .run = mirror_run,
    .complete = mirror_complete,
    .cancel = mirror_cancel,
    .prepare = mirror_prepare,
    .abort = mirror_abort,
    .clean = mirror_clean,
    .free = mirror_free,
};

/* 7.2's default: the target's cluster size within [4 KiB, 64 KiB] */
static int64_t default_granularity(BlockDriverState *target)
{
    BlockDriverInfo bdi = { 0 };

    if (bdrv_get_info(target, &bdi) == 0 && bdi.cluster_size > 0) {
        return MIN(65536, MAX(4096, bdi.cluster_size));
    }
    return 65536;
}

static Job *coroutine_fn mirror_do_start(const JobDriver *drv,
                                         const BlockJobCommon *common,
                                         BlockDriverState *bs,
                                         BlockDriverState *target,
                                         BlockDriverState *base,
                                         const MirrorParams *p, Error **errp)
{
    int64_t gran = p->granularity ? p->granularity :
                   default_granularity(target);
    int64_t buf_size = p->buf_size ? p->buf_size : MIRROR_DEFAULT_BUF_SIZE;
    MirrorJob *s;
    QDict *opts;

    if (gran < 512 || gran > 64 * MiB) {
        error_setg(errp, "Parameter 'granularity' expects a value in range "
                   "[512B, 64MB]");
        return NULL;
    }
    if (gran & (gran - 1)) {
        error_setg(errp, "Parameter 'granularity' expects a power of 2");
        return NULL;
    }
    if (p->buf_size < 0) {
        error_setg(errp, "Invalid parameter 'buf-size'");
        return NULL;
    }
    if (bs == target || bdrv_skip_filters(bs) == bdrv_skip_filters(target)) {
        error_setg(errp, "Can't mirror node into itself");
        return NULL;
    }
    /* the filter's name before the job exists, as 7.2 opens it first */
    if (common->filter_node_name &&
        !bdrv_check_node_name(common->filter_node_name, errp)) {
        return NULL;
    }
    s = job_create(common->job_id, drv, NULL, common->flags, common->cb,
                   common->opaque, errp);
    if (!s) {
        return NULL;
    }
    s->source = bdrv_ref(bs);
    s->target_bs = bdrv_ref(target);
    /*
     * The source (not resized under the job, as 7.2's), the target and,
     * for commit, the nodes between them.
     */
    if (!job_block_node(&s->job, "source", bs, 0,
                        BLK_PERM_ALL & ~BLK_PERM_RESIZE, errp)) {
        goto fail;
    }
    job_block_node(&s->job, "target", target, 0, BLK_PERM_ALL, &error_abort);
    if (p->replaces && p->replaces != bs) {
        /* held, not blocked: 7.2 blocks it only once complete is asked */
        s->to_replace = bdrv_ref(p->replaces);
    }
    if (base) {
        BlockDriverState *it;

        for (it = bdrv_backing_bs(bs); it && it != base;
             it = bdrv_backing_bs(it)) {
            job_block_node(&s->job, "intermediate node", it, 0, BLK_PERM_ALL,
                           &error_abort);
        }
    }
    s->base = base ? bdrv_ref(base) : NULL;
    s->is_commit = drv == &commit_active_job_driver;
    s->sync = p->sync;
    s->granularity = gran;
    s->max_io = QEMU_ALIGN_UP(MAX(buf_size / MIRROR_MAX_IN_FLIGHT,
                                  MIRROR_MAX_IO_BYTES), gran);
    s->on_source_error = p->on_source_error;
    s->on_target_error = p->on_target_error;
    s->unmap = p->unmap;
    s->copy_mode = p->copy_mode;
    QTAILQ_INIT(&s->ops);
    s->free_bufs = g_ptr_array_new_with_free_func(mirror_free_buf);
    /* the target is written; for commit it is read below the top too */
    s->target = blk_new_with_bs(bdrv_ref(target),
                                BLK_PERM_WRITE | BLK_PERM_RESIZE |
                                (s->is_commit ? BLK_PERM_CONSISTENT_READ : 0),
                                s->is_commit ? BLK_PERM_ALL :
                                BLK_PERM_CONSISTENT_READ |
                                BLK_PERM_WRITE_UNCHANGED, errp);
    if (!s->target || !job_set_speed(&s->job, common->speed, errp)) {
        goto fail;
    }
    /* a drain waits for the job, so its own requests are never held */
    blk_set_disable_request_queuing(s->target, true);
    s->bitmap = bdrv_dirty_bitmap_create(bs, NULL, gran, bs->total_bytes,
                                         errp);
    if (!s->bitmap) {
        goto fail;
    }
    bdrv_dirty_bitmap_set_busy(s->bitmap, true);
    /* the filter: its users are the source's users */
    opts = qdict_new();
    if (common->filter_node_name) {
        qdict_put_str(opts, "node-name", common->filter_node_name);
    }
    s->mirror_top = bdrv_co_open_driver(&bdrv_mirror_top, bs->filename,
                                        bdrv_ref(bs), opts, bs->open_flags,
                                        errp);
    qobject_unref(opts);
    if (!s->mirror_top) {
        goto fail;
    }
    ((MirrorTopState *)s->mirror_top->opaque)->job = s;
    job_block_node(&s->job, "main node", s->mirror_top, 0, BLK_PERM_ALL,
                   &error_abort);
    if (!bdrv_co_replace_node_drained(bs, s->mirror_top, errp)) {
        goto fail;
    }
    job_start(&s->job);
    return &s->job;

fail:
    if (s->bitmap) {
        bdrv_dirty_bitmap_release(bs, s->bitmap);
        s->bitmap = NULL;
    }
    job_early_fail(&s->job);
    return NULL;
}

Job *coroutine_fn mirror_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *target,
                               const MirrorParams *p, Error **errp)
{
    return mirror_do_start(&mirror_job_driver, common, bs, target, NULL, p,
                           errp);
}

Job *coroutine_fn commit_active_start(const BlockJobCommon *common,
                                      BlockDriverState *bs,
                                      BlockDriverState *base,
                                      BlockdevOnError on_error, Error **errp)
{
    MirrorParams p = {
        .sync = MIRROR_SYNC_MODE_FULL,
        .on_source_error = on_error,
        .on_target_error = on_error,
        .unmap = true,
    };
    BlockDriverState *above = bdrv_find_overlay(bs, base);
    bool base_ro;
    Job *job;

    if (!above) {
        error_setg(errp, "'%s' is not in the backing chain of '%s'",
                   base->filename, bs->filename);
        return NULL;
    }
    /* the base is written: a read-only one is made writable in place */
    base = bdrv_co_reopen_backing_rw(above, &base_ro, errp);
    if (!base) {
        return NULL;
    }
    job = mirror_do_start(&commit_active_job_driver, common, bs, base, base,
                          &p, errp);
    /* once started, the base stays writable, as 7.2's (even cancelled) */
    if (!job && base_ro) {
        bdrv_co_make_read_only(base, NULL);
    }
    return job;
}
