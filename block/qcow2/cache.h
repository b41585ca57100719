/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 cache: the interface of cache.c (the LRU write-back cache of L2 tables and refcount blocks). Context: (every call: coroutine, s->lock held).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_CACHE_H
#define BLOCK_QCOW2_CACHE_H

Qcow2Cache *qcow2_cache_create(int entries, int64_t table_size);
void qcow2_cache_destroy(Qcow2Cache *c);
/*
 * Get the table at host @offset, reading it on a miss.  The returned
 * pointer stays valid until qcow2_cache_put().
 */
int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, uint64_t **table);
/* Like get, without reading: for a table the caller fills. */
int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, uint64_t **table);
void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table);
/* Write dirty entries (after what they depend on); flush adds a sync. */
int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
/* @c's entries reach the file only after @dependency's (and a flush). */
int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency);
void qcow2_cache_depends_on_flush(Qcow2Cache *c);
/* Forget the (unpinned) table at @offset: its cluster was freed. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
/* Drop every dirty mark (after a fatal error; nothing more is written). */
void qcow2_cache_clean(Qcow2Cache *c);
/* Forget every table, dirty or not (none pinned): they are stale. */
void qcow2_cache_empty(Qcow2Cache *c);

#endif /* BLOCK_QCOW2_CACHE_H */
