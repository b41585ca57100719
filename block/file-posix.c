/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "file" protocol: regular files and block devices.  Data moves with
 * preadv/pwritev on the thread pool (aio=threads), Linux AIO (aio=native,
 * needs O_DIRECT) or io_uring.  Zeroes and discard use fallocate (or
 * BLKZEROOUT/BLKDISCARD on block devices), block status SEEK_DATA and
 * SEEK_HOLE.  With O_DIRECT the request and buffer alignment are probed,
 * and unaligned buffers are bounced here.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/thread-pool.h"
#include "util/linux-aio.h"
#include "util/io-uring.h"

#include <fcntl.h>
#include <linux/cdrom.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define MAX_BLOCKSIZE 4096

typedef struct BDRVRawState {
    int fd;
    bool is_blockdev;
    bool is_device;             /* host_device: a block or character device */
    bool use_linux_aio;
    bool use_io_uring;
    bool auto_io_uring;         /* no aio= given: small requests only */
    bool needs_alignment;       /* opened with O_DIRECT */
    bool has_punch_hole;        /* cleared after EOPNOTSUPP */
    bool has_zero_range;
    bool serial_writes;         /* buffered regular file: one write at a time */
    CoMutex write_lock;
    bool use_lock;              /* locking=on, or auto with OFD locks */
    uint64_t perm;              /* BLK_PERM_* our users hold ... */
    uint64_t shared_perm;       /* ... and share: what the lock bytes say */
} BDRVRawState;

/* A blocking operation handed to the thread pool. */
typedef struct RawAioReq {
    int fd;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    bool is_write;
    int op;                     /* for RAW_OP_* below */
    int mode;                   /* fallocate mode / ioctl */
    int src_fd;                 /* RAW_OP_COPY_RANGE: read from here */
    int64_t src_offset;
    BDRVRawState *s;
} RawAioReq;

enum {
    RAW_OP_RW,
    RAW_OP_FLUSH,
    RAW_OP_FALLOCATE,
    RAW_OP_ZEROES,
    RAW_OP_DISCARD,
    RAW_OP_COPY_RANGE,
};

static int do_rw(RawAioReq *r)
{
    struct iovec *iov = r->qiov->iov;
    int niov = r->qiov->niov;
    size_t done = 0;
    QEMUIOVector rest;

    while (done < (size_t)r->bytes) {
        ssize_t n;

        if (done == 0) {
            n = r->is_write ? pwritev(r->fd, iov, niov, r->offset) :
                              preadv(r->fd, iov, niov, r->offset);
        } else {
            qemu_iovec_init_slice(&rest, r->qiov, done, r->bytes - done);
            n = r->is_write ?
                pwritev(r->fd, rest.iov, rest.niov, r->offset + done) :
                preadv(r->fd, rest.iov, rest.niov, r->offset + done);
            qemu_iovec_destroy(&rest);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            if (r->is_write) {
                return -ENOSPC;
            }
            /* end of file: the rest reads as zeroes */
            qemu_iovec_memset(r->qiov, done, 0, r->bytes - done);
            return 0;
        }
        done += n;
    }
    return 0;
}

/*
 * copy_file_range() from src_fd to fd.  -ENOTSUP when the kernel or the
 * file systems refuse (or the source ends early): the caller copies by
 * reading and writing instead.
 */
static int do_copy_range(RawAioReq *r)
{
    loff_t in = r->src_offset, out = r->offset;
    int64_t left = r->bytes;

    while (left > 0) {
        ssize_t n = copy_file_range(r->src_fd, &in, r->fd, &out, left, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
                   errno == EOPNOTSUPP || errno == EBADF ? -ENOTSUP : -errno;
        }
        if (n == 0) {
            return -ENOTSUP;
        }
        left -= n;
    }
    return 0;
}

static int do_fallocate(int fd, int mode, int64_t offset, int64_t bytes)
{
    while (fallocate(fd, mode, offset, bytes) < 0) {
        if (errno != EINTR) {
            return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
        }
    }
    return 0;
}

