/* mote fleet: secure aggregation by pairwise additive masking (after
 * Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning", CCS 2017), for federated updates that are vectors of
 * 32-bit integers added mod 2^32.
 *
 * Per round, each participant i has an X25519 key pair (pk_i, sk_i) and a
 * 32-bit id. For every pair i, j the two devices agree on a seed
 *   s_ij = BLAKE2b-256("mote-secagg-v1" || X25519(sk_i, pk_j) || pk_lo ||
 *                      pk_hi || round)
 * (pk_lo < pk_hi bytewise, so both ends compute the same bytes) and expand
 * it into a mask m_ij of n words with the ChaCha20 keystream
 * (crypto_stream_chacha20, key s_ij, nonce bytes 0-3 = round
 * little-endian, byte 4 = 0; words little-endian). Device i uploads
 *   y_i = x_i + p_i + sum_{j: id_i < id_j} m_ij - sum_{j: id_i > id_j} m_ij
 * (mod 2^32, p_i its self mask, below). Each pair mask appears once with +
 * and once with -, so the sum of all y_i is the sum of all x_i plus the
 * self masks, while one y_i alone is x_i plus keystreams the server cannot
 * compute: uniformly distributed words.
 *
 * Double masking. Each device also draws a secret self seed b_i and adds
 * its own mask p_i (ChaCha20 keystream of b_i, nonce byte 4 = 1)
 * to y_i; it publishes the commitment BLAKE2b-256("mote-secagg-self" ||
 * b_i) with its public key. Before masking, each device splits both sk_i
 * and b_i t-of-n (shamir.h) among its peers. After the deadline:
 *   - for each survivor s, any t survivors reveal their shares of b_s; the
 *     server rebuilds b_s (checked against the commitment) and subtracts
 *     p_s (mote_secagg_self_mask_add with sign -1; mote_fed_round_unmask_self);
 *   - for each device d that masked but never uploaded, any t survivors
 *     reveal their shares of sk_d; the server rebuilds sk_d (checked
 *     against pk_d) and removes d's pair masks with every survivor
 *     (mote_secagg_unmask_dropped).
 * An honest device reveals, per round and per peer, only one of the two
 * (b-shares for peers on the survivor list the server announces, sk-shares
 * for the others), so a server that falsely declares a device dropped
 * learns its pair masks but still faces its self mask: a single upload
 * stays hidden even then.
 *
 * Keys are per round: reusing a key pair across rounds is safe for the
 * masks (the round is in the seed and nonce) but a revealed key would
 * unmask that device's later rounds. */
#ifndef MOTE_SECAGG_H
#define MOTE_SECAGG_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_SECAGG_KEY_LEN 32u
#define MOTE_SECAGG_SHARE_LEN (1u + MOTE_SECAGG_KEY_LEN) /* x, then 32 bytes */

/* One participant's round secrets: X25519 key pair and self-mask seed.
 * sk and self stay on the device. */
typedef struct mote_secagg_keys {
    uint8_t pk[MOTE_SECAGG_KEY_LEN];
    uint8_t sk[MOTE_SECAGG_KEY_LEN];
    uint8_t self[MOTE_SECAGG_KEY_LEN];      /* b_i */
    uint8_t self_hash[MOTE_SECAGG_KEY_LEN]; /* its commitment, published */
} mote_secagg_keys_t;

/* A peer as the round's roster lists it: id, public key and self-seed
 * commitment. */
typedef struct mote_secagg_peer {
    uint32_t id;
    uint8_t pk[MOTE_SECAGG_KEY_LEN];
    uint8_t self_hash[MOTE_SECAGG_KEY_LEN];
} mote_secagg_peer_t;

/* Fresh key pair and self seed from libsodium's generator (seed NULL), or
 * derived from a 32-byte seed (tests, simulations). MOTE_ERR_ARG for NULL
 * k. */
mote_status_t mote_secagg_keygen(mote_secagg_keys_t *k, const uint8_t *seed);

