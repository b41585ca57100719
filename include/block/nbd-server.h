/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server: exports of block nodes served to NBD clients, as QEMU
 * 7.2's (fixed newstyle handshake, structured replies, the meta contexts
 * base:allocation, qemu:allocation-depth and qemu:dirty-bitmap:NAME).
 * qemu-nbd is one user; the storage daemon will be another.
 *
 * A server holds exports and clients.  A client is one connection: its
 * handshake, then its requests, many in flight at once, each run in a
 * coroutine of its own.  Every length and offset from a client is
 * checked; a client that breaks the protocol is disconnected and the
 * server goes on with the others.
 * Context: one AioContext, its thread.
 */
#ifndef BLOCK_NBD_SERVER_H
#define BLOCK_NBD_SERVER_H

#include "util/osdep.h"
#include "util/error.h"
#include "block/block-backend.h"

typedef struct NBDServer NBDServer;
typedef struct NBDExport NBDExport;

typedef struct NBDExportOptions {
    const char *name;           /* "" is the default export */
    const char *description;    /* NULL: none */
    BlockBackend *blk;          /* served; the export does not own it */
    bool read_only;
    bool multi_conn;            /* advertise CAN_MULTI_CONN */
    const char *const *bitmaps; /* each a qemu:dirty-bitmap:NAME context */
    int nr_bitmaps;
    bool allocation_depth;      /* qemu:allocation-depth */
} NBDExportOptions;

NBDServer *nbd_server_new(AioContext *ctx);
/*
 * Disconnect every client: each ends once its requests in flight have
 * (its closed callback runs then).
 */
void nbd_server_close_clients(NBDServer *srv);
/* Free the exports; no client may be left (nbd_server_client_count()). */
void nbd_server_free(NBDServer *srv);
/* A new export of @o; false with @errp (bitmap missing, name too long). */
bool coroutine_fn nbd_server_co_add_export(NBDServer *srv,
                                          const NBDExportOptions *o,
                                          Error **errp);
/*
 * Serve the connected socket @fd (owned from now on).  @closed(@opaque,
 * @negotiated) runs once the client is gone; @negotiated: it got past
 * the handshake.
 */
void nbd_server_add_client(NBDServer *srv, int fd,
                           void (*closed)(void *opaque, bool negotiated),
                           void *opaque);
int nbd_server_client_count(NBDServer *srv);
/*
 * The clients that chose the export @name (each disconnected, if
 * @disconnect: they end once their requests in flight have).
 */
int nbd_server_export_clients(NBDServer *srv, const char *name,
                              bool disconnect);
/* Remove the export @name; false if there is none or a client uses it. */
bool nbd_server_remove_export(NBDServer *srv, const char *name);

#endif /* BLOCK_NBD_SERVER_H */
