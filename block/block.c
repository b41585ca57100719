/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node graph: opening a filename (plain path, protocol URL or json:{...})
 * with flat dotted options into a format node over a protocol node,
 * format probing and node reference counting.  Option values shared by
 * all drivers: options.c.  Image creation and its options: create.c.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/json.h"
#include "util/keyval.h"
#include "util/cutils.h"

#include <sys/stat.h>

static BdrvMessageHandler *message_handler;

void bdrv_set_message_handler(BdrvMessageHandler *handler)
{
    message_handler = handler;
}

static void G_GNUC_PRINTF(2, 0) bdrv_vmessage(BdrvMessageKind kind,
                                               const char *fmt, va_list ap)
{
    g_autofree char *msg = NULL;

    if (message_handler) {
        msg = g_strdup_vprintf(fmt, ap);
        message_handler(kind, msg);
    }
}

void bdrv_message(BdrvMessageKind kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bdrv_vmessage(kind, fmt, ap);
    va_end(ap);
}

void bdrv_error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bdrv_vmessage(BDRV_MSG_ERROR, fmt, ap);
    va_end(ap);
}

void bdrv_warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bdrv_vmessage(BDRV_MSG_WARNING, fmt, ap);
    va_end(ap);
}

void bdrv_report_err(Error *err)
{
    const char *hint = error_get_hint(err);
    size_t len = hint ? strlen(hint) : 0;

    if (len && hint[len - 1] == '\n') {
        len--;              /* the handler ends the message's last line */
    }
    bdrv_message(BDRV_MSG_ERROR, "%s%s%.*s", error_get_pretty(err),
                 len ? "\n" : "", (int)len, hint ? hint : "");
    error_free(err);
}

/* ---- nodes ---- */

static BlockDriverState *bdrv_new(const BlockDriver *drv, const char *filename)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->drv = drv;
    bs->opaque = g_malloc0(MAX(drv->instance_size, 1));
    bs->ctx = qemu_get_current_aio_context();
    bs->refcnt = 1;
    bs->filename = g_strdup(filename ? filename : "");
    bs->bl.request_alignment = 1;
    QTAILQ_INIT(&bs->children);
    QTAILQ_INIT(&bs->parents);
    QTAILQ_INIT(&bs->tracked_requests);
    QTAILQ_INIT(&bs->dirty_bitmaps);
    return bs;
}

BlockDriverState *bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
    return bs;
}

static void coroutine_fn bdrv_inactivate_entry(void *opaque)
{
    BlockDriverState *bs = opaque;

    bs->drv->co_inactivate(bs);
}

static void bdrv_free(BlockDriverState *bs)
{
    BdrvChild *c;

    assert(bs->in_flight == 0);
    assert(QTAILQ_EMPTY(&bs->parents));
    bdrv_release_node_name(bs);
    /* a failed open has nothing to write back: close cleans up alone */
    if (bs->drv->co_inactivate && !bs->read_only && bs->opened) {
        if (qemu_in_coroutine()) {
            bs->drv->co_inactivate(bs);
        } else {
            aio_run_coroutine(bdrv_inactivate_entry, bs);
        }
    }
    if (bs->drv->close && bs->open_started) {
        bs->drv->close(bs);
    }
    bdrv_dirty_bitmap_release_all(bs);
    while ((c = QTAILQ_FIRST(&bs->children))) {
        bdrv_unref_child(bs, c);
    }
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs->backing_file);
    g_free(bs->backing_format);
    g_free(bs->open_warning);
    g_free(bs);
}

void bdrv_unref(BlockDriverState *bs)
{
    if (bs && --bs->refcnt == 0) {
        bdrv_free(bs);
    }
}

static BlockDriverState *bdrv_storage_node(BlockDriverState *bs)
{
    while (bs && !bs->has_file_id && bs->file) {
        bs = bs->file->bs;
    }
    return bs && bs->has_file_id ? bs : NULL;
}

bool bdrv_same_file(BlockDriverState *a, BlockDriverState *b)
{
    a = bdrv_storage_node(a);
    b = bdrv_storage_node(b);
    return a && b && a->file_dev == b->file_dev && a->file_ino == b->file_ino;
}

char *bdrv_file_name_beside(BlockDriverState *bs, const char *name)
{
    BlockDriverState *file = bdrv_storage_node(bs);
    g_autofree char *dir = NULL;

    if (name[0] == '/' || !file || !strchr(file->filename, '/')) {
        return g_strdup(name);
    }
    dir = g_path_get_dirname(file->filename);
    return g_build_filename(dir, name, NULL);
}

bool bdrv_is_file_at(BlockDriverState *bs, const char *path)
{
    struct stat st;

    bs = bdrv_storage_node(bs);
    return bs && stat(path, &st) == 0 && st.st_dev == bs->file_dev &&
           st.st_ino == bs->file_ino;
}

