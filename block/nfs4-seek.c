/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NFSv4.2 SEEK (RFC 7862) for the nfs driver's block status.
 *
 * NFSv3 cannot say where a file's holes are, so a raw image on NFS read
 * through libnfs moves every zero of every hole across the network; 7.2
 * does the same.  An NFSv4.2 server answers SEEK (SEEK_DATA/SEEK_HOLE on
 * the server's file).  libnfs 4.0 has no NFSv4.1+ sessions, so this file
 * speaks the little of NFSv4.2 that SEEK needs, on one TCP connection of
 * its own to the server's NFS port: EXCHANGE_ID, CREATE_SESSION,
 * RECLAIM_COMPLETE, then PUTROOTFH + LOOKUP... + GETFH + OPEN (CLAIM_FH,
 * read, no delegation; SEEK needs an open stateid, a server may answer an
 * anonymous one with nothing), and per query SEQUENCE + PUTFH + SEEK
 * (HOLE) + SEEK (DATA): one round trip per answer.  At the end CLOSE,
 * DESTROY_SESSION and DESTROY_CLIENTID are sent without waiting.
 *
 * One RPC at a time (slot 0 of a one-slot session), each bounded in time;
 * every failure makes the caller drop the session and report data, as it
 * did without one.  Replies are untrusted: every length is checked, and
 * an answer that does not fit what was asked is an error, never a hole.
 *
 * XDR and ONC RPC framing by hand: record marking, AUTH_SYS credentials,
 * the operations' layouts from RFC 5661/7862.
 */
#include "block/nfs4-seek.h"
#include "util/error.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define NFS_PROGRAM             100003
#define NFS_V4                  4
#define NFSPROC4_COMPOUND       1
#define NFS4_MINOR              2

#define OP_CLOSE                4
#define OP_GETATTR              9
#define OP_GETFH                10
#define OP_LOOKUP               15
#define OP_OPEN                 18
#define OP_PUTFH                22
#define OP_PUTROOTFH            24
#define OP_EXCHANGE_ID          42
#define OP_CREATE_SESSION       43
#define OP_DESTROY_SESSION      44
#define OP_SEQUENCE             53
#define OP_DESTROY_CLIENTID     57
#define OP_RECLAIM_COMPLETE     58
#define OP_SEEK                 69

/* RFC 5661: sessionid4 and the "other" part of stateid4, in bytes */
#define NFS4_SESSIONID_SIZE     16
#define NFS4_STATEID_SIZE       16
/* operations per COMPOUND we ask the session to allow */
#define NFS4_MAX_OPS            16
/* GETATTR of size and fileid: the bytes of their two values */
#define NFS4_SIZE_FILEID_BYTES  16

#define NFS4_OK                 0
#define NFS4ERR_NXIO            6

#define EXCHGID4_FLAG_USE_NON_PNFS      0x00010000
#define OPEN4_SHARE_ACCESS_READ         1
#define OPEN4_SHARE_ACCESS_WANT_NO_DELEG 0x0400
#define OPEN4_NOCREATE                  0
#define CLAIM_FH                        4
#define OPEN_DELEGATE_NONE              0
#define OPEN_DELEGATE_NONE_EXT          3
#define NFS4_CONTENT_DATA               0
#define NFS4_CONTENT_HOLE               1

#define FATTR4_SIZE             4
#define FATTR4_FILEID           20

#define NFS4_FHSIZE             128
#define NFS4_MAX_COMPONENTS     64
#define NFS4_MAX_NAME           255
#define NFS4_MAX_REPLY          (64 * 1024)
#define AUTH_NONE               0
#define AUTH_SYS                1

struct NFS4Seek {
    AioContext *ctx;
    int fd;
    int64_t timeout_ns;
    uint32_t xid;
    uint32_t uid, gid;
    uint64_t clientid;
    uint8_t sessionid[NFS4_SESSIONID_SIZE];
    uint32_t slot_seq;          /* slot 0's next sequence id */
    bool has_session;
    uint8_t fh[NFS4_FHSIZE];
    uint32_t fh_len;
    uint8_t stateid[NFS4_STATEID_SIZE];
    bool opened;
    CoMutex lock;               /* one RPC at a time */
    CoWaiter *waiter;           /* the coroutine waiting for the socket */
    QEMUTimer *timer;
};

/* ---- XDR ---- */

static void put32(GByteArray *b, uint32_t v)
{
    uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

    g_byte_array_append(b, x, 4);
}

static void put64(GByteArray *b, uint64_t v)
{
    put32(b, v >> 32);
    put32(b, v);
}

static void put_fixed(GByteArray *b, const void *p, uint32_t n)
{
    static const uint8_t pad[3];

    g_byte_array_append(b, p, n);
    g_byte_array_append(b, pad, (4 - n % 4) % 4);
}

static void put_opaque(GByteArray *b, const void *p, uint32_t n)
{
    put32(b, n);
    put_fixed(b, p, n);
}

typedef struct XdrIn {
    const uint8_t *p;
    size_t len, pos;
    bool bad;                   /* ran past the end: every read is 0 */
} XdrIn;

static const uint8_t *get_fixed(XdrIn *in, uint32_t n)
{
    size_t padded = (size_t)n + (4 - n % 4) % 4;
    const uint8_t *p;

    if (in->bad || in->len - in->pos < padded) {
        in->bad = true;
        return NULL;
    }
    p = in->p + in->pos;
    in->pos += padded;
    return p;
}

static uint32_t get32(XdrIn *in)
{
    const uint8_t *p = get_fixed(in, 4);

    return p ? (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3] : 0;
}

static uint64_t get64(XdrIn *in)
{
    uint64_t hi = get32(in);

    return hi << 32 | get32(in);
}

/* An opaque<> of at most @max bytes; NULL (and @in bad) if longer. */
static const uint8_t *get_opaque(XdrIn *in, uint32_t *n, uint32_t max)
{
    *n = get32(in);
    if (*n > max) {
        in->bad = true;
        return NULL;
    }
    return get_fixed(in, *n);
}

/* ---- the socket ---- */

static void nfs4_wake(NFS4Seek *s, int ret)
{
    CoWaiter *w = s->waiter;

    if (w) {
        s->waiter = NULL;
        co_waiter_finish(w, ret);
    }
}

static void nfs4_ready(void *opaque)
{
    nfs4_wake(opaque, 0);
}

static void nfs4_timed_out(void *opaque)
{
    nfs4_wake(opaque, -ETIMEDOUT);
}

/* Wait until the socket is writable (@write) or readable, or @deadline. */
static int coroutine_fn nfs4_co_wait(NFS4Seek *s, bool write, int64_t deadline)
{
    CoWaiter w;
    int ret;

    co_waiter_init(&w);
    s->waiter = &w;
    aio_set_fd_handler(s->ctx, s->fd, write ? NULL : nfs4_ready,
                       write ? nfs4_ready : NULL, s);
    timer_mod(s->timer, deadline);
    ret = co_waiter_wait(&w);
    aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
    timer_del(s->timer);
    s->waiter = NULL;
    return ret;
}

/* Send (@write) or receive all @n bytes at @p, waiting on the socket. */
static int coroutine_fn nfs4_co_xfer(NFS4Seek *s, bool write, uint8_t *p,
                                     size_t n, int64_t deadline)
{
    while (n) {
        ssize_t r = write ? send(s->fd, p, n, MSG_NOSIGNAL) :
                            recv(s->fd, p, n, 0);

        if (r == 0 && !write) {
            return -ECONNRESET;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                return -errno;
            }
            r = nfs4_co_wait(s, write, deadline);
            if (r < 0) {
                return r;
            }
            continue;
        }
        p += r;
        n -= r;
    }
    return 0;
}

