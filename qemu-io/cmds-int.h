/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io's command files among themselves: the helpers every command
 * uses (argument parsing, buffers, patterns, reports; cmd-util.c) and
 * the read and write commands (cmds-rw.c) that the command table in
 * cmds.c lists.  Not for use outside qemu-io.
 */
#ifndef QEMU_IO_CMDS_INT_H
#define QEMU_IO_CMDS_INT_H

#include "qemu-io.h"
#include <time.h>

/* ---- cmd-util.c ---- */
const QemuIoHelp *find_help(const char *name);
int usage_of(const char *name);
int64_t cvtnum(const char *s);
void print_cvtnum_err(int64_t rc, const char *arg);
int64_t cvtnum_arg(const char *arg);
int parse_off_len(char **argv, int64_t *offset, int64_t *bytes);
void cvtstr(double value, char *str, size_t size);
struct timespec tsub(struct timespec t1, struct timespec t2);
double tdiv(double value, struct timespec tv);
void timestr(struct timespec *tv, char *ts, size_t size, bool verbose);
void print_report(const char *op, struct timespec *t, int64_t offset,
                  int64_t count, int64_t total, int cnt, bool Cflag);
void now(struct timespec *t);
int parse_pattern(const char *arg);
void *qemu_io_alloc(size_t len, int pattern);
void qemu_io_free(void *p);
void dump_buffer(const void *buffer, int64_t offset, int64_t len);
void *create_iovec(QEMUIOVector *qiov, char **argv, int nr_iov,
                   int pattern);
int verify_pattern(const uint8_t *buf, int pattern, int64_t offset,
                   int64_t bytes);
bool sector_aligned(int64_t offset, int64_t count);

/* ---- cmds-rw.c: read, readv, write, writev, aio_*, flush ---- */
int coroutine_fn read_f(int argc, char **argv);
int coroutine_fn readv_f(int argc, char **argv);
int coroutine_fn write_f(int argc, char **argv);
int coroutine_fn writev_f(int argc, char **argv);
int coroutine_fn aio_read_f(int argc, char **argv);
int coroutine_fn aio_write_f(int argc, char **argv);
int coroutine_fn aio_flush_f(int argc, char **argv);
int coroutine_fn flush_f(int argc, char **argv);

#endif /* QEMU_IO_CMDS_INT_H */
