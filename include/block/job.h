/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Jobs: long operations (mirror, stream, commit, backup, image creation)
 * that run in their own coroutine beside the guest's I/O, with QEMU
 * 7.2's job model: the statuses and the verbs each allows, pause points
 * counted, cancel (soft or forced), complete, finalize, dismiss, jobs in
 * transactions (one fails, all abort), progress, a speed limit and the
 * error policies of block jobs.
 *
 * Life of a job: job_create() (CREATED, paused once), job_start()
 * (RUNNING: driver->run in the job's coroutine, which calls
 * job_pause_point()/job_sleep_ns() between its steps and may go READY),
 * run returns (WAITING until the transaction's other jobs are done, then
 * PENDING), then prepare/commit or abort, clean (CONCLUDED), dismiss
 * (NULL, freed).  A failure or a cancel goes through ABORTING instead.
 *
 * Everything runs in the main AioContext.  The calls that finish a job
 * (finalize, cancel of a job that never started, the sync helpers) may
 * change the node graph and wait for requests to drain: they are
 * coroutine_fn; from outside a coroutine, the verbs run that part in a
 * coroutine of their own.
 *
 * Events (7.2's QMP events, as a QDict of their data) go to the listeners
 * registered with job_add_listener(); jobs without an id (internal) send
 * none.
 */
#ifndef BLOCK_JOB_H
#define BLOCK_JOB_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/queue.h"

struct BlockDriverState;

/* The enums below are in 7.2's QAPI order; *_str() give their names. */
typedef enum JobType {
    JOB_TYPE_COMMIT, JOB_TYPE_STREAM, JOB_TYPE_MIRROR, JOB_TYPE_BACKUP,
    JOB_TYPE_CREATE, JOB_TYPE_AMEND, JOB_TYPE_SNAPSHOT_LOAD,
    JOB_TYPE_SNAPSHOT_SAVE, JOB_TYPE_SNAPSHOT_DELETE,
    JOB_TYPE__MAX,
} JobType;

typedef enum JobStatus {
    JOB_STATUS_UNDEFINED, JOB_STATUS_CREATED, JOB_STATUS_RUNNING,
    JOB_STATUS_PAUSED, JOB_STATUS_READY, JOB_STATUS_STANDBY,
    JOB_STATUS_WAITING, JOB_STATUS_PENDING, JOB_STATUS_ABORTING,
    JOB_STATUS_CONCLUDED, JOB_STATUS_NULL,
    JOB_STATUS__MAX,
} JobStatus;

typedef enum JobVerb {
    JOB_VERB_CANCEL, JOB_VERB_PAUSE, JOB_VERB_RESUME, JOB_VERB_SET_SPEED,
    JOB_VERB_COMPLETE, JOB_VERB_DISMISS, JOB_VERB_FINALIZE,
    JOB_VERB__MAX,
} JobVerb;

/* on-source-error / on-target-error */
typedef enum BlockdevOnError {
    BLOCKDEV_ON_ERROR_REPORT, BLOCKDEV_ON_ERROR_IGNORE,
    BLOCKDEV_ON_ERROR_ENOSPC, BLOCKDEV_ON_ERROR_STOP, BLOCKDEV_ON_ERROR_AUTO,
    BLOCKDEV_ON_ERROR__MAX,
} BlockdevOnError;

typedef enum BlockErrorAction {
    BLOCK_ERROR_ACTION_IGNORE, BLOCK_ERROR_ACTION_REPORT,
    BLOCK_ERROR_ACTION_STOP,
} BlockErrorAction;

typedef enum BlockDeviceIoStatus {
    BLOCK_DEVICE_IO_STATUS_OK, BLOCK_DEVICE_IO_STATUS_FAILED,
    BLOCK_DEVICE_IO_STATUS_NOSPACE,
} BlockDeviceIoStatus;

const char *job_type_str(JobType type);
const char *job_status_str(JobStatus status);
const char *job_verb_str(JobVerb verb);
const char *block_error_action_str(BlockErrorAction action);
const char *block_io_status_str(BlockDeviceIoStatus status);
/* "report" ... "auto" to the enum; false + @errp (7.2's text) if unknown. */
bool blockdev_on_error_parse(const char *name, BlockdevOnError *out,
                             Error **errp);

/* 7.2's tables: may a job in status @from go to @to / accept @verb? */
bool job_transition_allowed(JobStatus from, JobStatus to);
bool job_verb_allowed(JobVerb verb, JobStatus status);

/* job_create() flags, as 7.2's */
#define JOB_DEFAULT             0x00
#define JOB_INTERNAL            0x01    /* no id, no events, no verbs */
#define JOB_MANUAL_FINALIZE     0x02    /* wait in PENDING for finalize */
#define JOB_MANUAL_DISMISS      0x04    /* wait in CONCLUDED for dismiss */

typedef struct Job Job;
typedef struct JobTxn JobTxn;

typedef struct JobDriver {
    size_t instance_size;           /* a struct that starts with a Job */
    JobType job_type;
    /* a block job: sends 7.2's BLOCK_JOB_* events, has a speed */
    bool block_job;
    /*
     * The work, in the job's coroutine.  Returns 0 or -errno (with @errp
     * set, or the error becomes strerror).  It calls job_pause_point()
     * (or job_sleep_ns()) between steps and returns soon once
     * job_is_cancelled(); a job that waits for complete calls
     * job_transition_to_ready() and then job_yield() until told.
     */
    int coroutine_fn (*run)(Job *job, Error **errp);
    /* at a pause point, before and after the job pauses (optional) */
    void coroutine_fn (*pause)(Job *job);
    void coroutine_fn (*resume)(Job *job);
    /* job-complete on a READY job: make run return (optional) */
    void (*complete)(Job *job, Error **errp);
    /*
     * A cancel request; returns whether it is a forced one (mirror: a
     * soft cancel after READY completes without pivoting).  NULL: forced.
     */
    bool (*cancel)(Job *job, bool force);
    /*
     * Finishing, in a coroutine, for all jobs of a transaction at once:
     * prepare (may fail: then all abort), then commit or abort, then
     * clean.  All optional.
     */
    int coroutine_fn (*prepare)(Job *job);
    void coroutine_fn (*commit)(Job *job);
    void coroutine_fn (*abort)(Job *job);
    void coroutine_fn (*clean)(Job *job);
    /* the speed changed (optional) */
    void (*set_speed)(Job *job, int64_t speed);
    /* free what the driver holds; the Job itself is freed by the core */
    void (*free)(Job *job);
} JobDriver;

/*
 * A job.  Drivers read the fields; only the core writes them, except
 * where noted.
 */
struct Job {
    const JobDriver *driver;
    char *id;                       /* NULL: internal */
    int refcnt;
    JobStatus status;
    JobTxn *txn;
    Coroutine *co;                  /* NULL until started */
    QEMUTimer *sleep_timer;
    int pause_count;                /* > 0: should pause */
    bool paused;                    /* yielded at a pause point */
    bool user_paused;
    bool busy;                      /* not yielded in job_yield/sleep */
    bool cancelled;                 /* cancel requested */
    bool force_cancel;
    bool deferred;                  /* run returned: finishing */
    bool finishing;                 /* in prepare/commit/abort/clean now */
    bool auto_finalize, auto_dismiss;
    int ret;
    Error *err;
    /* progress: the driver sets both (job_progress_*) */
    uint64_t progress_current, progress_total;
    /* block jobs */
    int64_t speed;
    BlockDeviceIoStatus iostatus;
    int64_t slice_start_ns, slice_end_ns;
    uint64_t slice_quota, slice_dispatched;
    /* told once the job is finalized (@ret: 0 or -errno) */
    void (*cb)(void *opaque, int ret);
    void *cb_opaque;
    CoQueue status_waiters;         /* woken at every status change */
    GSList *blocked_nodes;          /* see job_block_node(), referenced */
    QTAILQ_ENTRY(Job) job_list;
    QTAILQ_ENTRY(Job) txn_list;
};

/*
 * A new job of @driver, CREATED and paused once (job_start() releases
 * that).  @id: NULL only with JOB_INTERNAL; it must be well formed (a
 * letter, then letters, digits, '-', '.', '_') and unused.  @txn: join
 * that transaction, or NULL for a transaction of its own.  NULL + @errp
 * (7.2's texts) on a bad id.
 */
void *job_create(const char *id, const JobDriver *driver, JobTxn *txn,
                 int flags, void (*cb)(void *opaque, int ret), void *opaque,
                 Error **errp);
/* RUNNING: create the coroutine and enter it (from a coroutine: soon). */
void job_start(Job *job);
/*
 * A node the job uses, linked as @name ("source", "intermediate node")
 * taking @perm and sharing @shared (BLK_PERM_*): other operations on it
 * are refused ("block device is in use by block job: TYPE") until the job
 * is finalized, and a drain of it pauses the job.  False + @errp (7.2's
 * permission conflict) if another user takes what it does not share.
 */
bool job_block_node(Job *job, const char *name, struct BlockDriverState *bs,
                    uint64_t perm, uint64_t shared, Error **errp);
/*
 * Drop the job's links to its nodes and their op blockers now (they go
 * by themselves when the job is finalized): for a graph change at the
 * job's end that those links would refuse.
 */
void job_unblock_nodes(Job *job);
/* Dismiss a job that never started, after its creator's setup failed. */
void job_early_fail(Job *job);
void job_ref(Job *job);
void job_unref(Job *job);

/* The job with @id, or NULL; job_next(NULL) is the first of all jobs. */
Job *job_get(const char *id);
Job *job_next(Job *job);

JobTxn *job_txn_new(void);
void job_txn_unref(JobTxn *txn);

/* ---- in the job's coroutine (drivers) ---- */

/* Pause here if asked to; returns at once if cancelled. */
void coroutine_fn job_pause_point(Job *job);
/* Sleep @ns (a pause point; returns at once if cancelled). */
void coroutine_fn job_sleep_ns(Job *job, int64_t ns);
/* Yield until job_enter() (complete, cancel, a resume); a pause point. */
void coroutine_fn job_yield(Job *job);
/* Wake the job if it yielded in job_yield()/job_sleep_ns(). */
void job_enter(Job *job);
/* A forced cancel (or a soft one the driver did not turn down). */
bool job_is_cancelled(Job *job);
/* Any cancel request, even a soft one of a READY mirror. */
bool job_cancel_requested(Job *job);
bool job_is_ready(Job *job);
/* WAITING, PENDING, ABORTING, CONCLUDED or NULL */
bool job_is_completed(Job *job);
void job_transition_to_ready(Job *job);
void job_progress_update(Job *job, uint64_t done);
void job_progress_set_remaining(Job *job, uint64_t remaining);
void job_progress_increase_remaining(Job *job, uint64_t delta);
/* Nanoseconds to wait after copying @n bytes, for the speed limit. */
int64_t job_ratelimit_get_delay(Job *job, uint64_t n);
/*
 * An I/O error in a block job: the action @on_err gives for @error
 * (positive errno), sent as BLOCK_JOB_ERROR; "stop" pauses the job as if
 * the user had (job-resume retries) and sets its io-status.
 */
BlockErrorAction job_error_action(Job *job, BlockdevOnError on_err,
                                  bool is_read, int error);

/* ---- the verbs (QMP's job-* and block-job-*) ---- */

/* 0, or -EPERM + @errp "Job 'ID' in state 'S' cannot accept ..." */
int job_apply_verb(Job *job, JobVerb verb, Error **errp);
void job_user_pause(Job *job, Error **errp);
void job_user_resume(Job *job, Error **errp);
bool job_user_paused(Job *job);
void job_user_cancel(Job *job, bool force, Error **errp);
void job_complete(Job *job, Error **errp);
void job_finalize(Job *job, Error **errp);
/* Dismiss a CONCLUDED job: *@jobp is freed and set to NULL. */
void job_dismiss(Job **jobp, Error **errp);
bool job_set_speed(Job *job, int64_t speed, Error **errp);
/* Internal pause (drained sections): counted, no verb check. */
void job_pause(Job *job);
void job_resume(Job *job);

/*
 * Apply @finish (NULL: none) and wait until the job is completed (and,
 * unless it waits for job_finalize() or its transaction, finalized).
 * Returns its result (-ECANCELED for a cancel), or -EBUSY with @errp if
 * @finish failed.  Context: coroutine.
 */
int coroutine_fn job_finish_sync(Job *job,
                                 void (*finish)(Job *, Error **),
                                 Error **errp);
int coroutine_fn job_cancel_sync(Job *job, bool force);
int coroutine_fn job_complete_sync(Job *job, Error **errp);
/* Cancel (forced) every job and wait for each.  Context: coroutine. */
void coroutine_fn job_cancel_sync_all(void);

/* ---- what management sees ---- */

/* query-jobs' JobInfo; NULL + @errp for an internal job */
QDict *job_query(Job *job, Error **errp);
/* query-block-jobs' BlockJobInfo */
QDict *block_job_query(Job *job, Error **errp);

/* @event: "JOB_STATUS_CHANGE", "BLOCK_JOB_READY" ...; @data borrowed */
typedef void JobEventFunc(void *opaque, const char *event, QDict *data);
void job_add_listener(JobEventFunc *fn, void *opaque);
void job_remove_listener(JobEventFunc *fn, void *opaque);

#endif /* BLOCK_JOB_H */
