/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io commands.  Output formats (reports, dumps, error lines) follow
 * QEMU 7.2's qemu-io byte for byte because iotests and user scripts parse
 * them; only the timing figures vary.  Each command returns 0 or -errno.
 */
#include "util/osdep.h"
#include "qemu-io.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/json.h"
#include "util/keyval.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>

#define CMD_NOFILE_OK 0x01
#define CMD_FLAG_GLOBAL 0x02
#define CMD_PERM_WRITE 0x04

typedef int coroutine_fn CmdFunc(int argc, char **argv);

typedef struct CmdInfo {
    const char *name;
    const char *altname;
    CmdFunc *func;
    int argmin;
    int argmax;         /* -1: unlimited */
    int flags;
} CmdInfo;

BlockBackend *qemuio_blk;
bool qemuio_misalign;
bool qemuio_quit;

#define MISALIGN_OFFSET 16

static const QemuIoHelp *find_help(const char *name)
{
    const QemuIoHelp *h;

    for (h = qemuio_help_texts; h->name; h++) {
        if (!strcmp(h->name, name)) {
            return h;
        }
    }
    g_assert_not_reached();
}

static int usage_of(const char *name)
{
    const QemuIoHelp *h = find_help(name);

    printf("%s %s -- %s\n", h->name, h->args ? h->args : "", h->oneline);
    return -EINVAL;
}

static int64_t cvtnum(const char *s)
{
    uint64_t v;
    int ret = qemu_strtosz(s, NULL, &v);

    return ret < 0 ? ret : (int64_t)v;
}

static void print_cvtnum_err(int64_t rc, const char *arg)
{
    switch (rc) {
    case -EINVAL:
        printf("Parsing error: non-numeric argument,"
               " or extraneous/unrecognized suffix -- %s\n", arg);
        break;
    case -ERANGE:
        printf("Parsing error: argument too large -- %s\n", arg);
        break;
    default:
        printf("Parsing error: %s\n", arg);
    }
}

/* Parse a number argument; prints QEMU's message and returns -errno. */
static int64_t cvtnum_arg(const char *arg)
{
    int64_t v = cvtnum(arg);

    if (v < 0) {
        print_cvtnum_err(v, arg);
    }
    return v;
}

/*
 * Parse "off len" at argv[optind]: both numbers, len at most one request.
 * Returns 0 or -errno after printing the message.
 */
static int parse_off_len(char **argv, int64_t *offset, int64_t *bytes)
{
    *offset = cvtnum_arg(argv[optind]);
    if (*offset < 0) {
        return *offset;
    }
    *bytes = cvtnum_arg(argv[optind + 1]);
    if (*bytes < 0) {
        return *bytes;
    }
    if (*bytes > BDRV_REQUEST_MAX_BYTES) {
        printf("length cannot exceed %" PRIu64 ", given %s\n",
               (uint64_t)BDRV_REQUEST_MAX_BYTES, argv[optind + 1]);
        return -EINVAL;
    }
    return 0;
}

/* "64 KiB", "1.500 MiB", "512 bytes": qemu-io's own size format. */
static void cvtstr(double value, char *str, size_t size)
{
    static const struct {
        int shift;
        const char *suffix;
    } units[] = {
        { 60, " EiB" }, { 50, " PiB" }, { 40, " TiB" },
        { 30, " GiB" }, { 20, " MiB" }, { 10, " KiB" },
    };
    const char *suffix = " bytes";
    char *trim;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(units); i++) {
        double unit = (double)(UINT64_C(1) << units[i].shift);
        if (value >= unit) {
            suffix = units[i].suffix;
            snprintf(str, size - 4, "%.3f", value / unit);
            break;
        }
    }
    if (i == G_N_ELEMENTS(units)) {
        snprintf(str, size - 6, "%f", value);
    }
    trim = strstr(str, ".000");
    if (trim) {
        strcpy(trim, suffix);
    } else {
        strcat(str, suffix);
    }
}