const char *bdrv_get_format_name(BlockDriverState *bs)
{
    return bs->drv->format_name;
}

const char *bdrv_get_filename(BlockDriverState *bs)
{
    return bs->filename;
}

bool bdrv_is_read_only(BlockDriverState *bs)
{
    return bs->read_only;
}

BlockDriverState *bdrv_file_bs(BlockDriverState *bs)
{
    return bs->file ? bs->file->bs : NULL;
}

BlockDriverState *bdrv_backing_bs(BlockDriverState *bs)
{
    return bs->backing ? bs->backing->bs : NULL;
}

/* The node a filter (blkdebug) passes its requests to, or NULL. */
static BlockDriverState *bdrv_filtered_bs(BlockDriverState *bs)
{
    BdrvChild *c = bs->drv && bs->drv->is_filter ? bdrv_primary_child(bs)
                                                 : NULL;

    return c ? c->bs : NULL;
}

BlockDriverState *bdrv_skip_filters(BlockDriverState *bs)
{
    BlockDriverState *below;

    while (bs && (below = bdrv_filtered_bs(bs))) {
        bs = below;
    }
    return bs;
}

BlockDriverState *bdrv_filter_or_cow_bs(BlockDriverState *bs)
{
    return bs->backing ? bs->backing->bs : bdrv_filtered_bs(bs);
}

char *bdrv_get_full_backing_filename(BlockDriverState *bs)
{
    if (!bs->backing_file || !*bs->backing_file) {
        return NULL;
    }
    return bdrv_path_relative_to(bs->filename, bs->backing_file);
}

BlockDriverState *bdrv_find_backing_image(BlockDriverState *bs,
                                          const char *name)
{
    bool url = strstr(name, "://") != NULL;
    BlockDriverState *below;

    for (; bs && (below = bdrv_backing_bs(bs)); bs = below) {
        g_autofree char *full = bdrv_get_full_backing_filename(bs);
        g_autofree char *want = NULL, *real_want = NULL, *real_full = NULL;

        if (url || (bs->backing_file && strstr(bs->backing_file, "://"))) {
            /* URLs: the names as they are */
            if (!g_strcmp0(name, bs->backing_file) ||
                !g_strcmp0(name, full)) {
                return below;
            }
            continue;
        }
        /* files: relative to this image, compared as real paths */
        want = bdrv_path_relative_to(bs->filename, name);
        real_want = realpath(want, NULL);
        real_full = full ? realpath(full, NULL) : NULL;
        if (real_want && real_full && !strcmp(real_want, real_full)) {
            return below;
        }
    }
    return NULL;
}

bool bdrv_is_inserted(BlockDriverState *bs)
{
    if (!bs || !bs->drv) {
        return true;
    }
    if (bs->drv->is_inserted) {
        return bs->drv->is_inserted(bs);
    }
    return bdrv_is_inserted(bdrv_file_bs(bs)) &&
           bdrv_is_inserted(bdrv_backing_bs(bs));
}

void bdrv_join_options(BlockDriverState *bs, QDict *changes, QDict *old)
{
    if (bs && bs->drv && bs->drv->join_options) {
        bs->drv->join_options(changes, old);
    }
}

const char *bdrv_get_open_warning(BlockDriverState *bs)
{
    return bs->open_warning;
}

void *blk_buf_alloc(BlockDriverState *bs, size_t size)
{
    size_t align = bs ? MAX(bs->bl.opt_mem_alignment, 4096) : 4096;

    return qemu_memalign(align, size);
}

void blk_buf_free(void *buf)
{
    qemu_vfree(buf);
}

/* ---- opening ---- */

/* Consume the options every node understands; update @flags. */
static bool bdrv_take_common_options(QDict *options, int *flags, Error **errp)
{
    bool ro = !(*flags & BDRV_O_RDWR);
    bool direct = *flags & BDRV_O_NOCACHE;
    bool no_flush = *flags & BDRV_O_NO_FLUSH;
    bool force_share = *flags & BDRV_O_FORCE_SHARE;
    bool ignored;
    g_autofree char *discard = NULL;

    if (!bdrv_opt_take_bool(options, "read-only", &ro, errp) ||
        !bdrv_opt_take_bool(options, "cache.direct", &direct, errp) ||
        !bdrv_opt_take_bool(options, "cache.no-flush", &no_flush, errp) ||
        !bdrv_opt_take_bool(options, "auto-read-only", &ignored, errp) ||
        !bdrv_opt_take_bool(options, "force-share", &force_share, errp)) {
        return false;
    }
    /* sharing every permission is for readers only */
    if (force_share && !ro) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    discard = bdrv_opt_take_str(options, "discard");
    if (discard && !bdrv_parse_discard_flags(discard, flags)) {
        error_setg(errp, "Invalid discard option");
        return false;
    }
    *flags = ro ? (*flags & ~BDRV_O_RDWR) : (*flags | BDRV_O_RDWR);
    *flags = direct ? (*flags | BDRV_O_NOCACHE) : (*flags & ~BDRV_O_NOCACHE);
    *flags = no_flush ? (*flags | BDRV_O_NO_FLUSH) :
                        (*flags & ~BDRV_O_NO_FLUSH);
    /* children inherit it, as 7.2's do unless their options say */
    *flags = force_share ? (*flags | BDRV_O_FORCE_SHARE) :
                           (*flags & ~BDRV_O_FORCE_SHARE);
    return true;
}