static int do_zeroes(RawAioReq *r)
{
    BDRVRawState *s = r->s;
    uint64_t range[2] = { r->offset, r->bytes };
    struct stat st;
    int ret = -ENOTSUP;

    if (s->is_blockdev) {
        /*
         * As QEMU: with MAY_UNMAP, a punched hole zeroes and deallocates
         * where the device can do both (thin LVs, LUNs with UNMAP);
         * BLKZEROOUT writes zeroes anywhere else.
         */
        if ((r->mode & BDRV_REQ_MAY_UNMAP) && s->has_punch_hole) {
            ret = do_fallocate(r->fd, FALLOC_FL_PUNCH_HOLE |
                               FALLOC_FL_KEEP_SIZE, r->offset, r->bytes);
            if (ret == 0) {
                return 0;
            }
            if (ret == -ENOTSUP) {
                s->has_punch_hole = false;
            }
        }
        return ioctl(r->fd, BLKZEROOUT, range) == 0 ? 0 : -ENOTSUP;
    }
    if ((r->mode & BDRV_REQ_MAY_UNMAP) && s->has_punch_hole) {
        ret = do_fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                           r->offset, r->bytes);
        if (ret == -ENOTSUP) {
            s->has_punch_hole = false;
        } else if (ret == 0) {
            /* a hole past the end does not extend the file by itself */
            if (fstat(r->fd, &st) == 0 && st.st_size < r->offset + r->bytes &&
                ftruncate(r->fd, r->offset + r->bytes) < 0) {
                return -errno;
            }
            return 0;
        }
    }
    if (s->has_zero_range) {
        ret = do_fallocate(r->fd, FALLOC_FL_ZERO_RANGE, r->offset, r->bytes);
        if (ret == -ENOTSUP) {
            s->has_zero_range = false;
        }
    }
    return ret;
}

static int raw_aio_worker(void *opaque)
{
    RawAioReq *r = opaque;
    uint64_t range[2];

    switch (r->op) {
    case RAW_OP_RW:
        return do_rw(r);
    case RAW_OP_FLUSH:
        return fdatasync(r->fd) == 0 ? 0 : -errno;
    case RAW_OP_FALLOCATE:
        return do_fallocate(r->fd, r->mode, r->offset, r->bytes);
    case RAW_OP_ZEROES:
        return do_zeroes(r);
    case RAW_OP_DISCARD:
        if (r->s->is_blockdev) {
            range[0] = r->offset;
            range[1] = r->bytes;
            return ioctl(r->fd, BLKDISCARD, range) == 0 ? 0 : -ENOTSUP;
        }
        return do_fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            r->offset, r->bytes);
    case RAW_OP_COPY_RANGE:
        return do_copy_range(r);
    default:
        g_assert_not_reached();
    }
}

static int coroutine_fn raw_thread_pool_submit(BlockDriverState *bs,
                                               RawAioReq *r)
{
    r->s = bs->opaque;
    r->fd = r->s->fd;
    return thread_pool_co_submit(aio_get_thread_pool(bs->ctx), raw_aio_worker,
                                 r);
}

/*
 * With no aio= given, requests from this size on go to the thread pool
 * and smaller ones to io_uring.  io_uring serves a page-cache hit inside
 * the submitting call, on the event loop's thread: the cheapest way for
 * the 4-64 KiB requests of fragmented or compressed images (frag -> raw
 * 0.54 s all on threads, 0.37 s so), but then every large copy runs on
 * that one thread; on the pool, large copies spread over the cores
 * (zeros -> raw 0.31 s all on io_uring, 0.24 s so).  1 GiB, tmpfs.
 */
#define AUTO_URING_MAX (128 * 1024)

static int coroutine_fn raw_co_prw(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   bool is_write)
{
    BDRVRawState *s = bs->opaque;
    QEMUIOVector bounce_qiov;
    void *bounce = NULL;
    RawAioReq r = { 0 };
    int ret;

    /* O_DIRECT wants aligned buffers; IOV_MAX caps the entry count. */
    if ((s->needs_alignment &&
         !qemu_iovec_is_aligned(qiov, bs->bl.min_mem_alignment)) ||
        qiov->niov > IOV_MAX) {
        bounce = blk_buf_alloc(bs, bytes);
        if (is_write) {
            qemu_iovec_to_buf(qiov, 0, bounce, bytes);
        }
        qemu_iovec_init_buf(&bounce_qiov, bounce, bytes);
        ret = raw_co_prw(bs, offset, bytes, &bounce_qiov, is_write);
        if (ret == 0 && !is_write) {
            qemu_iovec_from_buf(qiov, 0, bounce, bytes);
        }
        blk_buf_free(bounce);
        return ret;
    }
    if (s->use_linux_aio) {
        return laio_co_submit(aio_get_linux_aio(bs->ctx, NULL), s->fd, offset,
                              qiov, is_write ? QEMU_AIO_WRITE : QEMU_AIO_READ);
    }
    if (s->use_io_uring && !(s->auto_io_uring && bytes >= AUTO_URING_MAX)) {
        return luring_co_submit(aio_get_linux_io_uring(bs->ctx, NULL), s->fd,
                                offset, qiov,
                                is_write ? QEMU_AIO_WRITE : QEMU_AIO_READ);
    }
    r.op = RAW_OP_RW;
    r.offset = offset;
    r.bytes = bytes;
    r.qiov = qiov;
    r.is_write = is_write;
    if (is_write && s->serial_writes) {
        /*
         * Linux holds a file's inode lock for the whole of a buffered
         * write: a second pool thread writing the same file spins on it
         * with a core that the reads (or, with network storage, the
         * server and the link) could use.  Its write waits here instead.
         */
        qemu_co_mutex_lock(&s->write_lock);
        ret = raw_thread_pool_submit(bs, &r);
        qemu_co_mutex_unlock(&s->write_lock);
        return ret;
    }
    return raw_thread_pool_submit(bs, &r);
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    return raw_co_prw(bs, offset, bytes, qiov, false);
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    return raw_co_prw(bs, offset, bytes, qiov, true);
}

