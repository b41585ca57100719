/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block jobs on real qcow2 chains in a temporary directory, each with a
 * guest writing through the API while the job runs: after the job the
 * image reads exactly a model of the layers plus every guest write, and
 * the backing links (in the graph and in the image) are what they should
 * be.  Cancel leaves the data and the chain as they were.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/driver.h"

#define CLUSTER (64 * 1024)
#define DISK (4 * 1024 * 1024)

static char *tmpdir;

static char *path_of(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void coroutine_fn create_image(const char *name, const char *backing)
{
    g_autofree char *path = path_of(name);
    QDict *opts = qdict_new();

    qdict_put_str(opts, "size", "4M");
    if (backing) {
        qdict_put_str(opts, "backing_file", backing);
        qdict_put_str(opts, "backing_fmt", "qcow2");
    }
    g_assert_true(bdrv_co_create(bdrv_find_format("qcow2"), path, opts,
                                 &error_abort));
    qobject_unref(opts);
}

/* Write @byte over clusters [@first, @last] of @name, and the model. */
static void coroutine_fn fill(const char *name, int first, int last,
                              uint8_t byte, uint8_t *model)
{
    g_autofree char *path = path_of(name);
    QDict *opts = qdict_new();
    BlockBackend *blk;
    g_autofree uint8_t *buf = g_malloc(CLUSTER);
    int i;

    qdict_put_str(opts, "driver", "qcow2");
    blk = blk_co_new_open(path, opts, BDRV_O_RDWR | BDRV_O_NO_BACKING,
                          &error_abort);
    memset(buf, byte, CLUSTER);
    for (i = first; i <= last; i++) {
        g_assert_cmpint(blk_co_pwrite(blk, (int64_t)i * CLUSTER, CLUSTER,
                                      buf, 0), ==, 0);
        memset(model + (size_t)i * CLUSTER, byte, CLUSTER);
    }
    blk_unref(blk);
}

/* base: clusters 0-3 'A', 20-30 'a'; mid: 2-5 'B'; top: 4-7 'C' */
static uint8_t *coroutine_fn make_chain(void)
{
    uint8_t *model = g_malloc0(DISK);

    create_image("base.qcow2", NULL);
    create_image("mid.qcow2", "base.qcow2");
    create_image("top.qcow2", "mid.qcow2");
    fill("base.qcow2", 0, 3, 'A', model);
    fill("base.qcow2", 20, 30, 'a', model);
    fill("mid.qcow2", 2, 5, 'B', model);
    fill("top.qcow2", 4, 7, 'C', model);
    return model;
}

typedef struct Guest {
    BlockBackend *blk;
    uint8_t *model;
    Job *job;
    bool stop;
    bool done;
    int writes;
    GRand *rand;
    GArray *offsets;            /* of each write, when not NULL */
} Guest;

/* Random 4 KiB writes while the job runs, recorded in the model. */
static void coroutine_fn guest_co(void *opaque)
{
    Guest *g = opaque;
    uint8_t buf[4096];

    while (!g->stop) {
        int64_t off = g_rand_int_range(g->rand, 0, DISK / 4096) * 4096LL;
        uint8_t byte = 'a' + g->writes % 26;

        memset(buf, byte, sizeof(buf));
        g_assert_cmpint(blk_co_pwrite(g->blk, off, sizeof(buf), buf, 0), ==,
                        0);
        memcpy(g->model + off, buf, sizeof(buf));
        if (g->offsets) {
            g_array_append_val(g->offsets, off);
        }
        g->writes++;
        qemu_co_sleep_ns(500000);
    }
    g->done = true;
}

/* QEMU 7.2's qemu-img check finds the image consistent (when installed). */
static void oracle_check(const char *path)
{
    const char *argv[] = { "/usr/bin/qemu-img", "check", "-q", path, NULL };
    g_autofree char *out = NULL, *err = NULL;
    int status;

    if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_message("no /usr/bin/qemu-img: image not checked by 7.2");
        return;
    }
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL,
                               &out, &err, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_printerr("%s%s", out, err);
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
}

