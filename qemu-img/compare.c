/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img compare: walk both images with block status, skip what both
 * know to be zero, read and compare the rest in 2 MiB chunks, and report
 * the first mismatch at 512-byte granularity as 7.2 does.  Exit codes:
 * 0 identical, 1 different, 2 open error, 3 block status error,
 * 4 read error.
 */
#include "util/osdep.h"
#include "img.h"
#include "util/secret.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/progress.h"

#include <getopt.h>

#define IO_BUF_SIZE (2 * MiB)

/*
 * Compare sector by sector: returns whether the first sector differs, and
 * in *@pnum how many bytes share that first sector's answer.
 */
static int compare_buffers(const uint8_t *buf1, const uint8_t *buf2,
                           int64_t bytes, int64_t *pnum)
{
    int64_t i = MIN(bytes, (int64_t)BDRV_SECTOR_SIZE);
    bool res = memcmp(buf1, buf2, i) != 0;

    while (i < bytes) {
        int64_t len = MIN(bytes - i, (int64_t)BDRV_SECTOR_SIZE);
        if ((memcmp(buf1 + i, buf2 + i, len) != 0) != res) {
            break;
        }
        i += len;
    }
    *pnum = i;
    return res;
}

/* Offset of the first non-zero sector, or -1. */
static int64_t find_nonzero(const uint8_t *buf, int64_t n)
{
    int64_t i;

    for (i = 0; i < n; i += BDRV_SECTOR_SIZE) {
        if (!buffer_is_zero(buf + i, MIN((int64_t)BDRV_SECTOR_SIZE, n - i))) {
            return i;
        }
    }
    return -1;
}

static int coroutine_fn check_empty_sectors(BlockBackend *blk, int64_t offset,
                                            int64_t bytes,
                                            const char *filename,
                                            uint8_t *buffer, bool quiet)
{
    int64_t idx;
    int ret = blk_co_pread(blk, offset, bytes, buffer, 0);

    if (ret < 0) {
        error_report("Error while reading offset %" PRId64 " of %s: %s",
                     offset, filename, strerror(-ret));
        return 4;
    }
    idx = find_nonzero(buffer, bytes);
    if (idx >= 0) {
        if (!quiet) {
            printf("Content mismatch at offset %" PRId64 "!\n", offset + idx);
        }
        return 1;
    }
    return 0;
}

typedef struct CompareArgs {
    BlockBackend *blk1, *blk2;
    const char *filename1, *filename2;
    bool strict, quiet;
} CompareArgs;

