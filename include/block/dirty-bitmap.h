/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty bitmaps: one bit per @granularity bytes of a node's disk, set by
 * every write, write-zeroes and discard that reaches the node while the
 * bitmap is enabled (block/io.c calls bdrv_set_dirty()).  A format that
 * keeps bitmaps in the image (qcow2) creates them at open, marked
 * persistent, and writes them back at close or on
 * bdrv_co_store_bitmaps().
 *
 * The bits are held in the image's serialized order (bit n is bit n % 8
 * of byte n / 8), in 4 KiB chunks allocated on the first set bit, so a
 * clean bitmap costs no memory whatever the disk's size.  Bits past the
 * disk's end are never set.
 *
 * All calls run in the node's AioContext (main loop thread); none
 * yields.
 */
#ifndef BLOCK_DIRTY_BITMAP_H
#define BLOCK_DIRTY_BITMAP_H

#include "util/osdep.h"
#include "block/block.h"

typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;

/*
 * A new, clean, enabled, non-persistent bitmap on @bs covering @size
 * bytes, appended to its list (@name NULL: a job's own, unnamed); NULL with @errp set if @bs has one named
 * @name ("Bitmap already exists: NAME") or @granularity is not a power
 * of two of at least 512.  Freed by bdrv_dirty_bitmap_release() or when
 * @bs closes.
 */
BdrvDirtyBitmap *bdrv_dirty_bitmap_create(BlockDriverState *bs,
                                          const char *name,
                                          uint64_t granularity, int64_t size,
                                          Error **errp);
void bdrv_dirty_bitmap_release(BlockDriverState *bs, BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_release_all(BlockDriverState *bs);

/*
 * block-dirty-bitmap-add as 7.2 checks it (a name, a granularity that is
 * a power of two >= 512, 0: the default, the cluster size but at least
 * 4 KiB, else 64 KiB); persistent ones go into the image when @bs is
 * written back (block/qapi.c).
 */
BdrvDirtyBitmap *bdrv_dirty_bitmap_add_checked(BlockDriverState *bs,
                                               const char *name,
                                               int64_t granularity,
                                               bool persistent, bool disabled,
                                               Error **errp);
/*
 * The bitmap @name of @bs, and usable (not busy, not inconsistent, on a
 * writable node) unless @any; else NULL + 7.2's text.
 */
BdrvDirtyBitmap *bdrv_dirty_bitmap_lookup(BlockDriverState *bs,
                                          const char *name, bool any,
                                          Error **errp);
BdrvDirtyBitmap *bdrv_dirty_bitmap_find(BlockDriverState *bs,
                                        const char *name);
/* In creation order: @bm NULL gives the first; NULL after the last. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *bm);
int bdrv_dirty_bitmap_count_all(BlockDriverState *bs);

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bm);
uint64_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bm);
int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bm);
bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_enabled(BdrvDirtyBitmap *bm, bool enabled);
bool bdrv_dirty_bitmap_persistent(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_persistent(BdrvDirtyBitmap *bm, bool persistent);
/*
 * In the image: this bitmap (not merely one of its name, removed and added
 * again since) is the one the image's directory entry describes.  Set by
 * the format driver when it loads or stores the bitmap.
 */
bool bdrv_dirty_bitmap_in_image(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_in_image(BdrvDirtyBitmap *bm);
/* Inconsistent: its stored bits are unusable; never tracked or stored. */
bool bdrv_dirty_bitmap_inconsistent(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bm);
/* False, with 7.2's message and hint, if @bm is inconsistent. */
bool bdrv_dirty_bitmap_check_usable(const BdrvDirtyBitmap *bm, Error **errp);

/* Set the bits covering bytes [@offset, @offset + @bytes), clipped. */
void bdrv_dirty_bitmap_set_range(BdrvDirtyBitmap *bm, int64_t offset,
                                 int64_t bytes);
/* Clear the bits covering bytes [@offset, @offset + @bytes), clipped. */
void bdrv_dirty_bitmap_reset_range(BdrvDirtyBitmap *bm, int64_t offset,
                                   int64_t bytes);
void bdrv_dirty_bitmap_clear(BdrvDirtyBitmap *bm);
/*
 * The first dirty (clean) byte offset in [@offset, @end): @offset itself
 * or the start of a granule; -1 if none.
 */
int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bm,
                                     int64_t offset, int64_t end);
int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bm,
                                    int64_t offset, int64_t end);
/*
 * The first run of dirty bytes in [@start, @end), at most @max_bytes
 * long: false if there is none.
 */
bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bm,
                                       int64_t start, int64_t end,
                                       int64_t max_bytes, int64_t *offset,
                                       int64_t *bytes);
/* In use by a job: the user may not change or remove it. */
bool bdrv_dirty_bitmap_busy(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bm, bool busy);
bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bm, int64_t offset);
/* Number of set bits. */
uint64_t bdrv_dirty_bitmap_count(const BdrvDirtyBitmap *bm);

/*
 * The serialized form: bdrv_dirty_bitmap_data_size() bytes.  Serialize
 * copies bytes [@pos, @pos + @len) out; deserialize overwrites them (bits
 * past the disk's end ignored); deserialize_ones sets all their bits.
 * Ranges must lie within the data.
 */
uint64_t bdrv_dirty_bitmap_data_size(const BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_serialize(const BdrvDirtyBitmap *bm, uint64_t pos,
                                 uint64_t len, uint8_t *buf);
bool bdrv_dirty_bitmap_data_is_zero(const BdrvDirtyBitmap *bm, uint64_t pos,
                                    uint64_t len);
void bdrv_dirty_bitmap_deserialize(BdrvDirtyBitmap *bm, uint64_t pos,
                                   uint64_t len, const uint8_t *buf);
void bdrv_dirty_bitmap_deserialize_ones(BdrvDirtyBitmap *bm, uint64_t pos,
                                        uint64_t len);

/* False, with 7.2's message, unless bitmaps of these sizes can merge. */
bool bdrv_dirty_bitmap_sizes_match(int64_t dst_size, int64_t src_size,
                                   Error **errp);
/*
 * OR @src into @dst (any granularities: a set source bit dirties every
 * destination bit it overlaps).  False as bdrv_dirty_bitmap_sizes_match()
 * if the sizes differ.
 */
bool bdrv_dirty_bitmap_merge(BdrvDirtyBitmap *dst, const BdrvDirtyBitmap *src,
                             Error **errp);
/* Follow a resize: bits past a smaller @size are dropped. */
void bdrv_dirty_bitmap_truncate(BdrvDirtyBitmap *bm, int64_t size);

/* block/io.c: a request changed bytes [@offset, +@bytes) of @bs. */
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes);

#endif
