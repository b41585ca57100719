/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Listening sockets, with QEMU 7.2's messages.  Both return the socket
 * (close-on-exec, blocking) or -1 with @errp set.
 */
#ifndef UTIL_SOCKETS_H
#define UTIL_SOCKETS_H

#include "util/osdep.h"
#include "util/error.h"

/* A unix socket at @path; a stale socket there is replaced. */
int socket_listen_unix(const char *path, int backlog, Error **errp);
/* TCP on @host:@port (every address it resolves to, the first that binds). */
int socket_listen_tcp(const char *host, const char *port, int backlog,
                      Error **errp);

#endif /* UTIL_SOCKETS_H */
