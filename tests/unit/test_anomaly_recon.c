/* Reconstruction-error scoring (src/runtime/anomaly/recon.c, threshold.c,
 * outlayer.c): MSE and its split over feature groups, top-k, the P^2 and
 * sigma thresholds against exact statistics, hysteresis and freezing, the
 * output layer's update rules, and an end-to-end run on real fan spectra:
 * a linear autoencoder (fixed random encoder, decoder learned online with
 * mote_anomaly_ol_update) scores normal vs damaged fans, the adaptive
 * threshold flags the damage and the explanation names the bands.
 *
 * Measured numbers are printed as "ANOMALY <what> <value>". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mote/anomaly.h"
#include "testutil.h"

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng_state = 1;

static double unit(void) /* (0, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(rng_state >> 11) + 0.5) * 0x1.0p-53;
}

static double gauss(void)
{
    return sqrt(-2.0 * log(unit())) * cos(6.283185307179586 * unit());
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* ---- MSE, explanation, top-k -------------------------------------------- */

static void test_mse_explain(void **state)
{
    (void)state;
    const float x[6] = { 1, 2, 3, 4, 5, 6 }, xr[6] = { 1, 2, 0, 4, 5, 2 };
    assert_float_equal(mote_anomaly_mse(x, xr, 6), (9.0f + 16.0f) / 6.0f, 1e-6);
    const uint16_t start[4] = { 0, 2, 3, 6 };
    mote_anomaly_groups_t g;
    assert_int_equal(mote_anomaly_groups_init(&g, start, 3, 6), MOTE_OK);
    float share[3];
    assert_float_equal(mote_anomaly_explain(&g, x, xr, share), 25.0f / 6.0f, 1e-6);
    assert_float_equal(share[0], 0.0f, 0);
    assert_float_equal(share[1], 9.0f / 25.0f, 1e-6);
    assert_float_equal(share[2], 16.0f / 25.0f, 1e-6);
    assert_float_equal(mote_anomaly_explain(&g, x, x, share), 0.0f, 0);
    assert_true(share[0] == 0.0f && share[1] == 0.0f && share[2] == 0.0f);

    const uint16_t bad1[3] = { 0, 3, 3 }, bad2[3] = { 1, 3, 6 }, bad3[3] = { 0, 3, 5 };
    assert_int_equal(mote_anomaly_groups_init(&g, bad1, 2, 3), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_groups_init(&g, bad2, 2, 6), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_groups_init(&g, bad3, 2, 6), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_groups_init(&g, start, 0, 6), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_groups_init(NULL, start, 3, 6), MOTE_ERR_ARG);
}

static void test_top(void **state)
{
    (void)state;
    const float v[7] = { 0.1f, 0.5f, NAN, 0.5f, 0.9f, -1.0f, 0.2f };
    uint32_t top[7];
    assert_int_equal(mote_anomaly_top(v, 7, 3, top), 3);
    assert_int_equal(top[0], 4);
    assert_int_equal(top[1], 1); /* tie: lower index first */
    assert_int_equal(top[2], 3);
    assert_int_equal(mote_anomaly_top(v, 7, 10, top), 7);
    assert_int_equal(top[5], 5);
    assert_int_equal(top[6], 2); /* NaN last */
    assert_int_equal(mote_anomaly_top(v, 7, 0, top), 0);
    assert_int_equal(mote_anomaly_top(v, 1, 1, top), 1);
    assert_int_equal(top[0], 0);
}

/* ---- thresholds ---------------------------------------------------------- */

/* P^2 against the exact order statistic of the same samples. */
static void check_quantile(const char *what, int exponential, float p, double tol)
{
    enum { N = 100000 };
    static float all[N];
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    c.quantile = p;
    c.warmup = 5;
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    for (int i = 0; i < N; i++) {
        all[i] = exponential ? (float)-log(unit()) : (float)gauss();
        t.active = 0; /* measure the estimator alone: never freeze */
        mote_anomaly_thr_update(&t, all[i]);
    }
    qsort(all, N, sizeof all[0], cmp_float);
    double exact = all[(size_t)(p * (N - 1))], got = mote_anomaly_thr_value(&t);
    double rel = fabs(got - exact) / fabs(exact);
    printf("ANOMALY P2 %s p=%.3f: estimate %.4f, exact %.4f, rel err %.4f\n", what, p, got,
           exact, rel);
    assert_true(rel <= tol);
}

