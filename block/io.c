/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The request path between users and drivers: range checks, padding of
 * unaligned requests to the node's request_alignment (read-modify-write
 * for writes, serialised against overlapping requests), splitting by
 * max_transfer, zero-fill past the end of the node, write-zeroes with a
 * buffer fallback, FUA emulation, discard, flush ordering, and block
 * status including the recursion into protocol nodes.
 *
 * Padding never copies the caller's data: head and tail pad buffers are
 * added around the caller's iovec entries.
 */
#include "util/osdep.h"
#include "block/driver.h"

/* Zero-write fallback buffers are at most this big (bytes). */
#define ZERO_BUFFER_MAX (1 * MiB)

static int bdrv_check_request(int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0 || bytes > BDRV_MAX_LENGTH ||
        offset > BDRV_MAX_LENGTH - bytes) {
        return -EIO;
    }
    return 0;
}

static int64_t max_transfer_of(BlockDriverState *bs)
{
    int64_t align = bs->bl.request_alignment;
    int64_t max = BDRV_REQUEST_MAX_BYTES;

    if (bs->bl.max_transfer && bs->bl.max_transfer < max) {
        max = bs->bl.max_transfer;
    }
    return QEMU_ALIGN_DOWN(max, align);
}

/* ---- tracked requests ---- */

static void tracked_request_begin(BlockDriverState *bs, BdrvTrackedRequest *req,
                                  int64_t offset, int64_t bytes,
                                  bool serialising)
{
    req->offset = offset;
    req->bytes = bytes;
    req->serialising = serialising;
    req->waiting_for = NULL;
    qemu_co_queue_init(&req->wait_queue);
    QTAILQ_INSERT_TAIL(&bs->tracked_requests, req, next);
}

static void tracked_request_end(BlockDriverState *bs, BdrvTrackedRequest *req)
{
    QTAILQ_REMOVE(&bs->tracked_requests, req, next);
    qemu_co_queue_restart_all(&req->wait_queue);
}

/*
 * Wait until no overlapping request where either side is a
 * read-modify-write is in flight.  As in 7.2, a request that is itself
 * waiting is passed over: it checks again when it wakes, and waits for us
 * then; waiting for it could close a cycle.
 */
static void coroutine_fn wait_serialising(BlockDriverState *bs,
                                          BdrvTrackedRequest *self)
{
    BdrvTrackedRequest *req;

retry:
    QTAILQ_FOREACH(req, &bs->tracked_requests, next) {
        if (req == self || req->waiting_for ||
            !(req->serialising || self->serialising)) {
            continue;
        }
        if (req->offset < self->offset + self->bytes &&
            self->offset < req->offset + req->bytes) {
            self->waiting_for = req;
            qemu_co_queue_wait(&req->wait_queue, NULL);
            self->waiting_for = NULL;
            goto retry;
        }
    }
}

/* ---- read ---- */

static int coroutine_fn bdrv_aligned_preadv(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t max_transfer = max_transfer_of(bs);
    int64_t total, max_bytes, pos = 0;
    int ret;

    assert(QEMU_IS_ALIGNED(offset, align) && QEMU_IS_ALIGNED(bytes, align));
    if (!bs->drv->co_preadv) {
        return -ENOTSUP;
    }
    if (bs->has_variable_length) {
        ret = bdrv_co_refresh_total_bytes(bs);
        if (ret < 0) {
            return ret;
        }
    }
    total = bs->total_bytes;
    max_bytes = QEMU_ALIGN_UP(MAX(0, total - offset), align);

    if (bytes <= max_bytes && bytes <= max_transfer) {
        return bs->drv->co_preadv(bs, offset, bytes, qiov, flags);
    }
    while (pos < bytes) {
        int64_t num = bytes - pos;
        if (pos < max_bytes) {
            QEMUIOVector slice;
            num = MIN(num, MIN(max_bytes - pos, max_transfer));
            qemu_iovec_init_slice(&slice, qiov, pos, num);
            ret = bs->drv->co_preadv(bs, offset + pos, num, &slice, flags);
            qemu_iovec_destroy(&slice);
            if (ret < 0) {
                return ret;
            }
        } else {
            /* past the end of the node: reads as zeroes */
            qemu_iovec_memset(qiov, pos, 0, num);
        }
        pos += num;
    }
    return 0;
}

