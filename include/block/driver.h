/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a block driver implements and may use: the BlockDriver vtable
 * (byte offsets and iovecs only; NULL means the generic fallback in
 * block/io.c), the BlockDriverState node and its children, limits as data,
 * create-option descriptions, and option helpers.
 */
#ifndef BLOCK_DRIVER_H
#define BLOCK_DRIVER_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/queue.h"
#include "block/block.h"
#include "block/dirty-bitmap.h"
#include "block/snapshot.h"

/* Limits, in bytes, filled at open by the driver's refresh_limits. */
typedef struct BlockLimits {
    uint32_t request_alignment;     /* offsets and lengths; power of two */
    int64_t max_transfer;           /* 0: no limit */
    int64_t opt_transfer;
    int64_t max_pwrite_zeroes;      /* 0: no limit */
    uint32_t pwrite_zeroes_alignment;
    int64_t max_pdiscard;
    uint32_t pdiscard_alignment;
    size_t min_mem_alignment;       /* buffer address/length for O_DIRECT */
    size_t opt_mem_alignment;
} BlockLimits;

/*
 * What a child is to its parent (QEMU's BdrvChildRole): the default
 * permissions a parent takes on a child follow from it.
 */
#define BDRV_CHILD_DATA     0x01    /* holds guest data */
#define BDRV_CHILD_METADATA 0x02    /* holds the format's metadata */
#define BDRV_CHILD_FILTERED 0x04    /* passed through (raw, blkdebug) */
#define BDRV_CHILD_COW      0x08    /* a backing file: read where unallocated */
#define BDRV_CHILD_PRIMARY  0x10    /* the child named "file" */
#define BDRV_CHILD_IMAGE    (BDRV_CHILD_DATA | BDRV_CHILD_METADATA | \
                             BDRV_CHILD_PRIMARY)

/*
 * What a parent that is no node (a BlockBackend, a job) does when the
 * node it uses is drained (block/drain.c).  All optional.
 */
typedef struct BdrvChildOps {
    /* stop sending new requests until drained_end */
    void (*drained_begin)(BdrvChild *c);
    void (*drained_end)(BdrvChild *c);
    /* true while requests it already sent are still in flight */
    bool (*drained_poll)(BdrvChild *c);
    /* bdrv_replace_node() leaves it where it is (a job's own link) */
    bool stay_at_node;
    /* who uses the node, for permission conflicts ("stream job 's'") */
    char *(*get_parent_desc)(BdrvChild *c);
} BdrvChildOps;

struct BdrvChild {
    BlockDriverState *bs;
    const BdrvChildOps *ops;        /* NULL for nodes' children */
    void *opaque;                   /* the ops' owner */
    char *name;                     /* "file", "backing", "data-file" */
    BlockDriverState *parent;       /* NULL: a BlockBackend's root */
    unsigned role;                  /* BDRV_CHILD_* */
    uint64_t perm;                  /* BLK_PERM_* the parent takes */
    uint64_t shared_perm;           /* BLK_PERM_* it lets others take */
    QTAILQ_ENTRY(BdrvChild) next;           /* in parent->children */
    QTAILQ_ENTRY(BdrvChild) next_parent;    /* in bs->parents */
};

/* An in-flight request, for serialising read-modify-write cycles. */
typedef struct BdrvTrackedRequest {
    int64_t offset;
    int64_t bytes;
    bool serialising;               /* RMW: excludes overlapping requests */
    CoQueue wait_queue;             /* requests waiting for this one */
    struct BdrvTrackedRequest *waiting_for; /* while in wait_serialising */
    QTAILQ_ENTRY(BdrvTrackedRequest) next;
} BdrvTrackedRequest;

/*
 * A protocol node's last data region as its driver reported it (7.2's
 * block-status cache): asking again inside it costs nothing, where a
 * file's SEEK_DATA/SEEK_HOLE scans the page cache each time.  Dropped at
 * every zero write, discard and truncate of the node.  Another process
 * zeroing the file meanwhile makes zeroes read as data, which is safe.
 */
typedef struct BdrvBlockStatusCache {
    bool valid;
    int64_t start, end;
} BdrvBlockStatusCache;