static int coroutine_fn raw_co_flush_to_disk(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    RawAioReq r = { .op = RAW_OP_FLUSH };

    if (s->use_io_uring) {
        return luring_co_flush(aio_get_linux_io_uring(bs->ctx, NULL), s->fd);
    }
    return raw_thread_pool_submit(bs, &r);
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    RawAioReq r = {
        .op = RAW_OP_ZEROES,
        .offset = offset,
        .bytes = bytes,
        .mode = flags,
    };

    return raw_thread_pool_submit(bs, &r);
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    RawAioReq r = {
        .op = RAW_OP_DISCARD,
        .offset = offset,
        .bytes = bytes,
    };

    return raw_thread_pool_submit(bs, &r);
}

static int coroutine_fn raw_co_copy_range_to(BlockDriverState *bs,
                                            int64_t offset,
                                            BlockDriverState *src,
                                            int64_t src_offset, int64_t bytes)
{
    BDRVRawState *ss = src->opaque;
    RawAioReq r = {
        .op = RAW_OP_COPY_RANGE,
        .offset = offset,
        .bytes = bytes,
        .src_fd = ss->fd,
        .src_offset = src_offset,
    };

    if (ss->is_blockdev || ((BDRVRawState *)bs->opaque)->is_blockdev) {
        return -ENOTSUP;
    }
    return raw_thread_pool_submit(bs, &r);
}

/*
 * SEEK_DATA/SEEK_HOLE.  lseek is cheap and does not block on local file
 * systems, so it runs in the loop thread, as QEMU does.
 */
static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    off_t data, hole;
    int ret;

    *map = offset;
    *file = bs;
    *pnum = bytes;
    if (!want_zero) {
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    data = lseek(s->fd, offset, SEEK_DATA);
    if (data < 0) {
        /* ENXIO: @offset is in a hole that runs to the end of the file */
        return errno == ENXIO ? BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID :
                                BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    if (data > offset) {
        *pnum = MIN(bytes, data - offset);
        ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    } else {
        hole = lseek(s->fd, offset, SEEK_HOLE);
        if (hole > offset) {
            /* the whole extent, past @bytes: io.c caches it (bsc) */
            *pnum = hole - offset;
        }
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    /* keep answers in whole blocks of the request alignment */
    if (*pnum < bytes && *pnum >= bs->bl.request_alignment) {
        *pnum = QEMU_ALIGN_DOWN(*pnum, bs->bl.request_alignment);
    } else if (*pnum < bs->bl.request_alignment) {
        *pnum = MIN(bytes, bs->bl.request_alignment);
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    return ret;
}

static int64_t raw_fd_length(int fd, bool is_blockdev)
{
    struct stat st;
    uint64_t size;

    if (is_blockdev) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
            return -errno;
        }
        return (int64_t)size;
    }
    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    return st.st_size;
}

static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    return raw_fd_length(s->fd, s->is_blockdev);
}

static int64_t coroutine_fn raw_co_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* Write zeroes to the start of a new file so alignment probing works. */
static void allocate_first_block(int fd, int64_t max_size)
{
    size_t write_size = max_size < MAX_BLOCKSIZE ? BDRV_SECTOR_SIZE :
                                                   MAX_BLOCKSIZE;
    void *buf = qemu_memalign(MAX_BLOCKSIZE, write_size);

    memset(buf, 0, write_size);
    while (pwrite(fd, buf, write_size, 0) < 0 && errno == EINTR) {
        /* retry; failures are harmless here */
    }
    qemu_vfree(buf);
}

/*
 * A preallocation that failed (ENOSPC) leaves the file as it was, not
 * grown with holes where the space was missing; returns @ret.
 */
static int raw_restore_length(int fd, int64_t length, int ret)
{
    if (ftruncate(fd, length) < 0) {
        bdrv_error_report("Failed to restore old file length: %s",
                          strerror(errno));
    }
    return ret;
}

