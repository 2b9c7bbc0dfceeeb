/* mote fleet: federated learning of heads, device and server steps (see
 * fed.h). */
#include "fed.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FED_PI 3.14159265358979323846

/* ---- device side ---- */

uint32_t mote_fed_param_count(const mote_learn_head_t *h)
{
    return h->cfg.n_classes * (h->cfg.n_features + 1u);
}

void mote_fed_params_get(const mote_learn_head_t *h, float *p)
{
    const size_t nw = (size_t)h->cfg.n_classes * h->cfg.n_features;
    memcpy(p, h->w, nw * sizeof *p);
    memcpy(p + nw, h->b, h->cfg.n_classes * sizeof *p);
}

void mote_fed_params_set(mote_learn_head_t *h, const float *p)
{
    const size_t nw = (size_t)h->cfg.n_classes * h->cfg.n_features;
    memcpy(h->w, p, nw * sizeof *p);
    memcpy(h->b, p + nw, h->cfg.n_classes * sizeof *p);
}

mote_status_t mote_fed_train_sample(mote_learn_head_t *h, const float *global, const float *x,
                                    uint32_t label, float mu)
{
    if (!h || !isfinite(mu) || mu < 0.0f || (mu > 0.0f && !global))
        return MOTE_ERR_ARG;
    const float lr = mote_learn_lr(h);
    mote_status_t s = mote_learn_update(h, x, label);
    if (s != MOTE_OK || mu == 0.0f)
        return s;
    const float k = lr * mu;
    const size_t nw = (size_t)h->cfg.n_classes * h->cfg.n_features;
    for (size_t i = 0; i < nw; i++)
        h->w[i] -= k * (h->w[i] - global[i]);
    for (uint32_t c = 0; c < h->cfg.n_classes; c++)
        h->b[c] -= k * (h->b[c] - global[nw + c]);
    return MOTE_OK;
}

/* Round half away from zero, saturated to the int8 range without -128. */
static int8_t q8(double v)
{
    const double r = v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
    return (int8_t)(r > 127.0 ? 127 : r < -127.0 ? -127 : r);
}

mote_status_t mote_fed_quantize(const float *w, const float *g, float *r, uint32_t n, float step,
                                float clip, int8_t *q, double *norm)
{
    if (!w || !g || !q || !isfinite(step) || !(step > 0.0f) || !isfinite(clip))
        return MOTE_ERR_ARG;
    double ss = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (!isfinite(w[k]) || !isfinite(g[k]) || (r && !isfinite(r[k])))
            return MOTE_ERR_ARG;
        const double d = (double)w[k] - (double)g[k];
        ss += d * d;
    }
    const double nrm = sqrt(ss);
    const double f = clip > 0.0f && nrm > clip ? clip / nrm : 1.0;
    for (uint32_t k = 0; k < n; k++) {
        const float u = (float)(((double)w[k] - (double)g[k]) * f) + (r ? r[k] : 0.0f);
        q[k] = q8((double)u / step);
        if (r)
            r[k] = u - (float)q[k] * step;
    }
    if (norm)
        *norm = nrm;
    return MOTE_OK;
}

void mote_fed_weigh(const int8_t *q, uint32_t n_params, uint32_t samples, uint32_t *out)
{
    for (uint32_t k = 0; k < n_params; k++)
        out[k] = (uint32_t)(int32_t)q[k] * samples;
}

/* ---- server side ---- */

mote_status_t mote_fed_server_init(mote_fed_server_t *s, uint32_t n_params, uint32_t max_devices)
{
    if (!s || n_params == 0 || n_params > MOTE_FEDUP_MAX_PARAMS || max_devices == 0 ||
        max_devices > MOTE_FED_MAX_DEVICES)
        return MOTE_ERR_ARG;
    memset(s, 0, sizeof *s);
    s->n_params = n_params, s->cap = max_devices;
    s->acc = calloc(n_params, sizeof *s->acc);
    s->acc_m = calloc(n_params, sizeof *s->acc_m);
    s->roster = calloc(max_devices, sizeof *s->roster);
    s->state = calloc(max_devices, 1);
    if (!s->acc || !s->acc_m || !s->roster || !s->state) {
        mote_fed_server_free(s);
        return MOTE_ERR_NOMEM;
    }
    return MOTE_OK;
}

void mote_fed_server_free(mote_fed_server_t *s)
{
    if (!s)
        return;
    free(s->acc), free(s->acc_m), free(s->roster), free(s->state);
    memset(s, 0, sizeof *s);
}

