/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img bitmap (--merge SOURCE | --add | --remove | --clear | --enable
 *                  | --disable)... [-b source_file [-F source_fmt]]
 *                  [-g granularity] [--object objectdef]
 *                  [--image-opts | -f fmt] filename bitmap
 * As 7.2: the actions run in the order given on one bitmap of an image
 * opened read-write; the first that fails stops the rest ("Operation X
 * on bitmap B failed: ..."), exit 1, and close stores what the actions
 * before it did.  After success the bitmaps are stored before exiting,
 * so that a failed store exits 1 (7.2 warns at close and exits 0).
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"

#include <getopt.h>

enum {
    OPT_ADD = IMG_OPT_PRIVATE,
    OPT_REMOVE,
    OPT_CLEAR,
    OPT_ENABLE,
    OPT_DISABLE,
    OPT_MERGE,
};

typedef struct BitmapAction {
    int op;                     /* OPT_ADD .. OPT_MERGE */
    const char *src;            /* --merge's source bitmap */
} BitmapAction;

static const char *op_name(int op)
{
    static const char *const names[] = {
        [OPT_ADD - OPT_ADD] = "add", [OPT_REMOVE - OPT_ADD] = "remove",
        [OPT_CLEAR - OPT_ADD] = "clear", [OPT_ENABLE - OPT_ADD] = "enable",
        [OPT_DISABLE - OPT_ADD] = "disable", [OPT_MERGE - OPT_ADD] = "merge",
    };
    return names[op - OPT_ADD];
}

/* 7.2's default: the cluster size, at least 4 KiB; 64 KiB if unknown. */
static bool run_action(const BitmapAction *a, BlockDriverState *bs,
                       BlockDriverState *src_bs, const char *name,
                       int64_t granularity, Error **errp)
{
    BdrvDirtyBitmap *bm, *src;

    switch (a->op) {
    case OPT_ADD:
        return bdrv_dirty_bitmap_add_checked(bs, name, granularity, true,
                                             false, errp);
    case OPT_REMOVE:
        bm = bdrv_dirty_bitmap_lookup(bs, name, true, errp);
        if (bm) {
            bdrv_dirty_bitmap_release(bs, bm);
        }
        return bm;
    case OPT_CLEAR:
        bm = bdrv_dirty_bitmap_lookup(bs, name, false, errp);
        if (bm) {
            bdrv_dirty_bitmap_clear(bm);
        }
        return bm;
    case OPT_ENABLE:
    case OPT_DISABLE:
        bm = bdrv_dirty_bitmap_lookup(bs, name, false, errp);
        if (bm) {
            bdrv_dirty_bitmap_set_enabled(bm, a->op == OPT_ENABLE);
        }
        return bm;
    case OPT_MERGE:
        bm = bdrv_dirty_bitmap_lookup(bs, name, false, errp);
        src = bm ? bdrv_dirty_bitmap_lookup(src_bs, a->src, false, errp) : NULL;
        return src && bdrv_dirty_bitmap_merge(bm, src, errp);
    }
    g_assert_not_reached();
}

int coroutine_fn img_bitmap(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "add", no_argument, NULL, OPT_ADD },
        { "remove", no_argument, NULL, OPT_REMOVE },
        { "clear", no_argument, NULL, OPT_CLEAR },
        { "enable", no_argument, NULL, OPT_ENABLE },
        { "disable", no_argument, NULL, OPT_DISABLE },
        { "merge", required_argument, NULL, OPT_MERGE },
        { "granularity", required_argument, NULL, 'g' },
        { "source-file", required_argument, NULL, 'b' },
        { "source-format", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = NULL, *src_fmt = NULL, *src_filename = NULL;
    const char *filename, *name;
    g_autoptr(GArray) actions = g_array_new(false, false,
                                            sizeof(BitmapAction));
    bool image_opts = false, add = false, merge = false;
    BlockBackend *blk = NULL, *src = NULL;
    int64_t granularity = 0;
    Error *err = NULL;
    int c, ret = 1;

    while ((c = getopt_long(argc, argv, ":b:f:F:g:h", long_options,
                            NULL)) != -1) {
        BitmapAction a = { c, NULL };

        switch (c) {
        case 'b':
            src_filename = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'F':
            src_fmt = optarg;
            break;
        case 'g':
            granularity = img_cvtnum("granularity", optarg);
            if (granularity < 0) {
                return 1;
            }
            break;
        case OPT_MERGE:
            a.src = optarg;
            merge = true;
            g_array_append_val(actions, a);
            break;
        case OPT_ADD:
            add = true;
            /* fall through */
        case OPT_REMOVE:
        case OPT_CLEAR:
        case OPT_ENABLE:
        case OPT_DISABLE:
            g_array_append_val(actions, a);
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (actions->len == 0) {
        error_report("Need at least one of --add, --remove, --clear, "
                     "--enable, --disable, or --merge");
        return 1;
    }
    if (granularity && !add) {
        error_report("granularity only supported with --add");
        return 1;
    }
    if (src_fmt && !src_filename) {
        error_report("-F only supported with -b");
        return 1;
    }
    if (src_filename && !merge) {
        error_report("Merge bitmap source file only supported with --merge");
        return 1;
    }
    if (optind != argc - 2) {
        error_report("Expecting filename and bitmap name");
        return 1;
    }
    filename = argv[optind];
    name = argv[optind + 1];

    /* bitmaps belong to one image: 7.2 opens no backing file here */
    blk = img_open(image_opts, filename, fmt,
                   BDRV_O_RDWR | BDRV_O_NO_BACKING, false, false, false);
    if (!blk) {
        goto out;
    }
    if (src_filename) {
        src = img_open(false, src_filename, src_fmt, BDRV_O_NO_BACKING,
                       false, false, false);
        if (!src) {
            goto out;
        }
    }
    for (guint i = 0; i < actions->len; i++) {
        const BitmapAction *a = &g_array_index(actions, BitmapAction, i);

        if (!run_action(a, blk_bs(blk), blk_bs(src ? src : blk), name,
                        granularity, &err)) {
            error_prepend(&err, "Operation %s on bitmap %s failed: ",
                          op_name(a->op), name);
            error_report_err(err);
            goto out;
        }
    }
    /* now rather than at close, so that a failure fails the command */
    if (!bdrv_co_store_bitmaps(blk_bs(blk), &err)) {
        error_report_err(err);
        goto out;
    }
    ret = 0;

out:
    blk_unref(src);
    blk_unref(blk);
    return ret;
}
