/* mote fleet: federated learning of trainable heads (include/mote/learn.h),
 * the pieces devices and the server call in every round (docs/federated.md):
 *
 *   server: mote_fed_round_begin (roster, quantization step, secure
 *           aggregation on/off) -> broadcast the signed global head
 *   device: mote_fed_params_set (global) -> mote_fed_train_sample per local
 *           sample (SGD + FedProx proximal step) -> mote_fed_quantize (int8
 *           delta with error feedback, optional clipping) -> plain upload,
 *           or mote_fed_weigh + mote_secagg_mask (self + pair masks) ->
 *           masked upload (fedupdate.h encodes either)
 *   server: mote_fed_round_add per upload (strict decode, roster, norm
 *           bound) -> at the deadline mote_fed_round_close -> for each
 *           device that dropped after masking mote_fed_round_recover (t
 *           Shamir shares of its key) -> mote_fed_round_finish (quorum,
 *           FedAvg, optional Gaussian noise) -> new global version
 *
 * Exactness. Every upload is an integer vector: a device's delta is
 * quantized to q in [-127, 127] with the round's common step s, and the
 * server sums n_i * q_i over accepted devices, as int64 for plain uploads
 * and mod 2^32 for masked ones. With sum n_i <= MOTE_FEDUP_MAX_SAMPLES
 * both sums fit in an int32, so they are the same integer; the new global
 * is then g + s * sum / N computed once in double and rounded to float.
 * Secure aggregation on and off therefore give bit-identical global heads
 * from the same inputs.
 *
 * Parameter vector of a head: the n_classes x n_features weights row-major,
 * then the n_classes biases (mote_fed_param_count values). */
#ifndef MOTE_FED_H
#define MOTE_FED_H

#include <stddef.h>
#include <stdint.h>
#include "fedupdate.h"
#include "mote/learn.h"
#include "mote/status.h"
#include "secagg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_FED_MSG_LEN 160
#define MOTE_FED_MAX_DEVICES 1024u

/* ---- device side ---- */

/* Parameters of h: n_classes * (n_features + 1). */
uint32_t mote_fed_param_count(const mote_learn_head_t *h);
/* Copy h's parameters to p[0..mote_fed_param_count). */
void mote_fed_params_get(const mote_learn_head_t *h, float *p);
/* Replace h's weights and biases by p (velocities and the schedule are
 * kept: the global model replaces only what is averaged). */
void mote_fed_params_set(mote_learn_head_t *h, const float *p);

/* One local step on (x, label): mote_learn_update, then the FedProx
 * proximal step w -= lr * mu * (w - global) on weights and biases, the
 * gradient of mu/2 ||w - global||^2 (Li et al., "Federated Optimization in
 * Heterogeneous Networks", MLSys 2020). mu = 0 is plain FedAvg; global may
 * then be NULL. lr is the rate the update used. Errors: mote_learn_update's,
 * MOTE_ERR_ARG (mu < 0 or not finite, or mu > 0 without global). */
mote_status_t mote_fed_train_sample(mote_learn_head_t *h, const float *global, const float *x,
                                    uint32_t label, float mu);

/* Quantize the delta w - g (n values) for upload: optionally clip it to L2
 * norm clip (clip > 0, for differential privacy), add the residual r kept
 * from earlier rounds (error feedback; r may be NULL for none), then
 * q = round(u / step) saturated to [-127, 127], and store u - q * step back
 * in r. *norm (may be NULL) receives the L2 norm of the delta before
 * clipping. Errors (q and r untouched): MOTE_ERR_ARG (NULL, step not
 * finite or <= 0, a non-finite w, g or r). */
mote_status_t mote_fed_quantize(const float *w, const float *g, float *r, uint32_t n, float step,
                                float clip, int8_t *q, double *norm);

/* Words a masked upload starts from: out[k] = n * q[k] mod 2^32. */
void mote_fed_weigh(const int8_t *q, uint32_t n_params, uint32_t samples, uint32_t *out);