struct BlockDriverState {
    const BlockDriver *drv;
    void *opaque;                   /* driver state, instance_size bytes */
    AioContext *ctx;
    int refcnt;
    /*
     * The node's name: the user's node-name, else one generated as 7.2's
     * ("#block" and a number); unique among live nodes (block/block.c).
     */
    char node_name[32];
    bool named_by_user;
    QTAILQ_ENTRY(BlockDriverState) node_list;   /* every live node */
    int open_flags;
    bool read_only;
    bool copy_on_read;          /* opened with BDRV_O_COPY_ON_READ */
    bool open_started;          /* co_open was called: close cleans up */
    bool opened;                /* co_open succeeded: inactivate at close */
    /* the file name or URL as given, or a json: description */
    char *filename;
    /* backing file name and format as the image records them */
    char *backing_file;
    char *backing_format;
    char *open_warning;             /* see bdrv_get_open_warning() */

    BdrvChild *file;
    BdrvChild *backing;
    QTAILQ_HEAD(, BdrvChild) children;
    /* the children of other nodes (and BlockBackend roots) that are us */
    QTAILQ_HEAD(, BdrvChild) parents;
    /* force-share=on: every permission is shared on our children */
    bool force_share;
    BdrvDetectZeroes detect_zeroes;     /* detect-zeroes= of this node */
    /* protocols that know it: which file this is (st_dev, st_ino) */
    bool has_file_id;
    uint64_t file_dev, file_ino;

    BlockLimits bl;
    /* flags the driver handles natively (others are emulated) */
    unsigned supported_write_flags;
    unsigned supported_zero_flags;
    /* cached length; drivers with variable length refresh it */
    int64_t total_bytes;
    bool has_variable_length;

    QTAILQ_HEAD(, BdrvTrackedRequest) tracked_requests;
    int64_t in_flight;
    /* drained sections on this node or a child (block/drain.c) */
    int quiesce_counter;
    /*
     * Writes started (every kind: data, zeroes, discard, truncate) and the
     * count the last successful flush to disk covered: a flush with
     * nothing written since skips the driver's flush_to_disk, as in 7.2.
     */
    uint64_t write_gen;
    uint64_t flushed_gen;

    BdrvBlockStatusCache bsc;

    /* BdrvOpBlocker: jobs using the node, latest first (block/graph.c) */
    GSList *op_blockers;

    /* dirty bitmaps (block/dirty-bitmap.c), in creation order */
    QTAILQ_HEAD(, BdrvDirtyBitmap) dirty_bitmaps;
    /*
     * The image's persistent bitmaps were stored and marked consistent
     * while the node stays writable: before the next change, the driver's
     * co_bitmaps_in_use marks them in use again (block/io.c).
     */
    bool bitmaps_stored;
};

/* Create/amend option types, as QEMU prints them in -o help. */
typedef enum {
    OPT_STRING,
    OPT_BOOL,
    OPT_NUMBER,
    OPT_SIZE,
} CreateOptType;

typedef struct CreateOptDesc {
    const char *name;
    CreateOptType type;
    const char *help;
    const char *def_value_str;      /* printed by create when set */
} CreateOptDesc;

/*
 * Points in a driver's request path that a blkdebug node below it hears
 * of (QEMU's BlkdebugEvent, same names and order): a rule for an event
 * takes effect when the driver above reaches that point.
 */
