/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The storage daemon's job commands: blockdev-mirror, block-stream,
 * block-commit, blockdev-backup start block jobs (block/job.c runs them);
 * job-* and the legacy block-job-* verbs act on them; query-jobs and
 * query-block-jobs report them.  Arguments, defaults and texts as 7.2's.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "block/block.h"
#include "block/driver.h"
#include "block/job.h"
#include "block/blockjob.h"
#include "block/block-backend.h"

static const char *const on_error_names[] = {
    "report", "ignore", "enospc", "stop", "auto", NULL,
};
static const char *const sync_names[] = {
    "top", "full", "none", "incremental", "bitmap", NULL,
};

/*
 * The options every block job takes: its id (the device's name by
 * default), speed, auto-finalize/-dismiss.
 */
static bool common_args(QDict *args, BlockJobCommon *c, Error **errp)
{
    int64_t speed = qmp_int(args, "speed", 0);

    c->job_id = qmp_str(args, "job-id") ? qmp_str(args, "job-id")
                                        : qmp_str(args, "device");
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    c->speed = speed;
    c->filter_node_name = qmp_str(args, "filter-node-name");
    c->flags = JOB_DEFAULT;
    if (!qmp_bool(args, "auto-finalize", true)) {
        c->flags |= JOB_MANUAL_FINALIZE;
    }
    if (!qmp_bool(args, "auto-dismiss", true)) {
        c->flags |= JOB_MANUAL_DISMISS;
    }
    return true;
}

static bool on_error_arg(QDict *args, const char *name, BlockdevOnError *out,
                         Error **errp)
{
    int v = qmp_enum(args, name, on_error_names, 0, errp);

    if (v < 0) {
        return false;
    }
    return blockdev_on_error_parse(on_error_names[v], out, errp);
}

/* 7.2's qmp_get_root_bs(): a node only BlockBackends use, by name */
static BlockDriverState *root_node(const char *name, Error **errp)
{
    BlockDriverState *bs = qsd_lookup_node(name, name, errp);

    if (bs && !bdrv_is_root_node(bs)) {
        error_setg(errp, "Need a root block node");
        return NULL;
    }
    return bs;
}

#define COMMON_SPEC "?job-id:s device:s ?speed:i ?auto-finalize:b " \
                    "?auto-dismiss:b ?filter-node-name:s "

/*
 * 7.2's check_to_replace_node(): @name must be @bs or a node below it
 * through filters (replacing any other could change what the guest
 * reads at once), not blocked, and of @bs's size.
 */
static BlockDriverState *coroutine_fn replaced_node(BlockDriverState *bs,
                                                    const char *name,
                                                    Error **errp)
{
    BlockDriverState *to = bdrv_find_node(name), *it = bs;
    BdrvChild *c;

    if (!to) {
        error_setg(errp, "Failed to find node with node-name='%s'", name);
        return NULL;
    }
    if (bdrv_op_is_blocked(to, BLOCK_OP_TYPE_REPLACE, errp)) {
        return NULL;
    }
    while (it != to && it->drv->is_filter && (c = bdrv_primary_child(it))) {
        it = c->bs;
    }
    if (it != to) {
        error_setg(errp, "Cannot replace '%s' by a node mirrored from '%s', "
                   "because it cannot be guaranteed that doing so would not "
                   "lead to an abrupt change of visible data", name,
                   bs->node_name);
        return NULL;
    }
    if (bdrv_co_getlength(bs) != bdrv_co_getlength(to)) {
        error_setg(errp, "cannot replace image with a mirror image of "
                   "different size");
        return NULL;
    }
    return to;
}

