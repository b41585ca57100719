/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots: reading the snapshot table (info, opening a
 * snapshot read-only), and on a writable image creating, reverting to
 * and deleting snapshots as QEMU 7.2 does: same table layout, same
 * refcount and COPIED-flag updates, same order of writes (the refcounts
 * are on disk before the table that needs them; a crash leaks at most).
 * Entries have variable length; every length is checked against the
 * table before it is used.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

#define SNAPSHOT_HEADER_SIZE 40
#define MAX_SNAPSHOT_EXTRA_DATA 1024
/* Upper bound of the whole table, as QEMU: at most 64 MiB. */
#define MAX_SNAPSHOTS_SIZE (64 * MiB)
/* vm_state_size_large, disk_size, icount: what 7.2 writes */
#define SNAPSHOT_EXTRA_KNOWN 24
#define MAX_SNAPSHOTS 65536
#define HEADER_NB_SNAPSHOTS 60      /* nb_snapshots, then snapshots_offset */

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
        g_free(s->snapshots[i].unknown_extra);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
    s->nb_snapshots = 0;
}

/*
 * The snapshot table is read through a window of up to 64 KiB, so that
 * a table of thousands of entries costs a few reads, not three per entry.
 * The window never reaches past the end of the file (a network device
 * fails such reads) unless the entry itself does, read exactly as asked.
 */
#define TABLE_WINDOW (64 * KiB)

typedef struct TableReader {
    BlockDriverState *bs;
    uint8_t *buf;
    uint64_t buf_offset;
    size_t buf_len;
    size_t buf_alloc;
    int64_t file_len;
} TableReader;

/*
 * @len bytes at @offset of the file; the pointer is valid until the next
 * call.
 */
static const uint8_t *coroutine_fn table_read(TableReader *tr,
                                              uint64_t offset, size_t len,
                                              Error **errp)
{
    size_t want = len;
    int ret;

    if (offset >= tr->buf_offset && len <= tr->buf_len &&
        offset - tr->buf_offset <= tr->buf_len - len) {
        return tr->buf + (offset - tr->buf_offset);
    }
    if (tr->file_len > 0 && offset < (uint64_t)tr->file_len &&
        (uint64_t)tr->file_len - offset > want) {
        want = MIN(MAX(want, TABLE_WINDOW),
                   (uint64_t)tr->file_len - offset);
    }
    if (want > tr->buf_alloc || !tr->buf) {
        g_free(tr->buf);
        tr->buf_alloc = MAX(want, 1);
        tr->buf = g_malloc(tr->buf_alloc);
    }
    tr->buf_len = 0;
    ret = bdrv_co_pread(tr->bs->file, offset, want, tr->buf, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read snapshot table");
        return NULL;
    }
    tr->buf_offset = offset;
    tr->buf_len = want;
    return tr->buf;
}

/*
 * Read the snapshot table (s->snapshots_offset, s->nb_snapshots) as 7.2
 * does.  The L1 tables are not checked here but where they are used, so
 * that one broken entry does not keep the image from opening.  With
 * @repair (check -r all), what cannot be read is dropped instead of
 * failing: extra data past 1 KiB (counted in *@extra_dropped) and the
 * entries past a table grown over 64 MiB (counted in *@nb_reduced; the
 * header is updated by the caller).
 */
