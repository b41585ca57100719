/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img amend for qcow2, as 7.2 does it: upgrade (compat=1.1) first,
 * then the data file name and data-file-raw (cleared only), the backing
 * file check, lazy refcounts, the size (exact truncate, shrinking
 * allowed), downgrade (compat=0.10) last; refcount_bits after the
 * upgrade (refcount-width.c).  The header is rewritten whole, in QEMU's
 * layout, keeping extensions we do not know.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "util/cutils.h"

int coroutine_fn qcow2_co_change_backing_file(BlockDriverState *bs,
                                              const char *file,
                                              const char *fmt)
{
    BDRVQcow2State *s = bs->opaque;
    char *old_file = bs->backing_file, *old_fmt = bs->backing_format;
    int ret;

    /* a raw data file alone must describe the disk: no backing file */
    if (file && (s->data_file_raw || strlen(file) > 1023)) {
        return -EINVAL;
    }
    bs->backing_file = g_strdup(file);
    bs->backing_format = g_strdup(file ? fmt : NULL);
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        g_free(bs->backing_file);
        g_free(bs->backing_format);
        bs->backing_file = old_file;
        bs->backing_format = old_fmt;
        return ret;
    }
    g_free(old_file);
    g_free(old_fmt);
    return 0;
}

const CreateOptDesc qcow2_amend_opts[] = {
    { "backing_file", OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", OPT_STRING, "Image format of the base image", NULL },
    { "compat", OPT_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])",
      NULL },
    { "data_file", OPT_STRING, "File name of an external data file", NULL },
    { "data_file_raw", OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "encrypt.iter-time", OPT_NUMBER,
      "Time to spend in PBKDF in milliseconds", NULL },
    { "encrypt.keyslot", OPT_NUMBER,
      "Select a single keyslot to modify explicitly", NULL },
    { "encrypt.new-secret", OPT_STRING,
      "New secret to set in the matching keyslots. Empty string to erase",
      NULL },
    { "encrypt.old-secret", OPT_STRING,
      "Select all keyslots that match this password", NULL },
    { "encrypt.state", OPT_STRING,
      "Select new state of affected keyslots (active/inactive)", NULL },
    { "lazy_refcounts", OPT_BOOL, "Postpone refcount updates", NULL },
    { "refcount_bits", OPT_NUMBER, "Width of a reference count entry in bits",
      NULL },
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { NULL },
};

/* 1 if any (sub)cluster of the active table is of type @a or @b. */
static int coroutine_fn has_clusters_of_type(BlockDriverState *bs,
                                             QCow2SubclusterType a,
                                             QCow2SubclusterType b)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t offset = 0;

    while (offset < s->virtual_size) {
        int64_t bytes = MIN(s->virtual_size - offset, INT_MAX / 2);
        uint64_t host;
        QCow2SubclusterType type;
        int ret = qcow2_get_host_offset(bs, offset, &bytes, &host, &type);

        if (ret < 0) {
            return ret;
        }
        if (type == a || type == b) {
            return 1;
        }
        offset += bytes;
    }
    return 0;
}

static int coroutine_fn upgrade(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int i, ret;

    for (i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].extra_data_size < 16) {
            /* v3 wants each snapshot's disk size: a table that has them */
            qemu_co_mutex_lock(&s->lock);
            ret = qcow2_write_snapshots(bs);
            qemu_co_mutex_unlock(&s->lock);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to update the snapshot "
                                 "table");
                return ret;
            }
            break;
        }
    }
    s->version = 3;
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        s->version = 2;
        error_setg_errno(errp, -ret, "Failed to update the image header");
    }
    return ret;
}

