/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img convert: options, checks and messages as 7.2; the copying is
 * block/copy.c.  Targets: raw and qcow2 (compressed with -c).
 */
#include "util/osdep.h"
#include "img.h"
#include "block/copy.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/keyval.h"
#include "util/progress.h"

#include <getopt.h>

#define CONVERT_MAX_WORKERS 64          /* 7.2 allows 16; more may pay */
#define CONVERT_BUF_SIZE (2 * MiB)
#define MAX_SPARSE (16 * MiB)

static void convert_salvage(void *opaque, int64_t offset, int ret)
{
    warn_report("error while reading offset %" PRId64 ": %s", offset,
                strerror(-ret));
}

static void convert_salvage_quiet(void *opaque, int64_t offset, int ret)
{
}

static void convert_salvage_status(void *opaque, int64_t offset, int ret)
{
    warn_report("error while reading block status at offset %" PRId64
                ": %s", offset, strerror(-ret));
}

/* bytes of data done of @total (progress_allocated), as 7.2 counts them */
static void convert_progress(void *opaque, int64_t done, int64_t total)
{
    if (total) {        /* nothing counted: 0 until the end, as in 7.2 */
        qemu_progress_print(100.0 * done / total, 0);
    }
}

typedef struct ConvertOpts {
    const char *fmt, *out_fmt, *out_filename, *snapshot;
    QDict *create_opts;         /* -o, parsed once (empty with -n) */
    const char *backing, *backing_fmt;      /* -B/-F or -o backing_file */
    const char *cache, *src_cache;
    bool image_opts, target_image_opts, skip_create, target_is_zero;
    bool progress, quiet, force_share, in_order;
    int workers;
    int64_t min_sparse, rate_limit;
    bool compress, copy_range, salvage;
    bool out_fmt_given;         /* -O: an error with --target-image-opts */
    bool bitmaps, skip_broken_bitmaps;
} ConvertOpts;

/*
 * -B/-F and -o backing_file/backing_fmt, with 7.2's checks in its order
 * (-B wins over -o backing_file, as 7.2's old-style options do).
 */
static int check_backing(ConvertOpts *o, const char *backing,
                         const char *backing_fmt, int nsrc)
{
    const BlockDriver *drv = bdrv_find_format(o->out_fmt);
    const char *opt_backing = NULL, *opt_fmt = NULL;

    if (!o->skip_create) {
        opt_backing = qdict_get_try_str(o->create_opts, "backing_file");
        opt_fmt = qdict_get_try_str(o->create_opts, "backing_fmt");
        if ((backing || opt_backing) && !drv->supports_backing) {
            error_report("Backing file not supported for file format '%s'",
                         o->out_fmt);
            return -1;
        }
        if (backing_fmt && !drv->supports_backing) {
            error_report("Backing file format not supported for file "
                         "format '%s'", o->out_fmt);
            return -1;
        }
    }
    /* owned copies: -B/-F point into argv, the others into the dict */
    o->backing = g_strdup(backing ? backing : opt_backing);
    o->backing_fmt = g_strdup(backing_fmt ? backing_fmt : opt_fmt);
    if (nsrc > 1 && o->backing) {
        error_report("Having a backing file for the target makes no sense "
                     "when concatenating multiple input images");
        return -1;
    }
    if (!o->skip_create && o->backing && !o->backing_fmt) {
        error_report("Use of backing file requires explicit backing format");
        return -1;
    }
    return 0;
}