static void test_p2_accuracy(void **state)
{
    (void)state;
    rng_state = 11;
    check_quantile("exponential", 1, 0.99f, 0.03);
    check_quantile("exponential", 1, 0.5f, 0.01);
    check_quantile("gaussian", 0, 0.95f, 0.02);
    check_quantile("gaussian", 0, 0.999f, 0.05);
}

static void test_sigma(void **state)
{
    (void)state;
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    c.mode = MOTE_ANOMALY_THR_SIGMA;
    c.k = 3.0f;
    c.warmup = 10;
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    double s1 = 0, s2 = 0;
    rng_state = 5;
    for (int i = 0; i < 10000; i++) {
        float x = (float)(100.0 + 2.0 * gauss());
        s1 += x;
        s2 += (double)x * x;
        t.active = 0;
        mote_anomaly_thr_update(&t, x);
    }
    double mean = s1 / 10000, sd = sqrt(s2 / 10000 - mean * mean);
    assert_float_equal(mote_anomaly_thr_value(&t), mean + 3 * sd, 1e-3);

    /* exponential weighting follows a level shift; all history does not */
    c.alpha = 0.01f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    for (int i = 0; i < 2000; i++) {
        t.active = 0;
        mote_anomaly_thr_update(&t, (float)((i < 1000 ? 0.0 : 10.0) + gauss()));
    }
    float v = mote_anomaly_thr_value(&t);
    printf("ANOMALY sigma EW (alpha 0.01) after a 0 -> 10 shift: threshold %.2f\n", v);
    assert_true(v > 12.0f && v < 15.0f);

    c.alpha = 1.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.alpha = 0.0f;
    c.k = -1.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    mote_anomaly_thr_config_default(&c);
    c.warmup = 4;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.warmup = 5;
    c.clear_ratio = 0.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.clear_ratio = 1.0f;
    c.raise_after = 0;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.raise_after = 1;
    c.quantile = 1.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
}

/* Censored learning (learn_below) and freezing (learn_limit): anomalies
 * interleaved too sparsely to raise an alarm (raise_after 3) no longer
 * drag the threshold up; with both options off every inactive sample is
 * learned, as before. */
static float censor_run(float learn_below, float level, uint32_t *unlearned)
{
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    c.mode = MOTE_ANOMALY_THR_SIGMA;
    c.k = 3.0f;
    c.alpha = 0.01f;
    c.warmup = 200;
    c.raise_after = 3;
    c.learn_below = learn_below;
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    rng_state = 11;
    *unlearned = 0;
    for (int i = 0; i < 4000; i++) {
        float x = (float)(1.0 + 0.1 * gauss());
        if (level > 0.0f && i >= 200 && i % 4 == 0)
            x = level * 1.288f; /* one anomaly in four, level x the clean threshold */
        uint32_t f = mote_anomaly_thr_update(&t, x);
        if (!(f & MOTE_ANOMALY_ACTIVE) && !(f & MOTE_ANOMALY_LEARNED))
            (*unlearned)++;
        if (f & MOTE_ANOMALY_ACTIVE) /* keep the test about learning, not alarms */
            t.active = 0, t.run = 0;
    }
    return mote_anomaly_thr_value(&t);
}

