/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job-bench: time one block job of ours, for tests/bench/jobs.sh.
 *
 *     job-bench mirror|backup SOURCE TARGET
 *
 * Opens SOURCE (read-write, as a guest's disk) and TARGET (an existing
 * image of the same size), runs a full mirror (READY, then complete) or
 * a full backup, and prints "ready SECONDS complete SECONDS" measured
 * from the job's start, as the script measures 7.2's daemon from the
 * QMP command.  Exit status 0 when the job succeeded.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/block-backend.h"
#include "block/blockjob.h"

static const char *mode, *source, *target_name;
static int status = 1;

static void coroutine_fn bench_co(void *opaque)
{
    BlockJobCommon common = { .job_id = "bench" };
    MirrorParams mp = { .sync = MIRROR_SYNC_MODE_FULL, .unmap = true };
    BackupParams bp = { .sync = MIRROR_SYNC_MODE_FULL };
    Error *err = NULL;
    BlockBackend *blk;
    BlockDriverState *target;
    int64_t start, ready = -1;
    Job *job;
    int ret;

    blk = blk_co_new_open(source, NULL, BDRV_O_RDWR, &err);
    target = blk ? bdrv_co_open(target_name, NULL, BDRV_O_RDWR, &err) : NULL;
    if (!target) {
        fprintf(stderr, "job-bench: %s\n", error_get_pretty(err));
        error_free(err);
        blk_unref(blk);
        return;
    }
    start = get_clock_ns();
    job = strcmp(mode, "mirror") ?
          backup_start(&common, blk_bs(blk), target, &bp, &err) :
          mirror_start(&common, blk_bs(blk), target, &mp, &err);
    bdrv_unref(target);
    if (!job) {
        fprintf(stderr, "job-bench: %s\n", error_get_pretty(err));
        error_free(err);
        blk_unref(blk);
        return;
    }
    job_ref(job);
    while (!job_is_ready(job) && !job_is_completed(job)) {
        qemu_co_sleep_ns(1000000);
    }
    if (job_is_ready(job)) {
        ready = get_clock_ns() - start;
        ret = job_complete_sync(job, NULL);
    } else {
        ret = job->ret;
    }
    job_unref(job);
    if (ret == 0) {
        int64_t done = get_clock_ns() - start;

        printf("ready %.3f complete %.3f\n",
               (ready < 0 ? done : ready) / 1e9, done / 1e9);
        status = 0;
    } else {
        fprintf(stderr, "job-bench: the job failed: %s\n", strerror(-ret));
    }
    blk_unref(blk);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: job-bench mirror|backup SOURCE TARGET\n");
        return 2;
    }
    mode = argv[1];
    source = argv[2];
    target_name = argv[3];
    aio_run_coroutine(bench_co, NULL);
    return status;
}
