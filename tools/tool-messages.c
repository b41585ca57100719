/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tools' handler for the block layer's messages; see tool-messages.h. */
#include "util/osdep.h"
#include "util/error.h"
#include "tool-messages.h"

void tool_print_block_message(BdrvMessageKind kind, const char *msg)
{
    switch (kind) {
    case BDRV_MSG_ERROR:
        error_report("%s", msg);
        break;
    case BDRV_MSG_WARNING:
        warn_report("%s", msg);
        break;
    case BDRV_MSG_TRACE:
        fprintf(stdout, "%s\n", msg);
        break;
    default:
        fprintf(stderr, "%s\n", msg);
    }
}
