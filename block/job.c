/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The job core (include/block/job.h): QEMU 7.2's job model on our single
 * main loop.  A job's work runs in its own coroutine; once run returns,
 * the same coroutine finishes the job (7.2 defers that to a bottom half
 * of the main loop; here nothing else runs meanwhile either, and a
 * coroutine may wait for requests to drain where a bottom half may not).
 */
#include "util/osdep.h"
#include "block/job.h"
#include "util/cutils.h"
#include "block/driver.h"

/* 7.2's slice for the speed limit: 100 ms */
#define JOB_SLICE_NS (100 * 1000 * 1000LL)

struct JobTxn {
    bool aborting;
    /*
     * Finishing code (prepare, commit, abort, clean) runs for this
     * transaction now.  It may yield (drains, closing nodes), where 7.2's
     * never does; verbs that would start finishing code of their own
     * meanwhile (finalize, a forced cancel of a job done with its work)
     * come too late and are ignored.
     */
    int finishing;
    QTAILQ_HEAD(, Job) jobs;
    int refcnt;
};

static QTAILQ_HEAD(, Job) jobs = QTAILQ_HEAD_INITIALIZER(jobs);

typedef struct JobListener {
    JobEventFunc *fn;
    void *opaque;
} JobListener;

static GArray *listeners;

