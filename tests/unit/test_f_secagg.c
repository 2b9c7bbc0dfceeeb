/* Secure aggregation (src/fleet/secagg.c, shamir.c): GF(2^8) products from
 * FIPS-197; Shamir shares rebuild the secret from every t-subset and not
 * from t - 1; pair seeds agree at both ends; masks cancel exactly in the
 * sum; one masked update alone passes chi-square and per-bit uniformity
 * tests that the unmasked update fails; the sum without one device's
 * input, or with one pair left out, is not the plain sum; a dropped
 * device's key is rebuilt from t shares (not t - 1, not a tampered one)
 * and its masks removed; the self mask (double masking) still hides one
 * upload whose pair masks were all stripped with a revealed key, and a self
 * seed is rebuilt only from t shares matching its commitment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include "secagg.h"
#include "shamir.h"

#define P 16384u /* words per update in the statistics tests */
#define NDEV 5u

static void gf_mul_fips197(void **state)
{
    (void)state;
    /* FIPS-197 section 4.2 examples. */
    assert_int_equal(mote_shamir_gf_mul(0x57, 0x83), 0xc1);
    assert_int_equal(mote_shamir_gf_mul(0x57, 0x13), 0xfe);
    assert_int_equal(mote_shamir_gf_mul(0x57, 0x02), 0xae);
    for (unsigned a = 0; a < 256; a++) {
        assert_int_equal(mote_shamir_gf_mul((uint8_t)a, 1), a);
        assert_int_equal(mote_shamir_gf_mul((uint8_t)a, 0), 0);
    }
}

static void shamir_every_subset(void **state)
{
    (void)state;
    uint8_t secret[32], sh[6 * 33], pick[3 * 33], out[32];
    randombytes_buf(secret, sizeof secret);
    assert_int_equal(mote_shamir_split(secret, 32, 3, 6, NULL, sh), MOTE_OK);
    unsigned subsets = 0;
    for (unsigned a = 0; a < 6; a++)
        for (unsigned b = a + 1; b < 6; b++)
            for (unsigned c = b + 1; c < 6; c++) {
                memcpy(pick, sh + a * 33, 33), memcpy(pick + 33, sh + b * 33, 33);
                memcpy(pick + 66, sh + c * 33, 33);
                assert_int_equal(mote_shamir_combine(pick, 3, 32, out), MOTE_OK);
                assert_memory_equal(out, secret, 32);
                /* Two shares interpolate a line through the wrong point. */
                assert_int_equal(mote_shamir_combine(pick, 2, 32, out), MOTE_OK);
                assert_memory_not_equal(out, secret, 32);
                subsets++;
            }
    assert_int_equal(subsets, 20);
}

static void shamir_known_polynomial(void **state)
{
    (void)state;
    /* t = 2, coefficient 0x02: share(x) = s ^ 2x in GF(2^8). */
    const uint8_t s = 0x57, c = 0x02;
    uint8_t sh[3 * 2];
    assert_int_equal(mote_shamir_split(&s, 1, 2, 3, &c, sh), MOTE_OK);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sh[2 * i], i + 1);
        assert_int_equal(sh[2 * i + 1], 0x57 ^ mote_shamir_gf_mul(0x02, (uint8_t)(i + 1)));
    }
    sh[2] = sh[0]; /* duplicate x */
    uint8_t out;
    assert_int_equal(mote_shamir_combine(sh, 2, 1, &out), MOTE_ERR_CORRUPT);
    assert_int_equal(mote_shamir_split(&s, 1, 4, 3, NULL, sh), MOTE_ERR_ARG);
    assert_int_equal(mote_shamir_split(&s, 1, 0, 3, NULL, sh), MOTE_ERR_ARG);
}

static void keys(mote_secagg_keys_t *k, mote_secagg_peer_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1)};
        assert_int_equal(mote_secagg_keygen(&k[i], seed), MOTE_OK);
        p[i].id = 100 + i;
        memcpy(p[i].pk, k[i].pk, 32);
        memcpy(p[i].self_hash, k[i].self_hash, 32);
    }
}