/* ---- RPC ---- */

/*
 * Send COMPOUND @args (tag, minor version and operations, from
 * nfs4_compound()) and receive the reply into @reply; *@in is set on its
 * COMPOUND4res.
 */
/* Append to @out one record: the RPC call of COMPOUND @args, as @s's user. */
static uint32_t nfs4_frame(NFS4Seek *s, GByteArray *out, GByteArray *args)
{
    g_autoptr(GByteArray) cred = g_byte_array_new();
    size_t start = out->len;
    uint32_t xid = ++s->xid, mark;

    put32(cred, (uint32_t)time(NULL));
    put_opaque(cred, "qemu-img", 8);
    put32(cred, s->uid);
    put32(cred, s->gid);
    put32(cred, 0);                         /* no supplementary groups */

    put32(out, 0);                          /* the record mark, below */
    put32(out, xid);
    put32(out, 0);                          /* CALL */
    put32(out, 2);                          /* RPC version */
    put32(out, NFS_PROGRAM);
    put32(out, NFS_V4);
    put32(out, NFSPROC4_COMPOUND);
    put32(out, AUTH_SYS);
    put_opaque(out, cred->data, cred->len);
    put32(out, AUTH_NONE);                  /* verifier */
    put32(out, 0);
    g_byte_array_append(out, args->data, args->len);
    mark = 0x80000000u | (uint32_t)(out->len - start - 4);
    out->data[start] = mark >> 24;
    out->data[start + 1] = mark >> 16;
    out->data[start + 2] = mark >> 8;
    out->data[start + 3] = mark;
    return xid;
}

