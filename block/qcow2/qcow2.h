/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 driver, private header: on-disk constants from the specification
 * (../shared/reference/qcow2-spec.rst), the driver state, and the
 * interfaces between the files of block/qcow2/:
 *   qcow2.c     open/close, header and extensions, info, read, status
 *   cluster.c   guest offset -> host offset through L1/L2; allocation
 *               for writes, zero and discard in L2 tables
 *   refcount.c  refcount table and blocks, cluster allocation and freeing
 *   write.c     writes, zero writes, discards, compressed writes, flush
 *   cache.c     LRU write-back cache of L2 tables and refcount blocks
 *   compress.c  (de)compression on the compute pool
 *   snapshot.c  snapshot table
 * Sizes are bytes unless a name says clusters or entries.
 */
#ifndef BLOCK_QCOW2_QCOW2_H
#define BLOCK_QCOW2_QCOW2_H

#include "util/osdep.h"
#include "block/driver.h"
#include "block/snapshot.h"
#include "util/coroutine.h"
#include "util/queue.h"

#include <endian.h>

#define QCOW_MAGIC 0x514649fb               /* "QFI\xfb" */

#define QCOW_MIN_CLUSTER_BITS 9
#define QCOW_MAX_CLUSTER_BITS 21
#define QCOW_MAX_L1_SIZE (32 * MiB)          /* bytes, as QEMU */
#define QCOW_MAX_REFTABLE_SIZE (8 * MiB)
#define QCOW_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

#define L1E_SIZE 8
#define L2E_SIZE_NORMAL 8
#define L2E_SIZE_EXTENDED 16

#define L1E_OFFSET_MASK      0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK      0x00fffffffffffe00ULL
#define L2E_COMPRESSED_OFFSET_SIZE_MASK 0x3fffffffffffffffULL
#define QCOW_OFLAG_COPIED    (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO      (1ULL << 0)
#define L1E_RESERVED_MASK    0x7f000000000001ffULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFTABLE_ENTRY_SIZE 8
#define REFT_OFFSET_MASK     0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK   0x1ffULL

#define QCOW2_SUBCLUSTERS_PER_CLUSTER 32
/* Extents of one request read at once, as QEMU's QCOW2_MAX_WORKERS. */
#define QCOW2_DEFAULT_MAX_WORKERS 8

/* Header extension types. */
#define QCOW2_EXT_MAGIC_END 0
#define QCOW2_EXT_MAGIC_BACKING_FORMAT 0xe2792aca
#define QCOW2_EXT_MAGIC_FEATURE_TABLE 0x6803f857
#define QCOW2_EXT_MAGIC_CRYPTO_HEADER 0x0537be77
#define QCOW2_EXT_MAGIC_BITMAPS 0x23852875
#define QCOW2_EXT_MAGIC_DATA_FILE 0x44415441

/* crypt_method in the header */
#define QCOW_CRYPT_NONE 0
#define QCOW_CRYPT_AES  1
#define QCOW_CRYPT_LUKS 2

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY        (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ULL << 4)
#define QCOW2_INCOMPAT_MASK         0x1fULL
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

typedef enum {
    QCOW2_COMPRESSION_TYPE_ZLIB = 0,
    QCOW2_COMPRESSION_TYPE_ZSTD = 1,
} Qcow2CompressionType;

/* The header as it is on disk (big-endian); v2 ends at nb_snapshots... */
typedef struct QEMU_PACKED QCowHeader {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;               /* entries */
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    /* version 3 only from here */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    uint8_t padding[7];
} QCowHeader;

#define QCOW2_V2_HEADER_SIZE 72
#define QCOW2_V3_MIN_HEADER_SIZE 104

/* What one guest subcluster is, after looking at its L2 entry. */
typedef enum {
    QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN,   /* backing or zeroes */
    QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC,   /* host cluster, sub not allocated */
    QCOW2_SUBCLUSTER_ZERO_PLAIN,
    QCOW2_SUBCLUSTER_ZERO_ALLOC,
    QCOW2_SUBCLUSTER_NORMAL,
    QCOW2_SUBCLUSTER_COMPRESSED,
    QCOW2_SUBCLUSTER_INVALID,
} QCow2SubclusterType;

