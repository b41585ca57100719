/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img resize [--object objectdef] [--image-opts] [-f fmt]
 *                 [--preallocation=prealloc] [-q] [--shrink] filename
 *                 [+ | -]size
 * As 7.2: the size is the last argument, taken before option parsing so
 * that "-1G" is not an option; shrinking needs --shrink; preallocation
 * only when growing.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "util/cutils.h"

#include <getopt.h>

enum {
    OPT_PREALLOCATION = IMG_OPT_PRIVATE,
    OPT_SHRINK,
};

int coroutine_fn img_resize(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "preallocation", required_argument, NULL, OPT_PREALLOCATION },
        { "shrink", no_argument, NULL, OPT_SHRINK },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = NULL, *filename, *size;
    bool image_opts = false, quiet = false, shrink = false;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    g_autoptr(QObject) sizeopt = qdict_new();
    BlockBackend *blk = NULL;
    Error *err = NULL;
    int64_t current, total;
    uint64_t n;
    int relative = 0, c, ret = 1;

    /* the size goes first: "-1G" must not look like an option */
    if (argc < 3) {
        img_error_exit("Not enough arguments");
    }
    size = argv[--argc];
    while ((c = getopt_long(argc, argv, ":f:hq", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case OPT_PREALLOCATION:
            if (!prealloc_mode_parse(optarg, &prealloc, NULL)) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            break;
        case OPT_SHRINK:
            shrink = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting image file name and size");
    }
    filename = argv[optind];

    if (size[0] == '+' || size[0] == '-') {
        relative = size[0] == '+' ? 1 : -1;
        size++;
    }
    qdict_put_str(sizeopt, "size", size);
    if (!create_opt_get_size(sizeopt, "size", 0, &n,
                             &err)) {
        error_append_hint(&err, "Optional suffix k, M, G, T, P or E means "
                          "kilo-, mega-, giga-, tera-, peta-\n"
                          "and exabytes, respectively.\n");
        error_report_err(err);
        return 1;
    }

    blk = img_open(image_opts, filename, fmt, BDRV_O_RDWR | BDRV_O_RESIZE,
                   false, quiet, false);
    if (!blk) {
        return 1;
    }
    current = blk_co_getlength(blk);
    if (current < 0) {
        error_report("Failed to inquire current image length: %s",
                     strerror(-current));
        goto out;
    }
    total = relative ? current + relative * (int64_t)n : (int64_t)n;
    if (total <= 0) {
        error_report("New image size must be positive");
        goto out;
    }
    if (total <= current && prealloc != PREALLOC_MODE_OFF) {
        error_report("Preallocation can only be used for growing images");
        goto out;
    }
    if (total < current && !shrink) {
        error_report("Use the --shrink option to perform a shrink "
                     "operation.");
        warn_report("Shrinking an image will delete all data beyond the "
                    "shrunken image's end. Before performing such an "
                    "operation, make sure there is no important data "
                    "there.");
        goto out;
    }
    /* exact: the user wants this size, or an error */
    if (blk_co_truncate(blk, total, true, prealloc, 0, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    if (!quiet) {
        printf("Image resized.\n");
    }
    ret = 0;
out:
    blk_unref(blk);
    return ret;
}
