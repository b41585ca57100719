/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef QEMU_NBD_LIST_H
#define QEMU_NBD_LIST_H

/*
 * qemu-nbd -L: print the exports of the server at @sockpath (a unix
 * socket) or else @host:@port, as 7.2 does; the exit status.
 */
int qemu_nbd_list(const char *sockpath, const char *host, const char *port);

#endif