static int coroutine_fn read_snapshot_table(BlockDriverState *bs,
                                            bool repair, int *nb_reduced,
                                            int *extra_dropped,
                                            Error **errp)
{
    int ret = -EIO;         /* table_read's failures */

    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = s->snapshots_offset, pre_offset, end = offset;
    uint64_t table_size = 0;
    uint32_t n = s->nb_snapshots;
    uint32_t i;
    TableReader tr = { .bs = bs, .file_len = bdrv_co_getlength(bs->file->bs) };

    s->nb_snapshots = 0;
    s->snapshots = g_new0(Qcow2Snapshot, MAX(n, 1));
    for (i = 0; i < n; i++) {
        const uint8_t *h, *rest, *names;
        Qcow2Snapshot *sn = &s->snapshots[i];
        uint32_t extra, kept, id_len, name_len;

        pre_offset = offset;
        h = table_read(&tr, offset, SNAPSHOT_HEADER_SIZE, errp);
        if (!h) {
            goto fail;
        }
        sn->l1_table_offset = ldq_be_p(h);
        sn->l1_size = ldl_be_p(h + 8);
        id_len = lduw_be_p(h + 12);
        name_len = lduw_be_p(h + 14);
        sn->date_sec = ldl_be_p(h + 16);
        sn->date_nsec = ldl_be_p(h + 20);
        sn->vm_clock_nsec = ldq_be_p(h + 24);
        sn->vm_state_size = ldl_be_p(h + 32);
        extra = kept = ldl_be_p(h + 36);
        sn->icount = -1;
        if (extra > MAX_SNAPSHOT_EXTRA_DATA) {
            if (!repair) {
                error_setg(errp, "Too much extra metadata in snapshot table "
                           "entry %" PRIu32, i);
                error_append_hint(errp, "You can force-remove this extra "
                                  "metadata with qemu-img check -r all\n");
                ret = -EFBIG;
                goto fail;
            }
            bdrv_message(BDRV_MSG_CHECK,
                         "Discarding too much extra metadata in snapshot "
                         "table entry %" PRIu32 " (%" PRIu32 " > %u)",
                         i, extra, MAX_SNAPSHOT_EXTRA_DATA);
            (*extra_dropped)++;
            kept = MAX_SNAPSHOT_EXTRA_DATA;
        }
        sn->extra_data_size = kept;
        /* the extra data kept (all but what repair drops), then the names */
        rest = table_read(&tr, offset + SNAPSHOT_HEADER_SIZE, kept, errp);
        if (!rest) {
            goto fail;
        }
        if (kept >= 8) {
            sn->vm_state_size = ldq_be_p(rest);
        }
        sn->disk_size = kept >= 16 ? ldq_be_p(rest + 8) : s->virtual_size;
        if (kept >= 24) {
            sn->icount = ldq_be_p(rest + 16);
        }
        if (kept > SNAPSHOT_EXTRA_KNOWN) {
            /* kept to be written back unchanged (cut to 1 KiB by repair) */
            sn->unknown_extra = g_memdup2(rest + SNAPSHOT_EXTRA_KNOWN,
                                          kept - SNAPSHOT_EXTRA_KNOWN);
        }
        names = table_read(&tr, offset + SNAPSHOT_HEADER_SIZE + extra,
                           id_len + name_len, errp);
        if (!names) {
            g_free(sn->unknown_extra);
            sn->unknown_extra = NULL;
            goto fail;
        }
        sn->id_str = g_strndup((char *)names, id_len);
        sn->name = g_strndup((char *)names + id_len, name_len);
        s->nb_snapshots++;
        offset += SNAPSHOT_HEADER_SIZE + (uint64_t)extra + id_len + name_len;
        table_size = ROUND_UP(table_size, 8) + SNAPSHOT_HEADER_SIZE + kept +
                     id_len + name_len;
        if (table_size > MAX_SNAPSHOTS_SIZE ||
            offset - s->snapshots_offset > INT_MAX) {
            if (!repair) {
                error_setg(errp, "Snapshot table is too big");
                error_append_hint(errp, "You can force-remove all %" PRIu32
                                  " overhanging snapshots with qemu-img "
                                  "check -r all\n", n - i);
                ret = -EFBIG;
                goto fail;
            }
            bdrv_message(BDRV_MSG_CHECK,
                         "Discarding %" PRIu32 " overhanging snapshots "
                         "(snapshot table is too big)",
                         n - i);
            *nb_reduced += n - i;
            g_free(sn->id_str);
            g_free(sn->name);
            g_free(sn->unknown_extra);
            memset(sn, 0, sizeof(*sn));
            s->nb_snapshots--;
            offset = pre_offset;
            break;
        }
        end = offset;
        offset = ROUND_UP(offset, 8);
    }
    /* the bytes on disk, the last entry unpadded, as 7.2 counts them */
    s->snapshots_size = end - s->snapshots_offset;
    g_free(tr.buf);
    return 0;

fail:
    g_free(tr.buf);
    qcow2_free_snapshots(s);
    return ret;
}

