/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img commit [--object objectdef] [--image-opts] [-q] [-f fmt]
 *                 [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename
 * Copy what an overlay (and the images between it and the base) hold
 * into the base, then empty the overlay unless -d or -b.  As in 7.2 this
 * is an active commit job (block/mirror.c): what the layers above the
 * base allocate, data and zero ranges, many copies in flight, the base
 * grown first if the overlay is longer; the progress is the job's.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/blockjob.h"
#include "block/driver.h"
#include "util/progress.h"

#include <getopt.h>

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

/*
 * 7.2's run_block_job: print the job's progress until it is READY (an
 * active commit) or done, complete it, and return its result.
 */
static int coroutine_fn run_block_job(Job *job, Error **errp)
{
    int ret;

    job_ref(job);
    do {
        float progress = 0.f;

        qemu_co_sleep_ns(1000000);
        if (job->progress_total) {
            progress = (float)job->progress_current / job->progress_total *
                       100.f;
        }
        qemu_progress_print(progress, 0);
    } while (!job_is_ready(job) && !job_is_completed(job));
    if (!job_is_completed(job)) {
        ret = job_complete_sync(job, errp);
    } else {
        ret = job->ret;
    }
    job_unref(job);
    if (ret == 0) {
        qemu_progress_print(100.f, 0);
    }
    return ret;
}

/*
 * Commit as 7.2 does: an active commit job of @bs into @base (a mirror
 * of the layers above it), completed once in sync: the backend then
 * uses @base, and @bs, kept here, can be emptied.
 */
static bool coroutine_fn commit_data(BlockDriverState *bs,
                                     BlockDriverState *base,
                                     const CommitOpts *o, Error **errp)
{
    BlockJobCommon common = { .job_id = "commit", .speed = o->rate_limit };
    Job *job;
    int ret;

    job = commit_active_start(&common, bs, base, BLOCKDEV_ON_ERROR_REPORT,
                              errp);
    if (!job) {
        return false;
    }
    ret = run_block_job(job, errp);
    if (ret < 0) {
        if (errp && !*errp) {
            error_setg_errno(errp, -ret, "Block job failed");
        }
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
    /* after the pivot only this reference keeps the top image open */
    bdrv_ref(bs);
    if (base && commit_data(bs, base, &o, &err) && !o.drop) {
        ret = bdrv_co_make_empty(bs);
        if (ret < 0 && ret != -ENOTSUP) {
            error_setg_errno(&err, -ret, "Failed to empty %s",
                             bs->filename);
        }
    }
    qemu_progress_end();
    blk_unref(blk);
    bdrv_unref(bs);
    if (err) {
        error_report_err(err);
        return 1;
    }
    if (!o.quiet) {
        printf("Image committed.\n");
    }
    return 0;
}