typedef struct Qcow2Snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;             /* 0 when the entry does not say */
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;                /* -1 when the entry does not say */
    uint32_t extra_data_size;       /* as in the table */
    uint8_t *unknown_extra;         /* extra data past the known fields */
} Qcow2Snapshot;

/* A bitmap directory entry as read (checked by bitmap.c before use). */
typedef struct Qcow2Bitmap {
    char *name;
    uint64_t table_offset;
    uint32_t table_size;            /* entries */
    uint32_t flags;                 /* BME_FLAG_* */
    uint8_t type;
    int granularity_bits;
    uint16_t name_size;
    uint32_t extra_data_size;
} Qcow2Bitmap;

#define BME_ENTRY_HEADER 24               /* fixed part of a directory entry */
/* Bytes of one directory entry, padded to 8 as the spec asks. */
static inline uint64_t qcow2_bitmap_entry_bytes(uint64_t extra_data_size,
                                                uint64_t name_size)
{
    return ROUND_UP(BME_ENTRY_HEADER + extra_data_size + name_size, 8);
}
#define BME_FLAG_IN_USE (1U << 0)
#define BME_FLAG_AUTO   (1U << 1)
#define BME_RESERVED_FLAGS 0xfffffffcU
#define BME_TYPE_DIRTY_TRACKING 1
#define BME_MIN_GRANULARITY_BITS 9
#define BME_MAX_GRANULARITY_BITS 31
#define BME_MAX_NAME_SIZE 1023
#define BME_MAX_TABLE_SIZE 0x8000000U
#define BME_MAX_PHYS_SIZE 0x20000000U     /* bytes of one bitmap's data */
#define BME_TABLE_ENTRY_SIZE 8
#define BME_TABLE_ENTRY_OFFSET_MASK 0x00fffffffffffe00ULL
#define BME_TABLE_ENTRY_ALL_ONES 1ULL
#define BME_TABLE_ENTRY_RESERVED_MASK 0xff000000000001feULL
#define QCOW2_MAX_BITMAPS 65535
#define QCOW2_MAX_BITMAP_DIRECTORY_SIZE (1024 * QCOW2_MAX_BITMAPS)

typedef struct Qcow2Cache Qcow2Cache;

/* Why a cluster is freed: decides whether the host range is discarded. */
typedef enum {
    QCOW2_DISCARD_NEVER = 0,
    QCOW2_DISCARD_ALWAYS,
    QCOW2_DISCARD_REQUEST,
    QCOW2_DISCARD_SNAPSHOT,
    QCOW2_DISCARD_OTHER,
    QCOW2_DISCARD_MAX
} Qcow2DiscardType;

/* A byte range of a COW: copied from the old data into the new cluster. */
typedef struct Qcow2COWRegion {
    unsigned offset;        /* from the start of the first cluster */
    unsigned nb_bytes;
} Qcow2COWRegion;

/*
 * An allocating write in flight: clusters [offset, +nb_clusters) of the
 * guest get host clusters at alloc_offset once the data is written.
 * Other writers to those guest clusters wait on dependent_requests.
 */
typedef struct QCowL2Meta {
    uint64_t offset;            /* guest offset of the first cluster */
    uint64_t alloc_offset;      /* host offset of the first cluster */
    int nb_clusters;
    bool keep_old_clusters;     /* write into the existing host clusters */
    Qcow2COWRegion cow_start;
    Qcow2COWRegion cow_end;
    bool skip_cow;              /* COW regions were zeroed on the host */
    bool prealloc;              /* metadata preallocation: no subcluster
                                 * allocation bits */
    CoQueue dependent_requests;
    QTAILQ_ENTRY(QCowL2Meta) next_in_flight;
    struct QCowL2Meta *next;    /* several for one request */
} QCowL2Meta;

typedef struct Qcow2DiscardRegion {
    uint64_t offset;
    uint64_t bytes;
    QTAILQ_ENTRY(Qcow2DiscardRegion) next;
} Qcow2DiscardRegion;