/* From status (row) to status (column): 7.2's JobSTT. */
static const bool job_stt[JOB_STATUS__MAX][JOB_STATUS__MAX] = {
    /*                      U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_STATUS_UNDEFINED] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_CREATED]   = {0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1},
    [JOB_STATUS_RUNNING]   = {0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0},
    [JOB_STATUS_PAUSED]    = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_READY]     = {0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0},
    [JOB_STATUS_STANDBY]   = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_WAITING]   = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0},
    [JOB_STATUS_PENDING]   = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
    [JOB_STATUS_ABORTING]  = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
    [JOB_STATUS_CONCLUDED] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    [JOB_STATUS_NULL]      = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

/* Which verb each status accepts: 7.2's JobVerbTable. */
static const bool job_verb_table[JOB_VERB__MAX][JOB_STATUS__MAX] = {
    /*                      U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_VERB_CANCEL]    = {0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
    [JOB_VERB_PAUSE]     = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_RESUME]    = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_SET_SPEED] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_COMPLETE]  = {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_FINALIZE]  = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    [JOB_VERB_DISMISS]   = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
};

static const char *const type_names[JOB_TYPE__MAX] = {
    "commit", "stream", "mirror", "backup", "create", "amend",
    "snapshot-load", "snapshot-save", "snapshot-delete",
};
static const char *const status_names[JOB_STATUS__MAX] = {
    "undefined", "created", "running", "paused", "ready", "standby",
    "waiting", "pending", "aborting", "concluded", "null",
};
static const char *const verb_names[JOB_VERB__MAX] = {
    "cancel", "pause", "resume", "set-speed", "complete", "dismiss",
    "finalize",
};
static const char *const on_error_names[BLOCKDEV_ON_ERROR__MAX] = {
    "report", "ignore", "enospc", "stop", "auto",
};

const char *job_type_str(JobType type)
{
    return type_names[type];
}

const char *job_status_str(JobStatus status)
{
    return status_names[status];
}

const char *job_verb_str(JobVerb verb)
{
    return verb_names[verb];
}

const char *block_error_action_str(BlockErrorAction action)
{
    static const char *const names[] = { "ignore", "report", "stop" };
    return names[action];
}

const char *block_io_status_str(BlockDeviceIoStatus status)
{
    static const char *const names[] = { "ok", "failed", "nospace" };
    return names[status];
}

bool blockdev_on_error_parse(const char *name, BlockdevOnError *out,
                             Error **errp)
{
    int i;

    for (i = 0; i < BLOCKDEV_ON_ERROR__MAX; i++) {
        if (!strcmp(name, on_error_names[i])) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Parameter 'on-error' does not accept value '%s'", name);
    return false;
}

bool job_transition_allowed(JobStatus from, JobStatus to)
{
    return job_stt[from][to];
}

bool job_verb_allowed(JobVerb verb, JobStatus status)
{
    return job_verb_table[verb][status];
}

/* ---- events ---- */

void job_add_listener(JobEventFunc *fn, void *opaque)
{
    JobListener l = { fn, opaque };

    if (!listeners) {
        listeners = g_array_new(false, false, sizeof(JobListener));
    }
    g_array_append_val(listeners, l);
}

void job_remove_listener(JobEventFunc *fn, void *opaque)
{
    guint i;

    for (i = 0; listeners && i < listeners->len; i++) {
        JobListener *l = &g_array_index(listeners, JobListener, i);
        if (l->fn == fn && l->opaque == opaque) {
            g_array_remove_index(listeners, i);
            return;
        }
    }
}

static void job_emit(const char *event, QDict *data)
{
    guint i;

    for (i = 0; listeners && i < listeners->len; i++) {
        JobListener *l = &g_array_index(listeners, JobListener, i);
        l->fn(l->opaque, event, data);
    }
    qobject_unref(data);
}

/* BLOCK_JOB_READY, _COMPLETED, _CANCELLED: type, device, len, offset, speed */
static void job_emit_progress_event(Job *job, const char *event,
                                    const char *error)
{
    QDict *d;

    if (!job->id || !job->driver->block_job) {
        return;
    }
    d = qdict_new();
    qdict_put_str(d, "type", job_type_str(job->driver->job_type));
    qdict_put_str(d, "device", job->id);
    qdict_put_int(d, "len", job->progress_total);
    qdict_put_int(d, "offset", job->progress_current);
    qdict_put_int(d, "speed", job->speed);
    if (error) {
        qdict_put_str(d, "error", error);
    }
    job_emit(event, d);
}

static void job_state_transition(Job *job, JobStatus to)
{
    JobStatus from = job->status;

    assert(job_stt[from][to]);
    job->status = to;
    if (job->id && from != to) {
        QDict *d = qdict_new();

        qdict_put_str(d, "id", job->id);
        qdict_put_str(d, "status", job_status_str(to));
        job_emit("JOB_STATUS_CHANGE", d);
    }
    qemu_co_queue_restart_all(&job->status_waiters);
}

int job_apply_verb(Job *job, JobVerb verb, Error **errp)
{
    if (job_verb_table[verb][job->status]) {
        return 0;
    }
    error_setg(errp, "Job '%s' in state '%s' cannot accept command verb '%s'",
               job->id, job_status_str(job->status), job_verb_str(verb));
    return -EPERM;
}

/* ---- creation, references, lookup ---- */

JobTxn *job_txn_new(void)
{
    JobTxn *txn = g_new0(JobTxn, 1);

    QTAILQ_INIT(&txn->jobs);
    txn->refcnt = 1;
    return txn;
}

void job_txn_unref(JobTxn *txn)
{
    if (txn && --txn->refcnt == 0) {
        g_free(txn);
    }
}

static void job_txn_add(JobTxn *txn, Job *job)
{
    assert(!job->txn);
    job->txn = txn;
    QTAILQ_INSERT_HEAD(&txn->jobs, job, txn_list);
    txn->refcnt++;
}

static void job_txn_del(Job *job)
{
    if (job->txn) {
        QTAILQ_REMOVE(&job->txn->jobs, job, txn_list);
        job_txn_unref(job->txn);
        job->txn = NULL;
    }
}

Job *job_get(const char *id)
{
    Job *job;

    QTAILQ_FOREACH(job, &jobs, job_list) {
        if (job->id && !strcmp(id, job->id)) {
            return job;
        }
    }
    return NULL;
}

Job *job_next(Job *job)
{
    return job ? QTAILQ_NEXT(job, job_list) : QTAILQ_FIRST(&jobs);
}

static void job_sleep_timer_cb(void *opaque)
{
    job_enter(opaque);
}

void *job_create(const char *id, const JobDriver *driver, JobTxn *txn,
                 int flags, void (*cb)(void *opaque, int ret), void *opaque,
                 Error **errp)
{
    Job *job;

    if (id) {
        if (flags & JOB_INTERNAL) {
            error_setg(errp, "Cannot specify job ID for internal job");
            return NULL;
        }
        if (!id_wellformed(id)) {
            error_setg(errp, "Invalid job ID '%s'", id);
            return NULL;
        }
        if (job_get(id)) {
            error_setg(errp, "Job ID '%s' already in use", id);
            return NULL;
        }
    } else if (!(flags & JOB_INTERNAL)) {
        error_setg(errp, "An explicit job ID is required");
        return NULL;
    }
    assert(driver->instance_size >= sizeof(Job));
    job = g_malloc0(driver->instance_size);
    job->driver = driver;
    job->id = g_strdup(id);
    job->refcnt = 1;
    job->paused = true;
    job->pause_count = 1;
    job->auto_finalize = !(flags & JOB_MANUAL_FINALIZE);
    job->auto_dismiss = !(flags & JOB_MANUAL_DISMISS);
    job->cb = cb;
    job->cb_opaque = opaque;
    qemu_co_queue_init(&job->status_waiters);
    job->sleep_timer = aio_timer_new(qemu_get_aio_context(),
                                     job_sleep_timer_cb, job);
    job_state_transition(job, JOB_STATUS_CREATED);
    QTAILQ_INSERT_HEAD(&jobs, job, job_list);
    if (!txn) {
        txn = job_txn_new();
        job_txn_add(txn, job);
        job_txn_unref(txn);
    } else {
        job_txn_add(txn, job);
    }
    return job;
}

void job_ref(Job *job)
{
    job->refcnt++;
}

/*
 * The job's link to a node it uses: it blocks other operations there, and
 * a drain of the node pauses the job (7.2's child_job).
 */
static void job_child_drained_begin(BdrvChild *c)
{
    job_pause(c->opaque);
}

static void job_child_drained_end(BdrvChild *c)
{
    job_resume(c->opaque);
}

static bool job_started(Job *job)
{
    return job->co != NULL;
}

static char *job_child_desc(BdrvChild *c)
{
    Job *job = c->opaque;

    return g_strdup_printf("%s job '%s'", job_type_str(job->driver->job_type),
                           job->id ? job->id : "");
}

/*
 * A drain waits until the job stops at a pause point (or yields, or
 * ends), as 7.2's: a running job may still send requests.  Not for a
 * drain the job itself began (in its own coroutine).
 */
static bool job_child_drained_poll(BdrvChild *c)
{
    Job *job = c->opaque;

    return job_started(job) && !job->deferred && job->busy &&
           qemu_coroutine_self() != job->co;
}

static const BdrvChildOps job_child_ops = {
    .drained_begin = job_child_drained_begin,
    .drained_end = job_child_drained_end,
    .drained_poll = job_child_drained_poll,
    .stay_at_node = true,
    .get_parent_desc = job_child_desc,
};

bool job_block_node(Job *job, const char *name, BlockDriverState *bs,
                    uint64_t perm, uint64_t shared, Error **errp)
{
    g_autofree char *reason =
        g_strdup_printf("block device is in use by block job: %s",
                        job_type_str(job->driver->job_type));
    BdrvChild *c = g_new0(BdrvChild, 1);

    c->name = g_strdup(name);
    c->ops = &job_child_ops;
    c->opaque = job;
    if (!bdrv_root_attach(bdrv_ref(bs), c, perm, shared, errp)) {
        bdrv_unref(bs);
        g_free(c->name);
        g_free(c);
        return false;
    }
    bdrv_op_block_all(bs, job, reason);
    job->blocked_nodes = g_slist_prepend(job->blocked_nodes, c);
    return true;
}

void job_unblock_nodes(Job *job)
{
    GSList *l;

    for (l = job->blocked_nodes; l; l = l->next) {
        BdrvChild *c = l->data;
        BlockDriverState *bs = c->bs;

        bdrv_op_unblock_all(bs, job);
        bdrv_root_detach(c);
        g_free(c->name);
        g_free(c);
        bdrv_unref(bs);
    }
    g_clear_pointer(&job->blocked_nodes, g_slist_free);
}

void job_unref(Job *job)
{
    if (--job->refcnt > 0) {
        return;
    }
    assert(job->status == JOB_STATUS_NULL && !job->txn);
    job_unblock_nodes(job);
    if (job->driver->free) {
        job->driver->free(job);
    }
    QTAILQ_REMOVE(&jobs, job, job_list);
    timer_free(job->sleep_timer);
    error_free(job->err);
    g_free(job->id);
    g_free(job);
}

/* ---- the job's coroutine ---- */

bool job_is_cancelled(Job *job)
{
    assert(job->cancelled || !job->force_cancel);
    return job->force_cancel;
}

bool job_cancel_requested(Job *job)
{
    return job->cancelled;
}

bool job_is_ready(Job *job)
{
    return job->status == JOB_STATUS_READY ||
           job->status == JOB_STATUS_STANDBY;
}

bool job_is_completed(Job *job)
{
    switch (job->status) {
    case JOB_STATUS_WAITING:
    case JOB_STATUS_PENDING:
    case JOB_STATUS_ABORTING:
    case JOB_STATUS_CONCLUDED:
    case JOB_STATUS_NULL:
        return true;
    default:
        return false;
    }
}

static void job_enter_cond(Job *job, bool (*fn)(Job *job))
{
    if (!job_started(job) || job->deferred || job->busy) {
        return;
    }
    if (fn && !fn(job)) {
        return;
    }
    timer_del(job->sleep_timer);
    job->busy = true;
    aio_co_wake(job->co);
}

void job_enter(Job *job)
{
    job_enter_cond(job, NULL);
}

/* Yield until job_enter(), or until @deadline_ns (-1: none) passed. */
static void coroutine_fn job_do_yield(Job *job, int64_t deadline_ns)
{
    if (deadline_ns != -1) {
        timer_mod(job->sleep_timer, deadline_ns);
    }
    job->busy = false;
    bdrv_drain_wake();          /* a drain may wait for the job to stop */
    qemu_coroutine_yield();
    assert(job->busy);
}

void coroutine_fn job_pause_point(Job *job)
{
    assert(job_started(job));
    if (job->pause_count == 0 || job_is_cancelled(job)) {
        return;
    }
    if (job->driver->pause) {
        job->driver->pause(job);
    }
    if (job->pause_count > 0 && !job_is_cancelled(job)) {
        JobStatus status = job->status;

        job_state_transition(job, status == JOB_STATUS_READY ?
                                  JOB_STATUS_STANDBY : JOB_STATUS_PAUSED);
        job->paused = true;
        job_do_yield(job, -1);
        job->paused = false;
        job_state_transition(job, status);
    }
    if (job->driver->resume) {
        job->driver->resume(job);
    }
}

void coroutine_fn job_yield(Job *job)
{
    assert(job->busy);
    if (job_is_cancelled(job)) {
        return;
    }
    if (job->pause_count == 0) {
        job_do_yield(job, -1);
    }
    job_pause_point(job);
}

void coroutine_fn job_sleep_ns(Job *job, int64_t ns)
{
    assert(job->busy);
    if (job_is_cancelled(job)) {
        return;
    }
    if (job->pause_count == 0) {
        job_do_yield(job, get_clock_ns() + ns);
    }
    job_pause_point(job);
}

void job_pause(Job *job)
{
    job->pause_count++;
    if (!job->paused) {
        job_enter_cond(job, NULL);
    }
}

static bool job_timer_pending(Job *job)
{
    return timer_pending(job->sleep_timer);
}

static bool job_timer_not_pending(Job *job)
{
    return !timer_pending(job->sleep_timer);
}

void job_resume(Job *job)
{
    assert(job->pause_count > 0);
    if (--job->pause_count == 0) {
        /* a sleeping job wakes at its time */
        job_enter_cond(job, job_timer_not_pending);
    }
}

void job_transition_to_ready(Job *job)
{
    job_state_transition(job, JOB_STATUS_READY);
    job_emit_progress_event(job, "BLOCK_JOB_READY", NULL);
}

void job_progress_update(Job *job, uint64_t done)
{
    job->progress_current += done;
}

void job_progress_set_remaining(Job *job, uint64_t remaining)
{
    job->progress_total = job->progress_current + remaining;
}

void job_progress_increase_remaining(Job *job, uint64_t delta)
{
    job->progress_total += delta;
}

/* 7.2's RateLimit: a quota per 100 ms slice, a slice stretched when over */
int64_t job_ratelimit_get_delay(Job *job, uint64_t n)
{
    int64_t now = get_clock_ns();

    if (!job->slice_quota) {
        return 0;
    }
    if (job->slice_end_ns < now) {
        job->slice_start_ns = now;
        job->slice_end_ns = now + JOB_SLICE_NS;
        job->slice_dispatched = 0;
    }
    job->slice_dispatched += n;
    if (job->slice_dispatched < job->slice_quota) {
        return 0;
    }
    job->slice_end_ns = job->slice_start_ns +
        (int64_t)((double)job->slice_dispatched / job->slice_quota *
                  JOB_SLICE_NS);
    return job->slice_end_ns - now;
}

BlockErrorAction job_error_action(Job *job, BlockdevOnError on_err,
                                  bool is_read, int error)
{
    BlockErrorAction action;

    switch (on_err) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
    case BLOCKDEV_ON_ERROR_AUTO:
        action = error == ENOSPC ? BLOCK_ERROR_ACTION_STOP :
                                   BLOCK_ERROR_ACTION_REPORT;
        break;
    case BLOCKDEV_ON_ERROR_STOP:
        action = BLOCK_ERROR_ACTION_STOP;
        break;
    case BLOCKDEV_ON_ERROR_IGNORE:
        action = BLOCK_ERROR_ACTION_IGNORE;
        break;
    default:
        action = BLOCK_ERROR_ACTION_REPORT;
        break;
    }
    if (job->id) {
        QDict *d = qdict_new();

        qdict_put_str(d, "device", job->id);
        qdict_put_str(d, "operation", is_read ? "read" : "write");
        qdict_put_str(d, "action", block_error_action_str(action));
        job_emit("BLOCK_JOB_ERROR", d);
    }
    if (action == BLOCK_ERROR_ACTION_STOP) {
        if (!job->user_paused) {
            /* paused as if by the user: job-resume retries */
            job_pause(job);
            job->user_paused = true;
        }
        if (job->iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
            job->iostatus = error == ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE :
                                              BLOCK_DEVICE_IO_STATUS_FAILED;
        }
    }
    return action;
}

/* ---- finishing ---- */

static void job_do_dismiss(Job *job)
{
    job->busy = false;
    job->paused = false;
    job->deferred = true;
    job_txn_del(job);
    job_state_transition(job, JOB_STATUS_NULL);
    job_unref(job);
}

void job_early_fail(Job *job)
{
    assert(job->status == JOB_STATUS_CREATED);
    job_do_dismiss(job);
}

static void job_conclude(Job *job)
{
    job_state_transition(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss || !job_started(job)) {
        job_do_dismiss(job);
    }
}

static void job_update_rc(Job *job)
{
    if (!job->ret && job_is_cancelled(job)) {
        job->ret = -ECANCELED;
    }
    if (job->ret) {
        if (!job->err) {
            error_setg(&job->err, "%s", strerror(-job->ret));
        }
        job_state_transition(job, JOB_STATUS_ABORTING);
    }
}

static int coroutine_fn job_finalize_single(Job *job)
{
    int ret;

    assert(job_is_completed(job));
    job_update_rc(job);
    ret = job->ret;
    if (!ret && job->driver->commit) {
        job->driver->commit(job);
    } else if (ret && job->driver->abort) {
        job->driver->abort(job);
    }
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    job_unblock_nodes(job);
    if (job->cb) {
        job->cb(job->cb_opaque, ret);
    }
    if (job_started(job)) {
        if (job_is_cancelled(job)) {
            job_emit_progress_event(job, "BLOCK_JOB_CANCELLED", NULL);
        } else {
            job_emit_progress_event(job, "BLOCK_JOB_COMPLETED",
                                    ret ? error_get_pretty(job->err) : NULL);
        }
    }
    job_txn_del(job);
    job_conclude(job);
    return 0;
}

/* Apply @fn to every job of @job's transaction, until one returns != 0. */
static int coroutine_fn job_txn_apply(Job *job, int coroutine_fn (*fn)(Job *))
{
    JobTxn *txn = job->txn;
    Job *other, *next;
    int rc = 0;

    txn->refcnt++;
    job_ref(job);
    QTAILQ_FOREACH_SAFE(other, &txn->jobs, txn_list, next) {
        rc = fn(other);
        if (rc) {
            break;
        }
    }
    job_unref(job);
    job_txn_unref(txn);
    return rc;
}

static void job_cancel_async(Job *job, bool force)
{
    force = job->driver->cancel ? job->driver->cancel(job, force) : true;
    if (job->user_paused) {
        job->user_paused = false;
        job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
        assert(job->pause_count > 0);
        job->pause_count--;
    }
    /* a soft cancel of a job that already finished its work is moot */
    if (force || !job->deferred) {
        job->cancelled = true;
        job->force_cancel |= force;
    }
}

/* Until @job's run returned and it is completed; not its finishing. */
static void coroutine_fn job_wait_completed(Job *job)
{
    job_ref(job);
    while (!job_is_completed(job)) {
        job_enter(job);
        qemu_co_queue_wait(&job->status_waiters, NULL);
    }
    job_unref(job);
}

static void coroutine_fn job_completed_txn_abort(Job *job)
{
    JobTxn *txn = job->txn;
    Job *other;

    if (txn->aborting) {
        return;     /* another job of the transaction does it */
    }
    txn->aborting = true;
    txn->refcnt++;
    job_ref(job);
    /* one failed: no result matters, stop the others quickly */
    QTAILQ_FOREACH(other, &txn->jobs, txn_list) {
        if (other != job) {
            job_cancel_async(other, true);
        }
    }
    while (!QTAILQ_EMPTY(&txn->jobs)) {
        other = QTAILQ_FIRST(&txn->jobs);
        if (!job_is_completed(other)) {
            assert(job_cancel_requested(other));
            job_wait_completed(other);
        }
        job_finalize_single(other);
    }
    job_unref(job);
    job_txn_unref(txn);
}

static int coroutine_fn job_prepare(Job *job)
{
    if (job->ret == 0 && job->driver->prepare) {
        job->ret = job->driver->prepare(job);
        job_update_rc(job);
    }
    return job->ret;
}

static int coroutine_fn job_needs_finalize(Job *job)
{
    return !job->auto_finalize;
}

static void coroutine_fn job_do_finalize(Job *job)
{
    if (job_txn_apply(job, job_prepare)) {
        job_completed_txn_abort(job);
    } else {
        job_txn_apply(job, job_finalize_single);
    }
}

static int coroutine_fn job_transition_to_pending(Job *job)
{
    job_state_transition(job, JOB_STATUS_PENDING);
    if (!job->auto_finalize && job->id && job->driver->block_job) {
        QDict *d = qdict_new();

        qdict_put_str(d, "type", job_type_str(job->driver->job_type));
        qdict_put_str(d, "id", job->id);
        job_emit("BLOCK_JOB_PENDING", d);
    }
    return 0;
}

static void coroutine_fn job_completed_txn_success(Job *job)
{
    Job *other;

    job_state_transition(job, JOB_STATUS_WAITING);
    QTAILQ_FOREACH(other, &job->txn->jobs, txn_list) {
        if (!job_is_completed(other)) {
            return;     /* the last one to finish goes on */
        }
        assert(other->ret == 0);
    }
    job_txn_apply(job, job_transition_to_pending);
    if (job_txn_apply(job, job_needs_finalize) == 0) {
        job_do_finalize(job);
    }
}

static void coroutine_fn job_completed(Job *job)
{
    assert(job->txn && !job_is_completed(job));
    job_update_rc(job);
    if (job->ret) {
        job_completed_txn_abort(job);
    } else {
        job_completed_txn_success(job);
    }
}

/* @fn(@job), marked as finishing code (see JobTxn.finishing). */
static void coroutine_fn job_run_finishing(Job *job,
                                           void coroutine_fn (*fn)(Job *job))
{
    JobTxn *txn = job->txn;

    job_ref(job);
    if (txn) {
        txn->refcnt++;
        txn->finishing++;
    }
    job->finishing = true;
    fn(job);
    job->finishing = false;
    if (txn) {
        txn->finishing--;
        job_txn_unref(txn);
    }
    qemu_co_queue_restart_all(&job->status_waiters);
    job_unref(job);
}

/* Finishing code runs for @job's transaction (possibly yielded). */
static bool job_txn_finishing(Job *job)
{
    return job->txn && job->txn->finishing;
}

static void coroutine_fn job_co_entry(void *opaque)
{
    Job *job = opaque;
    int ret;

    job_pause_point(job);
    ret = job->driver->run(job, &job->err);
    job->ret = ret;
    job->deferred = true;
    /* finishing: no longer enterable (deferred), never busy again */
    job->busy = false;
    bdrv_drain_wake();
    job_run_finishing(job, job_completed);
}

void job_start(Job *job)
{
    assert(!job_started(job) && job->paused && job->driver->run);
    job->co = qemu_coroutine_create(job_co_entry, job);
    job->pause_count--;
    job->busy = true;
    job->paused = false;
    job_state_transition(job, JOB_STATUS_RUNNING);
    aio_co_wake(job->co);
}

/*
 * Run @fn(@job) in a coroutine: at once in the current one, or in a new
 * one entered now (the caller is no coroutine).
 */
typedef struct JobCall {
    Job *job;
    void coroutine_fn (*fn)(Job *job);
} JobCall;

static void coroutine_fn job_call_entry(void *opaque)
{
    JobCall *c = opaque;

    job_run_finishing(c->job, c->fn);
    job_unref(c->job);
    g_free(c);
}

static void job_call_in_coroutine(Job *job, void coroutine_fn (*fn)(Job *job))
{
    JobCall *c;

    if (qemu_in_coroutine()) {
        job_run_finishing(job, fn);
        return;
    }
    c = g_new(JobCall, 1);
    c->job = job;
    c->fn = fn;
    job_ref(job);
    qemu_coroutine_enter(qemu_coroutine_create(job_call_entry, c));
}

static void job_cancel(Job *job, bool force)
{
    if (job->status == JOB_STATUS_CONCLUDED) {
        job_do_dismiss(job);
        return;
    }
    if (job->deferred && job_txn_finishing(job)) {
        return;     /* its work is done and being committed: too late */
    }
    job_cancel_async(job, force);
    if (!job_started(job)) {
        job_call_in_coroutine(job, job_completed);
    } else if (job->deferred) {
        /* a forced cancel of a job that waits for the others */
        if (job_is_cancelled(job)) {
            job_call_in_coroutine(job, job_completed_txn_abort);
        }
    } else {
        job_enter(job);
    }
}

/* ---- verbs ---- */

void job_user_pause(Job *job, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_PAUSE, errp)) {
        return;
    }
    if (job->user_paused) {
        error_setg(errp, "Job is already paused");
        return;
    }
    job->user_paused = true;
    job_pause(job);
}

