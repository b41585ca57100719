/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal snapshots: the generic side.  Drivers implement the
 * snapshot_* / co_snapshot_* members of BlockDriver.
 */
#include "util/osdep.h"
#include "block/snapshot.h"
#include "block/driver.h"

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
