/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd driver's options, parsed and checked in nbd-opts.c for nbd.c.
 */
#ifndef BLOCK_NBD_OPTS_H
#define BLOCK_NBD_OPTS_H

#include "util/osdep.h"
#include "util/qobject.h"
#include "util/error.h"

#define NBD_DEFAULT_PORT        10809
/* The longest export or context name the protocol carries. */
#define NBD_MAX_STRING_SIZE     4096
#define NBD_MAX_CONNECTIONS     16
/*
 * Connections per image unless connections= asks for more (used only
 * where the server allows several: CAN_MULTI_CONN).  One measured best
 * on 2 cores, where the server shares them: 4 were up to 2x slower into
 * nbdkit memory, 2 level at best (docs/performance.md, "NBD").
 */
#define NBD_DEFAULT_CONNECTIONS 1
/* Commands in flight per connection. */
#define NBD_DEFAULT_DEPTH       16
#define NBD_MAX_DEPTH           256
/* Seconds a command may wait for its answer before the connection dies. */
#define NBD_DEFAULT_TIMEOUT_S   60

/* What an NBD export is opened with (nbd_take_options()). */
typedef struct NBDOptions {
    bool is_unix;
    char *path;                 /* unix */
    char *host, *port;          /* inet */
    char *export;               /* NULL: none given (the default export) */
    char *x_dirty_bitmap;       /* the meta context block status reads */
    uint64_t reconnect_delay, open_timeout;
    uint64_t connections, depth, timeout;
    bool has_connections;
} NBDOptions;

/* Take @o's options out of @options, checked, with their defaults. */
bool nbd_take_options(QDict *options, NBDOptions *o, Error **errp);
void nbd_options_free(NBDOptions *o);
/*
 * The canonical name, QEMU's: nbd+unix:///EXPORT?socket=PATH or
 * nbd://HOST:PORT/EXPORT, plus our options that are not the default.
 */
char *nbd_make_url(const NBDOptions *o);
/* The server's address in messages: the socket's path, or HOST:PORT. */
char *nbd_server_name(const NBDOptions *o);
/* The driver's parse_filename: URLs and the legacy nbd:... syntax. */
bool nbd_parse_filename(const char *filename, QDict *options, Error **errp);

#endif /* BLOCK_NBD_OPTS_H */