bool coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp)
{
    return read_snapshot_table(bs, false, NULL, NULL, errp) == 0;
}

int coroutine_fn qcow2_check_read_snapshot_table(BlockDriverState *bs,
                                                 BdrvCheckResult *res,
                                                 int fix)
{
    BDRVQcow2State *s = bs->opaque;
    Error *err = NULL;
    uint8_t ptr[12];
    int nb_reduced = 0, extra_dropped = 0, ret;
    uint32_t i;

    /* the table as the header says, whatever open made of it */
    qcow2_free_snapshots(s);
    ret = bdrv_co_pread(bs->file, HEADER_NB_SNAPSHOTS, sizeof(ptr), ptr, 0);
    if (ret < 0) {
        res->check_errors++;
        bdrv_message(BDRV_MSG_CHECK,
                     "ERROR failed to read the snapshot table pointer from "
                     "the image header: %s",
                     strerror(-ret));
        return ret;
    }
    s->nb_snapshots = ldl_be_p(ptr);
    s->snapshots_offset = ldq_be_p(ptr + 4);
    if (s->nb_snapshots > MAX_SNAPSHOTS && (fix & BDRV_FIX_ERRORS)) {
        bdrv_message(BDRV_MSG_CHECK, "Discarding %u overhanging snapshots",
                     s->nb_snapshots - MAX_SNAPSHOTS);
        nb_reduced += s->nb_snapshots - MAX_SNAPSHOTS;
        s->nb_snapshots = MAX_SNAPSHOTS;
    }
    if (!qcow2_validate_table(s, s->snapshots_offset, s->nb_snapshots,
                              SNAPSHOT_HEADER_SIZE,
                              SNAPSHOT_HEADER_SIZE * MAX_SNAPSHOTS,
                              "snapshot table", &err)) {
        res->check_errors++;
        error_prepend(&err, "ERROR ");
        bdrv_report_err(err);
        if (s->nb_snapshots > MAX_SNAPSHOTS) {
            bdrv_message(BDRV_MSG_CHECK,
                         "You can force-remove all %u overhanging "
                         "snapshots with qemu-img check -r all",
                         s->nb_snapshots - MAX_SNAPSHOTS);
        }
        s->snapshots_offset = 0;
        s->nb_snapshots = 0;
        return -EFBIG;
    }
    ret = read_snapshot_table(bs, fix & BDRV_FIX_ERRORS, &nb_reduced,
                              &extra_dropped, &err);
    if (ret < 0) {
        res->check_errors++;
        error_prepend(&err, "ERROR failed to read the snapshot table: ");
        bdrv_report_err(err);
        s->snapshots_offset = 0;
        s->nb_snapshots = 0;
        return ret;
    }
    res->corruptions += nb_reduced + extra_dropped;
    if (nb_reduced) {
        /* before the refcount check, which counts the header's table */
        uint8_t nb[4];

        stl_be_p(nb, s->nb_snapshots);
        ret = bdrv_co_pwrite(bs->file, HEADER_NB_SNAPSHOTS, sizeof(nb), nb,
                             0);
        if (ret == 0) {
            ret = bdrv_co_flush(bs->file->bs);
        }
        if (ret < 0) {
            res->check_errors++;
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR failed to update the snapshot count in "
                         "the image header: %s",
                         strerror(-ret));
            return ret;
        }
        res->corruptions_fixed += nb_reduced;
        res->corruptions -= nb_reduced;
    }
    /* v3 entries carry at least vm_state_size_large and disk_size */
    for (i = 0; s->version >= 3 && i < (uint32_t)s->nb_snapshots; i++) {
        if (s->snapshots[i].extra_data_size < 16) {
            res->corruptions++;
            bdrv_message(BDRV_MSG_CHECK,
                         "%s snapshot table entry %" PRIu32 " is "
                         "incomplete",
                         fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", i);
        }
    }
    return 0;
}