typedef enum BlkdebugEvent {
    BLKDBG_L1_UPDATE, BLKDBG_L1_GROW_ALLOC_TABLE, BLKDBG_L1_GROW_WRITE_TABLE,
    BLKDBG_L1_GROW_ACTIVATE_TABLE, BLKDBG_L2_LOAD, BLKDBG_L2_UPDATE,
    BLKDBG_L2_UPDATE_COMPRESSED, BLKDBG_L2_ALLOC_COW_READ,
    BLKDBG_L2_ALLOC_WRITE, BLKDBG_READ_AIO, BLKDBG_READ_BACKING_AIO,
    BLKDBG_READ_COMPRESSED, BLKDBG_WRITE_AIO, BLKDBG_WRITE_COMPRESSED,
    BLKDBG_VMSTATE_LOAD, BLKDBG_VMSTATE_SAVE, BLKDBG_COW_READ,
    BLKDBG_COW_WRITE, BLKDBG_REFTABLE_LOAD, BLKDBG_REFTABLE_GROW,
    BLKDBG_REFTABLE_UPDATE, BLKDBG_REFBLOCK_LOAD, BLKDBG_REFBLOCK_UPDATE,
    BLKDBG_REFBLOCK_UPDATE_PART, BLKDBG_REFBLOCK_ALLOC,
    BLKDBG_REFBLOCK_ALLOC_HOOKUP, BLKDBG_REFBLOCK_ALLOC_WRITE,
    BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS, BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE,
    BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE, BLKDBG_CLUSTER_ALLOC,
    BLKDBG_CLUSTER_ALLOC_BYTES, BLKDBG_CLUSTER_FREE, BLKDBG_FLUSH_TO_OS,
    BLKDBG_FLUSH_TO_DISK, BLKDBG_PWRITEV_RMW_HEAD,
    BLKDBG_PWRITEV_RMW_AFTER_HEAD, BLKDBG_PWRITEV_RMW_TAIL,
    BLKDBG_PWRITEV_RMW_AFTER_TAIL, BLKDBG_PWRITEV, BLKDBG_PWRITEV_ZERO,
    BLKDBG_PWRITEV_DONE, BLKDBG_EMPTY_IMAGE_PREPARE,
    BLKDBG_L1_SHRINK_WRITE_TABLE, BLKDBG_L1_SHRINK_FREE_L2_CLUSTERS,
    BLKDBG_COR_WRITE, BLKDBG_CLUSTER_ALLOC_SPACE, BLKDBG_NONE,
    BLKDBG__MAX,
} BlkdebugEvent;

/* "l1_update", ...: the names rules use; BLKDBG__MAX entries. */
extern const char *const bdrv_debug_event_names[BLKDBG__MAX];

/* Tell @bs (if its driver listens) that its parent reached @event. */
void bdrv_debug_event(BlockDriverState *bs, BlkdebugEvent event);
#define BLKDBG_EVENT(child, event) \
    bdrv_debug_event((child) ? (child)->bs : NULL, (event))

/*
 * Breakpoints (qemu-io's break, remove_break, resume, wait_break): on the
 * first node of @bs's primary chain whose driver has them (blkdebug).  A
 * breakpoint on @event suspends the next request that reaches it, under
 * @tag, until resumed; it fires once.  -ENOTSUP where no node has them,
 * -ENOENT for an unknown event or tag.
 */
int bdrv_debug_breakpoint(BlockDriverState *bs, const char *event,
                          const char *tag);
int bdrv_debug_remove_breakpoint(BlockDriverState *bs, const char *tag);
int bdrv_debug_resume(BlockDriverState *bs, const char *tag);
bool bdrv_debug_is_suspended(BlockDriverState *bs, const char *tag);

/* Progress of a long operation (amend): @offset of @total units done. */
typedef void BdrvAmendStatusCB(BlockDriverState *bs, int64_t offset,
                               int64_t total, void *opaque);

struct BlockDriver {
    const char *format_name;
    /* URL scheme for protocol drivers ("file", "nfs"); NULL for formats */
    const char *protocol_name;
    size_t instance_size;
    bool supports_backing;
    /* the role of the child named "file" (0: BDRV_CHILD_IMAGE) */
    unsigned file_role;
    /* takes BDRV_REQ_WRITE_COMPRESSED (QEMU's block_driver_can_compress) */
    bool supports_compression;
    /*
     * The node's name is canonical and a format node on top shows it too:
     * co_open replaces bs->filename by the canonical URL (QEMU's
     * exact_filename: options that do not change what is opened are
     * dropped), or the path parse_filename leaves in "filename" names it
     * ("file:" and "host_device:" dropped).
     */
    bool canonical_filename;
    /*
     * co_open names the node json:{...} with its options, as QEMU does for
     * drivers whose options no URL expresses (iscsi); a format node on top
     * is then named json:{"driver": FORMAT, "file": {...}}.
     */
    bool json_filename;
    /*
     * A request reaches the server before the coroutine issuing it first
     * yields (or waits in a FIFO for a free slot), so requests leave in
     * the order they are issued: a copy in offset order may keep several
     * in flight (see bdrv_issues_in_order()).
     */
    bool issues_in_order;

