/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "copy-on-read" filter, as 7.2's: reads of the node below ("file")
 * copy into it what it does not have itself, from its backing chain (the
 * copy is io.c's, asked for with BDRV_REQ_COPY_ON_READ); everything else
 * passes through.  The same as opening that node with -C, but as a node
 * of the graph, so that a user (or a stream job) can put it above any
 * node.  7.2's "bottom" option (stop copying at a named node) needs named
 * nodes, which a tool has not: it is refused as a name that is not found.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/error.h"

static bool coroutine_fn cor_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    g_autofree char *bottom = bdrv_opt_take_str(options, "bottom");

    if (bottom) {
        error_setg(errp, "Bottom node '%s' not found", bottom);
        return false;
    }
    if (!(flags & BDRV_O_RDWR)) {
        /* 7.2's words: the filter takes write permission on its child */
        error_setg(errp, "Block node is read-only");
        return false;
    }
    bs->supported_write_flags = bs->file->bs->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags &
                               (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                                BDRV_REQ_NO_FALLBACK);
    return true;
}

static int coroutine_fn cor_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    return bdrv_co_preadv(bs->file, offset, bytes, qiov,
                          flags | BDRV_REQ_COPY_ON_READ);
}

const BlockDriver bdrv_copy_on_read = {
    .format_name = "copy-on-read",
    .instance_size = 1,
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .is_filter = true,
    .co_open = cor_co_open,
    .co_preadv = cor_co_preadv,
    .co_pwritev = bdrv_filter_co_pwritev,
    .co_pwrite_zeroes = bdrv_filter_co_pwrite_zeroes,
    .co_pdiscard = bdrv_filter_co_pdiscard,
    .co_block_status = bdrv_filter_co_block_status,
    .co_truncate = bdrv_filter_co_truncate,
    .co_getlength = bdrv_filter_co_getlength,
};
