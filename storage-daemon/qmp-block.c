/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The storage daemon's block commands: nodes (blockdev-add/-del,
 * query-named-block-nodes, block_resize) and dirty bitmaps, with 7.2's
 * argument checks and texts.  The monitor owns one reference on each node
 * it added; blockdev-del drops it.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "block/block.h"
#include "block/driver.h"
#include "block/dirty-bitmap.h"
#include "block/block-backend.h"

static GPtrArray *monitor_nodes;        /* BlockDriverState, referenced */

BlockDriverState *qsd_lookup_node(const char *device, const char *node_name,
                                  Error **errp)
{
    const char *name = device ? device : node_name;
    BlockDriverState *bs = name ? bdrv_find_node(name) : NULL;

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node_name ? node_name : "");
    }
    return bs;
}

/* ---- blockdev-add / blockdev-del ---- */

/* Whether flat @opts give @name: a string, or any of its members */
static bool has_member(QDict *opts, const char *name)
{
    size_t len = strlen(name), i;

    for (i = 0; i < qdict_size(opts); i++) {
        const char *key = qdict_key_at(opts, i);

        if (!strncmp(key, name, len) && (!key[len] || key[len] == '.')) {
            return true;
        }
    }
    return false;
}

bool coroutine_fn qsd_blockdev_add(QDict *opts, Error **errp)
{
    g_autoptr(QObject) o = opts;
    const char *drv = qdict_get_try_str(opts, "driver");
    const BlockDriver *bdrv = drv ? bdrv_find_format(drv) : NULL;
    BlockDriverState *bs;

    /* 7.2's schema first: a format (and a filter) needs its file */
    if (bdrv && !bdrv->protocol_name && !has_member(opts, "file")) {
        error_setg(errp, "Parameter 'file' is missing");
        return false;
    }
    if (!qdict_get_try_str(opts, "node-name")) {
        error_setg(errp, "'node-name' must be specified for the root node");
        return false;
    }
    if (drv && !bdrv) {
        error_setg(errp, "Parameter 'driver' does not accept value '%s'", drv);
        return false;
    }
    bs = bdrv_co_open(NULL, g_steal_pointer(&o), BDRV_O_RDWR, errp);
    if (!bs) {
        return false;
    }
    if (!monitor_nodes) {
        monitor_nodes = g_ptr_array_new();
    }
    g_ptr_array_add(monitor_nodes, bs);
    return true;
}

static void coroutine_fn qmp_blockdev_add(QDict *args, QObject **ret,
                                          Error **errp)
{
    QObject *v = qdict_get(args, "driver");
    QObject *nn = qdict_get(args, "node-name");

    if (!v) {
        error_setg(errp, "Parameter 'driver' is missing");
        return;
    }
    if (qobject_type(v) != QTYPE_STRING) {
        error_setg(errp, "Invalid parameter type for 'driver', expected: "
                   "string");
        return;
    }
    if (nn && qobject_type(nn) != QTYPE_STRING) {
        error_setg(errp, "Invalid parameter type for 'node-name', expected: "
                   "string");
        return;
    }
    qsd_blockdev_add(qdict_flatten_to_options(args), errp);
}

static void coroutine_fn qmp_blockdev_del(QDict *args, QObject **ret,
                                          Error **errp)
{
    const char *name;
    BlockDriverState *bs;

    if (!qmp_check_args(args, "node-name:s", errp)) {
        return;
    }
    name = qmp_str(args, "node-name");
    bs = bdrv_find_node(name);
    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'", name);
        return;
    }
    if (bdrv_has_blk(bs)) {
        error_setg(errp, "Node %s is in use", name);
        return;
    }
    if (bdrv_op_is_blocked(bs, BLOCK_OP_TYPE_DRIVE_DEL, errp)) {
        return;
    }
    if (!monitor_nodes || !g_ptr_array_find(monitor_nodes, bs, NULL)) {
        error_setg(errp, "Node %s is not owned by the monitor", name);
        return;
    }
    if (bs->refcnt > 1) {
        error_setg(errp, "Block device %s is in use", name);
        return;
    }
    g_ptr_array_remove(monitor_nodes, bs);
    bdrv_unref(bs);
}

