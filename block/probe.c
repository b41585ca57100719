/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Format probing: the score QEMU 7.2 gives the first 512 bytes of an
 * image for every format it probes, ours (through their drivers' probe)
 * and those we do not read (here), so that a vmdk, vdi or LUKS image is
 * refused by name rather than taken for raw and copied as its container's
 * bytes.  The magic numbers and conditions are 7.2's, each format's.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/bswap.h"

/* qcow (version 1): 48-byte header, magic and version 1 */
static int probe_qcow(const uint8_t *buf, int size, const char *filename)
{
    return size >= 48 && ldl_be_p(buf) == 0x514649fb &&
           ldl_be_p(buf + 4) == 1 ? 100 : 0;
}

/* vmdk: a sparse extent's magic, or a text descriptor's version line */
static int probe_vmdk(const uint8_t *buf, int size, const char *filename)
{
    const char *p = (const char *)buf, *end = p + size;
    static const char *const versions[] = {
        "version=1\n", "version=2\n", "version=3\n",
        "version=1\r\n", "version=2\r\n", "version=3\r\n",
    };
    size_t i;

    if (size < 4) {
        return 0;
    }
    if (!memcmp(buf, "COWD", 4) || !memcmp(buf, "KDMV", 4)) {
        return 100;
    }
    while (p < end) {
        if (*p == '#') {                /* a comment line */
            while (p < end && *p != '\n') {
                p++;
            }
            p++;
            continue;
        }
        if (*p == ' ') {                /* blank lines only, then version= */
            while (p < end && *p == ' ') {
                p++;
            }
            if (p < end && *p == '\r') {
                p++;
            }
            if (p == end || *p != '\n') {
                return 0;
            }
            p++;
            continue;
        }
        for (i = 0; i < G_N_ELEMENTS(versions); i++) {
            size_t n = strlen(versions[i]);
            if ((size_t)(end - p) >= n && !strncmp(p, versions[i], n)) {
                return 100;
            }
        }
        return 0;
    }
    return 0;
}

/* vdi: 512-byte header, signature 0xbeda107f (little endian) at 64 */
static int probe_vdi(const uint8_t *buf, int size, const char *filename)
{
    return size >= 512 && ldl_le_p(buf + 64) == 0xbeda107f ? 100 : 0;
}

/* vpc (VHD): the footer copy's cookie at the start */
static int probe_vpc(const uint8_t *buf, int size, const char *filename)
{
    return size >= 8 && !strncmp((const char *)buf, "conectix", 8) ? 100 : 0;
}

static int probe_vhdx(const uint8_t *buf, int size, const char *filename)
{
    return size >= 8 && !memcmp(buf, "vhdxfile", 8) ? 100 : 0;
}

/* qed: 64-byte header, magic "QED\0" (little endian) */
static int probe_qed(const uint8_t *buf, int size, const char *filename)
{
    return size >= 64 && ldl_le_p(buf) == 0x00444551 ? 100 : 0;
}

/* parallels: 64-byte header, either magic, version 2 */
static int probe_parallels(const uint8_t *buf, int size,
                           const char *filename)
{
    return size >= 64 && (!memcmp(buf, "WithoutFreeSpace", 16) ||
                          !memcmp(buf, "WithouFreSpacExt", 16)) &&
           ldl_le_p(buf + 16) == 2 ? 100 : 0;
}

/* luks: magic "LUKS\xba\xbe" and version 1 (big endian) */
static int probe_luks(const uint8_t *buf, int size, const char *filename)
{
    return size >= 8 && !memcmp(buf, "LUKS\xba\xbe", 6) &&
           lduw_be_p(buf + 6) == 1 ? 100 : 0;
}

/* dmg: by the file name alone, weakly */
static int probe_dmg(const uint8_t *buf, int size, const char *filename)
{
    size_t len = filename ? strlen(filename) : 0;

    return len > 4 && !strcmp(filename + len - 4, ".dmg") ? 2 : 0;
}

/* bochs: NUL-terminated magic, type and subtype, version 1 or 2 */
static int probe_bochs(const uint8_t *buf, int size, const char *filename)
{
    uint32_t version;

    if (size < 512) {
        return 0;
    }
    version = ldl_le_p(buf + 64);
    return !strcmp((const char *)buf, "Bochs Virtual HD Image") &&
           !strcmp((const char *)buf + 32, "Redolog") &&
           !strcmp((const char *)buf + 48, "Growing") &&
           (version == 0x00020000 || version == 0x00010000) ? 100 : 0;
}

/* cloop: the start of its shell header, weakly */
static int probe_cloop(const uint8_t *buf, int size, const char *filename)
{
    static const char magic[] = "#!/bin/sh\n#V2.0 Format\n"
        "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
    int len = MIN((int)strlen(magic), size);

    return !memcmp(magic, buf, len) ? 2 : 0;
}

static const struct {
    const char *name;
    int (*probe)(const uint8_t *buf, int size, const char *filename);
} foreign_formats[] = {
    { "qcow", probe_qcow },
    { "vmdk", probe_vmdk },
    { "vdi", probe_vdi },
    { "vpc", probe_vpc },
    { "vhdx", probe_vhdx },
    { "qed", probe_qed },
    { "parallels", probe_parallels },
    { "luks", probe_luks },
    { "dmg", probe_dmg },
    { "bochs", probe_bochs },
    { "cloop", probe_cloop },
};

const char *bdrv_probe_format(const uint8_t *buf, int size,
                              const char *filename, const BlockDriver **drv)
{
    const char *best = NULL;
    int best_score = 0, score;
    size_t i;

    *drv = NULL;
    for (i = 0; bdrv_drivers[i]; i++) {
        if (bdrv_drivers[i]->probe) {
            score = bdrv_drivers[i]->probe(buf, size, filename);
            if (score > best_score) {
                best_score = score;
                *drv = bdrv_drivers[i];
                best = bdrv_drivers[i]->format_name;
            }
        }
    }
    for (i = 0; i < G_N_ELEMENTS(foreign_formats); i++) {
        score = foreign_formats[i].probe(buf, size, filename);
        if (score > best_score) {
            best_score = score;
            *drv = NULL;
            best = foreign_formats[i].name;
        }
    }
    return best;
}

bool bdrv_format_is_foreign(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(foreign_formats); i++) {
        if (!strcmp(foreign_formats[i].name, name)) {
            return true;
        }
    }
    return false;
}