static void coroutine_fn check_image(const char *name, const uint8_t *model,
                                     const char *want_backing)
{
    g_autofree char *path = path_of(name);
    g_autofree uint8_t *buf = g_malloc(DISK);
    BlockBackend *blk = blk_co_new_open(path, NULL, 0, &error_abort);
    BlockDriverState *bs = blk_bs(blk);

    g_assert_cmpstr(bs->backing_file, ==, want_backing);
    g_assert_cmpint(blk_co_pread(blk, 0, DISK, buf, 0), ==, 0);
    if (memcmp(buf, model, DISK)) {
        int64_t i = 0;

        while (buf[i] == model[i]) {
            i++;
        }
        g_printerr("%s differs from the model at %" PRId64 "\n", name, i);
    }
    g_assert_true(memcmp(buf, model, DISK) == 0);
    blk_unref(blk);
    oracle_check(path);
}

typedef struct StreamCase {
    bool with_base;
    bool cancel;
} StreamCase;

static int job_ret;
static bool job_done;

static void job_cb(void *opaque, int ret)
{
    job_ret = ret;
    job_done = true;
}

static void coroutine_fn stream_co(void *opaque)
{
    const StreamCase *tc = opaque;
    g_autofree uint8_t *model = make_chain();
    g_autofree char *top = path_of("top.qcow2");
    BlockJobCommon common = {
        .job_id = "s0", .speed = 1024 * 1024, .cb = job_cb,
    };
    Guest g = { .model = model, .rand = g_rand_new_with_seed(7) };
    BlockDriverState *bs, *base = NULL;
    Job *job;

    g.blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
    bs = blk_bs(g.blk);
    if (tc->with_base) {
        base = bdrv_backing_bs(bdrv_backing_bs(bs));
    }
    if (tc->cancel) {
        common.speed = 512 * 1024;
    }
    job_done = false;
    job = stream_start(&common, bs, base, NULL, BLOCKDEV_ON_ERROR_REPORT,
                       &error_abort);
    g_assert_nonnull(job);
    qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
    if (tc->cancel) {
        qemu_co_sleep_ns(50 * 1000000LL);
        job_user_cancel(job, false, &error_abort);
    }
    while (!job_done) {
        qemu_co_sleep_ns(1000000);
    }
    g.stop = true;
    while (!g.done) {
        qemu_co_sleep_ns(1000000);
    }
    g_assert_cmpint(g.writes, >, 0);
    if (tc->cancel) {
        g_assert_cmpint(job_ret, ==, -ECANCELED);
        g_assert_true(bdrv_backing_bs(bs) != NULL);
    } else {
        g_assert_cmpint(job_ret, ==, 0);
        g_assert_true(bdrv_backing_bs(bs) == base);
    }
    blk_unref(g.blk);
    g_rand_free(g.rand);
    if (tc->cancel) {
        check_image("top.qcow2", model, "mid.qcow2");
    } else if (tc->with_base) {
        g_autofree char *base_path = path_of("base.qcow2");
        check_image("top.qcow2", model, base_path);
    } else {
        check_image("top.qcow2", model, NULL);
    }
}

static void test_stream(gconstpointer data)
{
    aio_run_coroutine(stream_co, (void *)data);
    g_assert_null(job_next(NULL));
}

static void coroutine_fn stream_errors_co(void *opaque)
{
    g_free(make_chain());   /* the images; the model is not needed */
    g_autofree char *top = path_of("top.qcow2");
    BlockJobCommon common = { .job_id = "s1" };
    BlockBackend *blk = blk_co_new_open(top, NULL, 0, &error_abort);
    BlockDriverState *bs = blk_bs(blk);
    BlockDriverState *base = bdrv_backing_bs(bdrv_backing_bs(bs));
    Error *err = NULL;

    Job *job;

    g_assert_null(stream_start(&common, base, bs, NULL,
                               BLOCKDEV_ON_ERROR_REPORT, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err), "Node '"));
    g_clear_pointer(&err, error_free);
    g_assert_null(stream_start(&common, bs, NULL, "x.qcow2",
                               BLOCKDEV_ON_ERROR_REPORT, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "backing file specified, "
                    "but streaming the entire chain");
    g_clear_pointer(&err, error_free);
    common.speed = -1;
    g_assert_null(stream_start(&common, bs, base, NULL,
                               BLOCKDEV_ON_ERROR_REPORT, &err));
    g_clear_pointer(&err, error_free);
    g_assert_true(bs->read_only);

    /* a read-only top is made writable for the job, read-only after it */
    common.speed = 0;
    job = stream_start(&common, bs, NULL, NULL, BLOCKDEV_ON_ERROR_REPORT,
                       &error_abort);
    job_ref(job);
    g_assert_cmpint(job_finish_sync(job, NULL, &error_abort), ==, 0);
    job_unref(job);
    g_assert_true(bs->read_only);
    g_assert_null(bdrv_backing_bs(bs));
    blk_unref(blk);
}