void coroutine_fn qsd_close_all_nodes(void)
{
    while (monitor_nodes && monitor_nodes->len) {
        BlockDriverState *bs = g_ptr_array_steal_index(monitor_nodes,
                                                       monitor_nodes->len - 1);
        bdrv_unref(bs);
    }
    g_clear_pointer(&monitor_nodes, g_ptr_array_unref);
}

/* ---- query-named-block-nodes ---- */

/* The node's named bitmaps, the newest first (as 7.2 lists them) */
static QList *bitmap_list(BlockDriverState *bs)
{
    QList *l = qlist_new();
    BdrvDirtyBitmap *bm = NULL;
    GSList *newest_first = NULL, *it;

    while ((bm = bdrv_dirty_bitmap_next(bs, bm))) {
        if (bdrv_dirty_bitmap_name(bm)) {       /* not a job's own */
            newest_first = g_slist_prepend(newest_first, bm);
        }
    }
    for (it = newest_first; it; it = it->next) {
        QDict *d;

        bm = it->data;
        d = qdict_new();
        qdict_put_str(d, "name", bdrv_dirty_bitmap_name(bm));
        qdict_put_bool(d, "recording", bdrv_dirty_bitmap_enabled(bm));
        qdict_put_bool(d, "persistent", bdrv_dirty_bitmap_persistent(bm));
        qdict_put_bool(d, "busy", bdrv_dirty_bitmap_busy(bm));
        qdict_put_int(d, "granularity", bdrv_dirty_bitmap_granularity(bm));
        qdict_put_int(d, "count", bdrv_dirty_bitmap_count(bm));
        if (bdrv_dirty_bitmap_inconsistent(bm)) {
            qdict_put_bool(d, "inconsistent", true);
        }
        qlist_append(l, d);
    }
    g_slist_free(newest_first);
    return l;
}

/*
 * ImageInfo, with the backing chain's as "backing-image" unless @flat; a
 * filter's child counts as its backing image, as 7.2 puts it there.
 */
static QDict *coroutine_fn image_info(BlockDriverState *bs, bool flat,
                                      Error **errp)
{
    QDict *info = bdrv_co_query_image_info(bs, bs->filename, errp);
    BlockDriverState *backing = bdrv_filter_or_cow_bs(bs);

    if (info && !flat && backing) {
        QDict *b = image_info(backing, false, errp);

        if (!b) {
            qobject_unref(info);
            return NULL;
        }
        qdict_put_obj(info, "backing-image", b);
    }
    return info;
}

static QDict *coroutine_fn block_device_info(BlockDriverState *bs, bool flat,
                                             Error **errp)
{
    static const char *const dz_names[] = { "off", "on", "unmap" };
    QDict *d = qdict_new();
    QDict *cache = qdict_new();
    QDict *image = image_info(bs, flat, errp);
    BlockDriverState *b;
    int depth = 0;
    QList *bitmaps;

    if (!image) {
        qobject_unref(d);
        return NULL;
    }
    for (b = bdrv_filter_or_cow_bs(bs); b; b = bdrv_filter_or_cow_bs(b)) {
        depth++;
    }
    qdict_put_str(d, "file", bs->filename);
    qdict_put_str(d, "node-name", bs->node_name);
    qdict_put_bool(d, "ro", bs->read_only);
    qdict_put_str(d, "drv", bs->drv->format_name);
    if (bs->backing_file && *bs->backing_file) {
        qdict_put_str(d, "backing_file", bs->backing_file);
    }
    qdict_put_int(d, "backing_file_depth", depth);
    qdict_put_bool(d, "encrypted", false);
    qdict_put_str(d, "detect_zeroes", dz_names[bs->detect_zeroes]);
    qdict_put_int(d, "bps", 0);
    qdict_put_int(d, "bps_rd", 0);
    qdict_put_int(d, "bps_wr", 0);
    qdict_put_int(d, "iops", 0);
    qdict_put_int(d, "iops_rd", 0);
    qdict_put_int(d, "iops_wr", 0);
    qdict_put_obj(d, "image", image);
    qdict_put_bool(cache, "writeback", true);
    qdict_put_bool(cache, "direct", bs->open_flags & BDRV_O_NOCACHE);
    qdict_put_bool(cache, "no-flush", bs->open_flags & BDRV_O_NO_FLUSH);
    qdict_put_obj(d, "cache", cache);
    qdict_put_int(d, "write_threshold", 0);
    bitmaps = bitmap_list(bs);
    if (qlist_size(bitmaps)) {
        qdict_put_obj(d, "dirty-bitmaps", bitmaps);
    } else {
        qobject_unref(bitmaps);
    }
    return d;
}

