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

#endif