/* Metadata kinds for overlap checks, as QEMU's overlap-check names them. */
enum {
    QCOW2_OL_MAIN_HEADER    = 1 << 0,
    QCOW2_OL_ACTIVE_L1      = 1 << 1,
    QCOW2_OL_ACTIVE_L2      = 1 << 2,
    QCOW2_OL_REFCOUNT_TABLE = 1 << 3,
    QCOW2_OL_REFCOUNT_BLOCK = 1 << 4,
    QCOW2_OL_SNAPSHOT_TABLE = 1 << 5,
    QCOW2_OL_INACTIVE_L1    = 1 << 6,
    QCOW2_OL_BITMAP_DIRECTORY = 1 << 8,
};

typedef struct BDRVQcow2State {
    int version;
    int cluster_bits;
    int64_t cluster_size;
    int subcluster_bits;
    int64_t subcluster_size;
    int subclusters_per_cluster;
    int l2_bits;                    /* log2(entries per L2 table) */
    int64_t l2_size;                /* entries per L2 table */
    int l2_entry_size;              /* 8 or 16 bytes */
    int csize_shift;                /* compressed descriptor fields */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;
    int64_t virtual_size;

    uint64_t *l1_table;             /* host endian */
    uint32_t l1_size;               /* entries */
    uint64_t l1_table_offset;
    uint32_t l1_vm_state_index;

    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    int refcount_order;

    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    Qcow2CompressionType compression_type;
    char *unknown_features;         /* names of unknown incompatible bits */

    Qcow2Snapshot *snapshots;
    int nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;        /* bytes of the snapshot table */

    bool has_bitmaps;
    uint32_t nb_bitmaps;
    uint64_t bitmap_directory_size;
    uint64_t bitmap_directory_offset;
    Qcow2Bitmap *bitmaps;           /* the directory as in the image */
    bool bitmaps_failed;            /* a store failed: close skips it */
    uint32_t crypt_method;          /* QCOW_CRYPT_*: never decrypted */
    bool has_crypto_header;         /* LUKS: the header extension was read */
    uint64_t crypto_header_offset, crypto_header_length;
    QDict *crypto_info;             /* info's "encrypt", or NULL */
    char *image_data_file;          /* external data file name, or NULL */
    BdrvChild *data_file;           /* == bs->file without one */
    bool data_file_raw;

    int max_workers;                /* tasks in flight per request */
    Qcow2Cache *l2_cache;
    CoMutex lock;                   /* metadata: caches, tables, allocation */
    bool corrupt_reported;          /* only the first corruption is logged */

    /* ---- read-write state (refcount.c, write.c) ---- */
    bool writable;
    uint64_t *refcount_table;       /* host endian, refcount_table_size */
    uint32_t refcount_table_size;   /* entries */
    uint32_t max_refcount_table_index;
    Qcow2Cache *refcount_block_cache;
    /* QEMU's guess whether the image was made with preallocation=metadata */
    bool metadata_preallocation_checked;
    bool metadata_preallocation;
    int refcount_block_bits;        /* log2(refcounts per block) */
    int64_t refcount_block_size;    /* refcounts per block */
    uint64_t refcount_max;
    uint64_t free_cluster_index;    /* first-fit search starts here */
    uint64_t free_byte_offset;      /* packing of compressed clusters */
    bool frees_pending;             /* see qcow2_alloc_clusters() */
    bool discard_passthrough[QCOW2_DISCARD_MAX];
    bool cache_discards;
    QTAILQ_HEAD(, Qcow2DiscardRegion) discards;
    QTAILQ_HEAD(, QCowL2Meta) cluster_allocs;
    int use_lazy_refcounts;         /* -1 at open: as the header says */
    bool unusable;                  /* marked corrupt while open */
    int overlap_check;              /* QCOW2_OL_* checked before writes */
    /*
     * Compressed writes allocate in the order they were issued, whatever
     * order their compression finishes in: the layout is that of a
     * serial writer while compression runs on every core.
     */
    QTAILQ_HEAD(, Qcow2CompressTicket) compress_fifo;
} BDRVQcow2State;

typedef struct Qcow2CompressTicket {
    Coroutine *waiter;              /* waits to reach the head */
    QTAILQ_ENTRY(Qcow2CompressTicket) next;
} Qcow2CompressTicket;