static void coroutine_fn qmp_query_named_block_nodes(QDict *args,
                                                     QObject **ret,
                                                     Error **errp)
{
    BlockDriverState *bs = NULL;
    QList *l;

    if (!qmp_check_args(args, "?flat:b", errp)) {
        return;
    }
    l = qlist_new();
    while ((bs = bdrv_next_node(bs))) {
        QDict *d = block_device_info(bs, qmp_bool(args, "flat", false), errp);

        if (!d) {
            qobject_unref(l);
            return;
        }
        qlist_append(l, d);
    }
    *ret = l;
}

/* ---- block_resize ---- */

static void coroutine_fn qmp_block_resize(QDict *args, QObject **ret,
                                          Error **errp)
{
    BlockDriverState *bs;
    BdrvChild c = { 0 };
    int64_t size;
    int r;

    if (!qmp_check_args(args, "?device:s ?node-name:s size:i", errp)) {
        return;
    }
    if (qmp_str(args, "device")) {
        error_setg(errp, "Device '%s' not found", qmp_str(args, "device"));
        error_set_class(errp, QMP_ERROR_DEVICE_NOT_FOUND);
        return;
    }
    bs = qsd_lookup_node(NULL, qmp_str(args, "node-name"), errp);
    if (!bs) {
        return;
    }
    size = qmp_int(args, "size", 0);
    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return;
    }
    if (bdrv_op_is_blocked(bs, BLOCK_OP_TYPE_RESIZE, NULL)) {
        /* 7.2 names the device argument, which is absent here */
        error_setg(errp, "Device '(null)' is in use");
        return;
    }
    if (bs->read_only) {
        error_setg(errp, "Node '%s' is read only", bs->node_name);
        return;
    }
    /* the monitor's own, passing user: as 7.2's temporary BlockBackend */
    if (!bdrv_root_attach(bs, &c, BLK_PERM_RESIZE, BLK_PERM_ALL, errp)) {
        return;
    }
    r = bdrv_co_truncate(&c, size, false, PREALLOC_MODE_OFF, 0, errp);
    bdrv_root_detach(&c);
    if (r < 0 && errp && !*errp) {
        error_setg_errno(errp, -r, "Could not resize");
    }
}

/* ---- blockdev-snapshot (an action) ---- */

/*
 * @overlay, a node the monitor added with no backing file, goes above
 * @node: it takes @node as its backing file and every user of @node
 * (exports, jobs' nodes above) moves to it.
 */
static bool coroutine_fn snapshot_prepare(QsdAction *a, QDict *args,
                                          Error **errp)
{
    const char *node = qmp_str(args, "node");
    const char *overlay = qmp_str(args, "overlay");
    BlockDriverState *old, *ovl;
    uint64_t perm = 0;
    BdrvChild *c;

    old = qsd_lookup_node(node, node, errp);
    if (!old) {
        return false;
    }
    /* drained until clean, as 7.2's */
    a->bs = old;
    bdrv_co_drained_begin(old);
    if (bdrv_op_is_blocked(old, BLOCK_OP_TYPE_EXTERNAL_SNAPSHOT, errp)) {
        return false;
    }
    if (!old->read_only && bdrv_co_flush(old) < 0) {
        error_setg(errp, "An IO error has occurred");
        return false;
    }
    ovl = qsd_lookup_node(overlay, overlay, errp);
    if (!ovl) {
        return false;
    }
    QTAILQ_FOREACH(c, &ovl->parents, next_parent) {
        perm |= c->perm;
    }
    if (perm & BLK_PERM_CONSISTENT_READ) {
        error_setg(errp, "The overlay is already in use");
        return false;
    }
    if (ovl->drv->is_filter) {
        error_setg(errp, "Filters cannot be used as overlays");
        return false;
    }
    if (bdrv_backing_bs(ovl)) {
        error_setg(errp, "The overlay already has a backing image");
        return false;
    }
    if (!ovl->drv->supports_backing) {
        error_setg(errp, "The overlay does not support backing images");
        return false;
    }
    if (!bdrv_attach_child(ovl, bdrv_ref(old), "backing", BDRV_CHILD_COW,
                           errp)) {
        return false;
    }
    if (!bdrv_replace_node(old, ovl, errp)) {
        bdrv_unref_child(ovl, ovl->backing);
        return false;
    }
    a->overlay = ovl;
    return true;
}

