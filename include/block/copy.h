/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy engine behind qemu-img convert (and later the block jobs):
 * copies one or more sources, concatenated, into a target, driven by
 * block status as it goes (never a list of the whole image), with
 * @workers chunks in flight on an AioTaskPool, zero detection, and
 * in-order writes unless told otherwise.  Memory: @workers buffers of
 * @buf_size bytes, whatever the image size.  It never prints.
 */
#ifndef BLOCK_COPY_H
#define BLOCK_COPY_H

#include "block/block-backend.h"

typedef struct CopyParams {
    BlockBackend **src;         /* sources, concatenated in this order */
    int nsrc;
    BlockBackend *target;
    int workers;                /* chunks in flight, >= 1 */
    bool in_order;              /* writes in offset order (not -W) */
    /*
     * in_order, and the target sees requests in the order they are issued
     * (bdrv_issues_in_order()): a write passes the turn once issued, so
     * several are in flight, still issued in offset order.
     */
    bool issue_ordered;
    int64_t buf_size;           /* bytes per chunk and per buffer */
    /*
     * Zero detection granularity in bytes (-S); 0: write every byte,
     * zero runs included, so the target ends fully allocated.
     */
    int64_t min_sparse;
    bool target_zeroed;         /* the target already reads as zeroes */
    /*
     * The target has a backing file (-B): only what the sources' top
     * layers allocate is copied, the rest stays unallocated and reads
     * through.  @target_backing_len: the backing file's length when the
     * target is new (zero runs past it need no write), else -1.
     */
    bool target_has_backing;
    int64_t target_backing_len;
    /*
     * Compressed target (-c): chunks are exactly @compress_cluster bytes,
     * cluster-aligned, written with BDRV_REQ_WRITE_COMPRESSED; 0: off.
     */
    int64_t compress_cluster;
    /*
     * Commit: only what the source's layers above @src_base allocate is
     * copied (data as data, zeroes as zero writes); what they leave to
     * @src_base is skipped.  NULL: the whole chain counts.
     */
    BlockDriverState *src_base;
    int64_t rate_limit;         /* bytes per second written, 0: none */
    /*
     * -C: copy data chunks by offload (copy_file_range) where both ends
     * are files; chunks it cannot take are read and written as usual.
     */
    bool copy_range;
    /*
     * --salvage: a failed read is retried 512 bytes at a time; what still
     * fails reads as zeroes and is reported here (target offset, -errno)
     * instead of stopping the copy.  NULL: the first failed read stops it.
     */
    void (*salvage)(void *opaque, int64_t offset, int ret);
    /*
     * --salvage, for block status: a failed query is retried on a quarter
     * of the range down to 512 bytes; such a sector is reported here
     * (source offset, -errno) and read as data.  Used with @salvage.
     */
    void (*salvage_status)(void *opaque, int64_t offset, int ret);
    /*
     * Called after each chunk; may be NULL.  By default with the chunk's
     * @bytes and the @total of the sources.  With progress_allocated (as
     * 7.2's convert counts): only after chunks that carry data (and zero
     * chunks when min_sparse is 0), with the bytes of such chunks done so
     * far and their total, found by a block-status pass before the copy.
     */
    void (*progress)(void *opaque, int64_t bytes, int64_t total);
    bool progress_allocated;
    void *progress_opaque;
} CopyParams;

typedef struct CopyResult {
    int ret;                    /* 0 or the first -errno */
    bool write_failed;          /* the first error was a write */
    bool status_failed;         /* ... or a block status query */
    int64_t error_offset;       /* where, in target bytes */
} CopyResult;

/* Total bytes of the concatenated sources, or -errno.  Context: coroutine. */
int64_t coroutine_fn copy_co_total_size(const CopyParams *p);

/*
 * Run the copy; fills @res.  The first failing read or write stops it:
 * no new chunk starts, chunks in flight finish, and @res names the error.
 * Context: coroutine.
 */
void coroutine_fn copy_co_run(const CopyParams *p, CopyResult *res);

#endif /* BLOCK_COPY_H */
