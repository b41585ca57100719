/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty bitmaps (contract in include/block/dirty-bitmap.h).
 *
 * Bits live in chunks of CHUNK bytes of the serialized form; a NULL
 * chunk is all clear.  Setting a bit allocates its chunk; nothing frees
 * a chunk short of clear, truncate or release, which is fine for
 * bitmaps that only ever gain bits between stores.
 */
#include "util/osdep.h"
#include "block/dirty-bitmap.h"
#include "block/driver.h"

#define CHUNK 4096

struct BdrvDirtyBitmap {
    char *name;
    int gran_bits;
    int64_t size;               /* disk bytes covered */
    uint64_t nbits;
    uint64_t nchunks;
    uint8_t **chunks;
    bool enabled, persistent, inconsistent, in_image, busy;
    QTAILQ_ENTRY(BdrvDirtyBitmap) next;
};

static uint64_t bits_for(int64_t size, int gran_bits)
{
    return DIV_ROUND_UP((uint64_t)size, 1ULL << gran_bits);
}

static void resize_chunks(BdrvDirtyBitmap *bm, uint64_t nbits)
{
    uint64_t n = DIV_ROUND_UP(DIV_ROUND_UP(nbits, 8), CHUNK), i;

    for (i = n; i < bm->nchunks; i++) {
        g_free(bm->chunks[i]);
    }
    bm->chunks = g_renew(uint8_t *, bm->chunks, MAX(n, 1));
    for (i = bm->nchunks; i < n; i++) {
        bm->chunks[i] = NULL;
    }
    bm->nchunks = n;
    bm->nbits = nbits;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_create(BlockDriverState *bs,
                                          const char *name,
                                          uint64_t granularity, int64_t size,
                                          Error **errp)
{
    BdrvDirtyBitmap *bm;

    if (bdrv_dirty_bitmap_find(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return NULL;
    }
    if (granularity < 512 || (granularity & (granularity - 1)) ||
        granularity > (1ULL << 62) || size < 0) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    bm = g_new0(BdrvDirtyBitmap, 1);
    bm->name = g_strdup(name);
    bm->gran_bits = ctz64(granularity);
    bm->size = size;
    bm->enabled = true;
    resize_chunks(bm, bits_for(size, bm->gran_bits));
    QTAILQ_INSERT_TAIL(&bs->dirty_bitmaps, bm, next);
    return bm;
}

static void free_bitmap(BdrvDirtyBitmap *bm)
{
    for (uint64_t i = 0; i < bm->nchunks; i++) {
        g_free(bm->chunks[i]);
    }
    g_free(bm->chunks);
    g_free(bm->name);
    g_free(bm);
}

void bdrv_dirty_bitmap_release(BlockDriverState *bs, BdrvDirtyBitmap *bm)
{
    QTAILQ_REMOVE(&bs->dirty_bitmaps, bm, next);
    free_bitmap(bm);
}

void bdrv_dirty_bitmap_release_all(BlockDriverState *bs)
{
    BdrvDirtyBitmap *bm;

    while ((bm = QTAILQ_FIRST(&bs->dirty_bitmaps))) {
        bdrv_dirty_bitmap_release(bs, bm);
    }
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_find(BlockDriverState *bs,
                                        const char *name)
{
    BdrvDirtyBitmap *bm;

    QTAILQ_FOREACH(bm, &bs->dirty_bitmaps, next) {
        if (bm->name && name && !strcmp(bm->name, name)) {
            return bm;
        }
    }
    return NULL;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *bm)
{
    return bm ? QTAILQ_NEXT(bm, next) : QTAILQ_FIRST(&bs->dirty_bitmaps);
}

int bdrv_dirty_bitmap_count_all(BlockDriverState *bs)
{
    BdrvDirtyBitmap *bm;
    int n = 0;

    QTAILQ_FOREACH(bm, &bs->dirty_bitmaps, next) {
        n++;
    }
    return n;
}

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bm)
{
    return bm->name;
}

uint64_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bm)
{
    return 1ULL << bm->gran_bits;
}

int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bm)
{
    return bm->size;
}

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bm)
{
    return bm->enabled;
}

void bdrv_dirty_bitmap_set_enabled(BdrvDirtyBitmap *bm, bool enabled)
{
    bm->enabled = enabled;
}

bool bdrv_dirty_bitmap_persistent(const BdrvDirtyBitmap *bm)
{
    return bm->persistent;
}