bool job_user_paused(Job *job)
{
    return job->user_paused;
}

void job_user_resume(Job *job, Error **errp)
{
    if (!job->user_paused || job->pause_count <= 0) {
        error_setg(errp, "Can't resume a job that was not paused");
        return;
    }
    if (job_apply_verb(job, JOB_VERB_RESUME, errp)) {
        return;
    }
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    job->user_paused = false;
    job_resume(job);
}

void job_user_cancel(Job *job, bool force, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_CANCEL, errp)) {
        return;
    }
    job_cancel(job, force);
}

void job_complete(Job *job, Error **errp)
{
    assert(job->id);
    if (job_apply_verb(job, JOB_VERB_COMPLETE, errp)) {
        return;
    }
    if (job_cancel_requested(job) || !job->driver->complete) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id);
        return;
    }
    job->driver->complete(job, errp);
}

void job_finalize(Job *job, Error **errp)
{
    assert(job->id);
    if (job_apply_verb(job, JOB_VERB_FINALIZE, errp)) {
        return;
    }
    if (job_txn_finishing(job)) {
        return;     /* being finalized already */
    }
    job_call_in_coroutine(job, job_do_finalize);
}

void job_dismiss(Job **jobp, Error **errp)
{
    Job *job = *jobp;

    assert(job->id);
    if (job_apply_verb(job, JOB_VERB_DISMISS, errp)) {
        return;
    }
    job_do_dismiss(job);
    *jobp = NULL;
}

