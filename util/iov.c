/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scatter/gather helpers.  All sizes are bytes.  Slicing copies iovec
 * entries (pointers and lengths), never data.
 */
#include "util/osdep.h"
#include "util/iov.h"
#include "util/cutils.h"

size_t iov_from_buf(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                    const void *buf, size_t bytes)
{
    size_t done = 0;
    unsigned i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);
            memcpy((char *)iov[i].iov_base + offset, (const char *)buf + done,
                   len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                  void *buf, size_t bytes)
{
    size_t done = 0;
    unsigned i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);
            memcpy((char *)buf + done, (char *)iov[i].iov_base + offset, len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_memset(const struct iovec *iov, unsigned iov_cnt, size_t offset,
                  int fillc, size_t bytes)
{
    size_t done = 0;
    unsigned i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);
            memset((char *)iov[i].iov_base + offset, fillc, len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_size(const struct iovec *iov, unsigned iov_cnt)
{
    size_t len = 0;
    unsigned i;

    for (i = 0; i < iov_cnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    memset(qiov, 0, sizeof(*qiov));
    qiov->nalloc = MAX(alloc_hint, 1);
    qiov->iov = g_new(struct iovec, qiov->nalloc);
}

void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len)
{
    memset(qiov, 0, sizeof(*qiov));
    qiov->local_iov.iov_base = buf;
    qiov->local_iov.iov_len = len;
    qiov->iov = &qiov->local_iov;
    qiov->niov = 1;
    qiov->nalloc = -1;
    qiov->size = len;
}

void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    assert(qiov->nalloc != -1);
    if (len == 0) {
        return;
    }
    if (qiov->niov == qiov->nalloc) {
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
    }
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->niov++;
    qiov->size += len;
}

void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t bytes)
{
    int i;

    assert(soffset + bytes <= src->size);
    for (i = 0; i < src->niov && bytes > 0; i++) {
        size_t len = src->iov[i].iov_len;
        if (soffset >= len) {
            soffset -= len;
            continue;
        }
        len = MIN(len - soffset, bytes);
        qemu_iovec_add(dst, (char *)src->iov[i].iov_base + soffset, len);
        bytes -= len;
        soffset = 0;
    }
}

void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *src,
                           size_t offset, size_t bytes)
{
    qemu_iovec_init(qiov, src->niov);
    qemu_iovec_concat(qiov, src, offset, bytes);
}

void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        g_free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                         size_t bytes)
{
    return iov_to_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset, const void *buf,
                           size_t bytes)
{
    return iov_from_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes)
{
    return iov_memset(qiov->iov, qiov->niov, offset, fillc, bytes);
}

bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    int i;

    for (i = 0; i < qiov->niov && bytes > 0; i++) {
        size_t len = qiov->iov[i].iov_len;
        if (offset >= len) {
            offset -= len;
            continue;
        }
        len = MIN(len - offset, bytes);
        if (!buffer_is_zero((char *)qiov->iov[i].iov_base + offset, len)) {
            return false;
        }
        bytes -= len;
        offset = 0;
    }
    return true;
}

void *qemu_iovec_contiguous(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        size_t len = qiov->iov[i].iov_len;
        if (offset < len) {
            return len - offset >= bytes ?
                   (char *)qiov->iov[i].iov_base + offset : NULL;
        }
        offset -= len;
    }
    return NULL;
}

bool qemu_iovec_is_aligned(QEMUIOVector *qiov, size_t align)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        if (!QEMU_PTR_IS_ALIGNED(qiov->iov[i].iov_base, align) ||
            !QEMU_IS_ALIGNED(qiov->iov[i].iov_len, align)) {
            return false;
        }
    }
    return true;
}
