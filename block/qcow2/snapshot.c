/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots: reading the snapshot table for info and for
 * opening a snapshot read-only.  Entries have variable length; every
 * length is checked against the table before it is used.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

#define SNAPSHOT_HEADER_SIZE 40
#define MAX_SNAPSHOT_EXTRA_DATA 1024
/* Upper bound of the whole table, as QEMU: at most 64 MiB. */
#define MAX_SNAPSHOTS_SIZE (64 * MiB)

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
    s->nb_snapshots = 0;
}

/* Read @len bytes at @offset of the file into a new buffer. */
static uint8_t *coroutine_fn read_bytes(BlockDriverState *bs, uint64_t offset,
                                        size_t len, Error **errp)
{
    uint8_t *buf = g_malloc(MAX(len, 1));
    int ret = bdrv_co_pread(bs->file, offset, len, buf, 0);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read snapshot table");
        g_free(buf);
        return NULL;
    }
    return buf;
}

bool coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = s->snapshots_offset;
    uint64_t table_size = 0;
    int n = s->nb_snapshots;
    int i;

    s->nb_snapshots = 0;
    s->snapshots = g_new0(Qcow2Snapshot, MAX(n, 1));
    for (i = 0; i < n; i++) {
        g_autofree uint8_t *h = NULL, *rest = NULL;
        Qcow2Snapshot *sn = &s->snapshots[i];
        uint32_t extra, id_len, name_len, entry_len;

        h = read_bytes(bs, offset, SNAPSHOT_HEADER_SIZE, errp);
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
        extra = ldl_be_p(h + 36);
        sn->extra_data_size = extra;
        sn->icount = -1;
        if (extra > MAX_SNAPSHOT_EXTRA_DATA) {
            error_setg(errp, "Too much extra metadata in snapshot table "
                       "entry %i", i);
            error_append_hint(errp, "You can force-remove this extra "
                              "metadata with qemu-img check -r all\n");
            goto fail;
        }
        entry_len = ROUND_UP(SNAPSHOT_HEADER_SIZE + extra + id_len + name_len,
                             8);
        table_size += entry_len;
        if (table_size > MAX_SNAPSHOTS_SIZE) {
            error_setg(errp, "Snapshot table exceeds the maximum size");
            goto fail;
        }
        rest = read_bytes(bs, offset + SNAPSHOT_HEADER_SIZE,
                          extra + id_len + name_len, errp);
        if (!rest) {
            goto fail;
        }
        if (extra >= 8) {
            sn->vm_state_size = ldq_be_p(rest);
        }
        if (extra >= 16) {
            sn->disk_size = ldq_be_p(rest + 8);
        } else {
            sn->disk_size = s->virtual_size;
        }
        if (extra >= 24) {
            sn->icount = ldq_be_p(rest + 16);
        }
        sn->id_str = g_strndup((char *)rest + extra, id_len);
        sn->name = g_strndup((char *)rest + extra + id_len, name_len);
        s->nb_snapshots++;
        if (sn->l1_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
            error_setg(errp, "Snapshot L1 table too large");
            goto fail;
        }
        if (offset_into_cluster(s, sn->l1_table_offset)) {
            error_setg(errp, "Snapshot L1 table offset invalid");
            goto fail;
        }
        offset += entry_len;
    }
    s->snapshots_size = table_size;
    return true;

fail:
    qcow2_free_snapshots(s);
    return false;
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
    Qcow2Snapshot *sn = NULL;
    uint32_t i;
    int j, ret;

    for (j = 0; j < s->nb_snapshots; j++) {
        Qcow2Snapshot *c = &s->snapshots[j];
        if ((!id || !strcmp(c->id_str, id)) &&
            (!name || !strcmp(c->name, name))) {
            sn = c;
            break;
        }
    }
    if (!sn) {
        error_setg(errp, "Can't find snapshot");
        return -ENOENT;
    }
    if (!qcow2_validate_table(s, sn->l1_table_offset, sn->l1_size, L1E_SIZE,
                              QCOW_MAX_L1_SIZE, "Snapshot L1 table", errp)) {
        return -EFBIG;
    }
    if (sn->l1_size < size_to_l1(s, sn->disk_size)) {
        error_setg(errp, "Snapshot L1 table is too small");
        return -EFBIG;
    }
    l1 = g_malloc0(MAX(sn->l1_size, 1) * L1E_SIZE);
    ret = bdrv_co_pread(bs->file, sn->l1_table_offset,
                        sn->l1_size * L1E_SIZE, l1, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to load snapshot L1 table");
        return ret;
    }
    for (i = 0; i < sn->l1_size; i++) {
        l1[i] = be64toh(l1[i]);
    }
    g_free(s->l1_table);
    s->l1_table = g_steal_pointer(&l1);
    s->l1_size = sn->l1_size;
    s->l1_table_offset = sn->l1_table_offset;
    s->virtual_size = sn->disk_size;
    return 0;
}