int coroutine_fn qcow2_check_fix_snapshot_table(BlockDriverState *bs,
                                                BdrvCheckResult *res,
                                                int fix)
{
    int ret;

    if (!res->corruptions || !(fix & BDRV_FIX_ERRORS)) {
        return 0;
    }
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        res->check_errors++;
        bdrv_message(BDRV_MSG_CHECK,
                     "ERROR failed to update snapshot table: %s",
                     strerror(-ret));
        return ret;
    }
    res->corruptions_fixed += res->corruptions;
    res->corruptions = 0;
    return 0;
}

/* Index of the snapshot matching @id and/or @name (non-NULL ones), or -1. */
static int find_snapshot(BDRVQcow2State *s, const char *id, const char *name)
{
    int i;

    if (!id && !name) {
        return -1;
    }
    for (i = 0; i < s->nb_snapshots; i++) {
        if ((!id || !strcmp(s->snapshots[i].id_str, id)) &&
            (!name || !strcmp(s->snapshots[i].name, name))) {
            return i;
        }
    }
    return -1;
}

/* By ID first, then by name (qemu-img snapshot -a). */
static int find_snapshot_by_id_or_name(BDRVQcow2State *s, const char *arg)
{
    int i = find_snapshot(s, arg, NULL);

    return i >= 0 ? i : find_snapshot(s, NULL, arg);
}

/* Write an L1 table (host endian in @l1) at @offset, synchronously. */
static int coroutine_fn write_l1_table(BlockDriverState *bs, uint64_t offset,
                                       const uint64_t *l1, uint32_t n)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *be = g_new(uint64_t, MAX(n, 1));
    uint32_t i;
    int ret;

    for (i = 0; i < n; i++) {
        be[i] = htobe64(l1[i]);
    }
    ret = qcow2_pre_write_overlap_check(bs, offset == s->l1_table_offset ?
                                        QCOW2_OL_ACTIVE_L1 :
                                        QCOW2_OL_INACTIVE_L1,
                                        offset, (int64_t)n * L1E_SIZE);
    if (ret == 0 && n) {
        ret = bdrv_co_pwrite(bs->file, offset, (int64_t)n * L1E_SIZE, be, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret;
}

/*
 * The L1 table of @n entries at @offset, host endian, in a new buffer of
 * MAX(@n, @alloc) entries (zeroes past the table); g_free() it.
 */
static int coroutine_fn read_l1_table(BlockDriverState *bs, uint64_t offset,
                                      uint32_t n, uint32_t alloc,
                                      uint64_t **table)
{
    g_autofree uint64_t *l1 = g_malloc0(MAX(MAX(n, alloc), 1) * L1E_SIZE);
    uint32_t i;
    int ret = bdrv_co_pread(bs->file, offset, (int64_t)n * L1E_SIZE, l1, 0);

    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < n; i++) {
        l1[i] = be64toh(l1[i]);
    }
    *table = g_steal_pointer(&l1);
    return 0;
}

/* QEMU's check of a snapshot's L1 table before it is used. */
static bool snapshot_l1_ok(BDRVQcow2State *s, const Qcow2Snapshot *sn,
                           Error **errp)
{
    return qcow2_validate_table(s, sn->l1_table_offset, sn->l1_size,
                                L1E_SIZE, QCOW_MAX_L1_SIZE,
                                "Snapshot L1 table", errp);
}

