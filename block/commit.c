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
    BlockBackend *src, *dst;
    char *backing_file;
    BlockdevOnError on_error;
} CommitJob;

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

static int coroutine_fn commit_prepare(Job *job)
{
    CommitJob *s = container_of(job, CommitJob, job);
    BlockDriverState *overlay = s->overlay, *base = s->base;
    Error *err = NULL;
    int ret = 0;

    blk_unref(s->src);
    s->src = NULL;
    bdrv_co_drained_begin(overlay);
    bdrv_ref(base);
    bdrv_unref_child(overlay, overlay->backing);
    if (!bdrv_attach_child(overlay, base, "backing", BDRV_CHILD_COW, &err)) {
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

/* The nodes go before the job's callback hears it ended (see mirror.c). */
static void commit_release(CommitJob *s)
{
    blk_unref(s->src);
    s->src = NULL;
    blk_unref(s->dst);
    s->dst = NULL;
    bdrv_unref(s->overlay);
    s->overlay = NULL;
    bdrv_unref(s->top);
    s->top = NULL;
    bdrv_unref(s->base);
    s->base = NULL;
}

static void coroutine_fn commit_clean(Job *job)
{
    commit_release(container_of(job, CommitJob, job));
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
    base = bdrv_co_reopen_backing_rw(above_base, errp);
    if (!base) {
        job_early_fail(&s->job);
        return NULL;
    }
    /* the active layer, what goes away and the base */
    job_block_node(&s->job, "main node", bs, 0, BLK_PERM_ALL, &error_abort);
    for (it = top; it && it != base; it = bdrv_backing_bs(it)) {
        job_block_node(&s->job, "intermediate node", it, 0, BLK_PERM_ALL,
                       &error_abort);
    }
    job_block_node(&s->job, "base", base, 0, BLK_PERM_ALL, &error_abort);
    s->overlay = bdrv_ref(overlay);
    s->top = bdrv_ref(top);
    s->base = bdrv_ref(base);
    s->backing_file = g_strdup(backing_file);
    s->on_error = on_error;
    s->src = blk_new_with_bs(bdrv_ref(top), BLK_PERM_CONSISTENT_READ,
                             BLK_PERM_ALL, errp);
    s->dst = s->src ? blk_new_with_bs(bdrv_ref(base), BLK_PERM_CONSISTENT_READ |
                                      BLK_PERM_WRITE | BLK_PERM_RESIZE,
                                      BLK_PERM_ALL, errp) : NULL;
    if (!s->dst || !job_set_speed(&s->job, common->speed, errp)) {
        job_early_fail(&s->job);
        return NULL;
    }
    /* a drain waits for the job, so its own requests are never held */
    blk_set_disable_request_queuing(s->src, true);
    blk_set_disable_request_queuing(s->dst, true);
    job_start(&s->job);
    return &s->job;
}
