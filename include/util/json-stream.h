/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A JSON message stream, as QMP reads one: bytes in, one value out per
 * complete top-level value (an object or array once its brackets close,
 * a scalar at once), with QEMU 7.2's error texts ("JSON parse error,
 * ...") and its limits (64 MiB of tokens, 2 Mi tokens, nesting 1024) for
 * hostile input.  After a lexical error the input is skipped up to the
 * next structural or control character, as 7.2 resynchronises.
 * Extensions as 7.2's: single-quoted strings and the \' escape.
 * Context: any; not thread-safe.
 */
#ifndef UTIL_JSON_STREAM_H
#define UTIL_JSON_STREAM_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

typedef struct JsonStream JsonStream;

/*
 * Called once per message: @obj (owned by the callee) or @err (owned by
 * the callee), exactly one of them set.
 */
typedef void JsonStreamEmit(void *opaque, QObject *obj, Error *err);

JsonStream *json_stream_new(JsonStreamEmit *emit, void *opaque);
void json_stream_feed(JsonStream *js, const char *buf, size_t len);
/*
 * End of input: a number or keyword being read ends there, a string cut
 * short is stray, and a message still open is parsed (and so fails).
 */
void json_stream_flush(JsonStream *js);
/* Forget what was read so far (a QMP client went away). */
void json_stream_reset(JsonStream *js);
void json_stream_free(JsonStream *js);

#endif /* UTIL_JSON_STREAM_H */