/* A read of @bs (checked), padded to its alignment where it needs. */
static int coroutine_fn bdrv_padded_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t head, tail;
    uint8_t *pad = NULL;
    QEMUIOVector padded;
    int ret;

    bs->in_flight++;
    head = offset & (align - 1);
    tail = (offset + bytes) & (align - 1);
    if (!head && !tail) {
        ret = bdrv_aligned_preadv(bs, offset, bytes, qiov, flags);
    } else {
        /* Read whole blocks: pad buffers take the bytes around the request. */
        pad = blk_buf_alloc(bs, 2 * align);
        qemu_iovec_init(&padded, qiov->niov + 2);
        if (head) {
            qemu_iovec_add(&padded, pad, head);
        }
        qemu_iovec_concat(&padded, qiov, 0, bytes);
        if (tail) {
            qemu_iovec_add(&padded, pad + align, align - tail);
        }
        ret = bdrv_aligned_preadv(bs, offset - head, padded.size, &padded,
                                  flags);
        qemu_iovec_destroy(&padded);
        blk_buf_free(pad);
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

static int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags);
static int coroutine_fn bdrv_do_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags);

/* The most copy-on-read reads and writes back at once (7.2's bounce). */
#define COR_MAX_BOUNCE  (16 * 1024 * 1024)

/*
 * Copy-on-read, as 7.2: the read is widened to whole clusters of @bs (its
 * request alignment where it has none); what @bs does not have itself is
 * read through its driver (from its backing chain), written back into
 * @bs, zeroes as a zero write, and the part asked for copied out; what
 * it has is read as usual.  Serialised against every overlapping request
 * of @bs for the whole widened range.  A failed write back fails the read.
 */
static int coroutine_fn bdrv_co_copy_on_readv(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              QEMUIOVector *qiov)
{
    int64_t align = bs->bl.request_alignment;
    int64_t cluster = align, start, end, pos, n;
    int64_t max = MIN(max_transfer_of(bs), COR_MAX_BOUNCE);
    BdrvTrackedRequest req;
    BlockDriverInfo bdi;
    int ret = 0;

    if (bdrv_get_info(bs, &bdi) == 0 && bdi.cluster_size > cluster) {
        cluster = bdi.cluster_size;
    }
    max = MAX(QEMU_ALIGN_DOWN(max, cluster), cluster);
    start = QEMU_ALIGN_DOWN(offset, cluster);
    end = MIN(QEMU_ALIGN_UP(offset + bytes, cluster),
              QEMU_ALIGN_UP(bs->total_bytes, align));
    if (end <= start) {
        /* past the end: nothing to copy */
        return bdrv_padded_preadv(bs, offset, bytes, qiov, 0);
    }
    bs->in_flight++;
    tracked_request_begin(bs, &req, start, end - start, true);
    wait_serialising(bs, &req);
    for (pos = start; pos < end && ret == 0; pos += n) {
        /* the part of the read inside [pos, pos + n) */
        int64_t from, to;
        int alloc;

        n = MIN(end - pos, max);
        alloc = bdrv_co_is_allocated(bs, pos, n, &n);
        if (alloc < 0 || n <= 0) {
            /* as 7.2: the read that follows says what is wrong */
            n = MIN(end - pos, max);
            alloc = 0;
        }
        from = MAX(pos, offset);
        to = MIN(pos + n, offset + bytes);
        if (alloc) {
            QEMUIOVector part;

            if (from < to) {
                qemu_iovec_init_slice(&part, qiov, from - offset, to - from);
                ret = bdrv_padded_preadv(bs, from, to - from, &part, 0);
                qemu_iovec_destroy(&part);
            }
        } else {
            uint8_t *bounce = blk_buf_alloc(bs, n);
            QEMUIOVector bq;

            qemu_iovec_init_buf(&bq, bounce, n);
            ret = bdrv_aligned_preadv(bs, pos, n, &bq, 0);
            if (ret == 0) {
                bdrv_debug_event(bs, BLKDBG_COR_WRITE);
                if (bs->drv->co_pwrite_zeroes && buffer_is_zero(bounce, n)) {
                    ret = bdrv_do_pwrite_zeroes(bs, pos, n, 0);
                } else {
                    ret = bdrv_driver_pwritev(bs, pos, n, &bq, 0);
                }
            }
            if (ret == 0 && from < to) {
                qemu_iovec_from_buf(qiov, from - offset, bounce + (from - pos),
                                    to - from);
            }
            blk_buf_free(bounce);
        }
    }
    tracked_request_end(bs, &req);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0 || bytes == 0) {
        return ret;
    }
    assert(qiov->size >= (size_t)bytes);
    if (bs->copy_on_read || (flags & BDRV_REQ_COPY_ON_READ)) {
        return bdrv_co_copy_on_readv(bs, offset, bytes, qiov);
    }
    return bdrv_padded_preadv(bs, offset, bytes, qiov, flags);
}

