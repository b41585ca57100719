/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img internals: the subcommand table entry type and helpers shared
 * by the subcommands (error exits, opening images, output formats).
 */
#ifndef QEMU_IMG_IMG_H
#define QEMU_IMG_IMG_H

#include "util/osdep.h"
#include "block/block-backend.h"
#include "block/driver.h"

typedef enum {
    OFORMAT_HUMAN,
    OFORMAT_JSON,
} OutputFormat;

/* A subcommand's body; runs in the tool's coroutine; returns exit status. */
typedef int coroutine_fn ImgCmdFunc(int argc, char **argv);

int coroutine_fn img_create(int argc, char **argv);
int coroutine_fn img_info(int argc, char **argv);
int coroutine_fn img_map(int argc, char **argv);
int coroutine_fn img_compare(int argc, char **argv);
int coroutine_fn img_bench(int argc, char **argv);
int coroutine_fn img_bitmap(int argc, char **argv);
int coroutine_fn img_check(int argc, char **argv);
int coroutine_fn img_convert(int argc, char **argv);
int coroutine_fn img_resize(int argc, char **argv);
int coroutine_fn img_amend(int argc, char **argv);
int coroutine_fn img_measure(int argc, char **argv);
int coroutine_fn img_snapshot(int argc, char **argv);
int coroutine_fn img_rebase(int argc, char **argv);
int coroutine_fn img_commit(int argc, char **argv);
int coroutine_fn img_dd(int argc, char **argv);

/* Print "progname: <msg>" and the --help hint, then exit(1). */
void QEMU_NORETURN img_error_exit(const char *fmt, ...) QEMU_PRINTF(1, 2);

/*
 * getopt codes of the long options subcommands share; a subcommand's own
 * long options are numbered from IMG_OPT_PRIVATE.
 */
enum {
    IMG_OPT_OBJECT = 256,       /* --object */
    IMG_OPT_IMAGE_OPTS,         /* --image-opts */
    IMG_OPT_PRIVATE,
};

/*
 * The getopt results every subcommand treats alike, from a switch's
 * default arm: --object (an object is added; exit 1 if it cannot be),
 * --image-opts (sets *@image_opts; NULL for subcommands without it),
 * ':' (missing argument) and '?' (unknown option) exit 1 with QEMU's
 * messages, 'h' prints the help and exits 0.
 */
void img_common_option(int c, char **argv, bool *image_opts);

/* True if a -o option string asks for help ("help" or "?" among it). */
bool img_has_help_option(const char *options);
/*
 * "-o help" of create and convert: the create options of format @fmt,
 * with those of @filename's protocol when a filename is given.  Returns
 * the exit status.
 */
int img_print_create_help(const char *fmt, const char *filename);

/* Print the --help text and exit(0). */
void QEMU_NORETURN img_help(void);

/*
 * Parse a size argument @value for @name (the message's noun) within
 * [min, max]; prints QEMU's messages and returns -errno on failure.
 */
int64_t img_cvtnum_full(const char *name, const char *value, int64_t min,
                        int64_t max);
int64_t img_cvtnum(const char *name, const char *value);

/* "human" or "json"; exits through img_error_exit() otherwise. */
OutputFormat img_parse_output_format(const char *arg);

/*
 * Open an image as the subcommands do.  @image_opts: @filename is an
 * option string.  @fmt may be NULL (probe).  Prints the error with
 * QEMU's "Could not open '...': " prefix and returns NULL on failure.
 * Context: coroutine.
 */
BlockBackend *coroutine_fn img_open(bool image_opts, const char *filename,
                                    const char *fmt, int flags,
                                    bool writethrough, bool quiet,
                                    bool force_share);

/*
 * -l of convert and measure, as 7.2: "snapshot.id=ID,snapshot.name=NAME"
 * (either or both), or else an ID or name.  img_check_snapshot_param()
 * checks the syntax when the option is parsed; img_load_snapshot()
 * switches @blk (opened read-only) to that snapshot.  Both print 7.2's
 * messages and return false on error.
 */
bool img_check_snapshot_param(const char *param);
bool coroutine_fn img_load_snapshot(BlockBackend *blk, const char *param);

/*
 * "Snapshot list:" and the table of bdrv_snapshot_list()'s @list, as
 * info and snapshot -l print it (dates in local time).
 */
void img_dump_snapshots(QObject *list);

/* "  name=<type>  - help" lines of @opts, sorted by name (-o help). */
void img_print_opt_list(const CreateOptDesc *opts);

#endif /* QEMU_IMG_IMG_H */