    /* Score 0..100 that @buf (the image start) is this format. */
    int (*probe)(const uint8_t *buf, int buf_size, const char *filename);
    /*
     * Reopen: drop from @old (the options in use) those that @changes
     * replaces as a group, as 7.2's bdrv_join_options (qcow2: the three
     * cache sizes; overlap-check and its sub-options).
     */
    void (*join_options)(QDict *changes, QDict *old);
    /* Protocols: turn a URL into options (e.g. "server", "path"). */
    bool (*parse_filename)(const char *filename, QDict *options,
                           Error **errp);

    /*
     * Open @bs.  Consume (qdict_del) every option used; leftovers are an
     * error.  For formats, bs->file is already open.
     */
    bool coroutine_fn (*co_open)(BlockDriverState *bs, QDict *options,
                                 int flags, Error **errp);
    /*
     * Before close, in a coroutine: write what the driver still caches
     * (metadata, header bits).  Errors are reported, not returned.
     */
    int coroutine_fn (*co_inactivate)(BlockDriverState *bs);
    /*
     * The node, opened read-only, is to be written from now on (see
     * bdrv_co_make_writable()).  Protocols: make the connection or file
     * writable, before their users take write.  Formats: get ready to
     * write, once their children are writable (qcow2: refcounts loaded,
     * bitmaps marked in use, a dirty image repaired).  NULL: a format or
     * filter with nothing to do; a protocol that cannot write.
     */
    bool coroutine_fn (*co_reopen_rw)(BlockDriverState *bs, Error **errp);
    void (*close)(BlockDriverState *bs);
    void (*refresh_limits)(BlockDriverState *bs);
    /* Removable media (host_cdrom): false while there is none. */
    bool (*is_inserted)(BlockDriverState *bs);
    /*
     * A filter (blkdebug): its primary child has the same data, so
     * questions the node cannot answer (allocation below it, its info)
     * go on to that child.
     */
    bool is_filter;
    /* see BLKDBG_EVENT; NULL for drivers that do not listen (all but one) */
    void (*debug_event)(BlockDriverState *bs, BlkdebugEvent event);
    /* see bdrv_debug_breakpoint(); NULL but in blkdebug */
    int (*debug_breakpoint)(BlockDriverState *bs, const char *event,
                            const char *tag);
    int (*debug_remove_breakpoint)(BlockDriverState *bs, const char *tag);
    int (*debug_resume)(BlockDriverState *bs, const char *tag);
    bool (*debug_is_suspended)(BlockDriverState *bs, const char *tag);
    /*
     * The permissions @bs takes on its child @c, given what the users of
     * @bs take (@perm) and share (@shared).  NULL: bdrv_default_perms().
     */
    void (*child_perm)(BlockDriverState *bs, BdrvChild *c, uint64_t perm,
                       uint64_t shared, uint64_t *nperm, uint64_t *nshared);
    /*
     * Protocols that hold what their users take (file: lock bytes): make
     * @perm / @shared the node's permissions, or fail naming the conflict
     * and keep the previous ones.  NULL: nothing to hold.
     */
    bool (*set_perm)(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                     Error **errp);