int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv(child, offset, bytes, &qiov, flags);
}

/* ---- write ---- */

static void bdrv_note_write_end(BlockDriverState *bs, int64_t end)
{
    /* protocols grow when written past their end */
    if (end > bs->total_bytes && bs->drv->protocol_name) {
        bs->total_bytes = QEMU_ALIGN_UP(end, BDRV_SECTOR_SIZE);
    }
}

static int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int ret;

    if (!bs->drv->co_pwritev) {
        return -ENOTSUP;
    }
    ret = bs->drv->co_pwritev(bs, offset, bytes, qiov,
                              flags & bs->supported_write_flags);
    if (ret == 0 && (flags & BDRV_REQ_FUA) &&
        !(bs->supported_write_flags & BDRV_REQ_FUA)) {
        ret = bdrv_co_flush(bs);
    }
    /* counted when done, FUA flush included, as 7.2 counts them */
    bs->write_gen++;
    return ret;
}

static int coroutine_fn bdrv_aligned_pwritev(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             QEMUIOVector *qiov,
                                             BdrvRequestFlags flags)
{
    int64_t max_transfer = max_transfer_of(bs);
    int64_t pos = 0;
    int ret = 0;

    bdrv_debug_event(bs, BLKDBG_PWRITEV);
    if (bytes <= max_transfer) {
        ret = bdrv_driver_pwritev(bs, offset, bytes, qiov, flags);
    } else {
        while (pos < bytes && ret == 0) {
            int64_t num = MIN(bytes - pos, max_transfer);
            QEMUIOVector slice;
            qemu_iovec_init_slice(&slice, qiov, pos, num);
            ret = bdrv_driver_pwritev(bs, offset + pos, num, &slice, flags);
            qemu_iovec_destroy(&slice);
            pos += num;
        }
    }
    bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
    if (ret == 0) {
        bdrv_note_write_end(bs, offset + bytes);
    }
    return ret;
}

/*
 * Unaligned write: read the partial blocks at either end, then write
 * whole blocks.  The caller holds a serialising tracked request over the
 * aligned range.
 */
static int coroutine_fn bdrv_padded_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t start = QEMU_ALIGN_DOWN(offset, align);
    int64_t end = QEMU_ALIGN_UP(offset + bytes, align);
    int64_t head = offset - start;
    int64_t tail = end - (offset + bytes);
    uint8_t *pad = blk_buf_alloc(bs, 2 * align);
    QEMUIOVector buf_qiov, padded;
    int ret = 0;

    /*
     * One read where the padding is one block, or two adjacent ones; the
     * events in 7.2's order (breakpoints in tests depend on it).
     */
    bool merge = end - start == align ||
                 (head && tail && end - start == 2 * align);

    if (head || merge) {
        int64_t len = merge ? end - start : align;

        qemu_iovec_init_buf(&buf_qiov, pad, len);
        if (head) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_HEAD);
        }
        if (merge && tail) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
        }
        ret = bdrv_aligned_preadv(bs, start, len, &buf_qiov, 0);
        if (ret == 0 && head) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_HEAD);
        }
        if (ret == 0 && merge && tail) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
        }
    }
    if (ret == 0 && end - start == align) {
        /* head and tail share the block: the data goes into it */
        qemu_iovec_to_buf(qiov, 0, pad + head, bytes);
        ret = bdrv_aligned_pwritev(bs, start, align, &buf_qiov, flags);
        blk_buf_free(pad);
        return ret;
    }
    if (ret == 0 && tail && !merge) {
        qemu_iovec_init_buf(&buf_qiov, pad + align, align);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
        ret = bdrv_aligned_preadv(bs, end - align, align, &buf_qiov, 0);
        if (ret == 0) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
        }
    }
    if (ret == 0) {
        qemu_iovec_init(&padded, qiov->niov + 2);
        if (head) {
            qemu_iovec_add(&padded, pad, head);
        }
        qemu_iovec_concat(&padded, qiov, 0, bytes);
        if (tail) {
            qemu_iovec_add(&padded, pad + align + (align - tail), tail);
        }
        ret = bdrv_aligned_pwritev(bs, start, end - start, &padded, flags);
        qemu_iovec_destroy(&padded);
    }
    blk_buf_free(pad);
    return ret;
}