static inline int64_t offset_into_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & (s->cluster_size - 1);
}

static inline int64_t offset_into_subcluster(BDRVQcow2State *s,
                                             int64_t offset)
{
    return offset & (s->subcluster_size - 1);
}

/* Index of the subcluster holding @offset within its cluster. */
static inline int offset_to_sc_index(BDRVQcow2State *s, uint64_t offset)
{
    return offset_into_cluster(s, offset) >> s->subcluster_bits;
}

static inline uint64_t size_to_l1(BDRVQcow2State *s, int64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;

    return (size + (1ULL << shift) - 1) >> shift;
}

static inline bool has_data_file(BDRVQcow2State *s)
{
    return s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
}

static inline int64_t start_of_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & ~(s->cluster_size - 1);
}

static inline int64_t size_to_clusters(BDRVQcow2State *s, int64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

static inline bool has_subclusters(BDRVQcow2State *s)
{
    return s->incompatible_features & QCOW2_INCOMPAT_EXTL2;
}

static inline uint64_t get_l2_entry(BDRVQcow2State *s, uint64_t *l2_table,
                                    int idx)
{
    return be64toh(l2_table[idx * (s->l2_entry_size / 8)]);
}

static inline uint64_t get_l2_bitmap(BDRVQcow2State *s, uint64_t *l2_table,
                                     int idx)
{
    return has_subclusters(s) ? be64toh(l2_table[idx * 2 + 1]) : 0;
}

static inline void set_l2_entry(BDRVQcow2State *s, uint64_t *l2_table,
                                int idx, uint64_t entry)
{
    l2_table[idx * (s->l2_entry_size / 8)] = htobe64(entry);
}

static inline void set_l2_bitmap(BDRVQcow2State *s, uint64_t *l2_table,
                                 int idx, uint64_t bitmap)
{
    assert(has_subclusters(s));
    l2_table[idx * 2 + 1] = htobe64(bitmap);
}

/* Subcluster bitmap ranges [from, to) of the allocation and zero halves. */
#define QCOW_OFLAG_SUB_ALLOC_RANGE(from, to) \
    (((to) >= 32 ? 0xffffffffULL : ((1ULL << (to)) - 1)) & ~((1ULL << (from)) - 1))
#define QCOW_OFLAG_SUB_ZERO_RANGE(from, to) \
    (QCOW_OFLAG_SUB_ALLOC_RANGE(from, to) << 32)
#define QCOW_L2_BITMAP_ALL_ALLOC 0xffffffffULL
#define QCOW_L2_BITMAP_ALL_ZEROES (QCOW_L2_BITMAP_ALL_ALLOC << 32)

/*
 * Report metadata corruption found at run time: returns -EIO for the
 * request.  The first report per image is printed through the node's
 * warning hook.  When @fatal and the image is open read-write, the
 * corrupt bit is set in the header and the node refuses further I/O, as
 * QEMU does.
 */
int qcow2_signal_corruption(BlockDriverState *bs, bool fatal,
                            const char *fmt, ...) QEMU_PRINTF(3, 4);

/* ---- header.c ---- */
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

/* ---- qcow2.c ---- */
/* QEMU's check of a table the header points to (qcow2.c). */
bool qcow2_validate_table(BDRVQcow2State *s, uint64_t offset,
                          uint64_t entries, size_t entry_len,
                          int64_t max_size_bytes, const char *table_name,
                          Error **errp);

/* ---- cache.c (every call: coroutine, s->lock held) ---- */
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
bool qcow2_cache_is_dirty(Qcow2Cache *c);
/* Forget the (unpinned) table at @offset: its cluster was freed. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
/* Drop every dirty mark (after a fatal error; nothing more is written). */
void qcow2_cache_clean(Qcow2Cache *c);
/* Forget every table, dirty or not (none pinned): they are stale. */
void qcow2_cache_empty(Qcow2Cache *c);

/* ---- refcount.c (coroutine, s->lock held unless noted) ---- */
/* Load the refcount table for a read-write open. */
bool coroutine_fn qcow2_refcount_init(BlockDriverState *bs, Error **errp);
void qcow2_refcount_close(BlockDriverState *bs);
/*
 * 1 if far more clusters are in use than the file has allocated (QEMU's
 * test for metadata preallocation: the data is holes in the file), 0 if
 * not, -errno.  Loads the refcounts of a read-only image.  s->lock held.
 */
int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs);
/* Load the refcount table of a read-only image; false on failure. */
bool coroutine_fn qcow2_refcounts_load(BlockDriverState *bs);
/* Add (@decrease: subtract) @addend to one cluster's refcount. */
int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               int64_t cluster_index,
                                               uint64_t addend, bool decrease,
                                               Qcow2DiscardType type);
