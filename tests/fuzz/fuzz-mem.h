/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the fast fuzz targets share: an in-memory protocol node holding
 * the input (no file, no thread pool, no system call on the data path),
 * and opening a qcow2 node over it with small caches.  Inputs that would
 * make the block layer open another file (an external data file) are
 * rejected here: a fuzzer must touch nothing but its input.
 */
#ifndef TESTS_FUZZ_FUZZ_MEM_H
#define TESTS_FUZZ_FUZZ_MEM_H

#include "util/osdep.h"
#include "block/driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The image may grow to this (then writes fail with ENOSPC). */
#define FUZZ_MEM_MAX (64 * MiB)

/*
 * An image in memory: a copy of @data that outlives the nodes opened on
 * it, so that a second open sees what the first one wrote.
 */
typedef struct FuzzImage FuzzImage;
FuzzImage *fuzz_image_new(const uint8_t *data, size_t size);
void fuzz_image_free(FuzzImage *img);
/*
 * A qcow2 node (BDRV_O_NO_BACKING added to @flags) over @img, or NULL.
 * Context: coroutine.
 */
BlockDriverState *coroutine_fn fuzz_qcow2_open(FuzzImage *img, int flags);

/*
 * Whether writing to the qcow2 node @bs costs seconds an execution: a
 * snapshot table (loaded, or declared in the header, which check reads)
 * of over 64 entries or an L1 table over 64 KiB (each
 * rewritten or copied whole, with every metadata write checked against
 * every table, as in 7.2).  The targets read such images but skip their
 * writing steps, which are the same code for small tables.
 */
bool fuzz_qcow2_costly(BlockDriverState *bs);

/* Run @fn(@opaque) in a coroutine to completion. */
void fuzz_run(CoroutineEntry *fn, void *opaque);

#endif /* TESTS_FUZZ_FUZZ_MEM_H */
