/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copy engine (see include/block/copy.h).  The owner coroutine walks the
 * sources with block status and hands out chunks: a data chunk is read
 * into one of the workers' buffers, split at min_sparse granularity into
 * data and zero runs, and written; a zero chunk costs nothing on a
 * zeroed target and is a write-zeroes otherwise.  In-order mode keeps a
 * ticket (the next offset that may be written); a chunk waits only when
 * it is ahead.  Offsets here are target offsets in bytes.
 */
#include "util/osdep.h"
#include "block/copy.h"
#include "block/aio-task.h"
#include "block/driver.h"
#include "util/cutils.h"

/*
 * How far separate data answers are merged into one chunk.  512 KiB is
 * as fast as 2 MiB on a fragmented or compressed qcow2 (8 clusters of
 * 64 KiB in parallel per chunk) and keeps the memory in flight near
 * 7.2's: workers x 512 KiB instead of workers x 2 MiB.
 */
#define COPY_MERGE_MAX (512 * 1024)

typedef enum {
    CHUNK_DATA,
    CHUNK_ZERO,
    CHUNK_SKIP,                 /* left to the target's backing file */
} ChunkType;

typedef struct CopyState {
    const CopyParams *p;
    CopyResult *res;
    int64_t total;
    int64_t alloc_total, alloc_done;    /* see progress_allocated */
    int64_t wr_next;            /* in-order ticket */
    CoQueue wr_queue;           /* chunks waiting for their turn */
    GPtrArray *free_bufs;       /* idle buffers, buf_size bytes each */
    uint8_t *zero_buf;          /* for -S 0 zero chunks */
    int64_t written;            /* for the rate limit */
    int64_t start_ns;
    int64_t *src_base;          /* where each source starts; [nsrc]: total */
} CopyState;

typedef struct CopyTask {
    AioTask task;
    CopyState *s;
    BlockBackend *src;
    int64_t src_offset;
    int64_t offset;             /* in the target */
    int64_t bytes;
    ChunkType type;
    bool span;                  /* -c: a cluster across a source boundary */
} CopyTask;

static void copy_fail(CopyState *s, int ret, bool write, int64_t offset)
{
    if (s->res->ret == 0) {
        s->res->ret = ret;
        s->res->write_failed = write;
        s->res->error_offset = offset;
    }
    /* let waiting chunks see the error instead of waiting forever */
    qemu_co_queue_restart_all(&s->wr_queue);
}

static void coroutine_fn rate_limit(CopyState *s, int64_t bytes)
{
    int64_t due_ns;

    if (!s->p->rate_limit) {
        return;
    }
    s->written += bytes;
    due_ns = s->start_ns + s->written * NANOSECONDS_PER_SECOND /
             s->p->rate_limit;
    if (due_ns > get_clock_ns()) {
        qemu_co_sleep_ns(due_ns - get_clock_ns());
    }
}

static int coroutine_fn write_zeroes(CopyState *s, int64_t offset,
                                     int64_t bytes)
{
    const CopyParams *p = s->p;
    int ret = 0;

    if (p->target_zeroed) {
        return 0;
    }
    if (p->min_sparse || p->src_base) {
        return blk_co_pwrite_zeroes(p->target, offset, bytes,
                                    BDRV_REQ_MAY_UNMAP);
    }
    /*
     * -S 0: fully allocated, so zeroes are written as data; with -c as
     * compressed clusters (as 7.2: a few bytes each, not a whole cluster)
     */
    while (bytes > 0 && ret == 0) {
        int64_t n = MIN(bytes, p->compress_cluster ? p->compress_cluster :
                                                     p->buf_size);
        ret = blk_co_pwrite(p->target, offset, n, s->zero_buf,
                            p->compress_cluster ? BDRV_REQ_WRITE_COMPRESSED :
                                                  0);
        offset += n;
        bytes -= n;
    }
    return ret;
}

