/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 read: the interface of read.c (reads and block status).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_READ_H
#define BLOCK_QCOW2_READ_H

int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                       bool want_zero, int64_t offset,
                                       int64_t count, int64_t *pnum,
                                       int64_t *map,
                                       BlockDriverState **file);

#endif /* BLOCK_QCOW2_READ_H */