mote_status_t mote_fed_round_begin(mote_fed_server_t *s, const mote_fed_round_cfg_t *cfg,
                                   const mote_secagg_peer_t *roster, uint32_t n_roster)
{
    if (!s || !s->acc || !cfg || !roster || n_roster == 0 || n_roster > s->cap ||
        cfg->round == 0 || !isfinite(cfg->step) || !(cfg->step > 0.0f) ||
        !isfinite(cfg->norm_bound) || cfg->norm_bound < 0.0f || cfg->quorum == 0)
        return MOTE_ERR_ARG;
    for (uint32_t i = 0; i < n_roster; i++)
        for (uint32_t j = 0; j < i; j++)
            if (roster[i].id == roster[j].id)
                return MOTE_ERR_ARG;
    s->cfg = *cfg;
    memcpy(s->roster, roster, n_roster * sizeof *roster);
    memset(s->state, MOTE_FED_EXPECTED, n_roster);
    memset(s->acc, 0, s->n_params * sizeof *s->acc);
    memset(s->acc_m, 0, s->n_params * sizeof *s->acc_m);
    s->n_roster = n_roster, s->n_accepted = 0, s->total = 0, s->bytes_in = 0;
    s->open = 1;
    return MOTE_OK;
}

static mote_status_t refuse(char *msg, size_t size, mote_status_t st, const char *fmt,
                            unsigned long a)
{
    if (msg && size)
        snprintf(msg, size, fmt, a);
    return st;
}

static int roster_index(const mote_fed_server_t *s, uint32_t id)
{
    for (uint32_t i = 0; i < s->n_roster; i++)
        if (s->roster[i].id == id)
            return (int)i;
    return -1;
}

/* Does the decoded update belong to this round as configured? */
static mote_status_t check_round(const mote_fed_server_t *s, const mote_fedup_t *u, char *msg,
                                 size_t size)
{
    if (u->round != s->cfg.round)
        return refuse(msg, size, MOTE_ERR_STATE, "fl/up: round %lu is not the open round",
                      u->round);
    if (u->base_version != s->cfg.base_version || u->step != s->cfg.step ||
        u->n_params != s->n_params)
        return refuse(msg, size, MOTE_ERR_STATE,
                      "fl/up: base version, step or parameter count differ (%lu params)",
                      u->n_params);
    if (!!(u->flags & MOTE_FEDUP_F_MASKED) != !!s->cfg.masked)
        return refuse(msg, size, MOTE_ERR_STATE, "fl/up: masked flag %lu does not match the round",
                      (unsigned long)(u->flags & MOTE_FEDUP_F_MASKED));
    if (s->cfg.max_samples && u->samples > s->cfg.max_samples)
        return refuse(msg, size, MOTE_ERR_LIMIT, "fl/up: %lu samples above the bound",
                      u->samples);
    if (s->total + u->samples > MOTE_FEDUP_MAX_SAMPLES)
        return refuse(msg, size, MOTE_ERR_LIMIT, "fl/up: total samples would exceed %lu",
                      MOTE_FEDUP_MAX_SAMPLES);
    return MOTE_OK;
}

/* Plain update: norm check, then add n q. */
static mote_status_t add_plain(mote_fed_server_t *s, const mote_fedup_t *u, char *msg,
                               size_t size)
{
    const int8_t *q = u->payload;
    double ss = 0;
    for (uint32_t k = 0; k < s->n_params; k++)
        ss += (double)q[k] * q[k];
    const double nrm = sqrt(ss) * s->cfg.step;
    if (s->cfg.norm_bound > 0.0f && nrm > s->cfg.norm_bound)
        return refuse(msg, size, MOTE_ERR_LIMIT, "fl/up: update norm above the bound (%lu x 1e-3)",
                      (unsigned long)(nrm * 1e3));
    for (uint32_t k = 0; k < s->n_params; k++)
        s->acc[k] += (int64_t)q[k] * u->samples;
    return MOTE_OK;
}

