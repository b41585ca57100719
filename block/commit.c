/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commit job for an intermediate node (block-commit with a top that
 * is not the active layer), as 7.2's: what the chain from @top down to
 * (not including) @base allocates is copied into @base, data as data and
 * zeroes as zero writes, several chunks in flight (block/job-copy.c).
 * Nobody writes to @top meanwhile (the guest writes above it), so a
 * range copied stays right.  At the end, drained, the node above @top
 * takes @base as its backing file, in the graph and in its image, and
 * the nodes between leave the graph.  The active layer's commit is a
 * mirror (block/mirror.c).
 */
#include "util/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/job-copy.h"

#define COMMIT_CHUNK (512 * 1024)
#define COMMIT_WORKERS 4

typedef struct CommitJob {
    Job job;
    BlockDriverState *overlay, *top, *base;
    BlockDriverState *commit_top;   /* the filter between overlay and top */
    BlockBackend *src, *dst;
    char *backing_file;
    BlockdevOnError on_error;
    bool base_ro;               /* was read-only: so again at the end */
} CommitJob;

/* ---- the commit_top filter ---- */

/*
 * Above @top while the job runs, as 7.2's: its users (the overlay's
 * backing link, whoever used @top) read through it, and it takes nothing
 * on @top, so the job may unshare consistent read on the nodes that stop
 * being consistent (what the base holds changes under them) without
 * shutting out the overlay.  Its child is its "backing" link, so the
 * chain walks on through it.
 */
static bool coroutine_fn commit_top_co_open(BlockDriverState *bs,
                                            QDict *options, int flags,
                                            Error **errp)
{
    return true;
}

static int coroutine_fn commit_top_co_preadv(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             QEMUIOVector *qiov,
                                             BdrvRequestFlags flags)
{
    return bdrv_co_preadv(bs->backing, offset, bytes, qiov, flags);
}

