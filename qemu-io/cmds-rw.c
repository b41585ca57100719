/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io's read and write commands: read, readv, write, writev,
 * aio_read, aio_write, aio_flush and flush.  Output as 7.2's qemu-io,
 * byte for byte but for the timing figures.
 */
#include "util/osdep.h"
#include "qemu-io.h"
#include "cmds-int.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/json.h"
#include "util/keyval.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>

/* ---- read / readv ---- */

int coroutine_fn read_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false, vflag = false;
    bool Pflag = false, sflag = false, lflag = false, bflag = false;
    int c, pattern = 0, ret;
    int64_t offset, count, pattern_offset = 0, pattern_count = 0;
    uint8_t *buf;

    while ((c = getopt(argc, argv, "bCl:pP:qs:v")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'C':
            Cflag = true;
            break;
        case 'l':
            lflag = true;
            pattern_count = cvtnum(optarg);
            if (pattern_count < 0) {
                print_cvtnum_err(pattern_count, optarg);
                return pattern_count;
            }
            break;
        case 'p':
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            pattern_offset = cvtnum(optarg);
            if (pattern_offset < 0) {
                print_cvtnum_err(pattern_offset, optarg);
                return pattern_offset;
            }
            break;
        case 'v':
            vflag = true;
            break;
        default:
            return usage_of("read");
        }
    }
    if (optind != argc - 2) {
        return usage_of("read");
    }
    ret = parse_off_len(argv, &offset, &count);
    if (ret < 0) {
        return ret;
    }
    if (!Pflag && (lflag || sflag)) {
        return usage_of("read");
    }
    if (!lflag) {
        pattern_count = count - pattern_offset;
    }
    if (pattern_count < 0 || pattern_count + pattern_offset > count) {
        printf("pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    if (bflag && !sector_aligned(offset, count)) {
        return -EINVAL;
    }

    buf = qemu_io_alloc(count, 0xab);
    now(&t1);
    if (bflag) {
        ret = blk_co_load_vmstate(qemuio_blk, buf, offset, count);
    } else {
        ret = blk_co_pread(qemuio_blk, offset, count, buf, 0);
    }
    now(&t2);
    if (ret < 0) {
        printf("read failed: %s\n", strerror(-ret));
        goto out;
    }
    if (Pflag) {
        ret = verify_pattern(buf + pattern_offset, pattern,
                             offset + pattern_offset, pattern_count);
    }
    if (qflag) {
        goto out;
    }
    if (vflag) {
        dump_buffer(buf, offset, count);
    }
    t2 = tsub(t2, t1);
    print_report("read", &t2, offset, count, count, 1, Cflag);
out:
    qemu_io_free(buf);
    return ret;
}

int coroutine_fn readv_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false, vflag = false, Pflag = false;
    int c, pattern = 0, ret;
    int64_t offset;
    QEMUIOVector qiov;
    uint8_t *buf;

    while ((c = getopt(argc, argv, "CP:qv")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 'v':
            vflag = true;
            break;
        default:
            return usage_of("readv");
        }
    }
    if (optind > argc - 2) {
        return usage_of("readv");
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    optind++;
    buf = create_iovec(&qiov, &argv[optind], argc - optind, 0xab);
    if (!buf) {
        return -EINVAL;
    }
    now(&t1);
    ret = blk_co_preadv(qemuio_blk, offset, qiov.size, &qiov, 0);
    now(&t2);
    if (ret < 0) {
        printf("readv failed: %s\n", strerror(-ret));
        goto out;
    }
    if (Pflag) {
        ret = verify_pattern(buf, pattern, offset, qiov.size);
    }
    if (qflag) {
        goto out;
    }
    if (vflag) {
        dump_buffer(buf, offset, qiov.size);
    }
    t2 = tsub(t2, t1);
    print_report("read", &t2, offset, qiov.size, qiov.size, 1, Cflag);
out:
    qemu_iovec_destroy(&qiov);
    qemu_io_free(buf);
    return ret;
}

/* ---- write / writev ---- */

static void *qemu_io_alloc_from_file(size_t len, const char *file_name)
{
    uint8_t *buf = qemu_io_alloc(len, 0);
    FILE *f = fopen(file_name, "r");
    size_t n;

    if (!f) {
        perror(file_name);
        qemu_io_free(buf);
        return NULL;
    }
    n = fread(buf, 1, len, f);
    fclose(f);
    if (n < len) {
        /* repeat the file's contents to fill the buffer, as QEMU does */
        size_t pos = n;
        if (n == 0) {
            printf("%s: could not read any data\n", file_name);
            qemu_io_free(buf);
            return NULL;
        }
        while (pos < len) {
            size_t k = MIN(n, len - pos);
            memcpy(buf + pos, buf, k);
            pos += k;
        }
    }
    return buf;
}

