/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BlockBackend: the user's handle on a node graph (see the header).
 */
#include "util/osdep.h"
#include "block/block-backend.h"
#include "block/driver.h"

struct BlockBackend {
    BdrvChild root;             /* not in any parent's child list */
    bool enable_write_cache;
    bool allow_write_beyond_eof;
    int64_t in_flight;
    CoQueue drain_waiters;
    int quiesce_counter;        /* drained sections of the root */
    CoQueue quiesce_queue;      /* requests held meanwhile */
    bool disable_request_queuing;
};

static void blk_drained_begin(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    blk->quiesce_counter++;
}

static void blk_drained_end(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    assert(blk->quiesce_counter > 0);
    if (--blk->quiesce_counter == 0) {
        qemu_co_queue_restart_all(&blk->quiesce_queue);
    }
}

static bool blk_drained_poll(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    return blk->in_flight > 0;
}

static const BdrvChildOps blk_child_ops = {
    .drained_begin = blk_drained_begin,
    .drained_end = blk_drained_end,
    .drained_poll = blk_drained_poll,
};

bool bdrv_has_blk(BlockDriverState *bs)
{
    BdrvChild *c;

    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        if (c->ops == &blk_child_ops) {
            return true;
        }
    }
    return false;
}

bool bdrv_is_root_node(BlockDriverState *bs)
{
    BdrvChild *c;

    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        if (c->ops != &blk_child_ops) {
            return false;
        }
    }
    return true;
}

BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared, Error **errp)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);

    blk->root.name = (char *)"root";
    blk->root.ops = &blk_child_ops;
    blk->root.opaque = blk;
    qemu_co_queue_init(&blk->quiesce_queue);
    if (!bdrv_root_attach(bs, &blk->root, perm, shared, errp)) {
        bdrv_unref(bs);
        g_free(blk);
        return NULL;
    }
    blk->enable_write_cache = true;
    qemu_co_queue_init(&blk->drain_waiters);
    return blk;
}

void blk_perm_from_flags(int flags, uint64_t *perm, uint64_t *shared)
{
    *perm = 0;
    if (!(flags & BDRV_O_NO_IO)) {
        *perm |= BLK_PERM_CONSISTENT_READ;
        if (flags & BDRV_O_RDWR) {
            *perm |= BLK_PERM_WRITE;
        }
    }
    if (flags & BDRV_O_RESIZE) {
        *perm |= BLK_PERM_RESIZE;
    }
    *shared = (flags & BDRV_O_NO_SHARE) ?
              BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED :
              BLK_PERM_ALL;
}

BlockBackend *coroutine_fn blk_co_new_open(const char *filename,
                                           QDict *options, int flags,
                                           Error **errp)
{
    BlockDriverState *bs;
    uint64_t perm, shared;

    blk_perm_from_flags(flags, &perm, &shared);
    bs = bdrv_co_open(filename, options,
                      flags & ~(BDRV_O_NO_SHARE | BDRV_O_RESIZE), errp);
    return bs ? blk_new_with_bs(bs, perm, shared, errp) : NULL;
}

void blk_unref(BlockBackend *blk)
{
    if (blk) {
        BlockDriverState *bs = blk->root.bs;

        assert(blk->in_flight == 0);
        bdrv_root_detach(&blk->root);
        bdrv_unref(bs);
        g_free(blk);
    }
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->root.bs;
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->enable_write_cache = wce;
}

bool blk_enable_write_cache(BlockBackend *blk)
{
    return blk->enable_write_cache;
}

void blk_set_allow_write_beyond_eof(BlockBackend *blk, bool allow)
{
    blk->allow_write_beyond_eof = allow;
}

static int coroutine_fn blk_check_request(BlockBackend *blk, int64_t offset,
                                          int64_t bytes, bool is_write)
{
    int64_t len;

    if (!bdrv_is_inserted(blk->root.bs)) {
        return -ENOMEDIUM;
    }
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    if (is_write && blk->allow_write_beyond_eof) {
        return 0;
    }
    len = bdrv_co_getlength(blk->root.bs);
    if (len < 0) {
        return (int)len;
    }
    if (offset > len || len - offset < bytes) {
        return -EIO;
    }
    return 0;
}