/* 7.2's table layout: entries padded to 8 bytes, all but the last. */
static uint8_t *serialize_snapshots(BDRVQcow2State *s, size_t *size)
{
    size_t len = 0, pos = 0;
    uint8_t *buf;
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        len = ROUND_UP(len, 8) + SNAPSHOT_HEADER_SIZE +
              MAX(sn->extra_data_size, SNAPSHOT_EXTRA_KNOWN) +
              strlen(sn->id_str) + strlen(sn->name);
    }
    buf = g_malloc0(MAX(len, 1));
    for (i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        uint32_t extra = MAX(sn->extra_data_size, SNAPSHOT_EXTRA_KNOWN);
        size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);
        uint8_t *h;

        pos = ROUND_UP(pos, 8);
        h = buf + pos;
        stq_be_p(h, sn->l1_table_offset);
        stl_be_p(h + 8, sn->l1_size);
        stw_be_p(h + 12, id_len);
        stw_be_p(h + 14, name_len);
        stl_be_p(h + 16, sn->date_sec);
        stl_be_p(h + 20, sn->date_nsec);
        stq_be_p(h + 24, sn->vm_clock_nsec);
        /* too large for 32 bits: older readers see a disk-only snapshot */
        stl_be_p(h + 32, sn->vm_state_size <= UINT32_MAX ?
                         sn->vm_state_size : 0);
        stl_be_p(h + 36, extra);
        h += SNAPSHOT_HEADER_SIZE;
        stq_be_p(h, sn->vm_state_size);
        stq_be_p(h + 8, sn->disk_size);
        stq_be_p(h + 16, sn->icount);
        if (extra > SNAPSHOT_EXTRA_KNOWN) {
            memcpy(h + SNAPSHOT_EXTRA_KNOWN, sn->unknown_extra,
                   extra - SNAPSHOT_EXTRA_KNOWN);
        }
        h += extra;
        memcpy(h, sn->id_str, id_len);
        memcpy(h + id_len, sn->name, name_len);
        pos += SNAPSHOT_HEADER_SIZE + extra + id_len + name_len;
    }
    *size = len;
    return buf;
}

/*
 * Write s->snapshots as a new table in new clusters, point the header at
 * it, free the old one.  s->lock held.
 */
int coroutine_fn qcow2_write_snapshots(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t size;
    g_autofree uint8_t *table = serialize_snapshots(s, &size);
    uint8_t hdr[12];
    int64_t offset;
    int i, ret;

    if (size > MAX_SNAPSHOTS_SIZE) {
        return -EFBIG;
    }
    offset = qcow2_alloc_clusters(bs, size);
    if (offset < 0) {
        return offset;
    }
    /* the new clusters' refcounts before anything points at them */
    ret = qcow2_write_caches(bs);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret == 0 && size) {
        ret = qcow2_pre_write_overlap_check(bs, 0, offset, size);
    }
    if (ret == 0 && size) {
        ret = bdrv_co_pwrite(bs->file, offset, size, table, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, offset, size, QCOW2_DISCARD_ALWAYS);
        return ret;
    }
    stl_be_p(hdr, s->nb_snapshots);
    stq_be_p(hdr + 4, offset);
    ret = qcow2_update_header_field(bs, HEADER_NB_SNAPSHOTS, hdr, sizeof(hdr));
    if (ret < 0) {
        qcow2_free_clusters(bs, offset, size, QCOW2_DISCARD_ALWAYS);
        return ret;
    }
    qcow2_free_clusters(bs, s->snapshots_offset, s->snapshots_size,
                        QCOW2_DISCARD_SNAPSHOT);
    s->snapshots_offset = offset;
    s->snapshots_size = size;
    for (i = 0; i < s->nb_snapshots; i++) {
        s->snapshots[i].extra_data_size =
            MAX(s->snapshots[i].extra_data_size, SNAPSHOT_EXTRA_KNOWN);
    }
    return 0;
}

/*
 * Refcount and COPIED flag of one L2 entry's cluster after adding
 * @addend (-1, 0, 1) to it.  *@entry gets its new COPIED flag.
 */