static int coroutine_fn nfs4_co_call(NFS4Seek *s, GByteArray *args,
                                     GByteArray *reply, XdrIn *in)
{
    int64_t deadline = get_clock_ns() + s->timeout_ns;
    g_autoptr(GByteArray) msg = g_byte_array_new();
    uint32_t xid = nfs4_frame(s, msg, args), n, mark;
    uint8_t hdr[4];
    int ret;

    ret = nfs4_co_xfer(s, true, msg->data, msg->len, deadline);
    if (ret < 0) {
        return ret;
    }

    /* the reply: record fragments up to the last */
    g_byte_array_set_size(reply, 0);
    do {
        ret = nfs4_co_xfer(s, false, hdr, 4, deadline);
        if (ret < 0) {
            return ret;
        }
        mark = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
        n = mark & 0x7fffffffu;
        if (n > NFS4_MAX_REPLY - reply->len) {
            return -EPROTO;
        }
        g_byte_array_set_size(reply, reply->len + n);
        ret = nfs4_co_xfer(s, false, reply->data + reply->len - n, n,
                           deadline);
        if (ret < 0) {
            return ret;
        }
    } while (!(mark & 0x80000000u));

    *in = (XdrIn) { .p = reply->data, .len = reply->len };
    if (get32(in) != xid || get32(in) != 1 /* REPLY */ ||
        get32(in) != 0 /* MSG_ACCEPTED */) {
        return -EPROTO;
    }
    get32(in);                              /* verifier flavor */
    get_opaque(in, &n, 400);
    if (get32(in) != 0 /* SUCCESS */ || in->bad) {
        return -EPROTO;
    }
    return 0;
}

static void nfs4_compound(GByteArray *b, uint32_t nops)
{
    put_opaque(b, NULL, 0);                 /* tag */
    put32(b, NFS4_MINOR);
    put32(b, nops);
}

static void nfs4_op_sequence(NFS4Seek *s, GByteArray *b)
{
    put32(b, OP_SEQUENCE);
    put_fixed(b, s->sessionid, NFS4_SESSIONID_SIZE);
    put32(b, s->slot_seq);
    put32(b, 0);                            /* slot */
    put32(b, 0);                            /* highest slot */
    put32(b, 0);                            /* do not cache the reply */
}

/*
 * The COMPOUND4res header, then each result in turn: its operation must be
 * @op; returns its status (NFS4_OK, or the NFS4ERR), or -1 on a reply
 * that does not fit.
 */
static int64_t nfs4_res_begin(XdrIn *in)
{
    uint32_t status = get32(in), n;

    get_opaque(in, &n, 1024);               /* tag */
    get32(in);                              /* number of results */
    return in->bad ? -1 : status;
}