/* ---- server side ---- */

typedef enum mote_fed_dev_state {
    MOTE_FED_EXPECTED = 0, /* in the roster, nothing received yet */
    MOTE_FED_RECEIVED = 1, /* accepted into the sum */
    MOTE_FED_REJECTED = 2, /* upload refused (reason logged) */
    MOTE_FED_DROPPED = 3,  /* missed the deadline */
    MOTE_FED_RECOVERED = 4, /* dropped after masking, pair masks removed */
    MOTE_FED_UNMASKED = 5  /* received, self mask removed (masked rounds) */
} mote_fed_dev_state_t;

/* Round settings chosen by the server. */
typedef struct mote_fed_round_cfg {
    uint32_t round;          /* >= 1 */
    uint64_t base_version;   /* global version the devices start from */
    float step;              /* quantization step broadcast to devices */
    int masked;              /* secure aggregation */
    float norm_bound;        /* plain uploads: reject ||q|| * step above
                                this (0: no bound) */
    uint32_t max_samples;    /* reject a larger claimed sample count (0: any) */
    uint32_t quorum;         /* accepted uploads needed to finish, >= 1 */
} mote_fed_round_cfg_t;

/* The server's state for one round. Allocated by mote_fed_server_init,
 * reused across rounds. Fields are private; read them through the calls. */
typedef struct mote_fed_server {
    uint32_t n_params, cap;
    mote_fed_round_cfg_t cfg;
    int open;
    int64_t *acc;            /* plain sum of n q */
    uint32_t *acc_m;         /* masked sum mod 2^32 */
    uint64_t total;          /* sum of n over accepted devices */
    uint32_t n_roster, n_accepted;
    mote_secagg_peer_t *roster;
    uint8_t *state;          /* mote_fed_dev_state_t per roster entry */
    uint64_t bytes_in;       /* update bytes received this round */
} mote_fed_server_t;

/* Allocate for heads of n_params parameters and rosters of at most
 * max_devices. MOTE_ERR_ARG, MOTE_ERR_NOMEM. Release with _free. */
mote_status_t mote_fed_server_init(mote_fed_server_t *s, uint32_t n_params,
                                   uint32_t max_devices);
void mote_fed_server_free(mote_fed_server_t *s);

/* Start a round with the roster (ids distinct; public keys used only when
 * masked). Errors: MOTE_ERR_ARG (bad settings, duplicate id, roster larger
 * than allocated or empty). */
mote_status_t mote_fed_round_begin(mote_fed_server_t *s, const mote_fed_round_cfg_t *cfg,
                                   const mote_secagg_peer_t *roster, uint32_t n_roster);

/* Take one upload (untrusted bytes; key: the sender's MAC key or NULL).
 * Refused, with the reason in msg and the device marked REJECTED when it
 * is in the roster: undecodable bytes (decoder's errors), another round,
 * base version, step or parameter count, the wrong mode (MOTE_ERR_STATE
 * for these), a device not in the roster, already received, or declared
 * dropped (MOTE_ERR_NOT_FOUND / MOTE_ERR_STATE), samples above
 * max_samples or the total above MOTE_FEDUP_MAX_SAMPLES (MOTE_ERR_LIMIT),
 * a plain update whose norm exceeds the bound (MOTE_ERR_LIMIT). A
 * rejected upload leaves the sum untouched. */
mote_status_t mote_fed_round_add(mote_fed_server_t *s, const uint8_t *buf, size_t len,
                                 const uint8_t *key, char *msg, size_t msg_size);

/* The deadline passed: every roster device still EXPECTED becomes DROPPED.
 * Returns how many were dropped. */
uint32_t mote_fed_round_close(mote_fed_server_t *s);