void bdrv_dirty_bitmap_set_persistent(BdrvDirtyBitmap *bm, bool persistent)
{
    bm->persistent = persistent;
}

bool bdrv_dirty_bitmap_in_image(const BdrvDirtyBitmap *bm)
{
    return bm->in_image;
}

void bdrv_dirty_bitmap_set_in_image(BdrvDirtyBitmap *bm)
{
    bm->in_image = true;
}

bool bdrv_dirty_bitmap_inconsistent(const BdrvDirtyBitmap *bm)
{
    return bm->inconsistent;
}

void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bm)
{
    bm->inconsistent = true;
}

bool bdrv_dirty_bitmap_check_usable(const BdrvDirtyBitmap *bm, Error **errp)
{
    if (bm->inconsistent) {
        error_setg(errp, "Bitmap '%s' is inconsistent and cannot be used",
                   bm->name);
        error_append_hint(errp, "Try block-dirty-bitmap-remove to delete "
                          "this bitmap from disk\n");
        return false;
    }
    return true;
}

static uint8_t *chunk_of(BdrvDirtyBitmap *bm, uint64_t byte)
{
    uint8_t **c = &bm->chunks[byte / CHUNK];

    if (!*c) {
        *c = g_malloc0(CHUNK);
    }
    return *c;
}

/* Set bits [@first, @first + @n); the caller keeps them below nbits. */
static void set_bits(BdrvDirtyBitmap *bm, uint64_t first, uint64_t n)
{
    while (n) {
        uint64_t byte = first / 8, in_chunk = byte % CHUNK;
        unsigned bit = first % 8;
        uint8_t *c = chunk_of(bm, byte);

        if (bit == 0 && n >= 8) {
            uint64_t nbytes = MIN(n / 8, CHUNK - in_chunk);
            memset(c + in_chunk, 0xff, nbytes);
            first += nbytes * 8;
            n -= nbytes * 8;
        } else {
            unsigned k = MIN(8 - bit, n);
            c[in_chunk] |= ((1U << k) - 1) << bit;
            first += k;
            n -= k;
        }
    }
}

/*
 * The bits [*@first, *@end) covering bytes [@offset, @offset + @bytes),
 * clipped at the disk's end; false when none.
 */
static bool bits_of_range(const BdrvDirtyBitmap *bm, int64_t offset,
                          int64_t bytes, uint64_t *first, uint64_t *end)
{
    if (offset < 0 || bytes <= 0 || offset >= bm->size) {
        return false;
    }
    bytes = MIN(bytes, bm->size - offset);
    *first = (uint64_t)offset >> bm->gran_bits;
    *end = ((uint64_t)(offset + bytes - 1) >> bm->gran_bits) + 1;
    return true;
}

void bdrv_dirty_bitmap_set_range(BdrvDirtyBitmap *bm, int64_t offset,
                                 int64_t bytes)
{
    uint64_t first, end;

    if (bits_of_range(bm, offset, bytes, &first, &end)) {
        set_bits(bm, first, end - first);
    }
}

void bdrv_dirty_bitmap_reset_range(BdrvDirtyBitmap *bm, int64_t offset,
                                   int64_t bytes)
{
    uint64_t first, end;

    if (!bits_of_range(bm, offset, bytes, &first, &end)) {
        return;
    }
    while (first < end) {
        uint64_t byte = first / 8;
        uint8_t *c = bm->chunks[byte / CHUNK];
        unsigned bit = first % 8;

        if (!c) {
            /* a clear chunk: skip to the next one */
            first = (byte / CHUNK + 1) * CHUNK * 8;
            continue;
        }
        if (bit == 0 && end - first >= 8) {
            uint64_t nbytes = MIN((end - first) / 8, CHUNK - byte % CHUNK);
            memset(c + byte % CHUNK, 0, nbytes);
            first += nbytes * 8;
        } else {
            unsigned k = MIN(8 - bit, end - first);
            c[byte % CHUNK] &= ~(((1U << k) - 1) << bit);
            first += k;
        }
    }
}