    int coroutine_fn (*co_preadv)(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  BdrvRequestFlags flags);
    int coroutine_fn (*co_pwritev)(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   BdrvRequestFlags flags);
    /* -ENOTSUP makes io.c write a zero buffer instead */
    int coroutine_fn (*co_pwrite_zeroes)(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes,
                                         BdrvRequestFlags flags);
    int coroutine_fn (*co_pdiscard)(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes);
    /*
     * Protocols: copy @bytes from @src (a node of the same driver) at
     * @src_offset to @bs at @offset without passing the data through us
     * (copy_file_range).  -ENOTSUP: read and write instead.
     */
    int coroutine_fn (*co_copy_range_to)(BlockDriverState *bs, int64_t offset,
                                         BlockDriverState *src,
                                         int64_t src_offset, int64_t bytes);
    /* Flush to the OS (formats: metadata caches) then to disk (protocols). */
    int coroutine_fn (*co_flush_to_os)(BlockDriverState *bs);
    int coroutine_fn (*co_flush_to_disk)(BlockDriverState *bs);
    /*
     * The status of [@offset, @offset + @bytes) in *@pnum bytes from
     * @offset; a protocol may report a data extent (DATA | OFFSET_VALID,
     * *@map == @offset) longer than @bytes: io.c caches it (bs->bsc).
     */
    int coroutine_fn (*co_block_status)(BlockDriverState *bs, bool want_zero,
                                        int64_t offset, int64_t bytes,
                                        int64_t *pnum, int64_t *map,
                                        BlockDriverState **file);
    int coroutine_fn (*co_truncate)(BlockDriverState *bs, int64_t offset,
                                    bool exact, PreallocMode prealloc,
                                    BdrvRequestFlags flags, Error **errp);
    int64_t coroutine_fn (*co_getlength)(BlockDriverState *bs);
    /*
     * The VM state area (qemu-io read -b / write -b; savevm): bytes at
     * @pos of a region outside the guest disk.  NULL: not in this format
     * (filters pass the request to their primary child).
     */
    int coroutine_fn (*co_save_vmstate)(BlockDriverState *bs,
                                        QEMUIOVector *qiov, int64_t pos);
    int coroutine_fn (*co_load_vmstate)(BlockDriverState *bs,
                                        QEMUIOVector *qiov, int64_t pos);
    int64_t coroutine_fn (*co_get_allocated_file_size)(BlockDriverState *bs);
    int (*get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);
    QDict *(*get_specific_info)(BlockDriverState *bs, Error **errp);
    bool (*has_zero_init)(BlockDriverState *bs);
    /*
     * Persistent dirty bitmaps (NULL: the format keeps none); see
     * bdrv_supports_persistent_bitmaps() and friends in block.h.  The
     * driver loads them at open, stores them in co_inactivate.
     * can_store_bitmap: may a new one of @granularity named @name be
     * added?  co_store_bitmaps: write them all now, consistent, and set
     * bs->bitmaps_stored.  co_bitmaps_in_use: mark them in use in the
     * image again and clear bs->bitmaps_stored.
     */
    bool (*supports_bitmaps)(BlockDriverState *bs);
    bool (*can_store_bitmap)(BlockDriverState *bs, const char *name,
                             uint64_t granularity, Error **errp);
    bool coroutine_fn (*co_store_bitmaps)(BlockDriverState *bs,
                                          Error **errp);
    int coroutine_fn (*co_bitmaps_in_use)(BlockDriverState *bs);
    /* Internal snapshots (block/snapshot.h), or NULL. */
    QObject *(*snapshot_list)(BlockDriverState *bs);
    int coroutine_fn (*co_snapshot_load_tmp)(BlockDriverState *bs,
                                             const char *id,
                                             const char *name, Error **errp);
    int coroutine_fn (*co_snapshot_create)(BlockDriverState *bs,
                                           const BdrvSnapshotInfo *info);
    int coroutine_fn (*co_snapshot_goto)(BlockDriverState *bs,
                                         const char *id_or_name);
    int coroutine_fn (*co_snapshot_delete)(BlockDriverState *bs,
                                           const char *id, const char *name,
                                           Error **errp);

    /* Create an image at @filename; @opts are validated option strings. */
    bool coroutine_fn (*co_create)(const char *filename, QDict *opts,
                                   Error **errp);
    /*
     * Create the format on the opened protocol node @file, which is
     * emptied first (blockdev-create); @opts as for co_create.  Optional.
     */
    bool coroutine_fn (*co_create_node)(BlockDriverState *file, QDict *opts,
                                        Error **errp);
    /* NULL-terminated by a zero entry. */
    const CreateOptDesc *create_opts;
    /* qemu-img measure (block.h, bdrv_co_measure); info is zeroed */
    bool coroutine_fn (*co_measure)(QDict *opts, BlockDriverState *in_bs,
                                    BlockMeasureInfo *info, Error **errp);
    /* qemu-img check (block.h, bdrv_co_check) */
    int coroutine_fn (*co_check)(BlockDriverState *bs, BdrvCheckResult *res,
                                 int fix);
    /* Drop every cluster so the image reads from its backing file. */
    int coroutine_fn (*co_make_empty)(BlockDriverState *bs);
    /* Record another backing file name and format (NULL: none). */
    int coroutine_fn (*co_change_backing_file)(BlockDriverState *bs,
                                               const char *file,
                                               const char *fmt);
    /*
     * qemu-img amend: change format options of an open (read-write)
     * image; @opts are validated against @amend_opts.  @status_cb (may
     * be NULL) hears how far the work is: @offset of @total.
     */
    int coroutine_fn (*co_amend)(BlockDriverState *bs, QDict *opts,
                                 bool force, BdrvAmendStatusCB *status_cb,
                                 void *cb_opaque, Error **errp);
    const CreateOptDesc *amend_opts;
};