int coroutine_fn write_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false, bflag = false;
    bool Pflag = false, zflag = false, cflag = false, sflag = false;
    BdrvRequestFlags flags = 0;
    int c, pattern = 0xcd, ret;
    int64_t offset, count;
    const char *file_name = NULL;
    uint8_t *buf = NULL;

    while ((c = getopt(argc, argv, "bcCfnpP:qs:uz")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'c':
            cflag = true;
            break;
        case 'C':
            Cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'n':
            flags |= BDRV_REQ_NO_FALLBACK;
            break;
        case 'p':
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            file_name = optarg;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            return usage_of("write");
        }
    }
    if (optind != argc - 2) {
        return usage_of("write");
    }
    if (bflag && zflag) {
        printf("-b and -z cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_FUA) && (bflag || cflag)) {
        printf("-f and -b or -c cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) && !zflag) {
        printf("-n requires -z to be specified\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (zflag + Pflag + sflag > 1) {
        printf("Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    optind++;
    count = cvtnum_arg(argv[optind]);
    if (count < 0) {
        return count;
    } else if (count > BDRV_REQUEST_MAX_BYTES && !(flags & BDRV_REQ_NO_FALLBACK)) {
        printf("length cannot exceed %" PRIu64 ", given %s\n",
               (uint64_t)BDRV_REQUEST_MAX_BYTES, argv[optind]);
        return -EINVAL;
    }
    if ((bflag || cflag) && !sector_aligned(offset, count)) {
        return -EINVAL;
    }
    if (!zflag) {
        buf = sflag ? qemu_io_alloc_from_file(count, file_name) :
                      qemu_io_alloc(count, pattern);
        if (!buf) {
            return -EINVAL;
        }
    }

    now(&t1);
    if (zflag) {
        ret = blk_co_pwrite_zeroes(qemuio_blk, offset, count, flags);
    } else if (bflag) {
        ret = blk_co_save_vmstate(qemuio_blk, buf, offset, count);
    } else if (cflag) {
        ret = blk_co_pwrite(qemuio_blk, offset, count, buf,
                            BDRV_REQ_WRITE_COMPRESSED);
    } else {
        ret = blk_co_pwrite(qemuio_blk, offset, count, buf, flags);
    }
    now(&t2);
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        goto out;
    }
    if (!qflag) {
        t2 = tsub(t2, t1);
        print_report("wrote", &t2, offset, count, count, 1, Cflag);
    }
out:
    qemu_io_free(buf);
    return ret;
}

int coroutine_fn writev_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false;
    BdrvRequestFlags flags = 0;
    int c, pattern = 0xcd, ret;
    int64_t offset;
    QEMUIOVector qiov;
    uint8_t *buf;

    while ((c = getopt(argc, argv, "CfqP:")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'q':
            qflag = true;
            break;
        case 'P':
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        default:
            return usage_of("writev");
        }
    }
    if (optind > argc - 2) {
        return usage_of("writev");
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    optind++;
    buf = create_iovec(&qiov, &argv[optind], argc - optind, pattern);
    if (!buf) {
        return -EINVAL;
    }
    now(&t1);
    ret = blk_co_pwritev(qemuio_blk, offset, qiov.size, &qiov, flags);
    now(&t2);
    if (ret < 0) {
        printf("writev failed: %s\n", strerror(-ret));
    } else if (!qflag) {
        t2 = tsub(t2, t1);
        print_report("wrote", &t2, offset, qiov.size, qiov.size, 1, Cflag);
    }
    qemu_iovec_destroy(&qiov);
    qemu_io_free(buf);
    return ret;
}

/* ---- aio_read / aio_write / aio_flush ---- */

typedef struct AioCtx {
    QEMUIOVector qiov;
    int64_t offset;
    int64_t zero_bytes;
    uint8_t *buf;
    bool qflag, vflag, Cflag, Pflag, zflag, is_write;
    BdrvRequestFlags flags;
    int pattern;
    struct timespec t1;
} AioCtx;

static void coroutine_fn aio_request_co(void *opaque)
{
    AioCtx *ctx = opaque;
    struct timespec t2;
    int64_t bytes = ctx->zflag ? ctx->zero_bytes : (int64_t)ctx->qiov.size;
    int ret;

    if (!ctx->is_write) {
        ret = blk_co_preadv(qemuio_blk, ctx->offset, bytes, &ctx->qiov, 0);
    } else if (ctx->zflag) {
        ret = blk_co_pwrite_zeroes(qemuio_blk, ctx->offset, bytes,
                                   ctx->flags);
    } else {
        ret = blk_co_pwritev(qemuio_blk, ctx->offset, bytes, &ctx->qiov,
                             ctx->flags);
    }
    now(&t2);
    if (ret < 0) {
        printf("%s failed: %s\n", ctx->is_write ? "aio_write" : "readv",
               strerror(-ret));
        goto out;
    }
    if (ctx->Pflag && !ctx->is_write) {
        verify_pattern(ctx->buf, ctx->pattern, ctx->offset, bytes);
    }
    if (ctx->qflag) {
        goto out;
    }
    if (ctx->vflag) {
        dump_buffer(ctx->buf, ctx->offset, bytes);
    }
    t2 = tsub(t2, ctx->t1);
    print_report(ctx->is_write ? "wrote" : "read", &t2, ctx->offset, bytes,
                 bytes, 1, ctx->Cflag);
out:
    if (!ctx->zflag) {
        qemu_iovec_destroy(&ctx->qiov);
        qemu_io_free(ctx->buf);
    }
    g_free(ctx);
}

static int coroutine_fn aio_rw_f(int argc, char **argv, bool is_write)
{
    const char *name = is_write ? "aio_write" : "aio_read";
    AioCtx *ctx = g_new0(AioCtx, 1);
    int c, pattern = is_write ? 0xcd : 0;

    ctx->is_write = is_write;
    while ((c = getopt(argc, argv, is_write ? "CfiqP:uz" : "CP:iqv")) != -1) {
        switch (c) {
        case 'C':
            ctx->Cflag = true;
            break;
        case 'f':
            ctx->flags |= BDRV_REQ_FUA;
            break;
        case 'P':
            /* as QEMU: for aio_write, -P only sets the pattern (-z wins) */
            ctx->Pflag = !is_write;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                g_free(ctx);
                return -EINVAL;
            }
            break;
        case 'i':
            printf("injecting invalid %s request\n",
                   is_write ? "write" : "read");
            g_free(ctx);
            return 0;
        case 'q':
            ctx->qflag = true;
            break;
        case 'u':
            ctx->flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'v':
            ctx->vflag = true;
            break;
        case 'z':
            ctx->zflag = true;
            break;
        default:
            g_free(ctx);
            return usage_of(name);
        }
    }
    if (optind > argc - 2) {
        g_free(ctx);
        return usage_of(name);
    }
    if (ctx->zflag && optind != argc - 2) {
        printf("-z supports only a single length parameter\n");
        g_free(ctx);
        return -EINVAL;
    }
    if ((ctx->flags & BDRV_REQ_MAY_UNMAP) && !ctx->zflag) {
        printf("-u requires -z to be specified\n");
        g_free(ctx);
        return -EINVAL;
    }
    if (ctx->zflag && ctx->Pflag) {
        printf("-z and -P cannot be specified at the same time\n");
        g_free(ctx);
        return -EINVAL;
    }
    ctx->offset = cvtnum(argv[optind]);
    if (ctx->offset < 0) {
        int ret = (int)ctx->offset;
        print_cvtnum_err(ctx->offset, argv[optind]);
        g_free(ctx);
        return ret;
    }
    optind++;
    if (ctx->zflag) {
        ctx->zero_bytes = cvtnum(argv[optind]);
        if (ctx->zero_bytes < 0) {
            int ret = (int)ctx->zero_bytes;
            print_cvtnum_err(ctx->zero_bytes, argv[optind]);
            g_free(ctx);
            return ret;
        }
    } else {
        ctx->pattern = pattern;
        ctx->buf = create_iovec(&ctx->qiov, &argv[optind], argc - optind,
                                is_write ? pattern : 0xab);
        if (!ctx->buf) {
            g_free(ctx);
            return -EINVAL;
        }
    }
    now(&ctx->t1);
    /* Runs until its first yield; completes while later commands run. */
    qemu_coroutine_enter(qemu_coroutine_create(aio_request_co, ctx));
    return 0;
}

int coroutine_fn aio_read_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, false);
}

int coroutine_fn aio_write_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, true);
}

int coroutine_fn aio_flush_f(int argc, char **argv)
{
    blk_co_drain(qemuio_blk);
    return 0;
}

int coroutine_fn flush_f(int argc, char **argv)
{
    return blk_co_flush(qemuio_blk);
}