/* The first bit in [@bit, @end) that is @dirty, or @end. */
static uint64_t find_bit(const BdrvDirtyBitmap *bm, uint64_t bit,
                         uint64_t end, bool dirty)
{
    while (bit < end) {
        uint64_t byte = bit / 8;
        const uint8_t *c = bm->chunks[byte / CHUNK];

        if (!c) {
            if (!dirty) {
                return bit;
            }
            bit = (byte / CHUNK + 1) * CHUNK * 8;
            continue;
        }
        if (bit % 8 == 0 && c[byte % CHUNK] == (dirty ? 0 : 0xff)) {
            bit += 8;
            continue;
        }
        if (((c[byte % CHUNK] >> (bit % 8)) & 1) == dirty) {
            return bit;
        }
        bit++;
    }
    return end;
}

/* The first byte offset in [@offset, @end) whose bit is @dirty, or -1. */
static int64_t find_offset(const BdrvDirtyBitmap *bm, int64_t offset,
                           int64_t end, bool dirty)
{
    uint64_t bit, last;

    end = MIN(end, bm->size);
    if (offset < 0 || offset >= end) {
        return -1;
    }
    bit = (uint64_t)offset >> bm->gran_bits;
    last = ((uint64_t)(end - 1) >> bm->gran_bits) + 1;
    bit = find_bit(bm, bit, last, dirty);
    return bit < last ? MAX(offset, (int64_t)(bit << bm->gran_bits)) : -1;
}

int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bm,
                                     int64_t offset, int64_t end)
{
    return find_offset(bm, offset, end, true);
}

int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bm,
                                    int64_t offset, int64_t end)
{
    return find_offset(bm, offset, end, false);
}

bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bm,
                                       int64_t start, int64_t end,
                                       int64_t max_bytes, int64_t *offset,
                                       int64_t *bytes)
{
    int64_t first = bdrv_dirty_bitmap_next_dirty(bm, start, end), stop;

    if (first < 0) {
        return false;
    }
    end = MIN(MIN(end, bm->size), first + max_bytes);
    stop = bdrv_dirty_bitmap_next_zero(bm, first, end);
    *offset = first;
    *bytes = (stop < 0 ? end : stop) - first;
    return true;
}

bool bdrv_dirty_bitmap_busy(const BdrvDirtyBitmap *bm)
{
    return bm->busy;
}

void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bm, bool busy)
{
    bm->busy = busy;
}

void bdrv_dirty_bitmap_clear(BdrvDirtyBitmap *bm)
{
    for (uint64_t i = 0; i < bm->nchunks; i++) {
        g_free(bm->chunks[i]);
        bm->chunks[i] = NULL;
    }
}

bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bm, int64_t offset)
{
    uint64_t bit, byte;
    const uint8_t *c;

    if (offset < 0 || offset >= bm->size) {
        return false;
    }
    bit = (uint64_t)offset >> bm->gran_bits;
    byte = bit / 8;
    c = bm->chunks[byte / CHUNK];
    return c && (c[byte % CHUNK] >> (bit % 8)) & 1;
}

uint64_t bdrv_dirty_bitmap_count(const BdrvDirtyBitmap *bm)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < bm->nchunks; i++) {
        const uint8_t *c = bm->chunks[i];

        for (int j = 0; c && j < CHUNK; j += 8) {
            uint64_t w;
            memcpy(&w, c + j, 8);
            n += __builtin_popcountll(w);
        }
    }
    return n;
}

uint64_t bdrv_dirty_bitmap_data_size(const BdrvDirtyBitmap *bm)
{
    return DIV_ROUND_UP(bm->nbits, 8);
}

void bdrv_dirty_bitmap_serialize(const BdrvDirtyBitmap *bm, uint64_t pos,
                                 uint64_t len, uint8_t *buf)
{
    assert(pos + len <= bdrv_dirty_bitmap_data_size(bm));
    while (len) {
        uint64_t in_chunk = pos % CHUNK, n = MIN(len, CHUNK - in_chunk);
        const uint8_t *c = bm->chunks[pos / CHUNK];

        if (c) {
            memcpy(buf, c + in_chunk, n);
        } else {
            memset(buf, 0, n);
        }
        buf += n;
        pos += n;
        len -= n;
    }
}

bool bdrv_dirty_bitmap_data_is_zero(const BdrvDirtyBitmap *bm, uint64_t pos,
                                    uint64_t len)
{
    assert(pos + len <= bdrv_dirty_bitmap_data_size(bm));
    while (len) {
        uint64_t in_chunk = pos % CHUNK, n = MIN(len, CHUNK - in_chunk);
        const uint8_t *c = bm->chunks[pos / CHUNK];

        if (c && !buffer_is_zero(c + in_chunk, n)) {
            return false;
        }
        pos += n;
        len -= n;
    }
    return true;
}