/* ---- helpers for drivers (block/block.c) ---- */

/*
 * Open a child node named @name of @parent from the "@name.*" options of
 * @options (consumed) or @filename.  Returns NULL and sets @errp on error.
 */
BdrvChild *coroutine_fn bdrv_co_open_child(const char *filename,
                                           QDict *options, const char *name,
                                           BlockDriverState *parent,
                                           unsigned role, int flags,
                                           Error **errp);
/*
 * Open a node of @drv, which need not be in the registry (tests and
 * fuzzers bring their own), over @file (a format's "file" child,
 * reference taken over; NULL for a protocol).  @options: the driver's
 * own, consumed (leftovers are an error).  Returns a new reference, or
 * NULL and @errp.  Context: coroutine.
 */
BlockDriverState *coroutine_fn
bdrv_co_open_driver(const BlockDriver *drv, const char *filename,
                    BlockDriverState *file, QDict *options, int flags,
                    Error **errp);
/*
 * 7.2's name for a filter of @drv put above @child (a copy-on-read node a
 * stream inserts): json:{"driver": ..., "file": {@child's driver and
 * file, down to the protocol's filename}}.
 */
char *bdrv_filter_json_name(const BlockDriver *drv, BlockDriverState *child);
/*
 * Attach an already open node as child @name of @parent with @role
 * (BDRV_CHILD_*), taking the permissions the role implies.  The reference
 * on @bs is taken over, also on failure (NULL, @errp set: a permission
 * conflict).
 */
BdrvChild *bdrv_attach_child(BlockDriverState *parent, BlockDriverState *bs,
                             const char *name, unsigned role, Error **errp);
void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child);
/*
 * Make every user of @from use @to instead (but a node @to itself, a
 * filter put above @from): links, references and permissions move.
 * False + @errp on a permission conflict, with nothing changed.  Drain
 * both first.
 */
bool bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                       Error **errp);
/*
 * bdrv_replace_node() in a drained section of @from (a filter inserted
 * above @from, or taken out from above @to).  Context: coroutine.
 */
bool coroutine_fn bdrv_co_replace_node_drained(BlockDriverState *from,
                                               BlockDriverState *to,
                                               Error **errp);
/* The node of @bs's backing chain whose backing node is @node, or NULL. */
BlockDriverState *bdrv_find_overlay(BlockDriverState *bs,
                                    BlockDriverState *node);
/*
 * Make @bs read-only in place (blockdev-snapshot's old node, as 7.2
 * reopens it): flushed, what a close writes written (qcow2: bitmaps,
 * clean), write permissions on its children given up.  False + @errp if
 * a user of @bs writes, or a flush fails.
 */
bool coroutine_fn bdrv_co_make_read_only(BlockDriverState *bs, Error **errp);
/*
 * Make @bs writable in place, as 7.2's reopen with read-only=off: the
 * nodes it writes through (its file, data file, a filter's child; not
 * its backing chain) first, each protocol asked to become writable (a
 * file: a read-write descriptor for the same inode, its lock bytes
 * carried over), then each node's write permissions on its children
 * taken (another process's lock refuses), then each format made ready
 * (co_reopen_rw).  Node names, users and links stay.  False + @errp:
 * @bs is read-only again (nodes below it may stay writable, unwritten).
 * Drain @bs first.  Context: coroutine.
 */
bool coroutine_fn bdrv_co_make_writable(BlockDriverState *bs, Error **errp);
/*
 * Make @above's backing node writable in place (a commit's base), see
 * bdrv_co_make_writable().  *@was_ro (may be NULL): it was read-only, to
 * be made so again at the end.  Returns the node (a borrowed
 * reference), or NULL + @errp.  Context: coroutine.
 */
BlockDriverState *coroutine_fn bdrv_co_reopen_backing_rw(
    BlockDriverState *above, bool *was_ro, Error **errp);
/*
 * The child with the PRIMARY role (a format's or a filter's "file", and
 * blkdebug's "image"), or NULL.
 */
