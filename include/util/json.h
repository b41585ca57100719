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

/* json_write() flags */
#define JSON_PRETTY      0x1    /* QEMU's multi-line layout, 4-space indent */
/*
 * Order dict members as QEMU's QDict iterates them (its hash buckets),
 * which is the order qemu-img's JSON output has.
 */
#define JSON_QEMU_ORDER  0x2

/* Serialise @obj, appending to @out; @indent is the starting level. */
void json_write(GString *out, const QObject *obj, int flags, int indent);

/*
 * Indices of @d's members in the order QEMU's QDict iterates them (the
 * order qemu-img prints them in, human or JSON).  g_free() the result.
 */
size_t *qdict_qemu_order(const QObject *d);

/*
 * Print @obj on stdout as QEMU's human dump of format-specific data
 * ("Format specific information:" in info): "key: value" lines, dashes
 * in keys as spaces, nested dicts and lists ("[0]:") 4 spaces further.
 */
void qobject_print_human(const QObject *obj, int indent);

/* Append @s as a JSON string literal (with quotes and escapes). */
void json_write_string(GString *out, const char *s);
/* The value of four hex digits at @p, or -1 (a \\u escape's). */
int json_hex4(const char *p);

#endif /* UTIL_JSON_H */
