/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt]
 *                 [-t cache] [-T src_cache] [-p] [-u] -b backing_file
 *                 [-F backing_fmt] filename
 * Give an image another backing file.  Unsafe (-u): only the name in the
 * header changes.  Safe: every range the image leaves to its backing
 * chain is compared between the old chain and the new backing file, and
 * where they differ the old data is written into the image first, so
 * that what the guest sees stays the same at every moment (a crash
 * midway leaves the same disk content).  Then the header changes.  As
 * 7.2: the format of a new backing file is required.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "util/progress.h"

#include <getopt.h>

#define IO_BUF_SIZE (2 * MiB)

typedef struct RebaseOpts {
    const char *filename, *fmt, *cache, *src_cache, *base, *base_fmt;
    bool unsafe, progress, quiet, image_opts, force_share;
} RebaseOpts;

typedef struct Rebase {
    BlockBackend *blk;                  /* the image, read-write */
    BlockDriverState *old_backing;      /* its chain below it, or NULL */
    BlockBackend *new_blk;              /* new backing opened here, or NULL */
    BlockDriverState *new_backing;      /* new backing (may be in the chain) */
    bool new_in_chain;                  /* new_backing is old_backing's */
    uint8_t *buf_old, *buf_new;
} Rebase;

static void parse_args(int argc, char **argv, RebaseOpts *o)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, ":hf:F:b:upt:T:qU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            o->fmt = optarg;
            break;
        case 'F':
            o->base_fmt = optarg;
            break;
        case 'b':
            o->base = optarg;
            break;
        case 'u':
            o->unsafe = true;
            break;
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
        case 'U':
            o->force_share = true;
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
    if (!o->unsafe && !o->base) {
        img_error_exit("Must specify backing file (-b) or use unsafe mode "
                       "(-u)");
    }
    o->filename = argv[optind];
}

/* Open the new backing file for comparing (safe mode); false on error. */
static bool coroutine_fn open_new_backing(Rebase *r, const RebaseOpts *o,
                                          int src_flags)
{
    BlockDriverState *bs = blk_bs(r->blk);
    g_autofree char *path = NULL;
    QDict *opts;
    Error *err = NULL;

    if (!o->base[0]) {
        return true;            /* no backing file any more: zeroes */
    }
    /* a relative name is relative to the image, as in the header */
    path = bdrv_path_relative_to(bdrv_get_filename(bs), o->base);
    r->new_backing = bdrv_find_backing_image(bs, path);
    if (r->new_backing) {
        r->new_in_chain = true;
        return true;
    }
    opts = qdict_new();
    if (o->base_fmt) {
        qdict_put_str(opts, "driver", o->base_fmt);
    }
    r->new_blk = blk_co_new_open(path, opts, src_flags, &err);
    if (!r->new_blk) {
        error_prepend(&err, "Could not open new backing file '%s': ",
                      o->base);
        error_report_err(err);
        return false;
    }
    r->new_backing = blk_bs(r->new_blk);
    return true;
}

/* Read [@offset, +@n) of @bs (NULL or past its end: zeroes); -errno. */
static int coroutine_fn read_backing(BlockDriverState *bs, int64_t size,
                                     int64_t offset, int64_t n, uint8_t *buf)
{
    BdrvChild child = { .bs = bs };

    if (!bs || offset >= size) {
        memset(buf, 0, n);
        return 0;
    }
    return bdrv_co_pread(&child, offset, n, buf, 0);
}

/* Length of the run of 512-byte sectors alike in being equal or not. */
static bool compare_sectors(const uint8_t *a, const uint8_t *b, int64_t bytes,
                            int64_t *pnum)
{
    int64_t i = MIN(bytes, BDRV_SECTOR_SIZE);
    bool differ = memcmp(a, b, i) != 0;

    while (i < bytes) {
        int64_t len = MIN(bytes - i, BDRV_SECTOR_SIZE);
        if ((memcmp(a + i, b + i, len) != 0) != differ) {
            break;
        }
        i += len;
    }
    *pnum = i;
    return differ;
}