static void test_stream_errors(void)
{
    aio_run_coroutine(stream_errors_co, NULL);
    g_assert_null(job_next(NULL));
}

typedef struct MirrorCase {
    MirrorSyncMode sync;
    int end;                    /* 0: complete, 1: soft cancel, 2: force */
    MirrorCopyMode copy_mode;
} MirrorCase;

static void coroutine_fn mirror_co(void *opaque)
{
    const MirrorCase *tc = opaque;
    g_autofree uint8_t *model = make_chain();
    g_autofree uint8_t *target_model = NULL;
    g_autofree char *top = path_of("top.qcow2");
    g_autofree char *tpath = path_of("target.qcow2");
    BlockJobCommon common = { .job_id = "m0", .cb = job_cb };
    MirrorParams p = {
        .sync = tc->sync, .unmap = true, .copy_mode = tc->copy_mode,
    };
    Guest g = { .model = model, .rand = g_rand_new_with_seed(9) };
    BlockDriverState *bs, *target;
    QDict *opts = qdict_new();
    Job *job;
    int i;

    /* top: the target shares the source's backing chain */
    create_image("target.qcow2", tc->sync == MIRROR_SYNC_MODE_TOP ?
                                 "mid.qcow2" : NULL);
    qdict_put_str(opts, "driver", "qcow2");
    target = bdrv_co_open(tpath, opts, BDRV_O_RDWR, &error_abort);
    g.blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
    bs = blk_bs(g.blk);
    job_done = false;
    job = mirror_start(&common, bs, target, &p, &error_abort);
    g_assert_nonnull(job);
    /* the guest's backend now goes through the job's filter */
    g_assert_cmpstr(blk_bs(g.blk)->drv->format_name, ==, "mirror_top");
    qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
    if (tc->end == 2) {
        qemu_co_sleep_ns(20 * 1000000LL);
        job_user_cancel(job, true, &error_abort);
    } else {
        for (i = 0; i < 5000 && !job_is_ready(job); i++) {
            qemu_co_sleep_ns(1000000);
        }
        g_assert_true(job_is_ready(job));
        qemu_co_sleep_ns(30 * 1000000LL);   /* writes while READY */
        g.stop = true;
        while (!g.done) {
            qemu_co_sleep_ns(1000000);
        }
        if (tc->end == 0) {
            job_complete(job, &error_abort);
        } else {
            job_user_cancel(job, false, &error_abort);
        }
    }
    while (!job_done) {
        qemu_co_sleep_ns(1000000);
    }
    g.stop = true;
    while (!g.done) {
        qemu_co_sleep_ns(1000000);
    }
    g_test_message("guest writes during the job: %d", g.writes);
    g_assert_cmpint(g.writes, >, 0);
    g_assert_cmpint(job_ret, ==, tc->end == 2 ? -ECANCELED : 0);
    /* the pivot: the guest's backend is on the target now */
    g_assert_true(blk_bs(g.blk) == (tc->end == 0 ? target : bs));
    {
        g_autofree uint8_t *buf = g_malloc(DISK);

        g_assert_cmpint(blk_co_pread(g.blk, 0, DISK, buf, 0), ==, 0);
        g_assert_true(memcmp(buf, model, DISK) == 0);
    }
    blk_unref(g.blk);
    bdrv_unref(target);
    g_rand_free(g.rand);
    if (tc->end != 2) {
        target_model = g_memdup2(model, DISK);
    }
    check_image("top.qcow2", model, "mid.qcow2");
    if (target_model) {
        check_image("target.qcow2", target_model,
                    tc->sync == MIRROR_SYNC_MODE_TOP ? "mid.qcow2" : NULL);
    } else {
        g_autofree char *t = path_of("target.qcow2");
        oracle_check(t);
    }
}

static void test_mirror(gconstpointer data)
{
    aio_run_coroutine(mirror_co, (void *)data);
    g_assert_null(job_next(NULL));
}