bool job_set_speed(Job *job, int64_t speed, Error **errp)
{
    int64_t old = job->speed;

    if (job_apply_verb(job, JOB_VERB_SET_SPEED, errp) < 0) {
        return false;
    }
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    job->slice_quota = speed ?
        MAX((uint64_t)((double)speed * JOB_SLICE_NS / 1e9), 1) : 0;
    job->speed = speed;
    if (job->driver->set_speed) {
        job->driver->set_speed(job, speed);
    }
    if (speed && speed <= old) {
        return true;
    }
    /* faster now: a job sleeping for the old speed goes on */
    job_enter_cond(job, job_timer_pending);
    return true;
}

/* ---- waiting ---- */

int coroutine_fn job_finish_sync(Job *job, void (*finish)(Job *, Error **),
                                 Error **errp)
{
    Error *err = NULL;
    int ret;

    job_ref(job);
    if (finish) {
        finish(job, &err);
    }
    if (err) {
        error_propagate(errp, err);
        job_unref(job);
        return -EBUSY;
    }
    /* a job finishing yields (drains, closes): wait for that too */
    while (!job_is_completed(job) || job->finishing ||
           job_txn_finishing(job)) {
        job_enter(job);
        qemu_co_queue_wait(&job->status_waiters, NULL);
    }
    ret = job_is_cancelled(job) && job->ret == 0 ? -ECANCELED : job->ret;
    job_unref(job);
    return ret;
}