/* Resize a regular file with preallocation; blocking, any thread. */
static int raw_regular_truncate(int fd, int64_t offset, PreallocMode prealloc,
                                Error **errp)
{
    int64_t current = raw_fd_length(fd, false);
    int ret;

    if (current < 0) {
        error_setg_errno(errp, (int)-current, "Could not stat file");
        return (int)current;
    }
    if (prealloc != PREALLOC_MODE_OFF && offset < current) {
        error_setg(errp, "Cannot use preallocation for shrinking files");
        return -ENOTSUP;
    }
    switch (prealloc) {
    case PREALLOC_MODE_OFF:
        if (ftruncate(fd, offset) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not resize file");
            return ret;
        }
        if (current == 0 && offset > 0) {
            allocate_first_block(fd, offset);
        }
        return 0;
    case PREALLOC_MODE_FALLOC:
        if (offset > current) {
            ret = -posix_fallocate(fd, current, offset - current);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not preallocate new data");
                return raw_restore_length(fd, current, ret);
            }
        }
        return 0;
    case PREALLOC_MODE_FULL: {
        int64_t chunk = MiB, pos = current;
        void *buf;

        /* the final size first: fewer, larger allocations (as 7.2) */
        if (ftruncate(fd, offset) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not resize file");
            return raw_restore_length(fd, current, ret);
        }
        buf = g_malloc0(chunk);
        ret = 0;
        while (pos < offset) {
            ssize_t n = pwrite(fd, buf, MIN(chunk, offset - pos), pos);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                ret = -errno;
                error_setg_errno(errp, -ret, "Could not write zeros for "
                                 "preallocation");
                break;
            }
            pos += n;
        }
        g_free(buf);
        if (ret == 0 && fsync(fd) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not flush file to disk");
        }
        return ret < 0 ? raw_restore_length(fd, current, ret) : 0;
    }
    default:
        error_setg(errp, "Unsupported preallocation mode: %s",
                   PreallocMode_str[prealloc]);
        return -ENOTSUP;
    }
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;

    if (!s->is_device) {
        return raw_regular_truncate(s->fd, offset, prealloc, errp);
    }
    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Preallocation mode '%s' unsupported for this "
                   "non-regular file", PreallocMode_str[prealloc]);
        return -ENOTSUP;
    }
    /* a device keeps its size: asking for less is fine unless exact */
    len = raw_fd_length(s->fd, s->is_blockdev);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Failed to get the device's size");
        return (int)len;
    }
    if (exact && offset != len) {
        error_setg(errp, "Cannot resize device files");
        return -ENOTSUP;
    }
    if (offset > len) {
        error_setg(errp, "Cannot grow device files");
        return -EINVAL;
    }
    return 0;
}

/* ---- image locking ----
 *
 * QEMU 7.2's protocol, so that our tools, 7.2's and a running QEMU keep
 * out of each other's way: a shared OFD lock on byte 100 + i says "I hold
 * permission bit i", on byte 200 + i "I do not share it".  Before taking
 * a permission we test that no one else locked its "not shared" byte, and
 * before refusing to share one, that no one locked its "held" byte.  OFD
 * locks belong to the open file description: two opens of one file in
 * this process see each other as strangers, as they should.
 */
#define RAW_LOCK_PERM_BASE      100
#define RAW_LOCK_SHARED_BASE    200

static int raw_lock_op(int fd, int cmd, short type, off_t byte)
{
    struct flock fl = {
        .l_type = type,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };

    while (fcntl(fd, cmd, &fl) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return cmd == F_OFD_GETLK && fl.l_type != F_UNLCK ? -EAGAIN : 0;
}

/* Lock or unlock byte @byte of @fd (shared lock). */
static int raw_lock_byte(int fd, off_t byte, bool lock)
{
    return raw_lock_op(fd, F_OFD_SETLK, lock ? F_RDLCK : F_UNLCK, byte);
}

/* Whether OFD locks work here (probed once, on /dev/null, as 7.2). */
static bool raw_has_ofd_lock(void)
{
    static int has = -1;

    if (has < 0) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        has = fd >= 0 &&
              raw_lock_op(fd, F_OFD_GETLK, F_WRLCK, 0) == 0;
        if (fd >= 0) {
            close(fd);
        }
    }
    return has;
}

/* 7.2 leaves out "Resource temporarily unavailable": the usual case. */
static void raw_lock_error(Error **errp, int err, const char *what,
                           uint64_t bit, int byte)
{
    g_autofree char *name = bdrv_perm_names(bit);
    g_autofree char *msg = byte >= 0 ?
        g_strdup_printf("Failed to lock byte %d", byte) :
        g_strdup_printf("Failed to get %s\"%s\" lock", what, name);

    if (err == -EAGAIN || err == -EACCES) {
        error_setg(errp, "%s", msg);
    } else {
        error_setg_errno(errp, -err, "%s", msg);
    }
}