/* the node below is only read from now on, as 7.2 reopens it */
static void coroutine_fn snapshot_commit(QsdAction *a)
{
    bdrv_co_make_read_only(a->bs, NULL);
}

static void coroutine_fn snapshot_abort(QsdAction *a)
{
    if (!a->overlay) {
        return;
    }
    bdrv_ref(a->bs);
    bdrv_unref_child(a->overlay, a->overlay->backing);
    bdrv_replace_node(a->overlay, a->bs, NULL);
    bdrv_unref(a->bs);
}

static void coroutine_fn snapshot_clean(QsdAction *a)
{
    if (a->bs) {
        bdrv_drained_end(a->bs);
    }
}

const QsdActionOps qsd_snapshot_action = {
    .name = "blockdev-snapshot",
    .spec = "node:s overlay:s",
    .grouped = false,
    .drain_all = true,
    .prepare = snapshot_prepare,
    .commit = snapshot_commit,
    .abort = snapshot_abort,
    .clean = snapshot_clean,
};

QSD_ACTION_COMMAND(qmp_blockdev_snapshot, qsd_snapshot_action)

/* ---- dirty bitmaps (actions: a transaction may group them) ---- */

#define BITMAP_SPEC "node:s name:s"

static BdrvDirtyBitmap *bitmap_of(QDict *args, BlockDriverState **pbs,
                                  bool any, Error **errp)
{
    BlockDriverState *bs;

    bs = qsd_lookup_node(qmp_str(args, "node"), qmp_str(args, "node"), errp);
    if (!bs) {
        return NULL;
    }
    *pbs = bs;
    return bdrv_dirty_bitmap_lookup(bs, qmp_str(args, "name"), any, errp);
}

/* A disabled anonymous copy of @bm, to restore it from on abort */
static BdrvDirtyBitmap *bitmap_copy(BlockDriverState *bs, BdrvDirtyBitmap *bm,
                                    Error **errp)
{
    BdrvDirtyBitmap *copy;

    copy = bdrv_dirty_bitmap_create(bs, NULL, bdrv_dirty_bitmap_granularity(bm),
                                    bdrv_dirty_bitmap_size(bm), errp);
    if (!copy) {
        return NULL;
    }
    bdrv_dirty_bitmap_set_enabled(copy, false);
    if (!bdrv_dirty_bitmap_merge(copy, bm, errp)) {
        bdrv_dirty_bitmap_release(bs, copy);
        return NULL;
    }
    return copy;
}

/* abort of clear and merge: the bitmap as it was */
static void coroutine_fn bitmap_restore(QsdAction *a)
{
    if (a->saved) {
        bdrv_dirty_bitmap_clear(a->bitmap);
        bdrv_dirty_bitmap_merge(a->bitmap, a->saved, NULL);
    }
}

static void coroutine_fn bitmap_drop_saved(QsdAction *a)
{
    if (a->saved) {
        bdrv_dirty_bitmap_release(a->bs, a->saved);
        a->saved = NULL;
    }
}

static bool coroutine_fn bitmap_add_prepare(QsdAction *a, QDict *args,
                                            Error **errp)
{
    a->bs = qsd_lookup_node(qmp_str(args, "node"), qmp_str(args, "node"),
                            errp);
    if (!a->bs) {
        return false;
    }
    if (qdict_get(args, "granularity") && !qmp_int(args, "granularity", 0)) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return false;
    }
    a->bitmap = bdrv_dirty_bitmap_add_checked(a->bs, qmp_str(args, "name"),
                                              qmp_int(args, "granularity", 0),
                                              qmp_bool(args, "persistent",
                                                       false),
                                              qmp_bool(args, "disabled",
                                                       false), errp);
    return a->bitmap != NULL;
}