/* The pair seed s_ij (above) from one end's secret and public keys and the
 * other end's public key. MOTE_ERR_ARG (NULL, pk_i == pk_j),
 * MOTE_ERR_VERIFY (the peer key is a low-order point: all-zero secret). */
mote_status_t mote_secagg_pair_seed(const uint8_t sk_i[MOTE_SECAGG_KEY_LEN],
                                    const uint8_t pk_i[MOTE_SECAGG_KEY_LEN],
                                    const uint8_t pk_j[MOTE_SECAGG_KEY_LEN], uint32_t round,
                                    uint8_t seed[MOTE_SECAGG_KEY_LEN]);

/* v[k] += sign * m[k] (mod 2^32) for the mask m expanded from seed; sign
 * is +1 or -1. Needs no memory beyond a small stack block. */
void mote_secagg_mask_add(uint32_t *v, size_t n, const uint8_t seed[MOTE_SECAGG_KEY_LEN],
                          uint32_t round, int sign);

/* v[k] += sign * p[k] (mod 2^32) for the self mask p expanded from b. */
void mote_secagg_self_mask_add(uint32_t *v, size_t n, const uint8_t b[MOTE_SECAGG_KEY_LEN],
                               uint32_t round, int sign);

/* Mask v[0..n) in place as device `me` (id my_id) among the round's
 * peers[0..n_peers) (which may include me: skipped by id): its self mask
 * plus its pair masks. Ids must be distinct. Errors: MOTE_ERR_ARG (NULL,
 * duplicate id), pair_seed's. On error v may be partly masked: do not
 * send it. */
mote_status_t mote_secagg_mask(uint32_t *v, size_t n, uint32_t my_id,
                               const mote_secagg_keys_t *me, const mote_secagg_peer_t *peers,
                               size_t n_peers, uint32_t round);

/* Remove from an aggregate sum[0..n) the pair masks between the dropped
 * device (id, public key, and secret key rebuilt from shares) and each
 * surviving device in survivors[0..n_survivors): adds exactly what the
 * dropped device would have added for those pairs. Errors as mask's. */
mote_status_t mote_secagg_unmask_dropped(uint32_t *sum, size_t n, uint32_t dropped_id,
                                         const uint8_t dropped_pk[MOTE_SECAGG_KEY_LEN],
                                         const uint8_t dropped_sk[MOTE_SECAGG_KEY_LEN],
                                         const mote_secagg_peer_t *survivors,
                                         size_t n_survivors, uint32_t round);

/* Split k->sk t-of-n: shares is n * MOTE_SECAGG_SHARE_LEN bytes; share i
 * goes to the i-th peer of the roster (encrypted to it in transit). rnd as
 * in mote_shamir_split ((t - 1) * 32 bytes or NULL). */
mote_status_t mote_secagg_share_key(const mote_secagg_keys_t *k, uint32_t t, uint32_t n,
                                    const uint8_t *rnd, uint8_t *shares);

/* Split k->self t-of-n, as mote_secagg_share_key. */
mote_status_t mote_secagg_share_self(const mote_secagg_keys_t *k, uint32_t t, uint32_t n,
                                     const uint8_t *rnd, uint8_t *shares);

/* Rebuild a self seed from k_shares shares and check it against its
 * commitment: MOTE_ERR_VERIFY when the shares were too few or tampered
 * with. */
mote_status_t mote_secagg_recover_self(const uint8_t *shares, uint32_t k_shares,
                                       const uint8_t self_hash[MOTE_SECAGG_KEY_LEN],
                                       uint8_t self[MOTE_SECAGG_KEY_LEN]);

/* Rebuild a secret key from k_shares shares (packed, MOTE_SECAGG_SHARE_LEN
 * each) and check it against the expected public key: MOTE_ERR_VERIFY when
 * the shares were too few or tampered with. */
mote_status_t mote_secagg_recover_key(const uint8_t *shares, uint32_t k_shares,
                                      const uint8_t pk[MOTE_SECAGG_KEY_LEN],
                                      uint8_t sk[MOTE_SECAGG_KEY_LEN]);

#ifdef __cplusplus
}
#endif
#endif