/* Clear the bits past nbits in the last byte, if @pos..@end holds it. */
static void mask_tail(BdrvDirtyBitmap *bm, uint64_t pos, uint64_t end)
{
    uint64_t last = bdrv_dirty_bitmap_data_size(bm) - 1;

    if ((bm->nbits & 7) && pos <= last && last < end &&
        bm->chunks[last / CHUNK]) {
        bm->chunks[last / CHUNK][last % CHUNK] &= (1U << (bm->nbits & 7)) - 1;
    }
}

void bdrv_dirty_bitmap_deserialize(BdrvDirtyBitmap *bm, uint64_t pos,
                                   uint64_t len, const uint8_t *buf)
{
    uint64_t start = pos, end = pos + len;

    assert(end <= bdrv_dirty_bitmap_data_size(bm));
    while (pos < end) {
        uint64_t in_chunk = pos % CHUNK, n = MIN(end - pos, CHUNK - in_chunk);
        uint8_t *c = bm->chunks[pos / CHUNK];

        if (c) {
            memcpy(c + in_chunk, buf, n);
        } else if (!buffer_is_zero(buf, n)) {
            memcpy(chunk_of(bm, pos) + in_chunk, buf, n);
        }
        buf += n;
        pos += n;
    }
    mask_tail(bm, start, end);
}

void bdrv_dirty_bitmap_deserialize_ones(BdrvDirtyBitmap *bm, uint64_t pos,
                                        uint64_t len)
{
    uint64_t first = pos * 8, n = MIN(len * 8, bm->nbits - first);

    assert(pos + len <= bdrv_dirty_bitmap_data_size(bm));
    set_bits(bm, first, n);
}

bool bdrv_dirty_bitmap_sizes_match(int64_t dst_size, int64_t src_size,
                                   Error **errp)
{
    if (dst_size != src_size) {
        error_setg(errp, "Bitmaps are of different sizes (destination size "
                   "is %" PRId64 ", source size is %" PRId64 ") and can't be "
                   "merged", dst_size, src_size);
        return false;
    }
    return true;
}

bool bdrv_dirty_bitmap_merge(BdrvDirtyBitmap *dst, const BdrvDirtyBitmap *src,
                             Error **errp)
{
    if (!bdrv_dirty_bitmap_sizes_match(dst->size, src->size, errp)) {
        return false;
    }
    for (uint64_t i = 0; i < src->nchunks; i++) {
        const uint8_t *c = src->chunks[i];

        for (uint64_t j = 0; c && j < CHUNK; j++) {
            uint64_t bit = (i * CHUNK + j) * 8;

            if (!c[j]) {
                continue;
            }
            if (dst->gran_bits == src->gran_bits) {
                chunk_of(dst, i * CHUNK + j)[j] |= c[j];
                continue;
            }
            for (int k = 0; k < 8; k++) {
                if (c[j] >> k & 1) {
                    bdrv_dirty_bitmap_set_range(
                        dst, (int64_t)((bit + k) << src->gran_bits),
                        1LL << src->gran_bits);
                }
            }
        }
    }
    return true;
}

void bdrv_dirty_bitmap_truncate(BdrvDirtyBitmap *bm, int64_t size)
{
    uint64_t nbits = bits_for(size, bm->gran_bits);

    if (nbits < bm->nbits) {
        /* clear what the smaller bitmap no longer covers */
        uint64_t keep = DIV_ROUND_UP(nbits, 8);
        uint64_t old = bdrv_dirty_bitmap_data_size(bm), pos = keep;

        while (pos < old) {
            uint64_t in_chunk = pos % CHUNK, n = MIN(old - pos,
                                                     CHUNK - in_chunk);
            if (bm->chunks[pos / CHUNK]) {
                memset(bm->chunks[pos / CHUNK] + in_chunk, 0, n);
            }
            pos += n;
        }
        bm->nbits = nbits;
        if (keep) {
            mask_tail(bm, keep - 1, keep);
        }
    }
    resize_chunks(bm, nbits);
    bm->size = size;
}

void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BdrvDirtyBitmap *bm;

    QTAILQ_FOREACH(bm, &bs->dirty_bitmaps, next) {
        if (bm->enabled && !bm->inconsistent) {
            bdrv_dirty_bitmap_set_range(bm, offset, bytes);
        }
    }
}