mote_status_t mote_fed_round_add(mote_fed_server_t *s, const uint8_t *buf, size_t len,
                                 const uint8_t *key, char *msg, size_t msg_size)
{
    if (!s || !s->open)
        return refuse(msg, msg_size, MOTE_ERR_STATE, "fl/up: no open round", 0);
    mote_fedup_t u;
    mote_status_t st = mote_fedup_decode(buf, len, key, &u, msg, msg_size);
    if (st != MOTE_OK)
        return st;
    const int i = roster_index(s, u.device);
    if (i < 0)
        return refuse(msg, msg_size, MOTE_ERR_NOT_FOUND, "fl/up: device %lu not in the roster",
                      u.device);
    if (s->state[i] != MOTE_FED_EXPECTED)
        return refuse(msg, msg_size, MOTE_ERR_STATE,
                      "fl/up: device %lu already received, rejected or dropped", u.device);
    st = check_round(s, &u, msg, msg_size);
    if (st == MOTE_OK && !s->cfg.masked)
        st = add_plain(s, &u, msg, msg_size);
    if (st != MOTE_OK) {
        s->state[i] = MOTE_FED_REJECTED;
        return st;
    }
    if (s->cfg.masked)
        for (uint32_t k = 0; k < s->n_params; k++)
            s->acc_m[k] += mote_fedup_word(&u, k);
    s->state[i] = MOTE_FED_RECEIVED;
    s->total += u.samples;
    s->n_accepted++;
    s->bytes_in += len;
    return MOTE_OK;
}

uint32_t mote_fed_round_close(mote_fed_server_t *s)
{
    uint32_t n = 0;
    if (!s || !s->open)
        return 0;
    for (uint32_t i = 0; i < s->n_roster; i++)
        if (s->state[i] == MOTE_FED_EXPECTED)
            s->state[i] = MOTE_FED_DROPPED, n++;
    s->open = 0;
    return n;
}

mote_status_t mote_fed_round_recover(mote_fed_server_t *s, uint32_t id, const uint8_t *shares,
                                     uint32_t k)
{
    if (!s || !shares || !s->acc)
        return MOTE_ERR_ARG;
    const int i = roster_index(s, id);
    if (i < 0)
        return MOTE_ERR_NOT_FOUND;
    if (!s->cfg.masked || s->open || s->state[i] != MOTE_FED_DROPPED)
        return MOTE_ERR_STATE;
    uint8_t sk[MOTE_SECAGG_KEY_LEN];
    mote_status_t st = mote_secagg_recover_key(shares, k, s->roster[i].pk, sk);
    if (st != MOTE_OK)
        return st;
    /* Only the devices whose masked words are in the sum hold masks with
     * the dropped one that must be cancelled. */
    mote_secagg_peer_t *in = malloc(s->n_roster * sizeof *in);
    if (!in) {
        sodium_memzero(sk, sizeof sk);
        return MOTE_ERR_NOMEM;
    }
    uint32_t n_in = 0;
    for (uint32_t j = 0; j < s->n_roster; j++)
        if (s->state[j] == MOTE_FED_RECEIVED || s->state[j] == MOTE_FED_UNMASKED)
            in[n_in++] = s->roster[j];
    st = mote_secagg_unmask_dropped(s->acc_m, s->n_params, id, s->roster[i].pk, sk, in, n_in,
                                    s->cfg.round);
    sodium_memzero(sk, sizeof sk);
    free(in);
    if (st == MOTE_OK)
        s->state[i] = MOTE_FED_RECOVERED;
    return st;
}

mote_status_t mote_fed_round_unmask_self(mote_fed_server_t *s, uint32_t id,
                                         const uint8_t *shares, uint32_t k)
{
    if (!s || !shares || !s->acc)
        return MOTE_ERR_ARG;
    const int i = roster_index(s, id);
    if (i < 0)
        return MOTE_ERR_NOT_FOUND;
    if (!s->cfg.masked || s->open || s->state[i] != MOTE_FED_RECEIVED)
        return MOTE_ERR_STATE;
    uint8_t b[MOTE_SECAGG_KEY_LEN];
    mote_status_t st = mote_secagg_recover_self(shares, k, s->roster[i].self_hash, b);
    if (st != MOTE_OK)
        return st;
    mote_secagg_self_mask_add(s->acc_m, s->n_params, b, s->cfg.round, -1);
    sodium_memzero(b, sizeof b);
    s->state[i] = MOTE_FED_UNMASKED;
    return MOTE_OK;
}

/* Every upload must have lost its self mask and every device that masked
 * against the survivors but never uploaded its pair masks, else the sum is
 * noise. */
static int all_recovered(const mote_fed_server_t *s)
{
    for (uint32_t i = 0; i < s->n_roster; i++)
        if (s->state[i] == MOTE_FED_DROPPED || s->state[i] == MOTE_FED_REJECTED ||
            s->state[i] == MOTE_FED_RECEIVED)
            return 0;
    return 1;
}