static bool bdrv_check_unused(BlockDriverState *bs, QDict *options,
                              Error **errp)
{
    if (qdict_size(options) == 0) {
        return true;
    }
    if (bs->drv->protocol_name) {
        error_setg(errp, "Block protocol '%s' doesn't support the option '%s'",
                   bs->drv->format_name, qdict_key_at(options, 0));
    } else {
        error_setg(errp, "Block format '%s' does not support the option '%s'",
                   bs->drv->format_name, qdict_key_at(options, 0));
    }
    return false;
}

int coroutine_fn bdrv_co_refresh_total_bytes(BlockDriverState *bs)
{
    int64_t len;

    if (bs->drv->co_getlength) {
        len = bs->drv->co_getlength(bs);
    } else if (bs->file) {
        len = bdrv_co_getlength(bs->file->bs);
    } else {
        len = -ENOMEDIUM;
    }
    if (len < 0) {
        return (int)len;
    }
    /*
     * QEMU counts lengths in 512-byte sectors: a 1000-byte raw file is a
     * 1 KiB image whose tail reads as zeroes (info, convert and qemu-io
     * all see 1024 bytes).  Keep that, users' scripts see the numbers.
     */
    bs->total_bytes = QEMU_ALIGN_UP(len, BDRV_SECTOR_SIZE);
    return 0;
}

static void bdrv_refresh_limits(BlockDriverState *bs)
{
    BdrvChild *c;

    /* Memory alignment and transfer limits propagate up from children. */
    QTAILQ_FOREACH(c, &bs->children, next) {
        BlockLimits *cl = &c->bs->bl;
        bs->bl.min_mem_alignment = MAX(bs->bl.min_mem_alignment,
                                       cl->min_mem_alignment);
        bs->bl.opt_mem_alignment = MAX(bs->bl.opt_mem_alignment,
                                       cl->opt_mem_alignment);
        if (c == bs->file && cl->max_transfer &&
            (!bs->bl.max_transfer || cl->max_transfer < bs->bl.max_transfer)) {
            bs->bl.max_transfer = cl->max_transfer;
        }
        bs->bl.opt_transfer = MAX(bs->bl.opt_transfer, cl->opt_transfer);
    }
    if (bs->drv->refresh_limits) {
        bs->drv->refresh_limits(bs);
    }
}

/* See driver.h.  @options: consumed, not freed. */
BlockDriverState *coroutine_fn
bdrv_co_open_driver(const BlockDriver *drv, const char *filename,
                    BlockDriverState *file, QDict *options, int flags,
                    Error **errp)
{
    BlockDriverState *bs = bdrv_new(drv, filename);
    g_autofree char *node_name = bdrv_opt_take_str(options, "node-name");
    int ret;

    /* named before the driver opens, as 7.2's (listed in that order) */
    if (!bdrv_assign_node_name(bs, node_name, errp)) {
        bdrv_unref(file);       /* ours, and not attached yet */
        goto fail;
    }

    /* this node's alone: the driver's children do not copy on read */
    bs->copy_on_read = flags & BDRV_O_COPY_ON_READ;
    flags &= ~BDRV_O_COPY_ON_READ;
    if (bs->copy_on_read && !(flags & BDRV_O_RDWR)) {
        error_setg(errp, "Can't use copy-on-read on read-only device");
        bdrv_unref(file);       /* ours, and not attached yet */
        goto fail;
    }
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->force_share = flags & BDRV_O_FORCE_SHARE;
    /* taken before the driver reads (or repairs) anything */
    if (file && !bdrv_attach_child(bs, file, "file",
                                   drv->file_role ? drv->file_role :
                                                    BDRV_CHILD_IMAGE,
                                   errp)) {
        goto fail;
    }
    bs->open_started = true;
    if (!drv->co_open(bs, options, flags, errp)) {
        goto fail;
    }
    bs->opened = true;
    if (!bdrv_check_unused(bs, options, errp)) {
        goto fail;
    }
    bdrv_refresh_limits(bs);
    ret = bdrv_co_refresh_total_bytes(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not refresh total sector count");
        goto fail;
    }
    return bs;

fail:
    /* the driver's close must cope with a failed open */
    bdrv_unref(bs);
    return NULL;
}

