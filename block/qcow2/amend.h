/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 amend: the interface of amend.c (qemu-img amend, and a new backing file).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_AMEND_H
#define BLOCK_QCOW2_AMEND_H

/* qemu-img rebase: the header names another backing file (amend.c). */
int coroutine_fn qcow2_co_change_backing_file(BlockDriverState *bs,
                                              const char *file,
                                              const char *fmt);
int coroutine_fn qcow2_co_amend(BlockDriverState *bs, QDict *opts,
                                bool force, BdrvAmendStatusCB *status_cb,
                                void *cb_opaque, Error **errp);
extern const CreateOptDesc qcow2_amend_opts[];

#endif /* BLOCK_QCOW2_AMEND_H */
