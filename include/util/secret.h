/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --object: the user-creatable objects of the tools' command lines.  The
 * one type that matters to a block tool is "secret" (passwords and keys
 * given out of band: data=, file=, format=raw|base64), looked up by id by
 * the drivers that take a *-secret option (iscsi's password-secret).
 * Parsing and messages follow QEMU 7.2's.  Main-thread only.
 */
#ifndef UTIL_SECRET_H
#define UTIL_SECRET_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

/*
 * Create the object described by @str ("secret,id=sec0,data=..."), as
 * --object does.  Returns false and sets @errp when @str is invalid or
 * names an id already taken.  "help" is not handled here.
 */
bool qemu_object_add(const char *str, Error **errp);

/*
 * The same from its properties as JSON values (@props: qom-type, id and
 * the type's own; QMP's object-add): secret, and iothread and throttle-group, which are
 * only kept by id (everything runs in the main thread; there is no
 * throttle filter).  Checks and texts as 7.2's.
 */
bool qemu_object_add_dict(QDict *props, Error **errp);
/* object-del: false + "object 'ID' not found" */
bool qemu_object_del(const char *id, Error **errp);

/*
 * --object OPTARG for the tools: "help" (and "secret,help") prints and
 * exits 0; an error is reported ("qemu-img: ...") and false returned, for
 * the tool to exit with its own failure code as 7.2 does.
 */
bool qemu_object_add_cmdline(const char *optarg);

/*
 * The value of secret @id as a new string (caller frees).  NULL with
 * "No secret with id '@id'" when there is none.
 */
char *qemu_secret_lookup(const char *id, Error **errp);

/* Forget every object (tests). */
void qemu_object_del_all(void);

#endif /* UTIL_SECRET_H */