static int coroutine_fn commit_top_co_block_status(BlockDriverState *bs,
                                                   bool want_zero,
                                                   int64_t offset,
                                                   int64_t bytes,
                                                   int64_t *pnum,
                                                   int64_t *map,
                                                   BlockDriverState **file)
{
    *pnum = bytes;
    *map = offset;
    *file = bs->backing->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn commit_top_co_getlength(BlockDriverState *bs)
{
    return bs->backing ? bdrv_co_getlength(bs->backing->bs) : 0;
}

static void commit_top_child_perm(BlockDriverState *bs, BdrvChild *c,
                                  uint64_t perm, uint64_t shared,
                                  uint64_t *nperm, uint64_t *nshared)
{
    *nperm = 0;
    *nshared = BLK_PERM_ALL;
}

static const BlockDriver bdrv_commit_top = {
    .format_name = "commit_top",
    .is_filter = true,
    .co_open = commit_top_co_open,
    .co_preadv = commit_top_co_preadv,
    .co_block_status = commit_top_co_block_status,
    .co_getlength = commit_top_co_getlength,
    .child_perm = commit_top_child_perm,
};

/* The filter, named @name (NULL: a generated name), put above @top. */
static BlockDriverState *coroutine_fn commit_top_insert(BlockDriverState *top,
                                                        const char *name,
                                                        Error **errp)
{
    QDict *opts = qdict_new();
    BlockDriverState *ct;

    if (name) {
        qdict_put_str(opts, "node-name", name);
    }
    ct = bdrv_co_open_driver(&bdrv_commit_top, top->filename, NULL, opts, 0,
                             errp);
    qobject_unref(opts);
    if (!ct) {
        return NULL;
    }
    if (!bdrv_attach_child(ct, bdrv_ref(top), "backing",
                           BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, errp)) {
        bdrv_unref(ct);
        return NULL;
    }
    bdrv_co_refresh_total_bytes(ct);
    if (!bdrv_co_replace_node_drained(top, ct, errp)) {
        bdrv_unref(ct);
        return NULL;
    }
    return ct;
}

/*
 * The filter's users back on the node below it.  The job's writer and
 * links go first: they unshare consistent read on @top, which the
 * overlay's backing link takes (as 7.2's commit_abort).
 */
static void coroutine_fn commit_top_remove(CommitJob *s)
{
    blk_unref(s->dst);
    s->dst = NULL;
    job_unblock_nodes(&s->job);
    bdrv_co_replace_node_drained(s->commit_top,
                                 bdrv_backing_bs(s->commit_top),
                                 &error_abort);
}

static int coroutine_fn commit_status(void *opaque, int64_t offset,
                                      int64_t bytes, int64_t *pnum)
{
    CommitJob *s = opaque;
    int ret = bdrv_co_block_status_above(s->top, s->base, false, true, offset,
                                         bytes, pnum, NULL, NULL, NULL);

    if (ret < 0) {
        return ret;
    }
    if (!(ret & BDRV_BLOCK_ALLOCATED)) {
        return JOB_COPY_SKIP;
    }
    return (ret & BDRV_BLOCK_ZERO) ? JOB_COPY_ZERO : JOB_COPY_DATA;
}

static int coroutine_fn commit_copy(void *opaque, int64_t offset,
                                    int64_t bytes, bool zero, uint8_t *buf,
                                    bool *is_read)
{
    CommitJob *s = opaque;
    int ret;

    *is_read = false;
    if (zero) {
        return blk_co_pwrite_zeroes(s->dst, offset, bytes, BDRV_REQ_MAY_UNMAP);
    }
    *is_read = true;
    ret = blk_co_pread(s->src, offset, bytes, buf, 0);
    if (ret < 0) {
        return ret;
    }
    *is_read = false;
    return blk_co_pwrite(s->dst, offset, bytes, buf, 0);
}

static int coroutine_fn commit_run(Job *job, Error **errp)
{
    CommitJob *s = container_of(job, CommitJob, job);
    JobCopy c = {
        .job = job,
        .workers = COMMIT_WORKERS,
        .chunk = COMMIT_CHUNK,
        .buf_align = s->top->bl.opt_mem_alignment,
        .on_source_error = s->on_error,
        .on_target_error = s->on_error,
        .status = commit_status,
        .copy = commit_copy,
        .opaque = s,
    };
    int64_t len = blk_co_getlength(s->src);
    int64_t base_len = blk_co_getlength(s->dst);
    int ret;

    if (len < 0 || base_len < 0) {
        return len < 0 ? len : base_len;
    }
    job_progress_set_remaining(job, len);
    if (base_len < len) {
        ret = blk_co_truncate(s->dst, len, false, PREALLOC_MODE_OFF, 0, NULL);
        if (ret < 0) {
            return ret;
        }
    }
    ret = job_copy_run(&c, len);
    return ret ? ret : blk_co_flush(s->dst);
}

/*
 * Done: drained, every user of the filter (the overlay's backing link,
 * whoever used @top) goes to the base, as 7.2's bdrv_drop_intermediate(),
 * and the overlay's image names the base as its backing file.
 */
static int coroutine_fn commit_prepare(Job *job)
{
    CommitJob *s = container_of(job, CommitJob, job);
    BlockDriverState *overlay = s->overlay, *base = s->base;
    Error *err = NULL;
    int ret = 0;

    blk_unref(s->src);
    s->src = NULL;
    bdrv_co_drained_begin(overlay);
    if (!bdrv_replace_node(s->commit_top, base, &err)) {
        ret = -EPERM;
    } else {
        ret = bdrv_co_change_backing_file(
            overlay, s->backing_file ? s->backing_file : base->filename,
            bdrv_get_format_name(base), false);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "Could not update the backing file "
                             "of '%s'", overlay->filename);
        }
    }
    bdrv_drained_end(overlay);
    if (err) {
        error_propagate(&job->err, err);
    }
    return ret;
}

/* Cancelled or failed: the filter goes, its users back on @top. */
static void coroutine_fn commit_abort(Job *job)
{
    CommitJob *s = container_of(job, CommitJob, job);

    if (s->commit_top && !QTAILQ_EMPTY(&s->commit_top->parents)) {
        commit_top_remove(s);
    }
}

/* The nodes go before the job's callback hears it ended (see mirror.c). */
static void commit_release(CommitJob *s)
{
    blk_unref(s->src);
    s->src = NULL;
    blk_unref(s->dst);
    s->dst = NULL;
    bdrv_unref(s->commit_top);
    s->commit_top = NULL;
    bdrv_unref(s->overlay);
    s->overlay = NULL;
    bdrv_unref(s->top);
    s->top = NULL;
    bdrv_unref(s->base);
    s->base = NULL;
}

