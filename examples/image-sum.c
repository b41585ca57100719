/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * image-sum: what an embedder of the block library does, in one page.
 * Opens an image of any format and protocol the library knows (a file
 * name, a URL or json:{...}), prints its format and virtual size, then
 * reads the whole disk as a guest sees it and prints a checksum of its
 * bytes (64-bit FNV-1a), so that two images with the same contents
 * print the same line whatever their format.
 *
 *   cc image-sum.c $(pkg-config --cflags --libs qemu-block) -o image-sum
 *   ./image-sum disk.qcow2
 *
 * Requests are coroutine functions (coroutine_fn): the program runs one
 * coroutine on the library's event loop with aio_run_coroutine(), which
 * returns when it ends.  See docs/api.md.
 */
#include "block/block-backend.h"
#include "util/aio.h"

#define CHUNK (1024 * 1024)

typedef struct SumJob {
    const char *filename;
    int ret;
} SumJob;

static void coroutine_fn sum_co(void *opaque)
{
    SumJob *job = opaque;
    Error *err = NULL;
    BlockBackend *blk;
    uint64_t hash = 0xcbf29ce484222325ULL;
    int64_t size, offset;
    uint8_t *buf;

    blk = blk_co_new_open(job->filename, NULL, 0, &err);
    if (!blk) {
        fprintf(stderr, "image-sum: %s\n", error_get_pretty(err));
        error_free(err);
        job->ret = 1;
        return;
    }
    size = blk_co_getlength(blk);
    if (size < 0) {
        fprintf(stderr, "image-sum: %s: %s\n", job->filename,
                strerror(-size));
        blk_unref(blk);
        job->ret = 1;
        return;
    }
    printf("format %s\nsize %" PRId64 "\n",
           bdrv_get_format_name(blk_bs(blk)), size);
    buf = g_malloc(CHUNK);
    for (offset = 0; offset < size; offset += CHUNK) {
        int64_t n = MIN(CHUNK, size - offset);
        int ret = blk_co_pread(blk, offset, n, buf, 0);

        if (ret < 0) {
            fprintf(stderr, "image-sum: %s: read at %" PRId64 ": %s\n",
                    job->filename, offset, strerror(-ret));
            job->ret = 1;
            break;
        }
        for (int64_t i = 0; i < n; i++) {
            hash = (hash ^ buf[i]) * 0x100000001b3ULL;
        }
    }
    g_free(buf);
    blk_unref(blk);
    if (job->ret == 0) {
        printf("fnv1a64 %016" PRIx64 "\n", hash);
    }
}

int main(int argc, char **argv)
{
    SumJob job = { 0 };

    if (argc != 2) {
        fprintf(stderr, "usage: image-sum FILENAME\n");
        return 2;
    }
    job.filename = argv[1];
    aio_run_coroutine(sum_co, &job);
    return job.ret;
}