/* Long: one getopt switch over convert's 30 options, as 7.2's. */
static int parse_options(int argc, char **argv, ConvertOpts *o)
{
    enum { OPT_TARGET_IMAGE_OPTS = IMG_OPT_PRIVATE,
           OPT_SALVAGE, OPT_TARGET_IS_ZERO, OPT_BITMAPS, OPT_SKIP_BROKEN };
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "target-image-opts", no_argument, NULL, OPT_TARGET_IMAGE_OPTS },
        { "salvage", no_argument, NULL, OPT_SALVAGE },
        { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
        { "bitmaps", no_argument, NULL, OPT_BITMAPS },
        { "skip-broken-bitmaps", no_argument, NULL, OPT_SKIP_BROKEN },
        { NULL, 0, NULL, 0 }
    };
    bool compress = false, copy_range = false, sparse_given = false;
    const char *backing = NULL, *backing_fmt = NULL;
    g_autoptr(GString) options = g_string_new(NULL);
    Error *err = NULL;
    int c;

    while ((c = getopt_long(argc, argv, ":hf:O:B:F:Cco:l:S:pt:T:qnm:WUr:",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->fmt = optarg;
            break;
        case 'O':
            o->out_fmt = optarg;
            break;
        case 'B':
            backing = optarg;
            break;
        case 'F':
            backing_fmt = optarg;
            break;
        case 'C':
            copy_range = true;
            break;
        case 'c':
            compress = true;
            break;
        case 'o':
            if (options->len) {
                g_string_append_c(options, ',');
            }
            g_string_append(options, optarg);
            break;
        case 'l':
            if (!img_check_snapshot_param(optarg)) {
                return -1;
            }
            o->snapshot = optarg;
            break;
        case 'S': {
            int64_t sval = img_cvtnum("buffer size for sparse output", optarg);
            if (sval < 0) {
                return -1;      /* img_cvtnum said why */
            }
            if (!QEMU_IS_ALIGNED(sval, BDRV_SECTOR_SIZE) ||
                sval > MAX_SPARSE) {
                error_report("Invalid buffer size for sparse output specified. "
                             "Valid sizes are multiples of %llu up to %"
                             PRId64 ". Select 0 to disable sparse detection "
                             "(fully allocates output).", BDRV_SECTOR_SIZE,
                             MAX_SPARSE);
                return -1;
            }
            o->min_sparse = sval;
            sparse_given = true;
            break;
        }
        case 'p':
            o->progress = true;
            break;
        case 't':
            o->cache = optarg;
            break;
        case 'T':
            o->src_cache = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'n':
            o->skip_create = true;
            break;
        case 'm':
            if (qemu_strtoi(optarg, NULL, 0, &o->workers) < 0 ||
                o->workers < 1 || o->workers > CONVERT_MAX_WORKERS) {
                error_report("Invalid number of coroutines. Allowed number of "
                             "coroutines is between 1 and %d",
                             CONVERT_MAX_WORKERS);
                return -1;
            }
            break;
        case 'W':
            o->in_order = false;
            break;
        case 'U':
            o->force_share = true;
            break;
        case 'r':
            o->rate_limit = img_cvtnum("rate limit", optarg);
            if (o->rate_limit < 0) {
                return -1;
            }
            break;
        case OPT_TARGET_IMAGE_OPTS:
            o->target_image_opts = true;
            break;
        case OPT_TARGET_IS_ZERO:
            o->target_is_zero = true;
            break;
        case OPT_SALVAGE:
            o->salvage = true;
            break;
        case OPT_BITMAPS:
            o->bitmaps = true;
            break;
        case OPT_SKIP_BROKEN:
            o->skip_broken_bitmaps = true;
            break;
        default:
            img_common_option(c, argv, &o->image_opts);
        }
    }
    if (o->quiet) {
        o->progress = false;
    }
    if (o->skip_broken_bitmaps && !o->bitmaps) {
        error_report("Use of --skip-broken-bitmaps requires --bitmaps");
        return -1;
    }
    /* 7.2's checks, in its order */
    if (copy_range && compress) {
        error_report("Cannot enable copy offloading when -c is used");
        return -1;
    }
    if (copy_range && sparse_given) {
        error_report("Cannot enable copy offloading when -S is used");
        return -1;
    }
    if (copy_range && o->salvage) {
        error_report("Cannot use copy offloading in salvaging mode");
        return -1;
    }
    if (o->target_image_opts && !o->skip_create) {
        error_report("--target-image-opts requires use of -n flag");
        return -1;
    }
    if (o->skip_create && options->len) {
        error_report("-o has no effect when skipping image creation");
        return -1;
    }
    if (o->target_is_zero && !o->skip_create) {
        error_report("--target-is-zero requires use of -n flag");
        return -1;
    }
    /* as 7.2: -o help needs no source, the target names the protocol */
    if (options->len && img_has_help_option(options->str)) {
        const char *fmt = o->out_fmt ? o->out_fmt :
                          o->target_image_opts ? NULL : "raw";

        if (!fmt) {
            error_report("Option help requires a format be specified");
            return -1;
        }
        return img_print_create_help(fmt, argc - optind >= 2 ?
                                     argv[argc - 1] : NULL) ? -1 : 1;
    }
    if (argc - optind < 2) {
        error_report("Must specify image file name");    /* no hint, as 7.2 */
        return -1;
    }
    o->out_fmt_given = o->out_fmt != NULL;
    if (!o->out_fmt) {
        o->out_fmt = "raw";
    }
    if (!bdrv_find_format(o->out_fmt)) {
        error_report("Unknown file format '%s'", o->out_fmt);
        return -1;
    }
    o->compress = compress;
    o->copy_range = copy_range;
    /* with -n, -o was refused above */
    o->create_opts = qdict_new();
    if (options->len &&
        !keyval_parse_into(&o->create_opts, options->str, NULL, &err)) {
        error_report_err(err);
        return -1;
    }
    return check_backing(o, backing, backing_fmt, argc - optind - 1);
}