static int coroutine_fn update_entry_refcount(BlockDriverState *bs,
                                              uint64_t *entry, int addend,
                                              uint64_t l2_offset, int index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset, refcount = 0, coffset;
    int csize, ret;

    *entry &= ~QCOW_OFLAG_COPIED;
    offset = *entry & L2E_OFFSET_MASK;
    switch (qcow2_cluster_type(s, *entry)) {
    case QCOW2_CLUSTER_COMPRESSED:
        if (addend) {
            qcow2_parse_compressed_l2_entry(bs, *entry, &coffset, &csize);
            ret = qcow2_update_refcount(bs, coffset, csize, 1, addend < 0,
                                        QCOW2_DISCARD_SNAPSHOT);
            if (ret < 0) {
                return ret;
            }
        }
        return 0;               /* never written in place: no COPIED */
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (offset_into_cluster(s, offset) || !offset) {
            return qcow2_signal_corruption(bs, true, "Cluster allocation "
                                           "offset %#" PRIx64 " unaligned "
                                           "(L2 offset: %#" PRIx64 ", L2 "
                                           "index: %#x)", offset, l2_offset,
                                           index);
        }
        if (addend) {
            ret = qcow2_update_cluster_refcount(bs, offset >> s->cluster_bits,
                                                1, addend < 0,
                                                QCOW2_DISCARD_SNAPSHOT);
            if (ret < 0) {
                return ret;
            }
        }
        ret = qcow2_get_refcount(bs, offset >> s->cluster_bits, &refcount);
        if (ret < 0) {
            return ret;
        }
        break;
    default:
        break;
    }
    if (refcount == 1) {
        *entry |= QCOW_OFLAG_COPIED;
    }
    return 0;
}

/* One L2 table of update_snapshot_refcount(). */
static int coroutine_fn update_l2_refcounts(BlockDriverState *bs,
                                           uint64_t l2_offset, int addend)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2 = NULL;
    int64_t j;
    int ret;

    ret = qcow2_cache_get(bs, s->l2_cache, l2_offset, &l2);
    if (ret < 0) {
        return ret;
    }
    for (j = 0; j < s->l2_size; j++) {
        uint64_t old = get_l2_entry(s, l2, j), entry = old;

        ret = update_entry_refcount(bs, &entry, addend, l2_offset, j);
        if (ret < 0) {
            break;
        }
        if (entry != old) {
            if (addend > 0) {
                /* the raised refcounts reach the disk first */
                ret = qcow2_cache_set_dependency(bs, s->l2_cache,
                                                 s->refcount_block_cache);
                if (ret < 0) {
                    break;
                }
            }
            set_l2_entry(s, l2, j, entry);
            qcow2_cache_mark_dirty(s->l2_cache, l2);
        }
    }
    qcow2_cache_put(s->l2_cache, &l2);
    return ret;
}

/*
 * Add @addend (-1, 0 or 1) to the refcount of every cluster the L1 table
 * at @l1_offset reaches (L2 tables, data, compressed data) and set the
 * COPIED flags from the refcounts that result, as 7.2's
 * qcow2_update_snapshot_refcount.  The active table (@l1_offset is
 * s->l1_table_offset) is taken from memory, not from the file: reverting
 * to a snapshot relies on that.  The L1 table is written back when its
 * flags change, unless @addend is -1 (it is being dropped).  s->lock held.
 */
static int coroutine_fn update_snapshot_refcount(BlockDriverState *bs,
                                                 uint64_t l1_offset,
                                                 uint32_t l1_size, int addend)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *copy = NULL;
    uint64_t *l1;
    bool l1_modified = false;
    uint32_t i;
    int ret = 0;

    if (l1_offset == s->l1_table_offset) {
        assert(l1_size == s->l1_size);
        l1 = s->l1_table;
    } else {
        ret = read_l1_table(bs, l1_offset, l1_size, l1_size, &copy);
        if (ret < 0) {
            return ret;
        }
        l1 = copy;
    }
    s->cache_discards = true;
    for (i = 0; i < l1_size && ret == 0; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK, refcount = 0, entry;

        if (!l2_offset) {
            continue;
        }
        if (offset_into_cluster(s, l2_offset)) {
            ret = qcow2_signal_corruption(bs, true, "L2 table offset %#"
                                          PRIx64 " unaligned (L1 index: "
                                          "%#x)", l2_offset, i);
            break;
        }
        ret = update_l2_refcounts(bs, l2_offset, addend);
        if (ret == 0 && addend) {
            ret = qcow2_update_cluster_refcount(bs,
                                                l2_offset >> s->cluster_bits,
                                                1, addend < 0,
                                                QCOW2_DISCARD_SNAPSHOT);
        }
        if (ret == 0) {
            ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits,
                                     &refcount);
        }
        entry = l2_offset | (refcount == 1 ? QCOW_OFLAG_COPIED : 0);
        if (ret == 0 && entry != l1[i]) {
            l1[i] = entry;
            l1_modified = true;
        }
    }
    if (ret == 0) {
        ret = qcow2_write_caches(bs);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    s->cache_discards = false;
    qcow2_process_discards(bs, ret);
    if (ret == 0 && addend >= 0 && l1_modified) {
        ret = write_l1_table(bs, l1_offset, l1, l1_size);
    }
    return ret;
}