static int64_t nfs4_res_op(XdrIn *in, uint32_t op)
{
    uint32_t got = get32(in), status = get32(in);

    return in->bad || got != op ? -1 : status;
}

/*
 * nfs4_co_call() for a compound of the one operation @op: 0 and @in on its
 * result, or -errno.
 */
static int coroutine_fn nfs4_co_call_op(NFS4Seek *s, GByteArray *args,
                                        GByteArray *reply, XdrIn *in,
                                        uint32_t op)
{
    int ret = nfs4_co_call(s, args, reply, in);

    if (ret < 0) {
        return ret;
    }
    if (nfs4_res_begin(in) != NFS4_OK || nfs4_res_op(in, op) != NFS4_OK) {
        return -EIO;
    }
    return 0;
}

static bool nfs4_res_sequence(NFS4Seek *s, XdrIn *in)
{
    const uint8_t *sid;

    if (nfs4_res_op(in, OP_SEQUENCE) != NFS4_OK) {
        return false;
    }
    sid = get_fixed(in, NFS4_SESSIONID_SIZE);
    get_fixed(in, 20);                      /* seqid, slots, status flags */
    if (in->bad || memcmp(sid, s->sessionid, NFS4_SESSIONID_SIZE)) {
        return false;
    }
    s->slot_seq++;
    return true;
}

/* ---- the steps ---- */

static int coroutine_fn nfs4_co_connect(NFS4Seek *s,
                                        const struct sockaddr_storage *addr,
                                        socklen_t addrlen)
{
    int err = 0, one = 1, port;
    socklen_t len = sizeof(err);

    s->fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    if (s->fd < 0) {
        return -errno;
    }
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* as libnfs: a reserved port where we may, for servers that ask one */
    for (port = 1023; geteuid() == 0 && port >= 512; port--) {
        struct sockaddr_storage local = { .ss_family = addr->ss_family };

        if (addr->ss_family == AF_INET) {
            ((struct sockaddr_in *)&local)->sin_port = htons(port);
        } else if (addr->ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&local)->sin6_port = htons(port);
        } else {
            break;
        }
        if (bind(s->fd, (struct sockaddr *)&local, addrlen) == 0 ||
            errno != EADDRINUSE) {
            break;
        }
    }
    if (connect(s->fd, (const struct sockaddr *)addr, addrlen) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return -errno;
    }
    err = nfs4_co_wait(s, true, get_clock_ns() + s->timeout_ns);
    if (err < 0) {
        return err;
    }
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return -errno;
    }
    return -err;
}

static int coroutine_fn nfs4_co_exchange_id(NFS4Seek *s)
{
    g_autoptr(GByteArray) args = g_byte_array_new();
    g_autoptr(GByteArray) reply = g_byte_array_new();
    g_autofree char *owner = g_strdup_printf("qemu-img/%d/%08x", getpid(),
                                             g_random_int());
    uint8_t verifier[8];
    XdrIn in;
    int ret, i;

    for (i = 0; i < 8; i++) {
        verifier[i] = g_random_int();
    }
    nfs4_compound(args, 1);
    put32(args, OP_EXCHANGE_ID);
    put_fixed(args, verifier, 8);
    put_opaque(args, owner, strlen(owner));
    put32(args, EXCHGID4_FLAG_USE_NON_PNFS);
    put32(args, 0);                         /* SP4_NONE */
    put32(args, 0);                         /* no implementation id */
    ret = nfs4_co_call_op(s, args, reply, &in, OP_EXCHANGE_ID);
    if (ret < 0) {
        return ret;
    }
    s->clientid = get64(&in);
    s->slot_seq = get32(&in);               /* CREATE_SESSION's sequence */
    return in.bad ? -EPROTO : 0;
}

