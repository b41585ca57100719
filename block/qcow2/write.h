/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 write: the interface of write.c (writes, zero writes, discards, compressed writes, flush).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_WRITE_H
#define BLOCK_QCOW2_WRITE_H

/* COW of one meta (no I/O lock games: the caller holds s->lock). */
int coroutine_fn qcow2_perform_cow_locked(BlockDriverState *bs,
                                          QCowL2Meta *m);
int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  BdrvRequestFlags flags);
int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes);
int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs);
/* Empty the active disk, as 7.2 does after qemu-img commit. */
int coroutine_fn qcow2_co_make_empty(BlockDriverState *bs);
/* Write caches, clear the dirty bit: before close. */
int coroutine_fn qcow2_co_inactivate(BlockDriverState *bs);
/* Write the L2 and refcount caches (write.c); lock held. */
int coroutine_fn qcow2_write_caches(BlockDriverState *bs);

#endif /* BLOCK_QCOW2_WRITE_H */