/*
 * Before a change to @bs: bitmaps stored as consistent while the node
 * stays writable are marked in use again first (driver.h,
 * bitmaps_stored), so a crash cannot leave them claiming to be current.
 */
static int coroutine_fn bitmaps_before_change(BlockDriverState *bs)
{
    if (bs->bitmaps_stored && bs->drv->co_bitmaps_in_use) {
        return bs->drv->co_bitmaps_in_use(bs);
    }
    return 0;
}

int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    int64_t align = bs->bl.request_alignment;
    BdrvTrackedRequest req;
    bool aligned;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    /* detect-zeroes: data of zeroes written as a zero write, as 7.2 */
    if (bs->detect_zeroes != BDRV_DETECT_ZEROES_OFF && bytes > 0 &&
        !(flags & (BDRV_REQ_ZERO_WRITE | BDRV_REQ_WRITE_COMPRESSED)) &&
        bs->drv->co_pwrite_zeroes && qemu_iovec_is_zero(qiov, 0, bytes)) {
        flags |= BDRV_REQ_ZERO_WRITE;
        if (bs->detect_zeroes == BDRV_DETECT_ZEROES_UNMAP) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        return bdrv_co_pwrite_zeroes(child, offset, bytes, flags);
    }
    if ((flags & BDRV_REQ_WRITE_COMPRESSED) &&
        !(bs->supported_write_flags & BDRV_REQ_WRITE_COMPRESSED)) {
        return -ENOTSUP;
    }
    if ((flags & BDRV_REQ_WRITE_COMPRESSED) && bytes == 0) {
        /* the end of a compressed stream: the driver may align the file */
        ret = bs->drv->co_pwritev(bs, offset, 0, qiov,
                                  BDRV_REQ_WRITE_COMPRESSED);
        bs->write_gen++;
        return ret;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0 || bytes == 0) {
        return ret;
    }
    assert(qiov->size >= (size_t)bytes);
    ret = bitmaps_before_change(bs);
    if (ret < 0) {
        return ret;
    }

    bs->in_flight++;
    aligned = QEMU_IS_ALIGNED(offset, align) && QEMU_IS_ALIGNED(bytes, align);
    tracked_request_begin(bs, &req, QEMU_ALIGN_DOWN(offset, align),
                          QEMU_ALIGN_UP(offset + bytes, align) -
                          QEMU_ALIGN_DOWN(offset, align), !aligned);
    wait_serialising(bs, &req);
    if (aligned) {
        ret = bdrv_aligned_pwritev(bs, offset, bytes, qiov, flags);
    } else {
        ret = bdrv_padded_pwritev(bs, offset, bytes, qiov, flags);
    }
    /* even a failed write may have changed some of the range */
    bdrv_set_dirty(bs, offset, bytes);
    tracked_request_end(bs, &req);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return bdrv_co_pwritev(child, offset, bytes, &qiov, flags);
}

/* ---- write zeroes ---- */

/* Write zeroes as data, for drivers (or ranges) without a zero operation. */
static int coroutine_fn bdrv_write_zero_buffer(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    int64_t chunk = MIN(MIN(bytes, ZERO_BUFFER_MAX), max_transfer_of(bs));
    void *buf = blk_buf_alloc(bs, chunk);
    int ret = 0;

    memset(buf, 0, chunk);
    while (bytes > 0 && ret == 0) {
        int64_t num = MIN(bytes, chunk);
        QEMUIOVector qiov;
        qemu_iovec_init_buf(&qiov, buf, num);
        ret = bdrv_aligned_pwritev(bs, offset, num, &qiov,
                                   flags & BDRV_REQ_FUA);
        offset += num;
        bytes -= num;
    }
    blk_buf_free(buf);
    return ret;
}