static void test_censored(void **state)
{
    (void)state;
    uint32_t unl;
    float clean = censor_run(0.0f, 0.0f, &unl);
    assert_int_equal(unl, 0);
    assert_true(clean > 1.2f && clean < 1.4f);
    /* off: near-threshold and above-threshold anomalies both creep */
    float off_near = censor_run(0.0f, 0.95f, &unl);
    assert_int_equal(unl, 0); /* off: every inactive sample learned, as before */
    float off_above = censor_run(0.0f, 1.5f, &unl);
    assert_int_equal(unl, 0);
    /* censored at the threshold: the above-threshold ones are not learned */
    float on_above = censor_run(1.0f, 1.5f, &unl);
    assert_true(unl >= 900);
    /* censored at 0.8 threshold: nor are the ones just under it */
    float on_near = censor_run(0.8f, 0.95f, &unl);
    assert_true(unl >= 900);
    float clean_cens = censor_run(1.0f, 0.0f, &unl);
    printf("ANOMALY censored: clean %.3f (censored %.3f); near-threshold anomalies off %.3f, "
           "learn_below 0.8 %.3f; above-threshold off %.3f, learn_below 1 %.3f\n",
           clean, clean_cens, off_near, on_near, off_above, on_above);
    assert_true(off_near > 1.05f * clean);
    assert_true(off_above > 1.05f * clean);
    assert_true(on_above > 0.95f * clean && on_above < 1.05f * clean);
    assert_true(on_near < 1.05f * clean && on_near < off_near); /* biased low: see anomaly.h */
    assert_true(clean_cens > 0.95f * clean && clean_cens <= clean);

    /* learn_limit: frozen after 300 learned samples until a reset */
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    c.mode = MOTE_ANOMALY_THR_SIGMA;
    c.alpha = 0.01f;
    c.warmup = 200;
    c.learn_limit = 300;
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    rng_state = 12;
    for (int i = 0; i < 300; i++)
        assert_true(mote_anomaly_thr_update(&t, (float)(1.0 + 0.1 * gauss())) & MOTE_ANOMALY_LEARNED);
    float frozen = mote_anomaly_thr_value(&t);
    for (int i = 0; i < 500; i++) {
        uint32_t f = mote_anomaly_thr_update(&t, (float)(3.0 + 0.1 * gauss()));
        assert_false(f & MOTE_ANOMALY_LEARNED);
    }
    assert_true(mote_anomaly_thr_value(&t) == frozen);
    mote_anomaly_thr_reset(&t); /* re-warm: learns the new level */
    for (int i = 0; i < 300; i++)
        mote_anomaly_thr_update(&t, (float)(3.0 + 0.1 * gauss()));
    assert_true(mote_anomaly_thr_value(&t) > 3.0f);

    /* ranges */
    c.learn_limit = 100; /* below warmup */
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.learn_limit = 0;
    c.learn_below = 0.05f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
    c.learn_below = 11.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_ERR_ARG);
}

