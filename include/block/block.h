/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block layer as its users see it: open a node graph from a filename
 * and options, and issue byte-based requests to its nodes.  Umbrella
 * header for block/block.c (open, graph, create) and block/io.c (the
 * request path).  Every request function is a coroutine_fn returning 0 or
 * -errno; control-path functions take Error **errp.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"
#include "util/qobject.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct BdrvChild BdrvChild;

#define BDRV_SECTOR_BITS 9
#define BDRV_SECTOR_SIZE (1ULL << BDRV_SECTOR_BITS)
/* Largest single request, as QEMU: INT_MAX rounded down to a sector. */
#define BDRV_REQUEST_MAX_BYTES ((int64_t)(INT_MAX & ~(BDRV_SECTOR_SIZE - 1)))
/* Largest image length: INT64_MAX aligned down to 1 GiB, as QEMU. */
#define BDRV_MAX_LENGTH (INT64_MAX & ~(int64_t)((1 << 30) - 1))

/* Open flags (bdrv_co_open). */
#define BDRV_O_NO_SHARE     0x0001  /* the user shares only reading (blk) */
#define BDRV_O_RDWR         0x0002  /* open read-write */
#define BDRV_O_RESIZE       0x0004  /* the user resizes the image (blk) */
#define BDRV_O_SNAPSHOT     0x0008  /* writes go to a temporary overlay,
                                       the image is opened read-only */
#define BDRV_O_NOCACHE      0x0020  /* O_DIRECT */
#define BDRV_O_NATIVE_AIO   0x0080  /* aio=native (Linux AIO) */
#define BDRV_O_NO_BACKING   0x0100  /* do not open the backing file */
#define BDRV_O_NO_FLUSH     0x0200  /* cache=unsafe: flushes are no-ops */
#define BDRV_O_IO_URING     0x0400  /* aio=io_uring */
#define BDRV_O_COPY_ON_READ 0x0800  /* reads copy what the node does not
                                       have from below into it (-C) */
#define BDRV_O_UNMAP        0x4000  /* discard=unmap */
#define BDRV_O_PROTOCOL     0x8000  /* open a protocol node, no probing */
#define BDRV_O_NO_IO        0x10000 /* metadata only (info, measure) */
#define BDRV_O_AIO_THREADS  0x20000 /* aio=threads named: no io_uring */
#define BDRV_O_CHECK        0x40000 /* for qemu-img check: open what needs
                                       repair (dirty, corrupt) */
#define BDRV_O_FORCE_SHARE  0x80000 /* force-share=on: take no one's
                                       permission away (read-only) */

/*
 * Permissions a user of a node takes and shares, QEMU 7.2's BLK_PERM_*
 * (same values: they are lock bytes in image files, see file-posix.c).
 */
#define BLK_PERM_CONSISTENT_READ 0x01   /* reads see consistent data */
#define BLK_PERM_WRITE           0x02   /* writes that change the data */
#define BLK_PERM_WRITE_UNCHANGED 0x04   /* writes that do not */
#define BLK_PERM_RESIZE          0x08   /* the length changes */
#define BLK_PERM_ALL             0x0f

/* Request flags. */
typedef enum {
    BDRV_REQ_COPY_ON_READ = 0x1,    /* read: copy-on-read at this node */
    BDRV_REQ_ZERO_WRITE = 0x2,      /* write zeroes (no data) */
    BDRV_REQ_MAY_UNMAP = 0x4,       /* zeroes may deallocate */
    BDRV_REQ_FUA = 0x10,            /* force unit access */
    BDRV_REQ_WRITE_COMPRESSED = 0x20,
    BDRV_REQ_NO_FALLBACK = 0x100,   /* fail rather than write zero buffers */
} BdrvRequestFlags;