static struct timespec tsub(struct timespec t1, struct timespec t2)
{
    t1.tv_nsec -= t2.tv_nsec;
    if (t1.tv_nsec < 0) {
        t1.tv_nsec += NANOSECONDS_PER_SECOND;
        t1.tv_sec--;
    }
    t1.tv_sec -= t2.tv_sec;
    return t1;
}

static double tdiv(double value, struct timespec tv)
{
    double seconds = tv.tv_sec + (tv.tv_nsec / 1e9);

    return value / seconds;
}

static void timestr(struct timespec *tv, char *ts, size_t size, bool verbose)
{
    double frac = tv->tv_nsec / 1e9;
    unsigned sec = tv->tv_sec;

    if (verbose || tv->tv_sec) {
        snprintf(ts, size, "%u:%02u:%05.2f", sec / 3600, (sec % 3600) / 60,
                 (sec % 60) + frac);
    } else {
        snprintf(ts, size, "%05.2f sec", frac);
    }
}

static void print_report(const char *op, struct timespec *t, int64_t offset,
                         int64_t count, int64_t total, int cnt, bool Cflag)
{
    char s1[64], s2[64], ts[64];

    timestr(t, ts, sizeof(ts), Cflag);
    if (!Cflag) {
        cvtstr((double)total, s1, sizeof(s1));
        cvtstr(tdiv((double)total, *t), s2, sizeof(s2));
        printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
               op, total, count, offset);
        printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n",
               s1, cnt, ts, s2, tdiv((double)cnt, *t));
    } else {
        printf("%" PRId64 ",%d,%s,%.3f,%.3f\n", total, cnt, ts,
               tdiv((double)total, *t), tdiv((double)cnt, *t));
    }
}

static void now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

