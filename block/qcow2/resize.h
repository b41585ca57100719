/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 resize: the interface of resize.c (growing and shrinking the image).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_RESIZE_H
#define BLOCK_QCOW2_RESIZE_H

int coroutine_fn qcow2_co_truncate(BlockDriverState *bs, int64_t offset,
                                   bool exact, PreallocMode prealloc,
                                   BdrvRequestFlags flags, Error **errp);

#endif /* BLOCK_QCOW2_RESIZE_H */