static void coroutine_fn qmp_blockdev_mirror(QDict *args, QObject **ret,
                                             Error **errp)
{
    static const char *const copy_modes[] = {
        "background", "write-blocking", NULL,
    };
    BlockJobCommon c = { 0 };
    MirrorParams p = { .unmap = true };
    BlockDriverState *bs, *target;
    int sync, mode;

    if (!qmp_check_args(args, COMMON_SPEC "target:s ?replaces:s sync:s "
                        "?granularity:i ?buf-size:i ?on-source-error:s "
                        "?on-target-error:s ?copy-mode:s", errp) ||
        !common_args(args, &c, errp)) {
        return;
    }
    sync = qmp_enum(args, "sync", sync_names, 0, errp);
    mode = sync < 0 ? -1 : qmp_enum(args, "copy-mode", copy_modes, 0, errp);
    if (mode < 0 ||
        !on_error_arg(args, "on-source-error", &p.on_source_error, errp) ||
        !on_error_arg(args, "on-target-error", &p.on_target_error, errp)) {
        return;
    }
    bs = root_node(qmp_str(args, "device"), errp);
    target = bs ? qsd_lookup_node(qmp_str(args, "target"),
                                  qmp_str(args, "target"), errp) : NULL;
    if (!target) {
        return;
    }
    if (bs == target) {
        error_setg(errp, "Can't mirror node into itself");
        return;
    }
    if (bdrv_op_is_blocked(bs, BLOCK_OP_TYPE_MIRROR_SOURCE, errp) ||
        bdrv_op_is_blocked(target, BLOCK_OP_TYPE_MIRROR_TARGET, errp)) {
        return;
    }
    if (qmp_str(args, "replaces") &&
        !(p.replaces = replaced_node(bs, qmp_str(args, "replaces"), errp))) {
        return;
    }
    p.sync = sync;
    p.copy_mode = mode;
    p.granularity = qmp_int(args, "granularity", 0);
    p.buf_size = qmp_int(args, "buf-size", 0);
    mirror_start(&c, bs, target, &p, errp);
}

/*
 * The node @args name by node name (@node_key) or else by file name in
 * the backing chain of @chain (@file_key; not found: @not_found with the
 * name); *@out is left as it is when neither is given.  False + @errp.
 */
static bool chain_arg(QDict *args, const char *node_key, const char *file_key,
                      BlockDriverState *chain, const char *not_found,
                      BlockDriverState **out, Error **errp)
{
    const char *file = qmp_str(args, file_key);

    if (qmp_str(args, node_key)) {
        *out = qsd_lookup_node(NULL, qmp_str(args, node_key), errp);
    } else if (file) {
        *out = bdrv_find_backing_image(chain, file);
        if (!*out) {
            error_setg(errp, not_found, file);
        }
    } else {
        return true;
    }
    return *out != NULL;
}

static void coroutine_fn qmp_block_stream(QDict *args, QObject **ret,
                                          Error **errp)
{
    BlockJobCommon c = { 0 };
    BlockdevOnError on_error;
    BlockDriverState *bs, *base = NULL, *bottom = NULL, *it;
    const char *base_name = qmp_str(args, "base");
    const char *base_node = qmp_str(args, "base-node");
    const char *bottom_name = qmp_str(args, "bottom");

    if (!qmp_check_args(args, COMMON_SPEC "?base:s ?base-node:s "
                        "?backing-file:s ?bottom:s ?on-error:s", errp) ||
        !common_args(args, &c, errp) ||
        !on_error_arg(args, "on-error", &on_error, errp)) {
        return;
    }
    if (base_name && base_node) {
        error_setg(errp, "'base' and 'base-node' cannot be specified at the "
                   "same time");
        return;
    }
    if (base_name && bottom_name) {
        error_setg(errp, "'base' and 'bottom' cannot be specified at the "
                   "same time");
        return;
    }
    if (bottom_name && base_node) {
        error_setg(errp, "'bottom' and 'base-node' cannot be specified at "
                   "the same time");
        return;
    }
    bs = qsd_lookup_node(qmp_str(args, "device"), qmp_str(args, "device"),
                         errp);
    if (!bs) {
        return;
    }
    if (!chain_arg(args, "base-node", "base", bs,
                   "Can't find '%s' in the backing chain", &base, errp)) {
        return;
    }
    if (base && !base_name && !bdrv_find_overlay(bs, base)) {
        error_setg(errp, "Node '%s' is not a backing image of '%s'",
                   base->node_name, bs->node_name);
        return;
    }
    if (bottom_name) {
        /* the last node streamed from: the base is what lies below it */
        bottom = qsd_lookup_node(NULL, bottom_name, errp);
        if (!bottom) {
            return;
        }
        if (bottom->drv->is_filter) {
            error_setg(errp, "Node '%s' is a filter, use a non-filter node "
                       "as 'bottom'", bottom_name);
            return;
        }
        for (it = bs; it && it != bottom; it = bdrv_backing_bs(it)) {
        }
        if (!it) {
            error_setg(errp, "Node '%s' is not in a chain starting from '%s'",
                       bottom_name, qmp_str(args, "device"));
            return;
        }
    }
    for (it = bs; it && it != (bottom ? bdrv_backing_bs(bottom) : base);
         it = bdrv_backing_bs(it)) {
        if (bdrv_op_is_blocked(it, BLOCK_OP_TYPE_STREAM, errp)) {
            return;
        }
    }
    if (bottom && qmp_str(args, "backing-file")) {
        /* 7.2 knows no base here */
        error_setg(errp, "backing file specified, but streaming the entire "
                   "chain");
        return;
    }
    if (bottom) {
        base = bdrv_backing_bs(bottom);
    }
    stream_start(&c, bs, base, qmp_str(args, "backing-file"), on_error, errp);
}

