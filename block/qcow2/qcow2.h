/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 driver, private header: on-disk constants from the specification
 * (../shared/reference/qcow2-spec.rst) that several files use, the driver
 * state, and inline helpers.  The interface of each file X.c is in X.h,
 * included at the end (qcow2.c's own one function excepted): header.c
 * owns the header, cluster.c the L1/L2 mapping, refcount.c allocation,
 * cache.c the table caches, read.c/write.c the data path.
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

#define QCOW_MAX_L1_SIZE (32 * MiB)          /* bytes, as QEMU */
#define QCOW_MAX_REFTABLE_SIZE (8 * MiB)

#define L1E_SIZE 8
#define L2E_SIZE_NORMAL 8
#define L2E_SIZE_EXTENDED 16

#define L1E_OFFSET_MASK      0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK      0x00fffffffffffe00ULL
#define QCOW_OFLAG_COPIED    (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO      (1ULL << 0)
#define REFTABLE_ENTRY_SIZE 8
#define REFT_OFFSET_MASK     0xfffffffffffffe00ULL



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
#define BME_TABLE_ENTRY_OFFSET_MASK 0x00fffffffffffe00ULL
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

/* ---- qcow2.c ---- */
/*
 * Report metadata corruption found at run time: returns -EIO for the
 * request.  The first report per image is printed through the node's
 * warning hook.  When @fatal and the image is open read-write, the
 * corrupt bit is set in the header and the node refuses further I/O, as
 * QEMU does.
 */
int qcow2_signal_corruption(BlockDriverState *bs, bool fatal,
                            const char *fmt, ...) QEMU_PRINTF(3, 4);

/* QEMU's check of a table the header points to (qcow2.c). */
bool qcow2_validate_table(BDRVQcow2State *s, uint64_t offset,
                          uint64_t entries, size_t entry_len,
                          int64_t max_size_bytes, const char *table_name,
                          Error **errp);

/* The interface of each file, in its own header. */
#include "header.h"
#include "cache.h"
#include "refcount.h"
#include "refcount-width.h"
#include "cluster.h"
#include "compress.h"
#include "read.h"
#include "write.h"
#include "discard.h"
#include "resize.h"
#include "snapshot.h"
#include "bitmap.h"
#include "amend.h"
#include "create.h"
#include "crypto.h"
#include "check.h"

#endif /* BLOCK_QCOW2_QCOW2_H */