static void test_hysteresis(void **state)
{
    (void)state;
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c); /* p99, raise 3, clear 10 at 0.9 */
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    rng_state = 3;
    uint32_t f = 0;
    assert_true(isinf(mote_anomaly_thr_value(&t)));
    for (int i = 0; i < 200; i++) { /* warmup: learned, never flagged */
        f = mote_anomaly_thr_update(&t, i == 50 ? 1e6f : (float)unit());
        assert_true((f & (MOTE_ANOMALY_ACTIVE | MOTE_ANOMALY_ABOVE)) == 0);
        assert_true(f & MOTE_ANOMALY_LEARNED);
    }
    float thr = mote_anomaly_thr_value(&t);
    printf("ANOMALY p99 after 200 uniform(0,1) scores with one 1e6 glitch: %.3f\n", thr);
    assert_true(thr > 0.9f && thr < 1.3f); /* learned clipped: no blow-up */
    /* two high scores in a row: above, learned, but no raise */
    for (int i = 0; i < 2; i++)
        assert_int_equal(mote_anomaly_thr_update(&t, 5.0f), MOTE_ANOMALY_ABOVE | MOTE_ANOMALY_LEARNED);
    assert_int_equal(mote_anomaly_thr_update(&t, 0.1f), MOTE_ANOMALY_LEARNED);
    /* NaN counts as above and is never learned */
    assert_int_equal(mote_anomaly_thr_update(&t, NAN), MOTE_ANOMALY_ABOVE);
    assert_int_equal(mote_anomaly_thr_update(&t, 5.0f), MOTE_ANOMALY_ABOVE | MOTE_ANOMALY_LEARNED);
    f = mote_anomaly_thr_update(&t, 5.0f);
    assert_int_equal(f, MOTE_ANOMALY_ABOVE | MOTE_ANOMALY_LEARNED | MOTE_ANOMALY_RAISED |
                        MOTE_ANOMALY_ACTIVE);
    /* frozen while active, whatever arrives */
    thr = mote_anomaly_thr_value(&t);
    uint32_t n = t.n;
    for (int i = 0; i < 100; i++)
        assert_int_equal(mote_anomaly_thr_update(&t, 50.0f), MOTE_ANOMALY_ABOVE | MOTE_ANOMALY_ACTIVE);
    assert_true(mote_anomaly_thr_value(&t) == thr && t.n == n);
    /* clearing needs 10 consecutive scores below 0.9 * threshold */
    for (int i = 0; i < 9; i++)
        assert_int_equal(mote_anomaly_thr_update(&t, 0.5f * thr), MOTE_ANOMALY_ACTIVE);
    assert_int_equal(mote_anomaly_thr_update(&t, 0.95f * thr), MOTE_ANOMALY_ACTIVE); /* not clear */
    for (int i = 0; i < 9; i++)
        assert_int_equal(mote_anomaly_thr_update(&t, 0.5f * thr), MOTE_ANOMALY_ACTIVE);
    /* the clearing sample itself is judged while still frozen */
    assert_int_equal(mote_anomaly_thr_update(&t, 0.5f * thr), MOTE_ANOMALY_CLEARED);
    assert_int_equal(mote_anomaly_thr_update(&t, 0.5f * thr), MOTE_ANOMALY_LEARNED);
    mote_anomaly_thr_reset(&t);
    assert_true(isinf(mote_anomaly_thr_value(&t)));

    /* a glitch after warmup (too short to raise) is learned clipped */
    for (int i = 0; i < 2000; i++)
        mote_anomaly_thr_update(&t, i == 1000 ? 1e9f : (float)unit());
    thr = mote_anomaly_thr_value(&t);
    assert_true(thr > 0.95f && thr < 1.05f);
    c.mode = MOTE_ANOMALY_THR_SIGMA;
    c.k = 3.0f;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    for (int i = 0; i < 2000; i++)
        mote_anomaly_thr_update(&t, i == 1000 ? 1e9f : (float)unit());
    thr = mote_anomaly_thr_value(&t); /* uniform: 0.5 + 3 * 0.289 = 1.37 */
    printf("ANOMALY mean + 3 sigma of 2000 uniform(0,1) scores with a 1e9 glitch: %.3f\n", thr);
    assert_true(thr > 1.3f && thr < 1.5f);
}

/* Stationary scores: how often does p99 + raise_after 3 raise? */
static void test_false_raises(void **state)
{
    (void)state;
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    rng_state = 17;
    int raises = 0, above = 0;
    enum { N = 1000000 };
    for (int i = 0; i < N; i++) {
        uint32_t f = mote_anomaly_thr_update(&t, (float)-log(unit()));
        raises += (f & MOTE_ANOMALY_RAISED) != 0;
        above += (f & MOTE_ANOMALY_ABOVE) != 0;
    }
    printf("ANOMALY stationary exponential scores, p99 threshold: %.2f%% above, "
           "%.2f raises per 10,000 (raise_after 3)\n",
           100.0 * above / N, 1e4 * raises / N);
    assert_true(above > N / 200 && above < N / 50);
    assert_true(raises <= N / 10000);
}

/* ---- output layer ------------------------------------------------------- */

