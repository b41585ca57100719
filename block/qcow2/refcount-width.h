/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 refcount-width: the interface of refcount-width.c (amend refcount_bits).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_REFCOUNT_WIDTH_H
#define BLOCK_QCOW2_REFCOUNT_WIDTH_H

/*
 * amend refcount_bits: rewrite every refcount block in the width
 * 1 << @refcount_order, point the header at the new structure, free the
 * old one (refcount-width.c).  s->lock held.  @status_cb (may be NULL)
 * hears the progress as 7.2 reports it: per entry of the old table and
 * pass, out of the passes expected so far.
 */
int coroutine_fn qcow2_change_refcount_order(BlockDriverState *bs,
                                             int refcount_order,
                                             BdrvAmendStatusCB *status_cb,
                                             void *cb_opaque, Error **errp);

#endif /* BLOCK_QCOW2_REFCOUNT_WIDTH_H */
