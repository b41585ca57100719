/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 compress: the interface of compress.c ((de)compression on the compute pool).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_COMPRESS_H
#define BLOCK_QCOW2_COMPRESS_H

/*
 * Decompress @src (@src_size bytes) into exactly @dest_size bytes of
 * @dest on the compute pool.  Returns 0 or -EIO for corrupt data.
 */
int coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                     size_t dest_size, const void *src,
                                     size_t src_size);
/*
 * Compress @src_size bytes into at most @dest_size bytes on the compute
 * pool, as QEMU does (raw deflate with a 4 KiB window, or one zstd frame).
 * Returns the compressed size, -ENOMEM when it does not fit, or -EIO.
 */
ssize_t coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                       size_t dest_size, const void *src,
                                       size_t src_size);

#endif /* BLOCK_QCOW2_COMPRESS_H */