static void test_outlayer_rules(void **state)
{
    (void)state;
    float w[6] = { 0.5f, -1, 0, 2, 1, 1 }, b[2] = { 0.1f, -0.2f };
    mote_anomaly_ol_t o;
    assert_int_equal(mote_anomaly_ol_init(&o, w, b, 3, 2, 0.5f, 1), MOTE_OK);
    const float h[3] = { 1, 2, -1 }, target[2] = { 3, -4 };
    float y0[2], y1[2];
    mote_anomaly_ol_forward(&o, h, y0);
    assert_float_equal(y0[0], 0.5f - 2 + 0.1f, 1e-6);
    float loss = mote_anomaly_ol_update(&o, h, target);
    assert_float_equal(loss, ((y0[0] - 3) * (y0[0] - 3) + (y0[1] + 4) * (y0[1] + 4)) / 2, 1e-5);
    mote_anomaly_ol_forward(&o, h, y1);
    for (int j = 0; j < 2; j++) /* NLMS: the error on this sample halves */
        assert_float_equal(y1[j] - target[j], 0.5f * (y0[j] - target[j]), 1e-5);

    /* NaN input: reported, nothing changed */
    float wcopy[6];
    memcpy(wcopy, w, sizeof w);
    const float hn[3] = { 1, NAN, 0 };
    assert_true(isnan(mote_anomaly_ol_update(&o, hn, target)));
    assert_memory_equal(w, wcopy, sizeof w);

    assert_int_equal(mote_anomaly_ol_init(&o, w, b, 3, 2, 2.0f, 1), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_ol_init(&o, w, b, 3, 2, 0.0f, 0), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_ol_init(&o, w, b, 0, 2, 0.1f, 0), MOTE_ERR_ARG);
    assert_int_equal(mote_anomaly_ol_init(&o, NULL, b, 3, 2, 0.1f, 0), MOTE_ERR_ARG);
}

/* Censored output-layer learning: a step only below the limit, the error
 * equal to mote_anomaly_mse of the forward pass bit for bit. */
static void test_outlayer_below(void **state)
{
    (void)state;
    float w[6] = { 0.5f, -1, 0, 2, 1, 1 }, b[2] = { 0.1f, -0.2f }, wcopy[6], bcopy[2];
    mote_anomaly_ol_t o;
    assert_int_equal(mote_anomaly_ol_init(&o, w, b, 3, 2, 0.5f, 1), MOTE_OK);
    const float h[3] = { 1, 2, -1 }, target[2] = { 3, -4 };
    float y[2];
    mote_anomaly_ol_forward(&o, h, y);
    float mse = mote_anomaly_mse(target, y, 2);
    memcpy(wcopy, w, sizeof w);
    memcpy(bcopy, b, sizeof b);
    /* at the limit and above it, or a NaN limit: nothing learned */
    assert_true(mote_anomaly_ol_update_below(&o, h, target, mse) == mse);
    assert_true(mote_anomaly_ol_update_below(&o, h, target, 0.5f * mse) == mse);
    assert_true(mote_anomaly_ol_update_below(&o, h, target, NAN) == mse);
    assert_memory_equal(w, wcopy, sizeof w);
    assert_memory_equal(b, bcopy, sizeof b);
    /* just above the error: one NLMS step, the same as the ungated one */
    float w2[6], b2[2];
    memcpy(w2, wcopy, sizeof w2);
    memcpy(b2, bcopy, sizeof b2);
    mote_anomaly_ol_t o2;
    assert_int_equal(mote_anomaly_ol_init(&o2, w2, b2, 3, 2, 0.5f, 1), MOTE_OK);
    assert_true(mote_anomaly_ol_update_below(&o, h, target, 1.0001f * mse) == mse);
    assert_true(mote_anomaly_ol_update(&o2, h, target) == mse);
    assert_memory_equal(w, w2, sizeof w);
    assert_memory_equal(b, b2, sizeof b);
    float y1[2];
    mote_anomaly_ol_forward(&o, h, y1);
    assert_true(mote_anomaly_mse(target, y1, 2) < mse);
    /* an infinite limit (a threshold still warming up) learns; a NaN
     * sample never does */
    float before = mote_anomaly_ol_update_below(&o, h, target, INFINITY);
    assert_true(mote_anomaly_ol_update_below(&o, h, target, INFINITY) < before);
    memcpy(wcopy, w, sizeof w);
    const float hn[3] = { 1, NAN, 0 };
    assert_true(isnan(mote_anomaly_ol_update_below(&o, hn, target, INFINITY)));
    assert_memory_equal(w, wcopy, sizeof w);
}