/* The same for every cluster [@offset, @offset + @length) touches. */
int coroutine_fn qcow2_update_refcount(BlockDriverState *bs, int64_t offset,
                                       int64_t length, uint64_t addend,
                                       bool decrease, Qcow2DiscardType type);
int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount);
/* Allocate @size bytes of clusters, contiguous, refcount 1. */
int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size);
/* Allocate up to @nb_clusters free clusters at @offset; returns how many. */
int64_t coroutine_fn qcow2_alloc_clusters_at(BlockDriverState *bs,
                                             uint64_t offset,
                                             int64_t nb_clusters);
/* Allocate @size bytes for compressed data, packed like QEMU packs it. */
int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size);
void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, int64_t offset,
                                      int64_t size, Qcow2DiscardType type);
/* Free what an L2 entry points to (data or compressed). */
void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type);
/* Queue a host range for discarding (merged with its neighbours). */
void qcow2_queue_discard(BlockDriverState *bs, uint64_t offset,
                         uint64_t length);
/* Discard freed host ranges queued while cache_discards was set. */
void coroutine_fn qcow2_process_discards(BlockDriverState *bs, int ret);
/* The refcount width and what follows from it (block size, maximum). */
void qcow2_refcount_set_order(BDRVQcow2State *s, int order);
/* Entry @i of a refcount block whose entries are 1 << @order bits wide. */
uint64_t qcow2_rc_get(const void *block, int order, uint64_t i);
void qcow2_rc_set(void *block, int order, uint64_t i, uint64_t value);
/*
 * Point the header at the refcount table @table (host endian, @entries
 * entries, already written at @offset) and make it the image's (taking
 * @table; the old table's memory is freed, its clusters are the
 * caller's).  -errno if the header write failed: nothing changed.
 */
int coroutine_fn qcow2_switch_refcount_table(BlockDriverState *bs,
                                             uint64_t *table,
                                             uint32_t entries,
                                             uint64_t offset);
/*
 * s->refcount_table now describes a new refcount structure (check's
 * rebuild): forget the cached blocks and where allocation stood.
 */
void qcow2_refcount_table_replaced(BDRVQcow2State *s);
/* Refcount metadata needed for @clusters clusters (QEMU's formula). */
int64_t qcow2_refcount_metadata_size(int64_t clusters, size_t cluster_size,
                                     int refcount_order, bool generous,
                                     uint64_t *refblock_count);
/* New self-describing refcount structures at @start_offset (the end). */
int64_t coroutine_fn qcow2_refcount_area(BlockDriverState *bs,
                                         uint64_t start_offset,
                                         uint64_t additional_clusters,
                                         bool exact_size,
                                         int new_refblock_index,
                                         uint64_t new_refblock_offset);
/*
 * Fail with -EIO (and mark the image corrupt) if writing [offset, +size)
 * would overwrite metadata of a kind in QCOW2_OL_* minus @ign.
 */
int coroutine_fn qcow2_pre_write_overlap_check(BlockDriverState *bs, int ign,
                                               int64_t offset, int64_t size);

/* ---- refcount-width.c ---- */
/*
 * amend refcount_bits: rewrite every refcount block in the width
 * 1 << @refcount_order, point the header at the new structure, free the
 * old one (refcount-width.c).  s->lock held.
 */
int coroutine_fn qcow2_change_refcount_order(BlockDriverState *bs,
                                             int refcount_order, Error **errp);