static void nfs4_channel_attrs(GByteArray *b, uint32_t maxreq,
                               uint32_t maxresp)
{
    put32(b, 0);                            /* header padding */
    put32(b, maxreq);
    put32(b, maxresp);
    put32(b, 4096);                         /* cached replies: none asked */
    put32(b, NFS4_MAX_OPS);                 /* operations per compound */
    put32(b, 1);                            /* one slot */
    put32(b, 0);                            /* no RDMA */
}

static int coroutine_fn nfs4_co_create_session(NFS4Seek *s)
{
    g_autoptr(GByteArray) args = g_byte_array_new();
    g_autoptr(GByteArray) reply = g_byte_array_new();
    const uint8_t *sid;
    XdrIn in;
    int ret;

    nfs4_compound(args, 1);
    put32(args, OP_CREATE_SESSION);
    put64(args, s->clientid);
    put32(args, s->slot_seq);
    put32(args, 0);                         /* no back channel wanted */
    nfs4_channel_attrs(args, 16384, NFS4_MAX_REPLY);
    nfs4_channel_attrs(args, 4096, 4096);
    put32(args, 0x40000000);                /* callback program */
    put32(args, 1);                         /* one callback security: */
    put32(args, AUTH_NONE);
    ret = nfs4_co_call_op(s, args, reply, &in, OP_CREATE_SESSION);
    if (ret < 0) {
        return ret;
    }
    sid = get_fixed(&in, NFS4_SESSIONID_SIZE);
    if (in.bad) {
        return -EPROTO;
    }
    memcpy(s->sessionid, sid, NFS4_SESSIONID_SIZE);
    s->slot_seq = 1;
    s->has_session = true;
    return 0;
}

static int coroutine_fn nfs4_co_reclaim_complete(NFS4Seek *s)
{
    g_autoptr(GByteArray) args = g_byte_array_new();
    g_autoptr(GByteArray) reply = g_byte_array_new();
    XdrIn in;
    int ret;

    nfs4_compound(args, 2);
    nfs4_op_sequence(s, args);
    put32(args, OP_RECLAIM_COMPLETE);
    put32(args, 0);                         /* for the whole server */
    ret = nfs4_co_call(s, args, reply, &in);
    if (ret < 0) {
        return ret;
    }
    /* its own status does not matter (a server may have had it before) */
    return nfs4_res_begin(&in) >= 0 && nfs4_res_sequence(s, &in) ? 0 : -EIO;
}

/*
 * SEQUENCE, PUTROOTFH, a LOOKUP per component of @parts (@ncomp of them
 * not empty), GETFH, GETATTR (size and file id), OPEN (CLAIM_FH, read).
 */
static void nfs4_put_open_file(NFS4Seek *s, GByteArray *args, char **parts,
                               uint32_t ncomp)
{
    int i;

    nfs4_compound(args, 2 + ncomp + 3);
    nfs4_op_sequence(s, args);
    put32(args, OP_PUTROOTFH);
    for (i = 0; parts[i]; i++) {
        if (*parts[i]) {
            put32(args, OP_LOOKUP);
            put_opaque(args, parts[i], strlen(parts[i]));
        }
    }
    put32(args, OP_GETFH);
    put32(args, OP_GETATTR);
    put32(args, 1);
    put32(args, 1u << FATTR4_SIZE | 1u << FATTR4_FILEID);
    put32(args, OP_OPEN);
    put32(args, 0);                         /* seqid: unused since 4.1 */
    put32(args, OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG);
    put32(args, 0);                         /* deny nothing */
    put64(args, s->clientid);
    put_opaque(args, "qemu-img", 8);        /* open owner */
    put32(args, OPEN4_NOCREATE);
    put32(args, CLAIM_FH);
}