static char *new_snapshot_id(BDRVQcow2State *s)
{
    unsigned long max = 0;
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        max = MAX(max, strtoul(s->snapshots[i].id_str, NULL, 10));
    }
    return g_strdup_printf("%lu", max + 1);
}

static int coroutine_fn snapshot_create_locked(BlockDriverState *bs,
                                               const BdrvSnapshotInfo *info)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot sn = {
        .name = g_strdup(info->name),
        .id_str = new_snapshot_id(s),
        .disk_size = s->virtual_size,
        .vm_state_size = info->vm_state_size,
        .date_sec = info->date_sec,
        .date_nsec = info->date_nsec,
        .vm_clock_nsec = info->vm_clock_nsec,
        .icount = info->icount,
        .extra_data_size = SNAPSHOT_EXTRA_KNOWN,
        .l1_size = s->l1_size,
    };
    int64_t l1_offset;
    int ret;

    if (s->nb_snapshots >= MAX_SNAPSHOTS) {
        ret = -EFBIG;
        goto fail;
    }
    if (has_data_file(s)) {
        ret = -ENOTSUP;
        goto fail;
    }
    /* a copy of the active L1 table, then one more reference for all */
    l1_offset = qcow2_alloc_clusters(bs, (uint64_t)s->l1_size * L1E_SIZE);
    if (l1_offset < 0) {
        ret = l1_offset;
        goto fail;
    }
    sn.l1_table_offset = l1_offset;
    ret = write_l1_table(bs, l1_offset, s->l1_table, s->l1_size);
    if (ret == 0) {
        ret = update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 1);
    }
    if (ret < 0) {
        goto fail;              /* leaks what was allocated, no more */
    }
    s->snapshots = g_renew(Qcow2Snapshot, s->snapshots, s->nb_snapshots + 1);
    s->snapshots[s->nb_snapshots++] = sn;
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        s->nb_snapshots--;
        goto fail;
    }
    return 0;

fail:
    g_free(sn.name);
    g_free(sn.id_str);
    return ret;
}

int coroutine_fn qcow2_co_snapshot_create(BlockDriverState *bs,
                                          const BdrvSnapshotInfo *info)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = snapshot_create_locked(bs, info);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/*
 * Make the snapshot's L1 table the active one: its clusters gain a
 * reference before the active table is overwritten, the old active
 * clusters lose theirs after, then the COPIED flags are set again.
 */
static int coroutine_fn snapshot_goto_locked(BlockDriverState *bs,
                                             Qcow2Snapshot *sn)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *sn_l1 = NULL;
    int ret;

    ret = qcow2_grow_l1_table(bs, sn->l1_size, true);
    if (ret < 0) {
        return ret;
    }
    /* as long as the active table, which is at least as long */
    ret = read_l1_table(bs, sn->l1_table_offset, sn->l1_size, s->l1_size,
                        &sn_l1);
    if (ret < 0) {
        return ret;
    }
    ret = update_snapshot_refcount(bs, sn->l1_table_offset, sn->l1_size, 1);
    if (ret == 0) {
        ret = write_l1_table(bs, s->l1_table_offset, sn_l1, s->l1_size);
    }
    if (ret < 0) {
        return ret;
    }
    /* still the old table in memory: it is the one that loses references */
    ret = update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, -1);
    memcpy(s->l1_table, sn_l1, (size_t)s->l1_size * L1E_SIZE);
    if (ret < 0) {
        return ret;
    }
    return update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 0);
}