static void coroutine_fn qmp_block_commit(QDict *args, QObject **ret,
                                          Error **errp)
{
    BlockJobCommon c = { 0 };
    BlockdevOnError on_error;
    BlockDriverState *bs, *top, *base, *it;

    if (!qmp_check_args(args, COMMON_SPEC "?base-node:s ?base:s "
                        "?top-node:s ?top:s ?backing-file:s ?on-error:s",
                        errp) ||
        !common_args(args, &c, errp) ||
        !on_error_arg(args, "on-error", &on_error, errp)) {
        return;
    }
    /* 7.2 looks for a device here, and says so when there is none */
    bs = bdrv_find_node(qmp_str(args, "device"));
    if (!bs) {
        error_setg(errp, "Device '%s' not found", qmp_str(args, "device"));
        error_set_class(errp, QMP_ERROR_DEVICE_NOT_FOUND);
        return;
    }
    if (!root_node(qmp_str(args, "device"), errp)) {
        return;
    }
    if (bdrv_op_is_blocked(bs, BLOCK_OP_TYPE_COMMIT_SOURCE, errp)) {
        return;
    }
    top = bs;
    base = NULL;
    if (!chain_arg(args, "top-node", "top", bs, "Top image file %s not found",
                   &top, errp) ||
        !chain_arg(args, "base-node", "base", top,
                   "Can't find '%s' in the backing chain", &base, errp)) {
        return;
    }
    if (!base) {
        for (base = top; bdrv_backing_bs(base); base = bdrv_backing_bs(base)) {
        }
    }
    /* the nodes merged, the base included */
    for (it = top; it; it = it == base ? NULL : bdrv_backing_bs(it)) {
        if (bdrv_op_is_blocked(it, BLOCK_OP_TYPE_COMMIT_TARGET, errp)) {
            return;
        }
    }
    if (top == base) {
        error_setg(errp, "cannot commit an image into itself");
        return;
    }
    if (!bdrv_find_overlay(top, base)) {
        error_setg(errp, "'%s' is not in this backing file chain",
                   base->node_name);
        return;
    }
    if (top == bs) {
        if (qmp_str(args, "backing-file")) {
            error_setg(errp, "'backing-file' specified, but 'top' is the "
                       "active layer");
            return;
        }
        commit_active_start(&c, bs, base, on_error, errp);
    } else {
        if (bdrv_op_is_blocked(bdrv_find_overlay(bs, top),
                               BLOCK_OP_TYPE_COMMIT_TARGET, errp)) {
            return;
        }
        commit_start(&c, bs, top, base, qmp_str(args, "backing-file"),
                     on_error, errp);
    }
}

static const char *const bitmap_modes[] = {
    "on-success", "never", "always", NULL,
};