/* The persistent bitmaps of @bs in the image's order; free the array. */
static BdrvDirtyBitmap **persistent_bitmaps(BlockDriverState *bs, int *n)
{
    BdrvDirtyBitmap **list = g_new(BdrvDirtyBitmap *,
                                   bdrv_dirty_bitmap_count_all(bs) + 1);
    BdrvDirtyBitmap *bm;

    *n = 0;
    for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm)) {
            list[(*n)++] = bm;
        }
    }
    return list;
}

/*
 * -c, before the target is created (7.2's checks and words): a format
 * that writes compressed clusters, neither encrypted nor preallocated.
 * The target is checked again once open (its format may come from
 * --target-image-opts or -n).
 */
static bool check_compress(ConvertOpts *o)
{
    const char *prealloc;
    bool encrypt = false;
    Error *err = NULL;

    if (o->skip_create) {
        return true;
    }
    if (!bdrv_find_format(o->out_fmt)->supports_compression) {
        error_report("Compression not supported for this file format");
        return false;
    }
    if (!create_opt_get_bool(o->create_opts, "encryption", false, &encrypt,
                             &err)) {
        error_report_err(err);
        return false;
    }
    if (encrypt || create_opt_get(o->create_opts, "encrypt.format")) {
        error_report("Compression and encryption not supported at the same "
                     "time");
        return false;
    }
    prealloc = create_opt_get(o->create_opts, "preallocation");
    if (prealloc && strcmp(prealloc, "off")) {
        error_report("Compression and preallocation not supported at the "
                     "same time");
        return false;
    }
    return true;
}

/*
 * --bitmaps, before anything is written (7.2's checks, words and order):
 * one source that can hold bitmaps, and none of its bitmaps inconsistent
 * unless --skip-broken-bitmaps.  7.2 goes through its bitmaps last to
 * first (its list is built by inserting at the head), so the first
 * complaint names the last bad one.  The bitmaps themselves were loaded
 * and checked when the source was opened.
 */