static void coroutine_fn bitmap_add_abort(QsdAction *a)
{
    if (a->bitmap) {
        bdrv_dirty_bitmap_release(a->bs, a->bitmap);
    }
}

const QsdActionOps qsd_bitmap_add_action = {
    .name = "block-dirty-bitmap-add",
    .spec = BITMAP_SPEC " ?granularity:i ?persistent:b ?disabled:b",
    .prepare = bitmap_add_prepare,
    .abort = bitmap_add_abort,
};

/* remove: the bitmap is busy until commit releases it */
static bool coroutine_fn bitmap_remove_prepare(QsdAction *a, QDict *args,
                                               Error **errp)
{
    BdrvDirtyBitmap *bm = bitmap_of(args, &a->bs, true, errp);

    if (!bm) {
        return false;
    }
    if (bdrv_dirty_bitmap_busy(bm)) {
        error_setg(errp, "Bitmap '%s' is currently in use by another "
                   "operation and cannot be used", bdrv_dirty_bitmap_name(bm));
        return false;
    }
    bdrv_dirty_bitmap_set_busy(bm, true);
    a->bitmap = bm;
    return true;
}

static void coroutine_fn bitmap_remove_commit(QsdAction *a)
{
    bdrv_dirty_bitmap_set_busy(a->bitmap, false);
    bdrv_dirty_bitmap_release(a->bs, a->bitmap);
}

static void coroutine_fn bitmap_remove_abort(QsdAction *a)
{
    if (a->bitmap) {
        bdrv_dirty_bitmap_set_busy(a->bitmap, false);
    }
}

const QsdActionOps qsd_bitmap_remove_action = {
    .name = "block-dirty-bitmap-remove",
    .spec = BITMAP_SPEC,
    .prepare = bitmap_remove_prepare,
    .commit = bitmap_remove_commit,
    .abort = bitmap_remove_abort,
};

static bool coroutine_fn bitmap_clear_prepare(QsdAction *a, QDict *args,
                                              Error **errp)
{
    a->bitmap = bitmap_of(args, &a->bs, false, errp);
    if (!a->bitmap) {
        return false;
    }
    a->saved = bitmap_copy(a->bs, a->bitmap, errp);
    if (!a->saved) {
        return false;
    }
    bdrv_dirty_bitmap_clear(a->bitmap);
    return true;
}

const QsdActionOps qsd_bitmap_clear_action = {
    .name = "block-dirty-bitmap-clear",
    .spec = BITMAP_SPEC,
    .prepare = bitmap_clear_prepare,
    .abort = bitmap_restore,
    .clean = bitmap_drop_saved,
};

static bool coroutine_fn bitmap_set_enabled(QsdAction *a, QDict *args,
                                            bool enabled, Error **errp)
{
    a->bitmap = bitmap_of(args, &a->bs, false, errp);
    if (!a->bitmap) {
        return false;
    }
    a->was_enabled = bdrv_dirty_bitmap_enabled(a->bitmap);
    bdrv_dirty_bitmap_set_enabled(a->bitmap, enabled);
    return true;
}

static bool coroutine_fn bitmap_enable_prepare(QsdAction *a, QDict *args,
                                               Error **errp)
{
    return bitmap_set_enabled(a, args, true, errp);
}

static bool coroutine_fn bitmap_disable_prepare(QsdAction *a, QDict *args,
                                                Error **errp)
{
    return bitmap_set_enabled(a, args, false, errp);
}

static void coroutine_fn bitmap_enabled_abort(QsdAction *a)
{
    if (a->bitmap) {
        bdrv_dirty_bitmap_set_enabled(a->bitmap, a->was_enabled);
    }
}

const QsdActionOps qsd_bitmap_enable_action = {
    .name = "block-dirty-bitmap-enable",
    .spec = BITMAP_SPEC,
    .prepare = bitmap_enable_prepare,
    .abort = bitmap_enabled_abort,
};

const QsdActionOps qsd_bitmap_disable_action = {
    .name = "block-dirty-bitmap-disable",
    .spec = BITMAP_SPEC,
    .prepare = bitmap_disable_prepare,
    .abort = bitmap_enabled_abort,
};