/*
 * The format of the image in @file, as 7.2 probes it: the first 512
 * bytes (zeroes past the end) scored by every format's probe; an empty
 * file is raw.  A format we do not read is an error naming it, never raw.
 */
static const BlockDriver *coroutine_fn bdrv_probe(BlockDriverState *file,
                                                  const char *filename,
                                                  Error **errp)
{
    uint8_t buf[BDRV_PROBE_BUF_SIZE] = { 0 };
    int64_t len = file->total_bytes;
    const BlockDriver *drv;
    const char *name;
    BdrvChild tmp = { .bs = file };
    int ret;

    if (len == 0) {
        return &bdrv_raw;
    }
    ret = bdrv_co_pread(&tmp, 0, MIN(len, (int64_t)sizeof(buf)), buf, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read image for "
                         "determining its format");
        return NULL;
    }
    name = bdrv_probe_format(buf, sizeof(buf), filename, &drv);
    if (!drv && name) {
        error_setg(errp, "Image is in the '%s' format, which is not "
                   "supported", name);
        error_append_hint(errp, "Name a format (-f raw) to read the file "
                          "as it is.\n");
        return NULL;
    }
    return drv ? drv : &bdrv_raw;
}

/* Split a json: filename into @options; returns false on bad JSON. */
static bool bdrv_parse_json_filename(const char *filename, QDict *options,
                                     Error **errp)
{
    g_autoptr(QObject) obj = NULL;
    g_autoptr(QObject) flat = NULL;
    size_t i;

    obj = json_parse(filename + strlen("json:"), errp);
    if (!obj) {
        error_prepend(errp, "Could not parse the JSON options: ");
        return false;
    }
    if (qobject_type(obj) != QTYPE_DICT) {
        error_setg(errp, "Invalid JSON object given");
        return false;
    }
    flat = qdict_flatten_to_options(obj);
    for (i = 0; i < qdict_size(flat); i++) {
        /* explicit options win over the ones inside the filename */
        if (!qdict_haskey(options, qdict_key_at(flat, i))) {
            qdict_put_obj(options, qdict_key_at(flat, i),
                          qobject_ref(qdict_value_at(flat, i)));
        }
    }
    return true;
}

/*
 * A protocol node.  As in 7.2, only a name given as a file name (the
 * command line's image, a backing file name recorded in an image) is
 * parsed: a protocol prefix picks the driver and the driver splits it
 * into options.  A "filename" option (json:, --image-opts, file.filename=)
 * is a path and nothing else: "nbd://..." there names a local file.
 */
static BlockDriverState *coroutine_fn
bdrv_open_protocol(const char *filename, const char *drvname, QDict *options,
                   int flags, Error **errp)
{
    const BlockDriver *drv;
    g_autofree char *fname = NULL;

    if (!filename) {
        const char *opt = qdict_get_try_str(options, "filename");
        struct stat st;

        if (drvname) {
            drv = bdrv_find_format(drvname);
            if (!drv) {
                error_setg(errp, "Unknown driver '%s'", drvname);
                return NULL;
            }
        } else if (opt) {
            drv = stat(opt, &st) == 0 &&
                  (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) ?
                  &bdrv_host_device : &bdrv_file;
        } else {
            error_setg(errp, "Must specify either driver or file");
            return NULL;
        }
        fname = g_strdup(opt);
        return bdrv_co_open_driver(drv, fname, NULL, options, flags, errp);
    }
    if (drvname) {
        drv = bdrv_find_format(drvname);
        if (!drv) {
            error_setg(errp, "Unknown driver '%s'", drvname);
            return NULL;
        }
    } else {
        drv = bdrv_find_protocol(filename, errp);
        if (!drv) {
            return NULL;
        }
    }
    {
        if (drv->parse_filename) {
            if (!drv->parse_filename(filename, options, errp)) {
                return NULL;
            }
            /* the node is named by the path, "file:" and the like gone */
            const char *path = qdict_get_try_str(options, "filename");

            if (path) {
                g_free(fname);
                fname = g_strdup(path);
                filename = fname;
            }
        } else if (!qdict_haskey(options, "filename")) {
            qdict_put_str(options, "filename", filename);
        }
    }
    return bdrv_co_open_driver(drv, filename, NULL, options, flags, errp);
}

BlockDriverState *coroutine_fn bdrv_co_open_file_name(const char *filename,
                                                      int flags,
                                                      Error **errp)
{
    g_autoptr(QObject) opts = qdict_new();
    struct stat st;
    const BlockDriver *drv = &bdrv_file;

    if (stat(filename, &st) == 0 && (S_ISBLK(st.st_mode) ||
                                     S_ISCHR(st.st_mode))) {
        drv = &bdrv_host_device;
    }
    qdict_put_str(opts, "filename", filename);
    return bdrv_co_open_driver(drv, filename, NULL, opts,
                            flags | BDRV_O_PROTOCOL, errp);
}

