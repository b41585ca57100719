/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 header: the interface of header.c (the header and its extensions: read, written, updated).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_HEADER_H
#define BLOCK_QCOW2_HEADER_H

/*
 * Read the header at open, in CPU order, checked (magic, version, cluster
 * size, header length, backing name offset, refcount width, encryption
 * method); sets the cluster size in the state.
 */
bool coroutine_fn qcow2_read_header(BlockDriverState *bs, QCowHeader *h,
                                    Error **errp);
/*
 * Walk the header extensions between @start and @end (bytes in the first
 * cluster) into the state; @feature_table receives a copy of the feature
 * name table (g_free() it).
 */
bool coroutine_fn qcow2_read_extensions(BlockDriverState *bs, uint64_t start,
                                        uint64_t end, uint8_t **feature_table,
                                        size_t *feature_table_len,
                                        Error **errp);
/* Incompatible features we do not know, named from the image's table. */
bool qcow2_check_incompatible_features(const QCowHeader *h,
                                       const uint8_t *feature_table,
                                       size_t feature_table_len,
                                       Error **errp);
/* The compression type and its feature bit agree; sets the state's. */
bool qcow2_check_compression_type(BDRVQcow2State *s, const QCowHeader *h,
                                  Error **errp);
/* What follows the fixed header when it is written whole. */
typedef struct Qcow2HeaderExts {
    const char *backing_file;       /* after the extensions, or NULL */
    const char *backing_fmt;        /* extension, or NULL */
    const char *data_file;          /* extension, or NULL */
    bool bitmaps;                   /* the bitmaps extension, with: */
    uint32_t nb_bitmaps;
    uint64_t bitmap_directory_size, bitmap_directory_offset;
    const uint8_t *unknown;         /* extensions kept as they were */
    size_t unknown_len;
} Qcow2HeaderExts;
/*
 * Lay out the header cluster (@size bytes at @buf) from @h (CPU order;
 * header length and backing name offset are the encoder's) and @e, as
 * 7.2 writes it.  False if it does not fit (errp: which part).
 */
bool qcow2_header_encode(uint8_t *buf, size_t size, const QCowHeader *h,
                         const Qcow2HeaderExts *e, Error **errp);
/* Rewrite the header cluster from the state (amend, bitmaps, refcounts). */
int coroutine_fn qcow2_rewrite_header(BlockDriverState *bs);
/* Header fields after a change: one in-place write and a flush. */
int coroutine_fn qcow2_update_header_field(BlockDriverState *bs,
                                           size_t offset, const void *buf,
                                           size_t len);
/* The dirty bit, set before the first unflushed metadata change. */
int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs);
/* Caches written, then the dirty bit cleared. */
int coroutine_fn qcow2_mark_clean(BlockDriverState *bs);
/* Clear the corrupt bit (after a repair that left no corruption). */
int coroutine_fn qcow2_mark_consistent(BlockDriverState *bs);
/* Set the corrupt bit (v3; v2 has none: only the state records it). */
int coroutine_fn qcow2_mark_corrupt(BlockDriverState *bs);

#endif /* BLOCK_QCOW2_HEADER_H */