/* Block status flags (bdrv_co_block_status). */
#define BDRV_BLOCK_DATA         0x01  /* reads come from the data */
#define BDRV_BLOCK_ZERO         0x02  /* reads as zeroes */
#define BDRV_BLOCK_OFFSET_VALID 0x04  /* *map is valid in *file */
#define BDRV_BLOCK_RAW          0x08  /* driver: ask *file at *map instead */
#define BDRV_BLOCK_ALLOCATED    0x10  /* allocated in this layer */
#define BDRV_BLOCK_EOF          0x20  /* the range reaches the end */
#define BDRV_BLOCK_RECURSE      0x40  /* driver: *file may know zeroes */

typedef enum {
    PREALLOC_MODE_OFF,
    PREALLOC_MODE_METADATA,
    PREALLOC_MODE_FALLOC,
    PREALLOC_MODE_FULL,
    PREALLOC_MODE__MAX,
} PreallocMode;

extern const char *const PreallocMode_str[PREALLOC_MODE__MAX];

/* Parse "off", "metadata", "falloc", "full"; sets @errp naming @value. */
bool prealloc_mode_parse(const char *value, PreallocMode *mode, Error **errp);

/*
 * Cache modes: none, writeback, writethrough, directsync, unsafe.
 * Sets BDRV_O_NOCACHE / BDRV_O_NO_FLUSH in *@flags and *@writethrough.
 * Returns false for an unknown mode.
 */
bool bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough);
/* aio modes: threads, native, io_uring.  Returns false if unknown. */
bool bdrv_parse_aio(const char *mode, int *flags);
/* discard modes: ignore/off, unmap/on. */
bool bdrv_parse_discard_flags(const char *mode, int *flags);

/* detect-zeroes: what a node makes of a write whose data is all zeroes */
typedef enum BdrvDetectZeroes {
    BDRV_DETECT_ZEROES_OFF,     /* a write */
    BDRV_DETECT_ZEROES_ON,      /* a zero write */
    BDRV_DETECT_ZEROES_UNMAP,   /* a zero write that may unmap */
} BdrvDetectZeroes;
/* off, on, unmap.  Returns false if unknown. */
bool bdrv_parse_detect_zeroes(const char *mode, BdrvDetectZeroes *dz);

/*
 * Open a node graph.  @filename may be NULL when @options say everything,
 * a plain path, a protocol URL, or "json:{...}".  @options (taken, may be
 * NULL) is a flat dict with dotted keys: "driver", "file.filename", ...
 * Without a "driver", the format is probed.  Returns a new reference.
 * Context: coroutine (opening reads image headers).
 */
BlockDriverState *coroutine_fn bdrv_co_open(const char *filename,
                                            QDict *options, int flags,
                                            Error **errp);
/*
 * Node names.  Every live node has one: its "node-name" option, or one
 * generated as 7.2's ("#block123", never a valid user name).  A string
 * "file" or "backing" option names an existing node, which the new node
 * then references.
 */
BlockDriverState *bdrv_find_node(const char *name);
/* The live nodes in the order they were opened: NULL starts. */
BlockDriverState *bdrv_next_node(BlockDriverState *bs);
const char *bdrv_get_node_name(BlockDriverState *bs);
/* Whether the name is the user's (not generated). */
bool bdrv_node_name_is_user(BlockDriverState *bs);
BlockDriverState *bdrv_ref(BlockDriverState *bs);
/* Drop a reference; the last one closes the node and its children. */
void bdrv_unref(BlockDriverState *bs);

/* Registry (block/drivers.c). */
const BlockDriver *bdrv_find_format(const char *format_name);
const BlockDriver *bdrv_find_protocol(const char *filename, Error **errp);
/* NULL-terminated, sorted list of format names (for --help). */
void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque);

/*
 * What the block layer has to say outside an Error it returns goes to a
 * handler the tool installs, a message at a time (no final newline);
 * block/ never prints.  Without a handler it is dropped (the fuzz targets
 * run so).  The tools print as 7.2 does: on stderr, errors and warnings
 * with the program's name before them ("qemu-img: ", "qemu-img:
 * warning: "), notes and check reports as they are; blkdebug's notes on
 * stdout.  Process-wide.
 */
