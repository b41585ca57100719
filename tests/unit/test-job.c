/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for block/job.c, the job state machine: every verb in every
 * status against QEMU 7.2's table, the events of each path (success,
 * cancel, failure, manual finalize and dismiss, READY and complete),
 * pause counting, transactions (one fails, all abort), error policies,
 * the speed limit, ids and queries.  ASan runs these too.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/job.h"

/* QEMU 7.2's verb table, written out again: verb x status (U C R P Y S W D X E N) */
static const char *const expected_verbs[JOB_VERB__MAX] = {
    [JOB_VERB_CANCEL]    = "01111111000",
    [JOB_VERB_PAUSE]     = "01111100000",
    [JOB_VERB_RESUME]    = "01111100000",
    [JOB_VERB_SET_SPEED] = "01111100000",
    [JOB_VERB_COMPLETE]  = "00001100000",
    [JOB_VERB_DISMISS]   = "00000000010",
    [JOB_VERB_FINALIZE]  = "00000001000",
};

typedef struct TestJob {
    Job job;
    int iterations;
    bool go_ready;          /* READY after two iterations, then wait */
    bool should_complete;
    bool hold;              /* stay busy (not at a pause point) */
    int fail_ret;           /* run's result */
    int prepare_ret;
    bool prepare_sleeps;    /* prepare yields, as a drain does */
    bool in_prepare;
    GString *log;           /* driver callbacks in order */
} TestJob;

static GString *events;

static void record_event(void *opaque, const char *event, QDict *data)
{
    const char *status = qdict_get_try_str(data, "status");
    const char *action = qdict_get_try_str(data, "action");

    g_string_append_printf(events, "%s%s%s%s%s ", event,
                           status ? ":" : "", status ? status : "",
                           action ? ":" : "", action ? action : "");
}

static int coroutine_fn test_run(Job *job, Error **errp)
{
    TestJob *t = container_of(job, TestJob, job);

    job_progress_set_remaining(job, 100);
    while (!job_is_cancelled(job)) {
        t->iterations++;
        if (t->hold) {
            qemu_co_sleep_ns(1000000);
            continue;
        }
        if (t->go_ready && !job_is_ready(job) && t->iterations >= 2) {
            job_transition_to_ready(job);
        }
        if (t->should_complete || (!t->go_ready && t->iterations >= 5)) {
            break;
        }
        job_progress_update(job, 1);
        if (job_is_ready(job)) {
            job_yield(job);
        } else {
            job_sleep_ns(job, 1000000);
        }
    }
    if (t->fail_ret) {
        error_setg(errp, "test failure %d", t->fail_ret);
    }
    return t->fail_ret;
}

static void test_complete(Job *job, Error **errp)
{
    TestJob *t = container_of(job, TestJob, job);

    t->should_complete = true;
    job_enter(job);
}

static int coroutine_fn test_prepare(Job *job)
{
    TestJob *t = container_of(job, TestJob, job);

    g_string_append_printf(t->log, "prepare:%s ", job->id);
    if (t->prepare_sleeps) {
        t->in_prepare = true;
        qemu_co_sleep_ns(20 * 1000000LL);
        t->in_prepare = false;
    }
    return t->prepare_ret;
}

static void coroutine_fn test_commit(Job *job)
{
    TestJob *t = container_of(job, TestJob, job);
    g_string_append_printf(t->log, "commit:%s ", job->id);
}

static void coroutine_fn test_abort(Job *job)
{
    TestJob *t = container_of(job, TestJob, job);
    g_string_append_printf(t->log, "abort:%s ", job->id);
}

static void coroutine_fn test_clean(Job *job)
{
    TestJob *t = container_of(job, TestJob, job);
    g_string_append_printf(t->log, "clean:%s ", job->id);
}

static const JobDriver test_driver = {
    .instance_size = sizeof(TestJob),
    .job_type = JOB_TYPE_MIRROR,
    .block_job = true,
    .run = test_run,
    .complete = test_complete,
    .prepare = test_prepare,
    .commit = test_commit,
    .abort = test_abort,
    .clean = test_clean,
};

static const JobDriver no_complete_driver = {
    .instance_size = sizeof(TestJob),
    .job_type = JOB_TYPE_STREAM,
    .block_job = true,
    .run = test_run,
};

static GString *drv_log;

static TestJob *new_job(const char *id, JobTxn *txn, int flags)
{
    Error *err = NULL;
    TestJob *t = job_create(id, &test_driver, txn, flags, NULL, NULL, &err);

    g_assert_null(err);
    g_assert_nonnull(t);
    t->log = drv_log;
    return t;
}

