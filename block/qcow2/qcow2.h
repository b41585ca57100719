/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 driver, private header: on-disk constants from the specification
 * (../shared/reference/qcow2-spec.rst), the driver state, and the
 * interfaces between the files of block/qcow2/:
 *   qcow2.c     open/close, header and extensions, info, read, status
 *   cluster.c   guest offset -> host offset through L1/L2
 *   cache.c     LRU cache of L2 tables
 *   compress.c  decompression on the compute pool
 *   snapshot.c  snapshot table
 * Sizes are bytes unless a name says clusters or entries.
 */
#ifndef BLOCK_QCOW2_QCOW2_H
#define BLOCK_QCOW2_QCOW2_H

#include "util/osdep.h"
#include "block/driver.h"

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
} Qcow2Snapshot;

typedef struct Qcow2Bitmap {
    char *name;
    uint32_t flags;                 /* BME_FLAG_* */
    int granularity_bits;
} Qcow2Bitmap;

#define BME_FLAG_IN_USE (1U << 0)
#define BME_FLAG_AUTO   (1U << 1)
#define QCOW2_MAX_BITMAPS 65535
#define QCOW2_MAX_BITMAP_DIRECTORY_SIZE (1024 * QCOW2_MAX_BITMAPS)

typedef struct Qcow2Cache Qcow2Cache;

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

    bool has_bitmaps;
    int nb_bitmaps;
    uint64_t bitmap_directory_size;
    uint64_t bitmap_directory_offset;
    Qcow2Bitmap *bitmaps;           /* nb_bitmaps entries once read */
    char *image_data_file;          /* external data file name, or NULL */
    BdrvChild *data_file;           /* == bs->file without one */
    bool data_file_raw;

    int max_workers;                /* tasks in flight per request */
    Qcow2Cache *l2_cache;
    CoMutex lock;                   /* metadata: L2 cache and tables */
    bool corrupt_reported;          /* only the first corruption is logged */
} BDRVQcow2State;

static inline int64_t offset_into_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & (s->cluster_size - 1);
}

static inline int64_t offset_into_subcluster(BDRVQcow2State *s,
                                             int64_t offset)
{
    return offset & (s->subcluster_size - 1);
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

/*
 * Report metadata corruption found at run time: always -EIO for the
 * request; the first report per image is printed by the tool layer via
 * the node's warning hook.  (Marking the header corrupt needs the write
 * path: qcow2 part 2.)
 */
int qcow2_signal_corruption(BlockDriverState *bs, const char *fmt, ...)
    QEMU_PRINTF(2, 3);

/* ---- cache.c ---- */
Qcow2Cache *qcow2_cache_create(int entries, int64_t table_size);
void qcow2_cache_destroy(Qcow2Cache *c);
/*
 * Get the table at host @offset, reading it on a miss.  The returned
 * pointer stays valid until qcow2_cache_put().  Context: coroutine, with
 * s->lock held.
 */
int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, uint64_t **table);
void qcow2_cache_put(Qcow2Cache *c, uint64_t **table);

/* ---- cluster.c ---- */
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

/* ---- create.c ---- */
bool coroutine_fn qcow2_co_create(const char *filename, QDict *opts,
                                  Error **errp);
extern const CreateOptDesc qcow2_create_opts[];

/* ---- snapshot.c ---- */
/* Read the snapshot table; false + errp on a malformed one. */
bool coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
void qcow2_free_snapshots(BDRVQcow2State *s);

#endif /* BLOCK_QCOW2_QCOW2_H */
