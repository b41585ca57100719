/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encrypted qcow2 images: what we do without decrypting.  Their data is
 * never read or written here, but `info` (a metadata-only open) shows
 * them as 7.2 does: the method, and for LUKS the header it keeps inside
 * the image, parsed and checked as 7.2's crypto layer checks it.  Every
 * other open is refused with 7.2's message when no key is named, and as
 * unsupported when one is.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

#define LUKS_HEADER_SIZE    592     /* up to the key slots' end */
#define LUKS_SLOTS          8
#define LUKS_SLOT_ENABLED   0x00AC71F3
#define LUKS_SLOT_DISABLED  0x0000DEAD
#define LUKS_STRIPES        4000
#define LUKS_SECTOR         512
/* key slot material starts after the first 4 KiB (8 sectors) */
#define LUKS_HEADER_SECTORS 8

static const struct {
    const char *name;
    unsigned sizes;             /* bit n: a key of 8 * n bytes exists */
} luks_ciphers[] = {
    { "aes", 1 << 2 | 1 << 3 | 1 << 4 },
    { "cast5", 1 << 2 },
    { "serpent", 1 << 2 | 1 << 3 | 1 << 4 },
    { "twofish", 1 << 2 | 1 << 3 | 1 << 4 },
};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(s, *list)) {
            return true;
        }
    }
    return false;
}

static const char *const luks_hashes[] = {
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160", NULL,
};

/* "aes-256" for a cipher and key length (xts keys are two keys). */
static char *luks_cipher_alg(const char *name, const char *mode,
                             uint32_t key_bytes, Error **errp)
{
    size_t i;

    if (!strcmp(mode, "xts")) {
        key_bytes /= 2;
    }
    for (i = 0; i < G_N_ELEMENTS(luks_ciphers); i++) {
        if (!strcmp(luks_ciphers[i].name, name) && key_bytes % 8 == 0 &&
            key_bytes <= 32 &&
            (luks_ciphers[i].sizes & (1u << (key_bytes / 8)))) {
            return g_strdup_printf("%s-%u", name, key_bytes * 8);
        }
    }
    error_setg(errp, "Algorithm '%s' with key size %d bytes not supported",
               name, (int)key_bytes);
    return NULL;
}

static uint32_t luks_split_sectors(uint32_t key_bytes, uint32_t stripes)
{
    uint64_t sectors = DIV_ROUND_UP((uint64_t)key_bytes * stripes,
                                    LUKS_SECTOR);

    return ROUND_UP(sectors, LUKS_HEADER_SECTORS);
}

/* 7.2's sanity checks of a LUKS header (@h: LUKS_HEADER_SIZE bytes). */
static bool luks_check(const uint8_t *h, Error **errp)
{
    uint32_t key_bytes = ldl_be_p(h + 108), payload = ldl_be_p(h + 104);
    int i, j;

    if (memcmp(h, "LUKS\xba\xbe", 6)) {
        error_setg(errp, "Volume is not in LUKS format");
        return false;
    }
    if (lduw_be_p(h + 6) != 1) {
        error_setg(errp, "LUKS version %u is not supported", lduw_be_p(h + 6));
        return false;
    }
    if (!memchr(h + 8, 0, 32) || !memchr(h + 40, 0, 32) ||
        !memchr(h + 72, 0, 32)) {
        error_setg(errp, "LUKS header %s is not NUL terminated",
                   !memchr(h + 8, 0, 32) ? "cipher name" :
                   !memchr(h + 40, 0, 32) ? "cipher mode" : "hash spec");
        return false;
    }
    if (payload < LUKS_HEADER_SECTORS) {
        error_setg(errp, "LUKS payload is overlapping with the header");
        return false;
    }
    if (!ldl_be_p(h + 164)) {
        error_setg(errp, "LUKS key iteration count is zero");
        return false;
    }
    for (i = 0; i < LUKS_SLOTS; i++) {
        const uint8_t *sl = h + 208 + 48 * i;
        uint32_t active = ldl_be_p(sl), start = ldl_be_p(sl + 40);
        uint32_t stripes = ldl_be_p(sl + 44);
        uint64_t len = luks_split_sectors(key_bytes, stripes);

        if (stripes != LUKS_STRIPES) {
            error_setg(errp, "Keyslot %d is corrupted (stripes %d != %d)", i,
                       (int)stripes, LUKS_STRIPES);
            return false;
        }
        if (active != LUKS_SLOT_ENABLED && active != LUKS_SLOT_DISABLED) {
            error_setg(errp, "Keyslot %d state (active/disable) is corrupted",
                       i);
            return false;
        }
        if (active == LUKS_SLOT_ENABLED && !ldl_be_p(sl + 4)) {
            error_setg(errp, "Keyslot %d iteration count is zero", i);
            return false;
        }
        if (start < LUKS_HEADER_SECTORS) {
            error_setg(errp, "Keyslot %d is overlapping with the LUKS header",
                       i);
            return false;
        }
        if (start + len > payload) {
            error_setg(errp, "Keyslot %d is overlapping with the encrypted "
                       "payload", i);
            return false;
        }
        for (j = i + 1; j < LUKS_SLOTS; j++) {
            const uint8_t *s2 = h + 208 + 48 * j;
            uint64_t start2 = ldl_be_p(s2 + 40);
            uint64_t len2 = luks_split_sectors(key_bytes, ldl_be_p(s2 + 44));

            if (start + len > start2 && start2 + len2 > start) {
                error_setg(errp, "Keyslots %d and %d are overlapping in the "
                           "header", i, j);
                return false;
            }
        }
    }
    return true;
}