static int coroutine_fn downgrade(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int i, ret;

    if (s->refcount_order != 4) {
        error_setg(errp, "compat=0.10 requires refcount_bits=16");
        return -ENOTSUP;
    }
    if (has_data_file(s)) {
        error_setg(errp, "Cannot downgrade an image with a data file");
        return -ENOTSUP;
    }
    for (i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].vm_state_size > UINT32_MAX ||
            s->snapshots[i].disk_size != (uint64_t)s->virtual_size) {
            error_setg(errp, "Internal snapshots prevent downgrade of image");
            return -ENOTSUP;
        }
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to make the image clean");
            return ret;
        }
    }
    if (s->incompatible_features & ~(uint64_t)QCOW2_INCOMPAT_COMPRESSION) {
        error_setg(errp, "Cannot downgrade an image with incompatible "
                   "features 0x%" PRIx64 " set",
                   s->incompatible_features &
                   ~(uint64_t)QCOW2_INCOMPAT_COMPRESSION);
        return -ENOTSUP;
    }
    ret = has_clusters_of_type(bs, QCOW2_SUBCLUSTER_ZERO_PLAIN,
                               QCOW2_SUBCLUSTER_ZERO_ALLOC);
    /* the snapshots' tables are walked (and checked) in any case, as 7.2 */
    if (ret > 0 || (ret == 0 && s->nb_snapshots)) {
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_expand_zero_clusters(bs);
        qemu_co_mutex_unlock(&s->lock);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to turn zero into data "
                         "clusters");
        return ret;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
        ret = has_clusters_of_type(bs, QCOW2_SUBCLUSTER_COMPRESSED,
                                   QCOW2_SUBCLUSTER_COMPRESSED);
        if (ret < 0) {
            error_setg(errp, "Failed to check block status");
            return -EINVAL;
        }
        if (ret) {
            error_setg(errp, "Cannot downgrade an image with zstd compression "
                       "type and existing compressed clusters");
            return -ENOTSUP;
        }
        s->incompatible_features &= ~(uint64_t)QCOW2_INCOMPAT_COMPRESSION;
        s->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    }
    s->compatible_features = 0;
    s->autoclear_features = 0;
    s->use_lazy_refcounts = false;
    s->version = 2;
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        s->version = 3;
        error_setg_errno(errp, -ret, "Failed to update the image header");
    }
    return ret;
}

/* lazy_refcounts on or off (off: the image is made clean first). */
static int coroutine_fn set_lazy_refcounts(BlockDriverState *bs, bool lazy,
                                           int new_version, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (lazy) {
        if (new_version < 3) {
            error_setg(errp, "Lazy refcounts only supported with "
                       "compatibility level 1.1 and above (use compat=1.1 "
                       "or greater)");
            return -EINVAL;
        }
        s->compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    } else {
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to make the image "
                             "clean");
            return ret;
        }
        s->compatible_features &= ~(uint64_t)QCOW2_COMPAT_LAZY_REFCOUNTS;
    }
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image header");
        return ret;
    }
    s->use_lazy_refcounts = lazy;
    return 0;
}

/*
 * Progress over several operations, as 7.2 reports it: each operation
 * reports its own offset and size; the finished ones count in full and
 * the ones to come are projected at the average size so far.
 */
typedef struct AmendProgress {
    BdrvAmendStatusCB *cb;
    void *opaque;
    int total_ops, done_ops;
    int current, last;          /* operation ids, 0: none yet */
    int64_t done_work, last_work;
} AmendProgress;

static void amend_progress(BlockDriverState *bs, int64_t offset,
                           int64_t work, void *opaque)
{
    AmendProgress *p = opaque;
    int64_t so_far, projected;

    if (!p->cb) {
        return;
    }
    if (p->current != p->last) {
        if (p->last) {
            p->done_work += p->last_work;
            p->done_ops++;
        }
        p->last = p->current;
    }
    p->last_work = work;
    so_far = p->done_work + work;
    projected = so_far * (p->total_ops - p->done_ops - 1) /
                (p->done_ops + 1);
    p->cb(bs, p->done_work + offset, so_far + projected, p->opaque);
}