/* Write @bytes of @buf at @offset, as data and zero runs. */
static int coroutine_fn write_buffer(CopyState *s, int64_t offset,
                                     int64_t bytes, const uint8_t *buf)
{
    int64_t gran = s->p->min_sparse, pos = 0;
    int ret = 0;

    if (!gran) {
        return blk_co_pwrite(s->p->target, offset, bytes, buf, 0);
    }
    while (pos < bytes && ret == 0) {
        /* runs end on target offsets that are multiples of gran */
        int64_t end = MIN(bytes, QEMU_ALIGN_UP(offset + pos + 1, gran) -
                          offset);
        bool zero = buffer_is_zero(buf + pos, end - pos);

        while (end < bytes) {
            int64_t next = MIN(bytes, end + gran);
            if (buffer_is_zero(buf + end, next - end) != zero) {
                break;
            }
            end = next;
        }
        ret = zero ? write_zeroes(s, offset + pos, end - pos) :
                     blk_co_pwrite(s->p->target, offset + pos, end - pos,
                                   buf + pos, 0);
        pos = end;
    }
    return ret;
}

/* A compressed chunk: one cluster, skipped when it is all zeroes. */
static int coroutine_fn write_compressed(CopyState *s, int64_t offset,
                                         int64_t bytes, const uint8_t *buf)
{
    if (buffer_is_zero(buf, bytes)) {
        return write_zeroes(s, offset, bytes);
    }
    return blk_co_pwrite(s->p->target, offset, bytes, buf,
                         BDRV_REQ_WRITE_COMPRESSED);
}

/*
 * Read @n bytes at @pos of chunk @t into @buf.  A span chunk reads from
 * every source its target range covers, in turn.
 */
static int coroutine_fn read_chunk(CopyState *s, CopyTask *t, int64_t pos,
                                   int64_t n, uint8_t *buf)
{
    int64_t off = t->offset + pos;
    int i = 0;

    if (!t->span) {
        return blk_co_pread(t->src, t->src_offset + pos, n, buf, 0);
    }
    while (n > 0) {
        int64_t end, len;
        int ret;

        while (s->src_base[i + 1] <= off) {
            i++;
        }
        end = s->src_base[i + 1];
        len = MIN(n, end - off);
        ret = blk_co_pread(s->p->src[i], off - s->src_base[i], len, buf, 0);
        if (ret < 0) {
            return ret;
        }
        off += len;
        buf += len;
        n -= len;
    }
    return 0;
}

/* --salvage: read sector by sector; unreadable sectors become zeroes. */
static int coroutine_fn salvage_read(CopyState *s, CopyTask *t, uint8_t *buf)
{
    int64_t pos;

    for (pos = 0; pos < t->bytes; pos += BDRV_SECTOR_SIZE) {
        int64_t n = MIN(BDRV_SECTOR_SIZE, t->bytes - pos);
        int ret = read_chunk(s, t, pos, n, buf + pos);
        if (ret < 0) {
            memset(buf + pos, 0, n);
            s->p->salvage(s->p->progress_opaque, t->offset + pos, ret);
        }
    }
    return 0;
}

static void coroutine_fn wait_turn(CopyState *s, CopyTask *t)
{
    if (s->p->in_order) {
        while (s->wr_next != t->offset && s->res->ret == 0) {
            qemu_co_queue_wait(&s->wr_queue, NULL);
        }
    }
}

static void pass_turn(CopyState *s, CopyTask *t)
{
    if (s->p->in_order) {
        s->wr_next = t->offset + t->bytes;
        qemu_co_queue_restart_all(&s->wr_queue);
    }
}

/*
 * -C: the chunk in one copy_file_range, in its turn.  -ENOTSUP (nothing
 * reported) when offload cannot take it; the caller reads and writes.
 * Like 7.2's -C, data is copied as it is, zero blocks included.
 */

static bool counts_as_allocated(const CopyParams *p, ChunkType type)
{
    return type == CHUNK_DATA || (type == CHUNK_ZERO && !p->min_sparse);
}

static void report_progress(CopyState *s, CopyTask *t)
{
    const CopyParams *p = s->p;

    if (!p->progress) {
        return;
    }
    if (!p->progress_allocated) {
        p->progress(p->progress_opaque, t->bytes, s->total);
    } else if (counts_as_allocated(p, t->type)) {
        s->alloc_done += t->bytes;
        p->progress(p->progress_opaque, s->alloc_done, s->alloc_total);
    }
}

static int coroutine_fn copy_offload(CopyState *s, CopyTask *t)
{
    int ret;

    wait_turn(s, t);
    if (s->res->ret) {
        return s->res->ret;
    }
    rate_limit(s, t->bytes);
    ret = bdrv_co_copy_range(blk_bs(t->src), t->src_offset,
                             blk_bs(s->p->target), t->offset, t->bytes);
    if (ret == -ENOTSUP) {
        return ret;
    }
    if (ret < 0) {
        copy_fail(s, ret, true, t->offset);
        return ret;
    }
    pass_turn(s, t);
    report_progress(s, t);
    return 0;
}

