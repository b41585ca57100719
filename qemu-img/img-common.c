/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by qemu-img subcommands.  Messages match QEMU 7.2's.
 */
#include "util/osdep.h"
#include "img.h"
#include "util/cutils.h"
#include "util/keyval.h"
#include "util/secret.h"
#include "block/snapshot.h"

void img_error_exit(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information\n",
            error_get_progname());
    exit(EXIT_FAILURE);
}

void img_common_option(int c, char **argv, bool *image_opts)
{
    switch (c) {
    case IMG_OPT_OBJECT:
        if (!qemu_object_add_cmdline(optarg)) {
            exit(EXIT_FAILURE);
        }
        return;
    case ':':
        img_error_exit("missing argument for option '%s'", argv[optind - 1]);
    case 'h':
        img_help();
    case IMG_OPT_IMAGE_OPTS:
        /* not an option of a subcommand without image_opts */
        if (image_opts) {
            *image_opts = true;
            return;
        }
        /* fall through */
    default:
        img_error_exit("unrecognized option '%s'", argv[optind - 1]);
    }
}

int64_t img_cvtnum_full(const char *name, const char *value, int64_t min,
                        int64_t max)
{
    uint64_t res;
    int err = qemu_strtosz(value, NULL, &res);

    if (err < 0 && err != -ERANGE) {
        error_report("Invalid %s specified. You may use "
                     "k, M, G, T, P or E suffixes for", name);
        error_report("kilobytes, megabytes, gigabytes, terabytes, "
                     "petabytes and exabytes.");
        return err;
    }
    if (err == -ERANGE || res > (uint64_t)max || (int64_t)res < min) {
        error_report("Invalid %s specified. Must be between %" PRId64
                     " and %" PRId64 ".", name, min, max);
        return -ERANGE;
    }
    return (int64_t)res;
}

int64_t img_cvtnum(const char *name, const char *value)
{
    return img_cvtnum_full(name, value, 0, INT64_MAX);
}

OutputFormat img_parse_output_format(const char *arg)
{
    if (!strcmp(arg, "json")) {
        return OFORMAT_JSON;
    }
    if (!strcmp(arg, "human")) {
        return OFORMAT_HUMAN;
    }
    error_report("--output must be used with human or json as argument.");
    exit(EXIT_FAILURE);
}

BlockBackend *coroutine_fn img_open(bool image_opts, const char *filename,
                                    const char *fmt, int flags,
                                    bool writethrough, bool quiet,
                                    bool force_share)
{
    QDict *opts = qdict_new();
    BlockBackend *blk;
    Error *err = NULL;
    const char *warning;

    if (image_opts) {
        if (fmt) {
            error_report("--image-opts and --format are mutually exclusive");
            qobject_unref(opts);
            return NULL;
        }
        if (!keyval_parse_into(&opts, filename, NULL, &err)) {
            error_report_err(err);
            qobject_unref(opts);
            return NULL;
        }
        if (force_share && qdict_haskey(opts, "force-share") &&
            g_strcmp0(qdict_get_try_str(opts, "force-share"), "on")) {
            error_report("--force-share/-U conflicts with image options");
            qobject_unref(opts);
            return NULL;
        }
    } else if (fmt) {
        qdict_put_str(opts, "driver", fmt);
    }
    if (force_share) {
        /* read-write opens are refused by the block layer, as in 7.2 */
        qdict_put_str(opts, "force-share", "on");
    }
    blk = blk_co_new_open(image_opts ? NULL : filename, opts, flags, &err);
    if (!blk) {
        error_prepend(&err, "Could not open '%s': ", filename);
        error_report_err(err);
        return NULL;
    }
    warning = bdrv_get_open_warning(blk_bs(blk));
    if (warning && !quiet) {
        fprintf(stderr, "%s\n", warning);
    }
    blk_set_enable_write_cache(blk, !writethrough);
    return blk;
}

/*
 * "snapshot.id=ID,snapshot.name=NAME" (either or both) as a dict; NULL
 * after printing 7.2's messages.
 */
static QDict *parse_snapshot_opts(const char *param)
{
    QDict *d = NULL;
    Error *err = NULL;
    int i;

    if (!keyval_parse_into(&d, param, NULL, &err)) {
        error_report_err(err);
        goto fail;
    }
    for (i = 0; i < (int)qdict_size(d); i++) {
        const char *key = qdict_key_at(d, i);
        if (strcmp(key, "snapshot.id") && strcmp(key, "snapshot.name")) {
            error_report("Invalid parameter '%s'", key);
            goto fail;
        }
    }
    return d;

fail:
    error_report("Failed in parsing snapshot param '%s'", param);
    qobject_unref(d);
    return NULL;
}

bool img_check_snapshot_param(const char *param)
{
    g_autoptr(QObject) opts = NULL;

    if (!g_str_has_prefix(param, "snapshot.")) {
        return true;            /* an ID or a name */
    }
    opts = parse_snapshot_opts(param);
    return opts != NULL;
}

bool coroutine_fn img_load_snapshot(BlockBackend *blk, const char *param)
{
    BlockDriverState *bs = blk_bs(blk);
    Error *err = NULL;
    int ret;

    if (g_str_has_prefix(param, "snapshot.")) {
        g_autoptr(QObject) opts = parse_snapshot_opts(param);

        if (!opts) {
            return false;
        }
        ret = bdrv_co_snapshot_load_tmp(bs,
                                        qdict_get_try_str(opts, "snapshot.id"),
                                        qdict_get_try_str(opts,
                                                          "snapshot.name"),
                                        &err);
    } else {
        ret = bdrv_co_snapshot_load_tmp_by_id_or_name(bs, param, &err);
    }
    if (ret < 0) {
        error_prepend(&err, "Failed to load snapshot: ");
        error_report_err(err);
        return false;
    }
    return true;
}