/* Aligned to request_alignment; the caller tracks the request. */
static int coroutine_fn bdrv_do_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags)
{
    int64_t max = bs->bl.max_pwrite_zeroes ? bs->bl.max_pwrite_zeroes :
                  BDRV_REQUEST_MAX_BYTES;
    uint32_t zalign = MAX(bs->bl.pwrite_zeroes_alignment,
                          bs->bl.request_alignment);
    int ret = 0;

    max = MAX(QEMU_ALIGN_DOWN(max, zalign), zalign);
    while (bytes > 0 && ret == 0) {
        int64_t num = MIN(bytes, max);

        /* Keep the zero operation to zalign boundaries where possible. */
        if (offset % zalign) {
            num = MIN(num, zalign - offset % zalign);
        } else if (num > zalign && (offset + num) % zalign) {
            num -= (offset + num) % zalign;
        }
        ret = -ENOTSUP;
        if (bs->drv->co_pwrite_zeroes) {
            bdrv_bsc_invalidate(bs);
            ret = bs->drv->co_pwrite_zeroes(bs, offset, num,
                                            flags & bs->supported_zero_flags);
            if (ret == 0 && (flags & BDRV_REQ_FUA) &&
                !(bs->supported_zero_flags & BDRV_REQ_FUA)) {
                ret = bdrv_co_flush(bs);
            }
            bs->write_gen++;
        }
        if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK)) {
            ret = bdrv_write_zero_buffer(bs, offset, num, flags);
        }
        if (ret == 0) {
            bdrv_note_write_end(bs, offset + num);
        }
        offset += num;
        bytes -= num;
    }
    return ret;
}

int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    int64_t align = bs->bl.request_alignment;
    int64_t start, end;
    BdrvTrackedRequest req;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0 || bytes == 0) {
        return ret;
    }
    flags &= ~BDRV_REQ_ZERO_WRITE;
    /*
     * A node decides for the nodes below it (QEMU checks discard=unmap on
     * the child a driver writes to); the user's own request to the top
     * node keeps its flag.
     */
    if (child->parent && !(bs->open_flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    start = QEMU_ALIGN_UP(offset, align);
    end = QEMU_ALIGN_DOWN(offset + bytes, align);
    if (start >= end) {
        /* no whole block inside: write zero data through the RMW path */
        start = end = offset + bytes;
    }
    ret = bitmaps_before_change(bs);
    if (ret < 0) {
        return ret;
    }

    bs->in_flight++;
    if (offset < start) {
        int64_t n = MIN(start, offset + bytes) - offset;
        void *zeroes = g_malloc0(n);
        ret = bdrv_co_pwrite(child, offset, n, zeroes,
                             flags & BDRV_REQ_FUA);
        g_free(zeroes);
    }
    if (ret == 0 && start < end) {
        tracked_request_begin(bs, &req, start, end - start, false);
        wait_serialising(bs, &req);
        ret = bdrv_do_pwrite_zeroes(bs, start, end - start, flags);
        tracked_request_end(bs, &req);
    }
    if (ret == 0 && end < offset + bytes && end >= offset) {
        int64_t n = offset + bytes - end;
        void *zeroes = g_malloc0(n);
        ret = bdrv_co_pwrite(child, end, n, zeroes, flags & BDRV_REQ_FUA);
        g_free(zeroes);
    }
    bdrv_set_dirty(bs, offset, bytes);
    bdrv_dec_in_flight(bs);
    return ret;
}

/* ---- discard, flush, length, truncate ---- */

int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes)
{
    BlockDriverState *bs = child->bs;
    uint32_t align;
    int64_t max, start, end, head, tail;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    /* Discard is advisory: disabled, unsupported or partial blocks are ok. */
    if (!(bs->open_flags & BDRV_O_UNMAP) || !bs->drv->co_pdiscard) {
        return 0;
    }
    /*
     * Pieces as 7.2 cuts them, so that drivers see the same requests: small
     * ones up to the first @align boundary (each a multiple of
     * request_alignment where it can be), aligned ones of at most @max,
     * then what is left before the end.  Nothing is rounded away here: a
     * driver that cannot discard a piece says -ENOTSUP and it is skipped.
     */
    align = MAX(bs->bl.pdiscard_alignment, bs->bl.request_alignment);
    max = bs->bl.max_pdiscard ? bs->bl.max_pdiscard : BDRV_REQUEST_MAX_BYTES;
    max = MAX(QEMU_ALIGN_DOWN(max, align), align);
    head = offset % align;
    tail = (offset + bytes) % align;
    ret = bitmaps_before_change(bs);
    if (ret < 0) {
        return ret;
    }

    bs->in_flight++;
    start = offset;
    end = offset + bytes;
    while (start < end && ret == 0) {
        int64_t num = end - start;
        uint32_t ra = bs->bl.request_alignment;

        if (head) {
            num = MIN(num, align - head);
            if (num % ra) {
                num %= ra;
            }
            head = (head + num) % align;
        } else if (tail) {
            if (num > align) {
                num -= tail;            /* up to the last boundary */
            } else if (tail % ra && tail > ra) {
                tail %= ra;
                num -= tail;
            }
        }
        num = MIN(num, max);
        bdrv_bsc_invalidate(bs);
        ret = bs->drv->co_pdiscard(bs, start, num);
        if (ret == -ENOTSUP ||
            (ret == -EINVAL && (start % align || num % align))) {
            ret = 0;                    /* a piece the driver cannot drop */
        }
        start += num;
    }
    bs->write_gen++;
    bdrv_set_dirty(bs, offset, bytes);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_rw_vmstate(BlockDriverState *bs, QEMUIOVector *qiov,
                                    int64_t pos, bool is_read)
{
    BdrvChild *primary = bdrv_primary_child(bs);
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (pos < 0 || qiov->size > BDRV_REQUEST_MAX_BYTES ||
        pos > INT64_MAX - (int64_t)qiov->size) {
        return -EINVAL;
    }
    if (!is_read && bs->read_only) {
        return -EPERM;
    }
    if (is_read ? bs->drv->co_load_vmstate : bs->drv->co_save_vmstate) {
        bs->in_flight++;
        ret = is_read ? bs->drv->co_load_vmstate(bs, qiov, pos) :
                        bs->drv->co_save_vmstate(bs, qiov, pos);
        if (!is_read) {
            bs->write_gen++;
        }
        bdrv_dec_in_flight(bs);
        return ret;
    }
    /* a filter (raw without offset, blkdebug) has its child's */
    if (primary && (primary->role & BDRV_CHILD_FILTERED)) {
        return bdrv_co_rw_vmstate(primary->bs, qiov, pos, is_read);
    }
    return -ENOTSUP;
}

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    BdrvChild *c, *primary;
    uint64_t gen;
    int ret = 0;

    if (!bs->drv || bs->read_only) {
        return 0;
    }
    primary = bdrv_primary_child(bs);
    bs->in_flight++;
    gen = bs->write_gen;
    BLKDBG_EVENT(primary, BLKDBG_FLUSH_TO_OS);
    if (bs->drv->co_flush_to_os) {
        ret = bs->drv->co_flush_to_os(bs);
    }
    if (ret == 0 && !(bs->open_flags & BDRV_O_NO_FLUSH) &&
        bs->flushed_gen != gen) {
        BLKDBG_EVENT(primary, BLKDBG_FLUSH_TO_DISK);
        if (bs->drv->co_flush_to_disk) {
            ret = bs->drv->co_flush_to_disk(bs);
        }
        if (ret == 0) {
            bs->flushed_gen = gen;
        }
    }
    /* Children after the parent: its metadata may have gone to them. */
    QTAILQ_FOREACH(c, &bs->children, next) {
        if (ret == 0) {
            ret = bdrv_co_flush(c->bs);
        }
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->has_variable_length) {
        int ret = bdrv_co_refresh_total_bytes(bs);
        if (ret < 0) {
            return ret;
        }
    }
    return bs->total_bytes;
}