/*
 * Make the lock bytes of @fd say @perm held and @unshared not shared.
 * With @unlock, bytes outside them are released too (that cannot
 * conflict); without, only added.  @held / @held_unshared: what is
 * locked now, updated.
 */
static int raw_apply_lock_bytes(int fd, uint64_t *held,
                                uint64_t *held_unshared, uint64_t perm,
                                uint64_t unshared, bool unlock, Error **errp)
{
    int pass, i, ret;

    for (pass = 0; pass < 2; pass++) {
        uint64_t *have = pass ? held_unshared : held;
        uint64_t want = (pass ? unshared : perm) & BLK_PERM_ALL;
        int base = pass ? RAW_LOCK_SHARED_BASE : RAW_LOCK_PERM_BASE;

        for (i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
            uint64_t bit = 1ULL << i;

            if ((want & bit) && !(*have & bit)) {
                ret = raw_lock_byte(fd, base + i, true);
                if (ret < 0) {
                    raw_lock_error(errp, ret, NULL, bit, base + i);
                    return ret;
                }
                *have |= bit;
            } else if (unlock && !(want & bit) && (*have & bit)) {
                ret = raw_lock_byte(fd, base + i, false);
                if (ret < 0) {
                    error_setg_errno(errp, -ret, "Failed to unlock byte %d",
                                     base + i);
                    return ret;
                }
                *have &= ~bit;
            }
        }
    }
    return 0;
}

/*
 * Fail if someone else does not share a permission in @perm, or holds
 * one we do not @shared.  The first conflict in bit order is named.
 */
static int raw_check_lock_bytes(int fd, uint64_t perm, uint64_t shared,
                                Error **errp)
{
    int i, ret;

    for (i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        if (perm & (1ULL << i)) {
            ret = raw_lock_op(fd, F_OFD_GETLK, F_WRLCK,
                              RAW_LOCK_SHARED_BASE + i);
            if (ret < 0) {
                raw_lock_error(errp, ret, "", 1ULL << i, -1);
                return ret;
            }
        }
    }
    for (i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        if (!(shared & (1ULL << i))) {
            ret = raw_lock_op(fd, F_OFD_GETLK, F_WRLCK,
                              RAW_LOCK_PERM_BASE + i);
            if (ret < 0) {
                raw_lock_error(errp, ret, "shared ", 1ULL << i, -1);
                return ret;
            }
        }
    }
    return 0;
}

/*
 * Take @perm / @shared on @fd for a user of @filename, or name the
 * conflict (and ask 7.2's question).  Locks taken on the way are left to
 * the caller to release.
 */
static int raw_take_locks(int fd, uint64_t *held, uint64_t *held_unshared,
                          uint64_t perm, uint64_t shared,
                          const char *filename, Error **errp)
{
    int ret = raw_apply_lock_bytes(fd, held, held_unshared, *held | perm,
                                   *held_unshared | ~shared, false, errp);

    if (ret == 0) {
        ret = raw_check_lock_bytes(fd, perm, shared, errp);
        if (ret < 0) {
            error_append_hint(errp, "Is another process using the image "
                              "[%s]?\n", filename);
        }
    }
    return ret;
}

static bool raw_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                         Error **errp)
{
    BDRVRawState *s = bs->opaque;
    uint64_t held = s->perm, held_unshared = ~s->shared_perm & BLK_PERM_ALL;

    if (!s->use_lock || s->fd < 0) {
        s->perm = perm;
        s->shared_perm = shared;
        return true;
    }
    /* taking more or sharing less is tested; giving up never conflicts */
    if ((perm & ~s->perm) || (s->shared_perm & ~shared)) {
        if (raw_take_locks(s->fd, &held, &held_unshared, perm, shared,
                           bs->filename, errp) < 0) {
            /* back to what we held; releasing cannot conflict */
            raw_apply_lock_bytes(s->fd, &held, &held_unshared, s->perm,
                                 ~s->shared_perm, true, NULL);
            return false;
        }
    }
    raw_apply_lock_bytes(s->fd, &held, &held_unshared, perm, ~shared, true,
                         NULL);
    s->perm = perm;
    s->shared_perm = shared;
    return true;
}

/*
 * Read-only to read-write (bdrv_co_make_writable()): a read-write
 * descriptor for the same inode (a file renamed over the name meanwhile
 * is refused), holding the lock bytes the old one held before the old
 * one goes (shared locks of one process do not conflict).  The caller
 * has drained the node.
 */
