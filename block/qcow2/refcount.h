/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 refcount: the interface of refcount.c (refcount table and blocks, cluster allocation and freeing). Context: (coroutine, s->lock held unless noted).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_REFCOUNT_H
#define BLOCK_QCOW2_REFCOUNT_H

/* Load the refcount table for a read-write open. */
bool coroutine_fn qcow2_refcount_init(BlockDriverState *bs, Error **errp);
void qcow2_refcount_close(BlockDriverState *bs);
/*
 * 1 if far more clusters are in use than the file has allocated (QEMU's
 * test for metadata preallocation: the data is holes in the file), 0 if
 * not, -errno.  Loads the refcounts of a read-only image.  s->lock held.
 */
int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs);
/* Load the refcount table of a read-only image; false on failure. */
bool coroutine_fn qcow2_refcounts_load(BlockDriverState *bs);
/* Add (@decrease: subtract) @addend to one cluster's refcount. */
int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               int64_t cluster_index,
                                               uint64_t addend, bool decrease,
                                               Qcow2DiscardType type);
/* The same for every cluster [@offset, @offset + @length) touches. */
int coroutine_fn qcow2_update_refcount(BlockDriverState *bs, int64_t offset,
                                       int64_t length, uint64_t addend,
                                       bool decrease, Qcow2DiscardType type);
int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount);
/* Allocate @size bytes of clusters, contiguous, refcount 1. */
int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size);
/* Allocate up to @nb_clusters free clusters at @offset; returns how many. */
int64_t coroutine_fn qcow2_alloc_clusters_at(BlockDriverState *bs,
                                             uint64_t offset,
                                             int64_t nb_clusters);
/* Allocate @size bytes for compressed data, packed like QEMU packs it. */
int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size);
void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, int64_t offset,
                                      int64_t size, Qcow2DiscardType type);
/* Free what an L2 entry points to (data or compressed). */
void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type);
/* Queue a host range for discarding (merged with its neighbours). */
void qcow2_queue_discard(BlockDriverState *bs, uint64_t offset,
                         uint64_t length);
/* Discard freed host ranges queued while cache_discards was set. */
void coroutine_fn qcow2_process_discards(BlockDriverState *bs, int ret);
/* The refcount width and what follows from it (block size, maximum). */
void qcow2_refcount_set_order(BDRVQcow2State *s, int order);
/* Entry @i of a refcount block whose entries are 1 << @order bits wide. */
uint64_t qcow2_rc_get(const void *block, int order, uint64_t i);
void qcow2_rc_set(void *block, int order, uint64_t i, uint64_t value);
/*
 * Point the header at the refcount table @table (host endian, @entries
 * entries, already written at @offset) and make it the image's (taking
 * @table; the old table's memory is freed, its clusters are the
 * caller's).  -errno if the header write failed: nothing changed.
 */
int coroutine_fn qcow2_switch_refcount_table(BlockDriverState *bs,
                                             uint64_t *table,
                                             uint32_t entries,
                                             uint64_t offset);
/*
 * s->refcount_table now describes a new refcount structure (check's
 * rebuild): forget the cached blocks and where allocation stood.
 */
void qcow2_refcount_table_replaced(BDRVQcow2State *s);
/* Refcount metadata needed for @clusters clusters (QEMU's formula). */
int64_t qcow2_refcount_metadata_size(int64_t clusters, size_t cluster_size,
                                     int refcount_order, bool generous,
                                     uint64_t *refblock_count);
/* New self-describing refcount structures at @start_offset (the end). */
int64_t coroutine_fn qcow2_refcount_area(BlockDriverState *bs,
                                         uint64_t start_offset,
                                         uint64_t additional_clusters,
                                         bool exact_size,
                                         int new_refblock_index,
                                         uint64_t new_refblock_offset);
/*
 * Fail with -EIO (and mark the image corrupt) if writing [offset, +size)
 * would overwrite metadata of a kind in QCOW2_OL_* minus @ign.
 */
int coroutine_fn qcow2_pre_write_overlap_check(BlockDriverState *bs, int ign,
                                               int64_t offset, int64_t size);

#endif /* BLOCK_QCOW2_REFCOUNT_H */
