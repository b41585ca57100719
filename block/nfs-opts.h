/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nfs driver's options, parsed and checked in nfs-opts.c for nfs.c.
 */
#ifndef BLOCK_NFS_OPTS_H
#define BLOCK_NFS_OPTS_H

#include "util/osdep.h"
#include "util/qobject.h"
#include "util/error.h"

#define NFS_MAX_CONNECTIONS     16
/*
 * Connections per image.  Two let the server decode and answer on two
 * sockets at once: 1 GiB read through a 1.2 ms link took 0.63-0.67 s on
 * two connections of depth 4 against 0.92-0.99 s on one (0.73-0.80 s on
 * one of depth 8; 7.2: 0.87-0.92 s).  See docs/performance.md, "NFS".
 */
#define NFS_DEFAULT_CONNECTIONS 2
/* Default per-RPC timeout: long enough for a slow link, short for a hang. */
#define NFS_DEFAULT_TIMEOUT_S   60
/*
 * Data RPCs in flight per connection.  More than a few make the server's
 * threads fight over the socket (measured: see docs/performance.md, "NFS").
 */
#define NFS_DEFAULT_DEPTH       4
#define NFS_MAX_DEPTH           64

/* What an image on NFS is opened with (nfs_take_options()). */
typedef struct NFSOptions {
    char *host;
    char *path;
    uint64_t uid, gid, syncnt, readahead, pagecache, debug;
    uint64_t nfsport, mountport, connections, timeout, depth;
    bool has_uid, has_gid, has_syncnt, has_readahead, has_pagecache;
    bool has_debug, has_nfsport, has_mountport;
} NFSOptions;

/* Take @o's options out of @options, checked, with their defaults. */
bool nfs_take_options(QDict *options, NFSOptions *o, Error **errp);
void nfs_options_free(NFSOptions *o);
/* Everything that set up a client's connections, as one string. */
char *nfs_options_key(const NFSOptions *o, int flags);
/*
 * The canonical URL: QEMU's form (host, path, uid and gid when not 0),
 * plus our options that decide how the server is reached.
 */
char *nfs_make_url(const NFSOptions *o);
/* nfs://host[:port]/path?query into @options, as QEMU 7.2 parses it. */
bool nfs_parse_uri(const char *filename, QDict *options, Error **errp);
/* The driver's parse_filename: no options that the URL also sets. */
bool nfs_parse_filename(const char *filename, QDict *options, Error **errp);

#endif /* BLOCK_NFS_OPTS_H */
