/* mote: anomaly scoring on the device.
 *
 * Two families of detectors, each usable alone:
 *
 *   iforest    Isolation Forest scoring (Liu, Ting, Zhou 2008) of a forest
 *              trained on the host (src/pipeline/iforest_train.c, or
 *              imported from scikit-learn). The forest is a compact,
 *              CRC-checked blob read in place, typically from flash.
 *   recon      autoencoder-style scores: mean squared reconstruction error
 *              of x against its reconstruction x', each feature group's
 *              share of it (for "band 150-175 Hz, 62% of score"), an
 *              adaptive threshold with hysteresis, and an output layer that
 *              keeps learning on samples assumed normal.
 *
 * Memory: nothing is allocated and there are no globals. Every object is a
 * small struct the caller owns (stack or static); buffers it points to
 * (the forest blob, output-layer weights) stay owned by the caller and
 * must outlive it. Inputs are validated once, at *_init / *_load; the
 * per-sample functions cannot fail and return a value or void.
 *
 * Arithmetic is IEEE single precision without libm, so the host and a
 * Cortex-M4F give the same bits for the same inputs (FMA contraction off,
 * as GCC's -std=c11 default, and flush-to-zero off). */
#ifndef MOTE_ANOMALY_H
#define MOTE_ANOMALY_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Isolation Forest                                                    */

/* Forest blob, version 1. Little-endian, any alignment:
 *
 *   off  size  field
 *     0     4  magic "MIFR"
 *     4     2  version (1)
 *     6     2  header bytes (32)
 *     8     4  n_trees     [1, MOTE_IFOREST_MAX_TREES]
 *    12     4  n_features  [1, MOTE_IFOREST_MAX_FEATURES]
 *    16     4  psi         subsample size each tree was grown on, >= 1
 *    20     4  max_depth   bound on every leaf's depth, [0, MOTE_IFOREST_MAX_DEPTH]
 *    24     4  n_nodes     total over all trees
 *    28     4  reserved (0)
 *    32     4 * n_trees    node count of each tree, [1, 65535]
 *     .     8 * n_nodes    nodes, tree after tree, each in preorder
 *   end-4   4  CRC-32 (IEEE 802.3, as zlib.crc32) of all preceding bytes
 *
 * Node, 8 bytes (index i counts from the first node of its tree):
 *   internal: f32 threshold (finite), u16 feature (< n_features),
 *             u16 right child (i + 1 < right < tree node count); the left
 *             child is node i + 1. x[feature] <= threshold goes left.
 *   leaf:     u32 size (training samples that reached it, [1, psi]),
 *             u16 0xFFFF, u16 0.
 * The preorder layout makes every child index point forward, so a walk
 * always ends; the loader also checks that each tree is exactly one tree
 * (every node reached once) no deeper than max_depth. */
#define MOTE_IFOREST_MAGIC "MIFR"
#define MOTE_IFOREST_VERSION 1u
#define MOTE_IFOREST_HEADER_BYTES 32u
#define MOTE_IFOREST_NODE_BYTES 8u
#define MOTE_IFOREST_LEAF 0xFFFFu
#define MOTE_IFOREST_MAX_TREES 65535u
#define MOTE_IFOREST_MAX_FEATURES 65535u
#define MOTE_IFOREST_MAX_TREE_NODES 65535u
/* Deepest leaf accepted. The loader walks trees with a stack of this many
 * entries (4 bytes each, 196 bytes of stack) and scikit-learn's default depth limit
 * ceil(log2(max_samples)) stays below it for any realistic subsample. */
#define MOTE_IFOREST_MAX_DEPTH 48u

/* Exact blob size for a forest shape (for writers and for checks). */
#define MOTE_IFOREST_BLOB_BYTES(n_trees, n_nodes)                                     \
    (MOTE_IFOREST_HEADER_BYTES + 4u * (size_t)(n_trees) +                             \
     MOTE_IFOREST_NODE_BYTES * (size_t)(n_nodes) + 4u)

/* A loaded forest: 32 bytes on a 32-bit target. Fields are private; it
 * points into the blob, which the caller keeps (unchanged) for as long as
 * the forest is used. */
typedef struct mote_iforest {
    const uint8_t *counts; /* n_trees u32 node counts */
    const uint8_t *nodes;  /* n_nodes 8-byte nodes */
    uint32_t n_trees, n_features, psi, max_depth, n_nodes;
    float c_psi; /* average path length c(psi): the score's normaliser */
} mote_iforest_t;