static int coroutine_fn copy_task_func(AioTask *task)
{
    CopyTask *t = container_of(task, CopyTask, task);
    CopyState *s = t->s;
    uint8_t *buf = NULL;
    bool early, held;
    int ret = 0;

    if (t->type == CHUNK_DATA && s->p->copy_range &&
        !s->p->compress_cluster) {
        ret = copy_offload(s, t);
        if (ret != -ENOTSUP) {
            goto out;
        }
    }
    if (t->type == CHUNK_DATA) {
        buf = g_ptr_array_steal_index_fast(s->free_bufs,
                                           s->free_bufs->len - 1);
        ret = read_chunk(s, t, 0, t->bytes, buf);
        if (ret < 0 && s->p->salvage) {
            ret = salvage_read(s, t, buf);
        }
        if (ret < 0) {
            copy_fail(s, ret, false, t->offset);
            goto out;
        }
    }
    wait_turn(s, t);
    if (s->res->ret) {
        ret = s->res->ret;
        goto out;
    }
    rate_limit(s, t->type == CHUNK_DATA ? t->bytes : 0);
    /*
     * The driver allocates compressed clusters in the order the writes are
     * issued, and an issue-ordered target sees them in that order: pass
     * the turn on as soon as ours is issued (the chunks woken run once
     * this coroutine yields, inside the write), so that the next chunks
     * compress or go out while this one does; a run of zeroes written as
     * compressed clusters (-S 0) keeps it until all of them are.
     */
    early = s->p->compress_cluster || s->p->issue_ordered;
    held = s->p->compress_cluster && t->type == CHUNK_ZERO &&
           !s->p->min_sparse && !s->p->src_base;
    if (early && !held) {
        pass_turn(s, t);
    }
    if (t->type == CHUNK_SKIP) {
        ret = 0;
    } else if (s->p->compress_cluster) {
        ret = t->type == CHUNK_ZERO ? write_zeroes(s, t->offset, t->bytes) :
              write_compressed(s, t->offset, t->bytes, buf);
    } else if (t->type == CHUNK_ZERO) {
        ret = write_zeroes(s, t->offset, t->bytes);
    } else {
        ret = write_buffer(s, t->offset, t->bytes, buf);
    }
    if (ret < 0) {
        copy_fail(s, ret, true, t->offset);
        goto out;
    }
    if (!early || held) {
        pass_turn(s, t);
    }
    report_progress(s, t);
out:
    if (buf) {
        g_ptr_array_add(s->free_bufs, buf);
    }
    return ret;
}

/* What to do with a run of status @st starting at target offset @offset. */
static ChunkType chunk_type(const CopyParams *p, int st, int64_t offset)
{
    if (p->src_base && !(st & BDRV_BLOCK_ALLOCATED)) {
        return CHUNK_SKIP;      /* commit: the base has it already */
    }
    if (st & BDRV_BLOCK_ZERO) {
        /* past the backing file's end the overlay reads zeroes anyway */
        return p->target_has_backing && p->target_backing_len >= 0 &&
               offset >= p->target_backing_len ? CHUNK_SKIP : CHUNK_ZERO;
    }
    if (st & BDRV_BLOCK_DATA) {
        return CHUNK_DATA;
    }
    return p->target_has_backing ? CHUNK_SKIP : CHUNK_DATA;
}

/*
 * The source's status at @pos: with -B only the top layer counts, for a
 * commit the layers above the base.
 */
static int coroutine_fn copy_status(const CopyParams *p,
                                    BlockDriverState *bs, int64_t pos,
                                    int64_t bytes, int64_t *run)
{
    return p->target_has_backing ?
           bdrv_co_block_status(bs, true, pos, bytes, run, NULL, NULL) :
           bdrv_co_block_status_above(bs, p->src_base, false, true, pos,
                                      bytes, run, NULL, NULL, NULL);
}

/*
 * copy_status, and with --salvage an answer where the query fails: as
 * 7.2, ever shorter queries (a quarter each time) until one answers or a
 * single sector fails, which is reported and taken as data.
 */
