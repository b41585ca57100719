/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block jobs, started on nodes of a graph an embedder (or the
 * storage daemon) holds open.  Each returns the started job (see
 * block/job.h for its control and events), or NULL with @errp set.
 * Context: coroutine, main loop.
 */
#ifndef BLOCK_BLOCKJOB_H
#define BLOCK_BLOCKJOB_H

#include "block/block.h"
#include "block/job.h"

/* What every block job is started with. */
typedef struct BlockJobCommon {
    const char *job_id;         /* NULL only with JOB_INTERNAL */
    int flags;                  /* JOB_* of job_create() */
    int64_t speed;              /* bytes per second, 0: no limit */
    void (*cb)(void *opaque, int ret);  /* when finalized; may be NULL */
    void *opaque;
    JobTxn *txn;                /* join it (NULL: a transaction alone) */
    /* the node name of the job's filter (mirror, backup), or NULL */
    const char *filter_node_name;
    /*
     * backup_start() only: the job is created but not started; the
     * caller starts it with job_start() or drops it with job_cancel_sync()
     * (a transaction's commit or abort).
     */
    bool defer_start;
} BlockJobCommon;

/*
 * block-stream: copy into @bs what its backing chain above @base holds
 * (all of it with @base NULL), then make @base its backing file, recorded
 * in the image as @backing_file (NULL: @base's file name) with @base's
 * format.  @bs must be writable; the copy is copy-on-read, so a guest
 * writing to @bs meanwhile never has its data overwritten.
 */
Job *coroutine_fn stream_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *base,
                               const char *backing_file,
                               BlockdevOnError on_error, Error **errp);

/*
 * block-commit of an intermediate node: copy what the chain from @top
 * down to (not including) @base allocates into @base (made writable,
 * grown to @top's size), then the node above @top in @bs's chain takes
 * @base as its backing file, recorded as @backing_file (NULL: @base's
 * file name).  @top must not be @bs (that is commit_active_start()).
 */
Job *coroutine_fn commit_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *top,
                               BlockDriverState *base,
                               const char *backing_file,
                               BlockdevOnError on_error, Error **errp);

/* 7.2's MirrorSyncMode (the first three: mirror takes no bitmap) */
typedef enum MirrorSyncMode {
    MIRROR_SYNC_MODE_TOP, MIRROR_SYNC_MODE_FULL, MIRROR_SYNC_MODE_NONE,
    MIRROR_SYNC_MODE_INCREMENTAL, MIRROR_SYNC_MODE_BITMAP,
} MirrorSyncMode;

/* 7.2's MirrorCopyMode */
typedef enum MirrorCopyMode {
    MIRROR_COPY_MODE_BACKGROUND,
    /* a guest write completes once it is on both sides (active mirror) */
    MIRROR_COPY_MODE_WRITE_BLOCKING,
} MirrorCopyMode;

typedef struct MirrorParams {
    MirrorSyncMode sync;        /* full: all; top: what @bs allocates; none */
    MirrorCopyMode copy_mode;
    int64_t granularity;        /* 0: the target's cluster size, 4-64 KiB */
    int64_t buf_size;           /* 0: 16 MiB in flight at most */
    BlockdevOnError on_source_error, on_target_error;
    bool unmap;                 /* zero ranges may be unmapped */
    /*
     * The node the pivot replaces by the target (NULL: the source): the
     * source or a node below it through filters, of the same size.
     */
    BlockDriverState *replaces;
} MirrorParams;

/*
 * blockdev-mirror: copy @bs to @target (same size) and keep copying what
 * is written to @bs; READY once in sync.  job_complete() moves the users
 * of @bs to @target (the pivot); a soft cancel when READY leaves them on
 * @bs with @target in sync.  @target's backing chain is left as it is.
 */
Job *coroutine_fn mirror_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *target,
                               const MirrorParams *p, Error **errp);
/*
 * block-commit of the active layer: a mirror of @bs into @base (a node
 * of its backing chain, writable) of what lies above @base; @base grows
 * to @bs's size first.  On complete the users of @bs use @base, and the
 * nodes above @base leave the graph unless someone holds them.
 */
Job *coroutine_fn commit_active_start(const BlockJobCommon *common,
                                      BlockDriverState *bs,
                                      BlockDriverState *base,
                                      BlockdevOnError on_error, Error **errp);

/* 7.2's BitmapSyncMode: what becomes of a backup's bitmap */
typedef enum BitmapSyncMode {
    BITMAP_SYNC_MODE_ON_SUCCESS, BITMAP_SYNC_MODE_NEVER,
    BITMAP_SYNC_MODE_ALWAYS,
} BitmapSyncMode;

typedef struct BackupParams {
    MirrorSyncMode sync;        /* full, top, none, bitmap, incremental */
    const char *bitmap;         /* a bitmap of the source, or NULL */
    bool has_bitmap_mode;
    BitmapSyncMode bitmap_mode;
    BlockdevOnError on_source_error, on_target_error;
    bool compress;              /* written compressed (qcow2 targets) */
} BackupParams;

/*
 * blockdev-backup: make @target (same size) the point-in-time copy of
 * @bs at the start, while the guest goes on writing to @bs (a
 * copy-before-write filter goes above @bs meanwhile).  sync=none copies
 * only what is about to be overwritten and runs until cancelled
 * (fleecing: @target an overlay of @bs).  A bitmap is frozen while the
 * job runs; at the end it holds, as bitmap_mode says, the writes since
 * the start (on-success after success; always) or also what it held.
 */
Job *coroutine_fn backup_start(const BlockJobCommon *common,
                               BlockDriverState *bs, BlockDriverState *target,
                               const BackupParams *p, Error **errp);

#endif