mote_status_t mote_fed_round_finish(mote_fed_server_t *s, const float *g, const float *noise,
                                    float *out)
{
    if (!s || !g || !out || !s->acc)
        return MOTE_ERR_ARG;
    if (s->open || s->n_accepted < s->cfg.quorum || s->total == 0 ||
        (s->cfg.masked && !all_recovered(s)))
        return MOTE_ERR_STATE;
    const double n = (double)s->total;
    for (uint32_t k = 0; k < s->n_params; k++) {
        /* Both sums are the same int32 (see fed.h), whatever the mode. */
        const int32_t sum = s->cfg.masked ? (int32_t)s->acc_m[k] : (int32_t)s->acc[k];
        const double add = (double)s->cfg.step * sum + (noise ? (double)noise[k] : 0.0);
        out[k] = (float)((double)g[k] + add / n);
    }
    return MOTE_OK;
}

mote_fed_dev_state_t mote_fed_round_state(const mote_fed_server_t *s, uint32_t i)
{
    return (mote_fed_dev_state_t)s->state[i];
}

/* ---- differential privacy ---- */

mote_status_t mote_fed_gauss(float *out, uint32_t n, double sigma, const uint8_t seed[32],
                             uint32_t round)
{
    if (!out || !seed || !(sigma >= 0) || !isfinite(sigma))
        return MOTE_ERR_ARG;
    uint8_t key[randombytes_SEEDBYTES];
    const uint8_t r[4] = {(uint8_t)round, (uint8_t)(round >> 8), (uint8_t)(round >> 16),
                          (uint8_t)(round >> 24)};
    crypto_generichash(key, sizeof key, r, sizeof r, seed, 32);
    const size_t m = ((size_t)n + 1) / 2 * 2;
    uint64_t *u = malloc(m * sizeof *u);
    if (!u)
        return MOTE_ERR_NOMEM;
    randombytes_buf_deterministic(u, m * sizeof *u, key);
    for (size_t k = 0; k < m; k += 2) {
        /* 53-bit uniforms in (0, 1]: the log never sees 0. */
        const double u1 = ((double)(u[k] >> 11) + 1.0) / 9007199254740992.0;
        const double u2 = (double)(u[k + 1] >> 11) / 9007199254740992.0;
        const double r = sqrt(-2.0 * log(u1)) * sigma;
        out[k] = (float)(r * cos(2.0 * FED_PI * u2));
        if (k + 1 < n)
            out[k + 1] = (float)(r * sin(2.0 * FED_PI * u2));
    }
    free(u);
    return MOTE_OK;
}

double mote_fed_rdp_epsilon(double z, uint32_t rounds, double delta, double *alpha)
{
    if (!(z > 0) || !(delta > 0) || !(delta < 1))
        return INFINITY;
    double best = INFINITY, best_a = 0;
    for (double a = 1.01; a <= 1024.0; a *= 1.01) {
        const double e = rounds * a / (2.0 * z * z) + log(1.0 / delta) / (a - 1.0);
        if (e < best)
            best = e, best_a = a;
    }
    if (alpha)
        *alpha = best_a;
    return best;
}

/* ---- signed global model ---- */

static void global_digest(uint32_t round, uint64_t version, const uint8_t *blob, size_t len,
                          uint8_t d[32])
{
    uint8_t hdr[12];
    for (int i = 0; i < 4; i++)
        hdr[i] = (uint8_t)(round >> (8 * i));
    for (int i = 0; i < 8; i++)
        hdr[4 + i] = (uint8_t)(version >> (8 * i));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)"mote-fed-global-v1", 18);
    crypto_generichash_update(&st, hdr, sizeof hdr);
    crypto_generichash_update(&st, blob, len);
    crypto_generichash_final(&st, d, 32);
}

mote_status_t mote_fed_global_sign(const uint8_t sk[64], uint32_t round, uint64_t version,
                                   const uint8_t *blob, size_t len, uint8_t sig[64])
{
    if (!sk || !blob || !sig)
        return MOTE_ERR_ARG;
    uint8_t d[32];
    global_digest(round, version, blob, len, d);
    crypto_sign_detached(sig, NULL, d, sizeof d, sk);
    return MOTE_OK;
}

mote_status_t mote_fed_global_verify(const uint8_t pk[32], uint32_t round, uint64_t version,
                                     const uint8_t *blob, size_t len, const uint8_t sig[64])
{
    if (!pk || !blob || !sig)
        return MOTE_ERR_ARG;
    uint8_t d[32];
    global_digest(round, version, blob, len, d);
    return crypto_sign_verify_detached(sig, d, sizeof d, pk) == 0 ? MOTE_OK : MOTE_ERR_VERIFY;
}