static void job_cancel_err(Job *job, Error **errp)
{
    job_cancel(job, false);
}

static void job_force_cancel_err(Job *job, Error **errp)
{
    job_cancel(job, true);
}

int coroutine_fn job_cancel_sync(Job *job, bool force)
{
    return job_finish_sync(job, force ? job_force_cancel_err : job_cancel_err,
                           NULL);
}

int coroutine_fn job_complete_sync(Job *job, Error **errp)
{
    return job_finish_sync(job, job_complete, errp);
}

void coroutine_fn job_cancel_sync_all(void)
{
    Job *job;

    while ((job = job_next(NULL))) {
        job_cancel_sync(job, true);
    }
}

/* ---- queries ---- */

QDict *job_query(Job *job, Error **errp)
{
    QDict *d;

    if (!job->id) {
        error_setg(errp, "Cannot query QEMU internal jobs");
        return NULL;
    }
    d = qdict_new();
    qdict_put_str(d, "id", job->id);
    qdict_put_str(d, "type", job_type_str(job->driver->job_type));
    qdict_put_str(d, "status", job_status_str(job->status));
    qdict_put_int(d, "current-progress", job->progress_current);
    qdict_put_int(d, "total-progress", job->progress_total);
    if (job->ret) {
        qdict_put_str(d, "error", job->err ? error_get_pretty(job->err) :
                                             strerror(-job->ret));
    }
    return d;
}

QDict *block_job_query(Job *job, Error **errp)
{
    QDict *d;

    if (!job->id) {
        error_setg(errp, "Cannot query QEMU internal jobs");
        return NULL;
    }
    d = qdict_new();
    qdict_put_str(d, "type", job_type_str(job->driver->job_type));
    qdict_put_str(d, "device", job->id);
    qdict_put_int(d, "len", job->progress_total);
    qdict_put_int(d, "offset", job->progress_current);
    qdict_put_bool(d, "busy", job->busy);
    qdict_put_bool(d, "paused", job->pause_count > 0);
    qdict_put_int(d, "speed", job->speed);
    qdict_put_str(d, "io-status", block_io_status_str(job->iostatus));
    qdict_put_bool(d, "ready", job_is_ready(job));
    qdict_put_str(d, "status", job_status_str(job->status));
    qdict_put_bool(d, "auto-finalize", job->auto_finalize);
    qdict_put_bool(d, "auto-dismiss", job->auto_dismiss);
    if (job->ret) {
        qdict_put_str(d, "error", job->err ? error_get_pretty(job->err) :
                                             strerror(-job->ret));
    }
    return d;
}
