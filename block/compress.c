/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "compress" filter, as 7.2's: every write to the node below
 * ("file") is a compressed write (BDRV_REQ_WRITE_COMPRESSED), so that a
 * user that cannot ask for compression (qemu-io write, a job, an export)
 * still writes compressed clusters.  Requests are aligned to the child's
 * cluster size: io.c pads a partial cluster with what is there, and the
 * whole cluster is compressed.  Only a format that compresses may be
 * below it.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/error.h"

static bool coroutine_fn compress_co_open(BlockDriverState *bs,
                                          QDict *options, int flags,
                                          Error **errp)
{
    const BlockDriver *drv = bs->file->bs->drv;

    if (!drv || !drv->supports_compression) {
        error_setg(errp, "Compression is not supported for underlying "
                   "format: %s", drv ? drv->format_name : "(no format)");
        return false;
    }
    bs->supported_write_flags = bs->file->bs->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags &
                               (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                                BDRV_REQ_NO_FALLBACK);
    return true;
}

static void compress_refresh_limits(BlockDriverState *bs)
{
    BlockDriverInfo bdi = { 0 };

    if (bdrv_get_info(bs->file->bs, &bdi) == 0 && bdi.cluster_size > 0) {
        bs->bl.request_alignment = MAX(bs->bl.request_alignment,
                                       (uint32_t)bdi.cluster_size);
    }
}

static int coroutine_fn compress_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov,
                           flags | BDRV_REQ_WRITE_COMPRESSED);
}

const BlockDriver bdrv_compress = {
    .format_name = "compress",
    .instance_size = 1,
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .is_filter = true,
    .co_open = compress_co_open,
    .refresh_limits = compress_refresh_limits,
    .co_preadv = bdrv_filter_co_preadv,
    .co_pwritev = compress_co_pwritev,
    .co_pwrite_zeroes = bdrv_filter_co_pwrite_zeroes,
    .co_pdiscard = bdrv_filter_co_pdiscard,
    .co_block_status = bdrv_filter_co_block_status,
    .co_truncate = bdrv_filter_co_truncate,
    .co_getlength = bdrv_filter_co_getlength,
};