static void pair_seed_symmetric(void **state)
{
    (void)state;
    mote_secagg_keys_t k[2];
    mote_secagg_peer_t p[2];
    keys(k, p, 2);
    uint8_t a[32], b[32], c[32];
    assert_int_equal(mote_secagg_pair_seed(k[0].sk, k[0].pk, k[1].pk, 7, a), MOTE_OK);
    assert_int_equal(mote_secagg_pair_seed(k[1].sk, k[1].pk, k[0].pk, 7, b), MOTE_OK);
    assert_memory_equal(a, b, 32);
    assert_int_equal(mote_secagg_pair_seed(k[0].sk, k[0].pk, k[1].pk, 8, c), MOTE_OK);
    assert_memory_not_equal(a, c, 32);
    assert_int_equal(mote_secagg_pair_seed(k[0].sk, k[0].pk, k[0].pk, 7, c), MOTE_ERR_ARG);
    const uint8_t zero[32] = {0}; /* low-order point: no shared secret */
    uint8_t pk0[32];
    memcpy(pk0, zero, 32);
    assert_int_equal(mote_secagg_pair_seed(k[0].sk, k[0].pk, pk0, 7, c), MOTE_ERR_VERIFY);
}

/* Chi-square statistic of the top 6 bits of n words over 64 bins. */
static double chi2_top6(const uint32_t *v, size_t n)
{
    double cnt[64] = {0};
    for (size_t i = 0; i < n; i++)
        cnt[v[i] >> 26]++;
    const double e = (double)n / 64.0;
    double x = 0;
    for (int b = 0; b < 64; b++)
        x += (cnt[b] - e) * (cnt[b] - e) / e;
    return x;
}

/* Largest deviation of any bit's frequency of ones from 1/2. */
static double bit_bias(const uint32_t *v, size_t n)
{
    double worst = 0;
    for (int b = 0; b < 32; b++) {
        size_t ones = 0;
        for (size_t i = 0; i < n; i++)
            ones += v[i] >> b & 1u;
        const double d = (double)ones / (double)n - 0.5;
        worst = d < 0 ? (-d > worst ? -d : worst) : (d > worst ? d : worst);
    }
    return worst;
}

typedef struct fleet {
    mote_secagg_keys_t k[NDEV];
    mote_secagg_peer_t p[NDEV];
    uint32_t *x[NDEV], *y[NDEV];
} fleet_t;

/* NDEV devices with small structured inputs (n * q, as real updates). */
static void fleet_masked(fleet_t *f, uint32_t round)
{
    keys(f->k, f->p, NDEV);
    for (unsigned i = 0; i < NDEV; i++) {
        f->x[i] = malloc(P * 4), f->y[i] = malloc(P * 4);
        assert_non_null(f->x[i]), assert_non_null(f->y[i]);
        for (uint32_t w = 0; w < P; w++)
            f->x[i][w] = (uint32_t)(int32_t)(((int)(w % 255) - 127) * (int)(i + 3));
        memcpy(f->y[i], f->x[i], P * 4);
        assert_int_equal(mote_secagg_mask(f->y[i], P, f->p[i].id, &f->k[i], f->p, NDEV, round),
                         MOTE_OK);
    }
}

static void fleet_free(fleet_t *f)
{
    for (unsigned i = 0; i < NDEV; i++)
        free(f->x[i]), free(f->y[i]);
}

static void masks_cancel_exactly(void **state)
{
    (void)state;
    fleet_t f;
    fleet_masked(&f, 3);
    uint32_t *sum = calloc(P, 4);
    assert_non_null(sum);
    for (unsigned i = 0; i < NDEV; i++)
        for (uint32_t w = 0; w < P; w++)
            sum[w] += f.y[i][w];
    /* Pair masks cancel; the self masks stay until their seeds are known. */
    size_t same = 0;
    for (uint32_t w = 0; w < P; w++) {
        uint32_t sx = 0;
        for (unsigned i = 0; i < NDEV; i++)
            sx += f.x[i][w];
        same += sum[w] == sx;
    }
    assert_true(same < 4);
    for (unsigned i = 0; i < NDEV; i++)
        mote_secagg_self_mask_add(sum, P, f.k[i].self, 3, -1);
    for (uint32_t w = 0; w < P; w++) {
        uint32_t sx = 0;
        for (unsigned i = 0; i < NDEV; i++)
            sx += f.x[i][w];
        assert_int_equal(sum[w], sx);
    }
    free(sum);
    fleet_free(&f);
}

