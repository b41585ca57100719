/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size]
 *             [count=blocks] [skip=blocks] if=input of=output
 * dd(1) for images, as 7.2 has it: the output is created (format -O,
 * raw by default) with the size to copy, then filled block by block.
 * 7.2's quirks are kept: count limits the end offset, not what follows
 * skip; skipping past the end warns and makes an empty image.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"

#include <getopt.h>

typedef struct DdOpts {
    int64_t bs, count, skip;
    bool has_count, has_skip;
    const char *in, *out;
} DdOpts;

/* The operands; false after printing 7.2's message. */
static bool parse_operands(int argc, char **argv, DdOpts *d)
{
    int i;

    for (i = optind; i < argc; i++) {
        g_autofree char *key = g_strdup(argv[i]);
        char *value = strchr(key, '=');

        if (!value) {
            error_report("unrecognized operand %s", key);
            return false;
        }
        *value++ = '\0';
        if (!strcmp(key, "bs")) {
            d->bs = img_cvtnum_full("bs", value, 1, INT_MAX);
            if (d->bs < 0) {
                return false;
            }
        } else if (!strcmp(key, "count")) {
            d->count = img_cvtnum("count", value);
            d->has_count = true;
            if (d->count < 0) {
                return false;
            }
        } else if (!strcmp(key, "skip")) {
            d->skip = img_cvtnum("skip", value);
            d->has_skip = true;
            if (d->skip < 0) {
                return false;
            }
        } else if (!strcmp(key, "if")) {
            d->in = argv[i] + 3;
        } else if (!strcmp(key, "of")) {
            d->out = argv[i] + 3;
        } else {
            error_report("unrecognized operand %s", key);
            return false;
        }
    }
    if (!d->in || !d->out) {
        error_report("Must specify both input and output files");
        return false;
    }
    return true;
}

/* Create the output with @size bytes and open it; NULL after a message. */
static BlockBackend *coroutine_fn create_output(const char *filename,
                                                const char *fmt, int64_t size)
{
    const BlockDriver *drv = bdrv_find_format(fmt), *proto;
    g_autoptr(QObject) opts = qdict_new();
    g_autofree char *num = g_strdup_printf("%" PRId64, size);
    Error *err = NULL;

    if (!drv) {
        error_report("Unknown file format");
        return NULL;
    }
    proto = bdrv_find_protocol(filename, &err);
    if (!proto) {
        error_report_err(err);
        return NULL;
    }
    if (!drv->create_opts || !drv->co_create) {
        error_report("Format driver '%s' does not support image creation",
                     drv->format_name);
        return NULL;
    }
    if (!proto->create_opts) {
        error_report("Protocol driver '%s' does not support image creation",
                     proto->format_name);
        return NULL;
    }
    qdict_put_str(opts, "size", num);
    if (!bdrv_co_create(drv, filename, opts, &err)) {
        error_prepend(&err, "%s: error while creating output image: ",
                      filename);
        error_report_err(err);
        return NULL;
    }
    return img_open(false, filename, fmt, BDRV_O_RDWR, false, false, false);
}

static int coroutine_fn copy_blocks(BlockBackend *in, BlockBackend *out,
                                    int64_t in_pos, int64_t end, int64_t bs)
{
    g_autofree uint8_t *buf = g_malloc(bs);
    int64_t out_pos = 0;
    int ret;

    while (in_pos < end) {
        int64_t n = MIN(bs, end - in_pos);

        ret = blk_co_pread(in, in_pos, n, buf, 0);
        if (ret < 0) {
            error_report("error while reading from input image file: %s",
                         strerror(-ret));
            return ret;
        }
        ret = blk_co_pwrite(out, out_pos, n, buf, 0);
        if (ret < 0) {
            error_report("error while writing to output image file: %s",
                         strerror(-ret));
            return ret;
        }
        in_pos += n;
        out_pos += n;
    }
    return 0;
}

int coroutine_fn img_dd(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    DdOpts d = { .bs = 512 };
    const char *fmt = NULL, *out_fmt = "raw";
    bool image_opts = false, force_share = false, skip_past_end;
    BlockBackend *in = NULL, *out = NULL;
    int64_t size, in_pos;
    int c, ret = -1;

    while ((c = getopt_long(argc, argv, ":hf:O:U", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (!parse_operands(argc, argv, &d)) {
        return 1;
    }
    in = img_open(image_opts, d.in, fmt, 0, false, false, force_share);
    if (!in) {
        return 1;
    }
    size = blk_co_getlength(in);
    if (size < 0) {
        error_report("Failed to get size for '%s'", d.in);
        goto out;
    }
    /* 7.2: count bounds the end offset */
    if (d.has_count && d.count <= INT64_MAX / d.bs && d.count * d.bs < size) {
        size = d.count * d.bs;
    }
    skip_past_end = d.has_skip && (d.skip > INT64_MAX / d.bs ||
                                   size < d.bs * d.skip);
    out = create_output(d.out, out_fmt,
                        skip_past_end ? 0 : size - (d.has_skip ? d.bs * d.skip
                                                               : 0));
    if (!out) {
        goto out;
    }
    if (skip_past_end) {
        /* as dd(1): an empty output, and a word about it */
        error_report("%s: cannot skip to specified offset", d.in);
        in_pos = size;
    } else {
        in_pos = d.has_skip ? d.skip * d.bs : 0;
    }
    ret = copy_blocks(in, out, in_pos, size, d.bs);
out:
    if (out) {
        blk_unref(out);
    }
    blk_unref(in);
    return ret < 0 ? 1 : 0;
}
