/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy loop the block jobs share (block/job-copy.c): walk a disk in
 * chunks, ask the job what each range needs (copy, zero, skip), keep
 * @workers chunks in flight on an AioTaskPool with one buffer each, stop
 * at the job's pause points and speed limit, and apply the job's error
 * policy to a failed chunk: report fails the job, stop pauses it and
 * the chunk is tried again on resume, ignore tries it again at once (as
 * 7.2's stream and commit do).
 */
#ifndef BLOCK_JOB_COPY_H
#define BLOCK_JOB_COPY_H

#include "block/job.h"

typedef enum {
    JOB_COPY_SKIP,
    JOB_COPY_DATA,
    JOB_COPY_ZERO,
} JobCopyAction;

typedef struct JobCopy {
    Job *job;
    int workers;                /* chunks in flight */
    int64_t chunk;              /* bytes per chunk and buffer */
    size_t buf_align;           /* buffer alignment */
    BlockdevOnError on_source_error, on_target_error;
    /*
     * What [@offset, @offset + @bytes) needs, for *@pnum bytes (> 0,
     * at most @bytes): a JobCopyAction, or -errno (a source error).
     */
    int coroutine_fn (*status)(void *opaque, int64_t offset, int64_t bytes,
                               int64_t *pnum);
    /*
     * Copy the range (@zero: write zeroes; else through @buf of
     * chunk bytes).  0 or -errno; *@is_read: the source failed.
     */
    int coroutine_fn (*copy)(void *opaque, int64_t offset, int64_t bytes,
                             bool zero, uint8_t *buf, bool *is_read);
    void *opaque;
} JobCopy;

/*
 * Copy [0, @len).  Returns 0, -ECANCELED if the job was cancelled
 * meanwhile, or the -errno of a chunk whose error the policy reported.
 * Progress: the job's current grows as the walk passes each range.
 * Context: the job's coroutine.
 */
int coroutine_fn job_copy_run(JobCopy *c, int64_t len);

#endif