BdrvChild *bdrv_primary_child(BlockDriverState *bs);
/* The node a filter passes to, or else the backing file, or NULL. */
BlockDriverState *bdrv_filter_or_cow_bs(BlockDriverState *bs);
/* @bs, or the first node below it (through filters) that is no filter. */
BlockDriverState *bdrv_skip_filters(BlockDriverState *bs);

/*
 * QEMU 7.2's default permissions of a parent on a child of @c->role: a
 * filter passes its users' on; metadata needs consistent reads (and write
 * and resize when @bs is writable) and lets nobody else write or resize;
 * data lets nobody resize; a backing file is only read.
 */
void bdrv_default_perms(BlockDriverState *bs, BdrvChild *c, uint64_t perm,
                        uint64_t shared, uint64_t *nperm, uint64_t *nshared);
/*
 * Take the permissions @parent's role for @c now implies (after the
 * driver changed c->role); false + @errp on a conflict, nothing changed.
 */
bool bdrv_child_refresh_perms(BlockDriverState *parent, BdrvChild *c,
                              Error **errp);
/*
 * Add or drop a user of @bs that is no node (a BlockBackend's root):
 * @c is filled and linked; false + @errp on a conflict, @c unlinked.
 */
bool bdrv_root_attach(BlockDriverState *bs, BdrvChild *c, uint64_t perm,
                      uint64_t shared, Error **errp);
void bdrv_root_detach(BdrvChild *c);
/*
 * Whether @a and @b (or the nodes under them, through "file" children)
 * are the same file, by device and inode; false when either is unknown.
 */
bool bdrv_same_file(BlockDriverState *a, BlockDriverState *b);
/*
 * Give @bs its node name (@name, checked as 7.2 checks a user's, or a
 * generated one when NULL) and list it; false + @errp on a bad name.
 * Release takes it off the list (when the node is freed).
 */
/* Whether @name may name a new node: well formed and unused (7.2's texts) */
bool bdrv_check_node_name(const char *name, Error **errp);
bool bdrv_assign_node_name(BlockDriverState *bs, const char *name,
                           Error **errp);
void bdrv_release_node_name(BlockDriverState *bs);
/*
 * The plain file name @name (never a URL, a protocol or json:) relative to
 * the directory of the local file under @bs; @name itself when absolute or
 * when @bs is no local file.  Returns a new string.
 */
char *bdrv_file_name_beside(BlockDriverState *bs, const char *name);
/* Whether the local file @path is the file under @bs (device and inode). */
bool bdrv_is_file_at(BlockDriverState *bs, const char *path);
/*
 * Open @filename as a file name and nothing else: no json:, no protocol
 * prefix, no option inside it; "host_device" for a device, else "file".
 * For names read from images (a data file), which must never choose
 * their own driver or options.  Context: coroutine.
 */
BlockDriverState *coroutine_fn bdrv_co_open_file_name(const char *filename,
                                                      int flags,
                                                      Error **errp);
/* "consistent read, write": the names of @perm, as 7.2 prints them. */
char *bdrv_perm_names(uint64_t perm);

/* Take option @key out of @options; returns a newly allocated string. */
char *bdrv_opt_take_str(QDict *options, const char *key);
/* Take a size/number option; false + @errp if malformed. */
bool bdrv_opt_take_size(QDict *options, const char *key, uint64_t *val,
                        bool *present, Error **errp);
/*
 * A plain number (decimal, 0x hex or 0 octal; no size suffix) as 7.2's
 * "number" options take it; *@val is left alone when @key is absent.
 */
bool bdrv_opt_take_number(QDict *options, const char *key, uint64_t *val,
                          bool *present, Error **errp);
bool bdrv_opt_take_bool(QDict *options, const char *key, bool *val,
                        Error **errp);

/* Look up create option @name in @opts (strings), or NULL. */
const char *create_opt_get(QDict *opts, const char *name);
bool create_opt_get_size(QDict *opts, const char *name, uint64_t def,
                         uint64_t *val, Error **errp);
/*
 * @s is a value of @d's type (size, number, bool), or an error in 7.2's
 * words (with its hint about suffixes for sizes).  "-1" is a number:
 * 2^64 - 1, as 7.2 reads it.
 */
bool bdrv_check_create_opt_value(const CreateOptDesc *d, const char *s,
                                 Error **errp);
bool create_opt_get_number(QDict *opts, const char *name, uint64_t def,
                           uint64_t *val, Error **errp);