typedef enum BdrvMessageKind {
    BDRV_MSG_NOTE,      /* a line as it is, e.g. corruption found on a read */
    BDRV_MSG_CHECK,     /* what a check finds and repairs, 7.2's words */
    BDRV_MSG_TRACE,     /* blkdebug: requests suspended and resumed */
    BDRV_MSG_ERROR,     /* an error no caller receives (7.2: error_report) */
    BDRV_MSG_WARNING,   /* a warning (7.2: warn_report) */
} BdrvMessageKind;
typedef void BdrvMessageHandler(BdrvMessageKind kind, const char *msg);
void bdrv_set_message_handler(BdrvMessageHandler *handler);
void bdrv_message(BdrvMessageKind kind, const char *fmt, ...)
    QEMU_PRINTF(2, 3);
/* bdrv_message(BDRV_MSG_ERROR, ...), bdrv_message(BDRV_MSG_WARNING, ...) */
void bdrv_error_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
void bdrv_warn_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
/* @err (its hint too) as a BDRV_MSG_ERROR, then freed. */
void bdrv_report_err(Error *err);

/* Node accessors. */
const char *bdrv_get_format_name(BlockDriverState *bs);
const char *bdrv_get_filename(BlockDriverState *bs);
bool bdrv_is_read_only(BlockDriverState *bs);
BlockDriverState *bdrv_file_bs(BlockDriverState *bs);
BlockDriverState *bdrv_backing_bs(BlockDriverState *bs);
/*
 * The backing file name of @bs resolved against its directory, as QEMU's
 * "full-backing-filename", or NULL without a backing file.  g_free() it.
 */
char *bdrv_get_full_backing_filename(BlockDriverState *bs);
/*
 * The node of @bs's backing chain (below @bs) that @name names, as 7.2's
 * bdrv_find_backing_image: a file name relative to the image above it,
 * compared as a real path; a URL as written.  NULL if none.
 */
BlockDriverState *bdrv_find_backing_image(BlockDriverState *bs,
                                          const char *name);
/* A warning produced while opening (probed raw), or NULL.  Owned by bs. */
const char *bdrv_get_open_warning(BlockDriverState *bs);
/* False when @bs or a node below it has removable media and none in. */
bool bdrv_is_inserted(BlockDriverState *bs);
/*
 * Operations a user asks for on a node, which a block job using the node,
 * or its being another node's backing file, forbids (7.2's BlockOpType,
 * the ones we have).
 */
typedef enum BlockOpType {
    BLOCK_OP_TYPE_BACKUP_SOURCE,
    BLOCK_OP_TYPE_BACKUP_TARGET,
    BLOCK_OP_TYPE_COMMIT_SOURCE,
    BLOCK_OP_TYPE_COMMIT_TARGET,
    BLOCK_OP_TYPE_DRIVE_DEL,
    BLOCK_OP_TYPE_EXTERNAL_SNAPSHOT,
    BLOCK_OP_TYPE_MIRROR_SOURCE,
    BLOCK_OP_TYPE_MIRROR_TARGET,
    BLOCK_OP_TYPE_REPLACE,
    BLOCK_OP_TYPE_RESIZE,
    BLOCK_OP_TYPE_STREAM,
    BLOCK_OP_TYPE_MAX,
} BlockOpType;

/*
 * Whether @op on @bs is forbidden; true + "Node 'N' is busy: REASON" (the
 * latest blocker first, as 7.2's).  A backing file forbids all but
 * commit-target, stream and backup ("node is used as backing hd of 'P'").
 */
bool bdrv_op_is_blocked(BlockDriverState *bs, BlockOpType op, Error **errp);
/* Forbid every @op on @bs for @owner, saying @reason; until unblocked. */
void bdrv_op_block_all(BlockDriverState *bs, const void *owner,
                       const char *reason);
void bdrv_op_unblock_all(BlockDriverState *bs, const void *owner);

/*
 * A reopen of @bs with @changes: drop from @old, the options in use,
 * those @changes replaces as a group (the driver's join_options).
 */
void bdrv_join_options(BlockDriverState *bs, QDict *changes, QDict *old);