/*
 * Where [@offset, +@n) differs between the old chain and the new backing
 * file, write the old content into the image.  *@n may shrink.
 */
static int coroutine_fn copy_differences(Rebase *r, int64_t offset,
                                         int64_t *n, int64_t old_size,
                                         int64_t new_size)
{
    bool old_is_zero = !r->old_backing || offset >= old_size;
    int64_t done = 0, pnum;
    int ret;

    if (r->old_backing && offset < old_size) {
        *n = MIN(*n, old_size - offset);
    }
    if (r->new_backing && offset < new_size) {
        *n = MIN(*n, new_size - offset);
    }
    ret = read_backing(r->old_backing, old_size, offset, *n, r->buf_old);
    if (ret < 0) {
        error_report("error while reading from old backing file");
        return ret;
    }
    ret = read_backing(r->new_backing, new_size, offset, *n, r->buf_new);
    if (ret < 0) {
        error_report("error while reading from new backing file");
        return ret;
    }
    for (; done < *n; done += pnum) {
        if (!compare_sectors(r->buf_old + done, r->buf_new + done, *n - done,
                             &pnum)) {
            continue;
        }
        ret = old_is_zero ?
              blk_co_pwrite_zeroes(r->blk, offset + done, pnum, 0) :
              blk_co_pwrite(r->blk, offset + done, pnum, r->buf_old + done, 0);
        if (ret < 0) {
            error_report("Error while writing to COW image: %s",
                         strerror(-ret));
            return ret;
        }
    }
    return 0;
}

/* Is [@offset, +*@n) read from below the image?  1, 0 or -errno. */
static int coroutine_fn needs_compare(Rebase *r, int64_t offset, int64_t *n)
{
    BlockDriverState *bs = blk_bs(r->blk);
    int ret = bdrv_co_is_allocated(bs, offset, *n, n);

    if (ret == 0 && r->new_in_chain) {
        int64_t len = *n;

        /* the same data in both unless a layer between them has some */
        ret = bdrv_co_block_status_above(r->old_backing, r->new_backing,
                                         false, false, offset, len, n, NULL,
                                         NULL, NULL);
        if (ret >= 0 && *n == 0) {
            /* past the old backing file's end: zeroes there, maybe not below */
            *n = len;
            return 1;
        }
        return ret < 0 ? ret : !!(ret & BDRV_BLOCK_ALLOCATED);
    }
    return ret < 0 ? ret : !ret;
}

static int coroutine_fn rebase_data(Rebase *r, const RebaseOpts *o)
{
    int64_t size = blk_co_getlength(r->blk), old_size = 0, new_size = 0;
    int64_t offset, n;
    float step = 0;
    int ret;

    if (size < 0) {
        error_report("Could not get size of '%s': %s", o->filename,
                     strerror(-size));
        return size;
    }
    if (r->old_backing) {
        old_size = bdrv_co_getlength(r->old_backing);
        if (old_size < 0) {
            error_report("Could not get size of '%s': %s",
                         blk_bs(r->blk)->backing_file, strerror(-old_size));
            return old_size;
        }
    }
    if (r->new_backing) {
        new_size = bdrv_co_getlength(r->new_backing);
        if (new_size < 0) {
            error_report("Could not get size of '%s': %s", o->base,
                         strerror(-new_size));
            return new_size;
        }
    }
    r->buf_old = blk_buf_alloc(blk_bs(r->blk), IO_BUF_SIZE);
    r->buf_new = blk_buf_alloc(blk_bs(r->blk), IO_BUF_SIZE);
    if (size) {
        step = 100.0f / (size / MIN(size, IO_BUF_SIZE));
    }
    for (offset = 0; offset < size; offset += n) {
        n = MIN(IO_BUF_SIZE, size - offset);
        ret = needs_compare(r, offset, &n);
        if (ret < 0) {
            error_report("error while reading image metadata: %s",
                         strerror(-ret));
            return ret;
        }
        if (ret) {
            ret = copy_differences(r, offset, &n, old_size, new_size);
            if (ret < 0) {
                return ret;
            }
            qemu_progress_print(step, 100);
        }
    }
    return 0;
}