static void one_update_looks_random(void **state)
{
    (void)state;
    fleet_t f;
    fleet_masked(&f, 3);
    /* 63 degrees of freedom: P(chi2 > 103.4) = 0.001 for uniform words. */
    for (unsigned i = 0; i < NDEV; i++) {
        assert_true(chi2_top6(f.y[i], P) < 103.4);
        assert_true(bit_bias(f.y[i], P) < 0.02); /* 4.5 sigma at n = 16384 */
    }
    /* The same tests reject the unmasked input: they have power. */
    assert_true(chi2_top6(f.x[0], P) > 1000.0);
    for (uint32_t w = 0; w < P; w++)
        f.x[0][w] = w % 255; /* small counts: the high bits never set */
    assert_true(bit_bias(f.x[0], P) > 0.4);
    fleet_free(&f);
}

static void unmasking_needs_every_pair(void **state)
{
    (void)state;
    fleet_t f;
    fleet_masked(&f, 3);
    /* Sum of four masked inputs vs their plain sum: the masks with the
     * fifth device remain, and the residual is itself uniform. */
    uint32_t *res = malloc(P * 4);
    assert_non_null(res);
    for (uint32_t w = 0; w < P; w++) {
        uint32_t sx = 0, sy = 0;
        for (unsigned i = 0; i < NDEV - 1; i++)
            sx += f.x[i][w], sy += f.y[i][w];
        res[w] = sy - sx;
    }
    for (unsigned i = 0; i < NDEV - 1; i++) /* as if their b were revealed */
        mote_secagg_self_mask_add(res, P, f.k[i].self, 3, -1);
    assert_true(chi2_top6(res, P) < 103.4);
    /* Removing all but one of the missing device's pair masks still fails. */
    uint8_t seed[32];
    for (unsigned j = 0; j < NDEV - 2; j++) {
        assert_int_equal(mote_secagg_pair_seed(f.k[NDEV - 1].sk, f.k[NDEV - 1].pk, f.p[j].pk, 3,
                                               seed), MOTE_OK);
        mote_secagg_mask_add(res, P, seed, 3, f.p[NDEV - 1].id < f.p[j].id ? +1 : -1);
    }
    size_t zero = 0;
    for (uint32_t w = 0; w < P; w++)
        zero += res[w] == 0;
    assert_true(zero < 4);
    /* With the last pair too, the residual vanishes. */
    assert_int_equal(mote_secagg_pair_seed(f.k[NDEV - 1].sk, f.k[NDEV - 1].pk, f.p[NDEV - 2].pk,
                                           3, seed), MOTE_OK);
    mote_secagg_mask_add(res, P, seed, 3, f.p[NDEV - 1].id < f.p[NDEV - 2].id ? +1 : -1);
    for (uint32_t w = 0; w < P; w++)
        assert_int_equal(res[w], 0);
    free(res);
    fleet_free(&f);
}

