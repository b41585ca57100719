/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QObject: reference-counted JSON-like values (null, bool, int, number,
 * string, ordered dict, list).  Used on the control path only: block
 * options (a flat dict of dotted keys), json: filenames, and the tools'
 * JSON output, whose member order must match QEMU's.
 */
#ifndef UTIL_QOBJECT_H
#define UTIL_QOBJECT_H

#include "util/osdep.h"

typedef enum QType {
    QTYPE_NULL,
    QTYPE_BOOL,
    QTYPE_INT,
    QTYPE_NUM,
    QTYPE_STRING,
    QTYPE_DICT,
    QTYPE_LIST,
} QType;

typedef struct QObject QObject;
typedef struct QObject QDict;    /* a QObject of type QTYPE_DICT */
typedef struct QObject QList;    /* a QObject of type QTYPE_LIST */

/* Constructors: each returns a new reference. */
QObject *qnull_new(void);
QObject *qbool_new(bool v);
QObject *qint_new(int64_t v);
QObject *qnum_new(double v);
QObject *qstring_new(const char *s);
QDict *qdict_new(void);
QList *qlist_new(void);

/* Reference counting; qobject_unref(NULL) is a no-op. */
QObject *qobject_ref(QObject *obj);
void qobject_unref(QObject *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QObject, qobject_unref)

QType qobject_type(const QObject *obj);
bool qbool_get(const QObject *obj);
int64_t qint_get(const QObject *obj);
double qnum_get(const QObject *obj);
const char *qstring_get(const QObject *obj);

/*
 * The scalar as option text: strings as is, bools "on"/"off", numbers in
 * decimal.  Returns a newly allocated string, or NULL for dicts/lists.
 */
char *qobject_to_option_string(const QObject *obj);

/* Dict: insertion-ordered.  Put takes ownership of @value; replaces. */
void qdict_put_obj(QDict *d, const char *key, QObject *value);
void qdict_put_str(QDict *d, const char *key, const char *value);
void qdict_put_int(QDict *d, const char *key, int64_t value);
void qdict_put_bool(QDict *d, const char *key, bool value);
/* Borrowed reference, or NULL. */
QObject *qdict_get(const QDict *d, const char *key);
/* The string value of @key (any scalar, as option text), or NULL. */
const char *qdict_get_try_str(const QDict *d, const char *key);
bool qdict_haskey(const QDict *d, const char *key);
void qdict_del(QDict *d, const char *key);
size_t qdict_size(const QDict *d);
/* Entry @i in insertion order (0 <= i < size); borrowed. */
const char *qdict_key_at(const QDict *d, size_t i);
QObject *qdict_value_at(const QDict *d, size_t i);
/* A shallow copy (values shared by reference). */
QDict *qdict_clone_shallow(const QDict *d);

/*
 * Flatten nested dicts into dotted keys ("file": {"driver": "file"} becomes
 * "file.driver"), converting scalars to option strings.  Lists are kept
 * with keys "x.0", "x.1".  Returns a new flat dict.
 */
QDict *qdict_flatten_to_options(const QDict *d);
/*
 * Move every "@prefix.key" of @src into a new dict as "key" (for a child
 * node's options).  Returns the new dict (possibly empty).
 */
QDict *qdict_extract_subdict(QDict *src, const char *prefix);

/* List: append takes ownership. */
void qlist_append(QList *l, QObject *value);
size_t qlist_size(const QList *l);
QObject *qlist_at(const QList *l, size_t i);

#endif /* UTIL_QOBJECT_H */
