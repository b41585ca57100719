/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blockdev-create: a job (type "create", dismissed by the user) that
 * makes an image: a file by name ("file"), or a qcow2 image on a node the
 * monitor opened ("qcow2", its "file" a node name).  The options are
 * 7.2's BlockdevCreateOptions, checked as its schema checks them; they
 * become the create options qemu-img takes, so that one implementation
 * of each format's creation serves both.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "block/block.h"
#include "block/driver.h"
#include "block/job.h"

typedef struct CreateJob {
    Job job;
    const BlockDriver *drv;     /* NULL: a file (by name) */
    char *filename;
    char *file_node;            /* qcow2: the node to create on */
    QDict *opts;                /* create options, as strings */
} CreateJob;

static int coroutine_fn create_run(Job *job, Error **errp)
{
    CreateJob *s = container_of(job, CreateJob, job);
    BlockDriverState *file;
    bool ok;

    job_progress_set_remaining(job, 1);
    if (!s->drv) {
        ok = bdrv_co_create_file(s->filename, s->opts, errp);
    } else {
        file = qsd_lookup_node(s->file_node, s->file_node, errp);
        ok = file && s->drv->co_create_node(file, s->opts, errp);
    }
    job_progress_update(job, 1);
    return ok ? 0 : -EINVAL;
}

static void create_free(Job *job)
{
    CreateJob *s = container_of(job, CreateJob, job);

    g_free(s->filename);
    g_free(s->file_node);
    qobject_unref(s->opts);
}

static const JobDriver create_job_driver = {
    .instance_size = sizeof(CreateJob),
    .job_type = JOB_TYPE_CREATE,
    .run = create_run,
    .free = create_free,
};

/*
 * A QMP member into a create option: integers and booleans as text,
 * enums mapped (NULL map: taken as they are, checked by the driver).
 */
static void put_opt(QDict *opts, QDict *args, const char *member,
                    const char *opt)
{
    QObject *v = qdict_get(args, member);

    if (!v) {
        return;
    }
    switch (qobject_type(v)) {
    case QTYPE_INT: {
        g_autofree char *text = g_strdup_printf("%" PRId64, qint_get(v));

        qdict_put_str(opts, opt, text);
        break;
    }
    case QTYPE_BOOL:
        qdict_put_str(opts, opt, qbool_get(v) ? "on" : "off");
        break;
    default:
        qdict_put_str(opts, opt, qstring_get(v));
        break;
    }
}

static bool enum_ok(QDict *args, const char *name, const char *const *values,
                    Error **errp)
{
    return qmp_enum(args, name, values, 0, errp) >= 0;
}

static const char *const prealloc_names[] = {
    "off", "metadata", "falloc", "full", NULL,
};

static bool file_options(CreateJob *s, QDict *o, Error **errp)
{
    if (!qmp_check_args_at(o, "driver:s filename:s size:i "
                           "?preallocation:s ?nocow:b ?extent-size-hint:i",
                           "options", errp) ||
        !enum_ok(o, "preallocation", prealloc_names, errp)) {
        return false;
    }
    s->filename = g_strdup(qmp_str(o, "filename"));
    put_opt(s->opts, o, "size", "size");
    put_opt(s->opts, o, "preallocation", "preallocation");
    put_opt(s->opts, o, "nocow", "nocow");
    put_opt(s->opts, o, "extent-size-hint", "extent_size_hint");
    return true;
}

static bool qcow2_options(CreateJob *s, QDict *o, Error **errp)
{
    static const char *const versions[] = { "v2", "v3", NULL };
    static const char *const ctypes[] = { "zlib", "zstd", NULL };
    QObject *file;

    if (!qmp_check_args_at(o, "driver:s file:* size:i ?version:s "
                           "?backing-file:s ?backing-fmt:s ?data-file:* "
                           "?data-file-raw:b ?extended-l2:b ?cluster-size:i "
                           "?preallocation:s ?lazy-refcounts:b "
                           "?refcount-bits:i ?compression-type:s "
                           "?encrypt:o", "options", errp) ||
        !enum_ok(o, "version", versions, errp) ||
        !enum_ok(o, "preallocation", prealloc_names, errp) ||
        !enum_ok(o, "compression-type", ctypes, errp)) {
        return false;
    }
    file = qdict_get(o, "file");
    if (qobject_type(file) != QTYPE_STRING) {
        error_setg(errp, "Parameter 'options.file': only a node name is "
                   "supported (add the node with blockdev-add)");
        return false;
    }
    if (qdict_get(o, "encrypt")) {
        error_setg(errp, "Parameter 'options.encrypt': encrypted qcow2 "
                   "images are not supported");
        return false;
    }
    s->drv = bdrv_find_format("qcow2");
    s->file_node = g_strdup(qstring_get(file));
    put_opt(s->opts, o, "size", "size");
    if (qmp_str(o, "version")) {
        qdict_put_str(s->opts, "compat",
                      strcmp(qmp_str(o, "version"), "v2") ? "1.1" : "0.10");
    }
    put_opt(s->opts, o, "backing-file", "backing_file");
    put_opt(s->opts, o, "backing-fmt", "backing_fmt");
    put_opt(s->opts, o, "data-file", "data_file");
    put_opt(s->opts, o, "data-file-raw", "data_file_raw");
    put_opt(s->opts, o, "extended-l2", "extended_l2");
    put_opt(s->opts, o, "cluster-size", "cluster_size");
    put_opt(s->opts, o, "preallocation", "preallocation");
    put_opt(s->opts, o, "lazy-refcounts", "lazy_refcounts");
    put_opt(s->opts, o, "refcount-bits", "refcount_bits");
    put_opt(s->opts, o, "compression-type", "compression_type");
    return true;
}

static void coroutine_fn qmp_blockdev_create(QDict *args, QObject **ret,
                                             Error **errp)
{
    QDict *o;
    const char *driver;
    CreateJob *s;
    bool ok;

    if (!qmp_check_args(args, "job-id:s options:o", errp)) {
        return;
    }
    o = (QDict *)qdict_get(args, "options");
    if (!qmp_check_args_at(o, "driver:s ?*", "options", errp)) {
        return;
    }
    driver = qmp_str(o, "driver");
    if (strcmp(driver, "file") && strcmp(driver, "qcow2")) {
        if (bdrv_find_format(driver)) {
            error_setg(errp, "Driver does not support blockdev-create");
        } else {
            error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                       driver);
        }
        return;
    }
    s = g_new0(CreateJob, 1);      /* the options first, then the job */
    s->opts = qdict_new();
    ok = !strcmp(driver, "file") ? file_options(s, o, errp)
                                 : qcow2_options(s, o, errp);
    if (ok) {
        CreateJob *job = job_create(qmp_str(args, "job-id"),
                                    &create_job_driver, NULL,
                                    JOB_MANUAL_DISMISS, NULL, NULL, errp);

        if (job) {
            job->drv = s->drv;
            job->filename = g_steal_pointer(&s->filename);
            job->file_node = g_steal_pointer(&s->file_node);
            job->opts = g_steal_pointer(&s->opts);
            job_start(&job->job);
        }
    }
    create_free(&s->job);
    g_free(s);
}

const QmpCommand qmp_create_commands[] = {
    { "blockdev-create", qmp_blockdev_create },
    { NULL },
};