int64_t coroutine_fn bdrv_co_get_allocated_file_size(BlockDriverState *bs)
{
    if (bs->drv->co_get_allocated_file_size) {
        return bs->drv->co_get_allocated_file_size(bs);
    }
    if (bs->drv->protocol_name || !bs->file) {
        return -ENOTSUP;
    }
    return bdrv_co_get_allocated_file_size(bs->file->bs);
}

int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp)
{
    BlockDriverState *bs = child->bs;
    BdrvDirtyBitmap *bm;
    int ret;

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (offset < 0) {
        error_setg(errp, "Image size cannot be negative");
        return -EINVAL;
    }
    if (offset > BDRV_MAX_LENGTH) {
        error_setg(errp, "Image size too large");
        return -EFBIG;
    }
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    if (!bs->drv->co_truncate) {
        error_setg(errp, "Image format driver does not support resize");
        return -ENOTSUP;
    }
    /* bitmaps follow the new size; one whose bits are unusable cannot */
    for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (!bdrv_dirty_bitmap_check_usable(bm, errp)) {
            return -ENOTSUP;
        }
    }
    ret = bitmaps_before_change(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not mark the bitmaps in use");
        return ret;
    }
    bs->in_flight++;
    bdrv_bsc_invalidate(bs);
    ret = bs->drv->co_truncate(bs, offset, exact, prealloc, flags, errp);
    bs->write_gen++;
    if (ret == 0) {
        for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
             bm = bdrv_dirty_bitmap_next(bs, bm)) {
            bdrv_dirty_bitmap_truncate(bm, offset);
        }
        ret = bdrv_co_refresh_total_bytes(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not refresh total sector "
                             "count");
        }
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

