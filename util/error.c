/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error objects and the few functions that print them.  Library code only
 * creates and passes errors; printing happens in the tools through
 * error_report_err(), which is what lets messages match QEMU's.
 */
#include "util/osdep.h"
#include "util/error.h"

struct Error {
    char *msg;
    GString *hint;      /* NULL unless error_append_hint() was used */
    const char *src;    /* where it was created, for debugging */
    int line;
    int os_errno;       /* error_setg_errno()'s, else 0 */
    int err_class;      /* error_set_class()'s, else 0 */
};

/* Sentinels: their addresses are compared, their value is never used. */
Error *error_fatal;
Error *error_abort;

static char *progname;

void error_init(const char *argv0)
{
    const char *p = strrchr(argv0, '/');

    g_free(progname);
    progname = g_strdup(p ? p + 1 : argv0);
}

const char *error_get_progname(void)
{
    return progname ? progname : "qemu";
}

static void error_handle_special(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error at %s:%d:\n", err->src, err->line);
        error_report("%s", err->msg);
        abort();
    }
    if (errp == &error_fatal) {
        error_report_err(err);
        exit(1);
    }
}

static void error_store(Error **errp, Error *err)
{
    if (errp == &error_abort || errp == &error_fatal) {
        error_handle_special(errp, err);
        return;
    }
    if (!errp) {
        error_free(err);
        return;
    }
    assert(*errp == NULL);
    *errp = err;
}

static void error_setv(Error **errp, const char *src, int line,
                       const char *fmt, va_list ap, int os_errno)
{
    Error *err = g_new0(Error, 1);
    char *msg = g_strdup_vprintf(fmt, ap);
    const char *suffix = os_errno > 0 ? g_strerror(os_errno) : NULL;

    err->os_errno = MAX(os_errno, 0);
    if (suffix) {
        err->msg = g_strconcat(msg, ": ", suffix, NULL);
        g_free(msg);
    } else {
        err->msg = msg;
    }
    err->src = src;
    err->line = line;
    error_store(errp, err);
}

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, src, line, fmt, ap, 0);
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               int os_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, src, line, fmt, ap, os_errno);
    va_end(ap);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    va_list ap;
    char *prefix, *msg;

    if (!errp || !*errp || errp == &error_fatal || errp == &error_abort) {
        return;
    }
    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free(prefix);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

void error_append_hint(Error **errp, const char *fmt, ...)
{
    va_list ap;

    if (!errp || !*errp || errp == &error_fatal || errp == &error_abort) {
        return;
    }
    if (!(*errp)->hint) {
        (*errp)->hint = g_string_new(NULL);
    }
    va_start(ap, fmt);
    g_string_append_vprintf((*errp)->hint, fmt, ap);
    va_end(ap);
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    if (dst_errp == &error_abort || dst_errp == &error_fatal) {
        error_handle_special(dst_errp, local_err);
        return;
    }
    if (dst_errp && !*dst_errp) {
        *dst_errp = local_err;
    } else {
        error_free(local_err);
    }
}

int error_get_errno(const Error *err)
{
    return err->os_errno;
}

void error_set_class(Error **errp, int err_class)
{
    if (errp && errp != &error_abort && errp != &error_fatal && *errp) {
        (*errp)->err_class = err_class;
    }
}

int error_get_class(const Error *err)
{
    return err->err_class;
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

const char *error_get_hint(const Error *err)
{
    return err->hint ? err->hint->str : NULL;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        if (err->hint) {
            g_string_free(err->hint, TRUE);
        }
        g_free(err);
    }
}

void error_vreport(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", error_get_progname());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", error_get_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
    error_free(err);
}

void warn_report_err(Error *err)
{
    warn_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
    error_free(err);
}