/* Everything @name reads, through its backing chain. */
static uint8_t *coroutine_fn read_image(const char *name)
{
    g_autofree char *path = path_of(name);
    uint8_t *buf = g_malloc(DISK);
    BlockBackend *blk = blk_co_new_open(path, NULL, 0, &error_abort);

    g_assert_cmpint(blk_co_pread(blk, 0, DISK, buf, 0), ==, 0);
    blk_unref(blk);
    return buf;
}

/* Let the guest write (started if it is not) until the job is done. */
static void coroutine_fn run_guest_until_done(Guest *g, bool started)
{
    if (!started) {
        qemu_coroutine_enter(qemu_coroutine_create(guest_co, g));
    }
    while (!job_done) {
        qemu_co_sleep_ns(1000000);
    }
    g->stop = true;
    while (!g->done) {
        qemu_co_sleep_ns(1000000);
    }
    g_test_message("guest writes during the job: %d", g->writes);
    g_assert_cmpint(g->writes, >, 0);
}

static void coroutine_fn commit_co(void *opaque)
{
    bool active = opaque != NULL;
    g_autofree uint8_t *model = make_chain();
    g_autofree uint8_t *mid_view = read_image("mid.qcow2");
    g_autofree char *top = path_of("top.qcow2");
    g_autofree char *base_path = path_of("base.qcow2");
    BlockJobCommon common = {
        .job_id = "c0", .speed = 2 * 1024 * 1024, .cb = job_cb,
    };
    Guest g = { .model = model, .rand = g_rand_new_with_seed(11) };
    BlockDriverState *bs, *mid, *base;
    Job *job;

    g.blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
    bs = blk_bs(g.blk);
    mid = bdrv_backing_bs(bs);
    base = bdrv_backing_bs(mid);
    job_done = false;
    if (active) {
        /* a speed limit below the guest's rate would never converge */
        common.speed = 0;
        job = commit_active_start(&common, bs, mid, BLOCKDEV_ON_ERROR_REPORT,
                                  &error_abort);
        g_assert_nonnull(job);
        qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
        while (!job_is_ready(job)) {
            qemu_co_sleep_ns(1000000);
        }
        g.stop = true;
        while (!g.done) {
            qemu_co_sleep_ns(1000000);
        }
        g.stop = g.done = false;
        job_complete(job, &error_abort);
    } else {
        job = commit_start(&common, bs, mid, base, NULL,
                           BLOCKDEV_ON_ERROR_REPORT, &error_abort);
        g_assert_nonnull(job);
    }
    run_guest_until_done(&g, false);
    g_assert_cmpint(job_ret, ==, 0);
    if (active) {
        /* the guest now writes to mid.qcow2, which has it all */
        g_autofree char *mid_path = path_of("mid.qcow2");

        /* top.qcow2's node left the graph: only the paths are compared */
        g_assert_cmpstr(blk_bs(g.blk)->filename, ==, mid_path);
        g_assert_cmpstr(bdrv_backing_bs(blk_bs(g.blk))->filename, ==,
                        base_path);
    } else {
        g_assert_true(bdrv_backing_bs(bs) != NULL);
        g_assert_cmpstr(bdrv_backing_bs(bs)->filename, ==, base_path);
    }
    {
        g_autofree uint8_t *buf = g_malloc(DISK);

        g_assert_cmpint(blk_co_pread(g.blk, 0, DISK, buf, 0), ==, 0);
        g_assert_true(memcmp(buf, model, DISK) == 0);
    }
    blk_unref(g.blk);
    g_rand_free(g.rand);
    if (active) {
        g_autofree char *top_path = path_of("top.qcow2");

        check_image("mid.qcow2", model, "base.qcow2");
        /* top.qcow2 left the guest at the pivot: its data is older */
        oracle_check(top_path);
    } else {
        check_image("top.qcow2", model, base_path);
        /* base.qcow2 alone now reads what mid.qcow2 did */
        check_image("base.qcow2", mid_view, NULL);
    }
}

static void test_commit(gconstpointer data)
{
    aio_run_coroutine(commit_co, (void *)data);
    g_assert_null(job_next(NULL));
}

typedef enum { BACKUP_FULL, BACKUP_FLEECE, BACKUP_INCREMENTAL } BackupKind;

