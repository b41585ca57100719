/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stream job (block-stream, see include/block/blockjob.h), as 7.2's:
 * a copy-on-read filter goes above the top node (its users, the guest,
 * read through it: what they read from the chain above the base is
 * copied too), with the node above the base as its bottom.  The job
 * walks the disk; a range the top node does not allocate but a node of
 * its chain above the base does is read through the filter, which writes
 * it into the top node under a serialising request (block/io.c), so a
 * guest write to the same range either comes first and is kept, or
 * waits.  At the end, drained, the top node's backing link and the name
 * in its image go to the base, and the filter's users go back to the top
 * node.  A read-only top node is made writable for the job, and
 * read-only again after it.
 */
#include "util/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/job-copy.h"

/* 7.2 streams 512 KiB at a time; we keep several such chunks in flight */
#define STREAM_CHUNK (512 * 1024)
#define STREAM_WORKERS 4

typedef struct StreamJob {
    Job job;
    BlockBackend *blk;          /* on the filter */
    BlockDriverState *cor;      /* the copy-on-read filter above top */
    BlockDriverState *top, *base;
    char *backing_file;
    BlockdevOnError on_error;
    bool top_ro;                /* top was read-only: so again at the end */
} StreamJob;

static int coroutine_fn stream_status(void *opaque, int64_t offset,
                                      int64_t bytes, int64_t *pnum)
{
    StreamJob *s = opaque;
    BlockDriverState *below = bdrv_backing_bs(s->top);
    int ret;

    ret = bdrv_co_is_allocated(s->top, offset, bytes, pnum);
    if (ret < 0) {
        return ret;
    }
    if (ret > 0 || !below || below == s->base) {
        return JOB_COPY_SKIP;
    }
    ret = bdrv_co_block_status_above(below, s->base, false, false, offset,
                                     *pnum, pnum, NULL, NULL, NULL);
    if (ret < 0) {
        return ret;
    }
    return (ret & BDRV_BLOCK_ALLOCATED) ? JOB_COPY_DATA : JOB_COPY_SKIP;
}

static int coroutine_fn stream_copy(void *opaque, int64_t offset,
                                    int64_t bytes, bool zero, uint8_t *buf,
                                    bool *is_read)
{
    StreamJob *s = opaque;

    /* as 7.2: a failed copy-on-read is a read error */
    *is_read = true;
    return blk_co_pread(s->blk, offset, bytes, buf, 0);
}

static int coroutine_fn stream_run(Job *job, Error **errp)
{
    StreamJob *s = container_of(job, StreamJob, job);
    JobCopy c = {
        .job = job,
        .workers = STREAM_WORKERS,
        .chunk = STREAM_CHUNK,
        .buf_align = s->top->bl.opt_mem_alignment,
        .on_source_error = s->on_error,
        .on_target_error = s->on_error,
        .status = stream_status,
        .copy = stream_copy,
        .opaque = s,
    };
    int64_t len = blk_co_getlength(s->blk);

    if (len < 0) {
        return len;
    }
    job_progress_set_remaining(job, len);
    return job_copy_run(&c, len);
}

static int coroutine_fn stream_prepare(Job *job)
{
    StreamJob *s = container_of(job, StreamJob, job);
    BlockDriverState *top = s->top, *base = s->base;
    Error *err = NULL;
    int ret = 0;

    if (!top->backing || top->backing->bs == base) {
        return 0;
    }
    bdrv_co_drained_begin(top);
    if (base) {
        bdrv_ref(base);
    }
    bdrv_unref_child(top, top->backing);
    if (base && !bdrv_attach_child(top, base, "backing", BDRV_CHILD_COW,
                                   &err)) {
        ret = -EPERM;
    }
    if (ret == 0) {
        ret = bdrv_co_change_backing_file(
            top, base ? (s->backing_file ? s->backing_file : base->filename) :
                        NULL,
            base ? bdrv_get_format_name(base) : NULL, false);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "Could not update the backing file "
                             "of '%s'", top->filename);
        }
    }
    bdrv_drained_end(top);
    if (err) {
        error_propagate(&job->err, err);
    }
    return ret;
}

/* The nodes go before the job's callback hears it ended (see mirror.c). */
static void stream_release(StreamJob *s)
{
    blk_unref(s->blk);
    s->blk = NULL;
    if (s->cor) {
        g_clear_pointer(&s->cor, bdrv_unref);
    }
    if (s->base) {
        bdrv_unref(s->base);
        s->base = NULL;
    }
}

/* The filter's users back on the top node; the job's reader first. */
static void coroutine_fn stream_drop_filter(StreamJob *s)
{
    blk_unref(s->blk);
    s->blk = NULL;
    if (s->cor) {
        bdrv_co_replace_node_drained(s->cor, s->top, &error_abort);
        g_clear_pointer(&s->cor, bdrv_unref);
    }
}

