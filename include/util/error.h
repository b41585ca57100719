/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error reporting for the control path, with QEMU's semantics: a function
 * that fails sets exactly one Error through its "Error **errp" parameter;
 * only the tools print, so messages can match QEMU's byte for byte.
 */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include "util/osdep.h"

typedef struct Error Error;

/*
 * Pass &error_fatal to exit(1) after printing the error, &error_abort to
 * abort(): both for callers that cannot recover.
 */
extern Error *error_fatal;
extern Error *error_abort;

/*
 * Create an error with a printf-style message and store it in *@errp.
 * @errp may be NULL (the error is dropped).  *@errp must be NULL.
 */
#define error_setg(errp, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __VA_ARGS__)
void error_setg_internal(Error **errp, const char *src, int line,
                         const char *fmt, ...) QEMU_PRINTF(4, 5);

/* Like error_setg() with ": strerror(os_errno)" appended (errno > 0). */
#define error_setg_errno(errp, os_errno, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, (os_errno), \
                              __VA_ARGS__)
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               int os_errno, const char *fmt, ...)
    QEMU_PRINTF(5, 6);

/* Prefix the message of *@errp (if set) with the formatted text. */
void error_prepend(Error **errp, const char *fmt, ...) QEMU_PRINTF(2, 3);

/* Add a hint printed after the message by error_report_err(). */
void error_append_hint(Error **errp, const char *fmt, ...) QEMU_PRINTF(2, 3);

/*
 * Move @local_err into *@dst_errp.  Takes ownership of @local_err: it is
 * freed when @dst_errp is NULL or already holds an error.
 */
void error_propagate(Error **dst_errp, Error *local_err);

/* The errno given to error_setg_errno(), or 0. */
int error_get_errno(const Error *err);
/*
 * A class for the error just set in *@errp (QMP's error classes; 0, the
 * default, is the generic one); a no-op when nothing was set.
 */
void error_set_class(Error **errp, int err_class);
int error_get_class(const Error *err);

/* Returns the message; owned by @err. */
const char *error_get_pretty(const Error *err);
/* The hints error_append_hint() added, or NULL; owned by @err. */
const char *error_get_hint(const Error *err);

void error_free(Error *err);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

/* Print "progname: message\n" (plus hints) to stderr, then free @err. */
void error_report_err(Error *err);
/* Like error_report_err() with "warning: " before the message. */
void warn_report_err(Error *err);

/* Print "progname: <formatted>\n" to stderr. */
void error_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
void error_vreport(const char *fmt, va_list ap) QEMU_PRINTF(1, 0);
/* Print "progname: warning: <formatted>\n" to stderr. */
void warn_report(const char *fmt, ...) QEMU_PRINTF(1, 2);

/*
 * Set the program name printed before each message: the basename of
 * @argv0, as QEMU does.  Call once from main().
 */
void error_init(const char *argv0);
const char *error_get_progname(void);

#endif /* UTIL_ERROR_H */
