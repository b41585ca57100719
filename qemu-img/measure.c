/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img measure [--output=ofmt] [-O output_fmt] [-o options]
 *                  [--size N | [--object objectdef] [--image-opts]
 *                  [-f fmt] [-l snapshot_param] filename]
 * The file size a new image of output_fmt needs, empty or holding the
 * data of filename: the format driver computes it (bdrv_co_measure);
 * this file parses, checks as 7.2 does, and prints.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "util/json.h"
#include "util/keyval.h"

#include <getopt.h>

enum {
    OPT_OUTPUT = IMG_OPT_PRIVATE,
    OPT_SIZE_ARG,
};

typedef struct MeasureOpts {
    OutputFormat output;
    const char *filename, *fmt, *out_fmt, *snapshot;
    GString *options;
    bool image_opts, force_share;
    int64_t size;               /* --size, or -1 */
} MeasureOpts;

static void print_info(const BlockMeasureInfo *info, OutputFormat output)
{
    g_autoptr(QObject) d = NULL;
    g_autoptr(GString) out = NULL;

    if (output == OFORMAT_HUMAN) {
        printf("required size: %" PRIu64 "\n", info->required);
        printf("fully allocated size: %" PRIu64 "\n", info->fully_allocated);
        if (info->has_bitmaps) {
            printf("bitmaps size: %" PRIu64 "\n", info->bitmaps);
        }
        return;
    }
    d = qdict_new();
    qdict_put_int(d, "required", info->required);
    qdict_put_int(d, "fully-allocated", info->fully_allocated);
    if (info->has_bitmaps) {
        qdict_put_int(d, "bitmaps", info->bitmaps);
    }
    out = g_string_new(NULL);
    json_write(out, d, JSON_PRETTY | JSON_QEMU_ORDER, 0);
    printf("%s\n", out->str);
}

/* Returns false after printing 7.2's message. */
static bool parse_args(int argc, char **argv, MeasureOpts *o)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "size", required_argument, NULL, OPT_SIZE_ARG },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, ":hf:O:o:l:U", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            o->fmt = optarg;
            break;
        case 'O':
            o->out_fmt = optarg;
            break;
        case 'o':
            if (o->options->len) {
                g_string_append_c(o->options, ',');
            }
            g_string_append(o->options, optarg);
            break;
        case 'l':
            if (!img_check_snapshot_param(optarg)) {
                return false;
            }
            o->snapshot = optarg;
            break;
        case 'U':
            o->force_share = true;
            break;
        case OPT_OUTPUT:
            o->output = img_parse_output_format(optarg);
            break;
        case OPT_SIZE_ARG:
            o->size = img_cvtnum("image size", optarg);
            if (o->size < 0) {
                return false;
            }
            break;
        default:
            img_common_option(c, argv, &o->image_opts);
        }
    }
    if (argc - optind > 1) {
        error_report("At most one filename argument is allowed.");
        return false;
    }
    o->filename = argc - optind == 1 ? argv[optind] : NULL;
    if (!o->filename && (o->image_opts || o->fmt || o->snapshot)) {
        error_report("--image-opts, -f, and -l require a filename argument.");
        return false;
    }
    if (o->filename && o->size != -1) {
        error_report("--size N cannot be used together with a filename.");
        return false;
    }
    if (!o->filename && o->size == -1) {
        error_report("Either --size N or one filename must be specified.");
        return false;
    }
    return true;
}

/* The -o options checked against the format's and the file protocol's. */
static QDict *parse_create_opts(const MeasureOpts *o, const BlockDriver *drv)
{
    QDict *opts = qdict_new();
    Error *err = NULL;

    if ((o->options->len &&
         !keyval_parse_into(&opts, o->options->str, NULL, &err)) ||
        !bdrv_check_create_opts(drv, &bdrv_file, opts, &err)) {
        error_report_err(err);
        error_report("Invalid options for file format '%s'", o->out_fmt);
        qobject_unref(opts);
        return NULL;
    }
    if (o->size != -1) {
        g_autofree char *num = g_strdup_printf("%" PRId64, o->size);
        qdict_put_str(opts, "size", num);
    }
    return opts;
}

int coroutine_fn img_measure(int argc, char **argv)
{
    g_autoptr(GString) options = g_string_new(NULL);
    MeasureOpts o = {
        .output = OFORMAT_HUMAN,
        .out_fmt = "raw",
        .options = options,
        .size = -1,
    };
    g_autoptr(QObject) opts = NULL;
    const BlockDriver *drv;
    BlockBackend *blk = NULL;
    BlockMeasureInfo info;
    Error *err = NULL;
    int ret = 1;

    if (!parse_args(argc, argv, &o)) {
        return 1;
    }
    if (o.filename) {
        blk = img_open(o.image_opts, o.filename, o.fmt, 0, false, false,
                       o.force_share);
        if (!blk) {
            return 1;
        }
        if (o.snapshot && !img_load_snapshot(blk, o.snapshot)) {
            goto out;
        }
    }
    drv = bdrv_find_format(o.out_fmt);
    if (!drv) {
        error_report("Unknown file format '%s'", o.out_fmt);
        goto out;
    }
    if (!drv->create_opts) {
        error_report("Format driver '%s' does not support image creation",
                     drv->format_name);
        goto out;
    }
    opts = parse_create_opts(&o, drv);
    if (!opts) {
        goto out;
    }
    if (!bdrv_co_measure(drv, opts, blk ? blk_bs(blk) : NULL, &info, &err)) {
        error_report_err(err);
        goto out;
    }
    print_info(&info, o.output);
    ret = 0;
out:
    if (blk) {
        blk_unref(blk);
    }
    return ret;
}
