/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BlockBackend: what a tool or job holds to do I/O on a node graph.  It
 * adds what users, not drivers, need: requests checked against the
 * image length (-EIO past the end, as QEMU), write-through emulation for
 * cache modes without a write cache, and draining of in-flight requests.
 */
#ifndef BLOCK_BLOCK_BACKEND_H
#define BLOCK_BLOCK_BACKEND_H

#include "block/block.h"

typedef struct BlockBackend BlockBackend;

/*
 * Open @filename (see bdrv_co_open) and wrap the root node, taking the
 * permissions @flags imply (blk_perm_from_flags).  Returns NULL and sets
 * @errp on failure (a permission conflict among them).  Context: coroutine.
 */
BlockBackend *coroutine_fn blk_co_new_open(const char *filename,
                                           QDict *options, int flags,
                                           Error **errp);
/*
 * Wrap @bs as a user that takes @perm and shares @shared (BLK_PERM_*).
 * The reference on @bs is taken over, also on failure (NULL, @errp set:
 * someone holds what we would take, or does not share it).
 */
/* Whether a BlockBackend (an export, a job's, a tool's) uses @bs */
bool bdrv_has_blk(BlockDriverState *bs);
/* Whether only BlockBackends use @bs: no node above, no job (7.2's) */
bool bdrv_is_root_node(BlockDriverState *bs);
BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared, Error **errp);
/*
 * What a user opening with @flags takes, as QEMU 7.2's blk_new_open:
 * consistent read unless BDRV_O_NO_IO, write with BDRV_O_RDWR, resize with
 * BDRV_O_RESIZE; everything shared, or only reading with BDRV_O_NO_SHARE.
 */
void blk_perm_from_flags(int flags, uint64_t *perm, uint64_t *shared);
/* Close; waits for nothing, so drain first.  NULL is a no-op. */
void blk_unref(BlockBackend *blk);

BlockDriverState *blk_bs(BlockBackend *blk);
/* false: every write is followed by a flush (writethrough). */
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
bool blk_enable_write_cache(BlockBackend *blk);
/*
 * Requests of @blk go on while its node is drained (a job's own, made
 * while it drains): the default holds them until the section ends.
 */
void blk_set_disable_request_queuing(BlockBackend *blk, bool disable);
/* Allow writes past the end (image creation, convert targets). */
void blk_set_allow_write_beyond_eof(BlockBackend *blk, bool allow);

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn blk_co_pread(BlockBackend *blk, int64_t offset,
                              int64_t bytes, void *buf,
                              BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite(BlockBackend *blk, int64_t offset,
                               int64_t bytes, const void *buf,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes);
int coroutine_fn blk_co_flush(BlockBackend *blk);
/* @bytes at @pos of the VM state area (bdrv_co_rw_vmstate) */
int coroutine_fn blk_co_save_vmstate(BlockBackend *blk, const void *buf,
                                     int64_t pos, int64_t bytes);
int coroutine_fn blk_co_load_vmstate(BlockBackend *blk, void *buf,
                                     int64_t pos, int64_t bytes);
int64_t coroutine_fn blk_co_getlength(BlockBackend *blk);
int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp);
/* Yield until no request of @blk is in flight.  Context: coroutine. */
void coroutine_fn blk_co_drain(BlockBackend *blk);
int64_t blk_in_flight(BlockBackend *blk);

#endif /* BLOCK_BLOCK_BACKEND_H */
