/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img bench: issue @count read or write requests of @bufsize bytes,
 * @depth at a time, @step bytes apart (wrapping at the end of the image),
 * optionally flushing every @flush_interval requests, and print the time.
 * Requests are tasks of one AioTaskPool, the same pool qcow2 and convert
 * use.  Output and messages follow 7.2; -d 0 is refused (7.2 hangs).
 */
#include "util/osdep.h"
#include "img.h"
#include "block/aio-task.h"
#include "block/driver.h"
#include "util/cutils.h"

#include <getopt.h>
#include <time.h>

typedef struct BenchData {
    BlockBackend *blk;
    int64_t image_size;
    int64_t bufsize;
    bool write;
    uint8_t *buf;           /* depth buffers of bufsize bytes */
} BenchData;

typedef struct BenchTask {
    AioTask task;
    BenchData *b;
    int64_t offset;
    int slot;               /* which buffer; -1: a flush */
} BenchTask;

static int coroutine_fn bench_task_func(AioTask *task)
{
    BenchTask *t = container_of(task, BenchTask, task);
    BenchData *b = t->b;
    QEMUIOVector qiov;

    if (t->slot < 0) {
        return blk_co_flush(b->blk);
    }
    qemu_iovec_init_buf(&qiov, b->buf + t->slot * b->bufsize, b->bufsize);
    return b->write ? blk_co_pwritev(b->blk, t->offset, b->bufsize, &qiov, 0)
                    : blk_co_preadv(b->blk, t->offset, b->bufsize, &qiov, 0);
}

static void coroutine_fn start(AioTaskPool *pool, BenchData *b,
                               int64_t offset, int slot)
{
    BenchTask *t = g_new0(BenchTask, 1);

    t->task.func = bench_task_func;
    t->b = b;
    t->offset = offset;
    t->slot = slot;
    aio_task_pool_start_task(pool, &t->task);
}

/* Returns 0 or the first error. */
static int coroutine_fn bench_run(BenchData *b, int count, int depth,
                                  int64_t offset, int64_t step,
                                  int flush_interval, bool drain_on_flush)
{
    AioTaskPool *pool = aio_task_pool_new(depth);
    int i, ret;

    for (i = 0; i < count && aio_task_pool_status(pool) == 0; i++) {
        if (flush_interval && i > 0 && i % flush_interval == 0) {
            if (drain_on_flush) {
                aio_task_pool_wait_all(pool);
                ret = blk_co_flush(b->blk);
                if (ret < 0) {
                    aio_task_pool_free(pool);
                    return ret;
                }
            } else {
                start(pool, b, 0, -1);
            }
        }
        /* a buffer per slot; a finished request frees its slot */
        start(pool, b, offset, i % depth);
        offset += step;
        offset = b->image_size ? offset % b->image_size : 0;
    }
    aio_task_pool_wait_all(pool);
    ret = aio_task_pool_status(pool);
    aio_task_pool_free(pool);
    return ret;
}

static bool parse_int(const char *arg, int min, int *val)
{
    return qemu_strtoi(arg, NULL, 0, val) == 0 && *val >= min;
}

/* Long: one getopt switch over bench's options, then the run. */
int coroutine_fn img_bench(int argc, char **argv)
{
    enum { OPT_PATTERN = IMG_OPT_PRIVATE, OPT_FLUSH,
           OPT_NO_DRAIN };
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, OPT_FLUSH },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        /* no --object: 7.2's bench does not take it */
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = NULL, *filename, *cache = "writeback";
    bool image_opts = false, force_share = false, quiet = false;
    bool drain_on_flush = true, writethrough;
    int count = 75000, depth = 64, flush_interval = 0, pattern = 0;
    int64_t offset = 0, bufsize = 4096, step = 0;
    int flags = 0, c, ret, nrreq;
    BenchData b = { 0 };
    struct timespec t1, t2;

    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!parse_int(optarg, 1, &count)) {
                error_report("Invalid request count specified");
                return 1;
            }
            break;
        case 'd':
            if (!parse_int(optarg, 1, &depth)) {
                error_report("Invalid queue depth specified");
                return 1;
            }
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'n':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'i':
            if (!bdrv_parse_aio(optarg, &flags)) {
                error_report("Invalid aio option: %s", optarg);
                return 1;
            }
            break;
        case 'o':
            offset = img_cvtnum("offset", optarg);
            if (offset < 0) {
                return 1;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            bufsize = img_cvtnum_full("buffer size", optarg, 0, INT_MAX);
            if (bufsize < 0) {
                return 1;
            }
            break;
        case 'S':
            step = img_cvtnum_full("step_size", optarg, 0, INT_MAX);
            if (step < 0) {
                return 1;
            }
            break;
        case 't':
            cache = optarg;
            break;
        case 'w':
            flags |= BDRV_O_RDWR;
            b.write = true;
            break;
        case 'U':
            force_share = true;
            break;
        case OPT_FLUSH:
            if (!parse_int(optarg, 0, &flush_interval)) {
                error_report("Invalid flush interval specified");
                return 1;
            }
            break;
        case OPT_PATTERN:
            if (!parse_int(optarg, 0, &pattern) || pattern > 0xff) {
                error_report("Invalid pattern byte specified");
                return 1;
            }
            break;
        case OPT_NO_DRAIN:
            drain_on_flush = false;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    filename = argv[optind];
    if (!b.write && flush_interval) {
        error_report("--flush-interval is only available in write tests");
        return 1;
    }
    if (flush_interval && flush_interval < depth) {
        error_report("Flush interval can't be smaller than depth");
        return 1;
    }
    if (!bdrv_parse_cache_mode(cache, &flags, &writethrough)) {
        error_report("Invalid cache mode");
        return 1;
    }
    if (!step) {
        step = bufsize;
    }

    b.blk = img_open(image_opts, filename, fmt, flags, writethrough, quiet,
                     force_share);
    if (!b.blk) {
        return 1;
    }
    b.image_size = blk_co_getlength(b.blk);
    if (b.image_size < 0) {
        blk_unref(b.blk);
        return 1;
    }
    b.bufsize = bufsize;
    nrreq = MIN(depth, count);
    b.buf = blk_buf_alloc(blk_bs(b.blk), MAX(nrreq * bufsize, 1));
    memset(b.buf, pattern, nrreq * bufsize);

    printf("Sending %d %s requests, %" PRId64 " bytes each, %d in parallel "
           "(starting at offset %" PRId64 ", step size %" PRId64 ")\n",
           count, b.write ? "write" : "read", bufsize, depth, offset, step);
    if (flush_interval) {
        printf("Sending flush every %d requests\n", flush_interval);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ret = bench_run(&b, count, nrreq, offset, step, flush_interval,
                    drain_on_flush);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        error_report("Failed request: %s", strerror(-ret));
    } else {
        printf("Run completed in %3.3f seconds.\n",
               (t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
    }
    blk_buf_free(b.buf);
    blk_unref(b.blk);
    return ret < 0 ? 1 : 0;
}
