/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The driver registry: one explicit list, so grep finds every driver.
 * Optional drivers appear under their CONFIG_ symbol.
 */
#include "util/osdep.h"
#include "block/driver.h"

#include <sys/stat.h>

const BlockDriver *const bdrv_drivers[] = {
    &bdrv_qcow2,
    &bdrv_raw,
    &bdrv_file,
    &bdrv_host_device,
    &bdrv_host_cdrom,
    &bdrv_blkdebug,
    &bdrv_copy_on_read,
    &bdrv_compress,
    &bdrv_null_aio,
    &bdrv_null_co,
#ifdef CONFIG_LIBNFS
    &bdrv_nfs,
#endif
#ifdef CONFIG_LIBISCSI
    &bdrv_iscsi,
#endif
#ifdef CONFIG_LIBNBD
    &bdrv_nbd,
    &bdrv_nbd_tcp,
    &bdrv_nbd_unix,
#endif
    NULL,
};

const BlockDriver *bdrv_find_format(const char *format_name)
{
    size_t i;

    for (i = 0; bdrv_drivers[i]; i++) {
        if (!strcmp(bdrv_drivers[i]->format_name, format_name)) {
            return bdrv_drivers[i];
        }
    }
    return NULL;
}

const BlockDriver *bdrv_find_protocol(const char *filename, Error **errp)
{
    const char *colon = strchr(filename, ':');
    const char *slash = strchr(filename, '/');
    g_autofree char *scheme = NULL;
    struct stat st;
    size_t i;

    /*
     * A block or character device is host_device's, as in QEMU, whose
     * device names may hold colons (udev's persistent names do).
     */
    if (stat(filename, &st) == 0 && (S_ISBLK(st.st_mode) ||
                                     S_ISCHR(st.st_mode))) {
        return &bdrv_host_device;
    }
    /* A path, or "a:b" where a '/' comes before the ':', is a file. */
    if (!colon || (slash && slash < colon)) {
        return &bdrv_file;
    }
    scheme = g_strndup(filename, colon - filename);
    for (i = 0; bdrv_drivers[i]; i++) {
        if (bdrv_drivers[i]->protocol_name &&
            !strcmp(bdrv_drivers[i]->protocol_name, scheme)) {
            return bdrv_drivers[i];
        }
    }
    error_setg(errp, "Unknown protocol '%s'", scheme);
    return NULL;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    size_t i;

    for (i = 0; bdrv_drivers[i]; i++) {
        g_ptr_array_add(names, (gpointer)bdrv_drivers[i]->format_name);
    }
    g_ptr_array_sort(names, cmp_str);
    for (i = 0; i < names->len; i++) {
        /* a format several drivers serve (nbd: tcp, unix) is named once */
        if (i == 0 || strcmp(g_ptr_array_index(names, i),
                             g_ptr_array_index(names, i - 1))) {
            it(opaque, g_ptr_array_index(names, i));
        }
    }
}