/* Let the loop run until @cond holds (at most 5 s). */
#define WAIT_FOR(cond) do {                                     \
        int wait_i_;                                            \
        for (wait_i_ = 0; wait_i_ < 5000 && !(cond); wait_i_++) { \
            qemu_co_sleep_ns(1000000);                          \
        }                                                       \
        g_assert_true(cond);                                    \
    } while (0)

static void check_verbs(Job *job)
{
    int v;

    for (v = 0; v < JOB_VERB__MAX; v++) {
        Error *err = NULL;
        bool want = expected_verbs[v][job->status] == '1';
        int ret = job_apply_verb(job, v, &err);

        g_assert_cmpint(ret == 0, ==, want);
        if (!want) {
            g_autofree char *msg = g_strdup_printf(
                "Job '%s' in state '%s' cannot accept command verb '%s'",
                job->id, job_status_str(job->status), job_verb_str(v));
            g_assert_cmpstr(error_get_pretty(err), ==, msg);
            error_free(err);
        }
    }
}

static void coroutine_fn verb_table_co(void *opaque)
{
    TestJob *t, *u;
    JobTxn *txn;
    Job *job;
    int seen = 0;

    /* created */
    t = new_job("j", NULL, JOB_MANUAL_FINALIZE | JOB_MANUAL_DISMISS);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    t->go_ready = true;
    job_start(&t->job);
    qemu_co_sleep_ns(100000);
    g_assert_cmpint(t->job.status, ==, JOB_STATUS_RUNNING);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    WAIT_FOR(t->job.status == JOB_STATUS_READY);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job_user_pause(&t->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_STANDBY);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job_user_resume(&t->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_READY);
    job_complete(&t->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_PENDING);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job_finalize(&t->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_CONCLUDED);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job = &t->job;
    job_ref(job);
    job_dismiss(&job, &error_abort);
    g_assert_null(job);
    g_assert_cmpint(t->job.status, ==, JOB_STATUS_NULL);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job_unref(&t->job);

    /* paused; waiting (its partner runs on); aborting (partner busy) */
    txn = job_txn_new();
    t = new_job("a", txn, JOB_MANUAL_DISMISS);
    u = new_job("b", txn, JOB_MANUAL_DISMISS);
    job_txn_unref(txn);
    job_start(&t->job);
    job_start(&u->job);
    job_user_pause(&t->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_PAUSED);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    job_user_resume(&t->job, &error_abort);
    job_user_pause(&u->job, &error_abort);
    WAIT_FOR(t->job.status == JOB_STATUS_WAITING);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    /* u fails while t waits: both abort */
    u->fail_ret = -EIO;
    u->hold = true;
    job_user_resume(&u->job, &error_abort);
    qemu_co_sleep_ns(2000000);
    u->hold = false;
    u->should_complete = true;
    WAIT_FOR(t->job.status == JOB_STATUS_CONCLUDED &&
             u->job.status == JOB_STATUS_CONCLUDED);
    g_assert_cmpint(t->job.ret, ==, -ECANCELED);
    g_assert_cmpint(u->job.ret, ==, -EIO);
    job = &t->job;
    job_dismiss(&job, &error_abort);
    job = &u->job;
    job_dismiss(&job, &error_abort);

    /* aborting: a failed job waits there for its busy partner */
    txn = job_txn_new();
    t = new_job("c", txn, 0);
    u = new_job("d", txn, 0);
    job_txn_unref(txn);
    t->fail_ret = -EIO;
    t->should_complete = true;
    u->hold = true;
    job_ref(&t->job);
    job_start(&u->job);
    job_start(&t->job);
    WAIT_FOR(t->job.status == JOB_STATUS_ABORTING);
    check_verbs(&t->job);
    seen |= 1 << t->job.status;
    u->hold = false;
    WAIT_FOR(t->job.status == JOB_STATUS_NULL && job_next(NULL) == &t->job &&
             job_next(&t->job) == NULL);
    job_unref(&t->job);

    g_assert_cmpint(seen, ==, ((1 << JOB_STATUS__MAX) - 1) & ~1);
}

static void test_run_co(CoroutineEntry *entry)
{
    events = g_string_new("");
    drv_log = g_string_new("");
    job_add_listener(record_event, NULL);
    aio_run_coroutine(entry, NULL);
    job_remove_listener(record_event, NULL);
    g_assert_null(job_next(NULL));
}

static void test_end(void)
{
    g_string_free(events, true);
    g_string_free(drv_log, true);
}