/*
 * merge: every source (a name on the target's node, or {node, name})
 * into a copy first, so that a failing source leaves the target as it
 * was, as 7.2's.
 */
static bool coroutine_fn bitmap_merge_prepare(QsdAction *a, QDict *args,
                                              Error **errp)
{
    BdrvDirtyBitmap *tmp;
    QList *srcs;
    size_t i;
    bool ok = false;

    a->bs = qsd_lookup_node(qmp_str(args, "node"), qmp_str(args, "node"),
                            errp);
    if (!a->bs) {
        return false;
    }
    a->bitmap = bdrv_dirty_bitmap_lookup(a->bs, qmp_str(args, "target"),
                                         false, errp);
    tmp = a->bitmap ? bitmap_copy(a->bs, a->bitmap, errp) : NULL;
    if (!tmp) {
        a->bitmap = NULL;
        return false;
    }
    srcs = (QList *)qdict_get(args, "bitmaps");
    for (i = 0; i < qlist_size(srcs); i++) {
        QObject *s = qlist_at(srcs, i);
        BlockDriverState *sbs = a->bs;
        const char *name;
        BdrvDirtyBitmap *src;

        if (qobject_type(s) == QTYPE_DICT) {
            if (!qmp_check_args((QDict *)s, "node:s name:s", errp)) {
                goto out;
            }
            sbs = qsd_lookup_node(qmp_str((QDict *)s, "node"),
                                  qmp_str((QDict *)s, "node"), errp);
            if (!sbs) {
                goto out;
            }
            name = qmp_str((QDict *)s, "name");
        } else if (qobject_type(s) == QTYPE_STRING) {
            name = qstring_get(s);
        } else {
            error_setg(errp, "Invalid parameter type for 'bitmaps[%zu]', "
                       "expected: BlockDirtyBitmapOrStr", i);
            goto out;
        }
        src = bdrv_dirty_bitmap_lookup(sbs, name, true, errp);
        if (!src || !bdrv_dirty_bitmap_merge(tmp, src, errp)) {
            goto out;
        }
    }
    /* the target becomes the merge; the old contents stay for abort */
    a->saved = bitmap_copy(a->bs, a->bitmap, errp);
    if (a->saved) {
        bdrv_dirty_bitmap_clear(a->bitmap);
        ok = bdrv_dirty_bitmap_merge(a->bitmap, tmp, errp);
    }
out:
    bdrv_dirty_bitmap_release(a->bs, tmp);
    return ok;
}

const QsdActionOps qsd_bitmap_merge_action = {
    .name = "block-dirty-bitmap-merge",
    .spec = "node:s target:s bitmaps:a",
    .prepare = bitmap_merge_prepare,
    .abort = bitmap_restore,
    .clean = bitmap_drop_saved,
};

QSD_ACTION_COMMAND(qmp_bitmap_add, qsd_bitmap_add_action)
QSD_ACTION_COMMAND(qmp_bitmap_remove, qsd_bitmap_remove_action)
QSD_ACTION_COMMAND(qmp_bitmap_clear, qsd_bitmap_clear_action)
QSD_ACTION_COMMAND(qmp_bitmap_enable, qsd_bitmap_enable_action)
QSD_ACTION_COMMAND(qmp_bitmap_disable, qsd_bitmap_disable_action)
QSD_ACTION_COMMAND(qmp_bitmap_merge, qsd_bitmap_merge_action)

const QmpCommand qmp_block_commands[] = {
    { "blockdev-add", qmp_blockdev_add },
    { "blockdev-del", qmp_blockdev_del },
    { "query-named-block-nodes", qmp_query_named_block_nodes },
    { "block_resize", qmp_block_resize },
    { "blockdev-snapshot", qmp_blockdev_snapshot },
    { "block-dirty-bitmap-add", qmp_bitmap_add },
    { "block-dirty-bitmap-remove", qmp_bitmap_remove },
    { "block-dirty-bitmap-clear", qmp_bitmap_clear },
    { "block-dirty-bitmap-enable", qmp_bitmap_enable },
    { "block-dirty-bitmap-disable", qmp_bitmap_disable },
    { "block-dirty-bitmap-merge", qmp_bitmap_merge },
    { NULL },
};