static int parse_pattern(const char *arg)
{
    char *end = NULL;
    long pattern = strtol(arg, &end, 0);

    if (pattern < 0 || pattern > UCHAR_MAX || *end != '\0') {
        printf("%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return (int)pattern;
}

static void *qemu_io_alloc(size_t len, int pattern)
{
    uint8_t *buf;

    if (qemuio_misalign) {
        len += MISALIGN_OFFSET;
    }
    buf = blk_buf_alloc(blk_bs(qemuio_blk), MAX(len, 1));
    memset(buf, pattern, len);
    return qemuio_misalign ? buf + MISALIGN_OFFSET : buf;
}

static void qemu_io_free(void *p)
{
    if (p) {
        blk_buf_free(qemuio_misalign ? (uint8_t *)p - MISALIGN_OFFSET : p);
    }
}

static void dump_buffer(const void *buffer, int64_t offset, int64_t len)
{
    const uint8_t *p = buffer;
    int64_t i;
    int j;

    for (i = 0; i < len; i += 16) {
        const uint8_t *s = p;

        printf("%08" PRIx64 ":  ", offset + i);
        for (j = 0; j < 16 && i + j < len; j++, p++) {
            printf("%02x ", *p);
        }
        printf(" ");
        for (j = 0; j < 16 && i + j < len; j++, s++) {
            printf("%c", isalnum(*s) ? *s : '.');
        }
        printf("\n");
    }
}

/* Parse "len [len..]" into @qiov over one buffer; NULL on bad input. */
static void *create_iovec(QEMUIOVector *qiov, char **argv, int nr_iov,
                          int pattern)
{
    g_autofree size_t *sizes = g_new0(size_t, nr_iov);
    size_t count = 0;
    uint8_t *buf, *p;
    int i;

    for (i = 0; i < nr_iov; i++) {
        int64_t len = cvtnum(argv[i]);
        if (len < 0) {
            print_cvtnum_err(len, argv[i]);
            return NULL;
        }
        if (len > BDRV_REQUEST_MAX_BYTES) {
            printf("Argument '%s' exceeds maximum size %" PRIu64 "\n", argv[i],
                   (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return NULL;
        }
        if (count > (size_t)(BDRV_REQUEST_MAX_BYTES - len)) {
            printf("The total number of bytes exceed the maximum size %" PRIu64
                   "\n", (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return NULL;
        }
        sizes[i] = len;
        count += len;
    }
    qemu_iovec_init(qiov, nr_iov);
    buf = p = qemu_io_alloc(count, pattern);
    for (i = 0; i < nr_iov; i++) {
        qemu_iovec_add(qiov, p, sizes[i]);
        p += sizes[i];
    }
    return buf;
}

/* Verify @bytes of @buf against @pattern; prints and returns -EINVAL. */
static int verify_pattern(const uint8_t *buf, int pattern, int64_t offset,
                          int64_t bytes)
{
    int64_t i;

    for (i = 0; i < bytes; i++) {
        if (buf[i] != pattern) {
            printf("Pattern verification failed at offset %" PRId64 ", %"
                   PRId64 " bytes\n", offset, bytes);
            return -EINVAL;
        }
    }
    return 0;
}

/* VM state and compressed requests: whole sectors, or say which is not. */
static bool sector_aligned(int64_t offset, int64_t count)
{
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        printf("%" PRId64 " is not a sector-aligned value for 'offset'\n",
               offset);
        return false;
    }
    if (!QEMU_IS_ALIGNED(count, BDRV_SECTOR_SIZE)) {
        printf("%" PRId64 " is not a sector-aligned value for 'count'\n",
               count);
        return false;
    }
    return true;
}

/* ---- read / readv ---- */

static int coroutine_fn read_f(int argc, char **argv)
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

static int coroutine_fn readv_f(int argc, char **argv)
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

static int coroutine_fn write_f(int argc, char **argv)
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

static int coroutine_fn writev_f(int argc, char **argv)
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

static int coroutine_fn aio_read_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, false);
}

static int coroutine_fn aio_write_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, true);
}

static int coroutine_fn aio_flush_f(int argc, char **argv)
{
    blk_co_drain(qemuio_blk);
    return 0;
}

static int coroutine_fn flush_f(int argc, char **argv)
{
    return blk_co_flush(qemuio_blk);
}

/* ---- truncate, length, info, discard ---- */

static int coroutine_fn truncate_f(int argc, char **argv)
{
    Error *local_err = NULL;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    int64_t offset;
    int c, ret;

    while ((c = getopt(argc, argv, "m:")) != -1) {
        switch (c) {
        case 'm':
            if (!prealloc_mode_parse(optarg, &prealloc, NULL)) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            break;
        default:
            return usage_of("truncate");
        }
    }
    if (optind != argc - 1) {
        return usage_of("truncate");
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    /* exact=false: a protocol may keep a larger size (block devices) */
    ret = blk_co_truncate(qemuio_blk, offset, false, prealloc, 0, &local_err);
    if (ret < 0) {
        error_report_err(local_err);
        return ret;
    }
    return 0;
}

static int coroutine_fn length_f(int argc, char **argv)
{
    int64_t size = blk_co_getlength(qemuio_blk);
    char s1[64];

    if (size < 0) {
        printf("getlength: %s\n", strerror(-size));
        return size;
    }
    cvtstr(size, s1, sizeof(s1));
    printf("%s\n", s1);
    return 0;
}

static int coroutine_fn info_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qemuio_blk);
    BlockDriverInfo bdi;
    char s1[64], s2[64];
    Error *err = NULL;
    QDict *spec;
    int ret;

    /* as 7.2: a protocol driver's name is printed twice, once per role */
    printf("format name: %s\n", bs->drv->format_name);
    if (bs->drv->protocol_name) {
        printf("format name: %s\n", bs->drv->protocol_name);
    }
    ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        return ret;
    }
    cvtstr(bdi.cluster_size, s1, sizeof(s1));
    cvtstr(bdi.vm_state_offset, s2, sizeof(s2));
    printf("cluster size: %s\n", s1);
    printf("vm state offset: %s\n", s2);
    spec = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_report_err(err);
        return -EIO;
    }
    if (spec) {
        printf("Format specific information:\n");
        qobject_print_human(qdict_get(spec, "data"), 1);
        qobject_unref(spec);
    }
    return 0;
}