char *bdrv_path_relative_to(const char *base, const char *name)
{
    g_autofree char *dir = NULL;

    /* a protocol prefix is a ':' before any '/' ("./a:b" has none) */
    if (name[0] == '/' || name[strcspn(name, ":/")] == ':' ||
        !strchr(base, '/') || g_str_has_prefix(base, "json:")) {
        return g_strdup(name);
    }
    dir = g_path_get_dirname(base);
    return g_build_filename(dir, name, NULL);
}

/*
 * Backing files being opened, outermost first, to catch a chain that
 * leads back to itself: local files by device and inode (so that hard
 * and symbolic links are caught too), other names as given; and a depth
 * bound for loops through names that stat() cannot resolve.
 */
#define BACKING_CHAIN_MAX_DEPTH 256
static __thread GPtrArray *backing_stack;

static char *backing_stack_key(BlockDriverState *bs)
{
    BlockDriverState *file = bdrv_storage_node(bs);

    if (file) {
        return g_strdup_printf("inode %" PRIu64 ":%" PRIu64, file->file_dev,
                               file->file_ino);
    }
    return g_strdup_printf("name %s", bs->filename);
}

static bool backing_stack_push(BlockDriverState *bs, Error **errp)
{
    g_autofree char *key = backing_stack_key(bs);
    const char *path = bs->filename;
    guint i;

    if (!backing_stack) {
        backing_stack = g_ptr_array_new_with_free_func(g_free);
    }
    if (backing_stack->len >= BACKING_CHAIN_MAX_DEPTH) {
        error_setg(errp, "Backing chain is too deep (more than %d images)",
                   BACKING_CHAIN_MAX_DEPTH);
        return false;
    }
    for (i = 0; key && i < backing_stack->len; i++) {
        if (!g_strcmp0(backing_stack->pdata[i], key)) {
            error_setg(errp, "Backing file '%s' creates an infinite loop.",
                       path);
            return false;
        }
    }
    g_ptr_array_add(backing_stack, g_steal_pointer(&key));
    return true;
}

static void backing_stack_pop(void)
{
    g_ptr_array_remove_index(backing_stack, backing_stack->len - 1);
}

/*
 * Open the backing file of @bs (read-only), from @ref / @options when the
 * user gave them, else from the name and format the image records.
 * "backing": "" (or null) means no backing file.
 */
static bool coroutine_fn bdrv_co_open_backing(BlockDriverState *bs,
                                              const char *ref, QDict *options,
                                              int flags, Error **errp)
{
    g_autoptr(QObject) opts = options;
    g_autofree char *path = NULL;
    BlockDriverState *backing;

    if (flags & BDRV_O_NO_BACKING) {
        return true;
    }
    if (ref && !*ref) {
        return true;
    }
    /*
     * As 7.2: the recorded name is used unless the user named the node
     * or its file; options that only tune it (backing.driver=...) keep
     * it.  The recorded format applies where the user gave no driver.
     */
    if (!ref && !qdict_haskey(opts, "file.filename") &&
        !qdict_haskey(opts, "file")) {
        if (bs->backing_file && *bs->backing_file) {
            path = bdrv_path_relative_to(bs->filename, bs->backing_file);
        } else if (qdict_size(opts) == 0) {
            return true;
        }
    }
    if (!ref && !path && qdict_size(opts) == 0) {
        return true;
    }
    if (!bs->drv->supports_backing) {
        error_setg(errp, "Driver doesn't support backing files");
        return false;
    }
    if (ref) {
        /* a string names an existing node (only ever from the user) */
        backing = bdrv_find_node(ref);
        if (!backing) {
            error_setg(errp, "Could not open backing file: Cannot find "
                       "device='%s' nor node-name='%s'", ref, ref);
            return false;
        }
        return bdrv_attach_child(bs, bdrv_ref(backing), "backing",
                                 BDRV_CHILD_COW, errp);
    }
    if (bs->backing_format && !qdict_haskey(opts, "driver")) {
        qdict_put_str(opts, "driver", bs->backing_format);
    }
    if (!backing_stack_push(bs, errp)) {
        return false;
    }
    backing = bdrv_co_open(path, g_steal_pointer(&opts),
                           flags & ~(BDRV_O_RDWR | BDRV_O_COPY_ON_READ), errp);
    backing_stack_pop();
    if (!backing) {
        error_prepend(errp, "Could not open backing file: ");
        return false;
    }
    return bdrv_attach_child(bs, backing, "backing", BDRV_CHILD_COW, errp);
}