static bool coroutine_fn raw_co_reopen_rw(BlockDriverState *bs, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    int flags = O_RDWR | O_CLOEXEC, fd;
    uint64_t held = 0, held_unshared = 0;
    struct stat st;

    if (s->needs_alignment) {
        flags |= O_DIRECT;
    }
    if (bs->drv == &bdrv_host_cdrom) {
        flags |= O_NONBLOCK;
    }
    fd = open(bs->filename, flags);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not reopen file");
        return false;
    }
    if (fstat(fd, &st) < 0 || st.st_dev != bs->file_dev ||
        st.st_ino != bs->file_ino) {
        error_setg(errp, "Could not reopen '%s': it is another file now",
                   bs->filename);
        close(fd);
        return false;
    }
    if (s->use_lock &&
        raw_apply_lock_bytes(fd, &held, &held_unshared, s->perm,
                             ~s->shared_perm, false, errp) < 0) {
        close(fd);
        return false;
    }
    close(s->fd);
    s->fd = fd;
    return true;
}

/* Probe the smallest request and buffer alignment O_DIRECT accepts. */
static void raw_probe_alignment(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    char *buf = qemu_memalign(MAX_BLOCKSIZE, 2 * MAX_BLOCKSIZE);
    size_t align;
    unsigned int sector_size;

    bs->bl.request_alignment = 0;
    if (s->is_blockdev && ioctl(s->fd, BLKSSZGET, &sector_size) == 0) {
        bs->bl.request_alignment = sector_size;
    }
    for (align = 512; !bs->bl.request_alignment && align <= MAX_BLOCKSIZE;
         align <<= 1) {
        if (pread(s->fd, buf, align, 0) >= 0) {
            bs->bl.request_alignment = align;
        }
    }
    for (align = 512; !bs->bl.min_mem_alignment && align <= MAX_BLOCKSIZE;
         align <<= 1) {
        if (pread(s->fd, buf + align, MAX_BLOCKSIZE, 0) >= 0) {
            bs->bl.min_mem_alignment = align;
        }
    }
    if (!bs->bl.request_alignment) {
        bs->bl.request_alignment = MAX_BLOCKSIZE;
    }
    if (!bs->bl.min_mem_alignment) {
        bs->bl.min_mem_alignment = MAX_BLOCKSIZE;
    }
    qemu_vfree(buf);
}

static void raw_refresh_limits(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    size_t page = sysconf(_SC_PAGESIZE);

    if (s->needs_alignment) {
        raw_probe_alignment(bs);
    } else {
        bs->bl.request_alignment = 1;
        bs->bl.min_mem_alignment = 1;
    }
    bs->bl.opt_mem_alignment = MAX(bs->bl.min_mem_alignment, page);
}

/*
 * @device: the host_device and host_cdrom drivers (block or character
 * devices only).
 */