static int coroutine_fn copy_status_salvaged(const CopyParams *p,
                                             BlockDriverState *bs,
                                             int64_t pos, int64_t bytes,
                                             int64_t *run)
{
    int64_t n = bytes;
    int st = copy_status(p, bs, pos, bytes, run);

    if (st >= 0 || !p->salvage) {
        return st;
    }
    while (n > BDRV_SECTOR_SIZE) {
        n = MIN(ROUND_UP(DIV_ROUND_UP(n, 4), BDRV_SECTOR_SIZE), bytes);
        st = copy_status(p, bs, pos, n, run);
        if (st >= 0) {
            return st;
        }
    }
    if (p->salvage_status) {
        p->salvage_status(p->progress_opaque, pos, st);
    }
    *run = n;
    return BDRV_BLOCK_DATA;
}

int64_t coroutine_fn copy_co_total_size(const CopyParams *p)
{
    int64_t total = 0;
    int i;

    for (i = 0; i < p->nsrc; i++) {
        int64_t len = blk_co_getlength(p->src[i]);
        if (len < 0) {
            return len;
        }
        total += len;
    }
    return total;
}

/* progress_allocated: the bytes the progress counts, before the copy. */
static void coroutine_fn count_allocated(CopyState *s)
{
    const CopyParams *p = s->p;
    int i;

    for (i = 0; i < p->nsrc; i++) {
        BlockDriverState *bs = blk_bs(p->src[i]);
        int64_t base = s->src_base[i], len = s->src_base[i + 1] - base;
        int64_t pos = 0, run;

        while (pos < len) {
            int st = copy_status_salvaged(p, bs, pos, len - pos, &run);

            if (st < 0) {
                return;         /* the copy meets it again and reports it */
            }
            if (counts_as_allocated(p, chunk_type(p, st, base + pos))) {
                s->alloc_total += run;
            }
            pos += run;
        }
    }
}

/*
 * Copy [pos, +n) of source @i (at the same place past its start in the
 * target) as one task on @pool; @span: the bytes run on into the next
 * source (a compressed cluster across the boundary).
 */
static void start_task(CopyState *s, AioTaskPool *pool, int i, int64_t pos,
                       int64_t n, ChunkType type, bool span)
{
    CopyTask *t = g_new0(CopyTask, 1);

    t->task.func = copy_task_func;
    t->s = s;
    t->src = s->p->src[i];
    t->src_offset = pos;
    t->offset = s->src_base[i] + pos;
    t->bytes = n;
    t->type = type;
    t->span = span;
    aio_task_pool_start_task(pool, &t->task);
}

/*
 * Compressed: whole target clusters, carved from this one status answer
 * [pos, +run) of source @i (asking per cluster would cost a SEEK_DATA
 * scan each).  A zero run counts only for the clusters it covers
 * entirely; a cluster with any data is read whole, even past the run's
 * end.  Returns where the next task starts.
 */
static int64_t start_compressed_tasks(CopyState *s, AioTaskPool *pool, int i,
                                      int64_t pos, int64_t run,
                                      ChunkType type)
{
    int64_t cl = s->p->compress_cluster, end = pos + run;
    int64_t base = s->src_base[i], len = s->src_base[i + 1] - base;

    while (pos < end && s->res->ret == 0) {
        int64_t start = base + pos;
        int64_t cstart = QEMU_ALIGN_DOWN(start, cl);
        int64_t n;

        if (type != CHUNK_DATA && start == cstart && end - pos >= cl) {
            n = MIN(QEMU_ALIGN_DOWN(base + end, cl) - start,
                    QEMU_ALIGN_DOWN(BDRV_REQUEST_MAX_BYTES, cl));
            start_task(s, pool, i, pos, n, type, false);
        } else {
            /*
             * The whole cluster, even across the end of this source: one
             * compressed write of data from both (7.2 does the same).
             */
            n = MIN(cstart + cl, s->total) - start;
            start_task(s, pool, i, pos, n, CHUNK_DATA,
                       start + n > base + len);
        }
        pos += n;
    }
    return pos;
}

