/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img commit [--object objectdef] [--image-opts] [-q] [-f fmt]
 *                 [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename
 * Copy what an overlay (and the images between it and the base) hold
 * into the base, then empty the overlay unless -d or -b.  The copy is
 * the copy engine's (block/copy.h), limited to the layers above the
 * base: data and zero ranges they allocate, many chunks in flight; the
 * base grows first if the overlay is longer, as 7.2's commit job does.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/copy.h"
#include "block/driver.h"
#include "util/progress.h"

#include <getopt.h>

#define COMMIT_BUF_SIZE (2 * MiB)
#define COMMIT_WORKERS 8

typedef struct CommitOpts {
    const char *filename, *fmt, *cache, *base;
    bool progress, quiet, drop, image_opts;
    int64_t rate_limit;
} CommitOpts;

static void parse_args(int argc, char **argv, CommitOpts *o)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, ":f:ht:b:dpqr:", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            o->fmt = optarg;
            break;
        case 't':
            o->cache = optarg;
            break;
        case 'b':
            o->base = optarg;
            o->drop = true;     /* -b implies -d */
            break;
        case 'd':
            o->drop = true;
            break;
        case 'p':
            o->progress = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'r':
            o->rate_limit = img_cvtnum("rate limit", optarg);
            if (o->rate_limit < 0) {
                exit(EXIT_FAILURE);
            }
            break;
        default:
            img_common_option(c, argv, &o->image_opts);
        }
    }
    if (o->quiet) {
        o->progress = false;
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    o->filename = argv[optind];
}

static void commit_progress(void *opaque, int64_t bytes, int64_t total)
{
    qemu_progress_print(total ? (float)bytes / total * 100 : 100, 100);
}

/*
 * Copy the layers of @blk above @base into @base.  The chain's node of
 * @base is read-only and takes locks that a writer of the same file must
 * not meet: it is closed and the file opened again, writable, in its
 * place in the chain (7.2 reopens the node read-write instead).
 */
static bool coroutine_fn commit_data(BlockBackend *blk, BlockDriverState *base,
                                     const CommitOpts *o, int flags,
                                     bool writethrough, Error **errp)
{
    QDict *opts = qdict_new();
    BlockBackend *base_blk;
    CopyParams p = { 0 };
    CopyResult res = { 0 };
    int64_t len, base_len;
    int ret;

    BlockDriverState *above = blk_bs(blk);
    g_autofree char *name = NULL;

    /* by the name the image above it gives (a path, URL or json:) */
    while (bdrv_backing_bs(above) != base) {
        above = bdrv_backing_bs(above);
    }
    name = bdrv_get_full_backing_filename(above);
    qdict_put_str(opts, "driver", bdrv_get_format_name(base));
    bdrv_unref_child(above, above->backing);
    base = NULL;
    base_blk = blk_co_new_open(name, opts, flags | BDRV_O_NO_BACKING, errp);
    if (!base_blk) {
        return false;
    }
    base = blk_bs(base_blk);
    if (!bdrv_attach_child(above, bdrv_ref(base), "backing", BDRV_CHILD_COW,
                           errp)) {
        blk_unref(base_blk);
        return false;
    }
    blk_set_enable_write_cache(base_blk, !writethrough);
    len = blk_co_getlength(blk);
    base_len = blk_co_getlength(base_blk);
    ret = len < 0 ? len : base_len < 0 ? base_len : 0;
    if (ret == 0 && base_len < len) {
        ret = blk_co_truncate(base_blk, len, false, PREALLOC_MODE_OFF, 0,
                              NULL);
    }
    if (ret == 0) {
        p.src = &blk;
        p.nsrc = 1;
        p.target = base_blk;
        p.workers = COMMIT_WORKERS;
        p.buf_size = COMMIT_BUF_SIZE;
        p.src_base = base;
        p.rate_limit = o->rate_limit;
        p.progress = commit_progress;
        copy_co_run(&p, &res);
        ret = res.ret;
    }
    if (ret == 0) {
        ret = blk_co_flush(base_blk);
    }
    blk_unref(base_blk);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Block job failed");
        return false;
    }
    return true;
}

int coroutine_fn img_commit(int argc, char **argv)
{
    CommitOpts o = { .cache = "writeback" };
    BlockDriverState *bs, *base;
    BlockBackend *blk;
    Error *err = NULL;
    bool writethrough;
    int flags = BDRV_O_RDWR | BDRV_O_UNMAP, ret;

    parse_args(argc, argv, &o);
    if (!bdrv_parse_cache_mode(o.cache, &flags, &writethrough)) {
        error_report("Invalid cache option: %s", o.cache);
        return 1;
    }
    blk = img_open(o.image_opts, o.filename, o.fmt, flags, writethrough,
                   o.quiet, false);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);
    qemu_progress_init(o.progress, 1.f);
    qemu_progress_print(0.f, 100);
    if (o.base) {
        base = bdrv_find_backing_image(bs, o.base);
        if (!base) {
            error_setg(&err, "Did not find '%s' in the backing chain of '%s'",
                       o.base, o.filename);
        }
    } else {
        /* 7.2: the immediate backing file, not the bottom of the chain */
        base = bdrv_backing_bs(bs);
        if (!base) {
            error_setg(&err, "Image does not have a backing file");
        }
    }
    if (base && commit_data(blk, base, &o, flags, writethrough, &err) &&
        !o.drop) {
        ret = bdrv_co_make_empty(bs);
        if (ret < 0 && ret != -ENOTSUP) {
            error_setg_errno(&err, -ret, "Failed to make '%s' empty",
                             o.filename);
        }
    }
    qemu_progress_end();
    blk_unref(blk);
    if (err) {
        error_report_err(err);
        return 1;
    }
    if (!o.quiet) {
        printf("Image committed.\n");
    }
    return 0;
}