static bool coroutine_fn raw_open_common(BlockDriverState *bs,
                                         QDict *options, int flags,
                                         bool device, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    g_autofree char *filename = bdrv_opt_take_str(options, "filename");
    g_autofree char *aio = bdrv_opt_take_str(options, "aio");
    g_autofree char *locking = bdrv_opt_take_str(options, "locking");
    int aio_flags = flags;
    int open_flags = O_CLOEXEC;
    struct stat st;

    s->fd = -1;
    g_free(bdrv_opt_take_str(options, "aio-max-batch"));
    g_free(bdrv_opt_take_str(options, "drop-cache"));
    g_free(bdrv_opt_take_str(options, "x-check-cache-dropped"));
    if (!filename) {
        error_setg(errp, "Parameter 'filename' is required");
        return false;
    }
    if (locking && strcmp(locking, "on") && strcmp(locking, "off") &&
        strcmp(locking, "auto")) {
        /* 7.2 parses it with qapi_enum_parse, hence the wording */
        error_setg(errp, "invalid parameter value: %s", locking);
        return false;
    }
    /* 7.2: "on" without OFD locks falls back to POSIX locks; we refuse */
    s->use_lock = locking && !strcmp(locking, "off") ? false :
                  raw_has_ofd_lock();
    if (locking && !strcmp(locking, "on") && !s->use_lock) {
        error_setg(errp, "File lock requested but OFD locking syscall is "
                   "unavailable");
        return false;
    }
    s->perm = 0;
    s->shared_perm = BLK_PERM_ALL;
    if (aio && !bdrv_parse_aio(aio, &aio_flags)) {
        error_setg(errp, "Parameter 'aio' does not accept value '%s'", aio);
        return false;
    }
    s->use_linux_aio = aio_flags & BDRV_O_NATIVE_AIO;
    s->use_io_uring = aio_flags & BDRV_O_IO_URING;
    if (s->use_linux_aio && !(flags & BDRV_O_NOCACHE)) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        return false;
    }
    if (s->use_linux_aio && !aio_get_linux_aio(bs->ctx, errp)) {
        return false;
    }
    if (s->use_io_uring && !aio_get_linux_io_uring(bs->ctx, errp)) {
        return false;
    }

    open_flags |= (flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY;
    if (bs->drv == &bdrv_host_cdrom) {
        /* as 7.2: a drive without a disc in it still opens */
        open_flags |= O_NONBLOCK;
    }
    if (flags & BDRV_O_NOCACHE) {
        open_flags |= O_DIRECT;
        s->needs_alignment = true;
    }
    s->fd = open(filename, open_flags);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", filename);
        return false;
    }
    if (fstat(s->fd, &st) < 0) {
        error_setg_errno(errp, errno, "Could not stat file");
        return false;
    }
    if (!device && !S_ISREG(st.st_mode)) {
        error_setg(errp, "'file' driver requires '%s' to be a regular file",
                   filename);
        return false;
    }
    if (device && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
        error_setg(errp, "'%s' driver requires '%s' to be either "
                   "a character or block device", bs->drv->format_name,
                   filename);
        return false;
    }
    s->is_blockdev = S_ISBLK(st.st_mode);
    s->is_device = device;
    bs->has_file_id = true;
    bs->file_dev = st.st_dev;
    bs->file_ino = st.st_ino;
    if (!(aio_flags & (BDRV_O_NATIVE_AIO | BDRV_O_IO_URING |
                       BDRV_O_AIO_THREADS)) &&
        (S_ISREG(st.st_mode) || s->is_blockdev)) {
        /*
         * No aio= given: io_uring where the kernel has it, for requests
         * below AUTO_URING_MAX.  aio=threads keeps the thread pool for
         * all (7.2's default), aio=io_uring takes io_uring for all.
         */
        s->use_io_uring = aio_get_linux_io_uring(bs->ctx, NULL) != NULL;
        s->auto_io_uring = s->use_io_uring;
    }
    s->has_punch_hole = true;
    s->has_zero_range = true;
    s->serial_writes = S_ISREG(st.st_mode) && !s->needs_alignment;
    qemu_co_mutex_init(&s->write_lock);
    bs->has_variable_length = s->is_blockdev;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP;
    return true;
}

static bool coroutine_fn raw_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    return raw_open_common(bs, options, flags, false, errp);
}

static bool coroutine_fn hdev_co_open(BlockDriverState *bs, QDict *options,
                                      int flags, Error **errp)
{
    return raw_open_common(bs, options, flags, true, errp);
}

static void raw_close(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

static bool raw_has_zero_init(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    return !s->is_device;
}

static bool coroutine_fn raw_co_create(const char *filename, QDict *opts,
                                       Error **errp)
{
    uint64_t size;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    const char *p = create_opt_get(opts, "preallocation");
    bool nocow;
    int fd, ret;

    if (!create_opt_get_size(opts, "size", 0, &size, errp) ||
        !create_opt_get_bool(opts, "nocow", false, &nocow, errp)) {
        return false;
    }
    size = QEMU_ALIGN_UP(size, BDRV_SECTOR_SIZE);
    if (p && !prealloc_mode_parse(p, &prealloc, NULL)) {
        /* 7.2 parses this one with qapi_enum_parse, hence the wording */
        error_setg(errp, "invalid parameter value: %s", p);
        return false;
    }
    if (prealloc == PREALLOC_MODE_METADATA) {
        error_setg(errp, "Unsupported preallocation mode: %s", p);
        return false;
    }
    if (strstart(filename, "file:", NULL)) {
        filename += strlen("file:");
    }
    fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", filename);
        return false;
    }
    /*
     * As 7.2: write and resize taken, resize not shared, before the file
     * is emptied, so that an image in use is refused, not wiped; the
     * locks go with the descriptor.
     */
    ret = 0;
    if (raw_has_ofd_lock()) {
        uint64_t held = 0, held_unshared = 0;

        ret = raw_take_locks(fd, &held, &held_unshared,
                             BLK_PERM_WRITE | BLK_PERM_RESIZE,
                             BLK_PERM_ALL & ~BLK_PERM_RESIZE, filename, errp);
    }
    /* Empty the file first, then grow it with the preallocation asked. */
    if (ret == 0) {
        ret = raw_regular_truncate(fd, 0, PREALLOC_MODE_OFF, errp);
    }
    if (ret == 0) {
        ret = raw_regular_truncate(fd, size, prealloc, errp);
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not close the new file");
    }
    return ret == 0;
}

