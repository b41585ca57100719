/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup job (blockdev-backup) and its copy-before-write filter, as
 * 7.2's.  The target becomes the source as it was when the job started:
 * a "copy-before-write" filter goes above the source, and a guest write
 * to a cluster not yet copied first copies the cluster's old data to the
 * target (a failed copy fails the guest write, 7.2's default).  The job
 * meanwhile copies the clusters left, several at a time.  One bitmap of
 * clusters still to copy serves both, and a cluster being copied is never
 * written by the guest nor copied twice at once: who comes second waits.
 *
 * sync=full copies every cluster, top what the source's top layer
 * allocates, bitmap (and incremental) what a user bitmap holds, none
 * nothing but what the guest is about to overwrite (fleecing, until
 * cancelled).  A user bitmap is frozen while the job runs: the writes
 * go to a successor, merged back at the end as bitmap-mode says.
 */
#include "util/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/aio-task.h"
#include "range-lock.h"

#define BACKUP_CLUSTER_MIN (64 * 1024)
#define BACKUP_MAX_CHUNK (1024 * 1024)
#define BACKUP_WORKERS 16

typedef struct BackupJob BackupJob;

typedef struct BackupTask {
    AioTask task;
    BackupJob *s;
    int64_t offset, bytes;
} BackupTask;

struct BackupJob {
    Job job;
    BlockDriverState *cbw, *source;
    BlockBackend *target;
    BdrvDirtyBitmap *copy_bitmap;   /* clusters still to copy, on source */
    BdrvDirtyBitmap *sync_bitmap;   /* the user's, frozen */
    BdrvDirtyBitmap *successor;     /* writes meanwhile */
    bool sync_bitmap_was_enabled;
    MirrorSyncMode sync;
    BitmapSyncMode bitmap_mode;
    BlockdevOnError on_source_error, on_target_error;
    int64_t cluster, len;
    int64_t max_chunk;              /* bytes per read and write */
    bool compress;                  /* whole clusters, written compressed */
    BlockRangeList ops;             /* the areas being copied */
    int ret;                        /* first error the policy reported */
    GPtrArray *free_bufs;           /* reused: see mirror.c */
};

static uint8_t *backup_get_buf(BackupJob *s)
{
    if (s->free_bufs->len) {
        return g_ptr_array_steal_index_fast(s->free_bufs,
                                            s->free_bufs->len - 1);
    }
    return qemu_memalign(MAX(s->source->bl.opt_mem_alignment, 512),
                         s->max_chunk);
}

static void backup_free_buf(gpointer p)
{
    qemu_vfree(p);
}

/* the job a copy-before-write node serves: its opaque */
typedef struct CbwState {
    BackupJob *job;
} CbwState;

/*
 * Copy the clusters of [@offset, @offset + @bytes) that are still to be
 * copied, waiting for copies already under way there.  0 or -errno;
 * *@is_read tells which side failed.  Context: coroutine.
 */
static int coroutine_fn backup_copy(BackupJob *s, int64_t offset,
                                    int64_t bytes, bool *is_read)
{
    int64_t end = MIN(QEMU_ALIGN_UP(offset + bytes, s->cluster), s->len);
    int64_t start, n, pnum, pos;
    BlockRange op;
    uint8_t *buf = NULL;
    int ret = 0;

    offset = QEMU_ALIGN_DOWN(offset, s->cluster);
    block_range_wait(&s->ops, offset, end - offset);
    if (!bdrv_dirty_bitmap_next_dirty_area(s->copy_bitmap, offset, end,
                                           end - offset, &start, &n)) {
        return 0;
    }
    /* the first run to copy; the rest on the next call */
    bdrv_dirty_bitmap_reset_range(s->copy_bitmap, start, n);
    block_range_add(&s->ops, &op, start, n);
    for (pos = start; pos < start + n && ret == 0; pos += pnum) {
        *is_read = true;
        ret = bdrv_co_block_status_above(s->source, NULL, false, true, pos,
                                         start + n - pos, &pnum, NULL, NULL,
                                         NULL);
        if (ret < 0) {
            break;
        }
        if (s->compress) {
            /*
             * Compressed writes take whole clusters: a run shorter than
             * one is copied as data with what follows it.
             */
            if (pnum < s->cluster) {
                ret &= ~BDRV_BLOCK_ZERO;
                pnum = MIN(s->cluster, start + n - pos);
            } else {
                pnum = QEMU_ALIGN_DOWN(pnum, s->cluster);
            }
        }
        if (ret & BDRV_BLOCK_ZERO) {
            *is_read = false;
            ret = blk_co_pwrite_zeroes(s->target, pos, pnum,
                                       BDRV_REQ_MAY_UNMAP);
            continue;
        }
        pnum = MIN(pnum, s->max_chunk);
        if (!buf) {
            buf = backup_get_buf(s);
        }
        ret = bdrv_co_pread(s->cbw->file, pos, pnum, buf, 0);
        if (ret == 0) {
            *is_read = false;
            ret = blk_co_pwrite(s->target, pos, pnum, buf,
                                s->compress ? BDRV_REQ_WRITE_COMPRESSED : 0);
        }
    }
    if (buf) {
        g_ptr_array_add(s->free_bufs, buf);
    }
    if (ret < 0) {
        /* still to copy */
        bdrv_dirty_bitmap_set_range(s->copy_bitmap, pos, start + n - pos);
    } else {
        job_progress_update(&s->job, n);
    }
    block_range_remove(&s->ops, &op);
    if (ret == 0 && start + n < end) {
        return backup_copy(s, start + n, end - start - n, is_read);
    }
    return ret;
}

/* ---- the copy-before-write filter ---- */

static int coroutine_fn cbw_before_write(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes)
{
    BackupJob *s = ((CbwState *)bs->opaque)->job;
    bool is_read;

    return s ? backup_copy(s, offset, bytes, &is_read) : 0;
}

static int coroutine_fn cbw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    int ret = cbw_before_write(bs, offset, bytes);

    return ret < 0 ? ret : bdrv_co_pwritev(bs->file, offset, bytes, qiov,
                                           flags);
}

