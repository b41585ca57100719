/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a file on an NFS server has data and holes: NFSv4.2's SEEK, on a
 * session of its own beside the nfs driver's NFSv3 connections (libnfs
 * 4.0 speaks NFSv3 and NFSv4.0, and SEEK is 4.2).  See nfs4-seek.c.
 */
#ifndef BLOCK_NFS4_SEEK_H
#define BLOCK_NFS4_SEEK_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

#include <sys/socket.h>

typedef struct NFS4Seek NFS4Seek;

/*
 * Connect to @addr, set up a session and open @path (an absolute path in
 * the server's NFSv4 namespace) for reading, as @uid/@gid (AUTH_SYS); the
 * file there must have the file id @fileid (the one NFSv3 opened).
 * Each RPC waits at most @timeout_ms.  Returns a new NFS4Seek, to be
 * freed with nfs4_seek_free(); NULL if any step fails (a server
 * without NFSv4.2, a path it knows only over NFSv3...): the caller goes
 * without.  Context: a coroutine in @ctx.
 */
NFS4Seek *coroutine_fn nfs4_seek_co_open(AioContext *ctx,
                                         const struct sockaddr_storage *addr,
                                         socklen_t addrlen, const char *path,
                                         uint64_t fileid, uint32_t uid,
                                         uint32_t gid, int64_t timeout_ms);

/*
 * From @offset: *@data the first byte of data at or after it, or -1 when
 * none follows (a hole to the end of the file); *@hole the first byte of
 * a hole at or after it (the end of the file counts as one).  Returns 0,
 * -ENXIO when @offset is at or past the end of the file, or another
 * -errno (the session is unusable: free it).
 */
int coroutine_fn nfs4_seek_co_query(NFS4Seek *s, uint64_t offset,
                                    int64_t *data, uint64_t *hole);

/* Close the file and the session (without waiting) and free @s. */
void nfs4_seek_free(NFS4Seek *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NFS4Seek, nfs4_seek_free)

#endif /* BLOCK_NFS4_SEEK_H */
