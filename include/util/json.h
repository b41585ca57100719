/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON text <-> QObject.  The parser (util/json-stream.c) accepts what
 * QEMU's does, including single-quoted strings; the writer
 * produces QEMU's pretty layout (4-space indent) used by the tools'
 * --output=json.
 */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

/*
 * Parse one JSON value from @text, as 7.2's qobject_from_json() (the QMP
 * grammar and error texts of util/json-stream.c, one value exactly), but
 * with nesting bounded at JSON_PARSE_MAX_NESTING.  Returns a new
 * reference or NULL.
 */
#define JSON_PARSE_MAX_NESTING 64
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

#endif /* UTIL_JSON_H */
