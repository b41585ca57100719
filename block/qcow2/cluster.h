/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 cluster: the interface of cluster.c (guest offset to host offset through L1/L2, allocation for writes).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_CLUSTER_H
#define BLOCK_QCOW2_CLUSTER_H

void qcow2_cache_put(Qcow2Cache *c, uint64_t **table);
/*
 * Map guest @offset: the type of its subcluster, the host offset of the
 * byte at @offset (for NORMAL and *_ALLOC), and in *@bytes how many bytes
 * from @offset (at most the input) share that type and are contiguous
 * on the host.  For COMPRESSED, *@host_offset is the L2 entry.
 * Returns 0 or -errno.  Context: coroutine, s->lock held.
 */
int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       int64_t *bytes, uint64_t *host_offset,
                                       QCow2SubclusterType *type);
/*
 * Find where a write of [offset, +*bytes) goes: one host-contiguous
 * extent at *host_offset made of clusters written in place and new ones,
 * the latter (and in-place subcluster/zero-flag changes) described by
 * QCowL2Metas chained on *m and registered in s->cluster_allocs.  *bytes
 * shrinks to what the extent covers.  May wait for overlapping
 * allocations.  On error, *m may hold metas to finish with
 * qcow2_l2meta_finish(..., false).
 */
int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, int64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m);
/* Point the L2 entries at the new clusters; frees replaced ones. */
int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m);
/*
 * Link (@link) or abort every meta of the chain, unregister them, wake
 * their waiters and free them.  Returns the first error.  s->lock held.
 */
int coroutine_fn qcow2_l2meta_finish(BlockDriverState *bs, QCowL2Meta *m,
                                     bool link);
/*
 * The L2 table for guest @offset, writable: allocated when missing, copied
 * when shared with a snapshot.  Put it with qcow2_cache_put().
 */
int coroutine_fn qcow2_get_cluster_table(BlockDriverState *bs,
                                         uint64_t offset, uint64_t **table,
                                         int *l2_index);
/*
 * Allocate room for a compressed cluster of @compressed_size bytes at guest
 * @offset; *@host_offset receives the L2 entry written for it.
 */
int coroutine_fn qcow2_alloc_compressed_cluster_offset(BlockDriverState *bs,
                                                       uint64_t offset,
                                                       int compressed_size,
                                                       uint64_t *host_offset);
int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size);
/* What a whole cluster's L2 entry describes (subclusters aside). */
typedef enum {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} QCow2ClusterType;
QCow2ClusterType qcow2_cluster_type(BDRVQcow2State *s, uint64_t l2_entry);
/* Host offset and byte count of a compressed cluster's data. */
void qcow2_parse_compressed_l2_entry(BlockDriverState *bs, uint64_t l2_entry,
                                     uint64_t *coffset, int *csize);

#endif /* BLOCK_QCOW2_CLUSTER_H */