static int coroutine_fn discard_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false;
    int64_t offset, bytes;
    int c, ret;

    while ((c = getopt(argc, argv, "Cq")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'q':
            qflag = true;
            break;
        default:
            return usage_of("discard");
        }
    }
    if (optind != argc - 2) {
        return usage_of("discard");
    }
    ret = parse_off_len(argv, &offset, &bytes);
    if (ret < 0) {
        return ret;
    }
    now(&t1);
    ret = blk_co_pdiscard(qemuio_blk, offset, bytes);
    now(&t2);
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        t2 = tsub(t2, t1);
        print_report("discard", &t2, offset, bytes, bytes, 1, Cflag);
    }
    return 0;
}

/* ---- alloc, map ---- */

static int coroutine_fn alloc_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qemuio_blk);
    int64_t offset, start, remaining, count, num, sum_alloc = 0;
    char s1[64];
    int ret;

    start = offset = cvtnum(argv[1]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[1]);
        return offset;
    }
    if (argc == 3) {
        count = cvtnum(argv[2]);
        if (count < 0) {
            print_cvtnum_err(count, argv[2]);
            return count;
        }
    } else {
        count = BDRV_SECTOR_SIZE;
    }
    remaining = count;
    while (remaining) {
        ret = bdrv_co_is_allocated(bs, offset, remaining, &num);
        if (ret < 0) {
            printf("is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        offset += num;
        remaining -= num;
        if (ret) {
            sum_alloc += num;
        }
        if (num == 0) {
            count -= remaining;
            remaining = 0;
        }
    }
    cvtstr(start, s1, sizeof(s1));
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n",
           sum_alloc, count, s1);
    return 0;
}

/* Allocation status of the longest run starting at @offset. */
static int coroutine_fn map_is_allocated(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes, int64_t *pnum)
{
    int64_t num;
    int ret, firstret;

    /* as QEMU: allocation in the top layer only */
    ret = bdrv_co_is_allocated(bs, offset, MIN(bytes, BDRV_REQUEST_MAX_BYTES),
                               &num);
    if (ret < 0) {
        return ret;
    }
    firstret = ret;
    *pnum = num;
    while (bytes > 0 && ret == firstret) {
        offset += num;
        bytes -= num;
        ret = bdrv_co_is_allocated(bs, offset,
                                   MIN(bytes, BDRV_REQUEST_MAX_BYTES), &num);
        if (ret == firstret && num) {
            *pnum += num;
        } else {
            break;
        }
    }
    return firstret;
}

static int coroutine_fn map_f(int argc, char **argv)
{
    int64_t offset = 0, bytes, num;
    char s1[64], s2[64];
    int ret;

    bytes = blk_co_getlength(qemuio_blk);
    if (bytes < 0) {
        error_report("Failed to query image length: %s", strerror(-bytes));
        return bytes;
    }
    while (bytes) {
        ret = map_is_allocated(blk_bs(qemuio_blk), offset, bytes, &num);
        if (ret < 0) {
            error_report("Failed to get allocation status: %s",
                         strerror(-ret));
            return ret;
        } else if (!num) {
            error_report("Unexpected end of image");
            return -EIO;
        }
        cvtstr(num, s1, sizeof(s1));
        cvtstr(offset, s2, sizeof(s2));
        printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n",
               s1, num, ret ? "    allocated" : "not allocated", s2, offset);
        offset += num;
        bytes -= num;
    }
    return 0;
}

/* ---- open, close, quit, sleep, help, abort, sigraise ---- */

