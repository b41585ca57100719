/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option values shared by every driver and tool: preallocation, cache,
 * aio, discard and detect-zeroes modes as 7.2 spells them, and taking
 * typed options out of a node's option dict.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/keyval.h"

const char *const PreallocMode_str[PREALLOC_MODE__MAX] = {
    [PREALLOC_MODE_OFF] = "off",
    [PREALLOC_MODE_METADATA] = "metadata",
    [PREALLOC_MODE_FALLOC] = "falloc",
    [PREALLOC_MODE_FULL] = "full",
};

bool prealloc_mode_parse(const char *value, PreallocMode *mode, Error **errp)
{
    int i;

    for (i = 0; i < PREALLOC_MODE__MAX; i++) {
        if (!strcmp(value, PreallocMode_str[i])) {
            *mode = i;
            return true;
        }
    }
    error_setg(errp, "Parameter 'preallocation' does not accept value '%s'",
               value);
    return false;
}

bool bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough)
{
    *flags &= ~(BDRV_O_NOCACHE | BDRV_O_NO_FLUSH);
    if (!strcmp(mode, "off") || !strcmp(mode, "none")) {
        *writethrough = false;
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "directsync")) {
        *writethrough = true;
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "writeback")) {
        *writethrough = false;
    } else if (!strcmp(mode, "unsafe")) {
        *writethrough = false;
        *flags |= BDRV_O_NO_FLUSH;
    } else if (!strcmp(mode, "writethrough")) {
        *writethrough = true;
    } else {
        return false;
    }
    return true;
}

bool bdrv_parse_aio(const char *mode, int *flags)
{
    *flags &= ~(BDRV_O_NATIVE_AIO | BDRV_O_IO_URING | BDRV_O_AIO_THREADS);
    if (!strcmp(mode, "native")) {
        *flags |= BDRV_O_NATIVE_AIO;
    } else if (!strcmp(mode, "io_uring")) {
        *flags |= BDRV_O_IO_URING;
    } else if (!strcmp(mode, "threads")) {
        *flags |= BDRV_O_AIO_THREADS;
    } else {
        return false;
    }
    return true;
}

bool bdrv_parse_discard_flags(const char *mode, int *flags)
{
    *flags &= ~BDRV_O_UNMAP;
    if (!strcmp(mode, "off") || !strcmp(mode, "ignore")) {
        return true;
    }
    if (!strcmp(mode, "on") || !strcmp(mode, "unmap")) {
        *flags |= BDRV_O_UNMAP;
        return true;
    }
    return false;
}

bool bdrv_parse_detect_zeroes(const char *mode, BdrvDetectZeroes *dz)
{
    static const char *const names[] = { "off", "on", "unmap" };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(mode, names[i])) {
            *dz = i;
            return true;
        }
    }
    return false;
}

/* ---- option helpers ---- */

char *bdrv_opt_take_str(QDict *options, const char *key)
{
    QObject *v = qdict_get(options, key);
    char *s;

    if (!v) {
        return NULL;
    }
    s = qobject_to_option_string(v);
    qdict_del(options, key);
    return s;
}

bool bdrv_opt_take_size(QDict *options, const char *key, uint64_t *val,
                        bool *present, Error **errp)
{
    g_autofree char *s = bdrv_opt_take_str(options, key);

    if (present) {
        *present = s != NULL;
    }
    if (!s) {
        return true;
    }
    if (qemu_strtosz(s, NULL, val) < 0) {
        error_setg(errp, "Parameter '%s' expects a non-negative number below "
                   "2^64", key);
        return false;
    }
    return true;
}

bool bdrv_opt_take_number(QDict *options, const char *key, uint64_t *val,
                          bool *present, Error **errp)
{
    g_autofree char *s = bdrv_opt_take_str(options, key);

    if (present) {
        *present = s != NULL;
    }
    if (s && qemu_strtou64(s, NULL, 0, val) < 0) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return false;
    }
    return true;
}

bool bdrv_opt_take_bool(QDict *options, const char *key, bool *val,
                        Error **errp)
{
    g_autofree char *s = bdrv_opt_take_str(options, key);

    if (!s) {
        return true;
    }
    return qemu_parse_bool(key, s, val, errp);
}
