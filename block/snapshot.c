/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal snapshots: the generic side.  Drivers implement the
 * snapshot_* / co_snapshot_* members of BlockDriver.
 */
#include "util/osdep.h"
#include "block/snapshot.h"
#include "block/driver.h"
#include "block/dirty-bitmap.h"

QObject *bdrv_snapshot_list(BlockDriverState *bs)
{
    return bs->drv->snapshot_list ? bs->drv->snapshot_list(bs) : NULL;
}

int coroutine_fn bdrv_co_snapshot_load_tmp(BlockDriverState *bs,
                                           const char *id, const char *name,
                                           Error **errp)
{
    int ret;

    if (!id && !name) {
        error_setg(errp, "snapshot_id and name are both NULL");
        return -EINVAL;
    }
    if (!bdrv_is_read_only(bs)) {
        error_setg(errp, "Device is not readonly");
        return -EINVAL;
    }
    if (!bs->drv->co_snapshot_load_tmp) {
        error_setg(errp, "Block format '%s' used by device '' does not "
                   "support temporarily loading internal snapshots",
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    ret = bs->drv->co_snapshot_load_tmp(bs, id, name, errp);
    if (ret < 0) {
        return ret;
    }
    /* a snapshot may have another disk size than the active layer */
    ret = bdrv_co_refresh_total_bytes(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not refresh total sector count");
    }
    return ret;
}

int coroutine_fn bdrv_co_snapshot_load_tmp_by_id_or_name(
    BlockDriverState *bs, const char *id_or_name, Error **errp)
{
    Error *err = NULL;
    int ret = bdrv_co_snapshot_load_tmp(bs, id_or_name, NULL, &err);

    /* as 7.2: no snapshot with that ID, try it as a name */
    if (ret == -ENOENT || ret == -EINVAL) {
        error_free(err);
        return bdrv_co_snapshot_load_tmp(bs, NULL, id_or_name, errp);
    }
    error_propagate(errp, err);
    return ret;
}

int coroutine_fn bdrv_co_snapshot_create(BlockDriverState *bs,
                                         const BdrvSnapshotInfo *info)
{
    if (!bs->drv->co_snapshot_create) {
        return -ENOTSUP;
    }
    if (bdrv_is_read_only(bs)) {
        return -EACCES;
    }
    return bs->drv->co_snapshot_create(bs, info);
}

int coroutine_fn bdrv_co_snapshot_goto(BlockDriverState *bs,
                                       const char *id_or_name, Error **errp)
{
    int ret;

    if (bdrv_dirty_bitmap_count_all(bs)) {
        error_setg(errp, "Device has active dirty bitmaps");
        return -EBUSY;
    }
    if (!bs->drv->co_snapshot_goto) {
        error_setg(errp, "Block driver does not support snapshots");
        return -ENOTSUP;
    }
    ret = bs->drv->co_snapshot_goto(bs, id_or_name);
    if (ret == 0) {
        ret = bdrv_co_refresh_total_bytes(bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to load snapshot");
    }
    return ret;
}

int coroutine_fn bdrv_co_snapshot_delete(BlockDriverState *bs,
                                         const char *id, const char *name,
                                         Error **errp)
{
    if (!id && !name) {
        error_setg(errp, "snapshot_id and name are both NULL");
        return -EINVAL;
    }
    if (!bs->drv->co_snapshot_delete) {
        error_setg(errp, "Block format '%s' used by device '' does not "
                   "support internal snapshot deletion",
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    return bs->drv->co_snapshot_delete(bs, id, name, errp);
}