static int coroutine_fn cbw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    int ret = cbw_before_write(bs, offset, bytes);

    return ret < 0 ? ret : bdrv_co_pwrite_zeroes(bs->file, offset, bytes,
                                                 flags);
}

static int coroutine_fn cbw_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    int ret = cbw_before_write(bs, offset, bytes);

    return ret < 0 ? ret : bdrv_co_pdiscard(bs->file, offset, bytes);
}

static const BlockDriver bdrv_copy_before_write = {
    .format_name = "copy-before-write",
    .instance_size = sizeof(CbwState),
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .is_filter = true,
    .co_open = bdrv_filter_co_open,
    .co_preadv = bdrv_filter_co_preadv,
    .co_pwritev = cbw_co_pwritev,
    .co_pwrite_zeroes = cbw_co_pwrite_zeroes,
    .co_pdiscard = cbw_co_pdiscard,
    .co_block_status = bdrv_filter_co_block_status,
    .co_getlength = bdrv_filter_co_getlength,
};

/* ---- the job ---- */

static int coroutine_fn backup_task(AioTask *task)
{
    BackupTask *t = container_of(task, BackupTask, task);
    BackupJob *s = t->s;
    bool is_read = false;
    int ret = backup_copy(s, t->offset, t->bytes, &is_read);

    if (ret < 0 &&
        job_error_action(&s->job, is_read ? s->on_source_error :
                                            s->on_target_error,
                         is_read, -ret) == BLOCK_ERROR_ACTION_REPORT &&
        s->ret == 0) {
        s->ret = ret;
    }
    return 0;
}

/* sync=top: only what the source's top layer allocates is copied */
static int coroutine_fn backup_skip_unallocated(BackupJob *s)
{
    int64_t offset, pnum;

    for (offset = 0; offset < s->len; offset += pnum) {
        int ret;

        job_pause_point(&s->job);
        if (job_is_cancelled(&s->job)) {
            return -ECANCELED;
        }
        ret = bdrv_co_is_allocated(s->source, offset, s->len - offset, &pnum);
        if (ret < 0) {
            return ret;
        }
        if (!ret) {
            /* whole clusters only: a partly allocated one is copied */
            int64_t a = QEMU_ALIGN_UP(offset, s->cluster);
            int64_t b = offset + pnum == s->len ? s->len :
                        QEMU_ALIGN_DOWN(offset + pnum, s->cluster);
            if (a < b) {
                bdrv_dirty_bitmap_reset_range(s->copy_bitmap, a, b - a);
            }
        }
    }
    return 0;
}