/* Returns the exit code. */
static int coroutine_fn compare_images(CompareArgs *a)
{
    BlockDriverState *bs1 = blk_bs(a->blk1), *bs2 = blk_bs(a->blk2);
    int64_t total1 = blk_co_getlength(a->blk1);
    int64_t total2 = blk_co_getlength(a->blk2);
    int64_t total, progress_base, offset = 0, chunk;
    g_autofree uint8_t *buf1 = NULL, *buf2 = NULL;
    int ret;

    if (total1 < 0 || total2 < 0) {
        error_report("Can't get size of %s: %s",
                     total1 < 0 ? a->filename1 : a->filename2,
                     strerror(-(total1 < 0 ? total1 : total2)));
        return 4;
    }
    buf1 = g_malloc(IO_BUF_SIZE);
    buf2 = g_malloc(IO_BUF_SIZE);
    total = MIN(total1, total2);
    progress_base = MAX(total1, total2);
    qemu_progress_print(0, 100);

    if (a->strict && total1 != total2) {
        if (!a->quiet) {
            printf("Strict mode: Image size mismatch!\n");
        }
        return 1;
    }
    while (offset < total) {
        int64_t pnum1, pnum2;
        int s1, s2;
        bool alloc1, alloc2;

        s1 = bdrv_co_block_status_above(bs1, NULL, false, true, offset,
                                        total1 - offset, &pnum1, NULL, NULL,
                                        NULL);
        if (s1 < 0) {
            error_report("Sector allocation test failed for %s",
                         a->filename1);
            return 3;
        }
        s2 = bdrv_co_block_status_above(bs2, NULL, false, true, offset,
                                        total2 - offset, &pnum2, NULL, NULL,
                                        NULL);
        if (s2 < 0) {
            error_report("Sector allocation test failed for %s",
                         a->filename2);
            return 3;
        }
        alloc1 = s1 & BDRV_BLOCK_ALLOCATED;
        alloc2 = s2 & BDRV_BLOCK_ALLOCATED;
        chunk = MIN(pnum1, pnum2);
        if (a->strict && s1 != s2) {
            if (!a->quiet) {
                printf("Strict mode: Offset %" PRId64
                       " block status mismatch!\n", offset);
            }
            return 1;
        }
        if ((s1 & BDRV_BLOCK_ZERO) && (s2 & BDRV_BLOCK_ZERO)) {
            /* both read as zeroes: nothing to compare */
        } else if (alloc1 == alloc2) {
            if (alloc1) {
                int64_t pnum;

                chunk = MIN(chunk, IO_BUF_SIZE);
                ret = blk_co_pread(a->blk1, offset, chunk, buf1, 0);
                if (ret < 0) {
                    error_report("Error while reading offset %" PRId64
                                 " of %s: %s", offset, a->filename1,
                                 strerror(-ret));
                    return 4;
                }
                ret = blk_co_pread(a->blk2, offset, chunk, buf2, 0);
                if (ret < 0) {
                    error_report("Error while reading offset %" PRId64
                                 " of %s: %s", offset, a->filename2,
                                 strerror(-ret));
                    return 4;
                }
                ret = compare_buffers(buf1, buf2, chunk, &pnum);
                if (ret || pnum != chunk) {
                    if (!a->quiet) {
                        printf("Content mismatch at offset %" PRId64 "!\n",
                               offset + (ret ? 0 : pnum));
                    }
                    return 1;
                }
            }
        } else {
            chunk = MIN(chunk, IO_BUF_SIZE);
            ret = alloc1 ? check_empty_sectors(a->blk1, offset, chunk,
                                               a->filename1, buf1, a->quiet) :
                           check_empty_sectors(a->blk2, offset, chunk,
                                               a->filename2, buf1, a->quiet);
            if (ret) {
                return ret;
            }
        }
        offset += chunk;
        qemu_progress_print(((float)chunk / progress_base) * 100, 100);
    }

    if (total1 != total2) {
        BlockBackend *blk_over = total1 > total2 ? a->blk1 : a->blk2;
        const char *fn_over = total1 > total2 ? a->filename1 : a->filename2;

        if (!a->quiet) {
            printf("Warning: Image size mismatch!\n");
        }
        while (offset < progress_base) {
            ret = bdrv_co_block_status_above(blk_bs(blk_over), NULL, false,
                                             true, offset,
                                             progress_base - offset, &chunk,
                                             NULL, NULL, NULL);
            if (ret < 0) {
                error_report("Sector allocation test failed for %s", fn_over);
                return 3;
            }
            if ((ret & BDRV_BLOCK_ALLOCATED) && !(ret & BDRV_BLOCK_ZERO)) {
                chunk = MIN(chunk, IO_BUF_SIZE);
                ret = check_empty_sectors(blk_over, offset, chunk, fn_over,
                                          buf1, a->quiet);
                if (ret) {
                    return ret;
                }
            }
            offset += chunk;
            qemu_progress_print(((float)chunk / progress_base) * 100, 100);
        }
    }
    if (!a->quiet) {
        printf("Images are identical.\n");
    }
    return 0;
}

int coroutine_fn img_compare(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt1 = NULL, *fmt2 = NULL, *cache = "writeback";
    bool progress = false, quiet = false, strict = false;
    bool image_opts = false, force_share = false, writethrough;
    CompareArgs a = { 0 };
    int flags = 0, c, ret;

    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt1 = optarg;
            break;
        case 'F':
            fmt2 = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            strict = true;
            break;
        case 'U':
            force_share = true;
            break;
        case IMG_OPT_OBJECT:
            /* compare's errors exit 2 */
            if (!qemu_object_add_cmdline(optarg)) {
                return 2;
            }
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (quiet) {
        progress = false;
    }
    if (optind != argc - 2) {
        img_error_exit("Expecting two image file names");
    }
    a.filename1 = argv[optind];
    a.filename2 = argv[optind + 1];
    a.strict = strict;
    a.quiet = quiet;
    if (!bdrv_parse_cache_mode(cache, &flags, &writethrough)) {
        error_report("Invalid source cache option: %s", cache);
        return 2;
    }
    qemu_progress_init(progress, 2.0);
    a.blk1 = img_open(image_opts, a.filename1, fmt1, flags, writethrough,
                      quiet, force_share);
    if (!a.blk1) {
        return 2;
    }
    a.blk2 = img_open(image_opts, a.filename2, fmt2, flags, writethrough,
                      quiet, force_share);
    if (!a.blk2) {
        blk_unref(a.blk1);
        return 2;
    }
    ret = compare_images(&a);
    blk_unref(a.blk2);
    blk_unref(a.blk1);
    qemu_progress_end();
    return ret;
}
