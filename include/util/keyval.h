/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option strings: "driver=qcow2,file.driver=file,file.filename=a,,b".
 * A doubled comma is a literal comma; a bare "key" means key=on.  The
 * result is a flat dict of strings with dotted keys, the same shape
 * json:{...} filenames flatten to.
 */
#ifndef UTIL_KEYVAL_H
#define UTIL_KEYVAL_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

/*
 * Parse @params into @dict (created when *@dict is NULL).  With
 * @implied_key, a first element without '=' is its value.  Later keys
 * override earlier ones.  Returns false and sets @errp on a syntax error.
 */
bool keyval_parse_into(QDict **dict, const char *params,
                       const char *implied_key, Error **errp);

/*
 * Parse a boolean option value: on/off, yes/no, true/false.  Sets @errp
 * with QEMU's message naming @name on failure.
 */
bool qemu_parse_bool(const char *name, const char *value, bool *result,
                     Error **errp);

#endif /* UTIL_KEYVAL_H */