/* Masked round: remove the pair masks of dropped device `id` from the sum,
 * using k Shamir shares of its key (MOTE_SECAGG_SHARE_LEN bytes each,
 * packed) revealed by survivors. Errors: MOTE_ERR_STATE (not masked, not
 * closed, device not DROPPED: never for a device whose self mask was
 * removed), MOTE_ERR_NOT_FOUND, MOTE_ERR_VERIFY (shares do not rebuild the
 * key of the roster's public key). */
mote_status_t mote_fed_round_recover(mote_fed_server_t *s, uint32_t id, const uint8_t *shares,
                                     uint32_t k);

/* Masked round: remove the self mask of received device `id` from the
 * sum, using k Shamir shares of its self seed revealed by survivors.
 * Errors: MOTE_ERR_STATE (not masked, not closed, device not RECEIVED: in
 * particular never for a device declared dropped, whose key may be
 * revealed), MOTE_ERR_NOT_FOUND, MOTE_ERR_VERIFY (the shares do not rebuild
 * the committed seed). */
mote_status_t mote_fed_round_unmask_self(mote_fed_server_t *s, uint32_t id,
                                         const uint8_t *shares, uint32_t k);

/* Finish a closed round: needs >= quorum accepted uploads and, when
 * masked, every received device's self mask removed and every dropped
 * device recovered (MOTE_ERR_STATE otherwise; out is
 * then not written and the round counts as failed). With N the sum of the
 * accepted sample counts: out[k] = g[k] + (step * sum[k] + noise[k]) / N,
 * in double, rounded once to float; noise (parameter units, e.g. from
 * mote_fed_gauss) may be NULL. g and out may alias. */
mote_status_t mote_fed_round_finish(mote_fed_server_t *s, const float *g, const float *noise,
                                    float *out);

/* State of roster entry i (< roster size), and its id. */
mote_fed_dev_state_t mote_fed_round_state(const mote_fed_server_t *s, uint32_t i);

/* ---- differential privacy ---- */

/* n samples of N(0, sigma^2) from a deterministic generator keyed by a
 * 32-byte seed and the round (ChaCha20 via randombytes_buf_deterministic,
 * Box-Muller). MOTE_ERR_ARG, MOTE_ERR_NOMEM. */
mote_status_t mote_fed_gauss(float *out, uint32_t n, double sigma, const uint8_t seed[32],
                             uint32_t round);

/* (epsilon, delta)-DP of `rounds` compositions of the Gaussian mechanism
 * with noise multiplier z (sigma / L2 sensitivity), by Renyi DP: each round
 * is (alpha, alpha / (2 z^2))-RDP, rounds add up, and (alpha, e)-RDP
 * implies (e + log(1/delta) / (alpha - 1), delta)-DP (Mironov, "Renyi
 * Differential Privacy", CSF 2017, Prop. 3 and Cor. 3); minimized over
 * alpha in (1, 1024]. No subsampling amplification is claimed. *alpha (may
 * be NULL) gets the best order. Returns +inf for z <= 0. */
double mote_fed_rdp_epsilon(double z, uint32_t rounds, double delta, double *alpha);

/* ---- signed global model ---- */

/* Ed25519 signature (crypto_sign_detached with the fleet's 64-byte secret
 * key) over BLAKE2b-256("mote-fed-global-v1" || round u32 || version u64
 * || blob), where blob is the global head's mote_learn_save bytes.
 * MOTE_ERR_ARG. */
mote_status_t mote_fed_global_sign(const uint8_t sk[64], uint32_t round, uint64_t version,
                                   const uint8_t *blob, size_t len, uint8_t sig[64]);
/* MOTE_OK when sig matches, MOTE_ERR_VERIFY otherwise, MOTE_ERR_ARG. */
mote_status_t mote_fed_global_verify(const uint8_t pk[32], uint32_t round, uint64_t version,
                                     const uint8_t *blob, size_t len, const uint8_t sig[64]);

#ifdef __cplusplus
}
#endif
#endif