/* ---- block status ---- */

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, bool want_zero,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file)
{
    int64_t total, align, aligned_offset, aligned_bytes;
    int64_t local_map = 0;
    BlockDriverState *local_file = NULL;
    int ret;

    assert(pnum);
    *pnum = 0;
    total = bdrv_co_getlength(bs);
    if (total < 0) {
        return (int)total;
    }
    if (offset >= total) {
        return BDRV_BLOCK_EOF;
    }
    bytes = MIN(bytes, total - offset);
    if (bytes == 0) {
        return 0;
    }

    if (!bs->drv->co_block_status) {
        *pnum = bytes;
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
        if (bs->drv->protocol_name) {
            ret |= BDRV_BLOCK_OFFSET_VALID;
            local_map = offset;
            local_file = bs;
        }
        goto out;
    }

    /* a protocol node's last data region, known already */
    if (bs->bsc.valid && QTAILQ_EMPTY(&bs->children) &&
        offset >= bs->bsc.start && offset < bs->bsc.end) {
        *pnum = MIN(bytes, bs->bsc.end - offset);
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID |
              BDRV_BLOCK_ALLOCATED;
        local_map = offset;
        local_file = bs;
        goto out;
    }

    bs->in_flight++;
    align = bs->bl.request_alignment;
    aligned_offset = QEMU_ALIGN_DOWN(offset, align);
    aligned_bytes = QEMU_ALIGN_UP(offset + bytes, align) - aligned_offset;
    ret = bs->drv->co_block_status(bs, want_zero, aligned_offset,
                                   aligned_bytes, pnum, &local_map,
                                   &local_file);
    bdrv_dec_in_flight(bs);
    if (ret < 0) {
        *pnum = 0;
        return ret;
    }
    /*
     * A protocol's data extent may run past the request (the driver says
     * how far, file-posix does): all of it is cached, the answer clamped.
     */
    if (ret == (BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID) && want_zero &&
        local_file == bs && local_map == aligned_offset &&
        QTAILQ_EMPTY(&bs->children)) {
        bs->bsc = (BdrvBlockStatusCache) {
            .valid = true,
            .start = aligned_offset,
            .end = aligned_offset + *pnum,
        };
    }
    *pnum = MIN(*pnum, aligned_bytes);
    /* Clamp the aligned answer back to the request. */
    assert(*pnum > 0 && *pnum <= aligned_bytes);
    *pnum -= offset - aligned_offset;
    if (*pnum > bytes) {
        *pnum = bytes;
    }
    if (*pnum <= 0) {
        /* the driver's answer ended before @offset: ask byte-exactly */
        *pnum = MIN(bytes, align - (offset - aligned_offset));
    }
    if (ret & BDRV_BLOCK_OFFSET_VALID) {
        local_map += offset - aligned_offset;
    }

    if (ret & BDRV_BLOCK_RAW) {
        assert((ret & BDRV_BLOCK_OFFSET_VALID) && local_file);
        ret = bdrv_co_block_status(local_file, want_zero, local_map, *pnum,
                                   pnum, &local_map, &local_file);
        goto out;
    }

    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (bs->drv->supports_backing) {
        BlockDriverState *cow = bdrv_backing_bs(bs);
        if (!cow) {
            ret |= BDRV_BLOCK_ZERO;
        } else if (want_zero) {
            int64_t size2 = bdrv_co_getlength(cow);
            if (size2 >= 0 && offset >= size2) {
                ret |= BDRV_BLOCK_ZERO;
            }
        }
    }

    if (want_zero && (ret & BDRV_BLOCK_RECURSE) && local_file &&
        local_file != bs && (ret & BDRV_BLOCK_DATA) &&
        !(ret & BDRV_BLOCK_ZERO) && (ret & BDRV_BLOCK_OFFSET_VALID)) {
        int64_t file_pnum;
        int ret2 = bdrv_co_block_status(local_file, want_zero, local_map,
                                        *pnum, &file_pnum, NULL, NULL);
        if (ret2 >= 0) {
            if ((ret2 & BDRV_BLOCK_EOF) &&
                (!file_pnum || (ret2 & BDRV_BLOCK_ZERO))) {
                /* past the end of the file: reads as zeroes */
                ret |= BDRV_BLOCK_ZERO;
            } else {
                *pnum = file_pnum;
                ret |= ret2 & BDRV_BLOCK_ZERO;
            }
        }
    }

out:
    if (ret >= 0 && offset + *pnum == total) {
        ret |= BDRV_BLOCK_EOF;
    }
    if (map) {
        *map = local_map;
    }
    if (file) {
        *file = local_file;
    }
    /* an error from the node below stays that errno, not a masked one */
    return ret < 0 ? ret : ret & ~(BDRV_BLOCK_RAW | BDRV_BLOCK_RECURSE);
}