void blk_set_disable_request_queuing(BlockBackend *blk, bool disable)
{
    blk->disable_request_queuing = disable;
}

/* A new request: held while the root is drained (unless told not to). */
static void coroutine_fn blk_inc(BlockBackend *blk)
{
    while (blk->quiesce_counter && !blk->disable_request_queuing) {
        qemu_co_queue_wait(&blk->quiesce_queue, NULL);
    }
    blk->in_flight++;
}

static void blk_dec(BlockBackend *blk)
{
    if (--blk->in_flight == 0) {
        qemu_co_queue_restart_all(&blk->drain_waiters);
        if (blk->quiesce_counter) {
            bdrv_drain_wake();
        }
    }
}

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags)
{
    int ret;

    blk_inc(blk);
    ret = blk_check_request(blk, offset, bytes, false);
    if (ret == 0) {
        ret = bdrv_co_preadv(&blk->root, offset, bytes, qiov, flags);
    }
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    int ret;

    if (!blk->enable_write_cache) {
        flags |= BDRV_REQ_FUA;
    }
    blk_inc(blk);
    ret = blk_check_request(blk, offset, bytes, true);
    if (ret == 0) {
        ret = bdrv_co_pwritev(&blk->root, offset, bytes, qiov, flags);
    }
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_pread(BlockBackend *blk, int64_t offset,
                              int64_t bytes, void *buf,
                              BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return blk_co_preadv(blk, offset, bytes, &qiov, flags);
}

int coroutine_fn blk_co_pwrite(BlockBackend *blk, int64_t offset,
                               int64_t bytes, const void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return blk_co_pwritev(blk, offset, bytes, &qiov, flags);
}

int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags)
{
    int ret;

    if (!blk->enable_write_cache) {
        flags |= BDRV_REQ_FUA;
    }
    blk_inc(blk);
    ret = blk_check_request(blk, offset, bytes, true);
    if (ret == 0) {
        ret = bdrv_co_pwrite_zeroes(&blk->root, offset, bytes, flags);
    }
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes)
{
    int ret;

    blk_inc(blk);
    ret = blk_check_request(blk, offset, bytes, false);
    if (ret == 0) {
        ret = bdrv_co_pdiscard(&blk->root, offset, bytes);
    }
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_flush(BlockBackend *blk)
{
    int ret;

    if (!bdrv_is_inserted(blk->root.bs)) {
        return -ENOMEDIUM;
    }
    blk_inc(blk);
    ret = bdrv_co_flush(blk->root.bs);
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_save_vmstate(BlockBackend *blk, const void *buf,
                                     int64_t pos, int64_t bytes)
{
    QEMUIOVector qiov;
    int ret;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    blk_inc(blk);
    ret = bdrv_co_rw_vmstate(blk->root.bs, &qiov, pos, false);
    if (ret == 0 && !blk->enable_write_cache) {
        ret = bdrv_co_flush(blk->root.bs);
    }
    blk_dec(blk);
    return ret;
}

int coroutine_fn blk_co_load_vmstate(BlockBackend *blk, void *buf,
                                     int64_t pos, int64_t bytes)
{
    QEMUIOVector qiov;
    int ret;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    blk_inc(blk);
    ret = bdrv_co_rw_vmstate(blk->root.bs, &qiov, pos, true);
    blk_dec(blk);
    return ret;
}

int64_t coroutine_fn blk_co_getlength(BlockBackend *blk)
{
    if (!bdrv_is_inserted(blk->root.bs)) {
        return -ENOMEDIUM;      /* a drive without a disc, as 7.2 */
    }
    return bdrv_co_getlength(blk->root.bs);
}

int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp)
{
    int ret;

    blk_inc(blk);
    ret = bdrv_co_truncate(&blk->root, offset, exact, prealloc, flags, errp);
    blk_dec(blk);
    return ret;
}

void coroutine_fn blk_co_drain(BlockBackend *blk)
{
    while (blk->in_flight > 0) {
        qemu_co_queue_wait(&blk->drain_waiters, NULL);
    }
}

int64_t blk_in_flight(BlockBackend *blk)
{
    return blk->in_flight;
}
