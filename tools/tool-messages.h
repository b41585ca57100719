/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the command-line tools (qemu-img, qemu-io, and those to come) share:
 * the handler that prints the block layer's messages (block.h,
 * bdrv_set_message_handler) where and how 7.2 prints them.
 */
#ifndef TOOLS_TOOL_MESSAGES_H
#define TOOLS_TOOL_MESSAGES_H

#include "block/block.h"

/*
 * Errors and warnings with the program's name before them (error_report,
 * warn_report); blkdebug's notes on stdout; the rest as they are on stderr.
 */
void tool_print_block_message(BdrvMessageKind kind, const char *msg);

#endif /* TOOLS_TOOL_MESSAGES_H */