/* What 7.2's info shows of a checked LUKS header; NULL + @errp if bad. */
static QDict *luks_info(const uint8_t *h, Error **errp)
{
    static const char *const ivgens[] = { "plain", "plain64", "essiv", NULL };
    static const char *const modes[] = { "ecb", "cbc", "xts", "ctr", NULL };
    g_autofree char *mode = g_strndup((const char *)h + 40, 32);
    g_autofree char *alg = NULL;
    g_autofree char *full_mode = g_strdup(mode);
    g_autofree char *uuid = NULL;
    const char *hash = (const char *)h + 72;
    char *ivgen, *ivhash;
    QDict *info;
    QObject *slots;
    int i;

    ivgen = strchr(mode, '-');
    if (!ivgen) {
        error_setg(errp, "Unexpected cipher mode string format '%s'",
                   full_mode);
        return NULL;
    }
    *ivgen++ = '\0';
    ivhash = strchr(ivgen, ':');
    if (ivhash) {
        *ivhash++ = '\0';
        if (!in_list(ivhash, luks_hashes)) {
            error_setg(errp, "Hash algorithm '%s' not supported", ivhash);
            return NULL;
        }
    }
    if (!in_list(mode, modes)) {
        error_setg(errp, "Cipher mode '%s' not supported", mode);
        return NULL;
    }
    alg = luks_cipher_alg((const char *)h + 8, mode, ldl_be_p(h + 108), errp);
    if (!alg) {
        return NULL;
    }
    if (!in_list(hash, luks_hashes)) {
        error_setg(errp, "Hash algorithm '%s' not supported", hash);
        return NULL;
    }
    if (!in_list(ivgen, ivgens)) {
        error_setg(errp, "IV generator '%s' not supported", ivgen);
        return NULL;
    }
    if (!strcmp(ivgen, "essiv") && !ivhash) {
        error_setg(errp, "Missing IV generator hash specification");
        return NULL;
    }
    info = qdict_new();
    qdict_put_str(info, "format", "luks");
    qdict_put_str(info, "cipher-alg", alg);
    qdict_put_str(info, "cipher-mode", mode);
    qdict_put_str(info, "ivgen-alg", ivgen);
    if (!strcmp(ivgen, "essiv")) {
        qdict_put_str(info, "ivgen-hash-alg", ivhash);
    }
    qdict_put_str(info, "hash-alg", hash);
    qdict_put_int(info, "payload-offset",
                  (int64_t)ldl_be_p(h + 104) * LUKS_SECTOR);
    qdict_put_int(info, "master-key-iters", ldl_be_p(h + 164));
    uuid = g_strndup((const char *)h + 168, 40);
    qdict_put_str(info, "uuid", uuid);
    slots = qlist_new();
    for (i = 0; i < LUKS_SLOTS; i++) {
        const uint8_t *sl = h + 208 + 48 * i;
        QDict *d = qdict_new();
        bool active = ldl_be_p(sl) == LUKS_SLOT_ENABLED;

        qdict_put_bool(d, "active", active);
        if (active) {
            qdict_put_int(d, "iters", ldl_be_p(sl + 4));
            qdict_put_int(d, "stripes", ldl_be_p(sl + 44));
        }
        qdict_put_int(d, "key-offset", (int64_t)ldl_be_p(sl + 40) *
                                       LUKS_SECTOR);
        qlist_append(slots, d);
    }
    qdict_put_obj(info, "slots", slots);
    return info;
}

