/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 writes: data (in place or into new clusters with copy-on-write),
 * zero writes, discards, compressed writes, flush, and the header bits a
 * writer keeps (dirty, corrupt).
 *
 * Locking: s->lock is held while mapping and allocating and while linking
 * new clusters into L2 tables; data and COW I/O run without it.  A write
 * that maps to several host extents runs one task per extent on an
 * AioTaskPool (max_workers in flight), like reads.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "block/aio-task.h"

/* Does [offset, +bytes) read as zeroes through the whole chain? */
static bool coroutine_fn is_zero(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t pnum;
    int ret;

    bytes = MIN(bytes, s->virtual_size - offset);
    while (bytes > 0) {
        ret = bdrv_co_block_status_above(bs, NULL, false, false, offset,
                                         bytes, &pnum, NULL, NULL, NULL);
        if (ret < 0 || !(ret & BDRV_BLOCK_ZERO) || pnum <= 0) {
            return false;
        }
        offset += pnum;
        bytes -= pnum;
    }
    return true;
}

/*
 * When both COW regions read as zeroes, zero the new clusters on the host
 * (fallocate) instead of writing zero buffers.  A failure other than "not
 * supported" fails the write, as in 7.2: the storage said no.
 */
static int coroutine_fn handle_alloc_space(BlockDriverState *bs,
                                           QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start, nb;
    int ret;

    if (!m->cow_start.nb_bytes && !m->cow_end.nb_bytes) {
        return 0;
    }
    if (!s->data_file->bs->drv->co_pwrite_zeroes || m->keep_old_clusters) {
        return 0;
    }
    if (!is_zero(bs, m->offset + m->cow_start.offset, m->cow_start.nb_bytes) ||
        !is_zero(bs, m->offset + m->cow_end.offset, m->cow_end.nb_bytes)) {
        return 0;
    }
    start = m->alloc_offset + m->cow_start.offset;
    nb = m->cow_end.offset + m->cow_end.nb_bytes - m->cow_start.offset;
    if (!has_data_file(s)) {
        ret = qcow2_pre_write_overlap_check(bs, 0, start, nb);
        if (ret < 0) {
            return ret;
        }
    }
    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC_SPACE);
    ret = bdrv_co_pwrite_zeroes(s->data_file, start, nb, BDRV_REQ_NO_FALLBACK);
    if (ret == 0) {
        m->skip_cow = true;
    }
    return ret == -ENOTSUP || ret == -EAGAIN ? 0 : ret;
}

/* Read a COW region's old contents (the guest view) into @buf. */
static int coroutine_fn cow_read(BlockDriverState *bs, QCowL2Meta *m,
                                 Qcow2COWRegion *r, void *buf)
{
    QEMUIOVector qiov;

    if (!r->nb_bytes) {
        return 0;
    }
    qemu_iovec_init_buf(&qiov, buf, r->nb_bytes);
    BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
    /* the L2 entries still point to the old data: read through ourselves */
    return qcow2_co_preadv(bs, m->offset + r->offset, r->nb_bytes, &qiov, 0);
}

static bool needs_cow(QCowL2Meta *m)
{
    return !m->skip_cow && (m->cow_start.nb_bytes || m->cow_end.nb_bytes);
}

/* Write data to the host, checked against metadata first. */
static int coroutine_fn host_write(BlockDriverState *bs, uint64_t offset,
                                   QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!has_data_file(s)) {
        ret = qcow2_pre_write_overlap_check(bs, 0, offset, qiov->size);
        if (ret < 0) {
            return ret;
        }
    }
    return bdrv_co_pwritev(s->data_file, offset, qiov->size, qiov, 0);
}

/* Copy a meta's COW regions into its new clusters (separate writes). */
static int coroutine_fn perform_cow(BlockDriverState *bs, QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2COWRegion *regions[2] = { &m->cow_start, &m->cow_end };
    int i, ret = 0;

    if (!needs_cow(m)) {
        return 0;
    }
    qcow2_cache_depends_on_flush(s->l2_cache);
    for (i = 0; i < 2 && ret == 0; i++) {
        Qcow2COWRegion *r = regions[i];
        QEMUIOVector qiov;
        void *buf;

        if (!r->nb_bytes) {
            continue;
        }
        buf = blk_buf_alloc(bs, r->nb_bytes);
        ret = cow_read(bs, m, r, buf);
        if (ret == 0) {
            qemu_iovec_init_buf(&qiov, buf, r->nb_bytes);
            BLKDBG_EVENT(bs->file, BLKDBG_COW_WRITE);
            ret = host_write(bs, m->alloc_offset + r->offset, &qiov);
        }
        blk_buf_free(buf);
    }
    return ret;
}