static int coroutine_fn backup_loop(BackupJob *s)
{
    AioTaskPool *pool = aio_task_pool_new(BACKUP_WORKERS);
    int64_t offset = 0, bytes, delay = 0;
    int ret = 0;

    for (;;) {
        BackupTask *t;

        if (s->ret < 0) {
            ret = s->ret;
            break;
        }
        job_sleep_ns(&s->job, delay);
        delay = 0;
        if (job_is_cancelled(&s->job)) {
            ret = -ECANCELED;
            break;
        }
        if (!bdrv_dirty_bitmap_next_dirty_area(s->copy_bitmap, offset, s->len,
                                               s->max_chunk, &offset,
                                               &bytes)) {
            /* after a stop, what failed is dirty again, behind us */
            aio_task_pool_wait_all(pool);
            if (s->ret < 0 || bdrv_dirty_bitmap_next_dirty(s->copy_bitmap, 0,
                                                           s->len) < 0) {
                ret = s->ret;
                break;
            }
            offset = 0;
            continue;
        }
        if (s->job.iostatus != BLOCK_DEVICE_IO_STATUS_OK) {
            aio_task_pool_wait_all(pool);
            continue;
        }
        t = g_new0(BackupTask, 1);
        t->task.func = backup_task;
        t->s = s;
        t->offset = offset;
        t->bytes = bytes;
        aio_task_pool_start_task(pool, &t->task);
        delay = job_ratelimit_get_delay(&s->job, bytes);
        offset += bytes;
    }
    aio_task_pool_wait_all(pool);
    aio_task_pool_free(pool);
    return ret;
}

static int coroutine_fn backup_run(Job *job, Error **errp)
{
    BackupJob *s = container_of(job, BackupJob, job);
    int ret = 0;

    if (s->sync == MIRROR_SYNC_MODE_TOP) {
        ret = backup_skip_unallocated(s);
    }
    job_progress_set_remaining(job, bdrv_dirty_bitmap_count(s->copy_bitmap) *
                                    s->cluster);
    if (ret < 0) {
        return ret;
    }
    if (s->sync == MIRROR_SYNC_MODE_NONE) {
        /* fleecing: the filter copies what the guest overwrites */
        while (!job_is_cancelled(job)) {
            job_yield(job);
        }
        return 0;
    }
    ret = backup_loop(s);
    return ret ? ret : blk_co_flush(s->target);
}

/* The user bitmap after the job, as 7.2's bitmap-mode says. */
static void backup_sync_bitmap(BackupJob *s, int ret)
{
    BdrvDirtyBitmap *bm = s->sync_bitmap;
    bool sync = (ret == 0 || s->bitmap_mode == BITMAP_SYNC_MODE_ALWAYS) &&
                s->bitmap_mode != BITMAP_SYNC_MODE_NEVER;

    if (!bm) {
        return;
    }
    if (sync) {
        /* what was copied is out of it: what was written since stays */
        bdrv_dirty_bitmap_clear(bm);
    }
    bdrv_dirty_bitmap_merge(bm, s->successor, NULL);
    if (ret < 0 && s->bitmap_mode == BITMAP_SYNC_MODE_ALWAYS) {
        bdrv_dirty_bitmap_merge(bm, s->copy_bitmap, NULL);
    }
    bdrv_dirty_bitmap_set_enabled(bm, s->sync_bitmap_was_enabled);
    bdrv_dirty_bitmap_set_busy(bm, false);
    bdrv_dirty_bitmap_release(s->source, s->successor);
    s->successor = NULL;
    s->sync_bitmap = NULL;
}

static void coroutine_fn backup_commit(Job *job)
{
    backup_sync_bitmap(container_of(job, BackupJob, job), 0);
}

static void coroutine_fn backup_abort(Job *job)
{
    backup_sync_bitmap(container_of(job, BackupJob, job), -1);
}

/* The filter goes; the guest writes straight to the source again. */
static void coroutine_fn backup_clean(Job *job)
{
    BackupJob *s = container_of(job, BackupJob, job);

    if (!s->cbw) {
        return;
    }
    bdrv_co_drained_begin(s->source);
    ((CbwState *)s->cbw->opaque)->job = NULL;
    bdrv_replace_node(s->cbw, s->source, NULL);
    bdrv_drained_end(s->source);
    /* the nodes go before the job's callback hears it ended (mirror.c) */
    blk_unref(s->target);
    s->target = NULL;
    bdrv_dirty_bitmap_release(s->source, s->copy_bitmap);
    s->copy_bitmap = NULL;
    bdrv_unref(s->cbw);
    s->cbw = NULL;
    bdrv_unref(s->source);
    s->source = NULL;
}

