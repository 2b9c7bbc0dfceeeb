/* mote fleet: pairwise additive masking for secure aggregation (see
 * secagg.h). */
#include "secagg.h"

#include <sodium.h>
#include <string.h>
#include "shamir.h"

#define MASK_BLOCK 64u /* words of keystream per ChaCha20 call */

static const uint8_t zeros[MASK_BLOCK * 4];

static void self_hash(const uint8_t b[MOTE_SECAGG_KEY_LEN], uint8_t h[MOTE_SECAGG_KEY_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, MOTE_SECAGG_KEY_LEN);
    crypto_generichash_update(&st, (const uint8_t *)"mote-secagg-self", 16);
    crypto_generichash_update(&st, b, MOTE_SECAGG_KEY_LEN);
    crypto_generichash_final(&st, h, MOTE_SECAGG_KEY_LEN);
}

mote_status_t mote_secagg_keygen(mote_secagg_keys_t *k, const uint8_t *seed)
{
    if (!k)
        return MOTE_ERR_ARG;
    if (seed) {
        crypto_generichash(k->sk, sizeof k->sk, seed, MOTE_SECAGG_KEY_LEN,
                           (const uint8_t *)"mote-secagg-sk", 14);
        crypto_generichash(k->self, sizeof k->self, seed, MOTE_SECAGG_KEY_LEN,
                           (const uint8_t *)"mote-secagg-b", 13);
    } else {
        randombytes_buf(k->sk, sizeof k->sk);
        randombytes_buf(k->self, sizeof k->self);
    }
    crypto_scalarmult_base(k->pk, k->sk);
    self_hash(k->self, k->self_hash);
    return MOTE_OK;
}

mote_status_t mote_secagg_pair_seed(const uint8_t sk_i[MOTE_SECAGG_KEY_LEN],
                                    const uint8_t pk_i[MOTE_SECAGG_KEY_LEN],
                                    const uint8_t pk_j[MOTE_SECAGG_KEY_LEN], uint32_t round,
                                    uint8_t seed[MOTE_SECAGG_KEY_LEN])
{
    if (!sk_i || !pk_i || !pk_j || !seed)
        return MOTE_ERR_ARG;
    const int c = memcmp(pk_i, pk_j, MOTE_SECAGG_KEY_LEN);
    if (c == 0)
        return MOTE_ERR_ARG;
    uint8_t shared[crypto_scalarmult_BYTES];
    if (crypto_scalarmult(shared, sk_i, pk_j) != 0)
        return MOTE_ERR_VERIFY;
    const uint8_t r[4] = {(uint8_t)round, (uint8_t)(round >> 8), (uint8_t)(round >> 16),
                          (uint8_t)(round >> 24)};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, MOTE_SECAGG_KEY_LEN);
    crypto_generichash_update(&st, (const uint8_t *)"mote-secagg-v1", 14);
    crypto_generichash_update(&st, shared, sizeof shared);
    crypto_generichash_update(&st, c < 0 ? pk_i : pk_j, MOTE_SECAGG_KEY_LEN);
    crypto_generichash_update(&st, c < 0 ? pk_j : pk_i, MOTE_SECAGG_KEY_LEN);
    crypto_generichash_update(&st, r, sizeof r);
    crypto_generichash_final(&st, seed, MOTE_SECAGG_KEY_LEN);
    sodium_memzero(shared, sizeof shared);
    return MOTE_OK;
}

/* Keystream words of seed added to v; `domain` (nonce byte 4) keeps pair
 * and self masks apart. */
static void stream_add(uint32_t *v, size_t n, const uint8_t *seed, uint32_t round, int sign,
                       uint8_t domain)
{
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {
        (uint8_t)round, (uint8_t)(round >> 8), (uint8_t)(round >> 16), (uint8_t)(round >> 24),
        domain};
    uint8_t ks[MASK_BLOCK * 4];
    for (size_t off = 0; off < n; off += MASK_BLOCK) {
        const size_t m = n - off < MASK_BLOCK ? n - off : MASK_BLOCK;
        /* Block b of the stream starts at byte 256 b: ChaCha20 with an
         * initial counter gives the same bytes as one long call. */
        crypto_stream_chacha20_xor_ic(ks, zeros, m * 4, nonce,
                                      (uint64_t)(off / MASK_BLOCK) * (MASK_BLOCK * 4 / 64), seed);
        for (size_t k = 0; k < m; k++) {
            const uint32_t w = (uint32_t)ks[4 * k] | (uint32_t)ks[4 * k + 1] << 8 |
                               (uint32_t)ks[4 * k + 2] << 16 | (uint32_t)ks[4 * k + 3] << 24;
            v[off + k] = sign > 0 ? v[off + k] + w : v[off + k] - w;
        }
    }
    sodium_memzero(ks, sizeof ks);
}

void mote_secagg_mask_add(uint32_t *v, size_t n, const uint8_t seed[MOTE_SECAGG_KEY_LEN],
                          uint32_t round, int sign)
{
    stream_add(v, n, seed, round, sign, 0);
}