static bool raw_parse_filename(const char *filename, QDict *options,
                               Error **errp)
{
    /*
     * As 7.2: what is left of "file:a:b" would read as protocol "a"; it
     * is a relative path, named "./a:b" from here on.
     */
    if (strstart(filename, "file:", &filename) &&
        filename[strcspn(filename, ":/")] == ':') {
        g_autofree char *dotted = g_strconcat("./", filename, NULL);

        qdict_put_str(options, "filename", dotted);
        return true;
    }
    qdict_put_str(options, "filename", filename);
    return true;
}

static bool coroutine_fn hdev_co_create(const char *filename, QDict *opts,
                                        Error **errp)
{
    return bdrv_co_create_simple("host_device", filename, opts, errp);
}

/* A device driver's file name: the path, without "@prefix" if given. */
static bool dev_parse_filename(const char *filename, const char *prefix,
                               QDict *options)
{
    strstart(filename, prefix, &filename);
    qdict_put_str(options, "filename", filename);
    return true;
}

static bool hdev_parse_filename(const char *filename, QDict *options,
                                Error **errp)
{
    return dev_parse_filename(filename, "host_device:", options);
}

static bool cdrom_parse_filename(const char *filename, QDict *options,
                                 Error **errp)
{
    return dev_parse_filename(filename, "host_cdrom:", options);
}

static const CreateOptDesc hdev_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { "preallocation", OPT_STRING,
      "Preallocation mode (allowed values: off)", NULL },
    { NULL },
};

/* In QEMU's order: create prints options in this order, help sorts them. */
static const CreateOptDesc raw_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { "nocow", OPT_BOOL, "Turn off copy-on-write (valid only on btrfs)",
      NULL },
    { "preallocation", OPT_STRING,
      "Preallocation mode (allowed values: off, falloc, full)", NULL },
    { "extent_size_hint", OPT_SIZE,
      "Extent size hint for the image file, 0 to disable", NULL },
    { NULL },
};

/* What file and host_device share: everything but opening and creating. */
#define RAW_POSIX_IO \
    .close = raw_close, \
    .refresh_limits = raw_refresh_limits, \
    .co_preadv = raw_co_preadv, \
    .co_pwritev = raw_co_pwritev, \
    .co_pwrite_zeroes = raw_co_pwrite_zeroes, \
    .co_pdiscard = raw_co_pdiscard, \
    .co_copy_range_to = raw_co_copy_range_to, \
    .co_flush_to_disk = raw_co_flush_to_disk, \
    .co_block_status = raw_co_block_status, \
    .co_truncate = raw_co_truncate, \
    .co_getlength = raw_co_getlength, \
    .co_get_allocated_file_size = raw_co_get_allocated_file_size, \
    .set_perm = raw_set_perm, \
    .co_reopen_rw = raw_co_reopen_rw, \
    .has_zero_init = raw_has_zero_init, \
    .get_info = raw_get_info

const BlockDriver bdrv_file = {
    .format_name = "file",
    .protocol_name = "file",
    .canonical_filename = true,         /* "file:" dropped */
    .instance_size = sizeof(BDRVRawState),
    .parse_filename = raw_parse_filename,
    .co_open = raw_co_open,
    RAW_POSIX_IO,
    .co_create = raw_co_create,
    .create_opts = raw_create_opts,
};

/* Block and character devices: QEMU's host_device. */
const BlockDriver bdrv_host_device = {
    .format_name = "host_device",
    .protocol_name = "host_device",
    .canonical_filename = true,         /* "host_device:" dropped */
    .instance_size = sizeof(BDRVRawState),
    .parse_filename = hdev_parse_filename,
    .co_open = hdev_co_open,
    RAW_POSIX_IO,
    .co_create = hdev_co_create,
    .create_opts = hdev_create_opts,
};

/* A disc in the drive; anything but a CD-ROM drive has none (as 7.2). */
static bool cdrom_is_inserted(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    return ioctl(s->fd, CDROM_DRIVE_STATUS, CDSL_CURRENT) == CDS_DISC_OK;
}

/*
 * CD-ROM drives: QEMU's host_cdrom, which the tools use as host_device
 * (opened without waiting for a disc), but without a disc in the drive
 * there is no length and no I/O (ENOMEDIUM).
 */
const BlockDriver bdrv_host_cdrom = {
    .format_name = "host_cdrom",
    .protocol_name = "host_cdrom",
    .canonical_filename = true,         /* "host_cdrom:" dropped */
    .instance_size = sizeof(BDRVRawState),
    .parse_filename = cdrom_parse_filename,
    .co_open = hdev_co_open,
    .is_inserted = cdrom_is_inserted,
    RAW_POSIX_IO,
    .co_create = hdev_co_create,
    .create_opts = hdev_create_opts,
};
