/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 read path: a request split at host extents into parallel tasks
 * (data, compressed clusters, zeroes, the backing file), and block status
 * for map, convert and the block layer's allocation queries.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "block/aio-task.h"

/* Read one compressed cluster's bytes [@offset_in_cluster, +@bytes). */
static int coroutine_fn read_compressed(BlockDriverState *bs,
                                        uint64_t l2_entry,
                                        int64_t offset_in_cluster,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t coffset;
    int csize, ret;
    uint8_t *in, *out, *direct;

    qcow2_parse_compressed_l2_entry(bs, l2_entry, &coffset, &csize);
    in = g_try_malloc(csize);
    if (!in) {
        return -ENOMEM;
    }
    /* a whole cluster into one buffer (convert's case): decompress there */
    direct = bytes == s->cluster_size ?
             qemu_iovec_contiguous(qiov, qiov_offset, bytes) : NULL;
    out = direct ? direct : blk_buf_alloc(bs, s->cluster_size);
    ret = bdrv_co_pread(bs->file, coffset, csize, in, 0);
    if (ret == 0) {
        ret = qcow2_co_decompress(bs, out, s->cluster_size, in, csize);
        if (ret < 0) {
            ret = -EIO;
        }
    }
    if (ret == 0 && !direct) {
        qemu_iovec_from_buf(qiov, qiov_offset, out + offset_in_cluster,
                            bytes);
    }
    g_free(in);
    if (!direct) {
        blk_buf_free(out);
    }
    return ret;
}

/* Read one extent of a single type. */
static int coroutine_fn qcow2_co_read_extent(BlockDriverState *bs,
                                             QCow2SubclusterType type,
                                             uint64_t host, int64_t offset,
                                             int64_t bytes, QEMUIOVector *qiov,
                                             size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUIOVector slice;
    int ret = 0;

    switch (type) {
    case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
    case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
        if (bs->backing) {
            BLKDBG_EVENT(bs->file, BLKDBG_READ_BACKING_AIO);
            qemu_iovec_init_slice(&slice, qiov, qiov_offset, bytes);
            ret = bdrv_co_preadv(bs->backing, offset, bytes, &slice, 0);
            qemu_iovec_destroy(&slice);
            break;
        }
        /* no backing file: reads as zeroes */
        __attribute__((fallthrough));
    case QCOW2_SUBCLUSTER_ZERO_PLAIN:
    case QCOW2_SUBCLUSTER_ZERO_ALLOC:
        qemu_iovec_memset(qiov, qiov_offset, 0, bytes);
        break;
    case QCOW2_SUBCLUSTER_COMPRESSED:
        BLKDBG_EVENT(bs->file, BLKDBG_READ_COMPRESSED);
        ret = read_compressed(bs, host, offset_into_cluster(s, offset), bytes,
                              qiov, qiov_offset);
        break;
    case QCOW2_SUBCLUSTER_NORMAL:
        BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
        qemu_iovec_init_slice(&slice, qiov, qiov_offset, bytes);
        ret = bdrv_co_preadv(s->data_file, host, bytes, &slice, 0);
        qemu_iovec_destroy(&slice);
        break;
    default:
        g_assert_not_reached();
    }
    return ret;
}

typedef struct Qcow2ReadTask {
    AioTask task;           /* first: the pool frees this struct */
    BlockDriverState *bs;
    QCow2SubclusterType type;
    uint64_t host;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    size_t qiov_offset;
} Qcow2ReadTask;

static int coroutine_fn qcow2_read_task_func(AioTask *task)
{
    Qcow2ReadTask *t = container_of(task, Qcow2ReadTask, task);

    return qcow2_co_read_extent(t->bs, t->type, t->host, t->offset, t->bytes,
                                t->qiov, t->qiov_offset);
}

/*
 * A request that maps to one extent is read directly; one that fragments
 * (several host extents, or a mix of data, zero, compressed and backing
 * clusters) becomes one task per extent, up to max_workers in flight, so
 * that discontiguous reads overlap and compressed clusters decompress on
 * several cores.  After an error no new task starts.
 */
int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    AioTaskPool *pool = NULL;
    size_t qiov_offset = 0;
    int ret = 0;

    while (bytes > 0 && aio_task_pool_status(pool) == 0) {
        int64_t cur = bytes;
        uint64_t host;
        QCow2SubclusterType type;
        Qcow2ReadTask *t;

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, offset, &cur, &host, &type);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            break;
        }
        if (!pool && cur == bytes) {
            /* a single extent: no pool needed */
            ret = qcow2_co_read_extent(bs, type, host, offset, cur, qiov,
                                       qiov_offset);
            break;
        }
        if (!pool) {
            pool = aio_task_pool_new(s->max_workers);
        }
        t = g_new(Qcow2ReadTask, 1);
        *t = (Qcow2ReadTask) {
            .task.func = qcow2_read_task_func,
            .bs = bs,
            .type = type,
            .host = host,
            .offset = offset,
            .bytes = cur,
            .qiov = qiov,
            .qiov_offset = qiov_offset,
        };
        aio_task_pool_start_task(pool, &t->task);
        offset += cur;
        bytes -= cur;
        qiov_offset += cur;
    }
    return aio_task_pool_finish(pool, ret);
}

int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                       bool want_zero, int64_t offset,
                                       int64_t count, int64_t *pnum,
                                       int64_t *map,
                                       BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t bytes = MIN(count, INT_MAX);
    uint64_t host = 0;
    QCow2SubclusterType type;
    int status = 0, ret;

    qemu_co_mutex_lock(&s->lock);
    if (!s->metadata_preallocation_checked) {
        s->metadata_preallocation =
            qcow2_detect_metadata_preallocation(bs) == 1;
        s->metadata_preallocation_checked = true;
    }
    ret = qcow2_get_host_offset(bs, offset, &bytes, &host, &type);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = bytes;
    if (type == QCOW2_SUBCLUSTER_NORMAL ||
        type == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
        type == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        *map = host;
        *file = s->data_file->bs;
        status |= BDRV_BLOCK_OFFSET_VALID;
    }
    if (type == QCOW2_SUBCLUSTER_ZERO_PLAIN ||
        type == QCOW2_SUBCLUSTER_ZERO_ALLOC) {
        status |= BDRV_BLOCK_ZERO;
    } else if (type != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
               type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        status |= BDRV_BLOCK_DATA;
    }
    if (s->metadata_preallocation && type == QCOW2_SUBCLUSTER_NORMAL) {
        /* the file's holes are zeroes worth knowing (map, convert) */
        status |= BDRV_BLOCK_RECURSE;
    }
    return status;
}
