/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the NBD server: the protocol's constants, the server's state
 * and what its two halves share.  nbd-server.c: exports, handshake,
 * requests and clients; nbd-meta.c: meta contexts and BLOCK_STATUS.
 */
#ifndef BLOCK_EXPORT_NBD_SERVER_INT_H
#define BLOCK_EXPORT_NBD_SERVER_INT_H

#include "block/nbd-server.h"
#include "block/block.h"
#include "block/dirty-bitmap.h"
#include "util/co-socket.h"
#include "util/coroutine.h"

#define NBD_INIT_MAGIC          0x4e42444d41474943ULL   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC          0x49484156454F5054ULL   /* "IHAVEOPT" */
#define NBD_REP_MAGIC           0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC       0x25609513
#define NBD_SIMPLE_REPLY_MAGIC  0x67446698
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33ef

#define NBD_FLAG_FIXED_NEWSTYLE (1 << 0)
#define NBD_FLAG_NO_ZEROES      (1 << 1)

enum {
    NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3,
    NBD_OPT_STARTTLS = 5, NBD_OPT_INFO = 6, NBD_OPT_GO = 7,
    NBD_OPT_STRUCTURED_REPLY = 8, NBD_OPT_LIST_META_CONTEXT = 9,
    NBD_OPT_SET_META_CONTEXT = 10,
};
#define NBD_REP_ACK             1
#define NBD_REP_SERVER          2
#define NBD_REP_INFO            3
#define NBD_REP_META_CONTEXT    4
#define NBD_REP_ERR(n)          ((1u << 31) | (n))
#define NBD_REP_ERR_UNSUP       NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY      NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID     NBD_REP_ERR(3)
#define NBD_REP_ERR_UNKNOWN     NBD_REP_ERR(6)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8)

#define NBD_INFO_EXPORT         0
#define NBD_INFO_NAME           1
#define NBD_INFO_DESCRIPTION    2
#define NBD_INFO_BLOCK_SIZE     3

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS      (1 << 0)
#define NBD_FLAG_READ_ONLY      (1 << 1)
#define NBD_FLAG_SEND_FLUSH     (1 << 2)
#define NBD_FLAG_SEND_FUA       (1 << 3)
#define NBD_FLAG_SEND_TRIM      (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1 << 6)
#define NBD_FLAG_SEND_DF        (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN (1 << 8)
#define NBD_FLAG_SEND_CACHE     (1 << 10)
#define NBD_FLAG_SEND_FAST_ZERO (1 << 11)

enum {
    NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3,
    NBD_CMD_TRIM = 4, NBD_CMD_CACHE = 5, NBD_CMD_WRITE_ZEROES = 6,
    NBD_CMD_BLOCK_STATUS = 7,
};
#define NBD_CMD_FLAG_FUA        (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE    (1 << 1)
#define NBD_CMD_FLAG_DF         (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE    (1 << 3)
#define NBD_CMD_FLAG_FAST_ZERO  (1 << 4)

#define NBD_REPLY_FLAG_DONE     (1 << 0)
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR    ((1 << 15) + 1)

/* errors on the wire */
#define NBD_EPERM       1
#define NBD_EIO         5
#define NBD_ENOMEM      12
#define NBD_EINVAL      22
#define NBD_ENOSPC      28
#define NBD_EOVERFLOW   75
#define NBD_ENOTSUP     95
#define NBD_ESHUTDOWN   108

#define NBD_STATE_HOLE  1
#define NBD_STATE_ZERO  2
#define NBD_STATE_DIRTY 1

/* The most a request's payload (WRITE) or reply's data (READ) may be. */
#define NBD_SRV_MAX_BUFFER      (32 * 1024 * 1024)
#define NBD_SRV_MAX_STRING      4096
/* Requests of one client served at once (7.2's NBD_MAX_REQS). */
#define NBD_SRV_MAX_REQS        16
/* Extents in one BLOCK_STATUS reply. */
#define NBD_SRV_MAX_EXTENTS     (1024 * 1024 / 8)
/* Meta context ids, as 7.2 numbers them. */
#define NBD_META_BASE           0
#define NBD_META_DEPTH          1
#define NBD_META_BITMAP         2   /* the first; one id per bitmap */