static void coroutine_fn stream_clean(Job *job)
{
    StreamJob *s = container_of(job, StreamJob, job);

    stream_drop_filter(s);
    if (s->top_ro && !s->top->read_only) {
        bdrv_co_make_read_only(s->top, NULL);
    }
    stream_release(s);
}

static void stream_free(Job *job)
{
    StreamJob *s = container_of(job, StreamJob, job);

    stream_release(s);
    g_free(s->backing_file);
}

static const JobDriver stream_job_driver = {
    .instance_size = sizeof(StreamJob),
    .job_type = JOB_TYPE_STREAM,
    .block_job = true,
    .run = stream_run,
    .prepare = stream_prepare,
    .clean = stream_clean,
    .free = stream_free,
};

/* Whether @base is in the backing chain strictly below @bs. */
static bool in_backing_chain(BlockDriverState *bs, BlockDriverState *base)
{
    for (bs = bdrv_backing_bs(bs); bs; bs = bdrv_backing_bs(bs)) {
        if (bs == base) {
            return true;
        }
    }
    return false;
}

/*
 * The copy-on-read filter above @bs, named @name (NULL: generated), its
 * bottom the node above @base (the whole chain without one): every user
 * of @bs moves to it.
 */
static BlockDriverState *coroutine_fn stream_insert_filter(
    BlockDriverState *bs, BlockDriverState *base, const char *name,
    Error **errp)
{
    BlockDriverState *bottom = bs, *cor;
    g_autofree char *filename = bdrv_filter_json_name(&bdrv_copy_on_read, bs);
    QDict *opts = qdict_new();

    while (bdrv_backing_bs(bottom) && bdrv_backing_bs(bottom) != base) {
        bottom = bdrv_backing_bs(bottom);
    }
    qdict_put_str(opts, "bottom", bottom->node_name);
    if (name) {
        qdict_put_str(opts, "node-name", name);
    }
    cor = bdrv_co_open_driver(&bdrv_copy_on_read, filename, bdrv_ref(bs),
                              opts, BDRV_O_RDWR, errp);
    qobject_unref(opts);
    if (!cor) {
        return NULL;
    }
    if (!bdrv_co_replace_node_drained(bs, cor, errp)) {
        bdrv_unref(cor);
        return NULL;
    }
    return cor;
}

Job *coroutine_fn stream_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *base,
                               const char *backing_file,
                               BlockdevOnError on_error, Error **errp)
{
    BlockDriverState *it;
    StreamJob *s;

    if (base && !in_backing_chain(bs, base)) {
        error_setg(errp, "Node '%s' is not a backing image of '%s'",
                   base->filename, bs->filename);
        return NULL;
    }
    if (backing_file && !base) {
        error_setg(errp, "backing file specified, but streaming the "
                   "entire chain");
        return NULL;
    }
    s = job_create(common->job_id, &stream_job_driver, NULL, common->flags,
                   common->cb, common->opaque, errp);
    if (!s) {
        return NULL;
    }
    s->top = bs;
    s->base = base ? bdrv_ref(base) : NULL;
    s->backing_file = g_strdup(backing_file);
    s->on_error = on_error;
    /* a read-only top is written: writable in place, as 7.2 reopens it */
    if (bs->read_only) {
        bdrv_co_drained_begin(bs);
        s->top_ro = bdrv_co_make_writable(bs, errp);
        bdrv_drained_end(bs);
        if (!s->top_ro) {
            job_early_fail(&s->job);
            return NULL;
        }
    }
    s->cor = stream_insert_filter(bs, base, common->filter_node_name, errp);
    if (!s->cor) {
        goto fail;
    }
    /*
     * As 7.2's: the filter; the node written (nobody resizes it); those
     * that leave its chain (nobody writes them).
     */
    if (!job_block_node(&s->job, "main node", s->cor, 0, BLK_PERM_ALL,
                        errp) ||
        !job_block_node(&s->job, "active node", bs, 0,
                        BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED |
                        BLK_PERM_WRITE, errp)) {
        goto fail;
    }
    for (it = bdrv_backing_bs(bs); it && it != base; it = bdrv_backing_bs(it)) {
        if (!job_block_node(&s->job, "intermediate node", it, 0,
                            BLK_PERM_CONSISTENT_READ |
                            BLK_PERM_WRITE_UNCHANGED, errp)) {
            goto fail;
        }
    }
    s->blk = blk_new_with_bs(bdrv_ref(s->cor), BLK_PERM_CONSISTENT_READ,
                             BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE,
                             errp);
    if (!s->blk || !job_set_speed(&s->job, common->speed, errp)) {
        goto fail;
    }
    /* a drain waits for the job, so its own requests are never held */
    blk_set_disable_request_queuing(s->blk, true);
    job_start(&s->job);
    return &s->job;

fail:
    job_unblock_nodes(&s->job);
    stream_drop_filter(s);
    if (s->top_ro) {
        bdrv_co_make_read_only(bs, NULL);
    }
    job_early_fail(&s->job);
    return NULL;
}