static void test_verb_table(void)
{
    int s, v;

    /* the core's own table is the same */
    for (v = 0; v < JOB_VERB__MAX; v++) {
        for (s = 0; s < JOB_STATUS__MAX; s++) {
            g_assert_cmpint(job_verb_allowed(v, s), ==,
                            expected_verbs[v][s] == '1');
        }
    }
    test_run_co(verb_table_co);
    test_end();
}

static void coroutine_fn success_co(void *opaque)
{
    TestJob *t = new_job("ok", NULL, 0);
    QDict *info;

    job_start(&t->job);
    WAIT_FOR(t->job.status == JOB_STATUS_RUNNING && t->iterations >= 2);
    info = block_job_query(&t->job, &error_abort);
    g_assert_cmpstr(qdict_get_try_str(info, "type"), ==, "mirror");
    g_assert_cmpstr(qdict_get_try_str(info, "status"), ==, "running");
    g_assert_cmpint(qint_get(qdict_get(info, "len")), ==, 100);
    qobject_unref(info);
    g_assert_cmpint(job_finish_sync(&t->job, NULL, NULL), ==, 0);
}

static void test_success(void)
{
    test_run_co(success_co);
    g_assert_cmpstr(events->str, ==,
                    "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                    "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                    "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded "
                    "JOB_STATUS_CHANGE:null ");
    g_assert_cmpstr(drv_log->str, ==, "prepare:ok commit:ok clean:ok ");
    test_end();
}

static void coroutine_fn cancel_co(void *opaque)
{
    TestJob *t = new_job("c", NULL, 0);
    TestJob *n = new_job("n", NULL, 0);
    Error *err = NULL;

    job_start(&t->job);
    qemu_co_sleep_ns(2000000);
    g_assert_cmpint(job_cancel_sync(&t->job, false), ==, -ECANCELED);
    /* never started: no BLOCK_JOB_CANCELLED */
    job_user_cancel(&n->job, false, &err);
    g_assert_null(err);
    WAIT_FOR(job_next(NULL) == NULL);
}

static void test_cancel(void)
{
    test_run_co(cancel_co);
    g_assert_cmpstr(events->str, ==,
                    "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:created "
                    "JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:aborting "
                    "BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded "
                    "JOB_STATUS_CHANGE:null JOB_STATUS_CHANGE:aborting "
                    "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null ");
    g_assert_cmpstr(drv_log->str, ==, "abort:c clean:c abort:n clean:n ");
    test_end();
}