/* The results of nfs4_put_open_file()'s compound, from its GETFH on. */
static int nfs4_get_open_file(NFS4Seek *s, XdrIn *in, uint64_t fileid)
{
    const uint8_t *p;
    uint32_t n, word0;

    if (nfs4_res_op(in, OP_GETFH) != NFS4_OK) {
        return -EIO;
    }
    p = get_opaque(in, &n, NFS4_FHSIZE);
    if (!p) {
        return -EPROTO;
    }
    memcpy(s->fh, p, n);
    s->fh_len = n;
    /* the file NFSv3 opened, not another of that name in NFSv4's tree */
    if (nfs4_res_op(in, OP_GETATTR) != NFS4_OK) {
        return -EIO;
    }
    n = get32(in);                          /* bitmap words */
    if (n < 1 || n > 8) {
        return -EPROTO;
    }
    word0 = get32(in);
    get_fixed(in, 4 * (n - 1));
    if (word0 != (1u << FATTR4_SIZE | 1u << FATTR4_FILEID) ||
        get32(in) != NFS4_SIZE_FILEID_BYTES) {
        return -EPROTO;
    }
    get64(in);                              /* size */
    if (get64(in) != fileid || in->bad) {
        return -ESTALE;
    }
    if (nfs4_res_op(in, OP_OPEN) != NFS4_OK) {
        return -EACCES;
    }
    p = get_fixed(in, NFS4_STATEID_SIZE);
    if (!p) {
        return -EPROTO;
    }
    memcpy(s->stateid, p, NFS4_STATEID_SIZE);
    s->opened = true;
    /* change info, flags, attributes set, then the delegation: none */
    get_fixed(in, 4 + 8 + 8 + 4);
    n = get32(in);
    if (n > 8) {
        return -EPROTO;
    }
    get_fixed(in, 4 * n);
    n = get32(in);
    if (in->bad) {
        return -EPROTO;
    }
    /* a delegation would be recalled through a channel we do not serve */
    return n == OPEN_DELEGATE_NONE || n == OPEN_DELEGATE_NONE_EXT ? 0
                                                                 : -EPROTO;
}

static int coroutine_fn nfs4_co_open_file(NFS4Seek *s, const char *path,
                                          uint64_t fileid)
{
    g_autoptr(GByteArray) args = g_byte_array_new();
    g_autoptr(GByteArray) reply = g_byte_array_new();
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    uint32_t i, ncomp = 0;
    XdrIn in;
    int ret;

    for (i = 0; parts[i]; i++) {
        size_t len = strlen(parts[i]);

        if (len > NFS4_MAX_NAME) {
            return -ENAMETOOLONG;
        }
        ncomp += len > 0;
    }
    if (ncomp == 0 || ncomp > NFS4_MAX_COMPONENTS) {
        return -EINVAL;
    }
    nfs4_put_open_file(s, args, parts, ncomp);
    ret = nfs4_co_call(s, args, reply, &in);
    if (ret < 0) {
        return ret;
    }
    if (nfs4_res_begin(&in) != NFS4_OK || !nfs4_res_sequence(s, &in) ||
        nfs4_res_op(&in, OP_PUTROOTFH) != NFS4_OK) {
        return -EIO;
    }
    for (i = 0; i < ncomp; i++) {
        if (nfs4_res_op(&in, OP_LOOKUP) != NFS4_OK) {
            return -ENOENT;
        }
    }
    return nfs4_get_open_file(s, &in, fileid);
}

NFS4Seek *coroutine_fn nfs4_seek_co_open(AioContext *ctx,
                                         const struct sockaddr_storage *addr,
                                         socklen_t addrlen, const char *path,
                                         uint64_t fileid, uint32_t uid,
                                         uint32_t gid, int64_t timeout_ms)
{
    NFS4Seek *s = g_new0(NFS4Seek, 1);

    s->ctx = ctx;
    s->fd = -1;
    s->timeout_ns = timeout_ms * 1000000;
    s->xid = g_random_int();
    s->uid = uid;
    s->gid = gid;
    s->timer = aio_timer_new(ctx, nfs4_timed_out, s);
    qemu_co_mutex_init(&s->lock);
    if (nfs4_co_connect(s, addr, addrlen) < 0 || nfs4_co_exchange_id(s) < 0 ||
        nfs4_co_create_session(s) < 0 || nfs4_co_reclaim_complete(s) < 0 ||
        nfs4_co_open_file(s, path, fileid) < 0) {
        nfs4_seek_free(s);
        return NULL;
    }
    return s;
}