/* A decoder gated at a fraction of the normal error does not learn a
 * shifted (anomalous) pattern presented below the threshold; ungated, it
 * absorbs it: the failure the gate exists for. */
static void test_outlayer_gate_absorb(void **state)
{
    (void)state;
    enum { I = 4, O = 4, N = 2000 };
    rng_state = 5;
    float gain = 0;
    for (int gated = 0; gated < 2; gated++) {
        float w[O * I] = { 0 }, b[O] = { 0 };
        for (int j = 0; j < O; j++)
            w[j * I + j] = 1.0f; /* identity decoder: normal x = h reconstructs */
        mote_anomaly_ol_t o;
        assert_int_equal(mote_anomaly_ol_init(&o, w, b, I, O, 0.05f, 1), MOTE_OK);
        float h[I], t[O], y[O], err0 = 0, err1 = 0;
        const float limit = 0.005f; /* e.g. 0.5 * a threshold of 0.01 */
        for (int it = 0; it < N; it++) {
            for (int i = 0; i < I; i++)
                h[i] = (float)gauss();
            for (int j = 0; j < O; j++) /* the anomaly: output 0 off by 0.2 */
                t[j] = h[j] + (j == 0 ? 0.2f : 0.0f);
            if (it == 0) {
                mote_anomaly_ol_forward(&o, h, y);
                err0 = mote_anomaly_mse(t, y, O);
            }
            if (gated)
                mote_anomaly_ol_update_below(&o, h, t, limit);
            else
                mote_anomaly_ol_update(&o, h, t);
        }
        mote_anomaly_ol_forward(&o, h, y);
        err1 = mote_anomaly_mse(t, y, O);
        printf("ANOMALY output layer %s: anomaly error %.5f before, %.5f after %d samples\n",
               gated ? "gated below 0.005" : "ungated", err0, err1, N);
        assert_true(err0 > limit);
        if (gated)
            assert_true(err1 == err0);
        else
            gain = err1 / err0;
    }
    assert_true(gain < 0.01f);
}

/* Plain SGD and NLMS both learn a linear teacher from noisy samples. */
static void test_outlayer_teacher(void **state)
{
    (void)state;
    enum { I = 6, O = 4 };
    float wt[O * I], bt[O];
    rng_state = 23;
    for (int i = 0; i < O * I; i++)
        wt[i] = (float)gauss();
    for (int j = 0; j < O; j++)
        bt[j] = (float)gauss();
    for (int mode = 0; mode < 2; mode++) {
        float w[O * I] = { 0 }, b[O] = { 0 };
        mote_anomaly_ol_t o, teacher;
        assert_int_equal(mote_anomaly_ol_init(&o, w, b, I, O, mode ? 0.2f : 0.02f, mode), MOTE_OK);
        assert_int_equal(mote_anomaly_ol_init(&teacher, wt, bt, I, O, 0.1f, 0), MOTE_OK);
        float first = 0, last = 0;
        for (int it = 0; it < 5000; it++) {
            float h[I], y[O];
            for (int i = 0; i < I; i++)
                h[i] = (float)gauss();
            mote_anomaly_ol_forward(&teacher, h, y);
            for (int j = 0; j < O; j++)
                y[j] += 0.01f * (float)gauss();
            float l = mote_anomaly_ol_update(&o, h, y);
            first += it < 100 ? l / 100 : 0;
            last += it >= 4900 ? l / 100 : 0;
        }
        printf("ANOMALY output layer (%s): mse %.4f over the first 100 samples, %.6f over the "
               "last 100\n", mode ? "NLMS lr 0.2" : "SGD lr 0.02", first, last);
        assert_true(last < 1e-3f * first && last < 1e-3f);
    }
}