static int coroutine_fn change_backing(Rebase *r, const RebaseOpts *o)
{
    BlockDriverState *bs = blk_bs(r->blk);
    const char *base = o->base && o->base[0] ? o->base : NULL;
    int ret = bdrv_co_change_backing_file(bs, base, base ? o->base_fmt : NULL,
                                          base != NULL);

    if (ret == -ENOSPC) {
        error_report("Could not change the backing file to '%s': No space "
                     "left in the file header", o->base);
    } else if (ret == -EINVAL && base && !o->base_fmt) {
        error_report("Could not change the backing file to '%s': backing "
                     "format must be specified", o->base);
    } else if (ret < 0) {
        error_report("Could not change the backing file to '%s': %s",
                     o->base ? o->base : "", strerror(-ret));
    }
    return ret;
}

/*
 * An image that backs itself can never be opened again (7.2 writes it
 * with -u, and reads it forever); refused whatever the locks say.
 */
static bool refuse_self_backing(Rebase *r, const RebaseOpts *o)
{
    BlockDriverState *bs = blk_bs(r->blk);
    g_autofree char *path = NULL;

    if (!o->base[0]) {
        return true;
    }
    path = bdrv_path_relative_to(bdrv_get_filename(bs), o->base);
    if ((r->new_backing && bdrv_same_file(r->new_backing, bs)) ||
        bdrv_is_file_at(bs, path)) {
        error_report("Could not change the backing file to '%s': it is the "
                     "image itself", o->base);
        return false;
    }
    return true;
}

int coroutine_fn img_rebase(int argc, char **argv)
{
    RebaseOpts o = { .cache = "writeback", .src_cache = "writeback" };
    Rebase r = { 0 };
    bool writethrough, src_writethrough;
    int flags, src_flags = 0, ret = -1;

    parse_args(argc, argv, &o);
    qemu_progress_init(o.progress, 2.0);
    qemu_progress_print(0, 100);
    flags = BDRV_O_RDWR | (o.unsafe ? BDRV_O_NO_BACKING : 0);
    if (!bdrv_parse_cache_mode(o.cache, &flags, &writethrough)) {
        error_report("Invalid cache option: %s", o.cache);
        goto out;
    }
    if (!bdrv_parse_cache_mode(o.src_cache, &src_flags, &src_writethrough)) {
        error_report("Invalid source cache option: %s", o.src_cache);
        goto out;
    }
    r.blk = img_open(o.image_opts, o.filename, o.fmt, flags, writethrough,
                     o.quiet, false);
    if (!r.blk) {
        goto out;
    }
    if (o.base_fmt && !bdrv_find_format(o.base_fmt)) {
        error_report("Invalid format name: '%s'", o.base_fmt);
        goto out;
    }
    if (!o.unsafe) {
        r.old_backing = bdrv_backing_bs(blk_bs(r.blk));
        if (!open_new_backing(&r, &o, src_flags) ||
            !refuse_self_backing(&r, &o) || rebase_data(&r, &o) < 0) {
            goto out;
        }
    } else if (!refuse_self_backing(&r, &o)) {
        goto out;
    }
    ret = change_backing(&r, &o);
    qemu_progress_print(100, 0);
out:
    qemu_progress_end();
    if (r.new_blk) {
        blk_unref(r.new_blk);
    }
    blk_buf_free(r.buf_old);
    blk_buf_free(r.buf_new);
    if (r.blk) {
        blk_unref(r.blk);
    }
    return ret < 0 ? 1 : 0;
}