int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool include_base, bool want_zero,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth)
{
    BlockDriverState *p;
    int64_t eof = 0;
    int ret = 0, d = 0;

    *pnum = 0;
    if (bs == base && !include_base) {
        *pnum = bytes;          /* nothing above the base: all unallocated */
        return 0;
    }
    /* down backing files and through filters, as 7.2 */
    for (p = bs; p; p = bdrv_filter_or_cow_bs(p), d++) {
        int64_t n;

        if (p == base && !include_base) {
            break;
        }
        ret = bdrv_co_block_status(p, want_zero, offset, bytes, &n, map,
                                   file);
        if (ret < 0) {
            return ret;
        }
        if (p == bs) {
            *pnum = n;
            if (n == 0) {
                break;          /* past the end of the top image */
            }
            eof = ret & BDRV_BLOCK_EOF;
        } else if (n == 0 && (ret & BDRV_BLOCK_EOF)) {
            /* a backing file shorter than the top reads as zeroes */
            ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
            *pnum = bytes;
            break;
        }
        if ((ret & BDRV_BLOCK_ALLOCATED) || p == base) {
            *pnum = MIN(*pnum, n);
            break;
        }
        /* unallocated here: look below, but only for what we know */
        bytes = *pnum = MIN(*pnum, n);
        if (!bdrv_filter_or_cow_bs(p)) {
            break;
        }
    }
    if (depth) {
        *depth = d;
    }
    return (ret & ~BDRV_BLOCK_EOF) | (int)eof;
}

int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum)
{
    int ret = bdrv_co_block_status(bs, false, offset, bytes, pnum, NULL,
                                   NULL);

    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}

int coroutine_fn bdrv_co_copy_range(BlockDriverState *src, int64_t src_off,
                                    BlockDriverState *dst, int64_t dst_off,
                                    int64_t bytes)
{
    BlockDriverState *dfile = dst;
    int64_t dmap = dst_off;
    int ret;

    if (dst->read_only) {
        return -EPERM;
    }
    if (!dst->drv->co_copy_range_to) {
        /* a format that passes through unchanged (raw, no offset) */
        int64_t n;
        int st = dst->drv->co_block_status ?
                 dst->drv->co_block_status(dst, false, dst_off, bytes, &n,
                                           &dmap, &dfile) : -ENOTSUP;
        if (st < 0 || !(st & BDRV_BLOCK_RAW) || n < bytes ||
            dmap != dst_off || !dfile->drv->co_copy_range_to ||
            dfile->read_only) {
            return -ENOTSUP;
        }
    }
    ret = bitmaps_before_change(dst);
    if (ret < 0) {
        return ret;
    }
    while (bytes > 0) {
        int64_t pnum, map;
        BlockDriverState *sfile = NULL;
        int st = bdrv_co_block_status_above(src, NULL, false, false, src_off,
                                            bytes, &pnum, &map, &sfile,
                                            NULL);
        if (st < 0) {
            return st;
        }
        if (!(st & BDRV_BLOCK_OFFSET_VALID) || (st & BDRV_BLOCK_ZERO) ||
            !(st & BDRV_BLOCK_DATA) || !sfile || sfile->drv != dfile->drv) {
            return -ENOTSUP;
        }
        dfile->in_flight++;
        ret = dfile->drv->co_copy_range_to(dfile, dmap, sfile, map, pnum);
        dfile->write_gen++;
        dst->write_gen++;
        bdrv_dec_in_flight(dfile);
        if (ret < 0) {
            return ret;
        }
        bdrv_note_write_end(dfile, dmap + pnum);
        bdrv_set_dirty(dst, dst_off, pnum);
        src_off += pnum;
        dst_off += pnum;
        dmap += pnum;
        bytes -= pnum;
    }
    return 0;
}
