/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 discard: the interface of discard.c (zero flags and discards in L2 tables).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_DISCARD_H
#define BLOCK_QCOW2_DISCARD_H

/* Zero flags / discards over whole (sub)clusters. */
int coroutine_fn qcow2_subcluster_zeroize(BlockDriverState *bs,
                                          uint64_t offset, uint64_t bytes,
                                          int flags);
int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, Qcow2DiscardType type,
                                       bool full_discard);
/* A guest's discard request: errors writing the L2 tables come later. */
int coroutine_fn qcow2_guest_discard(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes);
/* Turn the active table's zero clusters into v2 ones (cluster.c). */
int coroutine_fn qcow2_expand_zero_clusters(BlockDriverState *bs);

#endif /* BLOCK_QCOW2_DISCARD_H */