int coroutine_fn qcow2_perform_cow_locked(BlockDriverState *bs,
                                          QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_unlock(&s->lock);
    ret = perform_cow(bs, m);
    qemu_co_mutex_lock(&s->lock);
    return ret;
}

/*
 * Write one host extent: the guest data and the COW regions of its new
 * clusters (in one request when a single allocation surrounds the data),
 * then the L2 updates.  Context: without s->lock.
 */
static int coroutine_fn write_extent(BlockDriverState *bs, uint64_t host,
                                     int64_t offset, int64_t bytes,
                                     QEMUIOVector *qiov, size_t qiov_offset,
                                     QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *start_buf = NULL, *end_buf = NULL;
    QCowL2Meta *it;
    QEMUIOVector hd;
    uint64_t write_at = host;
    bool merged = false;
    int ret = 0;

    qemu_iovec_init(&hd, qiov->niov + 2);
    for (it = m; it && ret == 0; it = it->next) {
        ret = handle_alloc_space(bs, it);
    }
    if (ret < 0) {
        goto out;
    }
    /* one allocation around the data: copy and write in one request */
    if (m && !m->next && needs_cow(m) &&
        m->offset + m->cow_start.offset + m->cow_start.nb_bytes ==
        (uint64_t)offset &&
        m->offset + m->cow_end.offset == (uint64_t)(offset + bytes)) {
        merged = true;
        if (m->cow_start.nb_bytes) {
            start_buf = blk_buf_alloc(bs, m->cow_start.nb_bytes);
            ret = cow_read(bs, m, &m->cow_start, start_buf);
        }
        if (ret == 0 && m->cow_end.nb_bytes) {
            end_buf = blk_buf_alloc(bs, m->cow_end.nb_bytes);
            ret = cow_read(bs, m, &m->cow_end, end_buf);
        }
        if (ret < 0) {
            goto out;
        }
        /* the copied data must be stable before the L2 entry is */
        qcow2_cache_depends_on_flush(s->l2_cache);
        write_at = m->alloc_offset + m->cow_start.offset;
        if (start_buf) {
            qemu_iovec_add(&hd, start_buf, m->cow_start.nb_bytes);
        }
    }
    qemu_iovec_concat(&hd, qiov, qiov_offset, bytes);
    if (end_buf) {
        qemu_iovec_add(&hd, end_buf, m->cow_end.nb_bytes);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    if (merged) {
        BLKDBG_EVENT(bs->file, BLKDBG_COW_WRITE);
    }
    ret = host_write(bs, write_at, &hd);
    for (it = m; it && !merged && ret == 0; it = it->next) {
        ret = perform_cow(bs, it);
    }

out:
    qemu_iovec_destroy(&hd);
    blk_buf_free(start_buf);
    blk_buf_free(end_buf);
    if (m) {
        int ret2;
        qemu_co_mutex_lock(&s->lock);
        ret2 = qcow2_l2meta_finish(bs, m, ret == 0);
        qemu_co_mutex_unlock(&s->lock);
        if (ret == 0) {
            ret = ret2;
        }
    }
    return ret;
}

typedef struct Qcow2WriteTask {
    AioTask task;           /* first: the pool frees this struct */
    BlockDriverState *bs;
    uint64_t host;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    size_t qiov_offset;
    QCowL2Meta *m;
} Qcow2WriteTask;

static int coroutine_fn write_task_func(AioTask *task)
{
    Qcow2WriteTask *t = container_of(task, Qcow2WriteTask, task);

    return write_extent(t->bs, t->host, t->offset, t->bytes, t->qiov,
                        t->qiov_offset, t->m);
}

static int coroutine_fn pwritev_compressed(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov);

int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    AioTaskPool *pool = NULL;
    size_t qiov_offset = 0;
    int ret = 0;

    if (s->unusable) {
        return -ENOMEDIUM;
    }
    if (flags & BDRV_REQ_WRITE_COMPRESSED) {
        return pwritev_compressed(bs, offset, bytes, qiov);
    }
    while (bytes > 0 && aio_task_pool_status(pool) == 0) {
        int64_t cur = bytes;
        uint64_t host;
        QCowL2Meta *m = NULL;
        Qcow2WriteTask *t;

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_alloc_host_offset(bs, offset, &cur, &host, &m);
        if (ret < 0) {
            qcow2_l2meta_finish(bs, m, false);
        }
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            break;
        }
        if (!pool && cur == bytes) {
            ret = write_extent(bs, host, offset, cur, qiov, qiov_offset, m);
            break;
        }
        if (!pool) {
            pool = aio_task_pool_new(s->max_workers);
        }
        t = g_new(Qcow2WriteTask, 1);
        *t = (Qcow2WriteTask) {
            .task.func = write_task_func,
            .bs = bs,
            .host = host,
            .offset = offset,
            .bytes = cur,
            .qiov = qiov,
            .qiov_offset = qiov_offset,
            .m = m,
        };
        aio_task_pool_start_task(pool, &t->task);
        offset += cur;
        bytes -= cur;
        qiov_offset += cur;
    }
    return aio_task_pool_finish(pool, ret);
}