static void coroutine_fn commit_clean(Job *job)
{
    CommitJob *s = container_of(job, CommitJob, job);

    /* its writer gone first, as 7.2 reopens it read-only in clean */
    blk_unref(s->dst);
    s->dst = NULL;
    if (s->base_ro && s->base && !s->base->read_only) {
        bdrv_co_make_read_only(s->base, NULL);
    }
    commit_release(s);
}

static void commit_free(Job *job)
{
    CommitJob *s = container_of(job, CommitJob, job);

    commit_release(s);
    g_free(s->backing_file);
}

static const JobDriver commit_job_driver = {
    .instance_size = sizeof(CommitJob),
    .job_type = JOB_TYPE_COMMIT,
    .block_job = true,
    .run = commit_run,
    .prepare = commit_prepare,
    .abort = commit_abort,
    .clean = commit_clean,
    .free = commit_free,
};

Job *coroutine_fn commit_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *top,
                               BlockDriverState *base,
                               const char *backing_file,
                               BlockdevOnError on_error, Error **errp)
{
    BlockDriverState *overlay = bdrv_find_overlay(bs, top);
    BlockDriverState *above_base = bdrv_find_overlay(top, base);
    BlockDriverState *it;
    int64_t base_len, top_len;
    CommitJob *s;

    if (top == base) {
        error_setg(errp, "Invalid files for merge: top and base are the same");
        return NULL;
    }
    if (!overlay || top == bs) {
        error_setg(errp, "Top image '%s' is the active layer or not in the "
                   "backing chain of '%s'", top->filename, bs->filename);
        return NULL;
    }
    if (!above_base) {
        error_setg(errp, "'%s' is not in the backing chain of '%s'",
                   base->filename, top->filename);
        return NULL;
    }
    s = job_create(common->job_id, &commit_job_driver, NULL, common->flags,
                   common->cb, common->opaque, errp);
    if (!s) {
        return NULL;
    }
    base = bdrv_co_reopen_backing_rw(above_base, &s->base_ro, errp);
    if (!base) {
        job_early_fail(&s->job);
        return NULL;
    }
    s->overlay = bdrv_ref(overlay);
    s->top = bdrv_ref(top);
    s->base = bdrv_ref(base);
    s->backing_file = g_strdup(backing_file);
    s->on_error = on_error;
    s->commit_top = commit_top_insert(top, common->filter_node_name, errp);
    if (!s->commit_top) {
        goto fail;
    }
    /*
     * As 7.2's: the active layer; the nodes that leave the chain, whose
     * data stops being consistent once the base changes under them; the
     * base, written only by us.  The job's own reads of @top take nothing
     * more (its link does).
     */
    if (!job_block_node(&s->job, "main node", bs, 0, BLK_PERM_ALL, errp)) {
        goto fail;
    }
    for (it = top; it && it != base; it = bdrv_filter_or_cow_bs(it)) {
        if (!job_block_node(&s->job, "intermediate node", it, 0,
                            BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE,
                            errp)) {
            goto fail;
        }
    }
    if (!job_block_node(&s->job, "base", base, 0, BLK_PERM_ALL, errp)) {
        goto fail;
    }
    s->src = blk_new_with_bs(bdrv_ref(top), 0, BLK_PERM_ALL, errp);
    if (!s->src) {
        goto fail;
    }
    base_len = bdrv_co_getlength(base);
    top_len = bdrv_co_getlength(top);
    s->dst = blk_new_with_bs(bdrv_ref(base), BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE |
                             (base_len < top_len ? BLK_PERM_RESIZE : 0),
                             BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED, errp);
    if (!s->dst || !job_set_speed(&s->job, common->speed, errp)) {
        goto fail;
    }
    /* a drain waits for the job, so its own requests are never held */
    blk_set_disable_request_queuing(s->src, true);
    blk_set_disable_request_queuing(s->dst, true);
    job_start(&s->job);
    return &s->job;

fail:
    if (s->commit_top) {
        commit_top_remove(s);
    }
    if (s->base_ro) {
        bdrv_co_make_read_only(base, NULL);
    }
    job_early_fail(&s->job);
    return NULL;
}