int coroutine_fn nfs4_seek_co_query(NFS4Seek *s, uint64_t offset,
                                    int64_t *data, uint64_t *hole)
{
    g_autoptr(GByteArray) args = g_byte_array_new();
    g_autoptr(GByteArray) reply = g_byte_array_new();
    uint32_t eof;
    uint64_t at;
    int64_t st;
    XdrIn in;
    int ret;

    if (offset > INT64_MAX) {
        return -EINVAL;
    }
    qemu_co_mutex_lock(&s->lock);
    nfs4_compound(args, 4);
    nfs4_op_sequence(s, args);
    put32(args, OP_PUTFH);
    put_opaque(args, s->fh, s->fh_len);
    put32(args, OP_SEEK);
    put_fixed(args, s->stateid, NFS4_STATEID_SIZE);
    put64(args, offset);
    put32(args, NFS4_CONTENT_HOLE);
    put32(args, OP_SEEK);
    put_fixed(args, s->stateid, NFS4_STATEID_SIZE);
    put64(args, offset);
    put32(args, NFS4_CONTENT_DATA);
    ret = nfs4_co_call(s, args, reply, &in);
    if (ret < 0) {
        goto out;
    }
    ret = -EIO;
    if (nfs4_res_begin(&in) < 0 || !nfs4_res_sequence(s, &in) ||
        nfs4_res_op(&in, OP_PUTFH) != NFS4_OK) {
        goto out;
    }
    st = nfs4_res_op(&in, OP_SEEK);
    if (st == NFS4ERR_NXIO) {
        ret = -ENXIO;
        goto out;
    }
    if (st != NFS4_OK) {
        goto out;
    }
    get32(&in);                             /* eof: the end counts as a hole */
    *hole = get64(&in);
    if (nfs4_res_op(&in, OP_SEEK) != NFS4_OK) {
        goto out;
    }
    eof = get32(&in);
    at = get64(&in);
    if (in.bad || *hole < offset) {
        goto out;
    }
    /*
     * No data found is "eof" with an offset not past the one asked; data
     * found is its start (some servers set eof on the last extent too).
     */
    if (eof && at <= offset) {
        *data = -1;
    } else if (at < offset || at > INT64_MAX) {
        goto out;
    } else {
        *data = at;
    }
    /* @offset is either data (up to the hole) or a hole (up to the data) */
    if ((*hole > offset && *data != (int64_t)offset) ||
        (*hole == offset && *data == (int64_t)offset)) {
        goto out;
    }
    ret = 0;
out:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

void nfs4_seek_free(NFS4Seek *s)
{
    if (!s) {
        return;
    }
    if (s->fd >= 0 && s->has_session) {
        /* sent without waiting: the server would expire them anyway */
        g_autoptr(GByteArray) msg = g_byte_array_new();
        int i;

        for (i = s->opened ? 0 : 1; i < 3; i++) {
            g_autoptr(GByteArray) b = g_byte_array_new();

            if (i == 0) {
                nfs4_compound(b, 3);
                nfs4_op_sequence(s, b);
                put32(b, OP_PUTFH);
                put_opaque(b, s->fh, s->fh_len);
                put32(b, OP_CLOSE);
                put32(b, 0);
                put_fixed(b, s->stateid, NFS4_STATEID_SIZE);
            } else if (i == 1) {
                nfs4_compound(b, 1);
                put32(b, OP_DESTROY_SESSION);
                put_fixed(b, s->sessionid, NFS4_SESSIONID_SIZE);
            } else {
                nfs4_compound(b, 1);
                put32(b, OP_DESTROY_CLIENTID);
                put64(b, s->clientid);
            }
            nfs4_frame(s, msg, b);
        }
        if (send(s->fd, msg->data, msg->len, MSG_NOSIGNAL | MSG_DONTWAIT)) {
            /* nothing to do about it */
        }
    }
    if (s->fd >= 0) {
        aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
        close(s->fd);
    }
    timer_free(s->timer);
    g_free(s);
}