/* Verify a forest blob of `len` bytes (any alignment, never written) and
 * bind f to it. Checks, in order: MOTE_ERR_ARG (NULL), MOTE_ERR_TRUNCATED
 * (len below the header or the size the header implies), MOTE_ERR_CORRUPT
 * (bad magic, header length, reserved field, or trailing bytes),
 * MOTE_ERR_VERSION, MOTE_ERR_LIMIT (counts above the MOTE_IFOREST_MAX_*
 * limits), MOTE_ERR_VERIFY (CRC), then MOTE_ERR_CORRUPT for any node that
 * breaks the layout above (tree node counts not adding up, child out of
 * range or not forward, a subtree overlapping its sibling, a leaf deeper
 * than max_depth, feature >= n_features, non-finite threshold, leaf size
 * 0 or > psi, non-zero padding). On error *f is zeroed. Cost: one pass
 * over the blob. */
mote_status_t mote_iforest_load(mote_iforest_t *f, const void *blob, size_t len);

/* Average path length of an unsuccessful search in a binary search tree
 * of n nodes, the leaf correction of Liu et al. as scikit-learn defines it
 * (sklearn.ensemble._iforest._average_path_length):
 *   c(n) = 0 for n <= 1, 1 for n == 2,
 *   c(n) = 2 (ln(n - 1) + 0.5772156649) - 2 (n - 1) / n otherwise. */
float mote_iforest_avg_path(uint32_t n);

/* Mean path length E[h(x)] of x[0..n_features) over the trees: per tree,
 * the depth of the leaf x reaches plus c(leaf size). A NaN feature fails
 * every `<=` test and goes right. */
float mote_iforest_path_length(const mote_iforest_t *f, const float *x);

/* Anomaly score s = 2^(-E[h(x)] / c(psi)) in (0, 1]: near 1 anomalous,
 * well below 0.5 normal. Equals -IsolationForest.score_samples(x) of
 * scikit-learn for an imported forest; 0.5 when c(psi) == 0 (psi <= 1),
 * as scikit-learn. Cost: n_trees walks of at most max_depth nodes. */
float mote_iforest_score(const mote_iforest_t *f, const float *x);

/* ------------------------------------------------------------------ */
/* Reconstruction error and its explanation                            */

/* Mean squared error (1/n) sum (x[i] - xr[i])^2 over n >= 1 features. */
float mote_anomaly_mse(const float *x, const float *xr, uint32_t n);

/* Feature groups (e.g. frequency bands) for explanations: group g covers
 * features start[g] .. start[g+1] - 1. Names stay with the caller, indexed
 * by group. Fields are private. */
typedef struct mote_anomaly_groups {
    const uint16_t *start; /* n_groups + 1 entries, caller-owned */
    uint32_t n_groups;
    uint32_t n_features;
} mote_anomaly_groups_t;

/* Bind `start` (n_groups + 1 entries: start[0] == 0, strictly increasing,
 * start[n_groups] == n_features; kept by pointer) to g. Errors:
 * MOTE_ERR_ARG for NULL, n_groups == 0 or edges that break the rule. */
mote_status_t mote_anomaly_groups_init(mote_anomaly_groups_t *g, const uint16_t *start,
                                       uint32_t n_groups, uint32_t n_features);

/* Each group's share of the squared reconstruction error into
 * share[0..n_groups): in [0, 1], summing to 1 (all 0 when x == xr).
 * Returns the mean squared error, as mote_anomaly_mse. */
float mote_anomaly_explain(const mote_anomaly_groups_t *g, const float *x, const float *xr,
                           float *share);

/* Indices of the k largest of v[0..n) into top[0..min(k, n)), largest
 * first (ties: lower index first; NaN counts as smallest). Returns the
 * number written. Use it on explain's shares to name the main bands. */
uint32_t mote_anomaly_top(const float *v, uint32_t n, uint32_t k, uint32_t *top);

/* ------------------------------------------------------------------ */
/* Adaptive threshold with hysteresis                                  */

typedef enum mote_anomaly_thr_mode {
    /* threshold = margin * running p-quantile of the scores (the P^2
     * algorithm of Jain and Chlamtac, 1985: five markers, O(1) memory) */
    MOTE_ANOMALY_THR_QUANTILE = 0,
    /* threshold = mean + k * std of the scores: Welford's running moments
     * (alpha == 0) or exponentially weighted ones (0 < alpha < 1) */
    MOTE_ANOMALY_THR_SIGMA = 1,
} mote_anomaly_thr_mode_t;