/* ---- request path (block/io.c); all return 0 or -errno ---- */

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes);
/* Flush @bs and then its children. */
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);
/* Length in bytes, or -errno. */
int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs);
/* Bytes the image occupies on its storage, or -errno (-ENOTSUP). */
int64_t coroutine_fn bdrv_co_get_allocated_file_size(BlockDriverState *bs);
int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp);
/*
 * Read (@is_read) or write @qiov at @pos of @bs's VM state area; 0 or
 * -errno (-ENOTSUP: the format has none).
 */
int coroutine_fn bdrv_co_rw_vmstate(BlockDriverState *bs, QEMUIOVector *qiov,
                                    int64_t pos, bool is_read);

/*
 * Status of [@offset, @offset + @bytes) in @bs alone: a BDRV_BLOCK_*
 * mask that holds for the first *@pnum bytes (0 < *@pnum <= @bytes unless
 * at the end).  With @want_zero the driver works harder to report zeroes.
 * @map/@file (may be NULL) receive the host offset and node when
 * BDRV_BLOCK_OFFSET_VALID is set.  Returns the mask or -errno.
 */
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, bool want_zero,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file);
/*
 * Like bdrv_co_block_status() through the backing chain from @bs down to
 * (not including, unless @include_base) @base (NULL: the whole chain).
 * *@depth (may be NULL) receives the layer that answered (0 = @bs).
 */
int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool include_base, bool want_zero,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth);
/*
 * Copy @bytes of @src's data at @src_off to @dst at @dst_off by offload
 * (copy_file_range) when both ends map to files of one protocol: @src
 * through its data extents (formats included), @dst directly or through
 * a raw format node.  -ENOTSUP when that is not possible (compressed or
 * zero data, other protocols): the caller reads and writes.  Context:
 * coroutine.
 */
int coroutine_fn bdrv_co_copy_range(BlockDriverState *src, int64_t src_off,
                                    BlockDriverState *dst, int64_t dst_off,
                                    int64_t bytes);
/* 1 if allocated in @bs itself, 0 if not, -errno; *@pnum as above. */
int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum);
/*
 * Write @file (and @fmt) as @bs's backing file into its image, NULL for
 * none; only the name changes, not the data (qemu-img rebase).  As 7.2:
 * -EINVAL for @fmt without @file, or @file without @fmt when @require;
 * -ENOTSUP when the format has no backing files; -ENOSPC when the name
 * does not fit the header.
 */
int coroutine_fn bdrv_co_change_backing_file(BlockDriverState *bs,
                                             const char *file,
                                             const char *fmt, bool require);
/*
 * Empty @bs (after its data was committed): every range reads from the
 * backing file again.  -ENOTSUP when the format cannot (raw).
 */
int coroutine_fn bdrv_co_make_empty(BlockDriverState *bs);
/* Information for info/qemu-io. */
typedef struct BlockDriverInfo {
    int64_t cluster_size;       /* 0 when not applicable */
    int64_t vm_state_offset;
    bool is_dirty;
    bool encrypted;             /* the format encrypts the guest data */
} BlockDriverInfo;

/* Returns 0, or -ENOTSUP when the driver has no information. */
int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);
/*
 * qemu-img check.  The driver reports what it finds (BDRV_MSG_CHECK, in
 * QEMU's words) and counts it here; @fix asks it to repair leaks and/or
 * errors.
 */
#define BDRV_FIX_LEAKS  1
#define BDRV_FIX_ERRORS 2
typedef struct BdrvCheckResult {
    int64_t corruptions, leaks, check_errors;
    int64_t corruptions_fixed, leaks_fixed;
    int64_t image_end_offset;
    int64_t total_clusters, allocated_clusters;
    int64_t fragmented_clusters, compressed_clusters;
} BdrvCheckResult;
/* 0, -ENOTSUP when the format has no check, or -errno (check failed). */
int coroutine_fn bdrv_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                               int fix);
/* Format-specific information for `info`, a new QDict, or NULL. */
QDict *bdrv_get_specific_info(BlockDriverState *bs, Error **errp);
/*
 * @bs's ImageInfo as 7.2 reports it (filename, format, virtual-size,
 * actual-size, cluster-size, dirty-flag, backing-filename..., snapshots,
 * format-specific), named @filename; NULL + @errp on failure.
 */
