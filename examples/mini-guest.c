/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mini-guest: an emulator's use of the block library, in miniature.
 *
 *     mini-guest SOURCE TARGET
 *
 * Opens SOURCE (any format; a 64 MiB qcow2 is created if it does not
 * exist) as a guest disk and plays the guest: random writes of random
 * patterns, 4 KiB to 64 KiB, one after another.  Meanwhile it live-
 * migrates the disk: TARGET is created (qcow2, same size), a mirror job
 * copies SOURCE to it (write-blocking: each guest write also lands on
 * the target, so the copy converges however fast the guest writes), and once the job is READY the guest goes on
 * writing for a while, then the job completes: the guest's disk is now
 * TARGET (the pivot), without the guest having stopped.  Last it reads
 * back every write from TARGET, opened again on its own, and checks it
 * holds the newest data of each.  The job's events are printed as they
 * come.  Exit status 0 when every write is there.
 *
 * Built against the public headers only (docs/api.md); make check runs it.
 */
#include "block/block-backend.h"
#include "block/blockjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BLOCK 4096
#define MAX_BLOCKS 16
#define SOURCE_SIZE (64 * 1024 * 1024)

typedef struct Guest {
    BlockBackend *blk;
    int64_t blocks;             /* disk size in BLOCKs */
    uint32_t *seed;             /* per block: the seed of its data, 0: none */
    GRand *rand;
    bool stop, stopped;
    long writes;
} Guest;

static const char *source_path, *target_path;
static int exit_status = 1;

/* A block's data: its seed, a word at a time. */
static void fill(uint8_t *buf, uint32_t seed)
{
    uint32_t *w = (uint32_t *)buf;
    size_t i;

    for (i = 0; i < BLOCK / 4; i++) {
        w[i] = seed * 2654435761u + (uint32_t)i;
    }
}

static void coroutine_fn guest_co(void *opaque)
{
    Guest *g = opaque;
    uint8_t *buf = g_malloc(MAX_BLOCKS * BLOCK);

    while (!g->stop) {
        int n = g_rand_int_range(g->rand, 1, MAX_BLOCKS + 1);
        int64_t first = g_rand_int_range(g->rand, 0, g->blocks - n + 1);
        int i;

        for (i = 0; i < n; i++) {
            g->seed[first + i] = g_rand_int_range(g->rand, 1, G_MAXINT32);
            fill(buf + i * BLOCK, g->seed[first + i]);
        }
        if (blk_co_pwrite(g->blk, first * BLOCK, n * BLOCK, buf, 0) < 0) {
            fprintf(stderr, "mini-guest: a guest write failed\n");
            exit(1);
        }
        g->writes++;
        qemu_co_sleep_ns(200 * 1000);
    }
    g_free(buf);
    g->stopped = true;
}

static void on_event(void *opaque, const char *event, QDict *data)
{
    const char *status = qdict_get_try_str(data, "status");

    printf("event %s%s%s\n", event, status ? " " : "", status ? status : "");
}

static void coroutine_fn sleep_ms(int ms)
{
    qemu_co_sleep_ns(ms * 1000000LL);
}

/* Every block the guest wrote reads back as its newest data. */
static bool coroutine_fn verify(Guest *g)
{
    BlockBackend *blk;
    Error *err = NULL;
    uint8_t buf[BLOCK], want[BLOCK];
    int64_t b, checked = 0;

    blk = blk_co_new_open(target_path, NULL, 0, &err);
    if (!blk) {
        fprintf(stderr, "mini-guest: %s\n", error_get_pretty(err));
        error_free(err);
        return false;
    }
    for (b = 0; b < g->blocks; b++) {
        if (!g->seed[b]) {
            continue;
        }
        fill(want, g->seed[b]);
        if (blk_co_pread(blk, b * BLOCK, BLOCK, buf, 0) < 0 ||
            memcmp(buf, want, BLOCK)) {
            fprintf(stderr, "mini-guest: block %" PRId64 " of %s does not "
                    "hold the guest's last write\n", b, target_path);
            blk_unref(blk);
            return false;
        }
        checked++;
    }
    blk_unref(blk);
    printf("%" PRId64 " blocks written by the guest all on the target\n",
           checked);
    return true;
}