/* blockdev-backup's enums, as 7.2's visitor checks them */
static bool backup_check(QDict *args, Error **errp)
{
    return qmp_enum(args, "sync", sync_names, 0, errp) >= 0 &&
           qmp_enum(args, "bitmap-mode", bitmap_modes, 0, errp) >= 0 &&
           qmp_enum(args, "on-source-error", on_error_names, 0, errp) >= 0 &&
           qmp_enum(args, "on-target-error", on_error_names, 0, errp) >= 0;
}

/* the job is created here, started at commit */
static bool coroutine_fn backup_prepare(QsdAction *a, QDict *args,
                                        Error **errp)
{
    BlockJobCommon c = { 0 };
    BackupParams p = { 0 };
    BlockDriverState *bs, *target;

    if (!common_args(args, &c, errp) ||
        !on_error_arg(args, "on-source-error", &p.on_source_error, errp) ||
        !on_error_arg(args, "on-target-error", &p.on_target_error, errp)) {
        return false;
    }
    bs = qsd_lookup_node(qmp_str(args, "device"), qmp_str(args, "device"),
                         errp);
    target = bs ? qsd_lookup_node(qmp_str(args, "target"),
                                  qmp_str(args, "target"), errp) : NULL;
    if (!target) {
        return false;
    }
    p.sync = qmp_enum(args, "sync", sync_names, 0, NULL);
    p.compress = qmp_bool(args, "compress", false);
    p.bitmap = qmp_str(args, "bitmap");
    p.has_bitmap_mode = qdict_haskey(args, "bitmap-mode");
    p.bitmap_mode = qmp_enum(args, "bitmap-mode", bitmap_modes, 0, NULL);
    c.txn = a->txn;
    c.defer_start = true;
    /* drained until clean, as 7.2's: the job, once started, pauses there */
    a->bs = bs;
    bdrv_co_drained_begin(bs);
    a->job = backup_start(&c, bs, target, &p, errp);
    return a->job != NULL;
}