typedef struct mote_anomaly_thr_config {
    uint32_t mode;        /* mote_anomaly_thr_mode_t */
    float quantile;       /* QUANTILE: p in (0, 1), e.g. 0.99 */
    float margin;         /* QUANTILE: factor on the quantile, finite, > 0 */
    float k;              /* SIGMA: number of standard deviations, >= 0 */
    float alpha;          /* SIGMA: 0 = all history, else weight of the newest sample */
    float clear_ratio;    /* (0, 1]: a sample is "clear" below clear_ratio * threshold */
    uint32_t warmup;      /* samples learned before anything is flagged; >= 5 for QUANTILE */
    uint32_t raise_after; /* consecutive samples above the threshold to raise, >= 1 */
    uint32_t clear_after; /* consecutive clear samples to clear, >= 1 */
    /* Censored learning, 0 = off (learn every score, the default). Else,
     * in [0.1, 10], finite: once warm, a score is learned only when it is
     * below learn_below * threshold (the threshold it was judged by). */
    float learn_below;
    /* Learned samples after which the estimate freezes until the next
     * reset (a re-warm), 0 = never; >= warmup when set. */
    uint32_t learn_limit;
} mote_anomaly_thr_config_t;

/* Flags returned by mote_anomaly_thr_update(). */
#define MOTE_ANOMALY_ACTIVE 0x01u  /* an anomaly is flagged after this sample */
#define MOTE_ANOMALY_RAISED 0x02u  /* this sample raised it */
#define MOTE_ANOMALY_CLEARED 0x04u /* this sample cleared it */
#define MOTE_ANOMALY_ABOVE 0x08u   /* this sample is above the threshold */
#define MOTE_ANOMALY_LEARNED 0x10u /* this sample updated the estimate */

/* Threshold state: 96 bytes, no buffer. Fields are private. */
typedef struct mote_anomaly_thr {
    mote_anomaly_thr_config_t cfg;
    uint32_t n;          /* samples learned */
    uint32_t pos[5];     /* P^2 marker positions (1-based) */
    float q[5];          /* P^2 marker heights; SIGMA uses q[0] mean, q[1] M2 or variance */
    uint32_t run;        /* consecutive samples counting towards a raise / clear */
    uint32_t active;     /* 1 while an anomaly is flagged */
} mote_anomaly_thr_t;

/* Defaults: QUANTILE, p = 0.99, margin 1.0, k = 4, alpha 0, clear_ratio
 * 0.9, warmup 200, raise_after 3, clear_after 10, learn_below 0 (off),
 * learn_limit 0 (off). */
void mote_anomaly_thr_config_default(mote_anomaly_thr_config_t *cfg);

/* Check cfg (MOTE_ERR_ARG naming no field: see the ranges above) and
 * start learning from scratch. */
mote_status_t mote_anomaly_thr_init(mote_anomaly_thr_t *t, const mote_anomaly_thr_config_t *cfg);

/* Forget the learned distribution and any flagged anomaly (e.g. after a
 * drift detector fired): warmup starts again. */
void mote_anomaly_thr_reset(mote_anomaly_thr_t *t);

/* Feed one score; returns MOTE_ANOMALY_* flags. Rules:
 *   - the estimate learns from every finite score while no anomaly is
 *     flagged, including scores above the threshold that have not (yet)
 *     raised one: leaving them out would censor the top of the
 *     distribution and ratchet a quantile threshold down;
 *   - it is frozen while an anomaly is flagged, so an anomaly cannot teach
 *     the threshold to accept itself;
 *   - raise after raise_after consecutive scores above the threshold
 *     (never during warmup); clear after clear_after consecutive scores
 *     below clear_ratio * threshold;
 *   - a NaN or infinite score is never learned and counts as above;
 *   - once there is an estimate, a learned score is clipped at estimate +
 *     4 spreads (QUANTILE: the p-quantile marker minus the p/2 one;
 *     SIGMA: one std). That leaves the p-quantile unchanged and
 *     mean + k sigma nearly so, but one glitch of 1e9 cannot wreck the
 *     estimate (P^2 interpolates between neighbouring markers, and a
 *     variance never forgets).
 * Learning stops after 2^30 samples. Scores are assumed >= 0 (an MSE, an
 * iforest score): the clear level is clear_ratio * threshold.
 *
 * Two opt-in guards against a threshold that creeps up while anomalies
 * arrive too sparsely, or too close under the threshold, to raise an
 * alarm and freeze it (both off by default; behaviour above unchanged):
 *   - learn_below = r > 0 censors learning once warm: a score at or above
 *     r * threshold is not learned (it still counts for raising). With
 *     r < 1 the scores just under the threshold, where mild anomalies
 *     sit, are kept out too. The price is a downward bias: the estimate
 *     sees a truncated distribution. For SIGMA on Gaussian scores with
 *     k = 3 and r = 1 the threshold settles near mean + 2.97 sd instead
 *     of + 3 sd; r < 1 cuts at a fraction of the threshold, so its bias
 *     grows with mean / sd (unit test: mean 1, sd 0.1, r = 0.8 settles
 *     20 % low). With a small k or r, or with QUANTILE
 *     (whose p-quantile of a distribution cut at itself ratchets down
 *     forever) it can collapse, so use it with SIGMA and k >= 2;
 *   - learn_limit = N > 0 freezes the estimate after N learned samples:
 *     calibrate on a warm-up window, then hold until mote_anomaly_thr_reset
 *     (e.g. a drift detector's re-warm) starts a new window.
 * MOTE_ANOMALY_LEARNED tells whether a sample was learned. */
