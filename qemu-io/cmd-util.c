/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io command helpers: help lookup and usage lines, numbers with
 * suffixes, offset/length pairs, the timing report 7.2 prints, patterns,
 * buffers (misaligned with -m) and their hex dumps.
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

#define MISALIGN_OFFSET 16

const QemuIoHelp *find_help(const char *name)
{
    const QemuIoHelp *h;

    for (h = qemuio_help_texts; h->name; h++) {
        if (!strcmp(h->name, name)) {
            return h;
        }
    }
    g_assert_not_reached();
}

int usage_of(const char *name)
{
    const QemuIoHelp *h = find_help(name);

    printf("%s %s -- %s\n", h->name, h->args ? h->args : "", h->oneline);
    return -EINVAL;
}

int64_t cvtnum(const char *s)
{
    uint64_t v;
    int ret = qemu_strtosz(s, NULL, &v);

    return ret < 0 ? ret : (int64_t)v;
}

void print_cvtnum_err(int64_t rc, const char *arg)
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
int64_t cvtnum_arg(const char *arg)
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
int parse_off_len(char **argv, int64_t *offset, int64_t *bytes)
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
void cvtstr(double value, char *str, size_t size)
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

struct timespec tsub(struct timespec t1, struct timespec t2)
{
    t1.tv_nsec -= t2.tv_nsec;
    if (t1.tv_nsec < 0) {
        t1.tv_nsec += NANOSECONDS_PER_SECOND;
        t1.tv_sec--;
    }
    t1.tv_sec -= t2.tv_sec;
    return t1;
}

double tdiv(double value, struct timespec tv)
{
    double seconds = tv.tv_sec + (tv.tv_nsec / 1e9);

    return value / seconds;
}

void timestr(struct timespec *tv, char *ts, size_t size, bool verbose)
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

void print_report(const char *op, struct timespec *t, int64_t offset,
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

void now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

int parse_pattern(const char *arg)
{
    char *end = NULL;
    long pattern = strtol(arg, &end, 0);

    if (pattern < 0 || pattern > UCHAR_MAX || *end != '\0') {
        printf("%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return (int)pattern;
}

void *qemu_io_alloc(size_t len, int pattern)
{
    uint8_t *buf;

    if (qemuio_misalign) {
        len += MISALIGN_OFFSET;
    }
    buf = blk_buf_alloc(blk_bs(qemuio_blk), MAX(len, 1));
    memset(buf, pattern, len);
    return qemuio_misalign ? buf + MISALIGN_OFFSET : buf;
}

void qemu_io_free(void *p)
{
    if (p) {
        blk_buf_free(qemuio_misalign ? (uint8_t *)p - MISALIGN_OFFSET : p);
    }
}

void dump_buffer(const void *buffer, int64_t offset, int64_t len)
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
void *create_iovec(QEMUIOVector *qiov, char **argv, int nr_iov,
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
int verify_pattern(const uint8_t *buf, int pattern, int64_t offset,
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
bool sector_aligned(int64_t offset, int64_t count)
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