static bool check_source_bitmaps(BlockBackend **src, int nsrc,
                                 bool skip_broken)
{
    g_autofree BdrvDirtyBitmap **list = NULL;
    int i, n;

    if (nsrc > 1) {
        error_report("Copying bitmaps only possible with single source");
        return false;
    }
    if (!bdrv_supports_persistent_bitmaps(blk_bs(src[0]))) {
        error_report("Source lacks bitmap support");
        return false;
    }
    list = persistent_bitmaps(blk_bs(src[0]), &n);
    for (i = n - 1; i >= 0 && !skip_broken; i--) {
        if (bdrv_dirty_bitmap_inconsistent(list[i])) {
            error_report("Cannot copy inconsistent bitmap '%s'",
                         bdrv_dirty_bitmap_name(list[i]));
            fprintf(stderr, "Try --skip-broken-bitmaps, or use 'qemu-img "
                         "bitmap --remove' to delete it\n");
            return false;
        }
    }
    return true;
}

/*
 * After the data: the source's consistent bitmaps into the target, new
 * ones after those it has, inconsistent ones skipped with a warning (the
 * check let them through only with --skip-broken-bitmaps).  7.2 adds and
 * fills them one by one, last to first, and keeps those added before a
 * failure; here all are checked first (same order, same messages) and
 * none is added unless all can be.  Then they are written to the image,
 * so that a failure fails the convert.
 */
static bool coroutine_fn copy_bitmaps(BlockBackend *src, BlockBackend *dst)
{
    BlockDriverState *sbs = blk_bs(src), *dbs = blk_bs(dst);
    g_autofree BdrvDirtyBitmap **list = NULL;
    g_autofree BdrvDirtyBitmap **made = NULL;
    Error *err = NULL;
    int i, n = 0, nmade = 0;

    list = persistent_bitmaps(sbs, &n);
    made = g_new0(BdrvDirtyBitmap *, n + 1);
    for (i = n - 1; i >= 0; i--) {
        const char *name = bdrv_dirty_bitmap_name(list[i]);
        uint64_t gran = bdrv_dirty_bitmap_granularity(list[i]);

        if (bdrv_dirty_bitmap_inconsistent(list[i])) {
            warn_report("Skipping inconsistent bitmap '%s'", name);
            continue;
        }
        if (!bdrv_can_create_persistent_bitmap(dbs, name, gran, &err)) {
            error_prepend(&err, "Failed to create bitmap %s: ", name);
            error_report_err(err);
            return false;
        }
        if (!bdrv_dirty_bitmap_sizes_match(dbs->total_bytes,
                                           bdrv_dirty_bitmap_size(list[i]),
                                           &err)) {
            error_prepend(&err, "Failed to populate bitmap %s: ", name);
            error_report_err(err);
            return false;
        }
    }
    for (i = 0; i < n; i++) {
        BdrvDirtyBitmap *bm;

        if (bdrv_dirty_bitmap_inconsistent(list[i])) {
            continue;
        }
        bm = bdrv_create_persistent_bitmap(
            dbs, bdrv_dirty_bitmap_name(list[i]),
            bdrv_dirty_bitmap_granularity(list[i]),
            bdrv_dirty_bitmap_enabled(list[i]), &err);
        if (bm) {
            made[nmade++] = bm;
        }
        if (!bm || !bdrv_dirty_bitmap_merge(bm, list[i], &err)) {
            error_prepend(&err, "Failed to populate bitmap %s: ",
                          bdrv_dirty_bitmap_name(list[i]));
            error_report_err(err);
            while (nmade > 0) {
                bdrv_dirty_bitmap_release(dbs, made[--nmade]);
            }
            return false;
        }
    }
    if (!bdrv_co_store_bitmaps(dbs, &err)) {
        error_report_err(err);
        return false;
    }
    return true;
}

