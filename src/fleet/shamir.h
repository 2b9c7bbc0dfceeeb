/* mote fleet: Shamir t-of-n secret sharing over GF(2^8), byte by byte.
 *
 * Used by secure aggregation (secagg.h) so that the server can rebuild the
 * key-agreement secret of a device that dropped out after masking, from
 * any t of the shares its peers hold, while t - 1 shares reveal nothing
 * about it (each byte is a random polynomial of degree t - 1 with the
 * secret byte at x = 0; Shamir, "How to share a secret", CACM 1979).
 *
 * A share is 1 + len bytes: its x coordinate (1..255, never 0) followed by
 * the polynomial's value at x for each secret byte. Field: GF(2^8) with
 * the AES polynomial x^8 + x^4 + x^3 + x + 1; multiplication is a
 * branch-free shift-and-add, so timing does not depend on the bytes. */
#ifndef MOTE_SHAMIR_H
#define MOTE_SHAMIR_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_SHAMIR_MAX_SHARES 255u
#define MOTE_SHAMIR_MAX_SECRET 1024u /* bytes per secret */

/* Product of a and b in GF(2^8). */
uint8_t mote_shamir_gf_mul(uint8_t a, uint8_t b);

/* Split secret[0..len) into n shares, any t of which rebuild it, written
 * to shares[i * (len + 1) ..] with x = i + 1 (caller buffer of
 * n * (len + 1) bytes). rnd holds (t - 1) * len uniformly random bytes for
 * the coefficients, or is NULL to draw them from libsodium's
 * randombytes_buf (tests pass fixed bytes to get fixed shares).
 * Errors: MOTE_ERR_ARG (NULL, len 0 or > MOTE_SHAMIR_MAX_SECRET,
 * t < 1, t > n, n > MOTE_SHAMIR_MAX_SHARES). */
mote_status_t mote_shamir_split(const uint8_t *secret, size_t len, uint32_t t, uint32_t n,
                                const uint8_t *rnd, uint8_t *shares);

/* Rebuild the secret from k shares (each 1 + len bytes, packed one after
 * the other in shares) by Lagrange interpolation at x = 0, into
 * secret[0..len). With k >= t shares of one split the result is the
 * secret; with fewer it is unrelated bytes (no error can tell).
 * Errors: MOTE_ERR_ARG (NULL, k 0 or > MOTE_SHAMIR_MAX_SHARES, len out of
 * range), MOTE_ERR_CORRUPT (an x of 0, or two shares with the same x). */
mote_status_t mote_shamir_combine(const uint8_t *shares, uint32_t k, size_t len,
                                  uint8_t *secret);

#ifdef __cplusplus
}
#endif
#endif
