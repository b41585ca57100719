/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the block layer reports about its nodes, in QAPI's shapes (member
 * names as 7.2's): ImageInfo for qemu-img info and the storage daemon's
 * query-named-block-nodes.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "block/snapshot.h"
#include "block/dirty-bitmap.h"

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

static uint64_t default_granularity(BlockDriverState *bs)
{
    BlockDriverInfo bdi = { 0 };

    if (bdrv_get_info(bs, &bdi) == 0 && bdi.cluster_size > 0) {
        return MAX(4096, (uint64_t)bdi.cluster_size);
    }
    return 65536;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_add_checked(BlockDriverState *bs,
                                               const char *name,
                                               int64_t granularity,
                                               bool persistent, bool disabled,
                                               Error **errp)
{
    BdrvDirtyBitmap *bm;
    int64_t size;

    if (!name[0]) {
        error_setg(errp, "Bitmap name cannot be empty");
        return NULL;
    }
    /* QMP takes 32 bits: what does not fit is refused like 0 */
    if (granularity && (granularity < 512 || granularity > UINT32_MAX ||
                        (granularity & (granularity - 1)))) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    if (!granularity) {
        granularity = default_granularity(bs);
    }
    if (persistent) {
        bm = bdrv_create_persistent_bitmap(bs, name, granularity, true, errp);
    } else {
        size = bs->total_bytes;
        bm = bdrv_dirty_bitmap_create(bs, name, granularity, size, errp);
    }
    if (bm && disabled) {
        bdrv_dirty_bitmap_set_enabled(bm, false);
    }
    return bm;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_lookup(BlockDriverState *bs,
                                          const char *name, bool any,
                                          Error **errp)
{
    BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_find(bs, name);

    if (!bm) {
        error_setg(errp, "Dirty bitmap '%s' not found", name);
        return NULL;
    }
    return any || bdrv_dirty_bitmap_check_usable(bm, errp) ? bm : NULL;
}