/* ---- compressed writes ---- */

/* Wait until every compressed write issued before @t has allocated. */
static void coroutine_fn compress_ticket_wait(BDRVQcow2State *s,
                                              Qcow2CompressTicket *t)
{
    while (QTAILQ_FIRST(&s->compress_fifo) != t) {
        t->waiter = qemu_coroutine_self();
        qemu_coroutine_yield();
        t->waiter = NULL;
    }
}

static void compress_ticket_done(BDRVQcow2State *s, Qcow2CompressTicket *t)
{
    Qcow2CompressTicket *head;

    QTAILQ_REMOVE(&s->compress_fifo, t, next);
    head = QTAILQ_FIRST(&s->compress_fifo);
    if (head && head->waiter) {
        aio_co_wake(head->waiter);
    }
}

static int coroutine_fn write_compressed_cluster(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 QEMUIOVector *qiov,
                                                 size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CompressTicket ticket = { 0 };
    uint8_t *buf, *out;
    uint64_t host;
    ssize_t len;
    int ret;

    /* registered before the first yield: issue order is kept */
    QTAILQ_INSERT_TAIL(&s->compress_fifo, &ticket, next);
    buf = blk_buf_alloc(bs, s->cluster_size);
    out = g_malloc(s->cluster_size);
    /* a short last cluster is padded with zeroes */
    memset(buf + bytes, 0, s->cluster_size - bytes);
    qemu_iovec_to_buf(qiov, qiov_offset, buf, bytes);
    len = qcow2_co_compress(bs, out, s->cluster_size - 1, buf,
                            s->cluster_size);
    compress_ticket_wait(s, &ticket);
    if (len == -ENOMEM) {
        /* incompressible: a normal cluster, allocated in its turn */
        QEMUIOVector slice;
        qemu_iovec_init_slice(&slice, qiov, qiov_offset, bytes);
        ret = qcow2_co_pwritev(bs, offset, bytes, &slice, 0);
        qemu_iovec_destroy(&slice);
        compress_ticket_done(s, &ticket);
        goto out;
    }
    if (len < 0) {
        compress_ticket_done(s, &ticket);
        ret = -EINVAL;
        goto out;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_alloc_compressed_cluster_offset(bs, offset, len, &host);
    if (ret == 0) {
        ret = qcow2_pre_write_overlap_check(bs, 0, host, len);
    }
    qemu_co_mutex_unlock(&s->lock);
    compress_ticket_done(s, &ticket);
    if (ret == 0) {
        BLKDBG_EVENT(s->data_file, BLKDBG_WRITE_COMPRESSED);
        ret = bdrv_co_pwrite(s->data_file, host, len, out, 0);
    }
out:
    blk_buf_free(buf);
    g_free(out);
    return ret;
}

typedef struct Qcow2CompressTask {
    AioTask task;
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    size_t qiov_offset;
} Qcow2CompressTask;

static int coroutine_fn compress_task_func(AioTask *task)
{
    Qcow2CompressTask *t = container_of(task, Qcow2CompressTask, task);

    return write_compressed_cluster(t->bs, t->offset, t->bytes, t->qiov,
                                    t->qiov_offset);
}

static int coroutine_fn pwritev_compressed(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    AioTaskPool *pool = NULL;
    size_t qiov_offset = 0;

    if (has_data_file(s)) {
        return -ENOTSUP;
    }
    if (bytes == 0) {
        /* end the file on a sector boundary, as QEMU does after convert */
        int64_t len = bdrv_co_getlength(bs->file->bs);
        if (len < 0) {
            return len;
        }
        return bdrv_co_truncate(bs->file, ROUND_UP(len, BDRV_SECTOR_SIZE),
                                false, PREALLOC_MODE_OFF, 0, NULL);
    }
    if (offset_into_cluster(s, offset) ||
        (offset_into_cluster(s, bytes) && offset + bytes != s->virtual_size)) {
        return -EINVAL;
    }
    while (bytes > 0 && aio_task_pool_status(pool) == 0) {
        int64_t chunk = MIN(bytes, s->cluster_size);
        Qcow2CompressTask *t;

        if (!pool && chunk == bytes) {
            return write_compressed_cluster(bs, offset, chunk, qiov,
                                            qiov_offset);
        }
        if (!pool) {
            pool = aio_task_pool_new(s->max_workers);
        }
        t = g_new(Qcow2CompressTask, 1);
        *t = (Qcow2CompressTask) {
            .task.func = compress_task_func,
            .bs = bs,
            .offset = offset,
            .bytes = chunk,
            .qiov = qiov,
            .qiov_offset = qiov_offset,
        };
        aio_task_pool_start_task(pool, &t->task);
        offset += chunk;
        bytes -= chunk;
        qiov_offset += chunk;
    }
    return aio_task_pool_finish(pool, 0);
}

/* ---- zero writes and discards ---- */

int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t head = offset_into_subcluster(s, offset);
    uint32_t tail = ROUND_UP(offset + bytes, s->subcluster_size) -
                    (offset + bytes);
    int ret;

    if (s->unusable) {
        return -ENOMEDIUM;
    }
    if (offset + bytes == s->virtual_size) {
        tail = 0;
    }
    if (head || tail) {
        uint64_t host;
        int64_t nr;
        QCow2SubclusterType type;

        assert(head + bytes + tail <= s->subcluster_size);
        /* a partial subcluster: only if the rest already reads as zero */
        if (!(is_zero(bs, offset - head, head) &&
              is_zero(bs, offset + bytes, tail))) {
            return -ENOTSUP;
        }
        qemu_co_mutex_lock(&s->lock);
        offset -= head;
        bytes = s->subcluster_size;
        nr = s->subcluster_size;
        ret = qcow2_get_host_offset(bs, offset, &nr, &host, &type);
        if (ret < 0 ||
            (type != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
             type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC &&
             type != QCOW2_SUBCLUSTER_ZERO_PLAIN &&
             type != QCOW2_SUBCLUSTER_ZERO_ALLOC)) {
            qemu_co_mutex_unlock(&s->lock);
            return ret < 0 ? ret : -ENOTSUP;
        }
    } else {
        qemu_co_mutex_lock(&s->lock);
    }
    ret = qcow2_subcluster_zeroize(bs, offset, bytes, flags);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->unusable) {
        return -ENOMEDIUM;
    }
    /* without the zero flag, a discard would expose the backing file */
    if (s->version < 3 && bs->backing) {
        return -ENOTSUP;
    }
    if (!QEMU_IS_ALIGNED(offset | bytes, s->cluster_size)) {
        /* partial clusters are ignored, except a short last one */
        if (!QEMU_IS_ALIGNED(offset, s->cluster_size) ||
            offset + bytes != s->virtual_size) {
            return -ENOTSUP;
        }
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_guest_discard(bs, offset, bytes);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* ---- flush and close ---- */

int coroutine_fn qcow2_write_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    ret = qcow2_cache_write(bs, s->l2_cache);
    /*
     * A dirty image's refcounts (lazy refcounts) are written when it is
     * marked clean, or when the cache needs the room: until then the
     * file's may lag, and the dirty bit says so (7.2's
     * qcow2_need_accurate_refcounts).  The L2 tables are what a repair
     * counts from, and they are written.
     */
    if (ret == 0 && !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        ret = qcow2_cache_write(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        s->frees_pending = false;
    }
    return ret;
}

int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!s->writable || s->unusable) {
        return 0;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_write_caches(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

int coroutine_fn qcow2_co_inactivate(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret, ret2;

    if (!s->writable || s->unusable) {
        return 0;
    }
    qemu_co_mutex_lock(&s->lock);
    qcow2_store_bitmaps_on_close(bs);
    /*
     * Each cache written and the file flushed; a failure is reported and
     * the other is still tried, in 7.2's words (error_report: the program
     * name first).  The image stays dirty unless both got through.
     */
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret < 0) {
        bdrv_error_report("Failed to flush the L2 table cache: %s",
                          strerror(-ret));
    }
    ret2 = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret2 < 0) {
        bdrv_error_report("Failed to flush the refcount block cache: %s",
                          strerror(-ret2));
        ret = ret < 0 ? ret : ret2;
    }
    if (ret == 0) {
        s->frees_pending = false;
        ret = qcow2_mark_clean(bs);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/*
 * The image reset to header, refcount table, one refcount block and an
 * empty L1 table, the file truncated after them: 7.2's
 * make_completely_empty, for v3 images whose every cluster but those is
 * data (no snapshots, bitmaps or data file).  The dirty bit covers the
 * steps where the refcounts are wrong; a failure there leaves the node
 * unusable (and the image dirty, for check -r all).
 */
static int coroutine_fn make_completely_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t cs = s->cluster_size, offset;
    int64_t l1_clusters = DIV_ROUND_UP(s->l1_size, cs / L1E_SIZE);
    uint8_t hdr[20], rt_entry[8];
    int ret;

    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        ret = qcow2_mark_dirty(bs);
    }
    if (ret < 0) {
        return ret;
    }
    qcow2_cache_empty(s->l2_cache);
    qcow2_cache_empty(s->refcount_block_cache);
    /* from here the refcounts on disk do not describe the image */
    BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
    ret = bdrv_co_pwrite_zeroes(bs->file, s->l1_table_offset,
                                l1_clusters * cs, 0);
    memset(s->l1_table, 0, (size_t)s->l1_size * L1E_SIZE);
    if (ret == 0) {
        /* table, block and L1 table right after the header */
        BLKDBG_EVENT(bs->file, BLKDBG_EMPTY_IMAGE_PREPARE);
        ret = bdrv_co_pwrite_zeroes(bs->file, cs, (2 + l1_clusters) * cs, 0);
    }
    if (ret == 0) {
        BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
        BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_UPDATE);
        stq_be_p(hdr, 3 * cs);          /* l1_table_offset */
        stq_be_p(hdr + 8, cs);          /* refcount_table_offset */
        stl_be_p(hdr + 16, 1);          /* refcount_table_clusters */
        ret = qcow2_update_header_field(bs, offsetof(QCowHeader,
                                                     l1_table_offset),
                                        hdr, sizeof(hdr));
    }
    if (ret < 0) {
        goto broken;
    }
    s->l1_table_offset = 3 * cs;
    g_free(s->refcount_table);
    s->refcount_table = g_new0(uint64_t, cs / REFTABLE_ENTRY_SIZE);
    s->refcount_table_offset = cs;
    s->refcount_table_size = cs / REFTABLE_ENTRY_SIZE;
    s->refcount_table_clusters = 1;
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC);
    stq_be_p(rt_entry, 2 * cs);
    ret = qcow2_update_header_field(bs, cs, rt_entry, sizeof(rt_entry));
    if (ret < 0) {
        goto broken;
    }
    s->refcount_table[0] = 2 * cs;
    qcow2_refcount_table_replaced(s);
    /* the allocator counts header, table, block and L1 table: at 0 */
    offset = qcow2_alloc_clusters(bs, 3 * cs + (int64_t)s->l1_size * L1E_SIZE);
    if (offset != 0) {
        ret = offset < 0 ? offset : -EIO;
        goto broken;
    }
    ret = qcow2_mark_clean(bs);
    if (ret == 0) {
        ret = bdrv_co_truncate(bs->file, (3 + l1_clusters) * cs, false,
                               PREALLOC_MODE_OFF, 0, NULL);
    }
    return ret;

broken:
    s->unusable = true;
    return ret;
}

int coroutine_fn qcow2_co_make_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t l1_clusters = DIV_ROUND_UP(s->l1_size,
                                       s->cluster_size / L1E_SIZE);
    int ret;

    qemu_co_mutex_lock(&s->lock);
    if (s->version >= 3 && !s->nb_snapshots && !s->nb_bitmaps &&
        3 + l1_clusters <= s->refcount_block_size && !has_data_file(s)) {
        ret = make_completely_empty(bs);
    } else {
        /* what makes the image not start afresh: every cluster dropped */
        ret = qcow2_cluster_discard(bs, 0, s->virtual_size,
                                    QCOW2_DISCARD_SNAPSHOT, true);
        if (ret == 0) {
            ret = qcow2_write_caches(bs);
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}