/* backup: the target reads the source as it was at the start */
static void coroutine_fn backup_co(void *opaque)
{
    BackupKind kind = GPOINTER_TO_INT(opaque);
    g_autofree uint8_t *model = make_chain();
    g_autofree uint8_t *snapshot = g_memdup2(model, DISK);
    g_autofree char *top = path_of("top.qcow2");
    g_autofree char *tpath = path_of("target.qcow2");
    BlockJobCommon common = {
        .job_id = "b0", .speed = 1024 * 1024, .cb = job_cb,
    };
    BackupParams p = { .sync = MIRROR_SYNC_MODE_FULL };
    Guest g = { .model = model, .rand = g_rand_new_with_seed(13) };
    BdrvDirtyBitmap *bm = NULL;
    BlockDriverState *bs, *target;
    QDict *opts = qdict_new();
    Job *job;

    create_image("target.qcow2", NULL);
    g.blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
    bs = blk_bs(g.blk);
    qdict_put_str(opts, "driver", "qcow2");
    target = bdrv_co_open(tpath, opts, BDRV_O_RDWR | BDRV_O_NO_BACKING,
                          &error_abort);
    if (kind == BACKUP_FLEECE) {
        /* the target reads through to the source node itself */
        g_assert_nonnull(bdrv_attach_child(target, bdrv_ref(bs), "backing",
                                           BDRV_CHILD_COW, &error_abort));
        p.sync = MIRROR_SYNC_MODE_NONE;
    } else if (kind == BACKUP_INCREMENTAL) {
        /* dirty since the "last backup": clusters 4-7, 40 */
        bm = bdrv_dirty_bitmap_create(bs, "d0", CLUSTER, DISK, &error_abort);
        bdrv_dirty_bitmap_set_range(bm, 4 * CLUSTER, 4 * CLUSTER);
        bdrv_dirty_bitmap_set_range(bm, 40 * CLUSTER, 1);
        p.sync = MIRROR_SYNC_MODE_INCREMENTAL;
        p.bitmap = "d0";
        g.offsets = g_array_new(false, false, sizeof(int64_t));
    }
    job_done = false;
    job = backup_start(&common, bs, target, &p, &error_abort);
    g_assert_nonnull(job);
    g_assert_cmpstr(blk_bs(g.blk)->drv->format_name, ==,
                    "copy-before-write");
    if (bm) {
        g_assert_true(bdrv_dirty_bitmap_busy(bm));
    }
    if (kind == BACKUP_FLEECE) {
        BlockBackend *reader;
        g_autofree uint8_t *buf = g_malloc(DISK);

        qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
        qemu_co_sleep_ns(30 * 1000000LL);
        /* while the guest writes, the export of the target reads the past */
        reader = blk_new_with_bs(bdrv_ref(target), BLK_PERM_CONSISTENT_READ,
                                 BLK_PERM_ALL, &error_abort);
        g_assert_cmpint(blk_co_pread(reader, 0, DISK, buf, 0), ==, 0);
        g_assert_true(memcmp(buf, snapshot, DISK) == 0);
        blk_unref(reader);
        job_user_cancel(job, false, &error_abort);
    }
    run_guest_until_done(&g, kind == BACKUP_FLEECE);
    g_assert_cmpint(job_ret, ==, kind == BACKUP_FLEECE ? -ECANCELED : 0);
    g_assert_true(blk_bs(g.blk) == bs);
    if (bm) {
        guint i;
        uint64_t want = 0;
        GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                                 g_free, NULL);

        /* after success the bitmap holds the writes made meanwhile */
        g_assert_false(bdrv_dirty_bitmap_busy(bm));
        for (i = 0; i < g.offsets->len; i++) {
            int64_t *c = g_new(int64_t, 1);

            *c = g_array_index(g.offsets, int64_t, i) / CLUSTER;
            g_assert_true(bdrv_dirty_bitmap_get(bm, *c * CLUSTER));
            if (g_hash_table_contains(seen, c)) {
                g_free(c);
            } else {
                g_hash_table_add(seen, c);
                want++;
            }
        }
        g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, want);
        g_hash_table_destroy(seen);
        g_array_free(g.offsets, true);
    }
    {
        g_autofree uint8_t *buf = g_malloc(DISK);

        g_assert_cmpint(blk_co_pread(g.blk, 0, DISK, buf, 0), ==, 0);
        g_assert_true(memcmp(buf, model, DISK) == 0);
    }
    blk_unref(g.blk);
    bdrv_unref(target);
    g_rand_free(g.rand);
    check_image("top.qcow2", model, "mid.qcow2");
    if (kind == BACKUP_FULL) {
        check_image("target.qcow2", snapshot, NULL);
    } else if (kind == BACKUP_INCREMENTAL) {
        /* only the dirty clusters, as they were */
        g_autofree uint8_t *want = g_malloc0(DISK);

        memcpy(want + 4 * CLUSTER, snapshot + 4 * CLUSTER, 4 * CLUSTER);
        memcpy(want + 40 * CLUSTER, snapshot + 40 * CLUSTER, CLUSTER);
        check_image("target.qcow2", want, NULL);
    }
}