/* ---- real data: a linear autoencoder on fan spectra ------------------- */

enum { NB = 16, NH = 8, FAN_RUNNING = 177 };

static float *fan_features(const char *name, size_t *rows)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "data/fan/%s.f32", name);
    float *s = tu_read(tu_shared(rel), &len);
    assert_non_null(s);
    *rows = len / (512 * sizeof(float));
    float *f = malloc(*rows * NB * sizeof *f);
    for (size_t r = 0; r < *rows; r++)
        for (int b = 0; b < NB; b++) {
            double e = 0.0;
            for (int k = 0; k < 32; k++) {
                double v = s[r * 512 + (size_t)b * 32 + (size_t)k];
                e += v * v;
            }
            f[r * NB + (size_t)b] = (float)log(e + 1e-6);
        }
    free(s);
    return f;
}

typedef struct ae {
    float enc[NH * NB]; /* fixed random encoder */
    float mu[NB], sd[NB];
    float w[NB * NH], b[NB];
    mote_anomaly_ol_t dec;
} ae_t;

/* Standardized input z and hidden h = enc z of one feature row. */
static void ae_encode(const ae_t *a, const float *x, float *z, float *h)
{
    for (int i = 0; i < NB; i++)
        z[i] = (x[i] - a->mu[i]) / a->sd[i];
    for (int j = 0; j < NH; j++) {
        h[j] = 0;
        for (int i = 0; i < NB; i++)
            h[j] += a->enc[j * NB + i] * z[i];
    }
}

static float ae_score(const ae_t *a, const float *x, float *z, float *zr)
{
    float h[NH];
    ae_encode(a, x, z, h);
    mote_anomaly_ol_forward(&a->dec, h, zr);
    return mote_anomaly_mse(z, zr, NB);
}

static void ae_fit(ae_t *a, const float *x, size_t n)
{
    for (int i = 0; i < NB; i++) {
        double s1 = 0, s2 = 0;
        for (size_t r = 0; r < n; r++) {
            s1 += x[r * NB + (size_t)i];
            s2 += (double)x[r * NB + (size_t)i] * x[r * NB + (size_t)i];
        }
        a->mu[i] = (float)(s1 / n);
        a->sd[i] = (float)sqrt(s2 / n - (s1 / n) * (s1 / n));
    }
    rng_state = 31;
    for (int i = 0; i < NH * NB; i++)
        a->enc[i] = (float)(gauss() / 4.0);
    memset(a->w, 0, sizeof a->w);
    memset(a->b, 0, sizeof a->b);
    assert_int_equal(mote_anomaly_ol_init(&a->dec, a->w, a->b, NH, NB, 0.05f, 1), MOTE_OK);
    for (int epoch = 0; epoch < 30; epoch++)
        for (size_t k = 0; k < n; k++) {
            size_t r = (size_t)(unit() * (double)n);
            float z[NB], h[NH];
            ae_encode(a, x + r * NB, z, h);
            mote_anomaly_ol_update(&a->dec, h, z);
        }
}

static double auc(const float *neg, size_t n0, const float *pos, size_t n1)
{
    double u = 0.0;
    for (size_t i = 0; i < n1; i++)
        for (size_t j = 0; j < n0; j++)
            u += pos[i] > neg[j] ? 1.0 : pos[i] == neg[j] ? 0.5 : 0.0;
    return u / ((double)n0 * (double)n1);
}

