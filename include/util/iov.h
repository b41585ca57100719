/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * I/O vectors: plain struct iovec helpers and QEMUIOVector, the growable
 * scatter/gather list every request on the data path carries.  A request
 * that covers part of a caller's buffer uses a slice (qemu_iovec_init_slice)
 * so that data is never copied just to change its framing.
 */
#ifndef UTIL_IOV_H
#define UTIL_IOV_H

#include "util/osdep.h"

#include <sys/uio.h>

/* Copy between a flat buffer and an iovec; return the bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                    const void *buf, size_t bytes);
size_t iov_to_buf(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                  void *buf, size_t bytes);
size_t iov_memset(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                  int fillc, size_t bytes);
size_t iov_size(const struct iovec *iov, unsigned iov_cnt);

typedef struct QEMUIOVector {
    struct iovec *iov;
    int niov;
    /* capacity of @iov; -1 for a vector made by qemu_iovec_init_buf() */
    int nalloc;
    size_t size;
    /* storage for the single-buffer case, so it needs no allocation */
    struct iovec local_iov;
} QEMUIOVector;

/* An empty vector with room for @alloc_hint entries. */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);
/* A one-entry vector over @buf, without allocating: no destroy needed. */
void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len);
/* Describe @bytes of @src starting at @offset (a new vector, destroy it). */
void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *src,
                           size_t offset, size_t bytes);
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);
/* Append @bytes of @src from @soffset to @dst (entries, not data). */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t bytes);
void qemu_iovec_reset(QEMUIOVector *qiov);
void qemu_iovec_destroy(QEMUIOVector *qiov);

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                         size_t bytes);
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset, const void *buf,
                           size_t bytes);
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes);
/* True when @bytes from @offset are all zero. */
bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes);
/*
 * The address of @bytes from @offset when one element holds all of them
 * (so that a producer can write straight into the caller's memory); NULL
 * when they span elements.
 */
void *qemu_iovec_contiguous(QEMUIOVector *qiov, size_t offset, size_t bytes);
/* True when every base and length is a multiple of @align. */
bool qemu_iovec_is_aligned(QEMUIOVector *qiov, size_t align);

#endif /* UTIL_IOV_H */
