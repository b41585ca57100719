/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The storage daemon's NBD server and block exports: nbd-server-start
 * and -stop, block-export-add and -del, query-block-exports, and
 * --nbd-server / --export on the command line.  An export is a
 * BlockBackend on its node (read, and write when writable, everything
 * shared, as 7.2's) served by block/export/nbd-server.c.  Deleting an
 * export with clients: mode=safe refuses, mode=hard disconnects them and
 * the export goes (BLOCK_EXPORT_DELETED) once their requests have ended.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/nbd-server.h"
#include "util/aio.h"
#include "util/sockets.h"

#include <sys/socket.h>

typedef struct QsdExport {
    char *id;
    char *name;                 /* the NBD export name */
    BlockBackend *blk;          /* its root follows the node (a pivot) */
    bool shutting_down;
} QsdExport;

static NBDServer *nbd_srv;
static int nbd_listen_fd = -1;
static char *nbd_unix_path;
static int nbd_max_conn;
static GPtrArray *exports;      /* QsdExport */

/* ---- the server ---- */

static void nbd_accept(void *opaque);

/* a place is free: listen again (max-connections may have stopped it) */
static void nbd_client_closed(void *opaque, bool negotiated)
{
    if (nbd_listen_fd >= 0) {
        aio_set_fd_handler(qemu_get_aio_context(), nbd_listen_fd, nbd_accept,
                           NULL, NULL);
    }
}

static void nbd_accept(void *opaque)
{
    int fd = accept4(nbd_listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return;
    }
    nbd_server_add_client(nbd_srv, fd, nbd_client_closed, NULL);
    if (nbd_max_conn && nbd_server_client_count(nbd_srv) >= nbd_max_conn) {
        /* the next ones wait in the listen queue */
        aio_set_fd_handler(qemu_get_aio_context(), nbd_listen_fd, NULL, NULL,
                           NULL);
    }
}

/*
 * Start the server on @addr: {"type": "unix", "path": P} or {"type":
 * "inet", "host": H, "port": P} (the legacy QMP form nests them in
 * "data").
 */
static bool server_start(QDict *addr, int64_t max_conn, Error **errp)
{
    const char *type = qdict_get_try_str(addr, "type");
    QObject *data = qdict_get(addr, "data");
    QDict *a = data && qobject_type(data) == QTYPE_DICT ? (QDict *)data
                                                       : addr;

    if (nbd_srv) {
        error_setg(errp, "NBD server already running");
        return false;
    }
    if (!type) {
        error_setg(errp, "Parameter 'addr.type' is missing");
        return false;
    }
    if (!strcmp(type, "unix")) {
        const char *path = qdict_get_try_str(a, "path");

        if (!path) {
            error_setg(errp, "Parameter 'addr.path' is missing");
            return false;
        }
        nbd_listen_fd = socket_listen_unix(path, SOMAXCONN, errp);
        nbd_unix_path = g_strdup(path);
    } else if (!strcmp(type, "inet")) {
        const char *host = qdict_get_try_str(a, "host");
        const char *port = qdict_get_try_str(a, "port");

        if (!host || !port) {
            error_setg(errp, "Parameter 'addr.%s' is missing",
                       host ? "port" : "host");
            return false;
        }
        nbd_listen_fd = socket_listen_tcp(host, port, SOMAXCONN, errp);
    } else {
        error_setg(errp, "Parameter 'addr.type' does not accept value '%s'",
                   type);
        return false;
    }
    if (nbd_listen_fd < 0) {
        g_clear_pointer(&nbd_unix_path, g_free);
        return false;
    }
    nbd_max_conn = max_conn;
    nbd_srv = nbd_server_new(qemu_get_aio_context());
    aio_set_fd_handler(qemu_get_aio_context(), nbd_listen_fd, nbd_accept,
                       NULL, NULL);
    return true;
}

bool coroutine_fn qsd_nbd_server_start(QDict *opts, Error **errp)
{
    g_autoptr(QObject) o G_GNUC_UNUSED = opts;     /* taken */
    g_autoptr(QObject) addr = qdict_extract_subdict(opts, "addr");
    uint64_t max_conn = 0;
    bool present;

    if (!bdrv_opt_take_number(opts, "max-connections", &max_conn, &present,
                              errp)) {
        return false;
    }
    if (qdict_haskey(opts, "tls-creds") || qdict_haskey(opts, "tls-authz")) {
        error_setg(errp, "TLS is not supported");
        return false;
    }
    if (qdict_size(opts)) {
        error_setg(errp, "Invalid parameter '%s'", qdict_key_at(opts, 0));
        return false;
    }
    return server_start((QDict *)addr, max_conn, errp);
}

static void coroutine_fn qmp_nbd_server_start(QDict *args, QObject **ret,
                                              Error **errp)
{
    if (!qmp_check_args(args, "addr:o ?tls-creds:s ?tls-authz:s "
                        "?max-connections:i", errp)) {
        return;
    }
    if (qdict_haskey(args, "tls-creds") || qdict_haskey(args, "tls-authz")) {
        error_setg(errp, "TLS is not supported");
        return;
    }
    server_start((QDict *)qdict_get(args, "addr"),
                 qmp_int(args, "max-connections", 0), errp);
}

/* ---- exports ---- */

static QsdExport *find_export(const char *id)
{
    guint i;

    for (i = 0; exports && i < exports->len; i++) {
        QsdExport *e = exports->pdata[i];

        if (!strcmp(e->id, id)) {
            return e;
        }
    }
    return NULL;
}

static bool export_add(const char *type, const char *id, const char *node,
                       const char *name, const char *description,
                       bool writable, const char *const *bitmaps,
                       int nr_bitmaps, bool alloc_depth, Error **errp)
{
    NBDExportOptions eo = { 0 };
    BlockDriverState *bs;
    BlockBackend *blk;
    QsdExport *e;

    if (strcmp(type, "nbd")) {
        error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
        return false;
    }
    if (!nbd_srv) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    if (find_export(id)) {
        error_setg(errp, "Block export id '%s' is already in use", id);
        return false;
    }
    bs = qsd_lookup_node(NULL, node, errp);
    if (!bs) {
        return false;
    }
    if (writable && bdrv_is_read_only(bs)) {
        error_setg(errp, "Cannot export read-only node as writable");
        return false;
    }
    blk = blk_new_with_bs(bdrv_ref(bs), BLK_PERM_CONSISTENT_READ |
                          (writable ? BLK_PERM_WRITE : 0), BLK_PERM_ALL,
                          errp);
    if (!blk) {
        return false;
    }
    eo.name = name;
    eo.description = description;
    eo.blk = blk;
    eo.read_only = !writable;
    eo.multi_conn = true;
    eo.bitmaps = bitmaps;
    eo.nr_bitmaps = nr_bitmaps;
    eo.allocation_depth = alloc_depth;
    if (!nbd_server_co_add_export(nbd_srv, &eo, errp)) {
        blk_unref(blk);
        return false;
    }
    e = g_new0(QsdExport, 1);
    e->id = g_strdup(id);
    e->name = g_strdup(name);
    e->blk = blk;
    if (!exports) {
        exports = g_ptr_array_new();
    }
    g_ptr_array_add(exports, e);
    return true;
}

bool coroutine_fn qsd_export_add(QDict *opts, Error **errp)
{
    g_autoptr(QObject) o G_GNUC_UNUSED = opts;     /* taken */
    g_autofree char *type = bdrv_opt_take_str(opts, "type");
    g_autofree char *id = bdrv_opt_take_str(opts, "id");
    g_autofree char *node = bdrv_opt_take_str(opts, "node-name");
    g_autofree char *name = bdrv_opt_take_str(opts, "name");
    g_autofree char *desc = bdrv_opt_take_str(opts, "description");
    g_autofree char *bitmap = bdrv_opt_take_str(opts, "bitmap");
    bool writable = false, depth = false, wt = false;
    const char *bitmaps[1] = { bitmap };

    if (!bdrv_opt_take_bool(opts, "writable", &writable, errp) ||
        !bdrv_opt_take_bool(opts, "writethrough", &wt, errp) ||
        !bdrv_opt_take_bool(opts, "allocation-depth", &depth, errp)) {
        return false;
    }
    g_free(bdrv_opt_take_str(opts, "iothread"));
    /* the union's tag first, as 7.2's visitor: we export NBD only */
    if (type && strcmp(type, "nbd")) {
        error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
        return false;
    }
    if (qdict_size(opts)) {
        error_setg(errp, "Invalid parameter '%s'", qdict_key_at(opts, 0));
        return false;
    }
    if (!type || !id || !node) {
        error_setg(errp, "Parameter '%s' is missing",
                   !type ? "type" : !id ? "id" : "node-name");
        return false;
    }
    return export_add(type, id, node, name ? name : node, desc, writable,
                      bitmaps, bitmap ? 1 : 0, depth, errp);
}

static void coroutine_fn qmp_block_export_add(QDict *args, QObject **ret,
                                              Error **errp)
{
    g_autofree const char **bitmaps = NULL;
    QList *bl;
    size_t i, n = 0;

    if (!qmp_check_args(args, "type:s id:s ?fixed-iothread:b ?iothread:s "
                        "node-name:s ?writable:b ?writethrough:b ?name:s "
                        "?description:s ?bitmaps:a ?allocation-depth:b",
                        errp)) {
        return;
    }
    bl = (QList *)qdict_get(args, "bitmaps");
    n = bl ? qlist_size(bl) : 0;
    bitmaps = g_new0(const char *, n + 1);
    for (i = 0; i < n; i++) {
        if (qobject_type(qlist_at(bl, i)) != QTYPE_STRING) {
            error_setg(errp, "Invalid parameter type for 'bitmaps[%zu]', "
                       "expected: string", i);
            return;
        }
        bitmaps[i] = qstring_get(qlist_at(bl, i));
    }
    export_add(qmp_str(args, "type"), qmp_str(args, "id"),
               qmp_str(args, "node-name"),
               qmp_str(args, "name") ? qmp_str(args, "name")
                                     : qmp_str(args, "node-name"),
               qmp_str(args, "description"),
               qmp_bool(args, "writable", false), bitmaps, n,
               qmp_bool(args, "allocation-depth", false), errp);
}

static void export_free(QsdExport *e)
{
    QDict *data = qdict_new();

    g_ptr_array_remove(exports, e);
    blk_co_drain(e->blk);
    blk_unref(e->blk);
    qdict_put_str(data, "id", e->id);
    qmp_send_event("BLOCK_EXPORT_DELETED", data);
    g_free(e->id);
    g_free(e->name);
    g_free(e);
}

/* Remove @e now if no client uses it, else once the last has gone. */
static void coroutine_fn export_delete(QsdExport *e, bool hard)
{
    e->shutting_down = true;
    if (hard) {
        nbd_server_export_clients(nbd_srv, e->name, true);
    }
    while (!nbd_server_remove_export(nbd_srv, e->name)) {
        qemu_co_sleep_ns(10 * 1000 * 1000);
    }
    export_free(e);
}

static void coroutine_fn export_delete_entry(void *opaque)
{
    export_delete(opaque, true);
}

static void coroutine_fn qmp_block_export_del(QDict *args, QObject **ret,
                                              Error **errp)
{
    static const char *const modes[] = { "safe", "hard", NULL };
    QsdExport *e;
    int mode;

    if (!qmp_check_args(args, "id:s ?mode:s", errp)) {
        return;
    }
    mode = qmp_enum(args, "mode", modes, 0, errp);
    if (mode < 0) {
        return;
    }
    e = find_export(qmp_str(args, "id"));
    if (!e) {
        error_setg(errp, "Export '%s' is not found", qmp_str(args, "id"));
        return;
    }
    if (e->shutting_down) {
        error_setg(errp, "Export '%s' is already shutting down", e->id);
        return;
    }
    if (mode == 0 && nbd_server_export_clients(nbd_srv, e->name, false)) {
        error_setg(errp, "export '%s' still in use", e->id);
        return;
    }
    if (mode == 0) {
        export_delete(e, false);
    } else {
        /* the reply comes first; the event once the clients have gone */
        e->shutting_down = true;
        aio_co_schedule(qemu_get_aio_context(),
                        qemu_coroutine_create(export_delete_entry, e));
    }
}

static void coroutine_fn qmp_query_block_exports(QDict *args, QObject **ret,
                                                 Error **errp)
{
    QList *l;
    guint i;

    if (!qmp_check_args(args, "", errp)) {
        return;
    }
    l = qlist_new();
    /* the newest first, as 7.2 lists them */
    for (i = exports ? exports->len : 0; i-- > 0;) {
        QsdExport *e = exports->pdata[i];
        QDict *d = qdict_new();

        qdict_put_str(d, "type", "nbd");
        qdict_put_str(d, "id", e->id);
        qdict_put_str(d, "node-name", blk_bs(e->blk)->node_name);
        qdict_put_bool(d, "shutting-down", e->shutting_down);
        qlist_append(l, d);
    }
    *ret = l;
}

void coroutine_fn qsd_shutdown_exports(void)
{
    while (exports && exports->len) {
        export_delete(exports->pdata[0], true);
    }
    g_clear_pointer(&exports, g_ptr_array_unref);
    if (nbd_srv) {
        nbd_server_close_clients(nbd_srv);
        while (nbd_server_client_count(nbd_srv) > 0) {
            qemu_co_sleep_ns(10 * 1000 * 1000);
        }
        nbd_server_free(nbd_srv);
        nbd_srv = NULL;
    }
    if (nbd_listen_fd >= 0) {
        aio_set_fd_handler(qemu_get_aio_context(), nbd_listen_fd, NULL, NULL,
                           NULL);
        close(nbd_listen_fd);
        nbd_listen_fd = -1;
    }
    if (nbd_unix_path) {
        unlink(nbd_unix_path);
        g_clear_pointer(&nbd_unix_path, g_free);
    }
}

static void coroutine_fn qmp_nbd_server_stop(QDict *args, QObject **ret,
                                             Error **errp)
{
    if (!qmp_check_args(args, "", errp)) {
        return;
    }
    if (!nbd_srv) {
        error_setg(errp, "NBD server not running");
        return;
    }
    qsd_shutdown_exports();
}

const QmpCommand qmp_nbd_commands[] = {
    { "nbd-server-start", qmp_nbd_server_start },
    { "nbd-server-stop", qmp_nbd_server_stop },
    { "block-export-add", qmp_block_export_add },
    { "block-export-del", qmp_block_export_del },
    { "query-block-exports", qmp_query_block_exports },
    { NULL },
};