struct NBDExport {
    char *name;
    char *description;
    BlockBackend *blk;
    int64_t size;
    uint16_t flags;
    int nr_bitmaps;
    char **bitmap_names;        /* with "qemu:dirty-bitmap:" */
    BdrvDirtyBitmap **bitmaps;
    bool allocation_depth;
    QTAILQ_ENTRY(NBDExport) next;
};

typedef struct NBDClient {
    NBDServer *srv;
    CoSocket *sock;
    NBDExport *exp;             /* chosen by OPT_GO / EXPORT_NAME */
    bool structured;
    bool check_align;           /* the client asked for block sizes */
    /* meta contexts set for exp, by id: base, depth, each bitmap */
    bool *meta_set;
    int meta_count;
    int in_flight;
    CoQueue reqs_wait;          /* the reader waiting for a free request */
    bool closing;
    void (*closed)(void *opaque, bool negotiated);
    void *opaque;
    bool negotiated;
    QTAILQ_ENTRY(NBDClient) next;
} NBDClient;

struct NBDServer {
    AioContext *ctx;
    QTAILQ_HEAD(, NBDExport) exports;
    QTAILQ_HEAD(, NBDClient) clients;
    int nclients;
};

/* A request read off the socket, run in its own coroutine. */
typedef struct NBDRequest {
    NBDClient *client;
    uint16_t flags, type;
    uint64_t handle, offset;
    uint32_t len;
    uint8_t *data;              /* WRITE payload, READ buffer */
    int error;                  /* -errno found while receiving */
} NBDRequest;

/* The option's data, read whole (at most NBD_SRV_MAX_BUFFER: checked). */
typedef struct NBDOpt {
    uint32_t opt;
    uint8_t *data;
    uint32_t len, pos;
    bool bad;                   /* read past the end */
} NBDOpt;

NBDExport *nbd_find_export(NBDServer *srv, const char *name);

/* Handshake replies and option parsing (nbd-server.c). */
int coroutine_fn nbd_send_rep(NBDClient *c, uint32_t opt, uint32_t type,
                              const void *data, uint32_t len);
int coroutine_fn nbd_send_rep_err(NBDClient *c, uint32_t opt, uint32_t type,
                                  const char *fmt, ...) QEMU_PRINTF(4, 5);
/* The next @n (2 or 4) bytes, big-endian; 0 and o->bad past the end. */
uint32_t nbd_opt_get(NBDOpt *o, uint32_t n);
/* A length-prefixed string of at most NBD_SRV_MAX_STRING bytes, or NULL. */
char *nbd_opt_get_string(NBDOpt *o);
/* The option's length does not fit what it holds. */
int coroutine_fn nbd_opt_bad_len(NBDClient *c, NBDOpt *o);

/* Transmission replies (nbd-server.c), sent under the send lock. */
int coroutine_fn nbd_reply_chunk(NBDRequest *r, uint16_t flags,
                                 uint16_t type, struct iovec *iov, int niov);
int coroutine_fn nbd_reply(NBDRequest *r, int err, const char *msg);

/* Meta contexts (nbd-meta.c). */
/* @exp (or none) chosen: no context set, room for each of its own. */
void nbd_meta_reset(NBDClient *c, NBDExport *exp);
bool nbd_meta_any(NBDClient *c);
/* LIST_META_CONTEXT and SET_META_CONTEXT. */
int coroutine_fn nbd_opt_meta(NBDClient *c, NBDOpt *o);
/* BLOCK_STATUS: one chunk per context set, the last one DONE. */
int coroutine_fn nbd_co_block_status(NBDRequest *r);

#endif