int coroutine_fn qcow2_co_amend(BlockDriverState *bs, QDict *opts,
                                bool force, BdrvAmendStatusCB *status_cb,
                                void *cb_opaque, Error **errp)
{
    AmendProgress progress = { .cb = status_cb, .opaque = cb_opaque };
    BDRVQcow2State *s = bs->opaque;
    int old_version = s->version, new_version = old_version;
    const char *compat = create_opt_get(opts, "compat");
    const char *backing_file = create_opt_get(opts, "backing_file");
    const char *backing_fmt = create_opt_get(opts, "backing_fmt");
    const char *data_file = create_opt_get(opts, "data_file");
    bool lazy_refcounts = s->use_lazy_refcounts > 0, data_file_raw;
    uint64_t new_size = 0, refcount_bits = 1ULL << s->refcount_order;
    int ret;

    (void)force;
    if (compat && (!strcmp(compat, "0.10") || !strcmp(compat, "v2"))) {
        new_version = 2;
    } else if (compat && (!strcmp(compat, "1.1") || !strcmp(compat, "v3"))) {
        new_version = 3;
    } else if (compat) {
        error_setg(errp, "Unknown compatibility level %s", compat);
        return -EINVAL;
    }
    if (!create_opt_get_size(opts, "size", 0, &new_size, errp) ||
        !create_opt_get_bool(opts, "lazy_refcounts", lazy_refcounts,
                             &lazy_refcounts, errp) ||
        !create_opt_get_number(opts, "refcount_bits", refcount_bits,
                               &refcount_bits, errp) ||
        !create_opt_get_bool(opts, "data_file_raw", s->data_file_raw,
                             &data_file_raw, errp)) {
        return -EINVAL;
    }
    if (refcount_bits == 0 || refcount_bits > 64 ||
        (refcount_bits & (refcount_bits - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return -EINVAL;
    }
    if (data_file && !has_data_file(s)) {
        error_setg(errp, "data-file can only be set for images that use an "
                   "external data file");
        return -EINVAL;
    }
    if (data_file && *data_file) {
        g_autofree char *path = bdrv_file_name_beside(bs, data_file);

        if (bdrv_is_file_at(bs, path)) {
            error_setg(errp, "The data file '%s' is the image file itself",
                       data_file);
            return -EINVAL;
        }
    }
    if (data_file_raw && !s->data_file_raw) {
        error_setg(errp, "data-file-raw cannot be set on existing images");
        return -EINVAL;
    }
    if (qdict_get_try_str(opts, "encrypt.new-secret") ||
        qdict_get_try_str(opts, "encrypt.old-secret") ||
        qdict_get_try_str(opts, "encrypt.state") ||
        qdict_get_try_str(opts, "encrypt.keyslot") ||
        qdict_get_try_str(opts, "encrypt.iter-time")) {
        /* we open no encrypted images, so there is none to amend */
        error_setg(errp, "Can't amend encryption options - encryption not "
                   "present");
        return -EINVAL;
    }

    progress.total_ops = (new_version != old_version) +
                         (refcount_bits != 1ULL << s->refcount_order);
    if (new_version > old_version) {
        ret = upgrade(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (refcount_bits != 1ULL << s->refcount_order) {
        if (new_version < 3 && refcount_bits != 16) {
            error_setg(errp, "Refcount widths other than 16 bits require "
                       "compatibility level 1.1 or above (use compat=1.1 or "
                       "greater)");
            return -EINVAL;
        }
        qemu_co_mutex_lock(&s->lock);
        progress.current = 1;
        ret = qcow2_change_refcount_order(bs, ctz64(refcount_bits),
                                          amend_progress, &progress, errp);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }
    }

    /* data-file-raw blocks backing files, so it goes first */
    if (data_file_raw) {
        s->autoclear_features |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    } else {
        s->autoclear_features &= ~(uint64_t)QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    }
    s->data_file_raw = data_file_raw;
    if (data_file) {
        g_free(s->image_data_file);
        s->image_data_file = *data_file ? g_strdup(data_file) : NULL;
    }
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image header");
        return ret;
    }

    if ((backing_file || backing_fmt) &&
        (g_strcmp0(backing_file, bs->backing_file) ||
         g_strcmp0(backing_fmt, bs->backing_format))) {
        error_setg(errp, "Cannot amend the backing file");
        error_append_hint(errp, "You can use 'qemu-img rebase' instead.\n");
        return -EINVAL;
    }

    if ((s->use_lazy_refcounts > 0) != lazy_refcounts) {
        ret = set_lazy_refcounts(bs, lazy_refcounts, new_version, errp);
        if (ret < 0) {
            return ret;
        }
    }

    if (new_size) {
        /* amend asks for exactly this size: shrinking included */
        ret = qcow2_co_truncate(bs, new_size, true, PREALLOC_MODE_OFF, 0,
                                errp);
        if (ret < 0) {
            return ret;
        }
        bs->total_bytes = new_size;
    }

    if (new_version < old_version) {
        ret = downgrade(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}