static void backup_free(Job *job)
{
    BackupJob *s = container_of(job, BackupJob, job);

    g_ptr_array_free(s->free_bufs, true);
    blk_unref(s->target);
    if (s->copy_bitmap) {
        bdrv_dirty_bitmap_release(s->source, s->copy_bitmap);
    }
    if (s->successor) {
        bdrv_dirty_bitmap_release(s->source, s->successor);
    }
    if (s->sync_bitmap) {
        bdrv_dirty_bitmap_set_busy(s->sync_bitmap, false);
        bdrv_dirty_bitmap_set_enabled(s->sync_bitmap,
                                      s->sync_bitmap_was_enabled);
    }
    bdrv_unref(s->cbw);
    if (s->source) {
        bdrv_unref(s->source);
    }
}

static const JobDriver backup_job_driver = {
    .instance_size = sizeof(BackupJob),
    .job_type = JOB_TYPE_BACKUP,
    .block_job = true,
    .run = backup_run,
    .commit = backup_commit,
    .abort = backup_abort,
    .clean = backup_clean,
    .free = backup_free,
};

static const char *const sync_names[] = {
    "top", "full", "none", "incremental", "bitmap",
};

/* 7.2's checks of sync, bitmap and bitmap-mode, in its order and words */
static bool backup_check_args(const BackupParams *p, Error **errp)
{
    MirrorSyncMode sync = p->sync;

    if ((sync == MIRROR_SYNC_MODE_BITMAP ||
         sync == MIRROR_SYNC_MODE_INCREMENTAL) && !p->bitmap) {
        error_setg(errp, "must provide a valid bitmap name for '%s' sync "
                   "mode", sync_names[sync]);
        return false;
    }
    if (sync == MIRROR_SYNC_MODE_INCREMENTAL && p->has_bitmap_mode &&
        p->bitmap_mode != BITMAP_SYNC_MODE_ON_SUCCESS) {
        error_setg(errp, "Bitmap sync mode must be 'on-success' when using "
                   "sync mode 'incremental'");
        return false;
    }
    if (p->bitmap && !p->has_bitmap_mode &&
        sync != MIRROR_SYNC_MODE_INCREMENTAL) {
        error_setg(errp, "Bitmap sync mode must be given when providing a "
                   "bitmap");
        return false;
    }
    if (p->bitmap && sync == MIRROR_SYNC_MODE_NONE) {
        error_setg(errp, "sync mode 'none' does not produce meaningful "
                   "bitmap outputs");
        return false;
    }
    if (p->bitmap && p->has_bitmap_mode &&
        p->bitmap_mode == BITMAP_SYNC_MODE_NEVER &&
        sync != MIRROR_SYNC_MODE_BITMAP) {
        error_setg(errp, "Bitmap sync mode 'never' has no meaningful effect "
                   "when combined with sync mode '%s'", sync_names[sync]);
        return false;
    }
    if (!p->bitmap && p->has_bitmap_mode) {
        error_setg(errp, "Cannot specify bitmap sync mode without a bitmap");
        return false;
    }
    return true;
}

/* Freeze the user's bitmap; what it holds is what sync=bitmap copies. */
static bool backup_take_bitmap(BackupJob *s, BdrvDirtyBitmap *bm,
                               Error **errp)
{
    if (bdrv_dirty_bitmap_busy(bm)) {
        error_setg(errp, "Bitmap '%s' is currently in use by another "
                   "operation and cannot be used",
                   bdrv_dirty_bitmap_name(bm));
        return false;
    }
    if (!bdrv_dirty_bitmap_check_usable(bm, errp)) {
        return false;
    }
    s->successor = bdrv_dirty_bitmap_create(s->source, NULL,
                                            bdrv_dirty_bitmap_granularity(bm),
                                            bdrv_dirty_bitmap_size(bm), errp);
    if (!s->successor) {
        return false;
    }
    s->sync_bitmap = bm;
    s->sync_bitmap_was_enabled = bdrv_dirty_bitmap_enabled(bm);
    bdrv_dirty_bitmap_set_enabled(bm, false);
    bdrv_dirty_bitmap_set_busy(bm, true);
    if (s->sync == MIRROR_SYNC_MODE_BITMAP) {
        bdrv_dirty_bitmap_clear(s->copy_bitmap);
        bdrv_dirty_bitmap_merge(s->copy_bitmap, bm, NULL);
    }
    return true;
}