uint32_t mote_anomaly_thr_update(mote_anomaly_thr_t *t, float score);

/* Current threshold; +inf during warmup. */
float mote_anomaly_thr_value(const mote_anomaly_thr_t *t);

/* ------------------------------------------------------------------ */
/* Output layer that keeps learning                                    */

/* A linear output layer y = W h + b (W row-major n_out x n_in, float, in
 * caller RAM, e.g. a decoder's last dense layer copied from the model),
 * updated per sample to reduce the squared error against a target (the
 * autoencoder input) on samples the caller considers normal. Fields are
 * private. */
typedef struct mote_anomaly_ol {
    float *w; /* n_out * n_in */
    float *b; /* n_out */
    uint32_t n_in, n_out;
    float lr;
    uint32_t normalized;
} mote_anomaly_ol_t;

/* Bind weights w[n_out * n_in] and bias b[n_out] (caller-owned, updated in
 * place, must outlive o). lr: step size, finite and > 0. normalized != 0
 * selects normalized LMS: each row steps by lr * e / (1 + |h|^2), which
 * scales every output's error on the sample by exactly (1 - lr) and is
 * stable for any input scale when 0 < lr < 2 (lr must then be < 2).
 * normalized == 0 is plain SGD on the mean squared error: W -= lr * (2 /
 * n_out) e h^T, b -= lr * (2 / n_out) e. Errors: MOTE_ERR_ARG. */
mote_status_t mote_anomaly_ol_init(mote_anomaly_ol_t *o, float *w, float *b, uint32_t n_in,
                                   uint32_t n_out, float lr, int normalized);

/* y[0..n_out) = W h + b. */
void mote_anomaly_ol_forward(const mote_anomaly_ol_t *o, const float *h, float *y);

/* One step on hidden vector h[0..n_in) towards target[0..n_out). Returns
 * the mean squared error of the prediction before the step. If that error
 * is not finite (NaN or inf inputs), nothing is changed and it is returned
 * as is. Gate it yourself: call it only for samples not flagged anomalous. */
float mote_anomaly_ol_update(mote_anomaly_ol_t *o, const float *h, const float *target);

/* Censored learning for the output layer, the counterpart of the
 * threshold's learn_below: one step as mote_anomaly_ol_update, taken only
 * when the error before it is below `limit`, so samples that are merely
 * under the threshold (where mild anomalies sit) cannot slowly teach the
 * decoder to reconstruct them. The error is the one mote_anomaly_mse gives
 * for (target, mote_anomaly_ol_forward(h)) bit for bit, so with the
 * reconstruction error as the anomaly score pass
 *   limit = r * mote_anomaly_thr_value(&thr)   (read before its update),
 * r in (0, 1] (e.g. 0.5). A threshold still warming up is +inf and lets
 * every finite sample through; limit = +inf is mote_anomaly_ol_update; a
 * NaN limit never learns. Returns the error either way: the step was taken
 * if and only if the returned value is < limit. Still call it only while
 * no anomaly is flagged (MOTE_ANOMALY_ACTIVE). */
float mote_anomaly_ol_update_below(mote_anomaly_ol_t *o, const float *h, const float *target,
                                   float limit);

#ifdef __cplusplus
}
#endif
#endif
