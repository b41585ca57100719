/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crash-writer: a deterministic stream of writes for the crash test
 * (tests/qemu-iotests/tests/qcow2-crash), to be killed with SIGKILL at a
 * random moment.
 *
 *   crash-writer --list SEED COUNT CLUSTER SIZE   print the operations
 *   crash-writer IMAGE SEED COUNT CLUSTER SIZE    do them on IMAGE
 *
 * Every operation is 512-byte aligned and fills whole sectors with one
 * byte value (its pattern; 0 for zero writes and discards), so a checker
 * can say for each sector which values are acceptable.  After every
 * flush the writer reports "flushed N" (N operations done before it) on
 * stderr, unbuffered: what was written before the last report must
 * survive the kill.  CRASH_WRITER_EXIT_AT=N exits abruptly before
 * operation N instead, for reproducing a failure deterministically.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/error.h"
#include "block/block.h"
#include "block/block-backend.h"

typedef struct Op {
    char kind;              /* 'w' write, 'z' zeroes, 'd' discard, 'c' compressed, 'f' flush */
    int64_t offset;
    int64_t bytes;
    int pattern;
} Op;

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: the same sequence on every platform */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static Op *make_ops(uint64_t seed, int count, int64_t cluster, int64_t size)
{
    Op *ops = g_new0(Op, count);
    int64_t sectors = size / 512, clusters = size / cluster;
    int i;

    rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (i = 0; i < count; i++) {
        uint64_t k = rng() % 100;
        Op *op = &ops[i];

        op->pattern = 1 + i % 255;
        if (k < 8) {
            op->kind = 'f';
        } else if (k < 60) {
            int64_t n = 1 + rng() % (3 * cluster / 512);
            op->kind = 'w';
            op->offset = (rng() % (sectors - n)) * 512;
            op->bytes = n * 512;
        } else if (k < 75) {
            int64_t n = 1 + rng() % (2 * cluster / 512);
            op->kind = 'z';
            op->offset = (rng() % (sectors - n)) * 512;
            op->bytes = n * 512;
            op->pattern = 0;
        } else if (k < 88) {
            int64_t n = 1 + rng() % 3;
            op->kind = 'd';
            op->offset = (rng() % (clusters - n)) * cluster;
            op->bytes = n * cluster;
            op->pattern = 0;
        } else {
            op->kind = 'c';
            op->offset = (rng() % clusters) * cluster;
            op->bytes = cluster;
        }
    }
    return ops;
}

typedef struct Run {
    const char *image;
    Op *ops;
    int count;
    int64_t cluster;
    int exit_at;            /* CRASH_WRITER_EXIT_AT: a deterministic "kill" */
    int ret;
} Run;

static void report(const char *fmt, int n)
{
    char line[64];
    int len = snprintf(line, sizeof(line), fmt, n);

    if (write(STDERR_FILENO, line, len) < 0) {
        /* nothing to do: the checker then trusts an earlier report */
    }
}

static void coroutine_fn run_ops(void *opaque)
{
    Run *r = opaque;
    Error *err = NULL;
    BlockBackend *blk;
    uint8_t *buf;
    int i, ret = 0;

    blk = blk_co_new_open(r->image, NULL, BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    if (!blk) {
        error_report_err(err);
        r->ret = 1;
        return;
    }
    buf = qemu_memalign(4096, 3 * r->cluster);
    for (i = 0; i < r->count && ret >= 0; i++) {
        Op *op = &r->ops[i];
        if (i == r->exit_at) {
            _exit(0);       /* like a kill: nothing cached is written */
        }
        switch (op->kind) {
        case 'f':
            ret = blk_co_flush(blk);
            if (ret >= 0) {
                report("flushed %d\n", i);
            }
            break;
        case 'w':
            memset(buf, op->pattern, op->bytes);
            ret = blk_co_pwrite(blk, op->offset, op->bytes, buf, 0);
            break;
        case 'z':
            ret = blk_co_pwrite_zeroes(blk, op->offset, op->bytes,
                                       (i & 1) ? BDRV_REQ_MAY_UNMAP : 0);
            break;
        case 'd':
            ret = blk_co_pdiscard(blk, op->offset, op->bytes);
            break;
        case 'c':
            /* compressed writes need a free cluster */
            ret = blk_co_pdiscard(blk, op->offset, op->bytes);
            if (ret >= 0) {
                memset(buf, op->pattern, op->bytes);
                ret = blk_co_pwrite(blk, op->offset, op->bytes, buf,
                                    BDRV_REQ_WRITE_COMPRESSED);
            }
            break;
        }
        if (ret < 0) {
            fprintf(stderr, "operation %d (%c) failed: %s\n", i, op->kind,
                    strerror(-ret));
        }
    }
    qemu_vfree(buf);
    blk_unref(blk);
    report("done %d\n", i);
    r->ret = ret < 0;
}

int main(int argc, char **argv)
{
    Run r = { 0 };
    uint64_t seed;
    int64_t size;
    bool list;
    int i;

    error_init(argv[0]);
    list = argc == 6 && !strcmp(argv[1], "--list");
    if (argc != 6) {
        fprintf(stderr, "usage: %s --list|IMAGE SEED COUNT CLUSTER SIZE\n",
                argv[0]);
        return 2;
    }
    seed = strtoull(argv[2], NULL, 0);
    r.count = atoi(argv[3]);
    r.cluster = strtoll(argv[4], NULL, 0);
    size = strtoll(argv[5], NULL, 0);
    r.ops = make_ops(seed, r.count, r.cluster, size);
    if (list) {
        for (i = 0; i < r.count; i++) {
            printf("%c %" PRId64 " %" PRId64 " %d\n", r.ops[i].kind,
                   r.ops[i].offset, r.ops[i].bytes, r.ops[i].pattern);
        }
        g_free(r.ops);
        return 0;
    }
    r.image = argv[1];
    r.exit_at = getenv("CRASH_WRITER_EXIT_AT") ?
                atoi(getenv("CRASH_WRITER_EXIT_AT")) : -1;
    qemu_get_aio_context();
    aio_run_coroutine(run_ops, &r);
    g_free(r.ops);
    return r.ret;
}