/* What 7.2 lists as @bs's options in a json: name: driver, file. */
static QObject *bdrv_name_options(BlockDriverState *bs)
{
    QObject *o = qdict_new();

    qdict_put_str(o, "driver", bs->drv->format_name);
    if (bs->file) {
        qdict_put_obj(o, "file", bdrv_name_options(bs->file->bs));
    } else {
        qdict_put_str(o, "filename", bs->filename);
    }
    return o;
}

char *bdrv_filter_json_name(const BlockDriver *drv, BlockDriverState *child)
{
    g_autoptr(QObject) top = qdict_new();
    GString *out = g_string_new("json:");

    qdict_put_str(top, "driver", drv->format_name);
    qdict_put_obj(top, "file", bdrv_name_options(child));
    json_write(out, top, JSON_QEMU_ORDER, 0);
    return g_string_free(out, false);
}

/*
 * The name of a format node over a node named json:{...}: QEMU's
 * json:{"driver": FORMAT, "file": {...}}, members in QEMU's order.
 */
static char *bdrv_json_wrap_name(const BlockDriver *drv, const char *child)
{
    g_autoptr(QObject) top = qdict_new();
    QObject *file = json_parse(child + strlen("json:"), NULL);
    GString *out = g_string_new("json:");

    qdict_put_str(top, "driver", drv->format_name);
    if (file) {
        qdict_put_obj(top, "file", file);
    }
    json_write(out, top, JSON_QEMU_ORDER, 0);
    return g_string_free(out, false);
}

static BlockDriverState *coroutine_fn bdrv_co_open_node(const char *filename,
                                                        QDict *options,
                                                        int flags,
                                                        Error **errp);

/*
 * -s (snapshot mode): a temporary qcow2 over @base (reference taken), in
 * $TMPDIR or /var/tmp as 7.2 puts it (disk images do not belong on a
 * tmpfs), removed from the directory at once: nothing of it outlives us,
 * even after a crash.  Writes go there; @base stays read-only.
 */
static BlockDriverState *coroutine_fn
bdrv_co_append_temp_snapshot(BlockDriverState *base, int flags, Error **errp)
{
    const char *tmpdir = g_get_tmp_dir();
    g_autofree char *tmp = NULL;
    g_autofree char *size = NULL;
    g_autoptr(QObject) copts = qdict_new();
    BlockDriverState *top;
    QDict *topts;
    int64_t len = bdrv_co_getlength(base);
    int fd;

    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Could not get image size");
        goto fail;
    }
    if (!g_strcmp0(tmpdir, "/tmp")) {
        tmpdir = "/var/tmp";
    }
    tmp = g_strdup_printf("%s/vl.XXXXXX", tmpdir);
    fd = g_mkstemp(tmp);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open temporary file '%s'",
                         tmp);
        goto fail;
    }
    close(fd);
    size = g_strdup_printf("%" PRId64, len);
    qdict_put_str(copts, "size", size);
    if (!bdrv_co_create(&bdrv_qcow2, tmp, copts, errp)) {
        error_prepend(errp, "Could not create temporary overlay '%s': ", tmp);
        unlink(tmp);
        goto fail;
    }
    /* cache=unsafe: nothing of it is kept */
    topts = qdict_new();
    qdict_put_str(topts, "driver", "qcow2");
    top = bdrv_co_open(tmp, topts, BDRV_O_RDWR | BDRV_O_NO_BACKING | BDRV_O_NO_FLUSH |
                       (flags & ~(BDRV_O_NOCACHE | BDRV_O_NATIVE_AIO)),
                       errp);
    unlink(tmp);
    if (!top) {
        goto fail;
    }
    if (!bdrv_attach_child(top, base, "backing", BDRV_CHILD_COW, errp)) {
        bdrv_unref(top);
        return NULL;
    }
    return top;

fail:
    bdrv_unref(base);
    return NULL;
}

BlockDriverState *coroutine_fn bdrv_co_open(const char *filename,
                                            QDict *options, int flags,
                                            Error **errp)
{
    if (flags & BDRV_O_SNAPSHOT) {
        BlockDriverState *base;

        flags &= ~BDRV_O_SNAPSHOT;
        base = bdrv_co_open(filename, options,
                            flags & ~(BDRV_O_RDWR | BDRV_O_COPY_ON_READ), errp);
        return base ? bdrv_co_append_temp_snapshot(base, flags, errp) : NULL;
    }
    return bdrv_co_open_node(filename, options, flags, errp);
}