int coroutine_fn qcow2_co_snapshot_goto(BlockDriverState *bs,
                                        const char *id_or_name)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Snapshot *sn;
    Error *err = NULL;
    int idx, ret;

    idx = find_snapshot_by_id_or_name(s, id_or_name);
    if (idx < 0) {
        return -ENOENT;
    }
    sn = &s->snapshots[idx];
    if (!snapshot_l1_ok(s, sn, &err)) {
        /* as 7.2, which reports it here and returns the reason */
        bdrv_report_err(err);
        return sn->l1_size > QCOW_MAX_L1_SIZE / L1E_SIZE ? -EFBIG : -EINVAL;
    }
    if (sn->disk_size != (uint64_t)s->virtual_size) {
        ret = qcow2_co_truncate(bs, sn->disk_size, true, PREALLOC_MODE_OFF, 0,
                                &err);
        if (ret < 0) {
            error_free(err);
            return ret;
        }
    }
    qemu_co_mutex_lock(&s->lock);
    ret = snapshot_goto_locked(bs, sn);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn snapshot_delete_locked(BlockDriverState *bs,
                                               const char *id,
                                               const char *name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int idx = find_snapshot(s, id, name);
    Qcow2Snapshot sn;
    int ret;

    if (idx < 0) {
        error_setg(errp, "Can't find the snapshot");
        return -ENOENT;
    }
    sn = s->snapshots[idx];
    if (!snapshot_l1_ok(s, &sn, errp)) {
        return -EFBIG;
    }
    memmove(&s->snapshots[idx], &s->snapshots[idx + 1],
            (s->nb_snapshots - idx - 1) * sizeof(sn));
    s->nb_snapshots--;
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        /* the image still has it: so does the list */
        memmove(&s->snapshots[idx + 1], &s->snapshots[idx],
                (s->nb_snapshots - idx) * sizeof(sn));
        s->snapshots[idx] = sn;
        s->nb_snapshots++;
        error_setg_errno(errp, -ret, "Failed to remove snapshot from "
                         "snapshot list");
        return ret;
    }
    g_free(sn.id_str);
    g_free(sn.name);
    g_free(sn.unknown_extra);
    /* from here on a failure leaks clusters, nothing worse */
    ret = update_snapshot_refcount(bs, sn.l1_table_offset, sn.l1_size, -1);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to free the cluster and L1 "
                         "table");
        return ret;
    }
    qcow2_free_clusters(bs, sn.l1_table_offset,
                        (int64_t)sn.l1_size * L1E_SIZE, QCOW2_DISCARD_SNAPSHOT);
    ret = update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update snapshot status in "
                         "disk");
    }
    return ret;
}

int coroutine_fn qcow2_co_snapshot_delete(BlockDriverState *bs,
                                          const char *id, const char *name,
                                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = snapshot_delete_locked(bs, id, name, errp);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/*
 * Switch the image to the L1 table of an internal snapshot, for reading
 * only (convert -l, measure -l, the snapshot.* open options).
 */
int coroutine_fn qcow2_co_snapshot_load_tmp(BlockDriverState *bs,
                                            const char *id, const char *name,
                                            Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l1 = NULL;
    int idx = find_snapshot(s, id, name);
    Qcow2Snapshot *sn;
    int ret;

    if (idx < 0) {
        error_setg(errp, "Can't find snapshot");
        return -ENOENT;
    }
    sn = &s->snapshots[idx];
    if (!snapshot_l1_ok(s, sn, errp)) {
        return -EFBIG;
    }
    if (sn->l1_size < size_to_l1(s, sn->disk_size)) {
        error_setg(errp, "Snapshot L1 table is too small");
        return -EFBIG;
    }
    ret = read_l1_table(bs, sn->l1_table_offset, sn->l1_size, sn->l1_size,
                        &l1);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to load snapshot L1 table");
        return ret;
    }
    g_free(s->l1_table);
    s->l1_table = g_steal_pointer(&l1);
    s->l1_size = sn->l1_size;
    s->l1_table_offset = sn->l1_table_offset;
    s->virtual_size = sn->disk_size;
    return 0;
}
