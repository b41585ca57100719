/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image creation: reading create options (-o of create, amend and
 * measure) with 7.2's type checks and messages, and creating an image
 * through its format and protocol drivers.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/keyval.h"
#include "util/cutils.h"

const char *create_opt_get(QDict *opts, const char *name)
{
    return opts ? qdict_get_try_str(opts, name) : NULL;
}

bool create_opt_get_size(QDict *opts, const char *name, uint64_t def,
                         uint64_t *val, Error **errp)
{
    const char *s = create_opt_get(opts, name);

    *val = def;
    if (s && qemu_strtosz(s, NULL, val) < 0) {
        error_setg(errp, "Parameter '%s' expects a non-negative number below "
                   "2^64", name);
        return false;
    }
    return true;
}

bool create_opt_get_number(QDict *opts, const char *name, uint64_t def,
                           uint64_t *val, Error **errp)
{
    const char *s = create_opt_get(opts, name);

    *val = def;
    if (s && qemu_strtou64(s, NULL, 0, val) < 0) {
        error_setg(errp, "Parameter '%s' expects a number", name);
        return false;
    }
    return true;
}

bool create_opt_get_bool(QDict *opts, const char *name, bool def, bool *val,
                         Error **errp)
{
    const char *s = create_opt_get(opts, name);

    *val = def;
    return !s || qemu_parse_bool(name, s, val, errp);
}

static const CreateOptDesc *opt_known(const CreateOptDesc *list,
                                      const char *name)
{
    for (; list && list->name; list++) {
        if (!strcmp(list->name, name)) {
            return list;
        }
    }
    return NULL;
}

/*
 * A value of @d's type, with 7.2's messages for typed options (those come
 * before any other check of create options, "Formatting" included).
 * Numbers are read as 7.2 reads them: "-1" is 2^64 - 1, for the option's
 * own check to refuse.
 */
bool bdrv_check_create_opt_value(const CreateOptDesc *d, const char *s,
                                 Error **errp)
{
    uint64_t v;
    bool b;

    if (!s) {
        return true;        /* not a string: the option's user complains */
    }
    switch (d->type) {
    case OPT_SIZE:
        if (qemu_strtosz(s, NULL, &v) < 0) {
            error_setg(errp, "Parameter '%s' expects a non-negative number "
                       "below 2^64", d->name);
            error_append_hint(errp, "Optional suffix k, M, G, T, P or E "
                              "means kilo-, mega-, giga-, tera-, peta-\n"
                              "and exabytes, respectively.\n");
            return false;
        }
        return true;
    case OPT_NUMBER:
        if (qemu_strtou64(s, NULL, 0, &v) < 0) {
            error_setg(errp, "Parameter '%s' expects a number", d->name);
            return false;
        }
        return true;
    case OPT_BOOL:
        return qemu_parse_bool(d->name, s, &b, errp);
    default:
        return true;
    }
}

bool bdrv_check_create_opts(const BlockDriver *drv, const BlockDriver *proto,
                            QDict *opts, Error **errp)
{
    size_t i;

    for (i = 0; opts && i < qdict_size(opts); i++) {
        const char *key = qdict_key_at(opts, i);
        const CreateOptDesc *d = opt_known(drv->create_opts, key);

        if (!d && proto) {
            d = opt_known(proto->create_opts, key);
        }
        if (!d) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
        if (!bdrv_check_create_opt_value(d, qdict_get_try_str(opts, key),
                                         errp)) {
            return false;
        }
    }
    return true;
}

bool coroutine_fn bdrv_co_create(const BlockDriver *drv, const char *filename,
                                 QDict *opts, Error **errp)
{
    const BlockDriver *proto = NULL;

    if (!drv->co_create) {
        error_setg(errp, "Driver '%s' does not support image creation",
                   drv->format_name);
        return false;
    }
    if (!drv->protocol_name) {
        proto = bdrv_find_protocol(filename, NULL);
    }
    return bdrv_check_create_opts(drv, proto, opts, errp) &&
           drv->co_create(filename, opts, errp);
}

bool coroutine_fn bdrv_co_create_file(const char *filename, QDict *opts,
                                      Error **errp)
{
    const BlockDriver *drv = bdrv_find_protocol(filename, errp);
    g_autoptr(QObject) proto_opts = qdict_new();
    size_t i;

    if (!drv) {
        return false;
    }
    /* Pass on only the options the protocol knows (plus size). */
    for (i = 0; opts && i < qdict_size(opts); i++) {
        const char *key = qdict_key_at(opts, i);
        if (opt_known(drv->create_opts, key)) {
            qdict_put_obj(proto_opts, key,
                          qobject_ref(qdict_value_at(opts, i)));
        }
    }
    if (!drv->co_create) {
        error_setg(errp, "Protocol driver '%s' does not support image "
                   "creation", drv->format_name);
        return false;
    }
    return drv->co_create(filename, proto_opts, errp);
}

/*
 * "Creating" where a protocol cannot create (devices, NBD exports), as
 * QEMU's generic fallback: open it, check it holds the size asked for (it
 * cannot grow), and zero its first sector so that an old header there is
 * not taken for the new image's format.
 */
bool coroutine_fn bdrv_co_create_simple(const char *driver,
                                        const char *filename, QDict *opts,
                                        Error **errp)
{
    const char *p = create_opt_get(opts, "preallocation");
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    QDict *options;
    BlockDriverState *bs;
    BdrvChild child = { 0 };
    Error *local_err = NULL;
    uint64_t size;
    int64_t len;
    bool ok = false;
    int ret;

    if (!create_opt_get_size(opts, "size", 0, &size, errp)) {
        return false;
    }
    if (p && !prealloc_mode_parse(p, &prealloc, NULL)) {
        error_setg(errp, "invalid parameter value: %s", p);
        return false;
    }
    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   PreallocMode_str[prealloc]);
        return false;
    }
    options = qdict_new();
    qdict_put_str(options, "driver", driver);
    bs = bdrv_co_open(filename, options, BDRV_O_RDWR, &local_err);
    if (!bs) {
        error_setg(errp, "Protocol driver '%s' does not support image "
                   "creation, and opening the image failed: %s", driver,
                   error_get_pretty(local_err));
        error_free(local_err);
        return false;
    }
    child.bs = bs;
    ret = bdrv_co_truncate(&child, size, false, PREALLOC_MODE_OFF, 0, errp);
    if (ret < 0) {
        goto out;
    }
    len = bdrv_co_getlength(bs);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Failed to inquire the new image "
                         "file's length");
        goto out;
    }
    if (len > 0) {
        ret = bdrv_co_pwrite_zeroes(&child, 0, MIN(len, BDRV_SECTOR_SIZE),
                                    BDRV_REQ_MAY_UNMAP);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to clear the new image's "
                             "first sector");
            goto out;
        }
    }
    ok = true;
out:
    bdrv_unref(bs);
    return ok;
}
