/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img map: walk the image with block status, layer by layer down the
 * backing chain, merge neighbouring extents that look the same, and print
 * them as 7.2 does (human table or JSON lines).
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"

#include <getopt.h>

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int64_t offset;
    int64_t depth;
    bool data, zero, present, has_offset;
    const char *filename;       /* NULL unless has_offset */
} MapEntry;

/* Status of [offset, offset+bytes) from the first layer that knows it. */
static int coroutine_fn get_block_status(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes, MapEntry *e)
{
    BlockDriverState *file = NULL;
    int64_t map = 0;
    int depth = 0;
    int ret;

    for (;;) {
        bs = bdrv_skip_filters(bs);     /* as 7.2: filters are no layer */
        ret = bdrv_co_block_status_above(bs, bdrv_backing_bs(bs), false, true,
                                         offset, bytes, &bytes, &map, &file,
                                         NULL);
        if (ret < 0) {
            return ret;
        }
        assert(bytes);
        if (ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) {
            break;
        }
        bs = bdrv_backing_bs(bs);
        if (!bs) {
            ret = 0;
            break;
        }
        depth++;
    }
    *e = (MapEntry) {
        .start = offset,
        .length = bytes,
        .data = !!(ret & BDRV_BLOCK_DATA),
        .zero = !!(ret & BDRV_BLOCK_ZERO),
        .offset = map,
        .has_offset = !!(ret & BDRV_BLOCK_OFFSET_VALID),
        .depth = depth,
        .present = !!(ret & BDRV_BLOCK_ALLOCATED),
    };
    if (file && e->has_offset) {
        e->filename = bdrv_get_filename(file);
    }
    return 0;
}

static bool entry_mergeable(const MapEntry *curr, const MapEntry *next)
{
    if (curr->length == 0) {
        return false;
    }
    if (curr->zero != next->zero || curr->data != next->data ||
        curr->depth != next->depth || curr->present != next->present ||
        !curr->filename != !next->filename ||
        curr->has_offset != next->has_offset) {
        return false;
    }
    if (curr->filename && strcmp(curr->filename, next->filename)) {
        return false;
    }
    if (curr->has_offset && curr->offset + curr->length != next->offset) {
        return false;
    }
    return true;
}

static int dump_map_entry(OutputFormat ofmt, MapEntry *e, MapEntry *next)
{
    if (ofmt == OFORMAT_HUMAN) {
        if (e->data && !e->has_offset) {
            error_report("File contains external, encrypted or compressed "
                         "clusters.");
            return -1;
        }
        if (e->data && !e->zero) {
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
                   e->start, e->length, e->has_offset ? e->offset : 0,
                   e->filename ? e->filename : "");
        }
        /* the table does not tell zero from unallocated: merge them */
        if (next && (!next->data || next->zero)) {
            next->data = false;
            next->zero = true;
        }
        return 0;
    }
    printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %"
           PRId64 ", \"present\": %s, \"zero\": %s, \"data\": %s",
           e->start, e->length, e->depth, e->present ? "true" : "false",
           e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset) {
        printf(", \"offset\": %" PRId64, e->offset);
    }
    putchar('}');
    if (next) {
        puts(",");
    }
    return 0;
}

int coroutine_fn img_map(int argc, char **argv)
{
    enum { OPT_OUTPUT = IMG_OPT_PRIVATE, OPT_START,
           OPT_MAXLEN };
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "start-offset", required_argument, NULL, OPT_START },
        { "max-length", required_argument, NULL, OPT_MAXLEN },
        { NULL, 0, NULL, 0 }
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    const char *fmt = NULL, *filename;
    bool image_opts = false, force_share = false;
    int64_t start_offset = 0, max_length = -1, length;
    MapEntry curr = { .length = 0 }, next;
    BlockBackend *blk;
    BlockDriverState *bs;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, ":f:hU", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        case OPT_OUTPUT:
            ofmt = img_parse_output_format(optarg);
            break;
        case OPT_START:
            start_offset = img_cvtnum("start offset", optarg);
            if (start_offset < 0) {
                return 1;
            }
            break;
        case OPT_MAXLEN:
            max_length = img_cvtnum("max length", optarg);
            if (max_length < 0) {
                return 1;
            }
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    filename = argv[optind];

    blk = img_open(image_opts, filename, fmt, 0, false, false, force_share);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);
    length = blk_co_getlength(blk);
    if (length < 0) {
        error_report("Failed to get size for '%s'", filename);
        blk_unref(blk);
        return 1;
    }
    if (max_length != -1) {
        length = MIN(start_offset + max_length, length);
    }

    if (ofmt == OFORMAT_HUMAN) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    } else {
        putchar('[');
    }
    curr.start = start_offset;
    while (curr.start + curr.length < length) {
        int64_t offset = curr.start + curr.length;

        ret = get_block_status(bs, offset, length - offset, &next);
        if (ret < 0) {
            error_report("Could not read file metadata: %s", strerror(-ret));
            goto out;
        }
        if (entry_mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length > 0) {
            ret = dump_map_entry(ofmt, &curr, &next);
            if (ret < 0) {
                goto out;
            }
        }
        curr = next;
    }
    ret = dump_map_entry(ofmt, &curr, NULL);
    if (ofmt == OFORMAT_JSON) {
        puts("]");
    }
out:
    blk_unref(blk);
    return ret < 0 ? 1 : 0;
}