void mote_secagg_self_mask_add(uint32_t *v, size_t n, const uint8_t b[MOTE_SECAGG_KEY_LEN],
                               uint32_t round, int sign)
{
    stream_add(v, n, b, round, sign, 1);
}

/* Add the pair masks of `self` (id, keys) with each listed peer. */
static mote_status_t add_pair_masks(uint32_t *v, size_t n, uint32_t self_id,
                                    const uint8_t *pk, const uint8_t *sk,
                                    const mote_secagg_peer_t *peers, size_t n_peers,
                                    uint32_t round)
{
    for (size_t j = 0; j < n_peers; j++) {
        if (peers[j].id == self_id)
            continue;
        for (size_t k = 0; k < j; k++)
            if (peers[k].id == peers[j].id)
                return MOTE_ERR_ARG;
        uint8_t seed[MOTE_SECAGG_KEY_LEN];
        mote_status_t s = mote_secagg_pair_seed(sk, pk, peers[j].pk, round, seed);
        if (s != MOTE_OK)
            return s;
        mote_secagg_mask_add(v, n, seed, round, self_id < peers[j].id ? +1 : -1);
        sodium_memzero(seed, sizeof seed);
    }
    return MOTE_OK;
}

mote_status_t mote_secagg_mask(uint32_t *v, size_t n, uint32_t my_id,
                               const mote_secagg_keys_t *me, const mote_secagg_peer_t *peers,
                               size_t n_peers, uint32_t round)
{
    if (!v || !me || (!peers && n_peers))
        return MOTE_ERR_ARG;
    mote_secagg_self_mask_add(v, n, me->self, round, +1);
    return add_pair_masks(v, n, my_id, me->pk, me->sk, peers, n_peers, round);
}

mote_status_t mote_secagg_unmask_dropped(uint32_t *sum, size_t n, uint32_t dropped_id,
                                         const uint8_t dropped_pk[MOTE_SECAGG_KEY_LEN],
                                         const uint8_t dropped_sk[MOTE_SECAGG_KEY_LEN],
                                         const mote_secagg_peer_t *survivors,
                                         size_t n_survivors, uint32_t round)
{
    if (!sum || !dropped_pk || !dropped_sk || (!survivors && n_survivors))
        return MOTE_ERR_ARG;
    return add_pair_masks(sum, n, dropped_id, dropped_pk, dropped_sk, survivors, n_survivors,
                          round);
}

mote_status_t mote_secagg_share_key(const mote_secagg_keys_t *k, uint32_t t, uint32_t n,
                                    const uint8_t *rnd, uint8_t *shares)
{
    if (!k)
        return MOTE_ERR_ARG;
    return mote_shamir_split(k->sk, MOTE_SECAGG_KEY_LEN, t, n, rnd, shares);
}

/* Both recovered secrets are checked the same way: combine the shares,
 * derive the public value the device announced, and refuse (wiping the
 * secret) when it differs, so a bad share cannot unmask the wrong words. */
typedef void (*derive_fn)(const uint8_t secret[MOTE_SECAGG_KEY_LEN], uint8_t out[MOTE_SECAGG_KEY_LEN]);

static void derive_pk(const uint8_t sk[MOTE_SECAGG_KEY_LEN], uint8_t pk[MOTE_SECAGG_KEY_LEN])
{
    crypto_scalarmult_base(pk, sk);
}

static mote_status_t recover_checked(const uint8_t *shares, uint32_t k_shares,
                                     const uint8_t expect[MOTE_SECAGG_KEY_LEN],
                                     uint8_t secret[MOTE_SECAGG_KEY_LEN], derive_fn derive)
{
    if (!expect || !secret)
        return MOTE_ERR_ARG;
    mote_status_t s = mote_shamir_combine(shares, k_shares, MOTE_SECAGG_KEY_LEN, secret);
    if (s != MOTE_OK)
        return s;
    uint8_t check[MOTE_SECAGG_KEY_LEN];
    derive(secret, check);
    if (sodium_memcmp(check, expect, sizeof check) != 0) {
        sodium_memzero(secret, MOTE_SECAGG_KEY_LEN);
        return MOTE_ERR_VERIFY;
    }
    return MOTE_OK;
}

mote_status_t mote_secagg_recover_key(const uint8_t *shares, uint32_t k_shares,
                                      const uint8_t pk[MOTE_SECAGG_KEY_LEN],
                                      uint8_t sk[MOTE_SECAGG_KEY_LEN])
{
    return recover_checked(shares, k_shares, pk, sk, derive_pk);
}

mote_status_t mote_secagg_share_self(const mote_secagg_keys_t *k, uint32_t t, uint32_t n,
                                     const uint8_t *rnd, uint8_t *shares)
{
    if (!k)
        return MOTE_ERR_ARG;
    return mote_shamir_split(k->self, MOTE_SECAGG_KEY_LEN, t, n, rnd, shares);
}

mote_status_t mote_secagg_recover_self(const uint8_t *shares, uint32_t k_shares,
                                       const uint8_t self_hash_in[MOTE_SECAGG_KEY_LEN],
                                       uint8_t self[MOTE_SECAGG_KEY_LEN])
{
    return recover_checked(shares, k_shares, self_hash_in, self, self_hash);
}