static void fan_room(const char *room)
{
    static const char speeds[] = "hmlo";
    float *train = NULL;
    size_t n = 0, k, nn, nd;
    char name[64];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "12cm_%c_normal_%s", speeds[i], room);
        float *f = fan_features(name, &k);
        train = realloc(train, (n + k) * NB * sizeof *train);
        memcpy(train + n * NB, f, k * NB * sizeof *f);
        n += k;
        free(f);
    }
    static ae_t a;
    ae_fit(&a, train, n);
    snprintf(name, sizeof name, "12cm_hmlo_normal_%s_1", room);
    float *xn = fan_features(name, &nn);
    snprintf(name, sizeof name, "12cm_hmlo_damage1_%s_1", room);
    float *xd = fan_features(name, &nd);

    /* threshold warmed on the training scores, then a stream: normal
     * (fan running) followed by damage1 (fan running) */
    mote_anomaly_thr_config_t c;
    mote_anomaly_thr_config_default(&c);
    c.margin = 1.5f;
    mote_anomaly_thr_t t;
    assert_int_equal(mote_anomaly_thr_init(&t, &c), MOTE_OK);
    float z[NB], zr[NB], sn[FAN_RUNNING], sd[FAN_RUNNING];
    for (size_t r = 0; r < n; r++)
        mote_anomaly_thr_update(&t, ae_score(&a, train + r * NB, z, zr));
    int false_raise = 0, delay = -1;
    double share_sum[NB] = { 0 };
    uint16_t start[NB + 1];
    for (int i = 0; i <= NB; i++)
        start[i] = (uint16_t)i;
    mote_anomaly_groups_t g;
    assert_int_equal(mote_anomaly_groups_init(&g, start, NB, NB), MOTE_OK);
    for (int r = 0; r < 2 * FAN_RUNNING; r++) {
        const float *x = r < FAN_RUNNING ? xn + (size_t)r * NB : xd + (size_t)(r - FAN_RUNNING) * NB;
        float s = ae_score(&a, x, z, zr);
        uint32_t f = mote_anomaly_thr_update(&t, s);
        if (r < FAN_RUNNING) {
            sn[r] = s;
            false_raise += (f & MOTE_ANOMALY_RAISED) != 0;
        } else {
            sd[r - FAN_RUNNING] = s;
            if (delay < 0 && (f & MOTE_ANOMALY_ACTIVE))
                delay = r - FAN_RUNNING;
            float share[NB];
            mote_anomaly_explain(&g, z, zr, share);
            for (int i = 0; i < NB; i++)
                share_sum[i] += share[i] / FAN_RUNNING;
        }
    }
    float mean_share[NB];
    for (int i = 0; i < NB; i++)
        mean_share[i] = (float)share_sum[i];
    uint32_t top[2];
    mote_anomaly_top(mean_share, NB, 2, top);
    double a_uc = auc(sn, FAN_RUNNING, sd, FAN_RUNNING);
    printf("ANOMALY fan %s: linear AE (16-8-16, decoder by NLMS) AUC normal vs damage1 %.4f; "
           "p99 x1.5 threshold: %d raise(s) on %d normal, damage flagged after %d windows; "
           "damage error mostly in bands %u-%u Hz (%.0f%%) and %u-%u Hz (%.0f%%)\n",
           room, a_uc, false_raise, FAN_RUNNING, delay, top[0] * 32, top[0] * 32 + 31,
           100 * mean_share[top[0]], top[1] * 32, top[1] * 32 + 31, 100 * mean_share[top[1]]);
    assert_true(a_uc >= 0.9);
    assert_true(delay >= 0 && delay <= 10);
    free(train);
    free(xn);
    free(xd);
}

static void test_fan_autoencoder(void **state)
{
    (void)state;
    fan_room("noisy");
    fan_room("silentA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mse_explain),    cmocka_unit_test(test_top),
        cmocka_unit_test(test_p2_accuracy),    cmocka_unit_test(test_sigma), cmocka_unit_test(test_censored),
        cmocka_unit_test(test_hysteresis),     cmocka_unit_test(test_false_raises),
        cmocka_unit_test(test_outlayer_rules), cmocka_unit_test(test_outlayer_below),
        cmocka_unit_test(test_outlayer_gate_absorb), cmocka_unit_test(test_outlayer_teacher),
        cmocka_unit_test(test_fan_autoencoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