QDict *coroutine_fn bdrv_co_query_image_info(BlockDriverState *bs,
                                            const char *filename,
                                            Error **errp);
/* True if a newly created image of this node reads as zeroes. */
bool bdrv_has_zero_init(BlockDriverState *bs);
/*
 * Persistent dirty bitmaps (block/dirty-bitmap.h for the bitmaps
 * themselves).  A format that keeps them (qcow2 v3) loads the image's
 * bitmaps at open into the node's list, marked persistent, and stores
 * them back at close.
 *
 * bdrv_supports_persistent_bitmaps: whether @bs's image can hold them.
 * bdrv_can_create_persistent_bitmap: whether the next call would succeed;
 * false with @errp set if the image cannot hold it (7.2's reasons and
 * words: granularity, size, name length, count, directory space) or the
 * name is taken.
 * bdrv_create_persistent_bitmap: a new persistent bitmap on @bs covering
 * its disk, clean; NULL with @errp set as above.
 * A persistent bitmap released from the node (bdrv_dirty_bitmap_release)
 * leaves the image when the bitmaps are next stored.
 * bdrv_co_store_bitmaps: write @bs's persistent bitmaps to the image now
 * (what close would do), so that a failure can be reported; true if
 * there was nothing to write.  Context: coroutine.
 */
bool bdrv_supports_persistent_bitmaps(BlockDriverState *bs);
bool bdrv_can_create_persistent_bitmap(BlockDriverState *bs, const char *name,
                                       uint64_t granularity, Error **errp);
struct BdrvDirtyBitmap *bdrv_create_persistent_bitmap(BlockDriverState *bs,
                                                      const char *name,
                                                      uint64_t granularity,
                                                      bool enabled,
                                                      Error **errp);
bool coroutine_fn bdrv_co_store_bitmaps(BlockDriverState *bs, Error **errp);

/*
 * qemu-img measure: the file size an image of format @drv made with
 * @opts (validated create options of @drv and the file protocol, "size"
 * among them) needs, empty (@in_bs NULL) or holding @in_bs's data.
 * required: for that data; fully_allocated: every cluster written;
 * bitmaps: the persistent bitmaps of @in_bs, when both sides have them.
 * Context: coroutine (reads @in_bs's block status).
 */
typedef struct BlockMeasureInfo {
    uint64_t required;
    uint64_t fully_allocated;
    bool has_bitmaps;
    uint64_t bitmaps;
} BlockMeasureInfo;
bool coroutine_fn bdrv_co_measure(const BlockDriver *drv, QDict *opts,
                                  BlockDriverState *in_bs,
                                  BlockMeasureInfo *info, Error **errp);

/*
 * Create an image: @drv's create with @opts (flat dict of option
 * strings, validated against the driver's create options).
 * Context: coroutine.
 */
bool coroutine_fn bdrv_co_create(const BlockDriver *drv, const char *filename,
                                 QDict *opts, Error **errp);
/*
 * Every key of @opts must be a create option of @drv or of @proto (may
 * be NULL): "Invalid parameter 'key'" otherwise.
 */
bool bdrv_check_create_opts(const BlockDriver *drv, const BlockDriver *proto,
                            QDict *opts, Error **errp);
/*
 * Writes to @bs leave for its storage in the order they are issued: @bs
 * is (raw over) a protocol whose driver says issues_in_order.
 */
bool bdrv_issues_in_order(BlockDriverState *bs);
/*
 * The fallback of protocols that cannot create (host_device, nbd): open
 * @filename with @driver, check its size, zero its first sector.
 */
bool coroutine_fn bdrv_co_create_simple(const char *driver,
                                        const char *filename, QDict *opts,
                                        Error **errp);
/* Create through the protocol driver that handles @filename. */
bool coroutine_fn bdrv_co_create_file(const char *filename, QDict *opts,
                                      Error **errp);

#endif /* BLOCK_BLOCK_H */