void coroutine_fn copy_co_run(const CopyParams *p, CopyResult *res)
{
    CopyState s = { .p = p, .res = res };
    AioTaskPool *pool;
    int64_t covered = 0;
    int i;

    memset(res, 0, sizeof(*res));
    /* where each source starts in the target; [nsrc]: the total */
    s.src_base = g_new(int64_t, p->nsrc + 1);
    s.src_base[0] = 0;
    for (i = 0; i < p->nsrc; i++) {
        int64_t len = blk_co_getlength(p->src[i]);
        if (len < 0) {
            res->ret = (int)len;
            g_free(s.src_base);
            return;
        }
        s.src_base[i + 1] = s.src_base[i] + len;
    }
    s.total = s.src_base[p->nsrc];
    /*
     * The counting pass: for the progress, and with --salvage always, as
     * 7.2's first pass (which reports a failed status there too).
     */
    if ((p->progress && p->progress_allocated) || p->salvage) {
        count_allocated(&s);
    }
    qemu_co_queue_init(&s.wr_queue);
    s.free_bufs = g_ptr_array_new_with_free_func(blk_buf_free);
    for (i = 0; i < p->workers; i++) {
        g_ptr_array_add(s.free_bufs,
                        blk_buf_alloc(blk_bs(p->target), p->buf_size));
    }
    if (!p->min_sparse && !p->target_zeroed) {
        s.zero_buf = blk_buf_alloc(blk_bs(p->target), p->buf_size);
        memset(s.zero_buf, 0, p->buf_size);
    }
    s.start_ns = get_clock_ns();
    pool = aio_task_pool_new(p->workers);

    for (i = 0; i < p->nsrc && res->ret == 0; i++) {
        BlockDriverState *bs = blk_bs(p->src[i]);
        int64_t base = s.src_base[i], len = s.src_base[i + 1] - base;
        /* -c: what a cluster across the previous boundary already took */
        int64_t pos = MAX(0, covered - base);

        /* a status answer already in hand: [next_pos, next_pos + next_run) */
        int64_t next_pos = 0, next_run = 0;
        int64_t merge_cap = MIN(p->buf_size, COPY_MERGE_MAX);
        ChunkType next_type = CHUNK_DATA;

        while (pos < len && res->ret == 0) {
            int64_t run;
            ChunkType type;

            if (pos >= next_pos && pos < next_pos + next_run) {
                /* (-c may have read on past the answer's start) */
                run = next_pos + next_run - pos;
                type = next_type;
                next_run = 0;
            } else {
                int st = copy_status_salvaged(p, bs, pos, len - pos, &run);
                if (st < 0) {
                    copy_fail(&s, st, false, base + pos);
                    res->status_failed = res->error_offset == base + pos &&
                                         !res->write_failed;
                    break;
                }
                type = chunk_type(p, st, base + pos);
            }
            /*
             * Runs of data are one chunk (up to COPY_MERGE_MAX) even where
             * the source maps them to scattered places (a fragmented or
             * compressed qcow2 answers per host extent): the format's own
             * read splits the chunk into parallel requests, and the
             * target gets one write instead of one per cluster.
             */
            while (type == CHUNK_DATA && run < merge_cap &&
                   pos + run < len) {
                int64_t more;
                int st = copy_status(p, bs, pos + run, len - pos - run,
                                     &more);
                if (st < 0) {
                    break;          /* reported when the cursor gets there */
                }
                if (chunk_type(p, st, base + pos + run) != CHUNK_DATA) {
                    next_pos = pos + run;
                    next_run = more;
                    next_type = chunk_type(p, st, base + pos + run);
                    break;
                }
                run += more;
            }
            if (p->compress_cluster) {
                pos = start_compressed_tasks(&s, pool, i, pos, run, type);
                covered = base + pos;
                continue;
            }
            /* hand the run out in chunks (zero runs whole: no buffer) */
            while (run > 0 && res->ret == 0) {
                int64_t n = type == CHUNK_DATA ? MIN(run, p->buf_size) :
                            MIN(run, BDRV_REQUEST_MAX_BYTES);

                /* skipped runs still take their in-order turn: a no-op */
                start_task(&s, pool, i, pos, n, type, false);
                pos += n;
                run -= n;
            }
        }
    }
    aio_task_pool_wait_all(pool);
    aio_task_pool_free(pool);
    if (p->compress_cluster && res->ret == 0) {
        /* end of the compressed stream: the format may align its file */
        int ret = blk_co_pwrite(p->target, 0, 0, NULL,
                                BDRV_REQ_WRITE_COMPRESSED);
        if (ret < 0) {
            copy_fail(&s, ret, true, s.total);
        }
    }
    g_ptr_array_free(s.free_bufs, TRUE);
    blk_buf_free(s.zero_buf);
    g_free(s.src_base);
}