/* ---- cluster.c ---- */
void qcow2_cache_put(Qcow2Cache *c, uint64_t **table);
/*
 * Map guest @offset: the type of its subcluster, the host offset of the
 * byte at @offset (for NORMAL and *_ALLOC), and in *@bytes how many bytes
 * from @offset (at most the input) share that type and are contiguous
 * on the host.  For COMPRESSED, *@host_offset is the L2 entry.
 * Returns 0 or -errno.  Context: coroutine, s->lock held.
 */
int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       int64_t *bytes, uint64_t *host_offset,
                                       QCow2SubclusterType *type);
/*
 * Find where a write of [offset, +*bytes) goes: one host-contiguous
 * extent at *host_offset made of clusters written in place and new ones,
 * the latter (and in-place subcluster/zero-flag changes) described by
 * QCowL2Metas chained on *m and registered in s->cluster_allocs.  *bytes
 * shrinks to what the extent covers.  May wait for overlapping
 * allocations.  On error, *m may hold metas to finish with
 * qcow2_l2meta_finish(..., false).
 */
int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, int64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m);
/* Point the L2 entries at the new clusters; frees replaced ones. */
int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m);
void qcow2_alloc_cluster_abort(BlockDriverState *bs, QCowL2Meta *m);
/*
 * Link (@link) or abort every meta of the chain, unregister them, wake
 * their waiters and free them.  Returns the first error.  s->lock held.
 */
int coroutine_fn qcow2_l2meta_finish(BlockDriverState *bs, QCowL2Meta *m,
                                     bool link);
/*
 * The L2 table for guest @offset, writable: allocated when missing, copied
 * when shared with a snapshot.  Put it with qcow2_cache_put().
 */
int coroutine_fn qcow2_get_cluster_table(BlockDriverState *bs,
                                         uint64_t offset, uint64_t **table,
                                         int *l2_index);
/*
 * Allocate room for a compressed cluster of @compressed_size bytes at guest
 * @offset; *@host_offset receives the L2 entry written for it.
 */
int coroutine_fn qcow2_alloc_compressed_cluster_offset(BlockDriverState *bs,
                                                       uint64_t offset,
                                                       int compressed_size,
                                                       uint64_t *host_offset);
int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size);
/* What a whole cluster's L2 entry describes (subclusters aside). */
typedef enum {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} QCow2ClusterType;
QCow2ClusterType qcow2_cluster_type(BDRVQcow2State *s, uint64_t l2_entry);
/* Host offset and byte count of a compressed cluster's data. */
void qcow2_parse_compressed_l2_entry(BlockDriverState *bs, uint64_t l2_entry,
                                     uint64_t *coffset, int *csize);

/* ---- compress.c ---- */
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

/* ---- read.c ---- */
int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                       bool want_zero, int64_t offset,
                                       int64_t count, int64_t *pnum,
                                       int64_t *map,
                                       BlockDriverState **file);

/* ---- write.c ---- */
/* COW of one meta (no I/O lock games: the caller holds s->lock). */
int coroutine_fn qcow2_perform_cow_locked(BlockDriverState *bs,
                                          QCowL2Meta *m);
int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  BdrvRequestFlags flags);
int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes);
int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs);
/* Empty the active disk, as 7.2 does after qemu-img commit. */
int coroutine_fn qcow2_co_make_empty(BlockDriverState *bs);
/* Write caches, clear the dirty bit: before close. */
int coroutine_fn qcow2_co_inactivate(BlockDriverState *bs);
/* Write the L2 and refcount caches (write.c); lock held. */
int coroutine_fn qcow2_write_caches(BlockDriverState *bs);

/* ---- discard.c ---- */
/* Zero flags / discards over whole (sub)clusters. */
int coroutine_fn qcow2_subcluster_zeroize(BlockDriverState *bs,
                                          uint64_t offset, uint64_t bytes,
                                          int flags);
int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, Qcow2DiscardType type,
                                       bool full_discard);
/* A guest's discard request: errors writing the L2 tables come later. */
int coroutine_fn qcow2_guest_discard(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes);
/* Turn the active table's zero clusters into v2 ones (cluster.c). */
int coroutine_fn qcow2_expand_zero_clusters(BlockDriverState *bs);

/* ---- resize.c ---- */
int coroutine_fn qcow2_co_truncate(BlockDriverState *bs, int64_t offset,
                                   bool exact, PreallocMode prealloc,
                                   BdrvRequestFlags flags, Error **errp);

