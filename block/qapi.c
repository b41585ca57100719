/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the block layer reports about its nodes, in QAPI's shapes (member
 * names as 7.2's): ImageInfo for qemu-img info and the storage daemon's
 * query-named-block-nodes.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "block/snapshot.h"

QDict *coroutine_fn bdrv_co_query_image_info(BlockDriverState *bs,
                                            const char *filename,
                                            Error **errp)
{
    QDict *info = qdict_new();
    BlockDriverInfo bdi;
    int64_t size = bdrv_co_getlength(bs);
    int64_t actual = bdrv_co_get_allocated_file_size(bs);
    QDict *spec;
    QObject *snapshots;
    Error *err = NULL;

    if (size < 0) {
        error_setg(errp, "Can't get image size '%s': %s", filename,
                   strerror(-size));
        qobject_unref(info);
        return NULL;
    }
    qdict_put_str(info, "filename", filename);
    qdict_put_str(info, "format", bdrv_get_format_name(bs));
    qdict_put_int(info, "virtual-size", size);
    if (actual >= 0) {
        qdict_put_int(info, "actual-size", actual);
    }
    if (bdrv_get_info(bs, &bdi) == 0) {
        if (bdi.cluster_size) {
            qdict_put_int(info, "cluster-size", bdi.cluster_size);
        }
        qdict_put_bool(info, "dirty-flag", bdi.is_dirty);
        if (bdi.encrypted) {
            qdict_put_bool(info, "encrypted", true);
        }
    }
    if (bs->backing_file) {
        g_autofree char *full = bdrv_get_full_backing_filename(bs);
        qdict_put_str(info, "backing-filename", bs->backing_file);
        if (full) {
            qdict_put_str(info, "full-backing-filename", full);
        }
        if (bs->backing_format) {
            qdict_put_str(info, "backing-filename-format",
                          bs->backing_format);
        }
    }
    snapshots = bdrv_snapshot_list(bs);
    if (snapshots) {
        qdict_put_obj(info, "snapshots", snapshots);
    }
    spec = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_propagate(errp, err);
        qobject_unref(info);
        return NULL;
    }
    if (spec) {
        qdict_put_obj(info, "format-specific", spec);
    }
    return info;
}
