/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON text <-> QObject.  The parser accepts what QEMU's does for
 * json:{...} filenames, including single-quoted strings; the writer
 * produces QEMU's pretty layout (4-space indent) used by the tools'
 * --output=json.
 */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

/* Parse one JSON value from @text.  Returns a new reference or NULL. */
QObject *json_parse(const char *text, Error **errp);

/*
 * Serialise @obj, appending to @out.  @pretty selects QEMU's multi-line
 * layout; @indent is the starting level (0 at the top).
 */
void json_write(GString *out, const QObject *obj, bool pretty, int indent);

/* Append @s as a JSON string literal (with quotes and escapes). */
void json_write_string(GString *out, const char *s);

#endif /* UTIL_JSON_H */