static void test_backup(gconstpointer data)
{
    aio_run_coroutine(backup_co, (void *)data);
    g_assert_null(job_next(NULL));
}

static void coroutine_fn backup_errors_co(void *opaque)
{
    g_free(make_chain());   /* the images; the model is not needed */
    g_autofree char *top = path_of("top.qcow2");
    BlockJobCommon common = { .job_id = "b1" };
    BlockBackend *blk = blk_co_new_open(top, NULL, BDRV_O_RDWR,
                                        &error_abort);
    BlockDriverState *bs = blk_bs(blk);
    BlockDriverState *mid = bdrv_backing_bs(bs);
    static const struct {
        BackupParams p;
        const char *msg;
    } cases[] = {
        { { .sync = MIRROR_SYNC_MODE_BITMAP },
          "must provide a valid bitmap name for 'bitmap' sync mode" },
        { { .sync = MIRROR_SYNC_MODE_INCREMENTAL, .bitmap = "x",
            .has_bitmap_mode = true, .bitmap_mode = BITMAP_SYNC_MODE_NEVER },
          "Bitmap sync mode must be 'on-success' when using sync mode "
          "'incremental'" },
        { { .sync = MIRROR_SYNC_MODE_FULL, .bitmap = "x" },
          "Bitmap sync mode must be given when providing a bitmap" },
        { { .sync = MIRROR_SYNC_MODE_NONE, .bitmap = "x",
            .has_bitmap_mode = true },
          "sync mode 'none' does not produce meaningful bitmap outputs" },
        { { .sync = MIRROR_SYNC_MODE_FULL, .bitmap = "x",
            .has_bitmap_mode = true, .bitmap_mode = BITMAP_SYNC_MODE_NEVER },
          "Bitmap sync mode 'never' has no meaningful effect when combined "
          "with sync mode 'full'" },
        { { .sync = MIRROR_SYNC_MODE_FULL, .has_bitmap_mode = true },
          "Cannot specify bitmap sync mode without a bitmap" },
        { { .sync = MIRROR_SYNC_MODE_BITMAP, .bitmap = "x",
            .has_bitmap_mode = true },
          "Bitmap 'x' could not be found" },
    };
    Error *err = NULL;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_null(backup_start(&common, bs, mid, &cases[i].p, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        g_clear_pointer(&err, error_free);
    }
    {
        BackupParams p = { .sync = MIRROR_SYNC_MODE_FULL };

        g_assert_null(backup_start(&common, bs, bs, &p, &err));
        g_assert_cmpstr(error_get_pretty(err), ==,
                        "Source and target cannot be the same");
        g_clear_pointer(&err, error_free);
    }
    g_assert_cmpstr(blk_bs(blk)->drv->format_name, ==, "qcow2");
    blk_unref(blk);
}

static void test_backup_errors(void)
{
    aio_run_coroutine(backup_errors_co, NULL);
    g_assert_null(job_next(NULL));
}

static GString *events;

static void record_event(void *opaque, const char *event, QDict *data)
{
    const char *action = qdict_get_try_str(data, "action");

    g_string_append_printf(events, "%s%s%s ", event, action ? ":" : "",
                           action ? action : "");
}

/*
 * Errors: the target fails a write once with ENOSPC; with "enospc" the
 * job stops (paused, io-status nospace), resume copies it again and the
 * job ends well.  With "report" the same error fails the job cleanly.
 */
static void coroutine_fn errors_co(void *opaque)
{
    bool report = opaque != NULL;
    g_autofree uint8_t *model = make_chain();
    g_autofree char *top = path_of("top.qcow2");
    g_autofree char *tpath = path_of("target.qcow2");
    g_autofree char *json = NULL;
    BlockJobCommon common = { .job_id = "e0", .cb = job_cb };
    MirrorParams p = {
        .sync = MIRROR_SYNC_MODE_FULL,
        .on_target_error = report ? BLOCKDEV_ON_ERROR_REPORT :
                                    BLOCKDEV_ON_ERROR_ENOSPC,
    };
    BlockBackend *blk;
    BlockDriverState *target;
    QDict *info;
    Job *job;
    int i;

    create_image("target.qcow2", NULL);
    json = g_strdup_printf("json:{\"driver\": \"qcow2\", \"file\": "
                           "{\"driver\": \"blkdebug\", \"inject-error\": "
                           "[{\"event\": \"write_aio\", \"errno\": 28, "
                           "\"once\": true, \"immediately\": true}], "
                           "\"image\": {\"driver\": \"file\", "
                           "\"filename\": \"%s\"}}}", tpath);
    target = bdrv_co_open(json, NULL, BDRV_O_RDWR, &error_abort);
    blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
    events = g_string_new("");
    job_add_listener(record_event, NULL);
    job_done = false;
    job = mirror_start(&common, blk_bs(blk), target, &p, &error_abort);
    g_assert_nonnull(job);
    if (report) {
        while (!job_done) {
            qemu_co_sleep_ns(1000000);
        }
        g_assert_cmpint(job_ret, ==, -ENOSPC);
        g_assert_nonnull(strstr(events->str, "BLOCK_JOB_ERROR:report "));
    } else {
        for (i = 0; i < 5000 && !job_user_paused(job); i++) {
            qemu_co_sleep_ns(1000000);
        }
        g_assert_true(job_user_paused(job));
        info = block_job_query(job, &error_abort);
        g_assert_cmpstr(qdict_get_try_str(info, "io-status"), ==, "nospace");
        qobject_unref(info);
        g_assert_false(job_is_ready(job));
        job_user_resume(job, &error_abort);
        for (i = 0; i < 5000 && !job_is_ready(job); i++) {
            qemu_co_sleep_ns(1000000);
        }
        job_complete(job, &error_abort);
        while (!job_done) {
            qemu_co_sleep_ns(1000000);
        }
        g_assert_cmpint(job_ret, ==, 0);
        g_assert_nonnull(strstr(events->str, "BLOCK_JOB_ERROR:stop "));
        g_assert_true(blk_bs(blk) == target);
    }
    job_remove_listener(record_event, NULL);
    g_string_free(events, true);
    blk_unref(blk);
    bdrv_unref(target);
    check_image("top.qcow2", model, "mid.qcow2");
    if (!report) {
        check_image("target.qcow2", model, NULL);
    }
}

static void test_errors(gconstpointer data)
{
    aio_run_coroutine(errors_co, (void *)data);
    g_assert_null(job_next(NULL));
}

/*
 * Cancel at random points: each job kind in turn, started under a speed
 * limit with the guest writing, force-cancelled after a random delay.
 * Whatever the point, the guest's view is exactly the model and every
 * image passes 7.2's check.
 */
static void coroutine_fn cancel_random_co(void *opaque)
{
    GRand *rand = g_rand_new_with_seed(17);
    int round;

    for (round = 0; round < 8; round++) {
        g_autofree uint8_t *model = make_chain();
        g_autofree char *top = path_of("top.qcow2");
        g_autofree char *tpath = path_of("target.qcow2");
        BlockJobCommon common = {
            .job_id = "r0", .speed = 4 * 1024 * 1024, .cb = job_cb,
        };
        Guest g = { .model = model, .rand = g_rand_new_with_seed(round) };
        BlockDriverState *bs, *target = NULL;
        int delay_ms = g_rand_int_range(rand, 0, 40);
        int kind = round % 4;
        Job *job = NULL;

        g.blk = blk_co_new_open(top, NULL, BDRV_O_RDWR, &error_abort);
        bs = blk_bs(g.blk);
        if (kind == 1 || kind == 3) {
            QDict *opts = qdict_new();

            create_image("target.qcow2", NULL);
            qdict_put_str(opts, "driver", "qcow2");
            target = bdrv_co_open(tpath, opts, BDRV_O_RDWR, &error_abort);
        }
        job_done = false;
        qemu_coroutine_enter(qemu_coroutine_create(guest_co, &g));
        if (kind == 0) {
            job = stream_start(&common, bs, NULL, NULL,
                               BLOCKDEV_ON_ERROR_REPORT, &error_abort);
        } else if (kind == 1) {
            MirrorParams p = { .sync = MIRROR_SYNC_MODE_FULL };

            job = mirror_start(&common, bs, target, &p, &error_abort);
        } else if (kind == 2) {
            BlockDriverState *mid = bdrv_backing_bs(bs);

            job = commit_start(&common, bs, mid, bdrv_backing_bs(mid), NULL,
                               BLOCKDEV_ON_ERROR_REPORT, &error_abort);
        } else {
            BackupParams p = { .sync = MIRROR_SYNC_MODE_FULL };

            job = backup_start(&common, bs, target, &p, &error_abort);
        }
        g_assert_nonnull(job);
        qemu_co_sleep_ns(delay_ms * 1000000LL);
        if (!job_done) {
            job_user_cancel(job, true, &error_abort);
        }
        run_guest_until_done(&g, true);
        g_assert_true(job_ret == 0 || job_ret == -ECANCELED);
        {
            g_autofree uint8_t *buf = g_malloc(DISK);

            g_assert_cmpint(blk_co_pread(g.blk, 0, DISK, buf, 0), ==, 0);
            g_assert_true(memcmp(buf, model, DISK) == 0);
        }
        blk_unref(g.blk);
        bdrv_unref(target);
        g_rand_free(g.rand);
        {
            g_autofree char *b = path_of("base.qcow2");
            g_autofree char *m = path_of("mid.qcow2");

            oracle_check(top);
            oracle_check(m);
            oracle_check(b);
            if (target) {
                oracle_check(tpath);
            }
        }
    }
    g_rand_free(rand);
}

static void test_cancel_random(void)
{
    aio_run_coroutine(cancel_random_co, NULL);
    g_assert_null(job_next(NULL));
}

int main(int argc, char **argv)
{
    static const StreamCase all = { false, false };
    static const StreamCase with_base = { true, false };
    static const StreamCase cancel = { true, true };
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-block-jobs-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_data_func("/block-jobs/stream/all", &all, test_stream);
    g_test_add_data_func("/block-jobs/stream/base", &with_base, test_stream);
    g_test_add_data_func("/block-jobs/stream/cancel", &cancel, test_stream);
    g_test_add_func("/block-jobs/stream/errors", test_stream_errors);
    {
        static const MirrorCase full = { MIRROR_SYNC_MODE_FULL, 0 };
        static const MirrorCase top = { MIRROR_SYNC_MODE_TOP, 0 };
        static const MirrorCase soft = { MIRROR_SYNC_MODE_FULL, 1 };
        static const MirrorCase force = { MIRROR_SYNC_MODE_FULL, 2 };
        static const MirrorCase active = {
            MIRROR_SYNC_MODE_FULL, 0, MIRROR_COPY_MODE_WRITE_BLOCKING
        };

        g_test_add_data_func("/block-jobs/mirror/full", &full, test_mirror);
        g_test_add_data_func("/block-jobs/mirror/top", &top, test_mirror);
        g_test_add_data_func("/block-jobs/mirror/cancel-ready", &soft,
                             test_mirror);
        g_test_add_data_func("/block-jobs/mirror/cancel", &force,
                             test_mirror);
        g_test_add_data_func("/block-jobs/mirror/write-blocking", &active,
                             test_mirror);
    }
    g_test_add_data_func("/block-jobs/commit/intermediate", NULL,
                         test_commit);
    g_test_add_data_func("/block-jobs/commit/active", "active", test_commit);
    g_test_add_data_func("/block-jobs/backup/full",
                         GINT_TO_POINTER(BACKUP_FULL), test_backup);
    g_test_add_data_func("/block-jobs/backup/fleecing",
                         GINT_TO_POINTER(BACKUP_FLEECE), test_backup);
    g_test_add_data_func("/block-jobs/backup/incremental",
                         GINT_TO_POINTER(BACKUP_INCREMENTAL), test_backup);
    g_test_add_func("/block-jobs/backup/errors", test_backup_errors);
    g_test_add_data_func("/block-jobs/mirror/error-stop", NULL, test_errors);
    g_test_add_data_func("/block-jobs/mirror/error-report", "report",
                         test_errors);
    g_test_add_func("/block-jobs/cancel-at-random", test_cancel_random);
    ret = g_test_run();
    {
        const char *names[] = { "base.qcow2", "mid.qcow2", "top.qcow2",
                                "target.qcow2" };
        size_t i;

        for (i = 0; i < G_N_ELEMENTS(names); i++) {
            g_autofree char *p = path_of(names[i]);
            unlink(p);
        }
    }
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
