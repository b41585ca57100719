/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 bitmap: the interface of bitmap.c (persistent dirty bitmaps). Context: persistent dirty bitmaps.
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_BITMAP_H
#define BLOCK_QCOW2_BITMAP_H

/* A bitmap table entry QEMU's rules allow (1 alone means all ones). */
bool qcow2_bitmap_table_entry_ok(BDRVQcow2State *s, uint64_t entry);
/* At open, after the directory was read: the node's bitmaps. */
bool coroutine_fn qcow2_load_bitmaps(BlockDriverState *bs, Error **errp);
/*
 * The image is written from now on: every bitmap of the directory marked
 * in use on disk (its data is stored again at close), as at a
 * read-write open.  0 or -errno.
 */
int coroutine_fn qcow2_mark_bitmaps_in_use(BlockDriverState *bs);
bool qcow2_supports_bitmaps(BlockDriverState *bs);
/*
 * Bytes the persistent bitmaps of @in_bs would take in a qcow2 image of
 * @cluster_size, every bitmap cluster allocated (qemu-img measure).
 */
uint64_t qcow2_bitmaps_measure(BlockDriverState *in_bs, uint64_t cluster_size);
bool qcow2_can_store_bitmap(BlockDriverState *bs, const char *name,
                            uint64_t granularity, Error **errp);
bool coroutine_fn qcow2_co_store_bitmaps(BlockDriverState *bs, Error **errp);
int coroutine_fn qcow2_co_bitmaps_in_use(BlockDriverState *bs);
/* co_inactivate, lock held: store what changed; errors reported. */
bool coroutine_fn qcow2_store_bitmaps_on_close(BlockDriverState *bs);

#endif /* BLOCK_QCOW2_BITMAP_H */