bool create_opt_get_bool(QDict *opts, const char *name, bool def, bool *val,
                         Error **errp);

/* @name resolved against the directory of @base (a path or URL). */
char *bdrv_path_relative_to(const char *base, const char *name);

/* Forget bs->bsc: the node may have holes where it had data. */
static inline void bdrv_bsc_invalidate(BlockDriverState *bs)
{
    bs->bsc.valid = false;
}

/* Set bs->total_bytes again from the driver (after resize). */
int coroutine_fn bdrv_co_refresh_total_bytes(BlockDriverState *bs);

/* Aligned buffer for I/O on @bs (its opt_mem_alignment). */
void *blk_buf_alloc(BlockDriverState *bs, size_t size);
void blk_buf_free(void *buf);
/* A blk_buf_alloc() buffer variable freed when it goes out of scope. */
#define g_autoblkbuf __attribute__((cleanup(blk_buf_autofree)))
static inline void blk_buf_autofree(void *pbuf)
{
    blk_buf_free(*(void **)pbuf);
}

/*
 * Probing (block/probe.c): the format 7.2 would pick for the first
 * BDRV_PROBE_BUF_SIZE bytes @buf of @filename, ours or one we do not
 * read.  Returns its name (NULL: none scores) and sets *@drv to our
 * driver, or NULL for a format we do not read.
 */
#define BDRV_PROBE_BUF_SIZE 512
const char *bdrv_probe_format(const uint8_t *buf, int size,
                              const char *filename, const BlockDriver **drv);
/* Whether @name is a format 7.2 reads and we do not (vmdk, vdi ...). */
bool bdrv_format_is_foreign(const char *name);

/*
 * Drained sections (block/drain.c): bdrv_co_drained_begin() stops the
 * users above @bs (BlockBackends queue new requests, jobs pause, parent
 * nodes are quiesced too) and waits until nothing is in flight on @bs or
 * above; the graph may then change under it.  Sections nest;
 * bdrv_drained_end() lets the users go on.  A user attached to a node
 * inside a section is quiesced as it attaches.
 */
void coroutine_fn bdrv_co_drained_begin(BlockDriverState *bs);
void bdrv_drained_end(BlockDriverState *bs);
/* io.c and the users: one request of @bs finished. */
void bdrv_dec_in_flight(BlockDriverState *bs);
/* A user of a drained node went idle: re-check the drains waiting. */
void bdrv_drain_wake(void);
/* For graph.c: @c now uses / no longer uses a node @n sections drain. */
void bdrv_parent_drained_begin_single(BdrvChild *c, int n);
void bdrv_parent_drained_end_single(BdrvChild *c, int n);

/* A filter's pass-through to its file child (block/filter.c). */
int coroutine_fn bdrv_filter_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags);
int coroutine_fn bdrv_filter_co_pwritev(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags);
int coroutine_fn bdrv_filter_co_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags);
int coroutine_fn bdrv_filter_co_pdiscard(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes);
int coroutine_fn bdrv_filter_co_block_status(BlockDriverState *bs,
                                             bool want_zero, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file);
int coroutine_fn bdrv_filter_co_truncate(BlockDriverState *bs,
                                         int64_t offset, bool exact,
                                         PreallocMode prealloc,
                                         BdrvRequestFlags flags,
                                         Error **errp);
int64_t coroutine_fn bdrv_filter_co_getlength(BlockDriverState *bs);
/* A filter's open with no options: the child's write and zero flags. */
bool coroutine_fn bdrv_filter_co_open(BlockDriverState *bs, QDict *options,
                                      int flags, Error **errp);

/* The registry: every driver, in block/drivers.c. */
extern const BlockDriver *const bdrv_drivers[];
extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_host_device;
extern const BlockDriver bdrv_host_cdrom;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;
extern const BlockDriver bdrv_blkdebug;
extern const BlockDriver bdrv_copy_on_read;
extern const BlockDriver bdrv_compress;
extern const BlockDriver bdrv_null_co;
extern const BlockDriver bdrv_null_aio;
extern const BlockDriver bdrv_nfs;
extern const BlockDriver bdrv_iscsi;
extern const BlockDriver bdrv_nbd;
extern const BlockDriver bdrv_nbd_tcp;
extern const BlockDriver bdrv_nbd_unix;

#endif /* BLOCK_DRIVER_H */