static int coroutine_fn open_f(int argc, char **argv)
{
    int flags = BDRV_O_UNMAP;
    bool readonly = false, writethrough = true;
    g_autoptr(QObject) opts = qdict_new();
    Error *err = NULL;
    int c, ret;

    while ((c = getopt(argc, argv, "snCro:ki:t:d:U")) != -1) {
        switch (c) {
        case 'U':
            qdict_put_str(opts, "force-share", "on");
            break;
        case 's':
            flags |= BDRV_O_SNAPSHOT;
            break;
        case 'C':
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            writethrough = false;
            break;
        case 'r':
            readonly = true;
            break;
        case 'k':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 't':
            if (!bdrv_parse_cache_mode(optarg, &flags, &writethrough)) {
                error_report("Invalid cache option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'd':
            if (!bdrv_parse_discard_flags(optarg, &flags)) {
                error_report("Invalid discard option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'i':
            if (!bdrv_parse_aio(optarg, &flags)) {
                error_report("Invalid aio option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'o':
            if (!keyval_parse_into(&opts, optarg, NULL, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            break;
        default:
            return usage_of("open");
        }
    }
    if (!readonly) {
        flags |= BDRV_O_RDWR;
    }
    if (optind == argc - 1) {
        ret = qemuio_openfile(argv[optind], g_steal_pointer(&opts), flags,
                              writethrough);
    } else if (optind == argc) {
        ret = qemuio_openfile(NULL, g_steal_pointer(&opts), flags,
                              writethrough);
    } else {
        return usage_of("open");
    }
    return ret;
}

/*
 * reopen [-r|-w] [-c cache] [-o options]: the image opened again with
 * these changes (7.2 changes the open nodes in place; we close and open,
 * falling back to the old options when the new ones fail).
 */
static int coroutine_fn reopen_f(int argc, char **argv)
{
    static const char *const bools[] = {
        "cache.direct", "cache.no-flush", "auto-read-only",
    };
    const char *ro;
    int flags = qemuio_open_flags();
    bool writethrough = !blk_enable_write_cache(qemuio_blk);
    bool has_rw = false, has_cache = false, b;
    g_autoptr(QObject) changes = qdict_new();
    Error *err = NULL;
    size_t i;
    int c;

    while ((c = getopt(argc, argv, "c:o:rw")) != -1) {
        switch (c) {
        case 'c':
            if (!bdrv_parse_cache_mode(optarg, &flags, &writethrough)) {
                error_report("Invalid cache option: %s", optarg);
                return -EINVAL;
            }
            has_cache = true;
            break;
        case 'o':
            if (!keyval_parse_into(&changes, optarg, NULL, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            break;
        case 'r':
        case 'w':
            if (has_rw) {
                error_report("Only one -r/-w option may be given");
                return -EINVAL;
            }
            flags = c == 'r' ? flags & ~BDRV_O_RDWR : flags | BDRV_O_RDWR;
            has_rw = true;
            break;
        default:
            return usage_of("reopen");
        }
    }
    if (optind != argc) {
        return usage_of("reopen");
    }
    if (qdict_haskey(changes, "read-only") && has_rw) {
        error_report("Cannot set both -r/-w and 'read-only'");
        return -EINVAL;
    }
    if ((qdict_haskey(changes, "cache.direct") ||
         qdict_haskey(changes, "cache.no-flush")) && has_cache) {
        error_report("Cannot set both -c and the cache options");
        return -EINVAL;
    }
    /* read-only=on|off is -r/-w said as an option: a flag, like them */
    ro = qdict_get_try_str(changes, "read-only");
    if (ro) {
        if (!qemu_parse_bool("read-only", ro, &b, &err)) {
            error_report_err(err);
            return -EINVAL;
        }
        flags = b ? flags & ~BDRV_O_RDWR : flags | BDRV_O_RDWR;
    }
    for (i = 0; i < G_N_ELEMENTS(bools); i++) {
        const char *v = qdict_get_try_str(changes, bools[i]);

        if (v && !qemu_parse_bool(bools[i], v, &b, &err)) {
            error_report_err(err);
            return -EINVAL;
        }
    }
    qdict_del(changes, "read-only");
    return qemuio_reopen(changes, flags, writethrough);
}

static int coroutine_fn close_f(int argc, char **argv)
{
    blk_co_drain(qemuio_blk);
    blk_unref(qemuio_blk);
    qemuio_blk = NULL;
    return 0;
}

static int coroutine_fn quit_f(int argc, char **argv)
{
    qemuio_quit = true;
    return 0;
}

static int coroutine_fn sleep_f(int argc, char **argv)
{
    char *end;
    long ms = strtol(argv[1], &end, 0);

    if (ms < 0 || *end != '\0') {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    qemu_co_sleep_ns((int64_t)ms * 1000000);
    return 0;
}

/* ---- breakpoints (blkdebug) ---- */

static int coroutine_fn break_f(int argc, char **argv)
{
    int ret = bdrv_debug_breakpoint(blk_bs(qemuio_blk), argv[1], argv[2]);

    if (ret < 0) {
        printf("Could not set breakpoint: %s\n", strerror(-ret));
    }
    return ret;
}

static int coroutine_fn remove_break_f(int argc, char **argv)
{
    int ret = bdrv_debug_remove_breakpoint(blk_bs(qemuio_blk), argv[1]);

    if (ret < 0) {
        printf("Could not remove breakpoint %s: %s\n", argv[1],
               strerror(-ret));
    }
    return ret;
}

static int coroutine_fn resume_f(int argc, char **argv)
{
    int ret = bdrv_debug_resume(blk_bs(qemuio_blk), argv[1]);

    if (ret < 0) {
        printf("Could not resume request: %s\n", strerror(-ret));
    }
    return ret;
}

/*
 * Let the requests in flight run until one stops under the tag (as 7.2,
 * forever if none does).  The check is cheap; a millisecond's sleep
 * between checks keeps an idle wait off the CPU.
 */
static int coroutine_fn wait_break_f(int argc, char **argv)
{
    while (!bdrv_debug_is_suspended(blk_bs(qemuio_blk), argv[1])) {
        qemu_co_sleep_ns(1000000);
    }
    return 0;
}

static int coroutine_fn abort_f(int argc, char **argv)
{
    abort();
}

static int coroutine_fn sigraise_f(int argc, char **argv)
{
    int64_t sig = cvtnum(argv[1]);

    if (sig < 0) {
        print_cvtnum_err(sig, argv[1]);
        return sig;
    } else if (sig > NSIG) {
        printf("signal argument '%s' is too large to be a valid signal\n",
               argv[1]);
        return -EINVAL;
    }
    fflush(stdout);
    fflush(stderr);
    raise((int)sig);
    return 0;
}

static int coroutine_fn help_f(int argc, char **argv);

/* Sorted by name, as QEMU's table. */
static const CmdInfo cmdtab[] = {
    { "abort", NULL, abort_f, 0, 0, CMD_NOFILE_OK },
    { "aio_flush", NULL, aio_flush_f, 0, 0, 0 },
    { "aio_read", NULL, aio_read_f, 2, -1, 0 },
    { "aio_write", NULL, aio_write_f, 2, -1, CMD_PERM_WRITE },
    { "alloc", "a", alloc_f, 1, 2, 0 },
    { "break", NULL, break_f, 2, 2, 0 },
    { "close", "c", close_f, 0, 0, 0 },
    { "discard", "d", discard_f, 2, -1, CMD_PERM_WRITE },
    { "flush", "f", flush_f, 0, 0, 0 },
    { "help", "?", help_f, 0, 1, CMD_FLAG_GLOBAL },
    { "info", "i", info_f, 0, 0, 0 },
    { "length", "l", length_f, 0, 0, 0 },
    { "map", NULL, map_f, 0, 0, 0 },
    { "open", "o", open_f, 1, -1, CMD_NOFILE_OK },
    { "quit", "q", quit_f, 0, 0, CMD_FLAG_GLOBAL },
    { "read", "r", read_f, 2, -1, 0 },
    { "readv", NULL, readv_f, 2, -1, 0 },
    { "remove_break", NULL, remove_break_f, 1, 1, 0 },
    { "reopen", NULL, reopen_f, 0, -1, 0 },
    { "resume", NULL, resume_f, 1, 1, 0 },
    { "sigraise", NULL, sigraise_f, 1, 1, CMD_NOFILE_OK },
    { "sleep", NULL, sleep_f, 1, 1, CMD_NOFILE_OK },
    { "truncate", "t", truncate_f, 1, 3, CMD_PERM_WRITE },
    { "wait_break", NULL, wait_break_f, 1, 1, 0 },
    { "write", "w", write_f, 2, -1, CMD_PERM_WRITE },
    { "writev", NULL, writev_f, 2, -1, CMD_PERM_WRITE },
};

static const CmdInfo *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
        if (!strcmp(cmdtab[i].name, name) ||
            (cmdtab[i].altname && !strcmp(cmdtab[i].altname, name))) {
            return &cmdtab[i];
        }
    }
    return NULL;
}

static void help_oneline(const char *cmd, const QemuIoHelp *h)
{
    printf("%s ", cmd);
    if (h->args) {
        printf("%s ", h->args);
    }
    printf("-- %s\n", h->oneline);
}

static int coroutine_fn help_f(int argc, char **argv)
{
    const CmdInfo *ct;
    const QemuIoHelp *h;
    size_t i;

    if (argc == 1) {
        for (i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
            help_oneline(cmdtab[i].name, find_help(cmdtab[i].name));
        }
        printf("\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ct = find_command(argv[1]);
    if (!ct) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    h = find_help(ct->name);
    help_oneline(argv[1], h);
    if (h->help) {
        fputs(h->help, stdout);
    }
    return 0;
}

int coroutine_fn qemuio_command(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit(cmdline, " ", -1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const CmdInfo *ct;
    int argc, i;

    for (i = 0; words[i]; i++) {
        if (*words[i]) {
            g_ptr_array_add(argv, words[i]);
        }
    }
    argc = argv->len;
    if (argc == 0) {
        return 0;
    }
    g_ptr_array_add(argv, NULL);

    ct = find_command(g_ptr_array_index(argv, 0));
    if (!ct) {
        fprintf(stderr, "command \"%s\" not found\n",
                (char *)g_ptr_array_index(argv, 0));
        return -EINVAL;
    }
    if (!(ct->flags & (CMD_FLAG_GLOBAL | CMD_NOFILE_OK)) && !qemuio_blk) {
        fprintf(stderr, "no file open, try 'help open'\n");
        return -EINVAL;
    }
    if (argc - 1 < ct->argmin || (ct->argmax != -1 &&
                                  argc - 1 > ct->argmax)) {
        if (ct->argmax == -1) {
            fprintf(stderr, "bad argument count %d to %s, expected at least "
                    "%d arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin);
        } else if (ct->argmin == ct->argmax) {
            fprintf(stderr, "bad argument count %d to %s, expected %d "
                    "arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin);
        } else {
            fprintf(stderr, "bad argument count %d to %s, expected between "
                    "%d and %d arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin,
                    ct->argmax);
        }
        return -EINVAL;
    }
    if ((ct->flags & CMD_PERM_WRITE) && bdrv_is_read_only(blk_bs(qemuio_blk))) {
        error_report("Block node is read-only");
        return -EPERM;
    }
    optind = 0;
    return ct->func(argc, (char **)argv->pdata);
}
