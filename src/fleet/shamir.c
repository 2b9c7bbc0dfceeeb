/* mote fleet: Shamir secret sharing over GF(2^8) (see shamir.h). */
#include "shamir.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

uint8_t mote_shamir_gf_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    for (int i = 0; i < 8; i++) {
        /* Masks instead of branches keep the time independent of the bytes. */
        p ^= (uint8_t)(-(b & 1u) & a);
        uint8_t hi = (uint8_t)(-(a >> 7) & 0x1bu);
        a = (uint8_t)((a << 1) ^ hi);
        b >>= 1;
    }
    return p;
}

/* a^254 = a^-1 for a != 0 (the multiplicative group has order 255). */
static uint8_t gf_inv(uint8_t a)
{
    uint8_t r = 1, base = a;
    for (unsigned e = 254; e; e >>= 1) {
        if (e & 1u)
            r = mote_shamir_gf_mul(r, base);
        base = mote_shamir_gf_mul(base, base);
    }
    return r;
}

/* Horner evaluation of secret byte s with coefficients c[0..deg) at x. */
static uint8_t poly_eval(uint8_t s, const uint8_t *c, size_t stride, uint32_t deg, uint8_t x)
{
    uint8_t y = 0;
    for (uint32_t k = deg; k > 0; k--)
        y = (uint8_t)(mote_shamir_gf_mul(y, x) ^ c[(size_t)(k - 1) * stride]);
    return (uint8_t)(mote_shamir_gf_mul(y, x) ^ s);
}

mote_status_t mote_shamir_split(const uint8_t *secret, size_t len, uint32_t t, uint32_t n,
                                const uint8_t *rnd, uint8_t *shares)
{
    if (!secret || !shares || len == 0 || len > MOTE_SHAMIR_MAX_SECRET || t < 1 || t > n ||
        n > MOTE_SHAMIR_MAX_SHARES)
        return MOTE_ERR_ARG;
    uint8_t coef[(MOTE_SHAMIR_MAX_SHARES - 1) * 32];
    const size_t need = (size_t)(t - 1) * len;
    /* Coefficients for the whole secret at once when they fit, else byte by
     * byte column: either way every byte gets its own random polynomial. */
    uint8_t *own = NULL;
    const uint8_t *c = rnd;
    if (!c && need > 0) {
        own = need <= sizeof coef ? coef : malloc(need);
        if (!own)
            return MOTE_ERR_NOMEM;
        randombytes_buf(own, need);
        c = own;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *sh = shares + (size_t)i * (len + 1);
        sh[0] = (uint8_t)(i + 1);
        for (size_t b = 0; b < len; b++)
            sh[1 + b] = poly_eval(secret[b], c ? c + b : NULL, len, t - 1, sh[0]);
    }
    if (own) {
        sodium_memzero(own, need);
        if (own != coef)
            free(own);
    }
    return MOTE_OK;
}

/* Lagrange basis value at 0 of share i among the k x coordinates. */
static uint8_t basis_at_zero(const uint8_t *shares, uint32_t k, size_t len, uint32_t i)
{
    const uint8_t xi = shares[(size_t)i * (len + 1)];
    uint8_t num = 1, den = 1;
    for (uint32_t j = 0; j < k; j++) {
        if (j == i)
            continue;
        const uint8_t xj = shares[(size_t)j * (len + 1)];
        num = mote_shamir_gf_mul(num, xj);
        den = mote_shamir_gf_mul(den, (uint8_t)(xj ^ xi));
    }
    return mote_shamir_gf_mul(num, gf_inv(den));
}

mote_status_t mote_shamir_combine(const uint8_t *shares, uint32_t k, size_t len,
                                  uint8_t *secret)
{
    if (!shares || !secret || k == 0 || k > MOTE_SHAMIR_MAX_SHARES || len == 0 ||
        len > MOTE_SHAMIR_MAX_SECRET)
        return MOTE_ERR_ARG;
    uint8_t seen[256] = {0};
    for (uint32_t i = 0; i < k; i++) {
        const uint8_t x = shares[(size_t)i * (len + 1)];
        if (x == 0 || seen[x])
            return MOTE_ERR_CORRUPT;
        seen[x] = 1;
    }
    memset(secret, 0, len);
    for (uint32_t i = 0; i < k; i++) {
        const uint8_t l = basis_at_zero(shares, k, len, i);
        const uint8_t *y = shares + (size_t)i * (len + 1) + 1;
        for (size_t b = 0; b < len; b++)
            secret[b] ^= mote_shamir_gf_mul(l, y[b]);
    }
    return MOTE_OK;
}