Job *coroutine_fn backup_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *target,
                               const BackupParams *p, Error **errp)
{
    BackupParams args = *p;
    BdrvDirtyBitmap *bm = NULL;
    BlockDriverInfo bdi = { 0 };
    int64_t len, target_len;
    BackupJob *s;
    QDict *opts;

    if (!backup_check_args(&args, errp)) {
        return NULL;
    }
    if (args.sync == MIRROR_SYNC_MODE_INCREMENTAL) {
        args.sync = MIRROR_SYNC_MODE_BITMAP;
        args.bitmap_mode = BITMAP_SYNC_MODE_ON_SUCCESS;
    }
    if (args.bitmap) {
        bm = bdrv_dirty_bitmap_find(bs, args.bitmap);
        if (!bm) {
            error_setg(errp, "Bitmap '%s' could not be found", args.bitmap);
            return NULL;
        }
    }
    if (bs == target) {
        error_setg(errp, "Source and target cannot be the same");
        return NULL;
    }
    if (p->compress && !(target->supported_write_flags &
                         BDRV_REQ_WRITE_COMPRESSED)) {
        /* 7.2 names the target's device, which a node has not */
        error_setg(errp, "Compression is not supported for this drive ");
        return NULL;
    }
    if (bdrv_op_is_blocked(bs, BLOCK_OP_TYPE_BACKUP_SOURCE, errp) ||
        bdrv_op_is_blocked(target, BLOCK_OP_TYPE_BACKUP_TARGET, errp)) {
        return NULL;
    }
    len = bdrv_co_getlength(bs);
    target_len = bdrv_co_getlength(target);
    if (len < 0 || target_len < 0) {
        error_setg_errno(errp, -(len < 0 ? len : target_len),
                         "Unable to get length for '%s'",
                         len < 0 ? bs->filename : target->filename);
        return NULL;
    }
    if (len != target_len) {
        error_setg(errp, "Source and target image have different sizes");
        return NULL;
    }
    if (common->filter_node_name &&
        !bdrv_check_node_name(common->filter_node_name, errp)) {
        return NULL;
    }
    s = job_create(common->job_id, &backup_job_driver, common->txn,
                   common->flags,
                   common->cb, common->opaque, errp);
    if (!s) {
        return NULL;
    }
    s->source = bdrv_ref(bs);
    job_block_node(&s->job, "target", target, 0, BLK_PERM_ALL, &error_abort);
    s->sync = args.sync;
    s->bitmap_mode = args.bitmap_mode;
    s->on_source_error = args.on_source_error;
    s->on_target_error = args.on_target_error;
    s->len = len;
    s->cluster = BACKUP_CLUSTER_MIN;
    if (bdrv_get_info(target, &bdi) == 0 && bdi.cluster_size > s->cluster) {
        s->cluster = bdi.cluster_size;
    }
    s->compress = p->compress;
    s->max_chunk = MAX(BACKUP_MAX_CHUNK, s->cluster);
    QTAILQ_INIT(&s->ops);
    s->free_bufs = g_ptr_array_new_with_free_func(backup_free_buf);
    /*
     * As 7.2's: writes shared, for the guest writes to the source that
     * may lie in the target's backing chain (fleecing); no resize, the
     * sizes were compared once.
     */
    s->target = blk_new_with_bs(bdrv_ref(target), BLK_PERM_WRITE,
                                BLK_PERM_ALL & ~BLK_PERM_RESIZE, errp);
    if (!s->target || !job_set_speed(&s->job, common->speed, errp)) {
        goto fail;
    }
    /* a drain waits for the job, so its own requests are never held */
    blk_set_disable_request_queuing(s->target, true);
    s->copy_bitmap = bdrv_dirty_bitmap_create(bs, NULL, s->cluster, len, errp);
    if (!s->copy_bitmap) {
        goto fail;
    }
    /* disabled: it changes only as clusters are copied */
    bdrv_dirty_bitmap_set_enabled(s->copy_bitmap, false);
    bdrv_dirty_bitmap_set_range(s->copy_bitmap, 0, len);
    if (bm && !backup_take_bitmap(s, bm, errp)) {
        goto fail;
    }
    opts = qdict_new();
    if (common->filter_node_name) {
        qdict_put_str(opts, "node-name", common->filter_node_name);
    }
    s->cbw = bdrv_co_open_driver(&bdrv_copy_before_write, bs->filename,
                                 bdrv_ref(bs), opts, bs->open_flags, errp);
    qobject_unref(opts);
    if (!s->cbw) {
        goto fail;
    }
    ((CbwState *)s->cbw->opaque)->job = s;
    job_block_node(&s->job, "main node", s->cbw, 0, BLK_PERM_ALL,
                   &error_abort);
    if (!bdrv_co_replace_node_drained(bs, s->cbw, errp)) {
        ((CbwState *)s->cbw->opaque)->job = NULL;
        goto fail;
    }
    if (!common->defer_start) {
        job_start(&s->job);
    }
    return &s->job;

fail:
    job_early_fail(&s->job);
    return NULL;
}