static void coroutine_fn backup_commit(QsdAction *a)
{
    job_start(a->job);
    /*
     * 7.2 enters the job at once: it runs to its first pause point (and
     * pauses there while the source is drained) before the command ends.
     */
    aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

static void coroutine_fn backup_abort(QsdAction *a)
{
    if (a->job) {
        job_cancel_sync(a->job, true);
    }
}

static void coroutine_fn backup_clean(QsdAction *a)
{
    if (a->bs) {
        bdrv_drained_end(a->bs);
    }
}

const QsdActionOps qsd_backup_action = {
    .name = "blockdev-backup",
    .spec = COMMON_SPEC "target:s sync:s ?bitmap:s ?bitmap-mode:s "
            "?compress:b ?on-source-error:s ?on-target-error:s ?x-perf:o",
    .check = backup_check,
    .grouped = true,
    .drain_all = true,
    .prepare = backup_prepare,
    .commit = backup_commit,
    .abort = backup_abort,
    .clean = backup_clean,
};

QSD_ACTION_COMMAND(qmp_blockdev_backup, qsd_backup_action)

/* ---- verbs ---- */

static Job *find_job(QDict *args, const char *key, bool block, Error **errp)
{
    const char *id = qmp_str(args, key);
    Job *job = id ? job_get(id) : NULL;

    if (block && (!job || !job->driver->block_job)) {
        error_setg(errp, "Block job '%s' not found", id ? id : "");
        error_set_class(errp, QMP_ERROR_DEVICE_NOT_ACTIVE);
        return NULL;
    }
    if (!job) {
        error_setg(errp, "Job not found");
    }
    return job;
}

#define JOB_VERB(fn, key, spec, block, action)                               \
static void coroutine_fn fn(QDict *args, QObject **ret, Error **errp)       \
{                                                                            \
    Job *job;                                                                \
                                                                             \
    if (!qmp_check_args(args, spec, errp)) {                                 \
        return;                                                              \
    }                                                                        \
    job = find_job(args, key, block, errp);                                  \
    if (job) {                                                               \
        action;                                                              \
    }                                                                        \
}

JOB_VERB(qmp_job_pause, "id", "id:s", false, job_user_pause(job, errp))
JOB_VERB(qmp_job_resume, "id", "id:s", false, job_user_resume(job, errp))
JOB_VERB(qmp_job_cancel, "id", "id:s", false,
         job_user_cancel(job, true, errp))
JOB_VERB(qmp_job_complete, "id", "id:s", false, job_complete(job, errp))
JOB_VERB(qmp_job_finalize, "id", "id:s", false, job_finalize(job, errp))
JOB_VERB(qmp_job_dismiss, "id", "id:s", false, job_dismiss(&job, errp))
JOB_VERB(qmp_block_job_pause, "device", "device:s", true,
         job_user_pause(job, errp))
JOB_VERB(qmp_block_job_resume, "device", "device:s", true,
         job_user_resume(job, errp))
JOB_VERB(qmp_block_job_complete, "device", "device:s", true,
         job_complete(job, errp))
JOB_VERB(qmp_block_job_finalize, "id", "id:s", true,
         job_finalize(job, errp))
JOB_VERB(qmp_block_job_dismiss, "id", "id:s", true, job_dismiss(&job, errp))
JOB_VERB(qmp_block_job_set_speed, "device", "device:s speed:i", true,
         job_set_speed(job, qmp_int(args, "speed", 0), errp))

/*
 * block-job-cancel: 7.2's soft cancel unless force (a READY mirror then
 * completes without pivoting); a user-paused job is resumed first.
 */
static void coroutine_fn qmp_block_job_cancel(QDict *args, QObject **ret,
                                              Error **errp)
{
    Job *job;

    if (!qmp_check_args(args, "device:s ?force:b", errp)) {
        return;
    }
    job = find_job(args, "device", true, errp);
    if (!job) {
        return;
    }
    if (job_user_paused(job) && !qmp_bool(args, "force", false)) {
        job_user_resume(job, NULL);
    }
    job_user_cancel(job, qmp_bool(args, "force", false), errp);
}

/* query-jobs (every job with an id), or query-block-jobs (block jobs) */
static void query(QDict *args, QObject **ret, bool block, Error **errp)
{
    QList *l;
    Job *job = NULL;

    if (!qmp_check_args(args, "", errp)) {
        return;
    }
    l = qlist_new();
    while ((job = job_next(job))) {
        QDict *d;

        if (!job->id || (block && !job->driver->block_job)) {
            continue;
        }
        d = block ? block_job_query(job, errp) : job_query(job, errp);
        if (!d) {
            qobject_unref(l);
            return;
        }
        qlist_append(l, d);
    }
    *ret = l;
}

static void coroutine_fn qmp_query_jobs(QDict *args, QObject **ret,
                                        Error **errp)
{
    query(args, ret, false, errp);
}

static void coroutine_fn qmp_query_block_jobs(QDict *args, QObject **ret,
                                              Error **errp)
{
    query(args, ret, true, errp);
}

const QmpCommand qmp_job_commands[] = {
    { "blockdev-mirror", qmp_blockdev_mirror },
    { "block-stream", qmp_block_stream },
    { "block-commit", qmp_block_commit },
    { "blockdev-backup", qmp_blockdev_backup },
    { "job-pause", qmp_job_pause },
    { "job-resume", qmp_job_resume },
    { "job-cancel", qmp_job_cancel },
    { "job-complete", qmp_job_complete },
    { "job-finalize", qmp_job_finalize },
    { "job-dismiss", qmp_job_dismiss },
    { "query-jobs", qmp_query_jobs },
    { "block-job-pause", qmp_block_job_pause },
    { "block-job-resume", qmp_block_job_resume },
    { "block-job-cancel", qmp_block_job_cancel },
    { "block-job-complete", qmp_block_job_complete },
    { "block-job-finalize", qmp_block_job_finalize },
    { "block-job-dismiss", qmp_block_job_dismiss },
    { "block-job-set-speed", qmp_block_job_set_speed },
    { "query-block-jobs", qmp_query_block_jobs },
    { NULL },
};