static bool coroutine_fn create(const char *path, int64_t size)
{
    QDict *opts = qdict_new();
    Error *err = NULL;
    char sz[32];
    bool ok;

    snprintf(sz, sizeof(sz), "%" PRId64, size);
    qdict_put_str(opts, "size", sz);
    ok = bdrv_co_create(bdrv_find_format("qcow2"), path, opts, &err);
    qobject_unref(opts);
    if (!ok) {
        fprintf(stderr, "mini-guest: %s\n", error_get_pretty(err));
        error_free(err);
    }
    return ok;
}

static void coroutine_fn main_co(void *opaque)
{
    BlockJobCommon common = { .job_id = "migrate" };
    MirrorParams params = {
        .sync = MIRROR_SYNC_MODE_FULL,
        /* a guest that writes faster than the copy: the mirror converges */
        .copy_mode = MIRROR_COPY_MODE_WRITE_BLOCKING,
        .on_source_error = BLOCKDEV_ON_ERROR_REPORT,
        .on_target_error = BLOCKDEV_ON_ERROR_REPORT,
        .unmap = true,
    };
    Guest g = { .rand = g_rand_new_with_seed(getpid()) };
    BlockDriverState *target;
    QDict *opts;
    Error *err = NULL;
    int64_t len;
    Job *job;

    if (access(source_path, F_OK) != 0 && !create(source_path, SOURCE_SIZE)) {
        return;
    }
    g.blk = blk_co_new_open(source_path, NULL, BDRV_O_RDWR, &err);
    if (!g.blk) {
        goto fail;
    }
    len = blk_co_getlength(g.blk);
    g.blocks = len / BLOCK;
    g.seed = g_new0(uint32_t, g.blocks);
    if (g.blocks < MAX_BLOCKS || !create(target_path, len)) {
        goto out;
    }
    opts = qdict_new();
    qdict_put_str(opts, "driver", "qcow2");
    target = bdrv_co_open(target_path, opts, BDRV_O_RDWR, &err);
    if (!target) {
        goto fail;
    }
    qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
    job_add_listener(on_event, NULL);
    job = mirror_start(&common, blk_bs(g.blk), target, &params, &err);
    bdrv_unref(target);
    if (!job) {
        goto fail;
    }
    job_ref(job);
    while (!job_is_ready(job) && !job_is_completed(job)) {
        sleep_ms(10);
    }
    if (job_is_ready(job)) {
        printf("READY after %ld guest writes; the guest goes on\n", g.writes);
        sleep_ms(200);
        if (job_complete_sync(job, &err) < 0) {
            job_unref(job);
            goto fail;
        }
    }
    if (job->ret < 0) {
        fprintf(stderr, "mini-guest: mirror failed: %s\n",
                error_get_pretty(job->err));
        job_unref(job);
        goto out;
    }
    job_unref(job);
    sleep_ms(50);       /* the guest writes to the target now */
    g.stop = true;
    while (!g.stopped) {
        sleep_ms(1);
    }
    printf("pivoted; %ld guest writes in all, the guest's disk is %s\n",
           g.writes, bdrv_get_filename(blk_bs(g.blk)));
    blk_unref(g.blk);
    g.blk = NULL;
    exit_status = verify(&g) ? 0 : 1;
    goto out;

fail:
    fprintf(stderr, "mini-guest: %s\n", error_get_pretty(err));
    error_free(err);
out:
    job_remove_listener(on_event, NULL);
    g.stop = true;
    while (g.seed && !g.stopped && g.blk) {
        sleep_ms(1);
    }
    blk_unref(g.blk);
    g_free(g.seed);
    g_rand_free(g.rand);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mini-guest SOURCE TARGET\n");
        return 2;
    }
    source_path = argv[1];
    target_path = argv[2];
    aio_run_coroutine(main_co, NULL);
    return exit_status;
}