static void coroutine_fn ready_co(void *opaque)
{
    TestJob *t = new_job("r", NULL, 0);
    TestJob *s;
    Error *err = NULL;
    Job *job;

    t->go_ready = true;
    job_complete(&t->job, &err);    /* created: refused */
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    job_start(&t->job);
    WAIT_FOR(job_is_ready(&t->job));
    job_user_pause(&t->job, &error_abort);
    job_user_pause(&t->job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==, "Job is already paused");
    error_free(err);
    err = NULL;
    WAIT_FOR(t->job.status == JOB_STATUS_STANDBY);
    /* internal pauses nest with the user's */
    job_pause(&t->job);
    job_user_resume(&t->job, &error_abort);
    qemu_co_sleep_ns(2000000);
    g_assert_cmpint(t->job.status, ==, JOB_STATUS_STANDBY);
    job_user_resume(&t->job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Can't resume a job that was not paused");
    error_free(err);
    err = NULL;
    job_resume(&t->job);
    WAIT_FOR(t->job.status == JOB_STATUS_READY);
    g_assert_cmpint(job_complete_sync(&t->job, &error_abort), ==, 0);

    /* a driver without complete */
    s = job_create("s", &no_complete_driver, NULL, JOB_MANUAL_DISMISS, NULL,
                   NULL, &error_abort);
    s->go_ready = true;
    job_start(&s->job);
    WAIT_FOR(job_is_ready(&s->job));
    job_complete(&s->job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "The active block job 's' cannot be completed");
    error_free(err);
    g_assert_cmpint(job_cancel_sync(&s->job, true), ==, -ECANCELED);
    g_assert_cmpint(s->job.status, ==, JOB_STATUS_CONCLUDED);
    job = &s->job;
    job_dismiss(&job, &error_abort);
}

static void test_ready(void)
{
    test_run_co(ready_co);
    g_assert_true(g_str_has_prefix(events->str,
                    "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                    "JOB_STATUS_CHANGE:ready BLOCK_JOB_READY "
                    "JOB_STATUS_CHANGE:standby JOB_STATUS_CHANGE:ready "
                    "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                    "BLOCK_JOB_COMPLETED "));
    test_end();
}

static void coroutine_fn txn_co(void *opaque)
{
    JobTxn *txn = job_txn_new();
    TestJob *a = new_job("a", txn, 0);
    TestJob *b = new_job("b", txn, 0);

    job_txn_unref(txn);
    b->prepare_ret = -EINVAL;   /* prepare fails: both abort */
    job_start(&a->job);
    job_start(&b->job);
    WAIT_FOR(job_next(NULL) == NULL);
    g_string_append(drv_log, "| ");

    txn = job_txn_new();
    a = new_job("a", txn, 0);
    b = new_job("b", txn, 0);
    job_txn_unref(txn);
    job_start(&a->job);
    job_start(&b->job);
    WAIT_FOR(job_next(NULL) == NULL);
}

static void test_txn(void)
{
    test_run_co(txn_co);
    /* jobs of a transaction are walked newest first, as 7.2's list */
    g_assert_cmpstr(drv_log->str, ==,
                    "prepare:b abort:b clean:b abort:a clean:a | "
                    "prepare:b prepare:a commit:b clean:b commit:a "
                    "clean:a ");
    test_end();
}

static void coroutine_fn errors_co(void *opaque)
{
    TestJob *t = new_job("e", NULL, 0);
    QDict *info;

    job_start(&t->job);
    qemu_co_sleep_ns(1000000);
    g_assert_cmpint(job_error_action(&t->job, BLOCKDEV_ON_ERROR_ENOSPC,
                                     true, EIO), ==,
                    BLOCK_ERROR_ACTION_REPORT);
    g_assert_cmpint(job_error_action(&t->job, BLOCKDEV_ON_ERROR_IGNORE,
                                     false, EIO), ==,
                    BLOCK_ERROR_ACTION_IGNORE);
    g_assert_cmpint(job_error_action(&t->job, BLOCKDEV_ON_ERROR_AUTO,
                                     false, ENOSPC), ==,
                    BLOCK_ERROR_ACTION_STOP);
    g_assert_true(job_user_paused(&t->job));
    WAIT_FOR(t->job.status == JOB_STATUS_PAUSED);
    info = block_job_query(&t->job, &error_abort);
    g_assert_cmpstr(qdict_get_try_str(info, "io-status"), ==, "nospace");
    g_assert_true(qbool_get(qdict_get(info, "paused")));
    qobject_unref(info);
    job_user_resume(&t->job, &error_abort);
    g_assert_cmpint(t->job.iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_cmpint(job_finish_sync(&t->job, NULL, NULL), ==, 0);
}

static void test_errors(void)
{
    test_run_co(errors_co);
    g_assert_nonnull(strstr(events->str,
                            "BLOCK_JOB_ERROR:report BLOCK_JOB_ERROR:ignore "
                            "BLOCK_JOB_ERROR:stop JOB_STATUS_CHANGE:paused "
                            "JOB_STATUS_CHANGE:running "));
    test_end();
}

static void coroutine_fn failure_co(void *opaque)
{
    TestJob *t = new_job("f", NULL, JOB_MANUAL_DISMISS);
    QDict *info;
    Job *job = &t->job;

    t->fail_ret = -ENOSPC;
    t->should_complete = true;
    job_start(job);
    g_assert_cmpint(job_finish_sync(job, NULL, NULL), ==, -ENOSPC);
    g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
    info = job_query(job, &error_abort);
    g_assert_cmpstr(qdict_get_try_str(info, "error"), ==,
                    "test failure -28");
    g_assert_cmpstr(qdict_get_try_str(info, "status"), ==, "concluded");
    qobject_unref(info);
    job_dismiss(&job, &error_abort);
}

/*
 * Finishing code may yield here (7.2's never does): a forced cancel or a
 * finalize arriving meanwhile is too late and changes nothing.
 */
static void coroutine_fn finishing_co(void *opaque)
{
    TestJob *t = new_job("fin", NULL, 0);
    Job *job = &t->job;

    t->prepare_sleeps = true;
    t->should_complete = true;
    job_ref(job);
    job_start(job);
    WAIT_FOR(t->in_prepare);
    g_assert_cmpint(job->status, ==, JOB_STATUS_PENDING);
    job_user_cancel(job, true, &error_abort);
    g_assert_cmpint(job_finish_sync(job, NULL, NULL), ==, 0);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    job_unref(job);
}

static void test_cancel_while_finishing(void)
{
    test_run_co(finishing_co);
    g_assert_cmpstr(drv_log->str, ==, "prepare:fin commit:fin clean:fin ");
    g_assert_nonnull(strstr(events->str, "BLOCK_JOB_COMPLETED"));
    g_assert_null(strstr(events->str, "CANCELLED"));
    test_end();
}

static void test_failure(void)
{
    test_run_co(failure_co);
    g_assert_cmpstr(drv_log->str, ==, "abort:f clean:f ");
    g_assert_nonnull(strstr(events->str, "JOB_STATUS_CHANGE:aborting "
                            "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded"));
    test_end();
}

static void coroutine_fn speed_co(void *opaque)
{
    TestJob *t = new_job("sp", NULL, 0);
    Error *err = NULL;
    int64_t delay;

    g_assert_false(job_set_speed(&t->job, -1, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'speed' expects a non-negative value");
    error_free(err);
    g_assert_cmpint(job_ratelimit_get_delay(&t->job, 1 << 30), ==, 0);
    g_assert_true(job_set_speed(&t->job, 1024 * 1024, &error_abort));
    /* 1 MiB/s: a 100 ms slice holds 104857 bytes; 1 MiB takes ~1 s */
    g_assert_cmpint(job_ratelimit_get_delay(&t->job, 1000), ==, 0);
    delay = job_ratelimit_get_delay(&t->job, 1024 * 1024);
    g_assert_cmpint(delay, >, 900000000LL);
    g_assert_cmpint(delay, <, 1100000000LL);
    job_user_cancel(&t->job, true, &error_abort);
    WAIT_FOR(job_next(NULL) == NULL);
}

static void test_speed(void)
{
    test_run_co(speed_co);
    test_end();
}

static void test_ids(void)
{
    Error *err = NULL;
    TestJob *t;

    events = g_string_new("");
    g_assert_null(job_create("1abc", &test_driver, NULL, 0, NULL, NULL,
                             &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid job ID '1abc'");
    g_clear_pointer(&err, error_free);
    g_assert_null(job_create("a b", &test_driver, NULL, 0, NULL, NULL, &err));
    g_clear_pointer(&err, error_free);
    g_assert_null(job_create(NULL, &test_driver, NULL, 0, NULL, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "An explicit job ID is required");
    g_clear_pointer(&err, error_free);
    g_assert_null(job_create("x", &test_driver, NULL, JOB_INTERNAL, NULL,
                             NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Cannot specify job ID for internal job");
    g_clear_pointer(&err, error_free);
    t = job_create("a-1.b_c", &test_driver, NULL, 0, NULL, NULL,
                   &error_abort);
    g_assert_true(job_get("a-1.b_c") == &t->job);
    g_assert_null(job_create("a-1.b_c", &test_driver, NULL, 0, NULL, NULL,
                             &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Job ID 'a-1.b_c' already in use");
    g_clear_pointer(&err, error_free);
    job_early_fail(&t->job);
    g_assert_null(job_get("a-1.b_c"));
    /* internal jobs: no events, no queries */
    job_add_listener(record_event, NULL);
    t = job_create(NULL, &test_driver, NULL, JOB_INTERNAL, NULL, NULL,
                   &error_abort);
    g_assert_null(job_query(&t->job, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Cannot query QEMU internal jobs");
    g_clear_pointer(&err, error_free);
    job_early_fail(&t->job);
    job_remove_listener(record_event, NULL);
    g_assert_cmpstr(events->str, ==, "");
    g_string_free(events, true);
}

static void test_names(void)
{
    BlockdevOnError e;
    Error *err = NULL;

    g_assert_cmpstr(job_type_str(JOB_TYPE_SNAPSHOT_DELETE), ==,
                    "snapshot-delete");
    g_assert_cmpstr(job_status_str(JOB_STATUS_CONCLUDED), ==, "concluded");
    g_assert_cmpstr(job_verb_str(JOB_VERB_SET_SPEED), ==, "set-speed");
    g_assert_true(blockdev_on_error_parse("enospc", &e, NULL));
    g_assert_cmpint(e, ==, BLOCKDEV_ON_ERROR_ENOSPC);
    g_assert_false(blockdev_on_error_parse("halt", &e, &err));
    g_assert_nonnull(err);
    error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/job/verb-table", test_verb_table);
    g_test_add_func("/job/success", test_success);
    g_test_add_func("/job/cancel", test_cancel);
    g_test_add_func("/job/ready-pause-complete", test_ready);
    g_test_add_func("/job/transaction", test_txn);
    g_test_add_func("/job/error-actions", test_errors);
    g_test_add_func("/job/failure", test_failure);
    g_test_add_func("/job/cancel-while-finishing",
                    test_cancel_while_finishing);
    g_test_add_func("/job/speed", test_speed);
    g_test_add_func("/job/ids", test_ids);
    g_test_add_func("/job/names", test_names);
    return g_test_run();
}