static void dropped_device_recovered(void **state)
{
    (void)state;
    fleet_t f;
    fleet_masked(&f, 9);
    const unsigned t = 3, d = 2; /* device 2 masked, then dropped */
    uint8_t sh[NDEV * MOTE_SECAGG_SHARE_LEN], pick[NDEV * MOTE_SECAGG_SHARE_LEN], sk[32];
    assert_int_equal(mote_secagg_share_key(&f.k[d], t, NDEV, NULL, sh), MOTE_OK);
    /* Survivors 0, 3, 4 reveal their shares of sk_2. */
    const unsigned from[3] = {0, 3, 4};
    for (unsigned i = 0; i < t; i++)
        memcpy(pick + i * 33, sh + from[i] * 33, 33);
    assert_int_equal(mote_secagg_recover_key(pick, t - 1, f.k[d].pk, sk), MOTE_ERR_VERIFY);
    pick[40] ^= 1;
    assert_int_equal(mote_secagg_recover_key(pick, t, f.k[d].pk, sk), MOTE_ERR_VERIFY);
    pick[40] ^= 1;
    assert_int_equal(mote_secagg_recover_key(pick, t, f.k[d].pk, sk), MOTE_OK);
    assert_memory_equal(sk, f.k[d].sk, 32);
    mote_secagg_peer_t surv[NDEV - 1];
    uint32_t *sum = calloc(P, 4);
    assert_non_null(sum);
    for (unsigned i = 0, n = 0; i < NDEV; i++)
        if (i != d) {
            surv[n++] = f.p[i];
            for (uint32_t w = 0; w < P; w++)
                sum[w] += f.y[i][w];
            /* Each survivor's self seed, rebuilt from t shares. */
            uint8_t bs[NDEV * MOTE_SECAGG_SHARE_LEN], b[32];
            assert_int_equal(mote_secagg_share_self(&f.k[i], t, NDEV, NULL, bs), MOTE_OK);
            assert_int_equal(mote_secagg_recover_self(bs + 33, t, f.p[i].self_hash, b), MOTE_OK);
            assert_int_equal(mote_secagg_recover_self(bs + 33, t - 1, f.p[i].self_hash, b),
                             MOTE_ERR_VERIFY);
            assert_int_equal(mote_secagg_recover_self(bs, t, f.p[d].self_hash, b),
                             MOTE_ERR_VERIFY);
            assert_int_equal(mote_secagg_recover_self(bs, t, f.p[i].self_hash, b), MOTE_OK);
            mote_secagg_self_mask_add(sum, P, b, 9, -1);
        }
    assert_int_equal(mote_secagg_unmask_dropped(sum, P, f.p[d].id, f.p[d].pk, sk, surv,
                                                NDEV - 1, 9), MOTE_OK);
    for (uint32_t w = 0; w < P; w++) {
        uint32_t sx = 0;
        for (unsigned i = 0; i < NDEV; i++)
            sx += i == d ? 0 : f.x[i][w];
        assert_int_equal(sum[w], sx);
    }
    free(sum);
    fleet_free(&f);
}

/* A server that falsely declares device 0 dropped obtains sk_0 and strips
 * all of device 0's pair masks from its upload: the self mask still hides
 * it (honest peers never reveal b_0 as well). */
static void self_mask_survives_revealed_key(void **state)
{
    (void)state;
    fleet_t f;
    fleet_masked(&f, 5);
    uint32_t *z = malloc(P * 4);
    assert_non_null(z);
    memcpy(z, f.y[0], P * 4);
    for (unsigned j = 1; j < NDEV; j++) { /* subtract what device 0 added */
        uint8_t seed[32];
        assert_int_equal(mote_secagg_pair_seed(f.k[0].sk, f.k[0].pk, f.p[j].pk, 5, seed), MOTE_OK);
        mote_secagg_mask_add(z, P, seed, 5, f.p[0].id < f.p[j].id ? -1 : +1);
    }
    assert_true(chi2_top6(z, P) < 103.4);
    mote_secagg_self_mask_add(z, P, f.k[0].self, 5, -1);
    assert_memory_equal(z, f.x[0], P * 4); /* only both secrets together unmask */
    free(z);
    fleet_free(&f);
}

static void duplicate_ids_refused(void **state)
{
    (void)state;
    mote_secagg_keys_t k[3];
    mote_secagg_peer_t p[3];
    keys(k, p, 3);
    p[2].id = p[1].id;
    uint32_t v[4] = {0};
    assert_int_equal(mote_secagg_mask(v, 4, p[0].id, &k[0], p, 3, 1), MOTE_ERR_ARG);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gf_mul_fips197),
        cmocka_unit_test(shamir_every_subset),
        cmocka_unit_test(shamir_known_polynomial),
        cmocka_unit_test(pair_seed_symmetric),
        cmocka_unit_test(masks_cancel_exactly),
        cmocka_unit_test(one_update_looks_random),
        cmocka_unit_test(unmasking_needs_every_pair),
        cmocka_unit_test(dropped_device_recovered),
        cmocka_unit_test(self_mask_survives_revealed_key),
        cmocka_unit_test(duplicate_ids_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