static BlockDriverState *coroutine_fn bdrv_co_open_node(const char *filename,
                                                        QDict *options,
                                                        int flags,
                                                        Error **errp)
{
    g_autoptr(QObject) opts = options ? options : qdict_new();
    g_autofree char *drvname = NULL;
    g_autofree char *file_ref = NULL;
    g_autoptr(QObject) file_opts = NULL;
    const BlockDriver *drv = NULL;
    BlockDriverState *file = NULL, *bs;
    g_autoptr(QObject) backing_opts = NULL;
    g_autofree char *backing_ref = NULL;
    g_autofree char *json_name = NULL;
    g_autofree char *dz_name = NULL;
    BdrvDetectZeroes dz = BDRV_DETECT_ZEROES_OFF;
    bool probed = false;

    if (filename && g_str_has_prefix(filename, "json:")) {
        if (!bdrv_parse_json_filename(filename, opts, errp)) {
            return NULL;
        }
        filename = NULL;
    }
    if (!bdrv_take_common_options(opts, &flags, errp)) {
        return NULL;
    }
    /* this node's own: its children do not inherit it (as 7.2) */
    dz_name = bdrv_opt_take_str(opts, "detect-zeroes");
    if (dz_name && !bdrv_parse_detect_zeroes(dz_name, &dz)) {
        error_setg(errp, "invalid parameter value: %s", dz_name);
        return NULL;
    }
    drvname = bdrv_opt_take_str(opts, "driver");
    if (drvname) {
        drv = bdrv_find_format(drvname);
        if (!drv) {
            error_setg(errp, "Unknown driver '%s'", drvname);
            return NULL;
        }
    }
    /*
     * A protocol node, or a format node where a protocol was expected
     * ("file": {"driver": "raw", ...}): that one opens its own file below
     * it, as in 7.2; only an unnamed driver is looked for among protocols.
     */
    if ((drv && drv->protocol_name) || (!drv && (flags & BDRV_O_PROTOCOL))) {
        bs = bdrv_open_protocol(filename, drvname, opts, flags, errp);
        if (bs) {
            bs->detect_zeroes = dz;
        }
        return bs;
    }

    /*
     * A format node: open its protocol child first.  As in 7.2, the child
     * is the file name given, or "file" options; a "filename" option of
     * a format node names no file, and a string "file" names a node.
     */
    file_ref = bdrv_opt_take_str(opts, "file");
    file_opts = qdict_extract_subdict(opts, "file");
    if (file_ref) {
        /* an existing node (7.2: a reference, taken by the new parent) */
        file = bdrv_find_node(file_ref);
        if (!file || qdict_size(file_opts) > 0) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       file_ref, file_ref);
            return NULL;
        }
        bdrv_ref(file);
        filename = file->filename;
    } else if (!filename && qdict_size(file_opts) == 0) {
        error_setg(errp, drv ? "A block device must be specified for \"file\""
                             : "Must specify either driver or file");
        return NULL;
    }
    g_free(bdrv_opt_take_str(opts, "filename"));
    /*
     * As QEMU's children inherit discard=unmap by default: the format
     * driver decides which discards to pass down (qcow2's pass-discard-*),
     * so the node below honours them whatever the top node was opened with.
     */
    if (!file_ref) {
        file = bdrv_co_open(filename, g_steal_pointer(&file_opts),
                            (flags & ~BDRV_O_COPY_ON_READ) | BDRV_O_PROTOCOL |
                            BDRV_O_UNMAP, errp);
        if (!file) {
            return NULL;
        }
    }
    if (!filename || file->drv->canonical_filename) {
        /* a URL protocol names its node in its own canonical form */
        filename = file->filename;
    }
    if (!drv) {
        drv = bdrv_probe(file, filename, errp);
        if (!drv) {
            bdrv_unref(file);
            return NULL;
        }
        probed = true;
    }
    if (probed && drv == &bdrv_raw) {
        qdict_put_str(opts, "x-probed", "on");
    }
    if (file->drv->json_filename) {
        json_name = bdrv_json_wrap_name(drv, file->filename);
        filename = json_name;
    }
    backing_opts = qdict_extract_subdict(opts, "backing");
    if (qdict_get_try_str(opts, "backing") &&
        !*qdict_get_try_str(opts, "backing")) {
        bdrv_message(BDRV_MSG_WARNING, "Use of \"backing\": \"\" is "
                     "deprecated; use \"backing\": null instead");
    }
    backing_ref = bdrv_opt_take_str(opts, "backing");
    bs = bdrv_co_open_driver(drv, filename, file, opts, flags, errp);
    if (bs) {
        bs->detect_zeroes = dz;
    }
    if (bs && !bdrv_co_open_backing(bs, backing_ref,
                                    g_steal_pointer(&backing_opts), flags,
                                    errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    if (bs && probed && drv == &bdrv_raw && (flags & BDRV_O_RDWR)) {
        bs->open_warning = g_strdup_printf(
            "WARNING: Image format was not specified for '%s' and probing "
            "guessed raw.\n"
            "         Automatically detecting the format is dangerous for "
            "raw images, write operations on block 0 will be restricted.\n"
            "         Specify the 'raw' format explicitly to remove the "
            "restrictions.", filename);
    }
    return bs;
}

BdrvChild *coroutine_fn bdrv_co_open_child(const char *filename,
                                           QDict *options, const char *name,
                                           BlockDriverState *parent,
                                           unsigned role, int flags,
                                           Error **errp)
{
    g_autofree char *ref = bdrv_opt_take_str(options, name);
    QDict *sub = qdict_extract_subdict(options, name);
    BlockDriverState *bs;

    bs = bdrv_co_open(ref ? ref : filename, sub, flags, errp);
    if (!bs) {
        return NULL;
    }
    return bdrv_attach_child(parent, bs, name, role, errp);
}

/* ---- info ---- */

int coroutine_fn bdrv_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                               int fix)
{
    memset(res, 0, sizeof(*res));
    if (!bs->drv->co_check) {
        return -ENOTSUP;
    }
    return bs->drv->co_check(bs, res, fix);
}

