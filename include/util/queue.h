/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intrusive lists in the BSD <sys/queue.h> style, for objects on the
 * request path (no allocation to link or unlink).  Header-only by design.
 *   QSLIST  singly linked, LIFO
 *   QSIMPLEQ singly linked with tail pointer, FIFO
 *   QTAILQ  doubly linked with tail, O(1) removal anywhere
 */
#ifndef UTIL_QUEUE_H
#define UTIL_QUEUE_H

#define QSLIST_HEAD(name, type) struct name { struct type *slh_first; }
#define QSLIST_ENTRY(type) struct { struct type *sle_next; }
#define QSLIST_INIT(head) ((head)->slh_first = NULL)
#define QSLIST_EMPTY(head) ((head)->slh_first == NULL)
#define QSLIST_FIRST(head) ((head)->slh_first)
#define QSLIST_NEXT(elm, field) ((elm)->field.sle_next)
#define QSLIST_INSERT_HEAD(head, elm, field) do {                     \
        (elm)->field.sle_next = (head)->slh_first;                    \
        (head)->slh_first = (elm);                                    \
    } while (0)
#define QSLIST_REMOVE_HEAD(head, field) do {                          \
        (head)->slh_first = (head)->slh_first->field.sle_next;        \
    } while (0)
#define QSLIST_FOREACH(var, head, field)                              \
    for ((var) = (head)->slh_first; (var); (var) = (var)->field.sle_next)

#define QSIMPLEQ_HEAD(name, type)                                     \
    struct name { struct type *sqh_first; struct type **sqh_last; }
#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }
#define QSIMPLEQ_ENTRY(type) struct { struct type *sqe_next; }
#define QSIMPLEQ_INIT(head) do {                                      \
        (head)->sqh_first = NULL;                                     \
        (head)->sqh_last = &(head)->sqh_first;                        \
    } while (0)
#define QSIMPLEQ_EMPTY(head) ((head)->sqh_first == NULL)
#define QSIMPLEQ_FIRST(head) ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field) ((elm)->field.sqe_next)
#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                   \
        (elm)->field.sqe_next = NULL;                                 \
        *(head)->sqh_last = (elm);                                    \
        (head)->sqh_last = &(elm)->field.sqe_next;                    \
    } while (0)
#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                   \
        if (((elm)->field.sqe_next = (head)->sqh_first) == NULL) {    \
            (head)->sqh_last = &(elm)->field.sqe_next;                \
        }                                                             \
        (head)->sqh_first = (elm);                                    \
    } while (0)
#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                        \
        if (((head)->sqh_first = (head)->sqh_first->field.sqe_next)   \
            == NULL) {                                                \
            (head)->sqh_last = &(head)->sqh_first;                    \
        }                                                             \
    } while (0)
/* Move all of @src to the front of @dst, leaving @src empty. */
#define QSIMPLEQ_PREPEND(dst, src) do {                               \
        if (!QSIMPLEQ_EMPTY(src)) {                                   \
            if (QSIMPLEQ_EMPTY(dst)) {                                \
                (dst)->sqh_last = (src)->sqh_last;                    \
            }                                                         \
            *(src)->sqh_last = (dst)->sqh_first;                      \
            (dst)->sqh_first = (src)->sqh_first;                      \
            QSIMPLEQ_INIT(src);                                       \
        }                                                             \
    } while (0)
/* Move all of @src to the end of @dst, leaving @src empty. */
#define QSIMPLEQ_CONCAT(dst, src) do {                                \
        if (!QSIMPLEQ_EMPTY(src)) {                                   \
            *(dst)->sqh_last = (src)->sqh_first;                      \
            (dst)->sqh_last = (src)->sqh_last;                        \
            QSIMPLEQ_INIT(src);                                       \
        }                                                             \
    } while (0)
#define QSIMPLEQ_FOREACH(var, head, field)                            \
    for ((var) = (head)->sqh_first; (var); (var) = (var)->field.sqe_next)

#define QTAILQ_HEAD(name, type)                                       \
    struct name { struct type *tqh_first; struct type **tqh_last; }
#define QTAILQ_HEAD_INITIALIZER(head) { NULL, &(head).tqh_first }
#define QTAILQ_ENTRY(type)                                            \
    struct { struct type *tqe_next; struct type **tqe_prev; }
#define QTAILQ_INIT(head) do {                                        \
        (head)->tqh_first = NULL;                                     \
        (head)->tqh_last = &(head)->tqh_first;                        \
    } while (0)
#define QTAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define QTAILQ_FIRST(head) ((head)->tqh_first)
#define QTAILQ_NEXT(elm, field) ((elm)->field.tqe_next)
#define QTAILQ_INSERT_TAIL(head, elm, field) do {                     \
        (elm)->field.tqe_next = NULL;                                 \
        (elm)->field.tqe_prev = (head)->tqh_last;                     \
        *(head)->tqh_last = (elm);                                    \
        (head)->tqh_last = &(elm)->field.tqe_next;                    \
    } while (0)
#define QTAILQ_INSERT_HEAD(head, elm, field) do {                     \
        if (((elm)->field.tqe_next = (head)->tqh_first) != NULL) {    \
            (head)->tqh_first->field.tqe_prev = &(elm)->field.tqe_next; \
        } else {                                                      \
            (head)->tqh_last = &(elm)->field.tqe_next;                \
        }                                                             \
        (head)->tqh_first = (elm);                                    \
        (elm)->field.tqe_prev = &(head)->tqh_first;                   \
    } while (0)
#define QTAILQ_INSERT_BEFORE(listelm, elm, field) do {                \
        (elm)->field.tqe_prev = (listelm)->field.tqe_prev;            \
        (elm)->field.tqe_next = (listelm);                            \
        *(listelm)->field.tqe_prev = (elm);                           \
        (listelm)->field.tqe_prev = &(elm)->field.tqe_next;           \
    } while (0)
#define QTAILQ_REMOVE(head, elm, field) do {                          \
        if ((elm)->field.tqe_next != NULL) {                          \
            (elm)->field.tqe_next->field.tqe_prev =                   \
                (elm)->field.tqe_prev;                                \
        } else {                                                      \
            (head)->tqh_last = (elm)->field.tqe_prev;                 \
        }                                                             \
        *(elm)->field.tqe_prev = (elm)->field.tqe_next;               \
        (elm)->field.tqe_prev = NULL;                                 \
    } while (0)
#define QTAILQ_IN_USE(elm, field) ((elm)->field.tqe_prev != NULL)
#define QTAILQ_FOREACH(var, head, field)                              \
    for ((var) = (head)->tqh_first; (var); (var) = (var)->field.tqe_next)
#define QTAILQ_FOREACH_SAFE(var, head, field, next)                   \
    for ((var) = (head)->tqh_first;                                   \
         (var) && ((next) = (var)->field.tqe_next, 1);                \
         (var) = (next))

#endif /* UTIL_QUEUE_H */
