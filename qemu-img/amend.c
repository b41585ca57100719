/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt]
 *                [-t cache] [--force] -o options filename
 * Parses and validates the options against the driver's amend list
 * (naming create-only options as such, as 7.2 does) and calls the
 * driver; the work is in the format driver (block/qcow2/amend.c).
 */
#include "util/osdep.h"
#include "img.h"
#include "util/keyval.h"
#include "util/progress.h"

#include <getopt.h>

enum {
    OPT_FORCE = IMG_OPT_PRIVATE,
};

static int print_amend_help(const char *fmt)
{
    const BlockDriver *drv = bdrv_find_format(fmt);

    if (!drv) {
        error_report("Unknown file format '%s'", fmt);
        return 1;
    }
    if (!drv->co_amend) {
        error_report("Format driver '%s' does not support option amendment",
                     fmt);
        return 1;
    }
    printf("Amend options for '%s':\n", fmt);
    img_print_opt_list(drv->amend_opts);
    return 0;
}

static const CreateOptDesc *find_opt(const CreateOptDesc *list,
                                     const char *name)
{
    for (; list && list->name; list++) {
        if (!strcmp(list->name, name)) {
            return list;
        }
    }
    return NULL;
}

/* 7.2's option parser checks the value types before the driver runs. */
static bool check_opts(const BlockDriver *drv, QDict *opts, Error **errp)
{
    size_t i;

    for (i = 0; i < qdict_size(opts); i++) {
        const char *key = qdict_key_at(opts, i);
        const CreateOptDesc *d = find_opt(drv->amend_opts, key);

        if (!d) {
            error_setg(errp, "Invalid parameter '%s'", key);
            if (find_opt(drv->create_opts, key)) {
                error_append_hint(errp, "This option is only supported for "
                                  "image creation\n");
            }
            return false;
        }
        if (!bdrv_check_create_opt_value(d, qdict_get_try_str(opts, key),
                                         errp)) {
            return false;
        }
    }
    return true;
}

/* The driver's progress, as 7.2 prints it (a step back included). */
static void amend_status(BlockDriverState *bs, int64_t offset, int64_t total,
                         void *opaque)
{
    qemu_progress_print(total ? 100.f * offset / total : 0.f, 0);
}

int coroutine_fn img_amend(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force", no_argument, NULL, OPT_FORCE },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = NULL, *filename, *cache = "writeback";
    g_autofree char *options = NULL;
    bool image_opts = false, quiet = false, progress = false, force = false;
    bool writethrough;
    g_autoptr(QObject) opts = qdict_new();
    BlockBackend *blk = NULL;
    BlockDriverState *bs;
    Error *err = NULL;
    int flags = BDRV_O_RDWR, c, ret = 1;

    while ((c = getopt_long(argc, argv, ":ho:f:t:pq", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'o':
            if (options) {
                char *joined = g_strdup_printf("%s,%s", options, optarg);
                g_free(options);
                options = joined;
            } else {
                options = g_strdup(optarg);
            }
            break;
        case 'f':
            fmt = optarg;
            break;
        case 't':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (!options) {
        img_error_exit("Must specify options (-o)");
    }
    if (quiet) {
        progress = false;
    }
    qemu_progress_init(progress, 1.0);
    filename = optind == argc - 1 ? argv[argc - 1] : NULL;
    if (fmt && img_has_help_option(options)) {
        ret = print_amend_help(fmt);
        goto out;
    }
    if (!filename) {
        error_report("Expecting one image file name");
        goto out;
    }
    if (!bdrv_parse_cache_mode(cache, &flags, &writethrough)) {
        error_report("Invalid cache option: %s", cache);
        goto out;
    }
    blk = img_open(image_opts, filename, fmt, flags, writethrough, quiet,
                   false);
    if (!blk) {
        goto out;
    }
    bs = blk_bs(blk);
    fmt = bs->drv->format_name;
    if (img_has_help_option(options)) {
        ret = print_amend_help(fmt);
        goto out;
    }
    if (!bs->drv->co_amend) {
        error_report("Format driver '%s' does not support option amendment",
                     fmt);
        goto out;
    }
    if (!keyval_parse_into(&opts, options, NULL, &err) ||
        !check_opts(bs->drv, opts, &err)) {
        error_report_err(err);
        goto out;
    }
    qemu_progress_print(0.f, 0);
    if (bs->drv->co_amend(bs, opts, force, amend_status, NULL, &err) < 0) {
        qemu_progress_print(100.f, 0);
        error_report_err(err);
        goto out;
    }
    qemu_progress_print(100.f, 0);
    ret = 0;
out:
    qemu_progress_end();
    blk_unref(blk);
    return ret;
}