bool qcow2_crypto_header_ext(BDRVQcow2State *s, const uint8_t *data,
                             uint32_t len, Error **errp)
{
    if (s->crypt_method != QCOW_CRYPT_LUKS) {
        error_setg(errp, "CRYPTO header extension only expected with LUKS "
                   "encryption method");
        return false;
    }
    if (len != 16) {
        error_setg(errp, "CRYPTO header extension size %" PRIu32 ", but "
                   "expected size 16", len);
        return false;
    }
    s->crypto_header_offset = ldq_be_p(data);
    s->crypto_header_length = ldq_be_p(data + 8);
    if (s->crypto_header_offset % s->cluster_size) {
        error_setg(errp, "Encryption header offset '%" PRIu64 "' is not a "
                   "multiple of cluster size '%" PRIu64 "'",
                   s->crypto_header_offset, (uint64_t)s->cluster_size);
        return false;
    }
    s->has_crypto_header = true;
    return true;
}

bool qcow2_crypto_take_options(BDRVQcow2State *s, QDict *options,
                               bool *has_key, Error **errp)
{
    g_autofree char *fmt = bdrv_opt_take_str(options, "encrypt.format");
    g_autofree char *key = bdrv_opt_take_str(options, "encrypt.key-secret");
    const char *method = s->crypt_method == QCOW_CRYPT_AES ? "aes" : "luks";
    size_t i;

    for (i = 0; i < qdict_size(options);) {
        if (g_str_has_prefix(qdict_key_at(options, i), "encrypt.")) {
            qdict_del(options, qdict_key_at(options, i));
        } else {
            i++;
        }
    }
    *has_key = key != NULL;
    if (!s->crypt_method && fmt) {
        error_setg(errp, "No encryption in image header, but options "
                   "specified format '%s'", fmt);
        return false;
    }
    if (s->crypt_method && fmt && strcmp(fmt, method)) {
        error_setg(errp, "Header reported '%s' encryption format but options "
                   "specify '%s'", method, fmt);
        return false;
    }
    return true;
}

bool coroutine_fn qcow2_crypto_open(BlockDriverState *bs, int flags,
                                    bool has_key, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t h[LUKS_HEADER_SIZE];
    int ret;

    if (!s->crypt_method) {
        return true;
    }
    if (!(flags & BDRV_O_NO_IO) && !has_key) {
        error_setg(errp, "Parameter 'encrypt.key-secret' is required for "
                   "cipher");
        return false;
    }
    if (s->crypt_method == QCOW_CRYPT_LUKS && s->has_crypto_header) {
        if (s->crypto_header_length < sizeof(h)) {
            error_setg(errp, "Request for data outside of extension header");
            return false;
        }
        ret = bdrv_co_pread(bs->file, s->crypto_header_offset, sizeof(h), h,
                            0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read encryption header");
            return false;
        }
        if (!luks_check(h, errp)) {
            return false;
        }
        s->crypto_info = luks_info(h, errp);
        if (!s->crypto_info) {
            return false;
        }
    } else if (s->crypt_method == QCOW_CRYPT_AES) {
        s->crypto_info = qdict_new();
        qdict_put_str(s->crypto_info, "format", "aes");
    } else if (!(flags & BDRV_O_NO_IO)) {
        error_setg(errp, "Missing CRYPTO header for crypt method %" PRIu32,
                   s->crypt_method);
        return false;
    }
    if (!(flags & BDRV_O_NO_IO)) {
        /* a key was named: decrypting is what we do not do */
        error_setg(errp, "Encrypted images are not supported");
        return false;
    }
    return true;
}
