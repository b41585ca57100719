/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the NBD server's parsing.  The input is what a client
 * sends (client flags, options, then requests), written to one end of a
 * socket pair whose other end our server serves, exporting a 16 MiB
 * null-co node (read-zeroes, writes dropped) with qemu:allocation-depth;
 * the server's answers are read and dropped.  Each run ends when the
 * server has let the client go (the input ends with the stream).
 */
#include "util/osdep.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/dirty-bitmap.h"
#include "block/nbd-server.h"
#include "util/aio.h"

#include <fcntl.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* More than a socket pair buffers: the rest is not sent. */
#define FUZZ_NBD_MAX_INPUT (64 * 1024)

typedef struct FuzzNbd {
    const uint8_t *data;
    size_t size;
    int peer;                   /* the client's end */
    bool gone;                  /* the server let the client go */
    CoWaiter *waiter;
} FuzzNbd;

static void fuzz_nbd_closed(void *opaque, bool negotiated)
{
    FuzzNbd *f = opaque;

    f->gone = true;
    if (f->waiter) {
        co_waiter_finish(f->waiter, 0);
        f->waiter = NULL;
    }
}

/* Drop what the server says, so that it never waits to write. */
static void fuzz_nbd_drain(void *opaque)
{
    FuzzNbd *f = opaque;
    char buf[65536];

    while (read(f->peer, buf, sizeof(buf)) > 0) {
        /* dropped */
    }
}

static void coroutine_fn fuzz_nbd_co(void *opaque)
{
    FuzzNbd *f = opaque;
    AioContext *ctx = qemu_get_current_aio_context();
    QDict *opts = qdict_new();
    static const char *const bitmaps[] = { "b0", "b1" };
    NBDExportOptions eo = { .name = "", .allocation_depth = true,
                            .bitmaps = bitmaps, .nr_bitmaps = 2 };
    NBDServer *srv;
    BlockBackend *blk;
    int sv[2];

    qdict_put_str(opts, "driver", "null-co");
    qdict_put_str(opts, "size", "16777216");
    qdict_put_str(opts, "read-zeroes", "on");
    blk = blk_co_new_open(NULL, opts, BDRV_O_RDWR, NULL);
    if (!blk || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    /* two disabled bitmaps (a writable export), one half dirty */
    for (int i = 0; i < 2; i++) {
        BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_create(
            blk_bs(blk), bitmaps[i], 65536 << i, 16777216, NULL);

        if (!bm) {
            abort();
        }
        bdrv_dirty_bitmap_set_range(bm, 4194304 * i, 8388608);
        bdrv_dirty_bitmap_set_enabled(bm, false);
    }
    srv = nbd_server_new(ctx);
    eo.blk = blk;
    if (!nbd_server_co_add_export(srv, &eo, NULL)) {
        abort();
    }
    f->peer = sv[1];
    if (write(sv[1], f->data, f->size) != (ssize_t)f->size) {
        abort();
    }
    shutdown(sv[1], SHUT_WR);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    aio_set_fd_handler(ctx, sv[1], fuzz_nbd_drain, NULL, f);
    nbd_server_add_client(srv, sv[0], fuzz_nbd_closed, f);
    while (!f->gone) {
        CoWaiter w;

        co_waiter_init(&w);
        f->waiter = &w;
        co_waiter_wait(&w);
    }
    aio_set_fd_handler(ctx, sv[1], NULL, NULL, NULL);
    close(sv[1]);
    nbd_server_free(srv);
    blk_unref(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzNbd f = { .data = data, .size = MIN(size, FUZZ_NBD_MAX_INPUT) };

    aio_run_coroutine(fuzz_nbd_co, &f);
    return 0;
}
