/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img check [--object objectdef] [--image-opts] [-q] [-f fmt]
 *                [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U]
 *                filename
 *
 * As 7.2: the format driver prints what it finds on stderr; the summary
 * goes to stdout (human or JSON).  With -r the image is opened read-write,
 * repaired, and checked again ("Double checking the fixed image now...").
 * Exit codes: 0 clean, 1 check not completed, 2 corruptions, 3 leaks only,
 * 63 the format has no check.
 */
#include "util/osdep.h"
#include "img.h"
#include "util/json.h"

#include <getopt.h>

enum {
    OPT_OUTPUT = IMG_OPT_PRIVATE,
};

static void print_human(const BdrvCheckResult *r)
{
    if (!(r->corruptions || r->leaks || r->check_errors)) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            printf("\n%" PRId64 " errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image "
                   "may corrupt it.\n", r->corruptions);
        }
        if (r->leaks) {
            printf("\n%" PRId64 " leaked clusters were found on the image.\n"
                   "This means waste of disk space, but no harm to data.\n",
                   r->leaks);
        }
        if (r->check_errors) {
            printf("\n%" PRId64 " internal errors have occurred during the "
                   "check.\n", r->check_errors);
        }
    }
    if (r->total_clusters && r->allocated_clusters) {
        printf("%" PRId64 "/%" PRId64 " = %0.2f%% allocated, %0.2f%% "
               "fragmented, %0.2f%% compressed clusters\n",
               r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / r->allocated_clusters,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        printf("Image end offset: %" PRId64 "\n", r->image_end_offset);
    }
}

/* 7.2's ImageCheck: optional members only when non-zero. */
static void print_json(const BdrvCheckResult *r, const char *filename,
                       const char *format)
{
    g_autoptr(QObject) d = qdict_new();
    g_autoptr(GString) out = g_string_new(NULL);
    const struct { const char *key; int64_t v; } opt[] = {
        { "image-end-offset", r->image_end_offset },
        { "corruptions", r->corruptions },
        { "leaks", r->leaks },
        { "corruptions-fixed", r->corruptions_fixed },
        { "leaks-fixed", r->leaks_fixed },
        { "total-clusters", r->total_clusters },
        { "allocated-clusters", r->allocated_clusters },
        { "fragmented-clusters", r->fragmented_clusters },
        { "compressed-clusters", r->compressed_clusters },
    };
    size_t i;

    qdict_put_str(d, "filename", filename);
    qdict_put_str(d, "format", format);
    qdict_put_int(d, "check-errors", r->check_errors);
    for (i = 0; i < G_N_ELEMENTS(opt); i++) {
        if (opt[i].v) {
            qdict_put_int(d, opt[i].key, opt[i].v);
        }
    }
    json_write(out, d, JSON_PRETTY | JSON_QEMU_ORDER, 0);
    printf("%s\n", out->str);
}

int coroutine_fn img_check(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = NULL, *output = NULL, *cache = "writeback", *filename;
    OutputFormat ofmt = OFORMAT_HUMAN;
    bool image_opts = false, quiet = false, force_share = false;
    bool writethrough;
    int flags = BDRV_O_CHECK, fix = 0, c, ret;
    BlockBackend *blk;
    BlockDriverState *bs;
    BdrvCheckResult r;

    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'r':
            flags |= BDRV_O_RDWR;
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                img_error_exit("Unknown option value for -r (expecting "
                               "'leaks' or 'all'): %s", optarg);
            }
            break;
        case OPT_OUTPUT:
            output = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            force_share = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    filename = argv[optind];
    if (output) {
        ofmt = img_parse_output_format(output);
    }
    if (!bdrv_parse_cache_mode(cache, &flags, &writethrough)) {
        error_report("Invalid source cache option: %s", cache);
        return 1;
    }
    blk = img_open(image_opts, filename, fmt, flags, writethrough, quiet,
                   force_share);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);

    ret = bdrv_co_check(bs, &r, fix);
    if (ret == -ENOTSUP) {
        error_report("This image format does not support checks");
        ret = 63;
        goto out;
    }
    if (ret == 0 && (r.corruptions_fixed || r.leaks_fixed)) {
        int64_t leaks_fixed = r.leaks_fixed;
        int64_t corruptions_fixed = r.corruptions_fixed;

        if (ofmt == OFORMAT_HUMAN && !quiet) {
            printf("The following inconsistencies were found and repaired:\n\n"
                   "    %" PRId64 " leaked clusters\n"
                   "    %" PRId64 " corruptions\n\n"
                   "Double checking the fixed image now...\n",
                   leaks_fixed, corruptions_fixed);
        }
        ret = bdrv_co_check(bs, &r, 0);
        r.leaks_fixed = leaks_fixed;
        r.corruptions_fixed = corruptions_fixed;
    }
    if (ret == 0 && !quiet) {
        if (ofmt == OFORMAT_HUMAN) {
            print_human(&r);
        } else {
            print_json(&r, filename, bdrv_get_format_name(bs));
        }
    }
    if (ret || r.check_errors) {
        if (ret) {
            error_report("Check failed: %s", strerror(-ret));
        } else {
            error_report("Check failed");
        }
        ret = 1;
    } else if (r.corruptions) {
        ret = 2;
    } else if (r.leaks) {
        ret = 3;
    }
out:
    blk_unref(blk);
    return ret;
}