/* Open a source, switched to the -l snapshot if there is one. */
static BlockBackend *coroutine_fn open_source(ConvertOpts *o,
                                              const char *filename,
                                              int flags, bool writethrough)
{
    BlockBackend *blk = img_open(o->image_opts, filename, o->fmt, flags,
                                 writethrough, o->quiet, o->force_share);

    if (blk && o->snapshot && !img_load_snapshot(blk, o->snapshot)) {
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

static bool coroutine_fn create_target(ConvertOpts *o, int64_t size,
                                       Error **errp)
{
    const BlockDriver *drv = bdrv_find_format(o->out_fmt);
    QDict *opts = o->create_opts;
    g_autofree char *sz = g_strdup_printf("%" PRId64, size);

    qdict_put_str(opts, "size", sz);
    if (o->backing) {
        qdict_put_str(opts, "backing_file", o->backing);
    }
    if (o->backing_fmt) {
        qdict_put_str(opts, "backing_fmt", o->backing_fmt);
    }
    if (!drv->co_create) {
        error_setg(errp, "Format driver '%s' does not support image creation",
                   o->out_fmt);
        return false;
    }
    return bdrv_co_create(drv, o->out_filename, opts, errp);
}

/* What the copy engine needs beyond the sources, from the options. */
static bool coroutine_fn set_copy_params(const ConvertOpts *o,
                                         BlockBackend *target, CopyParams *p)
{
    p->target = target;
    p->target_has_backing = o->backing;
    p->target_backing_len = -1;
    if (o->backing && !o->skip_create && bdrv_backing_bs(blk_bs(target))) {
        p->target_backing_len = bdrv_co_getlength(
            bdrv_backing_bs(blk_bs(target)));
        if (p->target_backing_len < 0) {
            p->target_backing_len = -1;     /* unknown: write zero runs */
        }
    }
    p->workers = o->workers;
    p->in_order = o->in_order;
    p->issue_ordered = o->in_order && bdrv_issues_in_order(blk_bs(target));
    p->buf_size = CONVERT_BUF_SIZE;
    p->min_sparse = o->min_sparse;
    /* a new image reads as zeroes; -S 0 asks for every byte anyway */
    p->target_zeroed = o->min_sparse && !o->backing &&
                       ((!o->skip_create &&
                         bdrv_has_zero_init(blk_bs(target))) ||
                        o->target_is_zero);
    p->rate_limit = o->rate_limit;
    p->copy_range = o->copy_range;
    /* -q: salvaged quietly, as in 7.2 */
    p->salvage = !o->salvage ? NULL :
                 o->quiet ? convert_salvage_quiet : convert_salvage;
    p->salvage_status = o->salvage && !o->quiet ? convert_salvage_status
                                                : NULL;
    if (o->compress) {
        BlockDriverInfo bdi = { 0 };

        if (bdrv_get_info(blk_bs(target), &bdi) < 0 ||
            bdi.cluster_size <= 0 || bdi.cluster_size > p->buf_size) {
            error_report("invalid cluster size");
            return false;
        }
        p->compress_cluster = bdi.cluster_size;
    }
    p->progress = convert_progress;
    p->progress_allocated = true;
    return true;
}

int coroutine_fn img_convert(int argc, char **argv)
{
    ConvertOpts o = { .workers = 8, .in_order = true,
                      .min_sparse = 8 * BDRV_SECTOR_SIZE,
                      .cache = "unsafe", .src_cache = "writeback" };
    g_autofree BlockBackend **src = NULL;
    BlockBackend *target = NULL;
    CopyParams p = { 0 };
    CopyResult res;
    Error *err = NULL;
    bool wt_src, wt_dst;
    /* the sources must not change under us: nobody else may write them */
    int src_flags = BDRV_O_NO_SHARE, dst_flags = BDRV_O_RDWR | BDRV_O_UNMAP;
    int nsrc = 0, i, ret = 1;
    int64_t total, target_len;

    ret = parse_options(argc, argv, &o);
    if (ret != 0) {
        ret = ret > 0 ? 0 : 1;  /* > 0: -o help printed */
        goto out;
    }
    ret = 1;
    nsrc = argc - optind - 1;
    o.out_filename = argv[argc - 1];
    if (!bdrv_parse_cache_mode(o.src_cache, &src_flags, &wt_src)) {
        error_report("Invalid source cache option: %s", o.src_cache);
        goto out;
    }
    if (!bdrv_parse_cache_mode(o.cache, &dst_flags, &wt_dst)) {
        error_report("Invalid cache option: %s", o.cache);
        goto out;
    }
    if (dst_flags & BDRV_O_NOCACHE) {
        /* O_DIRECT may need the target grown to a whole physical sector */
        dst_flags |= BDRV_O_RESIZE;
    }
    qemu_progress_init(o.progress, 1.0);
    qemu_progress_print(0, 100);

    src = g_new0(BlockBackend *, nsrc);
    for (i = 0; i < nsrc; i++) {
        src[i] = open_source(&o, argv[optind + i], src_flags, wt_src);
        if (!src[i]) {
            goto out;
        }
    }
    if (o.compress && !check_compress(&o)) {
        goto out;
    }
    if (o.bitmaps && !check_source_bitmaps(src, nsrc,
                                           o.skip_broken_bitmaps)) {
        goto out;
    }
    p.src = src;
    p.nsrc = nsrc;
    total = copy_co_total_size(&p);
    if (total < 0) {
        error_report("Could not get size of '%s': %s", argv[optind],
                     strerror(-total));
        goto out;
    }
    if (!o.skip_create && !create_target(&o, total, &err)) {
        error_prepend(&err, "%s: error while converting %s: ",
                      o.out_filename, o.out_fmt);
        error_report_err(err);
        goto out;
    }
    target = img_open(o.target_image_opts, o.out_filename,
                      o.target_image_opts && !o.out_fmt_given ? NULL :
                      o.out_fmt, dst_flags,
                      wt_dst, o.quiet, false);
    if (!target) {
        goto out;
    }
    if (o.bitmaps && !bdrv_supports_persistent_bitmaps(blk_bs(target))) {
        error_report("Format driver '%s' does not support bitmaps",
                     bdrv_get_format_name(blk_bs(target)));
        goto out;
    }
    if (o.compress && !blk_bs(target)->drv->supports_compression) {
        error_report("Compression not supported for this file format");
        goto out;
    }
    target_len = blk_co_getlength(target);
    if (o.skip_create && target_len < total) {
        error_report("output file is smaller than input file");
        goto out;
    }
    if (o.backing && o.target_is_zero) {
        /* 7.2 says so but exits 0 without copying; we call it an error */
        error_report("Cannot use --target-is-zero when the destination "
                     "image has a backing file");
        goto out;
    }
    if (!set_copy_params(&o, target, &p)) {
        goto out;
    }

    copy_co_run(&p, &res);
    if (res.ret == 0) {
        res.ret = blk_co_flush(target);
        res.write_failed = true;
        res.error_offset = total;
        if (res.ret < 0) {
            error_report("error while flushing the target: %s",
                         strerror(-res.ret));
            goto out;
        }
    } else if (res.status_failed) {
        error_report("error while reading block status at offset %" PRId64
                     ": %s", res.error_offset, strerror(-res.ret));
        goto out;
    } else {
        error_report("error while %s at byte %" PRId64 ": %s",
                     res.write_failed ? "writing" : "reading",
                     res.error_offset, strerror(-res.ret));
        goto out;
    }
    if (o.bitmaps && !copy_bitmaps(src[0], target)) {
        goto out;
    }
    qemu_progress_print(100, 0);
    ret = 0;
out:
    qemu_progress_end();
    blk_unref(target);
    for (i = 0; src && i < nsrc; i++) {
        blk_unref(src[i]);
    }
    qobject_unref(o.create_opts);
    g_free((char *)o.backing);
    g_free((char *)o.backing_fmt);
    return ret;
}