int coroutine_fn bdrv_co_make_empty(BlockDriverState *bs)
{
    if (!bs->drv->co_make_empty) {
        return -ENOTSUP;
    }
    return bs->drv->co_make_empty(bs);
}

int coroutine_fn bdrv_co_change_backing_file(BlockDriverState *bs,
                                             const char *file,
                                             const char *fmt, bool require)
{
    if ((fmt && !file) || (require && file && !fmt)) {
        return -EINVAL;
    }
    if (!bs->drv->co_change_backing_file) {
        return -ENOTSUP;
    }
    return bs->drv->co_change_backing_file(bs, file, fmt);
}

bool coroutine_fn bdrv_co_measure(const BlockDriver *drv, QDict *opts,
                                  BlockDriverState *in_bs,
                                  BlockMeasureInfo *info, Error **errp)
{
    memset(info, 0, sizeof(*info));
    if (!drv->co_measure) {
        error_setg(errp, "Block driver '%s' does not support size "
                   "measurement", drv->format_name);
        return false;
    }
    return drv->co_measure(opts, in_bs, info, errp);
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    memset(bdi, 0, sizeof(*bdi));
    if (!bs->drv->get_info) {
        /* as 7.2: a filter (blkdebug) answers for the node below */
        BlockDriverState *below = bdrv_filtered_bs(bs);

        return below ? bdrv_get_info(below, bdi) : -ENOTSUP;
    }
    return bs->drv->get_info(bs, bdi);
}

QDict *bdrv_get_specific_info(BlockDriverState *bs, Error **errp)
{
    return bs->drv->get_specific_info ? bs->drv->get_specific_info(bs, errp)
                                      : NULL;
}

bool bdrv_has_zero_init(BlockDriverState *bs)
{
    return bs->drv->has_zero_init ? bs->drv->has_zero_init(bs) : false;
}

/* ---- persistent bitmaps ---- */

bool bdrv_supports_persistent_bitmaps(BlockDriverState *bs)
{
    return bs->drv->supports_bitmaps && bs->drv->supports_bitmaps(bs);
}

bool bdrv_can_create_persistent_bitmap(BlockDriverState *bs, const char *name,
                                       uint64_t granularity, Error **errp)
{
    /* 7.2's order: storable first, then the name */
    if (!bs->drv->can_store_bitmap || bs->read_only) {
        error_setg(errp, "Can't store persistent bitmaps to %s: %s",
                   bs->filename, bs->read_only ? "Image is read-only" :
                   "Operation not supported");
        return false;
    }
    if (!bs->drv->can_store_bitmap(bs, name, granularity, errp)) {
        error_prepend(errp, "Can't make bitmap '%s' persistent in '%s': ",
                      name, bs->filename);
        return false;
    }
    if (bdrv_dirty_bitmap_find(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return false;
    }
    return true;
}

BdrvDirtyBitmap *bdrv_create_persistent_bitmap(BlockDriverState *bs,
                                               const char *name,
                                               uint64_t granularity,
                                               bool enabled, Error **errp)
{
    BdrvDirtyBitmap *bm;

    if (!bdrv_can_create_persistent_bitmap(bs, name, granularity, errp)) {
        return NULL;
    }
    bm = bdrv_dirty_bitmap_create(bs, name, granularity, bs->total_bytes,
                                  errp);
    if (bm) {
        bdrv_dirty_bitmap_set_persistent(bm, true);
        bdrv_dirty_bitmap_set_enabled(bm, enabled);
    }
    return bm;
}

bool coroutine_fn bdrv_co_store_bitmaps(BlockDriverState *bs, Error **errp)
{
    if (!bs->drv->co_store_bitmaps || bs->read_only) {
        return true;
    }
    return bs->drv->co_store_bitmaps(bs, errp);
}

bool bdrv_issues_in_order(BlockDriverState *bs)
{
    while (bs->drv == &bdrv_raw && bs->file) {
        bs = bs->file->bs;
    }
    return bs->drv->issues_in_order;
}