/* ---- snapshot.c ---- */
/*
 * Read the snapshot table; false + errp on a malformed one.  The entries'
 * L1 tables are checked where they are used, not here.
 */
bool coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
/*
 * qemu-img check's view of the snapshot table (7.2's): read again from
 * the header, repaired where @fix allows (entries dropped off the end of
 * a table too large, extra data cut); incomplete v3 entries counted.
 * Then, after the refcounts are right, qcow2_check_fix_snapshot_table()
 * writes the table again if @res has corruptions to fix.
 */
int coroutine_fn qcow2_check_read_snapshot_table(BlockDriverState *bs,
                                                 BdrvCheckResult *res,
                                                 int fix);
int coroutine_fn qcow2_check_fix_snapshot_table(BlockDriverState *bs,
                                                BdrvCheckResult *res,
                                                int fix);
void qcow2_free_snapshots(BDRVQcow2State *s);
/* Snapshot table from s->snapshots, header updated (snapshot.c). */
int coroutine_fn qcow2_write_snapshots(BlockDriverState *bs);
/* The driver's snapshot operations (block/snapshot.h). */
int coroutine_fn qcow2_co_snapshot_create(BlockDriverState *bs,
                                          const BdrvSnapshotInfo *info);
int coroutine_fn qcow2_co_snapshot_goto(BlockDriverState *bs,
                                        const char *id_or_name);
int coroutine_fn qcow2_co_snapshot_delete(BlockDriverState *bs,
                                          const char *id, const char *name,
                                          Error **errp);
/* Read the snapshot's L1 table instead of the active one (snapshot.c). */
int coroutine_fn qcow2_co_snapshot_load_tmp(BlockDriverState *bs,
                                            const char *id, const char *name,
                                            Error **errp);

/* ---- bitmap.c: persistent dirty bitmaps ---- */
/* A bitmap table entry QEMU's rules allow (1 alone means all ones). */
bool qcow2_bitmap_table_entry_ok(BDRVQcow2State *s, uint64_t entry);
/* At open, after the directory was read: the node's bitmaps. */
bool coroutine_fn qcow2_load_bitmaps(BlockDriverState *bs, Error **errp);
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

/* ---- amend.c ---- */
/* qemu-img rebase: the header names another backing file (amend.c). */
int coroutine_fn qcow2_co_change_backing_file(BlockDriverState *bs,
                                              const char *file,
                                              const char *fmt);
int coroutine_fn qcow2_co_amend(BlockDriverState *bs, QDict *opts,
                                bool force, Error **errp);
extern const CreateOptDesc qcow2_amend_opts[];

/* ---- create.c ---- */
bool coroutine_fn qcow2_co_create(const char *filename, QDict *opts,
                                  Error **errp);
extern const CreateOptDesc qcow2_create_opts[];
/* qemu-img measure (create.c); see bdrv_co_measure(). */
bool coroutine_fn qcow2_co_measure(QDict *opts, BlockDriverState *in_bs,
                                   BlockMeasureInfo *info, Error **errp);

/* ---- crypto.c ---- */
/* The crypto header extension's offset and length, checked as 7.2. */
bool qcow2_crypto_header_ext(BDRVQcow2State *s, const uint8_t *data,
                             uint32_t len, Error **errp);
/* Take the "encrypt.*" open options; *@has_key: a key secret was named. */
bool qcow2_crypto_take_options(BDRVQcow2State *s, QDict *options,
                               bool *has_key, Error **errp);
/*
 * An encrypted image: metadata-only opens read what info shows (the LUKS
 * header, checked); any other open fails with 7.2's message for a missing
 * key, or as unsupported.  True for images without encryption.
 */
bool coroutine_fn qcow2_crypto_open(BlockDriverState *bs, int flags,
                                    bool has_key, Error **errp);

/* ---- check.c ---- */
/* qemu-img check (check.c): @fix is BDRV_FIX_LEAKS | BDRV_FIX_ERRORS. */
int coroutine_fn qcow2_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                                int fix);

#endif /* BLOCK_QCOW2_QCOW2_H */
