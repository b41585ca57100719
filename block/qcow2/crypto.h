/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 crypto: the interface of crypto.c (encrypted images, without decrypting).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_CRYPTO_H
#define BLOCK_QCOW2_CRYPTO_H

/* The crypto header extension's offset and length, checked as 7.2. */
bool qcow2_crypto_header_ext(BDRVQcow2State *s, const uint8_t *data,
                             uint32_t len, Error **errp);
/* Take the "encrypt.*" open options; *@has_key: a key secret was named. */
bool qcow2_crypto_take_options(BDRVQcow2State *s, QDict *options,
                               bool *has_key, Error **errp);
/*
 * An encrypted image: metadata-only opens read what info shows (the LUKS
 * header, checked); any other open fails with 7.2's message for a missing
 * key, or as unsupported.  True for images without encryption.
 */
bool coroutine_fn qcow2_crypto_open(BlockDriverState *bs, int flags,
                                    bool has_key, Error **errp);

#endif /* BLOCK_QCOW2_CRYPTO_H */
